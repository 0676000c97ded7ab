"""Training infrastructure: data-parallel learner step, checkpoints and exact resume, metrics."""

import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from helms_jax.agents.baselines import bc
from helms_jax.training import devices
from helms_jax.training.checkpoint import CheckpointError, Checkpointer
from helms_jax.training.metric_writers import MetricWriter, read_jsonl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run_sharded(tmp_path, num_devices, learner="bc"):
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={num_devices}",
             JAX_PLATFORMS="cpu")
  out = tmp_path / f"params_{learner}_{num_devices}.npz"
  subprocess.run([sys.executable, "-m", "tests._sharded_learner_run", str(out),
                  str(tmp_path / f"work_{learner}_{num_devices}"), learner],
                 cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
  return np.load(out)


# HeLMS on the 4-device mesh is covered by tests/test_multihost.py (2 processes x 2 devices vs
# 1 x 4, per-device data shards); here the replicated-data path, 1 device vs 4.
@pytest.mark.parametrize("learner", ["bc"])
def test_learner_step_agrees_on_1_and_4_devices(tmp_path, learner):
  one, four = _run_sharded(tmp_path, 1, learner), _run_sharded(tmp_path, 4, learner)
  assert int(one["num_devices"]) == 1 and int(four["num_devices"]) == 4
  assert int(four["mesh_size"]) == 4  # the learner really ran on a 4-device mesh
  names = sorted((k for k in one.files if k.startswith("arr_")), key=lambda k: int(k[4:]))
  assert names
  for name in names:
    # Same math, different reduction order across devices: equal to float tolerance.
    np.testing.assert_allclose(one[name], four[name], rtol=2e-5, atol=2e-6)
  moved = any(not np.allclose(one[f"init_{n[4:]}"], one[n]) for n in names)
  assert moved, "parameters did not change: the comparison would be vacuous"


def test_batch_not_divisible_by_devices_is_a_clear_error():
  mesh = devices.make_mesh()
  devices.check_batch_divisible(8, mesh)
  fake = jax.sharding.Mesh(np.array(jax.devices() * 3), ("data",)) if len(jax.devices()) == 1 else mesh
  with pytest.raises(ValueError, match="not divisible by the number of devices"):
    devices.check_batch_divisible(7, fake)


def test_checkpoint_roundtrip_and_incompatible_checkpoint(tmp_path):
  learner = bc.make_learner(bc.default_config(), 6, 2)
  state = learner.init(jax.random.PRNGKey(0))
  ckpt = Checkpointer(str(tmp_path / "ckpt"))
  ckpt.save(7, state)
  ckpt.wait()
  restored = ckpt.restore(7, jax.tree_util.tree_map(np.zeros_like, state))
  for a, b in zip(jax.tree_util.tree_leaves(state), jax.tree_util.tree_leaves(restored)):
    np.testing.assert_array_equal(a, b)
  bigger = bc.make_learner(_bc_config(hidden_sizes=(128, 64)), 6, 2).init(jax.random.PRNGKey(0))
  with pytest.raises(CheckpointError, match=r"incompatible.*shape \(6, 64\) vs model shape \(6, 128\)"):
    ckpt.restore(7, bigger)
  ckpt.close()


def _bc_config(**overrides):
  config = bc.default_config()
  config.update(overrides)
  return config


def test_metric_writer_truncates_on_resume(tmp_path):
  writer = MetricWriter(str(tmp_path), tensorboard=True)
  for step in (10, 20, 30):
    writer.write(step, {"loss": float(step), "vec": np.arange(2.0), "nan": float("nan")})
  writer.close()
  with open(tmp_path / "metrics.jsonl", "a") as f:
    f.write('{"step": 40, "lo')  # a line torn by a kill
  writer = MetricWriter(str(tmp_path), resume_step=20, tensorboard=False)
  writer.write(30, {"loss": 31.0})
  writer.close()
  rows = read_jsonl(str(tmp_path / "metrics.jsonl"))
  assert [(r["step"], r["loss"]) for r in rows] == [(10, 10.0), (20, 20.0), (30, 31.0)]
  assert rows[0]["vec"] == [0.0, 1.0] and rows[0]["nan"] == "nan"
  assert any(f.startswith("events") for f in os.listdir(tmp_path / "tensorboard"))


# ------------------------------------------------------------------------------------------------
# Kill a real training process mid-way and resume it with the same command.


def _train_cmd(workdir, data_dir, num_steps):
  return [sys.executable, "-m", "launch.train",
          f"--config={ROOT}/experiments/bc_point_reach.py:tiny", f"--workdir={workdir}",
          f"--config.data.dir={data_dir}", f"--config.train.num_steps={num_steps}",
          "--config.train.max_to_keep=2",
          "--config.train.checkpoint_every=500", "--config.train.log_every=500",
          "--config.compilation_cache_dir=none"]


def _final_params(workdir):
  from helms_jax import configs, runs  # pylint: disable=import-outside-toplevel
  config = configs.load_config(f"{ROOT}/experiments/bc_point_reach.py:tiny")
  learner = bc.make_learner(config.learner, 6, 2)
  state, step = runs.restore_learner_state(config, str(workdir), learner)
  return step, jax.tree_util.tree_leaves(state)


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
  from helms_jax import configs, pipeline  # pylint: disable=import-outside-toplevel
  workdir = tmp_path_factory.mktemp("data_run")
  config = configs.load_config(f"{ROOT}/experiments/bc_point_reach.py:tiny")
  config.compilation_cache_dir = "none"
  return pipeline.generate_data(config, str(workdir))


def _steps(ckpt_dir):
  return sorted(int(p.name) for p in ckpt_dir.iterdir() if p.name.isdigit()) \
      if ckpt_dir.exists() else []


def _kill_when(proc, ready, timeout=300):
  """SIGKILLs `proc` as soon as `ready()` holds; returns whether it was still running then."""
  deadline = time.time() + timeout
  while time.time() < deadline and proc.poll() is None and not ready():
    time.sleep(0.002)
  alive = proc.poll() is None
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  return alive


def test_killed_run_resumes_bit_for_bit(tmp_path, tiny_dataset):
  """SIGKILL twice, first while a checkpoint is being written (orbax's temporary directory
  exists), then at a random point of the resumed run; the third launch ends in the exact state
  and metrics of an uninterrupted run (the stale locks of the killed launches are taken over)."""
  num_steps = 15000
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  full = subprocess.run(_train_cmd(tmp_path / "full", tiny_dataset, num_steps), cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=600)
  assert full.returncode == 0, full.stderr[-3000:]

  killed_dir = tmp_path / "killed"
  ckpt_dir = killed_dir / "checkpoints"
  launch = lambda: subprocess.Popen(_train_cmd(killed_dir, tiny_dataset, num_steps), cwd=ROOT,
                                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

  def saving():  # a save in progress after the first complete one
    return bool(_steps(ckpt_dir)) and any("tmp" in p.name for p in ckpt_dir.iterdir())

  assert _kill_when(launch(), saving), "training finished before it could be killed"
  first = _steps(ckpt_dir)
  assert first and first[-1] < num_steps, first
  rng = np.random.default_rng(0)
  target = first[-1] + 500 * int(rng.integers(2, 6))  # a random later point of the next launch
  assert _kill_when(launch(), lambda: bool(_steps(ckpt_dir)) and _steps(ckpt_dir)[-1] >= target)
  assert _steps(ckpt_dir)[-1] < num_steps

  resumed = subprocess.run(_train_cmd(killed_dir, tiny_dataset, num_steps), cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=600)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert "Resumed from" in resumed.stderr and "Taking over the lock" in resumed.stderr

  step_a, leaves_a = _final_params(tmp_path / "full")
  step_b, leaves_b = _final_params(killed_dir)
  assert step_a == step_b == num_steps
  for a, b in zip(leaves_a, leaves_b):
    np.testing.assert_array_equal(a, b)  # bit-for-bit, RNG key and optimiser state included
  rows_a = read_jsonl(str(tmp_path / "full" / "metrics.jsonl"))
  rows_b = read_jsonl(str(killed_dir / "metrics.jsonl"))
  strip = lambda rows: [{k: v for k, v in r.items() if k not in ("time", "steps_per_sec")}
                        for r in rows]
  assert strip(rows_a) == strip(rows_b)  # one row per logged step, same values


def test_workdir_with_other_config_is_refused(tmp_path, tiny_dataset):
  from helms_jax import configs, pipeline  # pylint: disable=import-outside-toplevel
  config = configs.load_config(f"{ROOT}/experiments/bc_point_reach.py:tiny")
  config.compilation_cache_dir = "none"
  pipeline.prepare_workdir(config, str(tmp_path))
  (tmp_path / "checkpoints" / "200").mkdir(parents=True)  # a trained run
  config.train.num_steps = 400  # allowed: extends the run
  pipeline.prepare_workdir(config, str(tmp_path))
  config.learner.learning_rate = 0.5
  with pytest.raises(configs.ConfigError, match="learner.learning_rate"):
    pipeline.prepare_workdir(config, str(tmp_path))

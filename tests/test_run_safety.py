"""Fault injection: runs that cannot silently go wrong.

Each fault a long run meets is injected and the outcome checked against what must hold:
  - NaN (a huge learning rate, a NaN written into the batch, a diverging online agent): the run
    stops with a message naming the step and quantity, nothing non-finite is saved, the newest
    kept checkpoint is finite, and evaluation refuses a non-finite checkpoint;
  - damaged checkpoints (flipped bytes, a truncated file, deleted metadata): named, set aside,
    the previous step restored, and training from there ends in the uninterrupted run's state;
  - a second launch on a workdir in use: refused, naming the holder; a dead holder's lock is
    taken over;
  - bad config values: one line naming the key, nothing written, the fixed config then runs in
    the same workdir; keys that saved state does not depend on may change (and are recorded);
  - an unwritable compilation cache: a warning, not a crash; the entry points' noise filter
    drops only the known-harmless lines.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helms_jax import configs, data as data_lib, pipeline, runs
from helms_jax.pipeline import workdir as workdir_lib
from helms_jax.agents.baselines import bc
from helms_jax.envs.base import Env, State
from helms_jax.training import checkpoint as checkpoint_lib
from helms_jax.training import devices, guard
from helms_jax.training.metric_writers import read_jsonl
from helms_jax.training.offline_loop import LoopConfig, init_loop_state, train_offline
from helms_jax.training.online_loop import OnlineAgent, OnlineConfig, train_online

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = f"{ROOT}/experiments/bc_point_reach.py:tiny"


def _config(**overrides):
  config = configs.load_config(TINY)
  config.compilation_cache_dir = "none"  # the session's cache (conftest)
  for key, value in overrides.items():
    section, _, name = key.rpartition(".")
    target = config
    for part in section.split(".") if section else ():
      target = target[part]
    target[name] = value
  return config


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
  """The tiny point_reach expert dataset, generated once for this module."""
  return pipeline.generate_data(_config(), str(tmp_path_factory.mktemp("safety_data")))


# ------------------------------------------------------------------------------------------------
# Divergence guard.


def _bc_problem(dataset_dir):
  from helms_jax import data as data_lib  # pylint: disable=import-outside-toplevel
  dataset = data_lib.load_dataset(dataset_dir)
  learner = bc.make_learner(bc.default_config(), 6, 2)
  sample_fn, data = data_lib.WindowSampler(dataset, 1, 0).loop_sample_fn(16)
  return learner, sample_fn, data


def _nan_from(learner, step: int):
  """`learner` whose batches are NaN from update `step` + 1 on (a NaN written into the data)."""
  def update(state, batch, key):
    poisoned = jax.tree.map(
        lambda x: jnp.where(state.step >= step, x * jnp.nan, x) if jnp.issubdtype(
            x.dtype, jnp.floating) else x, batch)
    return learner.update(state, poisoned, key)
  return learner._replace(update=update)


def test_nan_in_the_batch_stops_offline_training_before_anything_nan_is_saved(
    tmp_path, dataset_dir):
  learner, sample_fn, data = _bc_problem(dataset_dir)
  loop = LoopConfig(num_steps=60, batch_size=16, updates_per_call=5, log_every=10,
                    checkpoint_every=10, max_to_keep=1, tensorboard=False)
  with pytest.raises(guard.DivergenceError) as error:
    train_offline(_nan_from(learner, 25), sample_fn, data, workdir=str(tmp_path), seed=0,
                  loop=loop)
  message = str(error.value)
  assert "update 26" in message and "'grad_norm'" in message, message  # first NaN update
  assert "newest finite checkpoint is step 20" in message, message
  checkpointer = checkpoint_lib.Checkpointer(str(tmp_path / "checkpoints"))
  assert checkpointer.all_steps() == [20]  # max_to_keep=1 kept the last good one, not NaN
  state, step = checkpointer.restore_latest(
      jax.eval_shape(lambda: init_loop_state(learner, 0)))
  checkpointer.close()
  assert step == 20 and all(np.isfinite(x).all() for x in jax.tree.leaves(state.learner))
  rows = read_jsonl(str(tmp_path / "metrics.jsonl"))
  assert [r["step"] for r in rows] == [10, 20]  # no row from the diverged chunk
  assert all(np.isfinite(r["loss"]) for r in rows)


def test_huge_learning_rate_fails_the_entry_point_in_one_line_and_eval_refuses_nan(
    tmp_path, dataset_dir):
  workdir = tmp_path / "run"
  command = [sys.executable, "-m", "launch.train", f"--config={TINY}", f"--workdir={workdir}",
             f"--config.data.dir={dataset_dir}", "--config.learner.learning_rate=1e6",
             "--config.compilation_cache_dir=none"]
  result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, JAX_PLATFORMS="cpu"))
  assert result.returncode == 1, result.stderr[-2000:]
  errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
  assert len(errors) == 1 and "training diverged at update" in errors[0], result.stderr[-2000:]
  assert "Traceback" not in result.stderr
  assert "cpu_aot_loader" not in result.stderr and "Failed to import" not in result.stdout
  assert not os.path.exists(workdir / "checkpoints") or not any(
      p.isdigit() for p in os.listdir(workdir / "checkpoints"))

  # A checkpoint that holds NaN (as an older version could save): evaluation refuses it.
  config = _config(**{"data.dir": dataset_dir, "train.num_steps": 50,
                      "train.checkpoint_every": 50})
  nan_dir = str(tmp_path / "nan")
  pipeline.train(config, nan_dir)
  learner = runs.make_learner(config, runs.make_env(config))
  state, _ = runs.restore_learner_state(config, nan_dir, learner)
  state = state.replace(learner=jax.tree.map(
      lambda x: x * jnp.nan if jnp.issubdtype(x.dtype, jnp.floating) else x, state.learner))
  checkpointer = checkpoint_lib.Checkpointer(os.path.join(nan_dir, "checkpoints"))
  checkpointer.save(100, state)
  checkpointer.close()
  with pytest.raises(guard.NonFiniteCheckpointError, match="checkpoints/100 holds non-finite"):
    pipeline.evaluate(config, nan_dir)
  assert not os.path.exists(os.path.join(nan_dir, "eval.json"))


class _Constant(Env):
  """One-step episodes with observation [1] and reward 1."""

  def reset(self, rng):
    del rng
    z = jnp.zeros(())
    return State(pipeline_state=None, obs=jnp.ones((1,)), reward=z, done=z, metrics={},
                 info={"truncation": z})

  def step(self, state, action):
    del action
    return state.replace(reward=jnp.ones(()), done=jnp.ones(()))

  observation_size = 1
  action_size = 1
  backend = "none"


def _diverging_agent(nan_after_updates: int) -> OnlineAgent:
  """A scalar 'agent' that learns w -> 1 and turns NaN after `nan_after_updates` updates."""
  def init(key):
    del key
    return {"w": jnp.zeros(()), "updates": jnp.zeros((), jnp.int32)}

  def act(state, obs, key, deterministic):
    del state, key, deterministic
    zeros = jnp.zeros((obs.shape[0], 1))
    return zeros, zeros

  def update(state, batch, key):
    del batch, key
    loss = jnp.square(state["w"] - 1.0)
    bad = state["updates"] >= nan_after_updates
    loss = jnp.where(bad, jnp.nan, loss)
    w = state["w"] - 0.1 * 2 * (state["w"] - 1.0) + jnp.where(bad, jnp.nan, 0.0)
    return {**state, "w": w, "updates": state["updates"] + 1}, {"loss": loss}

  return OnlineAgent(init=init, act=act, update=update,
                     agent_action_spec=jax.ShapeDtypeStruct((1,), jnp.float32))


def test_a_diverging_online_agent_stops_the_run_naming_seed_and_env_step(tmp_path):
  loop = OnlineConfig(num_envs=4, unroll_length=2, updates_per_iteration=1, batch_size=4,
                      sequence_length=1, replay_capacity=64, min_replay_steps=8,
                      env_steps=4 * 2 * 4 * 6, iterations_per_call=4, checkpoint_every_calls=1,
                      max_to_keep=1)
  # 8 env steps per iteration; updates start with the first iteration (8 stored steps), so the
  # 6th update, which is NaN, is in iteration 6: env step 48, in the second call of 32 steps.
  with pytest.raises(guard.DivergenceError) as error:
    train_online(_diverging_agent(5), _Constant(), loop, workdir=str(tmp_path), seeds=(3, 4))
  message = str(error.value)
  assert "seed 3, env step 48" in message and "'learner/loss'" in message, message
  assert "newest finite checkpoint is step 32" in message, message
  steps = checkpoint_lib.Checkpointer(str(tmp_path / "transfer" / "checkpoints")).all_steps()
  assert steps == [32]


# ------------------------------------------------------------------------------------------------
# Checkpoint integrity.


def _damage(step_dir: str, how: str) -> None:
  if how == "flipped bytes":
    path = max(glob.glob(f"{step_dir}/default/**/d/*", recursive=True), key=os.path.getsize)
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))
  elif how == "truncated file":
    path = max(glob.glob(f"{step_dir}/default/**/d/*", recursive=True), key=os.path.getsize)
    os.truncate(path, os.path.getsize(path) // 3)
  elif how == "deleted metadata":
    os.remove(f"{step_dir}/default/_METADATA")
  else:
    raise ValueError(how)


@pytest.mark.parametrize("how", ["flipped bytes", "truncated file", "deleted metadata"])
def test_a_damaged_newest_checkpoint_is_named_and_the_previous_step_restored(tmp_path, how):
  tree = {"w": np.arange(2000, dtype=np.float32), "step": np.int32(0)}
  checkpointer = checkpoint_lib.Checkpointer(str(tmp_path / "ckpt"), max_to_keep=5)
  for step in (1, 2, 3):
    checkpointer.save(step, {"w": tree["w"] * step, "step": np.int32(step)})
  _damage(checkpointer.step_dir(3), how)
  with _logged_warning() as warnings:
    state, step = checkpointer.restore_latest(tree)
  assert step == 2 and int(state["step"]) == 2
  np.testing.assert_array_equal(state["w"], tree["w"] * 2)
  assert any("/3 is damaged" in w for w in warnings), warnings
  assert checkpointer.all_steps() == [1, 2]  # step 3 set aside ...
  assert len(os.listdir(checkpointer.damaged_directory)) == 1  # ... not deleted
  checkpointer.save(3, {"w": tree["w"], "step": np.int32(3)})  # the step can be saved again
  checkpointer.close()


def test_no_intact_checkpoint_is_one_clear_error_and_unrecorded_steps_restore(tmp_path):
  tree = {"w": np.arange(100, dtype=np.float32)}
  checkpointer = checkpoint_lib.Checkpointer(str(tmp_path / "ckpt"))
  checkpointer.save(1, tree)
  checkpointer.save(2, tree)
  os.remove(os.path.join(checkpointer.step_dir(2), checkpoint_lib.INTEGRITY_FILE))
  state, step = checkpointer.restore_latest(tree)  # no record: restored, unverified
  assert step == 2
  _damage(checkpointer.step_dir(1), "truncated file")
  _damage(checkpointer.step_dir(2), "deleted metadata")
  with pytest.raises(checkpoint_lib.CheckpointDamagedError, match="no intact checkpoint") as e:
    checkpointer.restore_latest(tree)
  assert "step 2:" in str(e.value) and "step 1:" in str(e.value) and "\n" not in str(e.value)
  checkpointer.close()


class _logged_warning:
  """Collects absl warning messages (the checkpointer reports damage through absl logging)."""

  def __enter__(self):
    import logging  # pylint: disable=import-outside-toplevel
    self.messages = []

    class Handler(logging.Handler):
      def emit(inner, record):  # pylint: disable=no-self-argument
        if record.levelno >= logging.WARNING:
          self.messages.append(record.getMessage())

    self._handler = Handler()
    logging.getLogger().addHandler(self._handler)
    return self.messages

  def __exit__(self, *exc):
    import logging  # pylint: disable=import-outside-toplevel
    logging.getLogger().removeHandler(self._handler)


def test_training_from_the_fallback_step_ends_in_the_uninterrupted_state(tmp_path, dataset_dir):
  learner, sample_fn, data = _bc_problem(dataset_dir)
  loop = LoopConfig(num_steps=40, batch_size=16, updates_per_call=10, log_every=10,
                    checkpoint_every=10, max_to_keep=5, tensorboard=False)
  full = train_offline(learner, sample_fn, data, workdir=str(tmp_path / "full"), seed=0,
                       loop=loop)
  part = tmp_path / "damaged"
  train_offline(learner, sample_fn, data, workdir=str(part), seed=0,
                loop=LoopConfig(**{**loop.__dict__, "num_steps": 30}))
  _damage(str(part / "checkpoints" / "30"), "flipped bytes")
  resumed = train_offline(learner, sample_fn, data, workdir=str(part), seed=0, loop=loop)
  for a, b in zip(jax.tree.leaves(full), jax.tree.leaves(resumed)):
    np.testing.assert_array_equal(a, b)
  assert [r["step"] for r in read_jsonl(str(part / "metrics.jsonl"))] == [10, 20, 30, 40]


# ------------------------------------------------------------------------------------------------
# One writer per workdir.


def _lock_of(pid: int) -> dict:
  import socket  # pylint: disable=import-outside-toplevel
  return {"host": socket.gethostname(), "pid": pid, "started": "earlier",
          "command": "helms-train (another launch)",
          "start_time": workdir_lib._process_start_time(pid)}  # pylint: disable=protected-access


def test_a_workdir_in_use_is_refused_and_a_dead_holders_lock_taken_over(tmp_path):
  workdir = tmp_path / "run"
  workdir.mkdir()
  lock = workdir / workdir_lib.LOCK_FILE
  other = subprocess.Popen(["sleep", "60"])
  try:
    lock.write_text(json.dumps(_lock_of(other.pid)))
    with pytest.raises(workdir_lib.WorkdirLockedError, match=f"in use by process {other.pid}"):
      with workdir_lib.hold(str(workdir)):
        pass
  finally:
    other.kill()
    other.wait()
  with _logged_warning() as warnings:
    with workdir_lib.hold(str(workdir)):  # the holder died: taken over
      assert json.loads(lock.read_text())["pid"] == os.getpid()
      with workdir_lib.hold(str(workdir)):  # re-entrant within a process
        pass
  assert any("Taking over the lock" in w for w in warnings), warnings
  assert not lock.exists()  # released


# ------------------------------------------------------------------------------------------------
# Config values checked before anything is written; the precise "one config per workdir" rule.


@pytest.mark.parametrize("key,value,named", [
    ("train.batch_size", -4, "train.batch_size=-4 must be a positive integer"),
    ("learner.learning_rate", -1.0, "learner.learning_rate=-1.0 must be a number > 0"),
    ("data.random_fraction", 1.5, "data.random_fraction=1.5 must be a number in [0, 1]"),
    ("learner.name", "no_such_learner", "learner.name='no_such_learner' is not a learner"),
    ("train.window", 1000, "window length 1000 is longer than every episode"),
])
def test_a_bad_value_is_one_line_naming_it_and_writes_nothing(tmp_path, dataset_dir, key, value,
                                                             named):
  workdir = str(tmp_path / "run")
  with pytest.raises((configs.ConfigError, data_lib.DatasetError)) as error:
    pipeline.train(_config(**{"data.dir": dataset_dir, key: value}), workdir)
  assert named in str(error.value) and "\n" not in str(error.value), str(error.value)
  assert not os.path.exists(workdir)  # nothing written, not even the directory


def test_the_fixed_command_runs_in_the_workdir_a_bad_launch_left(tmp_path, dataset_dir):
  workdir = tmp_path / "run"
  workdir.mkdir()  # a workdir the user made
  with pytest.raises(configs.ConfigError):
    pipeline.train(_config(**{"data.dir": dataset_dir, "train.batch_size": -4}), str(workdir))
  assert os.listdir(workdir) == []
  pipeline.train(_config(**{"data.dir": dataset_dir, "train.num_steps": 20,
                          "train.checkpoint_every": 20}), str(workdir))
  assert os.listdir(workdir / "checkpoints")


def test_only_keys_that_saved_state_depends_on_block_a_relaunch(tmp_path):
  workdir = tmp_path / "run"
  config = _config()
  pipeline.prepare_workdir(config, str(workdir))
  # No saved state yet: any change goes ahead, and is recorded.
  config.learner.learning_rate = 0.5
  pipeline.prepare_workdir(config, str(workdir))
  changes = read_jsonl(str(workdir / workdir_lib.CHANGES_FILE))
  assert changes[-1]["changes"] == {"learner.learning_rate": {"old": 1e-3, "new": 0.5}}
  # A dataset: data keys block, learner keys do not.
  (workdir / "data").mkdir()
  (workdir / "data" / "manifest.json").write_text("{}")
  config.learner.learning_rate = 0.25
  pipeline.prepare_workdir(config, str(workdir))
  config.data.expert_noise = 0.9
  with pytest.raises(configs.ConfigError, match=r"data.expert_noise \(the dataset\)"):
    pipeline.prepare_workdir(config, str(workdir))
  config.data.expert_noise = _config().data.expert_noise
  # A key added to the configs later resumes a run recorded without it only at its neutral value.
  recorded = json.loads((workdir / workdir_lib.CONFIG_FILE).read_text())
  del recorded["data"]["expert_noise_max"]
  (workdir / workdir_lib.CONFIG_FILE).write_text(json.dumps(recorded))
  config.data.expert_noise_max = 0.5
  with pytest.raises(configs.ConfigError, match="data.expert_noise_max"):
    pipeline.prepare_workdir(config, str(workdir))
  config.data.expert_noise_max = configs.ADDED_KEYS["data.expert_noise_max"]
  pipeline.prepare_workdir(config, str(workdir))
  # Offline checkpoints: learner keys block; extending the run does not.
  (workdir / "checkpoints" / "100").mkdir(parents=True)
  config.train.num_steps = 400
  config.train.log_every = 100
  pipeline.prepare_workdir(config, str(workdir))
  config.learner.learning_rate = 0.1
  with pytest.raises(configs.ConfigError, match="learner.learning_rate"):
    pipeline.prepare_workdir(config, str(workdir))


def test_transfer_refuses_skills_trained_with_another_learner_config(tmp_path, monkeypatch):
  """A learner field the checkpoint's shapes cannot reveal (HeLMS's beta_y, a loss weight) must
  match the skills' recorded config, or the transfer names the field and both values."""
  config = configs.load_config(f"{ROOT}/experiments/transfer_reward_sparsity.py:helms_cat,tiny")
  skills = tmp_path / "skills"
  pipeline.prepare_workdir(config, str(skills))  # the skills' config.json, as training wrote it
  runs.check_skills_learner(config, str(skills))  # the same config: accepted
  config.learner.beta_y = 1.0
  with pytest.raises(configs.ConfigError,
                     match=r"learner.beta_y \(this run 1.0, the skills 0.1\)"):
    runs.load_skills(config, None, str(skills))  # refused before anything is built
  config.learner.beta_y = 0.1
  # Skills recorded before a learner key existed load at the key's neutral value only (the stay
  # bias stands in for such a key here).
  monkeypatch.setitem(configs.ADDED_KEYS, "learner.prior_init_stay", 0.0)
  recorded = json.loads((skills / workdir_lib.CONFIG_FILE).read_text())
  del recorded["learner"]["prior_init_stay"]
  (skills / workdir_lib.CONFIG_FILE).write_text(json.dumps(recorded))
  runs.check_skills_learner(config, str(skills))
  config.learner.prior_init_stay = 2.0
  with pytest.raises(configs.ConfigError, match="learner.prior_init_stay"):
    runs.check_skills_learner(config, str(skills))
  runs.check_skills_learner(config, str(tmp_path / "bare"))  # no config.json: not checked


# ------------------------------------------------------------------------------------------------
# Compilation cache and log noise.


def test_an_unwritable_compilation_cache_is_a_warning(tmp_path, monkeypatch):
  blocker = tmp_path / "a_file"
  blocker.write_text("")
  with _logged_warning() as warnings:
    assert not devices.enable_compilation_cache(str(blocker / "cache"))
  assert any("not writable" in w for w in warnings), warnings
  monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
  assert devices.resolve_cache_dir("", "/runs/x").startswith(str(tmp_path / "xdg" / "helms_jax"))
  assert devices.resolve_cache_dir("workdir", "/runs/x") == "/runs/x/.jax_cache"
  assert devices.resolve_cache_dir("none", "/runs/x") is None


def test_the_log_filter_drops_only_known_noise():
  program = (
      "import os, sys\n"
      "from launch import quiet\n"
      "quiet.filter_native_stderr()\n"
      "os.write(2, b'E1204 12:00:00.1 1 cpu_aot_loader.cc:220] Loading XLA:CPU AOT result. "
      "Target machine feature +prefer-no-gather is not  supported on the host machine.\\n')\n"
      "os.write(2, b'E1204 12:00:00.1 1 cpu_aot_loader.cc:220] Loading XLA:CPU AOT result. "
      "Target machine feature +avx512f is not  supported on the host machine.\\n')\n"
      "os.write(2, b'a real error\\n')\n"
      "os.write(2, b'partial progress')\n")
  result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True,
                          timeout=120)
  assert result.returncode == 0, result.stderr
  err = result.stderr.decode()
  assert "prefer-no-gather" not in err and "+avx512f" in err  # real ISA mismatches still show
  assert "a real error" in err and err.endswith("partial progress")
  assert b"Failed to import" not in result.stdout

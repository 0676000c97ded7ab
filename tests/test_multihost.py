"""Multi-process runs: 2 processes x 2 CPU devices (gloo collectives over localhost) against
1 process x 4 devices, the data-parallel shards they sample from, and the start-up rules.

The equivalence is exact in principle: the same global mesh of 4 devices, the same shards, the
same keys (folded from the shard's global index, not from how shards are grouped into
processes); only the collectives' transport differs, so results agree to float rounding.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helms_jax import data as data_lib
from helms_jax.training import distributed

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_dataset(path: str, num_episodes: int = 9) -> None:
  """Episodes of different lengths (5..13 steps), so shards need padding."""
  rng = np.random.default_rng(0)
  schema = data_lib.Schema.create((6,), (2,))
  with data_lib.DatasetWriter(path, schema, env_name="toy", generator="random") as writer:
    for e in range(num_episodes):
      length = 5 + e
      obs = rng.normal(size=(length + 1, 6)).astype(np.float32)
      writer.add_episode(observation=obs, action=np.tanh(obs[:-1, :2] - obs[:-1, 2:4]),
                         reward=np.zeros(length, np.float32),
                         discount=np.ones(length, np.float32), done=np.eye(length)[-1] > 0)


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def launch(out, workdir, dataset, devices_per_process, num_processes, restore_from=None):
  """Starts the processes of one run and waits for all; returns their outputs on failure."""
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count="
             f"{devices_per_process}", PYTHONPATH=REPO, JAX_PLATFORMS="cpu")
  for name in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
    env.pop(name, None)
  args = [sys.executable, "-m", "tests._multihost_run", str(out), str(workdir), str(dataset)]
  if restore_from:
    args.append(str(restore_from))
  if num_processes > 1:
    env.update(JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{free_port()}",
               JAX_NUM_PROCESSES=str(num_processes))
  procs = [subprocess.Popen(args, env=dict(env, JAX_PROCESS_ID=str(i)) if num_processes > 1
                            else env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
           for i in range(num_processes)]
  outputs = []
  for proc in procs:
    try:
      outputs.append(proc.communicate(timeout=600)[0])
    except subprocess.TimeoutExpired:
      for p in procs:
        p.kill()
      raise
  for i, proc in enumerate(procs):
    assert proc.returncode == 0, f"process {i} failed:\n{outputs[i][-4000:]}"
  return np.load(out)


def _group(results, prefix):
  keys = sorted((k for k in results.files if k.startswith(prefix)
                 and k[len(prefix):].isdigit()), key=lambda k: int(k[len(prefix):]))
  assert keys, prefix
  return [results[k] for k in keys]


@pytest.mark.timeout(900)
def test_two_processes_match_one_process_and_checkpoints_move_between_them(tmp_path):
  dataset = tmp_path / "data"
  write_dataset(str(dataset))
  pair = launch(tmp_path / "pair.npz", tmp_path / "pair", dataset, 2, 2)
  single = launch(tmp_path / "single.npz", tmp_path / "single", dataset, 4, 1,
                  restore_from=tmp_path / "pair")
  assert int(pair["num_processes"]) == 2 and int(single["num_processes"]) == 1
  assert int(pair["num_devices"]) == int(single["num_devices"]) == 4
  np.testing.assert_array_equal(pair["local_shards"], [0, 1])  # process 0's own shards
  np.testing.assert_array_equal(single["local_shards"], [0, 1, 2, 3])
  # The learners moved, so agreement is not that of two untouched initialisations.
  for prefix, init in (("helms_", "helms_init_"), ("mpo_update_", "mpo_init_")):
    moved = [np.max(np.abs(a - b)) for a, b in zip(_group(single, prefix), _group(single, init))
             if a.size]
    assert max(moved) > 1e-3, prefix
  for prefix in ("helms_", "mpo_update_", "online_"):
    got, want = _group(pair, prefix), _group(single, prefix)
    assert len(got) == len(want)
    for a, b in zip(got, want):
      np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6, err_msg=prefix)
  # The 2-process checkpoints restore bit-for-bit in the 1-process layout.
  for prefix, written in (("restored_helms_", "helms_"), ("restored_online_", "online_")):
    for a, b in zip(_group(single, prefix), _group(pair, written)):
      np.testing.assert_array_equal(a, b)


def test_sharded_sampling_covers_exactly_each_shards_episodes():
  """Shard d draws only episodes d, d + D, ...; windows never cross episodes; padding rows are
  never drawn; the global batch does not depend on which shards a process holds."""
  lengths = np.array([3, 9, 4, 7, 5, 6, 8])
  schema = data_lib.Schema.create((1,), (1,))
  episodes = []
  for e, n in enumerate(lengths):
    # observation = 100 * episode + step: identifies the episode and the step of every row.
    obs = (100.0 * e + np.arange(n + 1, dtype=np.float32))[:, None]
    episodes.append(dict(observation=obs, action=obs[:-1], reward=np.zeros(n, np.float32),
                         discount=np.ones(n, np.float32), done=np.eye(n)[-1] > 0))
  dataset = _in_memory(schema, episodes)
  num_shards, window = 3, 3
  data = data_lib.sharded_window_data(dataset, window, 1, num_shards, range(num_shards))
  sample = jax.jit(data_lib.sharded_sample_fn(dataset, 3 * 256, window, 1, num_shards))
  batch = jax.device_get(sample(data, jax.random.PRNGKey(0)))
  obs = batch["observation"][..., 0].reshape(num_shards, 256, window + 1)
  for d in range(num_shards):
    episode = (obs[d, :, 0] // 100).astype(int)
    assert set(episode) <= set(range(d, len(lengths), num_shards)), d
    # Every valid window of the shard is drawn (256 draws, at most 13 windows per shard).
    valid = sum(max(lengths[e] - window + 1, 0) for e in range(d, len(lengths), num_shards))
    assert len({tuple(row) for row in obs[d, :, :window]}) == valid
  steps = obs - obs[..., :1]
  mask = batch["obs_mask"].reshape(num_shards, 256, window + 1)
  np.testing.assert_array_equal(steps[..., :window],
                                np.broadcast_to(np.arange(window), steps[..., :window].shape))  # contiguous, one episode
  # The lookahead observation is the next one, or flagged as past the episode's end.
  assert np.all((steps[..., window] == window) | (mask[..., window] == 0))
  # Shards 1, 2 built alone (another process's view) give the same rows as in the full build.
  part = data_lib.sharded_window_data(dataset, window, 1, num_shards, [1, 2])
  for name in ("observation", "action"):
    np.testing.assert_array_equal(part.arrays[name], data.arrays[name][1:])


def _in_memory(schema, episodes):
  lengths = np.array([len(e["action"]) for e in episodes], np.int64)
  fields = {"observation": np.concatenate([e["observation"] for e in episodes]),
            "action": np.concatenate([e["action"] for e in episodes]),
            "reward": np.concatenate([e["reward"] for e in episodes]),
            "discount": np.concatenate([e["discount"] for e in episodes]),
            "done": np.concatenate([e["done"] for e in episodes])}
  step_offsets, obs_offsets = data_lib.offsets_from_lengths(lengths)
  return data_lib.Dataset(manifest=_Manifest(schema), fields=fields, episode_length=lengths,
                          step_offsets=step_offsets, obs_offsets=obs_offsets)


class _Manifest:
  def __init__(self, schema):
    self.schema = schema


def test_too_few_episodes_for_the_shards_is_named():
  schema = data_lib.Schema.create((1,), (1,))
  ep = dict(observation=np.zeros((5, 1), np.float32), action=np.zeros((4, 1), np.float32),
            reward=np.zeros(4, np.float32), discount=np.ones(4, np.float32),
            done=np.eye(4)[-1] > 0)
  dataset = _in_memory(schema, [ep, ep])
  with pytest.raises(data_lib.WindowError, match="fewer than the 4 data shards"):
    data_lib.sharded_window_data(dataset, 2, 0, 4, range(4))
  with pytest.raises(data_lib.WindowError, match="not divisible"):
    data_lib.sharded_sample_fn(dataset, 6, 2, 0, 4)


@pytest.mark.parametrize("env,kwargs,expected", [
    ({}, {}, None),
    ({"SLURM_JOB_ID": "7", "SLURM_PROCID": "0", "SLURM_NTASKS": "1"}, {}, None),
    ({"SLURM_JOB_ID": "7", "SLURM_PROCID": "1", "SLURM_NTASKS": "4"}, {}, {}),
    ({"OMPI_COMM_WORLD_SIZE": "2"}, {}, {}),
    ({"TPU_WORKER_HOSTNAMES": "a,b"}, {}, {}),
    ({"TPU_WORKER_HOSTNAMES": "a"}, {}, None),
    ({"JAX_COORDINATOR_ADDRESS": "h:1", "JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": "1"}, {},
     {"coordinator_address": "h:1", "num_processes": 2, "process_id": 1}),
    ({"SLURM_JOB_ID": "7", "SLURM_PROCID": "1", "SLURM_NTASKS": "4"},  # flags win
     {"coordinator_address": "h:2", "num_processes": 3, "process_id": 0},
     {"coordinator_address": "h:2", "num_processes": 3, "process_id": 0}),
    ({}, {"coordinator_address": "h:2", "num_processes": 1, "process_id": 0}, None),
])
def test_resolve_reads_flags_then_variables_then_the_scheduler(env, kwargs, expected):
  assert distributed.resolve(**kwargs, env=env) == expected
  assert distributed.resolve(**kwargs, env=env, mode="off") is None


@pytest.mark.parametrize("kwargs,env,message", [
    ({"coordinator_address": "h:1"}, {}, "num_processes, process_id not given"),
    ({"coordinator_address": "h:1", "num_processes": 2, "process_id": 2}, {},
     r"must be in \[0, num_processes=2\)"),
    ({}, {"JAX_NUM_PROCESSES": "two"}, "not an integer"),
    ({"mode": "on"}, {}, "no coordinator"),
    ({"mode": "sometimes"}, {}, "must be one of"),
])
def test_bad_distributed_setup_is_named(kwargs, env, message):
  with pytest.raises(distributed.DistributedError, match=message):
    distributed.resolve(**kwargs, env=env)


def test_single_process_helpers_are_local():
  assert distributed.is_main_process()
  distributed.barrier("unused")  # no-op with one process
  key = jax.random.PRNGKey(3)
  np.testing.assert_array_equal(distributed.process_key(key), jax.random.fold_in(key, 0))
  tree = {"a": jnp.arange(3)}
  np.testing.assert_array_equal(distributed.to_host(tree)["a"], np.arange(3))


def test_importing_the_library_does_not_start_the_backend():
  """`jax.distributed.initialize` must run before any device use, so importing every entry
  point and loading a config must not touch a device (e.g. a module-level `jnp` constant)."""
  code = (
      "import sys; from jax._src import xla_bridge as xb\n"
      "import launch.pipeline, launch.report, launch.explore, launch.transfer, launch.eval\n"
      "import helms_jax, helms_jax.agents, helms_jax.analysis.report, helms_jax.envs\n"
      "from helms_jax import configs\n"
      "for name in ('helms_stacking.py:tiny', 'lsp_locomotion.py:tiny', 'spirl_maze.py:tiny',\n"
      "             'concurrent_ant.py:original,tiny'):\n"
      "  configs.load_config('experiments/' + name)\n"
      "sys.exit(3 if xb._backends else 0)\n")
  result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=REPO), timeout=300)
  assert result.returncode == 0, result.stderr[-3000:] or "the backend was initialised"


def test_resumed_run_keeps_its_recorded_data_placement(tmp_path):
  """A run started with several processes (sharded) and resumed in one keeps sampling shards
  under 'auto'; an explicit placement wins. Fresh runs record what they use."""
  from helms_jax import configs, io  # pylint: disable=import-outside-toplevel
  from helms_jax.pipeline.train import DATA_LAYOUT_FILE, run_data_layout  # pylint: disable=import-outside-toplevel
  from helms_jax.training import devices  # pylint: disable=import-outside-toplevel
  from helms_jax.training.checkpoint import Checkpointer  # pylint: disable=import-outside-toplevel
  config = configs.load_config(f"{REPO}/experiments/bc_point_reach.py:tiny")
  mesh, workdir = devices.make_mesh(), str(tmp_path)
  fresh = run_data_layout(config, workdir, mesh)
  assert fresh == {"placement": "replicated", "num_shards": mesh.devices.size}
  io.atomic_write_json(os.path.join(workdir, DATA_LAYOUT_FILE),
                    {"placement": "sharded", "num_shards": mesh.devices.size})
  # Without a checkpoint the run is fresh again: the record is rewritten.
  assert run_data_layout(config, workdir, mesh)["placement"] == "replicated"
  io.atomic_write_json(os.path.join(workdir, DATA_LAYOUT_FILE),
                    {"placement": "sharded", "num_shards": mesh.devices.size})
  ckpt = Checkpointer(os.path.join(workdir, "checkpoints"))
  ckpt.save(10, {"x": np.zeros(2)}, force=True)
  ckpt.close()
  assert run_data_layout(config, workdir, mesh)["placement"] == "sharded"
  config.train.data_placement = "replicated"
  assert run_data_layout(config, workdir, mesh)["placement"] == "replicated"


def test_multiprocess_script_connects_processes_and_stops_them_on_failure(tmp_path):
  """launch/multiprocess.sh: N connected processes (each sees N x D global devices); when one
  fails, the script exits non-zero and the others are stopped instead of hanging."""
  script = os.path.join(REPO, "launch", "multiprocess.sh")
  probe = ("from helms_jax.training import distributed; distributed.initialize(); import jax, sys;"
           " print('process', jax.process_index(), 'of', jax.process_count(), 'devices',"
           " jax.device_count(), flush=True); distributed.shutdown()")
  env = dict(os.environ, PYTHONPATH=REPO, DEVICES_PER_PROCESS="2", LOG_DIR=str(tmp_path / "logs"),
             JAX_PLATFORMS="cpu", PATH=os.path.dirname(sys.executable) + os.pathsep
             + os.environ.get("PATH", ""))
  ok = subprocess.run(["bash", script, "2", sys.executable, "-c", probe], env=env, cwd=REPO,
                      capture_output=True, text=True, timeout=300)
  assert ok.returncode == 0, ok.stderr[-3000:]
  assert "process 0 of 2 devices 4" in ok.stdout
  assert "process 1 of 2 devices 4" in (tmp_path / "logs" / "process_1.log").read_text()
  # Process 1 fails before connecting; process 0 would wait for it at initialisation.
  failing = ("import os, sys\nif os.environ['JAX_PROCESS_ID'] == '1': sys.exit(7)\n" + probe)
  bad = subprocess.run(["bash", script, "2", sys.executable, "-c", failing], env=env, cwd=REPO,
                       capture_output=True, text=True, timeout=300)
  assert bad.returncode == 7, (bad.returncode, bad.stderr[-3000:])
  assert "stopping the others" in bad.stderr

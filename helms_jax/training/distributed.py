"""Multi-host (multi-process) runs through JAX's own runtime: start-up, process roles, barriers.

One Python process runs per host (or per GPU group); `jax.distributed.initialize` connects them,
after which `jax.devices()` lists every process's devices and the data-parallel mesh of
`devices.make_mesh()` spans all hosts. Every process runs the same program (SPMD): jitted steps
over global arrays are collective, so all processes must call them in the same order. Files are
written by process 0 only (`is_main_process`); orbax checkpoints are saved by all processes
together (orbax coordinates; each process writes the shards it holds).

How a process learns its place, in order:
  1. explicit arguments (the `--coordinator_address`, `--num_processes`, `--process_id` flags of
     every `helms-*` entry point, see `launch/common.py`);
  2. the environment variables `JAX_COORDINATOR_ADDRESS`, `JAX_NUM_PROCESSES`, `JAX_PROCESS_ID`
     (what `launch/multiprocess.sh` sets);
  3. a cluster scheduler JAX recognises on its own: SLURM (`srun`, one task per process), Open MPI
     (`mpirun`), a Cloud TPU pod slice. Then `jax.distributed.initialize()` takes every value
     from the scheduler.
With none of these (or a one-task allocation) the run is single-process and nothing is set up.

From your own code (the pipeline does the same for `helms-train`):

    from helms_jax import data
    from helms_jax.training import devices, distributed, offline_loop
    distributed.initialize()                      # first, before any device is used
    mesh = devices.make_mesh()                    # every process's devices
    shards = mesh.devices.size                    # one data shard per device
    local = data.sharded_window_data(dataset, window, lookahead, shards,
                                     devices.local_shard_indices(mesh))  # this process's part
    sample_fn = data.sharded_sample_fn(dataset, batch_size, window, lookahead, shards)
    offline_loop.train_offline(learner, sample_fn, local, workdir=workdir, seed=0, loop=loop,
                               mesh=mesh, data_sharded=True)
    distributed.shutdown()                        # final barrier
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import jax
import numpy as np
from absl import logging
import orbax.checkpoint as ocp
from jax.experimental import multihost_utils

from helms_jax.errors import HelmsError

MODES = ("auto", "on", "off")


class DistributedError(HelmsError, ValueError):
  """An inconsistent or incomplete multi-process set-up."""


def _positive_int(env: Mapping[str, str], name: str) -> int:
  try:
    return int(env.get(name, "1"))
  except ValueError:
    return 1


def detect_cluster(env: Mapping[str, str] | None = None) -> str | None:
  """The multi-process scheduler in `env` (default `os.environ`) that JAX can read, or None.

  Only allocations with more than one process count: a one-task SLURM job is single-process.
  """
  env = os.environ if env is None else env
  if "SLURM_JOB_ID" in env and "SLURM_PROCID" in env:
    if _positive_int(env, "SLURM_STEP_NUM_TASKS" if "SLURM_STEP_NUM_TASKS" in env
                     else "SLURM_NTASKS") > 1:
      return "slurm"
  if _positive_int(env, "OMPI_COMM_WORLD_SIZE") > 1:
    return "ompi"
  if len([h for h in env.get("TPU_WORKER_HOSTNAMES", "").split(",") if h]) > 1:
    return "tpu"
  return None


def resolve(coordinator_address: str | None = None, num_processes: int | None = None,
            process_id: int | None = None, mode: str = "auto",
            env: Mapping[str, str] | None = None) -> dict[str, Any] | None:
  """The keyword arguments for `jax.distributed.initialize`, or None for a single-process run.

  Raises:
    DistributedError: an unknown mode, a partial explicit set-up (e.g. a coordinator address
      without the number of processes), or `mode='on'` with nothing to connect to.
  """
  if mode not in MODES:
    raise DistributedError(f"distributed mode must be one of {MODES}, got {mode!r}")
  if mode == "off":
    return None
  env = os.environ if env is None else env
  address = coordinator_address or env.get("JAX_COORDINATOR_ADDRESS") or None

  def number(value, name):
    if value is None and env.get(name):
      try:
        value = int(env[name])
      except ValueError as error:
        raise DistributedError(f"{name}={env[name]!r} is not an integer") from error
    return value

  count = number(num_processes, "JAX_NUM_PROCESSES")
  index = number(process_id, "JAX_PROCESS_ID")
  given = {"coordinator_address": address, "num_processes": count, "process_id": index}
  if any(v is not None for v in given.values()):
    missing = [k for k, v in given.items() if v is None]
    if missing:
      raise DistributedError(
          f"multi-process set-up is incomplete: {', '.join(missing)} not given (set all three "
          "of --coordinator_address, --num_processes, --process_id, or the JAX_COORDINATOR_"
          "ADDRESS / JAX_NUM_PROCESSES / JAX_PROCESS_ID variables)")
    if count < 1 or not 0 <= index < count:
      raise DistributedError(f"process_id={index} must be in [0, num_processes={count})")
    return given if count > 1 else None
  cluster = detect_cluster(env)
  if cluster is not None:
    return {}  # jax reads the scheduler's variables itself
  if mode == "on":
    raise DistributedError(
        "distributed mode 'on' but no coordinator was given and no multi-process scheduler "
        "(SLURM, Open MPI, TPU pod) was found in the environment")
  return None


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, mode: str = "auto",
               initialization_timeout: int = 300) -> bool:
  """Connects this process to the others (see the module docstring); returns whether it did.

  Must run before anything touches a JAX device. Calling it again is a no-op.
  """
  kwargs = resolve(coordinator_address, num_processes, process_id, mode)
  if kwargs is None:
    return False
  if jax.distributed.is_initialized():
    return True
  jax.distributed.initialize(**kwargs, initialization_timeout=initialization_timeout)
  logging.info("Process %d of %d: %d local and %d global devices", jax.process_index(),
               jax.process_count(), jax.local_device_count(), jax.device_count())
  return True


def is_main_process() -> bool:
  """Process 0: the one that writes logs, reports, datasets and evaluation files."""
  return jax.process_index() == 0


def barrier(name: str, timeout_secs: int = 4 * 3600) -> None:
  """Waits until every process reaches the barrier `name` (no-op with one process).

  A barrier of the coordination service (no device collective), so a process may wait here
  for hours while process 0 alone generates a dataset. Each name may be used once per run.
  """
  if jax.process_count() > 1:
    ocp.multihost.get_barrier_sync_fn()(key=name, timeout_ms=int(timeout_secs * 1000))


def shutdown() -> None:
  """The final barrier, then disconnects (no-op for a single-process run)."""
  if jax.process_count() > 1:
    barrier("helms_jax:end")
    jax.distributed.shutdown()


def process_key(key: jax.Array) -> jax.Array:
  """`key` folded with this process's index: independent host-side randomness per process."""
  return jax.random.fold_in(key, jax.process_index())


def to_host(tree: Any) -> Any:
  """Numpy copies of a pytree of global arrays on every process (an all-gather of the leaves
  that this process does not hold entirely; held leaves are copied locally)."""
  def fetch(leaf):
    if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable \
        and not leaf.is_fully_replicated:
      return np.asarray(multihost_utils.process_allgather(leaf, tiled=True))
    return np.asarray(leaf)
  return jax.tree_util.tree_map(fetch, tree)

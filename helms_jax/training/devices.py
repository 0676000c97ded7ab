"""Devices: the data-parallel mesh, shardings and the persistent compilation cache.

Data parallelism is declared, not hand-rolled (big_vision style): learner state is replicated
(`PartitionSpec()`), batches are split along their leading axis over the mesh axis `data`, and
`jax.jit` with in/out shardings lets XLA insert the gradient all-reduce. The same code runs on
one CPU, several forced CPU devices, a GPU host or a multi-host mesh.
"""

from __future__ import annotations

import hashlib
import os
import platform
import tempfile
from typing import Any, Sequence

import jax
import numpy as np
from absl import logging
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"


def make_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
  """A 1-D mesh over `devices` (default: all global devices) with axis name `data`."""
  devices = jax.devices() if devices is None else list(devices)
  return Mesh(np.asarray(devices), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, PartitionSpec())


def batch_sharded(mesh: Mesh) -> NamedSharding:
  """Splits the leading (batch) axis over the mesh."""
  return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def check_batch_divisible(batch_size: int, mesh: Mesh, what: str = "batch_size") -> None:
  n = mesh.devices.size
  if batch_size % n:
    raise ValueError(
        f"{what}={batch_size} is not divisible by the number of devices ({n}); "
        f"choose a multiple of {n} so each device gets an equal share")


def shard_batch(batch: Any, mesh: Mesh) -> Any:
  """Places a host batch (leaves [B, ...]) on the mesh, split along B."""
  return jax.device_put(batch, batch_sharded(mesh))


def replicate(tree: Any, mesh: Mesh) -> Any:
  return put_global(tree, replicated(mesh))


def put_global(tree: Any, sharding: jax.sharding.Sharding) -> Any:
  """Places full host values (the same on every process) as global arrays with `sharding`.

  With several processes each one materialises only the shards its devices hold (the values
  must agree across processes: they come from the same seed or the same file).
  """
  if jax.process_count() == 1:
    return jax.device_put(tree, sharding)

  def put(leaf):
    value = np.asarray(leaf)
    return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])
  return jax.tree_util.tree_map(put, tree)


def local_shard_indices(mesh: Mesh) -> list[int]:
  """Positions along the `data` axis of this process's devices (contiguous, in mesh order).

  A process holding data shards `local_shard_indices(mesh)` passes them, stacked in this order,
  to `put_local_shards`.
  """
  flat = list(mesh.devices.flat)
  mine = [i for i, d in enumerate(flat) if d.process_index == jax.process_index()]
  if mine != list(range(mine[0], mine[0] + len(mine))):
    raise ValueError(f"this process's devices sit at mesh positions {mine}, which are not "
                     "contiguous; build the mesh from jax.devices() (ordered by process)")
  return mine


def put_local_shards(tree: Any, mesh: Mesh) -> Any:
  """Global arrays split along the leading axis over the mesh, from this process's part only.

  `tree` leaves are `[num_local_devices, ...]`: the shards of `local_shard_indices(mesh)`. The
  global leaves are `[mesh size, ...]`, each device holding its own shard.
  """
  sharding = batch_sharded(mesh)
  if jax.process_count() == 1:
    return jax.device_put(tree, sharding)
  return jax.tree_util.tree_map(
      lambda leaf: jax.make_array_from_process_local_data(sharding, np.asarray(leaf)), tree)


def enable_compilation_cache(cache_dir: str | None, min_compile_time_secs: float = 1.0) -> bool:
  """Turns on JAX's persistent compilation cache so repeat launches skip recompilation.

  Compilations shorter than `min_compile_time_secs` are not stored (they are cheap to redo). A
  directory that cannot be created or written is a warning, not an error: the run compiles
  without the cache. Returns whether the cache is on.
  """
  if not cache_dir:
    return False
  cache_dir = os.path.abspath(cache_dir)
  try:
    os.makedirs(cache_dir, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cache_dir, prefix=".write-test-"):
      pass
  except OSError as error:
    logging.warning("Compilation cache %s is not writable (%s): compiling without a persistent "
                    "cache (set compilation_cache_dir to a writable directory, or 'none')",
                    cache_dir, error.strerror or error)
    return False
  jax.config.update("jax_compilation_cache_dir", cache_dir)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", min_compile_time_secs)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
  return True


def machine_fingerprint() -> str:
  """A short hash of the jax version, the platform and the CPU's model and feature flags.

  Caches are kept per fingerprint, so a cache shared between hosts (a home directory on a
  cluster) never hands one CPU code compiled for another.
  """
  parts = [jax.__version__, platform.machine(), platform.system()]
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith(("model name", "flags", "Features", "CPU part")):
          parts.append(line.strip())
          if line.startswith(("flags", "Features")):
            break
  except OSError:
    parts.append(platform.processor())
  return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def user_cache_dir() -> str:
  """`$XDG_CACHE_HOME/helms_jax/jax-<machine fingerprint>` (default `~/.cache/...`)."""
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.path.join(base, "helms_jax", f"jax-{machine_fingerprint()}")


def resolve_cache_dir(setting: str, workdir: str) -> str | None:
  """The compilation cache directory of the config value `compilation_cache_dir`: '' = the
  user cache (`user_cache_dir`, shared by every run of this user on this kind of machine),
  'workdir' = `<workdir>/.jax_cache`, 'none' = no cache, anything else = that directory."""
  if setting == "none":
    return None
  if setting == "workdir":
    return os.path.join(workdir, ".jax_cache")
  return os.path.expanduser(setting) if setting else user_cache_dir()

"""Devices: the data-parallel mesh, shardings and the persistent compilation cache.

Data parallelism is declared, not hand-rolled (big_vision style): learner state is replicated
(`PartitionSpec()`), batches are split along their leading axis over the mesh axis `data`, and
`jax.jit` with in/out shardings lets XLA insert the gradient all-reduce. The same code runs on
one CPU, several forced CPU devices, a GPU host or a multi-host mesh.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import jax
import numpy as np
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
  return jax.device_put(tree, replicated(mesh))


def enable_compilation_cache(cache_dir: str | None, min_compile_time_secs: float = 1.0) -> None:
  """Turns on JAX's persistent compilation cache so repeat launches skip recompilation.

  Compilations shorter than `min_compile_time_secs` are not stored (they are cheap to redo).
  """
  if not cache_dir:
    return
  os.makedirs(cache_dir, exist_ok=True)
  jax.config.update("jax_compilation_cache_dir", os.path.abspath(cache_dir))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", min_compile_time_secs)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def default_cache_dir(workdir: str) -> str:
  """`<workdir parent>/.jax_cache`: shared by sibling runs of a sweep."""
  return os.path.join(os.path.dirname(os.path.abspath(workdir)), ".jax_cache")

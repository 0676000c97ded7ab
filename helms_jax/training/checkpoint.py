"""Checkpoints: orbax, the whole training state, exact resume.

Unlike brax (which saves only the policy), a checkpoint here is the complete pytree that the
training loop carries: parameters, optimiser state, RNG key, step and any data/replay cursor, so
a run killed at any moment and relaunched with the same command continues bit-for-bit (on the
same platform). Orbax writes each step into a temporary directory and renames it when complete,
so a kill during a save leaves the previous checkpoint as the latest.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp


class CheckpointError(ValueError):
  """A checkpoint that cannot be restored into the requested state."""


def _path_name(path) -> str:
  """`a/b/0/c` for a key path, whatever the container types (dataclass, dict, tuple)."""
  parts = []
  for entry in path:
    for attr in ("name", "key", "idx"):
      if hasattr(entry, attr):
        parts.append(str(getattr(entry, attr)))
        break
    else:
      parts.append(str(entry))
  return "/".join(parts)


def _shape_dtype_tree(tree: Any) -> dict[str, tuple[tuple[int, ...], str]]:
  leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
  out = {}
  for path, leaf in leaves:
    shape = tuple(getattr(leaf, "shape", ()))
    dtype = str(getattr(leaf, "dtype", type(leaf).__name__))
    out[_path_name(path)] = (shape, dtype)
  return out


def tree_mismatches(have: Any, want: Any, have_name: str, want_name: str) -> list[str]:
  """Readable differences in leaf paths and shapes between two pytrees (arrays or shape
  structs), e.g. `params/dense_0/kernel: checkpoint shape (4, 8) vs model shape (4, 16)`."""
  have, want = _shape_dtype_tree(have), _shape_dtype_tree(want)
  problems = []
  for key in sorted(set(have) | set(want)):
    if key not in have:
      problems.append(f"{key}: missing in {have_name}")
    elif key not in want:
      problems.append(f"{key}: in {have_name} but not in the {want_name}")
    elif have[key][0] != want[key][0]:
      problems.append(f"{key}: {have_name} shape {have[key][0]} vs {want_name} shape "
                      f"{want[key][0]}")
  return problems


def _is_empty(leaf) -> bool:
  return hasattr(leaf, "shape") and 0 in tuple(leaf.shape)


def _fill_empty(tree: Any) -> Any:
  """Zero-size arrays (e.g. mjx.Data.act of a model without activations) as one-element stand-ins:
  orbax refuses to save arrays of size 0, and they hold no data to lose."""
  def fill(leaf):
    if not _is_empty(leaf):
      return leaf
    if isinstance(leaf, jax.ShapeDtypeStruct):
      return jax.ShapeDtypeStruct((1,), leaf.dtype)
    return np.zeros((1,), leaf.dtype)
  return jax.tree_util.tree_map(fill, tree)


class Checkpointer:
  """Saves and restores a training-state pytree under `<workdir>/checkpoints`.

  Args:
    directory: checkpoint directory (created if missing).
    max_to_keep: how many recent checkpoints to keep.
  """

  def __init__(self, directory: str, max_to_keep: int = 3):
    self.directory = os.path.abspath(directory)
    self._manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
        item_handlers=ocp.StandardCheckpointHandler())

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, step: int, state: Any, force: bool = False) -> bool:
    """Starts an asynchronous save of `state` at `step`; returns whether a save started."""
    return self._manager.save(step, args=ocp.args.StandardSave(_fill_empty(state)), force=force)

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def check_compatible(self, step: int, target: Any) -> None:
    """Raises CheckpointError listing leaves whose structure/shape/dtype differ from `target`."""
    metadata = self._manager.item_metadata(step)
    if metadata is None:
      raise CheckpointError(f"checkpoint {os.path.join(self.directory, str(step))} has no "
                            "readable metadata (not written by helms_jax, or damaged)")
    tree = getattr(metadata, "tree", metadata)
    problems = tree_mismatches(tree, _fill_empty(target), "checkpoint", "model")
    if problems:
      shown = "; ".join(problems[:8]) + (f"; ... ({len(problems)} in all)" if len(problems) > 8 else "")
      raise CheckpointError(
          f"checkpoint {os.path.join(self.directory, str(step))} is incompatible with this "
          f"config: {shown}. Use a fresh --workdir, or the config the checkpoint was made with.")

  def restore(self, step: int, target: Any) -> Any:
    """Restores step `step` into the structure, dtypes and shardings of `target`.

    `target` may be concrete arrays or `jax.ShapeDtypeStruct`s (with `.sharding`).
    """
    self.check_compatible(step, target)

    def abstract(leaf):
      if isinstance(leaf, jax.ShapeDtypeStruct):
        return leaf
      leaf = jax.numpy.asarray(leaf) if isinstance(leaf, (np.ndarray, np.generic)) else leaf
      return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=getattr(leaf, "sharding", None))

    abstract_target = jax.tree_util.tree_map(abstract, _fill_empty(target))
    restored = self._manager.restore(step, args=ocp.args.StandardRestore(abstract_target))
    # Zero-size leaves come back as the target's own (empty) arrays.
    return jax.tree_util.tree_map(lambda t, r: t if _is_empty(t) else r, target, restored)

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()

"""Checkpoints: orbax, the whole training state, exact resume, verified on restore.

Unlike brax (which saves only the policy), a checkpoint here is the complete pytree that the
training loop carries: parameters, optimiser state, RNG key, step and any data/replay cursor, so
a run killed at any moment and relaunched with the same command continues bit-for-bit (on the
same platform). Orbax writes each step into a temporary directory and renames it when complete,
so a kill during a save leaves the previous checkpoint as the latest.

Integrity: saves are synchronous, and right after orbax commits step N process 0 writes
`N/helms_integrity.json` (size and SHA-256 of every file of the step, written atomically).
`Checkpointer.restore_latest` checks the newest step against it (flipped bytes, truncated or
missing files), then restores it (orbax's own errors, e.g. unreadable metadata, count as damage
too) and checks that it is finite; a damaged step is named in one warning line, moved to
`<checkpoints>_damaged/` and the previous step is tried. A step without a record (written before
records existed) is restored unverified, with a warning. Only a checkpoint that does not fit the
requested state (another config) is an error at once: that is not damage.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp
from absl import logging

from helms_jax.errors import HelmsError
from helms_jax.io import TMP_PREFIX, atomic_write_json
from helms_jax.training import distributed, guard

INTEGRITY_FILE = "helms_integrity.json"
INTEGRITY_FORMAT = 1


class CheckpointError(HelmsError, ValueError):
  """A checkpoint that cannot be restored into the requested state."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
  """No checkpoint where one is needed (the stage that writes it has not run)."""


class CheckpointDamagedError(CheckpointError):
  """A checkpoint whose files do not match their integrity record or cannot be read."""


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


def _file_digest(path: str) -> str:
  with open(path, "rb") as f:
    return hashlib.file_digest(f, "sha256").hexdigest()


def _step_files(step_dir: str) -> dict[str, str]:
  """`{path relative to step_dir: absolute path}` of the step's files, the record excluded."""
  files = {}
  for root, _, names in os.walk(step_dir):
    for name in names:
      path = os.path.join(root, name)
      rel = os.path.relpath(path, step_dir)
      if rel != INTEGRITY_FILE and not name.startswith(TMP_PREFIX):
        files[rel] = path
  return files


def write_integrity_record(step_dir: str) -> None:
  """Writes `<step_dir>/helms_integrity.json`: size and SHA-256 of every file (atomically)."""
  record = {"format": INTEGRITY_FORMAT,
            "files": {rel: [os.path.getsize(p), _file_digest(p)]
                      for rel, p in sorted(_step_files(step_dir).items())}}
  atomic_write_json(os.path.join(step_dir, INTEGRITY_FILE), record)


def verify_integrity(step_dir: str) -> tuple[str | None, bool]:
  """`(problem, verified)`: the first difference between the step's files and its record (None
  when they match), and whether a record existed to check against."""
  path = os.path.join(step_dir, INTEGRITY_FILE)
  if not os.path.exists(path):
    return None, False
  try:
    with open(path) as f:
      recorded = json.load(f)["files"]
  except (OSError, ValueError, KeyError, TypeError) as error:
    return f"its integrity record {INTEGRITY_FILE} is unreadable ({error})", True
  present = _step_files(step_dir)
  for rel, (size, digest) in sorted(recorded.items()):
    if rel not in present:
      return f"file {rel} is missing", True
    actual = os.path.getsize(present[rel])
    if actual != size:
      return f"file {rel} has {actual} bytes, {size} when saved (truncated or overwritten)", True
    if _file_digest(present[rel]) != digest:
      return f"file {rel} differs from its saved checksum (corrupted bytes)", True
  return None, True


def _first_line(error: BaseException) -> str:
  text = str(error).strip().splitlines()
  return f"{type(error).__name__}: {text[0][:300] if text else ''}"


class Checkpointer:
  """Saves and restores a training-state pytree under `<workdir>/checkpoints`.

  Args:
    directory: checkpoint directory (created if missing).
    max_to_keep: how many recent checkpoints to keep. Only finite states are saved (the loops'
      divergence guard), so rotation never deletes the last good state.
    read_only: for readers of another stage's checkpoints (evaluation, transfer from skills):
      nothing is created, saved or moved; damaged steps are skipped where they lie.
  """

  def __init__(self, directory: str, max_to_keep: int = 3, read_only: bool = False):
    self.directory = os.path.abspath(directory)
    self.read_only = read_only
    if read_only and not os.path.isdir(self.directory):
      raise CheckpointNotFoundError(f"no checkpoint directory {self.directory}")
    self.damaged_directory = self.directory.rstrip(os.sep) + "_damaged"
    self._max_to_keep = max_to_keep
    self._set_aside_count = 0
    self._manager = self._make_manager()

  def _make_manager(self) -> ocp.CheckpointManager:
    # Synchronous saves: the integrity record is written right after orbax commits the step, so
    # no window is left in which the newest step exists without its record.
    return ocp.CheckpointManager(
        self.directory,
        # A reader creates nothing (orbax's own read_only mode only adds warnings; this class
        # refuses saves itself).
        options=ocp.CheckpointManagerOptions(
            max_to_keep=self._max_to_keep, create=not self.read_only,
            enable_async_checkpointing=False),
        item_handlers=ocp.StandardCheckpointHandler())

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def step_dir(self, step: int) -> str:
    return os.path.join(self.directory, str(step))

  def save(self, step: int, state: Any, force: bool = False) -> bool:
    """Saves `state` at `step` (every process calls; orbax coordinates) and records the step's
    checksums; returns whether a save happened."""
    if self.read_only:
      raise CheckpointError(f"{self.directory} was opened read-only")
    saved = self._manager.save(step, args=ocp.args.StandardSave(_fill_empty(state)), force=force)
    if saved:
      self._manager.wait_until_finished()
      if distributed.is_main_process():
        write_integrity_record(self.step_dir(step))
    return saved

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def check_compatible(self, step: int, target: Any) -> None:
    """Raises CheckpointError listing leaves whose structure/shape/dtype differ from `target`
    (CheckpointDamagedError when the step's metadata cannot be read at all)."""
    where = self.step_dir(step)
    try:
      metadata = self._manager.item_metadata(step)
    except Exception as error:  # pylint: disable=broad-except
      raise CheckpointDamagedError(f"checkpoint {where} has unreadable metadata "
                                   f"({_first_line(error)})") from None
    if metadata is None:
      raise CheckpointDamagedError(f"checkpoint {where} has no readable metadata (not written "
                                   "by helms_jax, or damaged)")
    tree = getattr(metadata, "tree", metadata)
    problems = tree_mismatches(tree, _fill_empty(target), "checkpoint", "model")
    if problems:
      shown = "; ".join(problems[:8]) + (f"; ... ({len(problems)} in all)" if len(problems) > 8 else "")
      raise CheckpointError(
          f"checkpoint {where} is incompatible with this "
          f"config: {shown}. Use a fresh --workdir, or the config the checkpoint was made with.")

  def restore(self, step: int, target: Any) -> Any:
    """Restores step `step` into the structure, dtypes and shardings of `target` (no integrity
    check: `restore_latest` is the checked path).

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

  def restore_latest(self, target: Any, *, finite_part=lambda state: state
                     ) -> tuple[Any, int] | tuple[None, None]:
    """The newest intact checkpoint restored into `target`, and its step; `(None, None)` when
    the directory holds none.

    Damaged steps (integrity record mismatch, unreadable files) are named in a warning, moved to
    `damaged_directory` and the previous step is tried; if no step is intact, raises
    CheckpointDamagedError naming each. A step that does not fit `target` raises CheckpointError
    at once (another config, not damage). A restored state whose `finite_part(state)` (e.g. the
    learner, not env states that may hold infinities by design) is not finite raises
    `guard.NonFiniteCheckpointError`: a diverged run is reported, not resumed.
    """
    problems = []
    for step in sorted(self.all_steps(), reverse=True):
      problem, verified = verify_integrity(self.step_dir(step))
      state = None
      if problem is None:
        if not verified:
          logging.warning("Checkpoint %s has no integrity record (saved before records existed, or the "
                          "record was removed): "
                          "restoring it unverified", self.step_dir(step))
        try:
          state = self.restore(step, target)
        except CheckpointDamagedError as error:
          problem = str(error)
        except CheckpointError:
          raise
        except Exception as error:  # pylint: disable=broad-except
          problem = f"orbax could not read it ({_first_line(error)})"
      if problem is None:
        if not bool(distributed.to_host(jax.jit(guard.all_finite)(finite_part(state)))):
          raise guard.NonFiniteCheckpointError(
              f"checkpoint {self.step_dir(step)} holds non-finite parameters (NaN or inf): the "
              "run diverged before it was saved; use an earlier step or a new --workdir")
        return state, step
      if self.read_only:
        logging.warning("Checkpoint %s is damaged: %s. Trying the previous step.",
                        self.step_dir(step), problem)
      else:
        logging.warning("Checkpoint %s is damaged: %s. Moving it to %s and trying the previous "
                        "step.", self.step_dir(step), problem, self.damaged_directory)
        self._set_aside(step)
      problems.append(f"step {step}: {problem}")
    if problems:
      moved = "" if self.read_only else f"; the damaged steps are in {self.damaged_directory}"
      raise CheckpointDamagedError(
          f"no intact checkpoint in {self.directory} ({'; '.join(problems)}){moved}: start a "
          "new --workdir")
    return None, None

  def _set_aside(self, step: int) -> None:
    """Moves a damaged step out of orbax's directory (so the run can save that step again)."""
    self._manager.close()
    if distributed.is_main_process():
      os.makedirs(self.damaged_directory, exist_ok=True)
      target = os.path.join(self.damaged_directory, f"{step}-{time.strftime('%Y%m%dT%H%M%S')}")
      if os.path.exists(target):
        shutil.rmtree(target)
      os.replace(self.step_dir(step), target)
    self._set_aside_count += 1  # barrier names are used once; every process counts alike
    distributed.barrier(f"helms_jax:set_aside:{self.directory}:{step}:{self._set_aside_count}")
    self._manager = self._make_manager()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()

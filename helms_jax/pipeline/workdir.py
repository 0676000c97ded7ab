"""A run's working directory: one writer at a time, one experiment per directory.

`hold(workdir)` takes `<workdir>/helms.lock` (host, PID, command) for the duration of a stage; a
second launch on the same workdir fails at once with `WorkdirLockedError` naming the holder. A
lock left by a process that died (this host, PID gone or reused) is taken over with a warning.
Holding is re-entrant within a process (the pipeline holds it across its stages). In a
multi-process run process 0 alone holds it, for the run.

`prepare_workdir(config, workdir)` writes `config.json` after checking it against the previous
launch's. The rule: a changed key blocks a relaunch only if a stage whose saved state depends on
it has saved state in the workdir, i.e. only if resuming would mix two experiments:

  dataset present              -> `seed`, `env.*`, `data.*` block
  offline checkpoints present  -> also `learner.*`, `train.*`
  transfer checkpoints present -> also `transfer.*`

except keys that only extend or observe a run (`MUTABLE_KEYS`: step budgets, logging and
checkpoint frequencies, evaluation/analysis/report settings, paths). Every accepted change is
appended to `<workdir>/config_changes.jsonl` (time, command, old and new values) and logged.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import socket
import sys
import time
from typing import Iterator

import jax
import ml_collections
import numpy as np
from absl import logging
from jax.experimental import multihost_utils

from helms_jax import configs
from helms_jax.runs import has_checkpoint
from helms_jax.errors import HelmsError
from helms_jax.io import atomic_write_json
from helms_jax.training import devices

LOCK_FILE = "helms.lock"
CONFIG_FILE = "config.json"
CHANGES_FILE = "config_changes.jsonl"

# Keys that extend or observe a run without changing what a resumed stage computes.
MUTABLE_KEYS = ("eval.", "analysis.", "report.", "exploration.", "train.num_steps",
                "train.log_every", "train.checkpoint_every", "train.tensorboard",
                "train.max_to_keep",
                # Hardware layout, like the device count, which a resumed run may also change.
                "train.data_placement",
                "compilation_cache_dir", "data.dir", "transfer.skills_dir", "transfer.label",
                "transfer.loop.env_steps", "transfer.loop.log_every_calls",
                "transfer.loop.checkpoint_every_calls", "transfer.loop.tensorboard",
                "transfer.loop.max_to_keep", "experiment", "variant")
# The config keys each stage's saved state depends on (prefixes; a bare name matches itself).
STAGE_INPUTS = {
    "dataset": ("seed", "env.", "data."),
    "offline checkpoints": ("seed", "env.", "data.", "learner.", "train.", "precision"),
    "transfer checkpoints": ("seed", "env.", "data.", "learner.", "train.", "transfer.",
                             "precision"),
}


class WorkdirLockedError(HelmsError, RuntimeError):
  """Another process is running a stage in this workdir."""


def _matches(key: str, prefixes) -> bool:
  return any(key == p.rstrip(".") or key.startswith(p if p.endswith(".") else p + ".")
             or key == p for p in prefixes)


def _has_files(path: str) -> bool:
  return os.path.isdir(path) and any(os.scandir(path))


def saved_stages(workdir: str, config: dict) -> list[str]:
  """The stages (keys of STAGE_INPUTS) with saved state in `workdir`, for its recorded config."""
  data_dir = config.get("data", {}).get("dir") or os.path.join(workdir, "data")
  present = {"dataset": _has_files(data_dir),
             "offline checkpoints": has_checkpoint(os.path.join(workdir, "checkpoints")),
             "transfer checkpoints": has_checkpoint(
                 os.path.join(workdir, "transfer", "checkpoints"))}
  return [stage for stage, here in present.items() if here]


def blocking_changes(old: dict, new: dict, workdir: str) -> dict[str, list[str]]:
  """`{changed key: [stages whose saved state depends on it]}` for the changes that must not be
  resumed; empty when the relaunch may go ahead."""
  stages = saved_stages(workdir, old)
  blocking = {}
  for key in configs.diff(old, new):
    if _matches(key, MUTABLE_KEYS):
      continue
    if configs.unrecorded_default(key, old, new):
      continue
    depends = [s for s in stages if _matches(key, STAGE_INPUTS[s])]
    if depends:
      blocking[key] = depends
  return blocking


def prepare_workdir(config: ml_collections.ConfigDict, workdir: str) -> None:
  """Creates `workdir`, enables the compilation cache, writes (or checks) `config.json`.

  Raises:
    ConfigError: the config differs from the recorded one in keys that saved state depends on.
  """
  os.makedirs(workdir, exist_ok=True)
  devices.enable_compilation_cache(devices.resolve_cache_dir(
      config.get("compilation_cache_dir", ""), workdir))
  path = os.path.join(workdir, CONFIG_FILE)
  new = configs.to_dict(config)
  changed = []
  if os.path.exists(path):
    with open(path) as f:
      old = json.load(f)
    blocking = blocking_changes(old, new, workdir)
    if blocking:
      shown = ", ".join(f"{k} (the {' and '.join(v)})" for k, v in blocking.items())
      raise configs.ConfigError(
          f"{workdir} holds a run with a different config: changed {shown}; resuming would mix "
          "experiments. Use a new --workdir, or the original values.")
    changed = configs.diff(old, new)
  if not jax.process_index() == 0:
    return
  if changed:
    logging.info("Config changes since the last launch in %s: %s", workdir, ", ".join(changed))
    row = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": " ".join(sys.argv),
           "changes": {k: {"old": configs.lookup(old, k), "new": configs.lookup(new, k)}
                       for k in changed}}
    with open(os.path.join(workdir, CHANGES_FILE), "a") as f:
      f.write(json.dumps(row, sort_keys=True) + "\n")
  atomic_write_json(path, new)


# ------------------------------------------------------------------------------------------------
# The lock.


def _process_start_time(pid: int) -> int | None:
  """The process's start time in clock ticks since boot (Linux), to tell a reused PID apart."""
  try:
    with open(f"/proc/{pid}/stat") as f:
      return int(f.read().rsplit(")", 1)[1].split()[19])
  except (OSError, IndexError, ValueError):
    return None


def _read_lock(path: str) -> dict | None:
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError):
    return None


def _holder_alive(holder: dict) -> bool:
  """Whether the process recorded in a lock may still run (True when it cannot be checked)."""
  if holder.get("host") != socket.gethostname():
    return True
  pid = holder.get("pid")
  if not isinstance(pid, int) or pid == os.getpid():
    return False
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  recorded, actual = holder.get("start_time"), _process_start_time(pid)
  return recorded is None or actual is None or recorded == actual


def _describe(holder: dict) -> str:
  return (f"process {holder.get('pid')} on host {holder.get('host')!r} (started "
          f"{holder.get('started', '?')}: {holder.get('command', '?')})")


def _acquire(workdir: str, path: str) -> None:
  info = {"host": socket.gethostname(), "pid": os.getpid(),
          "start_time": _process_start_time(os.getpid()),
          "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": " ".join(sys.argv)}
  for _ in range(5):
    try:
      fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
      holder = _read_lock(path)
      for _ in range(10):  # a lock being written right now: give its writer a moment
        if holder is not None:
          break
        time.sleep(0.1)
        holder = _read_lock(path)
      if holder is not None and _holder_alive(holder):
        raise WorkdirLockedError(
            f"{workdir} is in use by {_describe(holder)}; wait for it to finish or use another "
            f"--workdir (if that process is gone, delete {path})") from None
      logging.warning("Taking over the lock of %s in %s: %s", workdir, path,
                      f"{_describe(holder)} is no longer running" if holder else
                      "the lock file is unreadable")
      try:  # an atomic take-over: of two launches finding the same stale lock, one wins
        os.replace(path, f"{path}.stale-{os.getpid()}")
        os.remove(f"{path}.stale-{os.getpid()}")
      except FileNotFoundError:
        pass
      continue
    with os.fdopen(fd, "w") as f:
      json.dump(info, f, indent=1)
      f.flush()
      os.fsync(f.fileno())
    return
  raise WorkdirLockedError(f"could not take the lock {path}: other launches keep taking it")


def _release(path: str) -> None:
  holder = _read_lock(path)
  if holder is not None and holder.get("pid") == os.getpid() and \
      holder.get("host") == socket.gethostname():
    os.remove(path)


@dataclasses.dataclass
class _Held:
  count: int
  created_dir: bool


_HELD: dict[str, _Held] = {}


@contextlib.contextmanager
def hold(workdir: str) -> Iterator[None]:
  """Holds `workdir`'s lock (re-entrant); creates the workdir if missing and removes it again
  if the stage failed before writing anything into it."""
  key = os.path.abspath(workdir)
  if key in _HELD:
    _HELD[key].count += 1
    try:
      yield
    finally:
      _HELD[key].count -= 1
    return
  created = not os.path.exists(key)
  path = os.path.join(key, LOCK_FILE)
  error = None
  if jax.process_index() == 0:
    os.makedirs(key, exist_ok=True)
    try:
      _acquire(workdir, path)
    except WorkdirLockedError as e:
      error = e
  if jax.process_count() > 1:
    failed = multihost_utils.broadcast_one_to_all(np.int32(error is not None))
    if error is None and int(failed):
      error = WorkdirLockedError(f"process 0 could not lock {workdir} (see its log)")
  if error is not None:
    if created and jax.process_index() == 0 and not any(os.scandir(key)):
      os.rmdir(key)
    raise error
  _HELD[key] = _Held(count=1, created_dir=created)
  try:
    yield
  finally:
    del _HELD[key]
    if jax.process_index() == 0:
      _release(path)
      if created and os.path.isdir(key) and not any(os.scandir(key)):
        os.rmdir(key)

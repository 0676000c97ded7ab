"""Small file helpers every layer uses: atomic writes (a killed run never leaves a torn file) and
JSON."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import tempfile
from typing import Any, Callable, Mapping

import numpy as np

# Temporary files of atomic writes start with this (dataset readers skip them).
TMP_PREFIX = ".tmp-"


def _fsync_dir(directory: str) -> None:
  try:
    fd = os.open(directory, os.O_RDONLY)
  except OSError:  # e.g. platforms without directory fds
    return
  try:
    os.fsync(fd)
  except OSError:
    pass
  finally:
    os.close(fd)


def _read_umask() -> int:
  mask = os.umask(0)  # the only portable way to read it; restored at once (at import time)
  os.umask(mask)
  return mask


_UMASK = _read_umask()


def atomic_write(path: str, write_fn: Callable[[Any], Any]) -> None:
  """Writes `path` atomically: `write_fn(fileobj)` into a temp file, fsync, `os.replace`."""
  directory = os.path.dirname(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=directory)
  try:
    # mkstemp creates 0600 files; give the result the permissions open() would (0666 & ~umask)
    # so datasets and reports stay readable by others as any normally written file would.
    os.chmod(tmp, 0o666 & ~_UMASK)
    with os.fdopen(fd, "wb") as f:
      write_fn(f)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise
  _fsync_dir(directory)


def atomic_write_text(path: str, text: str) -> None:
  data = text.encode()
  atomic_write(path, lambda f: f.write(data))


def atomic_write_json(path: str, value: Any, *, sort_keys: bool = True,
                      default: Callable[[Any], Any] | None = None) -> None:
  """Writes `value` as indented JSON atomically: keys sorted unless `sort_keys=False` (then in
  insertion order); `default` converts what json cannot (as in `json.dumps`)."""
  atomic_write_text(path, json.dumps(value, indent=2, sort_keys=sort_keys, default=default))


def atomic_copy(src: str, dst: str) -> None:
  """Copies the file `src` to `dst` atomically."""
  with open(src, "rb") as f:
    atomic_write(dst, lambda out: shutil.copyfileobj(f, out))


def json_safe(value: Any) -> Any:
  """NaN/inf -> None and numpy scalars/arrays -> Python, recursively, so the JSON is standard."""
  if isinstance(value, Mapping):
    return {str(k): json_safe(v) for k, v in value.items()}
  if isinstance(value, (list, tuple, np.ndarray)):
    return [json_safe(v) for v in value]
  if isinstance(value, np.generic):
    value = value.item()
  if isinstance(value, float) and not math.isfinite(value):
    return None
  return value


def git_state(directory: str | None = None) -> dict[str, Any] | None:
  """`{"commit", "modified_tracked_files"}` of the git checkout holding `directory` (default:
  this package's), or None outside one (an installed wheel, no git)."""
  directory = directory or os.path.dirname(os.path.abspath(__file__))
  try:
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True,
                            text=True, timeout=10, check=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           cwd=directory, capture_output=True, text=True, timeout=30,
                           check=True).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return None
  return {"commit": commit, "modified_tracked_files": bool(dirty)} if commit else None


def git_commit(directory: str | None = None) -> str:
  """The commit of the code that runs (see `git_state`), or "unknown"."""
  state = git_state(directory)
  return state["commit"] if state else "unknown"

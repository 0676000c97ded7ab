"""Small file helpers every layer uses: atomic writes (a killed run never leaves a torn file) and
JSON."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Callable

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


def atomic_write_json(path: str, value: Any) -> None:
  """Writes `value` as indented, key-sorted JSON atomically."""
  atomic_write_text(path, json.dumps(value, indent=2, sort_keys=True))

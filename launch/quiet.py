"""Keeps known-harmless upstream noise out of the entry points' output, and nothing else.

What is filtered, and why it is harmless here:
  - `Failed to import warp: No module named 'warp'` and the same for `mujoco_warp` (printed by
    `mujoco.mjx` at import): MuJoCo Warp is an optional GPU backend we do not use. Any other
    failure to import it (a broken install) still shows.
  - XLA:CPU's `cpu_aot_loader ... Target machine feature +prefer-no-gather (or
    +prefer-no-scatter) is not supported on the host machine` (ERROR level, one pair per cached
    executable): these are XLA tuning flags it adds when compiling and does not list among the
    host's features when loading, so every cache hit reports them even on the machine that wrote
    the cache. Our caches are kept per machine fingerprint (`devices.user_cache_dir`), and a
    mismatch of a real instruction-set feature (e.g. +avx512f) is still shown.
  - XLA's `Assume version compatibility. PjRt-IFRT does not track XLA executable versions`
    (WARNING, on every cache hit) and jax's `Unable to initialize backend 'tpu'` (INFO, on every
    CPU start).
  - orbax's INFO records (dozens per checkpoint); its warnings and errors still show.

The native (C++) lines are written straight to file descriptor 2, so `filter_native_stderr`
routes fd 2 through a small child process that drops the matching lines and passes the rest on
unchanged (partial lines, e.g. progress bars, at once). A child, not a thread: if this process
crashes, the child still drains and prints everything written before the crash.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import logging as std_logging
import os
import re
import subprocess
import sys

# Lines of native code on stderr that are known to be harmless (see the module docstring).
NATIVE_NOISE = (
    r"cpu_aot_loader\.cc:\d+\] Loading XLA:CPU AOT result\. Target machine feature "
    r"\+prefer-no-(gather|scatter) is not\s+supported",
    r"pjrt_executable\.cc:\d+\] Assume version compatibility\. PjRt-IFRT does not track XLA "
    r"executable versions",
)
IMPORT_NOISE = re.compile(r"^Failed to import (warp|mujoco_warp): No module named 'warp'$")
# Set for the process (and its children) when stderr was a terminal before it was filtered, so
# progress bars stay on (`training.metric_writers.stderr_is_terminal`).
TERMINAL_VARIABLE = "HELMS_JAX_STDERR_IS_TERMINAL"

_FILTER_PROGRAM = r"""
import os, re, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)  # keep draining after Ctrl-C until the parent ends
noise = re.compile(sys.argv[1])
log_line_start = re.compile(rb"^[IWEF]\d{4} ")  # glog: a partial line that may be noise
out = sys.stdout.fileno()
pending = b""
while True:
  chunk = os.read(0, 65536)
  if not chunk:
    break
  pending += chunk
  *lines, pending = pending.split(b"\n")
  kept = [l + b"\n" for l in lines if not noise.search(l.decode("utf-8", "replace"))]
  if pending and not log_line_start.match(pending):
    kept.append(pending)  # e.g. a progress bar's \r update: show it now
    pending = b""
  if kept:
    os.write(out, b"".join(kept))
if pending and not noise.search(pending.decode("utf-8", "replace")):
  os.write(out, pending)
"""


def import_quietly() -> None:
  """Imports `mujoco.mjx`, dropping only its optional-backend import messages."""
  buffer = io.StringIO()
  with contextlib.redirect_stdout(buffer):
    import mujoco.mjx  # pylint: disable=import-outside-toplevel,unused-import
  for line in buffer.getvalue().splitlines():
    if not IMPORT_NOISE.match(line):
      print(line)


class PythonLogFilter(std_logging.Filter):
  """Drops orbax's INFO records and jax's TPU-probe INFO line; warnings always pass."""

  def filter(self, record: std_logging.LogRecord) -> bool:
    if record.levelno >= std_logging.WARNING:
      return True
    if "/orbax/" in record.pathname:
      return False
    return not str(record.msg).startswith("Unable to initialize backend")


_installed = False


def filter_native_stderr() -> None:
  """Routes file descriptor 2 through the noise filter for the rest of this process."""
  global _installed
  if _installed or os.environ.get("HELMS_JAX_NO_LOG_FILTER"):
    return
  _installed = True
  sys.stderr.flush()
  original = os.dup(2)
  os.environ.setdefault(TERMINAL_VARIABLE, "1" if os.isatty(original) else "0")
  child = subprocess.Popen([sys.executable, "-c", _FILTER_PROGRAM, "|".join(NATIVE_NOISE)],
                           stdin=subprocess.PIPE, stdout=original, stderr=original,
                           close_fds=True)
  os.dup2(child.stdin.fileno(), 2)

  def restore():
    try:
      sys.stderr.flush()
    except (OSError, ValueError):
      pass
    os.dup2(original, 2)  # late writes go straight to the terminal / log file
    child.stdin.close()  # the filter's last writer: it sees EOF, prints the rest, exits
    try:
      child.wait(timeout=5)
    except subprocess.TimeoutExpired:
      pass

  atexit.register(restore)

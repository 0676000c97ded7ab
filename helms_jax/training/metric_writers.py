"""Metric writers: `metrics.jsonl`, TensorBoard event files and progress.

Only process 0 writes (multi-host runs call this on every process; the others no-op). On resume
the JSONL file is cut back to the restored step, so a killed-and-resumed run has exactly one
line per logged step. TensorBoard event files cannot be rewritten; TensorBoard shows the latest
value for a repeated step, which is the resumed one.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from typing import Any, Callable, Mapping

import jax
import numpy as np
from absl import logging

from helms_jax.io import atomic_write


# `progress_fn(step, metrics)`: a caller's hook at every logging point of the training loops
# (process 0 only), with the values `metrics.jsonl` records for that step (`host_values`).
ProgressFn = Callable[[int, dict[str, Any]], None]


def _python_value(value: Any) -> Any:
  """A host value as Python: the scalar of a one-element array, else a (nested) list."""
  array = np.asarray(value)
  return array.reshape(()).item() if array.size == 1 else array.tolist()


def host_values(metrics: Mapping[str, Any]) -> dict[str, Any]:
  """Host-side metrics as Python numbers, the values a `metrics.jsonl` row records: a float (or
  int) per scalar, a list for a seed population's `[S]` metrics; NaN and inf stay floats here
  (the JSONL file spells them as strings). No device transfer: pass fetched values."""
  return {name: _python_value(value) for name, value in metrics.items()}


def _to_python(value: Any) -> Any:
  scalar = _python_value(value)
  if isinstance(scalar, float) and not math.isfinite(scalar):
    return str(scalar)  # JSON has no NaN/inf; keep them visible as strings
  return scalar


def read_jsonl(path: str) -> list[dict[str, Any]]:
  """Reads a metrics.jsonl file, skipping a torn last line from a killed writer."""
  rows = []
  if not os.path.exists(path):
    return rows
  with open(path) as f:
    for line in f:
      line = line.strip()
      if not line:
        continue
      try:
        rows.append(json.loads(line))
      except json.JSONDecodeError:
        continue  # a line cut by a kill mid-write
  return rows


def truncate_jsonl(path: str, max_step: int, key: str = "step") -> None:
  """Atomically keeps only rows with `row[key] <= max_step` (and drops torn lines)."""
  if not os.path.exists(path):
    return
  rows = [r for r in read_jsonl(path) if r.get(key, -1) <= max_step]
  text = "".join(json.dumps(row) + "\n" for row in rows).encode()
  atomic_write(path, lambda f: f.write(text))


def stderr_is_terminal() -> bool:
  """Whether progress goes to a terminal (bars) or a log (lines). The entry points route stderr
  through a filter (`launch/quiet.py`) and record here whether it was a terminal before."""
  recorded = os.environ.get("HELMS_JAX_STDERR_IS_TERMINAL")
  return recorded == "1" if recorded in ("0", "1") else sys.stderr.isatty()


class Progress:
  """A tqdm bar on interactive terminals, periodic log lines (rate and ETA) otherwise."""

  def __init__(self, total: int, initial: int = 0, desc: str = "train",
                 interactive: bool | None = None, log_every_secs: float = 30.0):
    self.total, self.step, self.desc = total, initial, desc
    self._interactive = stderr_is_terminal() if interactive is None else interactive
    self._start_time, self._start_step = time.time(), initial
    self._last_log = 0.0
    self._log_every_secs = log_every_secs
    self._bar = None
    self._active = jax.process_index() == 0  # one progress report per run, not per process
    if self._interactive and self._active:
      import tqdm  # pylint: disable=g-import-not-at-top  (only for terminals)
      self._bar = tqdm.tqdm(total=total, initial=initial, desc=desc, dynamic_ncols=True)

  def update(self, step: int, postfix: Mapping[str, Any] | None = None) -> None:
    if self._bar is not None:
      self._bar.update(step - self.step)
      if postfix:
        self._bar.set_postfix({k: f"{_to_python(v):.4g}" for k, v in postfix.items()
                               if isinstance(_to_python(v), (int, float))}, refresh=False)
    self.step = step
    now = time.time()
    if self._bar is None and self._active and (now - self._last_log >= self._log_every_secs or step >= self.total):
      self._last_log = now
      logging.info("%s", self.line())

  def line(self) -> str:
    elapsed = time.time() - self._start_time
    rate = (self.step - self._start_step) / max(elapsed, 1e-9)
    eta = (self.total - self.step) / rate if rate > 0 else float("inf")
    eta_text = f"{eta:.0f}s" if math.isfinite(eta) else "?"
    return f"{self.desc}: step {self.step}/{self.total} ({rate:.1f} steps/s, ETA {eta_text})"

  def close(self) -> None:
    if self._bar is not None:
      self._bar.close()


class MetricWriter:
  """Writes scalar metrics to `<workdir>/metrics.jsonl` and TensorBoard (`<workdir>/tensorboard`).

  Args:
    workdir: the run directory.
    resume_step: if given, rows after this step (from a killed run) are dropped first.
    tensorboard: also write TensorBoard event files.
  """

  def __init__(self, workdir: str, resume_step: int | None = None, tensorboard: bool = True,
               filename: str = "metrics.jsonl"):
    self.active = jax.process_index() == 0
    self.path = os.path.join(workdir, filename)
    self._tb = None
    if not self.active:
      return
    os.makedirs(workdir, exist_ok=True)
    if resume_step is not None:
      truncate_jsonl(self.path, resume_step)
    elif os.path.exists(self.path):
      truncate_jsonl(self.path, -1)  # a fresh run in a dir with stale metrics starts clean
    self._file = open(self.path, "a")
    if tensorboard:
      import tensorboardX  # pylint: disable=g-import-not-at-top  (protobuf; only when asked for)
      self._tb = tensorboardX.SummaryWriter(os.path.join(workdir, "tensorboard"))

  def write(self, step: int, metrics: Mapping[str, Any]) -> None:
    if not self.active:
      return
    row = {"step": int(step), "time": time.time()}
    row.update({k: _to_python(v) for k, v in metrics.items()})
    self._file.write(json.dumps(row) + "\n")
    self._file.flush()
    if self._tb is not None:
      for key, value in row.items():
        if key not in ("step", "time") and isinstance(value, (int, float)):
          self._tb.add_scalar(key, value, global_step=int(step))

  def close(self) -> None:
    if not self.active:
      return
    self._file.close()
    if self._tb is not None:
      self._tb.flush()
      self._tb.close()

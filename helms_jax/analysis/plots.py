"""Figures shared by the analyses and reports: atomic PNG writing and learning curves over seeds.

`save_figure` is how every analysis writes a figure (atomically: a killed run never leaves a torn
PNG). Everything here is numpy + matplotlib (Agg) on host arrays.
"""

from __future__ import annotations

import os
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # headless: analyses and reports are written on servers
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

from helms_jax.analysis.run_curves import RunCurves, run_names
from helms_jax.analysis.statistics import seed_statistics, smooth
from helms_jax.io import atomic_write


def save_figure(fig: plt.Figure, path: str, dpi: float | None = None) -> str:
  """Writes `fig` as PNG to `path` atomically (its directory created if missing), closes it and
  returns the base name. `dpi`: savefig's dpi (None: matplotlib's savefig.dpi, by default the
  figure's own)."""
  try:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi))
  finally:
    plt.close(fig)
  return os.path.basename(path)


def plot_learning_curves(runs: Sequence[RunCurves], metric: str, out_path: str,
                         title: str | None = None, smoothing: int = 1,
                         names: Sequence[str] | None = None) -> str:
  """Mean ± std over seeds of `metric` against env steps per seed, one line per run (std shaded),
  written as a PNG to `out_path` (atomically); returns `out_path`.

  Each seed's curve is first smoothed with a trailing mean over `smoothing` points; points where
  no seed has a value are left out. Raises ValueError if no run has the metric.
  """
  if not any(metric in r.metrics for r in runs):
    raise ValueError(f"no run has metric {metric!r} (runs: "
                     f"{', '.join(r.run_dir for r in runs)})")
  names = run_names(runs) if names is None else names
  fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
  for i, (name, run) in enumerate(zip(names, runs)):
    if metric not in run.metrics:
      continue
    mean, std, count = seed_statistics(smooth(run.metrics[metric], smoothing))
    keep = count > 0
    x, mean, std = run.env_steps[keep], mean[keep], std[keep]
    color = f"C{i % 10}"
    ax.plot(x, mean, color=color, lw=1.5, label=f"{name} ({run.num_seeds} seeds)")
    ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2, lw=0)
  ax.set_xlabel("env steps per seed")
  ax.set_ylabel(metric + (f" (trailing mean of {smoothing})" if smoothing > 1 else ""))
  ax.set_title(title if title is not None else f"{metric}: mean ± std over seeds")
  ax.grid(alpha=0.3)
  ax.legend(fontsize=8)
  fig.tight_layout()
  save_figure(fig, out_path)
  return out_path

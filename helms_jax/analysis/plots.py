"""Figures shared by the analyses and reports: atomic PNG writing, learning curves over seeds
(one axes, `plot_learning_curves`, or a paper-style row of panels, `plot_curve_panels`).

`save_figure` is how every analysis writes a figure (atomically: a killed run never leaves a torn
PNG). Curves against steps have integer step ticks (`step_axis`, written compactly: 20k, 1.5M),
std bands that stay inside a bounded metric's range (`band`: success and probabilities in
[0, 1], `metric_info.bounds`) and say which way is better in their title where the metric's name
tells (`metric_info.direction`). Everything here is numpy + matplotlib (Agg) on host arrays.
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: analyses and reports are written on servers
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

import numpy as np
from matplotlib import ticker

from helms_jax.analysis import metric_info
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


def band(mean: np.ndarray, std: np.ndarray, metric: str) -> tuple[np.ndarray, np.ndarray]:
  """(mean - std, mean + std), clipped to the metric's bounds when it has some (a success rate
  or probability band never leaves [0, 1]). mean, std: [P]."""
  low, high = np.asarray(mean) - np.asarray(std), np.asarray(mean) + np.asarray(std)
  limits = metric_info.bounds(metric)
  if limits is not None:
    low, high = np.clip(low, *limits), np.clip(high, *limits)
  return low, high


def bounded_axis(ax: plt.Axes, metric: str) -> None:
  """A bounded learning-signal metric's y axis spans its bounds (success from 0 to 1, with a
  small margin); a bounded diagnostic (a probability mass) keeps the axis fitted to its values,
  whose small changes are the point of the plot."""
  limits = metric_info.bounds(metric)
  if limits is not None and metric_info.group(metric) == metric_info.LEARNING:
    margin = 0.04 * (limits[1] - limits[0])
    ax.set_ylim(limits[0] - margin, limits[1] + margin)


def _compact(value: float, _=None) -> str:
  """A step count as a tick label: 0, 500, 5,000, 20k, 1.5M."""
  if abs(value) < 10_000:
    return f"{round(value) or 0:,.0f}"  # `or 0`: no "-0"
  size, suffix = next((s, x) for s, x in ((1e9, "G"), (1e6, "M"), (1e3, "k")) if abs(value) >= s)
  return f"{value / size:.4g}{suffix}"


def step_axis(ax: plt.Axes, label: str) -> None:
  """An x axis of step counts: integer ticks written compactly (20k, 1M), labelled `label`."""
  ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True, nbins=6))
  ax.xaxis.set_major_formatter(ticker.FuncFormatter(_compact))
  ax.set_xlabel(label)


def metric_title(metric: str, detail: str = "") -> str:
  """A curve's title: the metric, `detail`, and which way is better when known."""
  note = metric_info.direction_note(metric)
  return metric + (f": {detail}" if detail else "") + (f" ({note})" if note else "")


def _draw_curves(ax: plt.Axes, runs: Sequence[RunCurves], names: Sequence[str],
                 colors: Sequence[str], metric: str, smoothing: int) -> None:
  """Mean ± std over seeds of `metric` per run on `ax` (std shaded, clipped to a bounded
  metric's range, points without a value left out). With nothing drawn the axes say so rather
  than stay empty."""
  plotted = 0
  for name, color, run in zip(names, colors, runs):
    if metric not in run.metrics:
      continue
    mean, std, count = seed_statistics(smooth(run.metrics[metric], smoothing))
    keep = count > 0
    x, mean, std = run.env_steps[keep], mean[keep], std[keep]
    plotted += len(x)
    ax.plot(x, mean, color=color, lw=1.5, marker="o" if len(x) == 1 else None, ms=3,
            label=f"{name} ({run.num_seeds} seeds)")
    ax.fill_between(x, *band(mean, std, metric), color=color, alpha=0.2, lw=0)
  units = {r.step_unit for r in runs if metric in r.metrics}
  step_axis(ax, "env steps per seed" if units == {"env steps"} else " / ".join(sorted(units)))
  bounded_axis(ax, metric)
  if not plotted:  # e.g. no episode finished yet
    ax.text(0.5, 0.5, "no values logged yet", transform=ax.transAxes, ha="center",
            va="center", color="gray")
    ax.set_xticks([])
    ax.set_yticks([])
  ax.grid(alpha=0.3)


def _curve_ylabel(metric: str, smoothing: int) -> str:
  return (metric_info.axis_label(metric)
          + (f" (trailing mean of {smoothing})" if smoothing > 1 else ""))


def plot_learning_curves(runs: Sequence[RunCurves], metric: str, out_path: str,
                         title: str | None = None, smoothing: int = 1,
                         names: Sequence[str] | None = None) -> str:
  """Mean ± std over seeds of `metric` against env steps per seed, one line per run (std shaded),
  written as a PNG to `out_path` (atomically); returns `out_path`.

  The std band of a bounded metric (success, probabilities) is clipped to its bounds. Each
  seed's curve is first smoothed with a trailing mean over `smoothing` points; points where
  no seed has a value are left out. Raises ValueError if no run has the metric.
  """
  if not any(metric in r.metrics for r in runs):
    raise ValueError(f"no run has metric {metric!r} (runs: "
                     f"{', '.join(r.run_dir for r in runs)})")
  names = run_names(runs) if names is None else names
  fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
  _draw_curves(ax, runs, names, [f"C{i % 10}" for i in range(len(runs))], metric, smoothing)
  ax.set_ylabel(_curve_ylabel(metric, smoothing))
  ax.set_title(title if title is not None else metric_title(metric, "mean ± std over seeds"),
               fontsize=10)
  ax.legend(fontsize=8)
  fig.tight_layout()
  save_figure(fig, out_path)
  return out_path


def plot_curve_panels(panels: Mapping[str, Mapping[str, RunCurves]], metric: str,
                      out_path: str, title: str | None = None, smoothing: int = 1) -> str:
  """A paper-style figure: one panel per entry of `panels` (e.g. per reward or object set),
  each {method name: run} drawn as in `plot_learning_curves`, a method keeping its colour in
  every panel and one legend for all; panels with different step ranges keep their own x
  axis. Written as a PNG to `out_path` (atomically); returns `out_path`. Raises ValueError
  when there is no panel or no run has the metric.
  """
  runs = [run for methods in panels.values() for run in methods.values()]
  if not panels or not any(metric in r.metrics for r in runs):
    raise ValueError(f"no run in panels {list(panels)} has metric {metric!r}")
  methods = list(dict.fromkeys(m for methods in panels.values() for m in methods))
  color = {m: f"C{i % 10}" for i, m in enumerate(methods)}
  fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), dpi=100,
                           squeeze=False)
  for ax, (panel, by_method) in zip(axes[0], panels.items()):
    names = list(by_method)
    _draw_curves(ax, list(by_method.values()), names, [color[m] for m in names], metric,
                 smoothing)
    ax.set_title(panel, fontsize=10)
  axes[0][0].set_ylabel(_curve_ylabel(metric, smoothing))
  handles = [plt.Line2D([], [], color=color[m], lw=1.5) for m in methods]
  fig.legend(handles, methods, loc="lower center", ncol=min(len(methods), 6), fontsize=8,
             frameon=False)
  fig.suptitle(title if title is not None else metric_title(metric, "mean ± std over seeds"),
               fontsize=10)
  fig.tight_layout(rect=(0, 0.08, 1, 1))
  save_figure(fig, out_path)
  return out_path

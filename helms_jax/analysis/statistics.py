"""Statistics of learning curves over seeds (numpy on host arrays).

Statistics over seeds ignore NaN (a seed without a value at a point):
  curve:  per point, mean ± population std (ddof=0, a band drawn at every point, also with one
    seed) over the seeds that have a value (`seed_statistics`), optionally after a trailing mean
    over points per seed (`smooth`);
  final performance: per seed, the mean of its values over the last ceil(last_fraction * P)
    points (`final_window_size`); then mean ± sample std (ddof=1, NaN with one seed: the number a
    results table reports) of those per-seed numbers over seeds (`final_performance_table`, one
    row per transfer run).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np

from helms_jax.analysis.run_curves import RunCurves, run_names


def smooth(values: np.ndarray, window: int) -> np.ndarray:
  """Trailing mean over the last `window` points along axis 0, ignoring NaN.

  values: [P, ...]; returns [P, ...] where out[p] = nanmean(values[max(0, p - window + 1):p + 1])
  (NaN if all of those are NaN). window <= 1 returns a copy.
  """
  values = np.asarray(values, np.float64)
  if window <= 1 or values.shape[0] == 0:
    return values.copy()
  finite = np.isfinite(values)
  zero = np.zeros((1,) + values.shape[1:])
  sums = np.concatenate([zero, np.cumsum(np.where(finite, values, 0.0), axis=0)])
  counts = np.concatenate([zero, np.cumsum(finite, axis=0)])
  hi = np.arange(1, values.shape[0] + 1)
  lo = np.maximum(hi - window, 0)
  total, count = sums[hi] - sums[lo], counts[hi] - counts[lo]
  with np.errstate(invalid="ignore", divide="ignore"):
    return np.where(count > 0, total / count, np.nan)


def seed_statistics(values: np.ndarray, ddof: int = 0
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """values [P, S] -> (mean [P], std [P], count [P]) over the seeds with a value (NaN ignored;
  std with `ddof`; mean and std NaN where no seed has a value, std NaN where count <= ddof)."""
  values = np.asarray(values, np.float64)
  count = np.sum(np.isfinite(values), axis=-1)
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are expected early on
    std = np.where(count > ddof, np.nanstd(values, axis=-1, ddof=ddof), np.nan)
    return np.nanmean(values, axis=-1), std, count


def final_window_size(num_points: int, last_fraction: float) -> int:
  """How many of the last logged points a final-performance mean covers: ceil(last_fraction *
  num_points), at least 1 (the points a table's "final" value averages)."""
  if not 0.0 < last_fraction <= 1.0:
    raise ValueError(f"last_fraction must be in (0, 1], got {last_fraction}")
  # The epsilon keeps e.g. 0.1 * 30 = 3.0000000000000004 at 3 points.
  return min(num_points, max(1, math.ceil(last_fraction * num_points - 1e-9)))


def final_performance_table(runs: Sequence[RunCurves], metric: str, last_fraction: float = 0.1,
                            names: Sequence[str] | None = None) -> list[dict[str, Any]]:
  """One row per run that has `metric`: mean and std over seeds of each seed's average over the
  last ceil(last_fraction * P) logged points that hold a value (points where no seed has one,
  e.g. a logging interval in which no episode ended, do not count; NaN ignored; sample std,
  ddof=1, NaN with fewer than two seeds with data).

  Row: name, label, run_dir, seeds, env_steps (last logged, per seed), env_steps_per_seed (the
  target), num_points (averaged), from_env_steps (first averaged point), per_seed [S] (NaN for a
  seed without values there), seeds_with_data, mean, std.
  """
  names = run_names(runs) if names is None else names
  rows = []
  for name, run in zip(names, runs):
    if metric not in run.metrics:
      continue
    values = run.metrics[metric]
    with_data = np.flatnonzero(np.any(np.isfinite(values), axis=1)) if run.num_points else []
    k = final_window_size(len(with_data), last_fraction) if len(with_data) else 0
    chosen = with_data[len(with_data) - k:] if k else []
    with warnings.catch_warnings():
      warnings.simplefilter("ignore", RuntimeWarning)
      per_seed = (np.nanmean(values[chosen], axis=0) if k else np.full(run.num_seeds, np.nan))
    mean, std, count = seed_statistics(per_seed[None], ddof=1)
    rows.append({
        "name": name, "label": run.label, "run_dir": run.run_dir, "seeds": run.seeds,
        "env_steps": int(run.env_steps[-1]) if run.num_points else 0,
        "env_steps_per_seed": run.info.get("env_steps_per_seed"),
        "num_points": k, "from_env_steps": int(run.env_steps[chosen[0]]) if k else None,
        "per_seed": [float(v) for v in per_seed], "seeds_with_data": int(count[0]),
        "mean": float(mean[0]), "std": float(std[0])})
  return rows

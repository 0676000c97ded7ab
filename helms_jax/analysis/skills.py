"""Skill analyses for HeLMS: usage statistics, clustering purity and figures.

Everything here is numpy + matplotlib (Agg) on host arrays: producers (the HeLMS analysis stage,
notebooks) compute posteriors / rollouts with JAX, `np.asarray` them and call these functions.

Skills are K discrete latents with a learned K x K transition prior p(y_t | y_{t-1}); row i of a
transition matrix is the previous skill, column j the next one.

Every plot function writes its PNG atomically (`plots.save_figure`), closes its figure and
returns the file's base name, ready for `analysis_index.write_analysis_index` (the analysis
directory's format is described there).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: analyses run on servers
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
from matplotlib.lines import Line2D  # pylint: disable=g-import-not-at-top
import numpy as np

from helms_jax.analysis.plots import save_figure

# ----------------------------------------------------------------------------------------------
# Validation helpers.


def _shape_error(name: str, expected: str, actual: Sequence[int]) -> ValueError:
  return ValueError(f"{name}: expected shape {expected}, got {list(actual)}")


def _check_ndim(name: str, array: np.ndarray, expected: str) -> None:
  ndim = expected.count(",") + 1
  if array.ndim != ndim:
    raise _shape_error(name, expected, array.shape)


# ----------------------------------------------------------------------------------------------
# Statistics.


def _entropy(p: np.ndarray) -> float:
  """Entropy in nats of a probability vector (0 log 0 = 0)."""
  p = p[p > 0]
  return float(-np.sum(p * np.log(p)))


def skill_statistics(filtered: np.ndarray, valid: np.ndarray) -> dict[str, Any]:
  """Summary statistics of skill posteriors over a dataset.

  Args:
    filtered: [N, T, K] posterior (e.g. filtered) probabilities of the K skills at each step of N
      sequences of length T; rows at valid steps must be non-negative and finite.
    valid: [N, T] bool or 0/1, which steps are real (padding and post-episode steps are not).

  Returns:
    A JSON-serialisable dict:
      num_skills: K.
      num_valid_steps: number of valid steps.
      usage: [K] mean posterior mass per skill over valid steps (sums to 1).
      usage_entropy: entropy of `usage` in nats.
      usage_entropy_normalised: `usage_entropy / log K` in [0, 1] (0 when K == 1).
      argmax_usage: [K] fraction of valid steps whose most probable skill is k.
      mean_segment_length: mean length (in steps) of the maximal runs of constant argmax skill;
        runs never cross an invalid step or a sequence boundary.
      switch_rate: fraction of pairs of consecutive valid steps (t-1, t) whose argmax differs
        (0.0 when there is no such pair).

  Raises:
    ValueError: on wrong shapes, no valid step, or negative / non-finite probabilities.
  """
  filtered = np.asarray(filtered, dtype=np.float64)
  valid = np.asarray(valid)
  _check_ndim("filtered", filtered, "[N, T, K]")
  if valid.shape != filtered.shape[:2]:
    raise _shape_error("valid", f"[N, T] = {list(filtered.shape[:2])}", valid.shape)
  num_skills = filtered.shape[2]
  if num_skills < 1:
    raise _shape_error("filtered", "[N, T, K] with K >= 1", filtered.shape)
  valid = valid.astype(bool)
  num_valid = int(valid.sum())
  if num_valid == 0:
    raise ValueError("valid: no valid step, statistics are undefined")
  probs = filtered[valid]  # [num_valid, K]
  if not np.all(np.isfinite(probs)) or np.any(probs < 0):
    raise ValueError("filtered: probabilities at valid steps must be finite and non-negative")

  usage = probs.mean(axis=0)
  total = usage.sum()
  if total <= 0:
    raise ValueError("filtered: posterior mass at valid steps sums to 0")
  usage = usage / total  # exact normalisation against float drift in the posteriors
  entropy = _entropy(usage)
  normalised = entropy / math.log(num_skills) if num_skills > 1 else 0.0

  argmax = filtered.argmax(axis=-1)  # [N, T]
  argmax_usage = np.bincount(argmax[valid], minlength=num_skills) / num_valid

  # A run starts at every valid step whose predecessor is absent, invalid or a different skill;
  # the mean run length is then (valid steps) / (runs).
  same_as_prev = valid[:, 1:] & valid[:, :-1] & (argmax[:, 1:] == argmax[:, :-1])  # [N, T-1]
  continues = np.concatenate([np.zeros_like(valid[:, :1]), same_as_prev], axis=1)  # [N, T]
  num_runs = int((valid & ~continues).sum())
  pairs = valid[:, 1:] & valid[:, :-1]
  num_pairs = int(pairs.sum())
  num_switches = int((pairs & (argmax[:, 1:] != argmax[:, :-1])).sum())

  return {
      "num_skills": int(num_skills),
      "num_valid_steps": num_valid,
      "usage": usage.tolist(),
      "usage_entropy": entropy,
      "usage_entropy_normalised": float(normalised),
      "argmax_usage": argmax_usage.tolist(),
      "mean_segment_length": num_valid / num_runs,
      "switch_rate": num_switches / num_pairs if num_pairs else 0.0,
  }


def _check_labels(name: str, labels: np.ndarray) -> np.ndarray:
  labels = np.asarray(labels)
  if labels.ndim != 1:
    raise _shape_error(name, "[M]", labels.shape)
  if labels.size and not np.issubdtype(labels.dtype, np.integer):
    raise ValueError(f"{name}: expected integer labels, got dtype {labels.dtype}")
  if labels.size and labels.min() < 0:
    raise ValueError(f"{name}: labels must be non-negative, got {labels.min()}")
  return labels.astype(np.int64)


def contingency(assigned: np.ndarray, truth: np.ndarray, num_assigned: int,
                num_true: int) -> np.ndarray:
  """Counts of (assigned cluster, true class) pairs.

  Args:
    assigned: [M] int in [0, num_assigned), e.g. the argmax skill of each step or segment.
    truth: [M] int in [0, num_true), e.g. the scripted expert's phase.
    num_assigned: number of clusters (rows).
    num_true: number of true classes (columns).

  Returns:
    [num_assigned, num_true] int64 counts; entry (a, c) = #{m : assigned[m] = a, truth[m] = c}.
  """
  assigned = _check_labels("assigned", assigned)
  truth = _check_labels("truth", truth)
  if truth.shape != assigned.shape:
    raise _shape_error("truth", f"[M] = {list(assigned.shape)} like assigned", truth.shape)
  if assigned.size and assigned.max() >= num_assigned:
    raise ValueError(f"assigned: label {assigned.max()} is out of range [0, {num_assigned})")
  if truth.size and truth.max() >= num_true:
    raise ValueError(f"truth: label {truth.max()} is out of range [0, {num_true})")
  flat = np.bincount(assigned * num_true + truth, minlength=num_assigned * num_true)
  return flat.reshape(num_assigned, num_true).astype(np.int64)


def clustering_purity(assigned: np.ndarray, truth: np.ndarray) -> float:
  """Purity of a clustering: (1/M) sum over clusters of its largest true-class count.

  1.0 when every cluster holds a single true class (any relabelling of the clusters, and any
  split of a class over several clusters, is still pure); 1/C for C equally sized classes spread
  uniformly over clusters.

  Args:
    assigned: [M] non-negative int cluster ids.
    truth: [M] non-negative int true class ids.
  """
  assigned = _check_labels("assigned", assigned)
  truth = _check_labels("truth", truth)
  if truth.shape != assigned.shape:
    raise _shape_error("truth", f"[M] = {list(assigned.shape)} like assigned", truth.shape)
  if assigned.size == 0:
    raise ValueError("assigned: purity of an empty labelling is undefined (M = 0)")
  counts = contingency(assigned, truth, int(assigned.max()) + 1, int(truth.max()) + 1)
  return float(counts.max(axis=1).sum() / assigned.size)


# ----------------------------------------------------------------------------------------------
# Figures.


def plot_transition_matrix(
    matrix: np.ndarray, path: str,
    title: str = "Learned skill transition prior p(y_t | y_{t-1})") -> str:
  """Heatmap of a skill transition matrix.

  Args:
    matrix: [K, K], row i = previous skill, column j = next skill (rows sum to 1).
    path: PNG file to write.
    title: figure title.

  Returns:
    The written file's base name.
  """
  matrix = np.asarray(matrix, dtype=np.float64)
  if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
    raise _shape_error("matrix", "[K, K]", matrix.shape)
  k = matrix.shape[0]
  size = min(2.0 + 0.55 * k, 14.0)
  fig, ax = plt.subplots(figsize=(size + 1.2, size), dpi=100)
  image = ax.imshow(matrix, cmap="viridis", vmin=0.0, vmax=max(1.0, float(np.nanmax(matrix))))
  fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="probability")
  if k <= 12:
    for i in range(k):
      for j in range(k):
        value = matrix[i, j]
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                color="black" if value > 0.6 else "white")
  ticks = np.arange(k) if k <= 20 else np.arange(0, k, max(1, k // 10))
  ax.set_xticks(ticks)
  ax.set_yticks(ticks)
  ax.set_xlabel("next skill")
  ax.set_ylabel("previous skill")
  ax.set_title(title, fontsize=10)
  fig.tight_layout()
  return save_figure(fig, path)


def plot_skill_usage(usage: np.ndarray, path: str,
                     title: str = "Skill usage on the dataset") -> str:
  """Bar chart of per-skill usage with the uniform level 1/K dashed.

  Args:
    usage: [K] usage fractions (e.g. `skill_statistics(...)["usage"]`).
    path: PNG file to write.
    title: figure title.

  Returns:
    The written file's base name.
  """
  usage = np.asarray(usage, dtype=np.float64)
  if usage.ndim != 1 or usage.size == 0:
    raise _shape_error("usage", "[K] with K >= 1", usage.shape)
  k = usage.size
  fig, ax = plt.subplots(figsize=(min(3.0 + 0.35 * k, 14.0), 3.0), dpi=100)
  ax.bar(np.arange(k), usage, color="tab:blue")
  ax.axhline(1.0 / k, color="gray", ls="--", lw=1.0, label=f"uniform 1/K = {1.0 / k:.3g}")
  ax.set_xticks(np.arange(k) if k <= 20 else np.arange(0, k, max(1, k // 10)))
  ax.set_xlabel("skill")
  ax.set_ylabel("usage")
  ax.set_title(title, fontsize=10)
  ax.legend(fontsize=8)
  ax.grid(axis="y", alpha=0.3)
  fig.tight_layout()
  return save_figure(fig, path)


def _masked(points: np.ndarray, valid: np.ndarray) -> np.ndarray:
  """points [..., T, 3], valid [..., T] -> copy with invalid steps NaN (lines break there)."""
  out = np.array(points, dtype=np.float64)
  out[~valid] = np.nan
  return out


def _limits(values: np.ndarray) -> tuple[float, float] | None:
  values = values[np.isfinite(values)]
  if values.size == 0:
    return None
  low, high = float(values.min()), float(values.max())
  margin = max(0.05 * (high - low), 1e-3)
  return low - margin, high + margin


def _plot_path(ax: plt.Axes, xs: np.ndarray, ys: np.ndarray, valid: np.ndarray, color: str,
               lw: float, alpha: float) -> None:
  """One path [T] (NaN at invalid steps) with a circle at its first and a cross at its last step."""
  steps = np.flatnonzero(valid)
  if steps.size == 0:
    return
  ax.plot(xs, ys, color=color, lw=lw, alpha=alpha)
  ax.plot(xs[steps[0]], ys[steps[0]], "o", color=color, ms=3.5, alpha=min(1.0, alpha + 0.3),
          mfc="none")
  ax.plot(xs[steps[-1]], ys[steps[-1]], "x", color=color, ms=4.0, alpha=min(1.0, alpha + 0.3))


def plot_skill_trajectories(grip_pos: np.ndarray, object_pos: np.ndarray | None,
                            valid: np.ndarray, path: str,
                            object_colors: Sequence[str] = ("red", "green", "blue"),
                            object_names: Sequence[str] | None = None,
                            max_columns: int = 4) -> str:
  """Gripper and object paths while each skill is executed, one column per skill.

  Each skill has a top view (x-y) above a side view (x-z); skills are laid out at most
  `max_columns` per row of views (more skills wrap onto further rows, balanced, so the figure
  stays about a page wide).
  Axis limits are shared by all skills so they are comparable. Each path starts at a circle and
  ends at a cross; only valid steps are drawn (a path with gaps is drawn in pieces). A legend
  names the gripper's and each object's colour and the start/end markers.

  Args:
    grip_pos: [K, N, T, 3] gripper positions of N rollouts of T steps per skill.
    object_pos: [K, N, T, O, 3] object positions, or None for gripper-only plots.
    valid: [K, N, T] bool or 0/1, which steps to draw.
    path: PNG file to write.
    object_colors: at least O colours; object o is drawn in `object_colors[o]`.
    object_names: the legend's name of each object; None: "<colour> object".
    max_columns: skills per row of views (>= 1).

  Returns:
    The written file's base name.
  """
  grip_pos = np.asarray(grip_pos, dtype=np.float64)
  if grip_pos.ndim != 4 or grip_pos.shape[-1] != 3:
    raise _shape_error("grip_pos", "[K, N, T, 3]", grip_pos.shape)
  k, n, t, _ = grip_pos.shape
  valid = np.asarray(valid)
  if valid.shape != (k, n, t):
    raise _shape_error("valid", f"[K, N, T] = {[k, n, t]}", valid.shape)
  valid = valid.astype(bool)
  if object_pos is not None:
    object_pos = np.asarray(object_pos, dtype=np.float64)
    if object_pos.ndim != 5 or object_pos.shape[:3] != (k, n, t) or object_pos.shape[-1] != 3:
      raise _shape_error("object_pos", f"[K, N, T, O, 3] with [K, N, T] = {[k, n, t]}",
                         object_pos.shape)
    if object_pos.shape[3] > len(object_colors):
      raise ValueError(f"object_colors: {len(object_colors)} colours for "
                       f"{object_pos.shape[3]} objects")
  if k == 0:
    raise _shape_error("grip_pos", "[K, N, T, 3] with K >= 1", grip_pos.shape)
  if max_columns < 1:
    raise ValueError(f"max_columns must be >= 1, got {max_columns}")
  num_objects = 0 if object_pos is None else object_pos.shape[3]
  names = (list(object_names) if object_names is not None
           else [f"{c} object" for c in object_colors])
  if len(names) < num_objects:
    raise ValueError(f"object_names: {len(names)} names for {num_objects} objects")

  grip = _masked(grip_pos, valid)  # [K, N, T, 3]
  objects = None
  if object_pos is not None:
    objects = np.moveaxis(object_pos, 3, 2).copy()  # [K, N, O, T, 3]
    objects[~np.broadcast_to(valid[:, :, None, :], objects.shape[:4])] = np.nan
  everything = grip.reshape(-1, 3)
  if objects is not None:
    everything = np.concatenate([everything, objects.reshape(-1, 3)], axis=0)
  limits = [_limits(everything[:, axis]) for axis in range(3)]

  blocks = -(-k // max_columns)  # rows of skills, each a top-view row over a side-view row
  columns = -(-k // blocks)  # balanced: 5 skills in 4 columns are 3 + 2, not 4 + 1
  fig, axes = plt.subplots(2 * blocks, columns, figsize=(2.8 * columns + 0.4, 5.6 * blocks + 0.5),
                           dpi=100, squeeze=False)
  for skill in range(k):
    block, column = divmod(skill, columns)
    top, side = axes[2 * block, column], axes[2 * block + 1, column]
    for rollout in range(n):
      mask = valid[skill, rollout]
      g = grip[skill, rollout]
      _plot_path(top, g[:, 0], g[:, 1], mask, "black", 0.7, 0.45)
      _plot_path(side, g[:, 0], g[:, 2], mask, "black", 0.7, 0.45)
      if objects is not None:
        for index, color in zip(range(objects.shape[2]), object_colors):
          o = objects[skill, rollout, index]
          _plot_path(top, o[:, 0], o[:, 1], mask, color, 1.0, 0.6)
          _plot_path(side, o[:, 0], o[:, 2], mask, color, 1.0, 0.6)
    top.set_title(f"skill {skill}")
    for ax, (first, second), axis_names in ((top, (0, 1), ("x", "y")),
                                            (side, (0, 2), ("x", "z"))):
      if limits[first] is not None:
        ax.set_xlim(*limits[first])
      if limits[second] is not None:
        ax.set_ylim(*limits[second])
      ax.set_xlabel(axis_names[0])
      if column == 0:
        ax.set_ylabel(f"{axis_names[1]}  ({'top' if ax is top else 'side'} view)")
      ax.grid(alpha=0.3)
      ax.tick_params(labelsize=7)
  for skill in range(k, blocks * columns):  # the last row's unused places
    block, column = divmod(skill, columns)
    axes[2 * block, column].axis("off")
    axes[2 * block + 1, column].axis("off")
  handles = [Line2D([], [], color="black", lw=1.0, label="gripper")]
  handles += [Line2D([], [], color=color, lw=1.5, label=name)
              for color, name in zip(object_colors[:num_objects], names)]
  handles += [Line2D([], [], color="gray", ls="", marker="o", mfc="none", label="start"),
              Line2D([], [], color="gray", ls="", marker="x", label="end")]
  fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
  fig.tight_layout(rect=(0, 0.5 / (5.6 * blocks + 0.5), 1, 1))
  return save_figure(fig, path)


def plot_image_strips(images: np.ndarray, path: str,
                      frame_labels: Sequence[str] | None = None) -> str:
  """A K x F grid of frames: row k shows F frames of a rollout of skill k.

  Args:
    images: [K, F, H, W, C] uint8 with C in {3, 4}; channels 0..2 are shown as RGB (a fourth
      channel, e.g. depth, is ignored).
    path: PNG file to write.
    frame_labels: F column titles (e.g. "t = 0"), or None.

  Returns:
    The written file's base name.
  """
  images = np.asarray(images)
  if images.ndim != 5 or images.shape[-1] not in (3, 4):
    raise _shape_error("images", "[K, F, H, W, C] with C in {3, 4}", images.shape)
  if images.dtype != np.uint8:
    raise ValueError(f"images: expected dtype uint8, got {images.dtype}")
  k, f, h, w, _ = images.shape
  if k == 0 or f == 0:
    raise _shape_error("images", "[K, F, H, W, C] with K, F >= 1", images.shape)
  if frame_labels is not None and len(frame_labels) != f:
    raise _shape_error("frame_labels", f"[F] = [{f}]", (len(frame_labels),))
  cell = 1.6
  fig, axes = plt.subplots(k, f, figsize=(cell * f * max(w / h, 0.25) + 0.6, cell * k + 0.3),
                           dpi=100, squeeze=False)
  for row in range(k):
    for col in range(f):
      ax = axes[row, col]
      ax.imshow(images[row, col, :, :, :3], interpolation="nearest")
      ax.set_xticks([])
      ax.set_yticks([])
      if col == 0:
        ax.set_ylabel(f"skill {row}")
      if row == 0 and frame_labels is not None:
        ax.set_title(str(frame_labels[col]), fontsize=8)
  fig.tight_layout()
  return save_figure(fig, path)

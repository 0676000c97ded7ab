"""Learning curves over seeds, final performance, and reports comparing several transfer runs.

What a transfer run writes (`training.online_loop.train_online`, `pipeline.transfer`):
  <workdir>/transfer/curves.jsonl  one JSON object per logging point, appended as training runs:
      {"env_steps": int (per seed), "updates": int, "wall_time": float,
       "metrics": {"episode_return": [S], "success": [S], "episodes": [S], ...}}
    with one value per seed (S seeds trained together), null where a seed finished no episode
    in that interval. A resumed run may repeat an env_steps value: the last line wins. A last
    line without its newline (a writer killed mid-line, or one writing right now) is skipped.
  <workdir>/transfer/run.json  {"label", "experiment", "variant", "seeds", "env",
      "env_steps_per_seed", "command", "commit"}
  <workdir>/exploration.json  (optional) {"rows": [{"method", "dense_return",
      "dense_return_std", "staged_return", ..., "num_episodes"}, ...]}

`load_run(dir) -> RunCurves` gives metrics as [P, S] float arrays (NaN where missing), P points.
Statistics over seeds ignore NaN and use the population std (numpy's default, ddof=0):
  curve:  per point, mean ± std over the seeds that have a value (`seed_statistics`);
  final performance: per seed, the mean of its values over the last ceil(last_fraction * P)
    points; then mean ± std of those per-seed numbers over seeds (`final_performance_table`).

`write_comparison_report(run_dirs, out_dir)` writes `out_dir/index.html`, one PNG per metric
(`curve_<metric>.png`: one line per run, std shaded) and `out_dir/metrics.json` (the tables; NaN
written as null). `launch/report.py --runs=... --out=...` is its command line.
"""

from __future__ import annotations

import dataclasses
import glob
import html
import json
import math
import os
import warnings
from typing import Any, Callable, Sequence

from absl import logging

import matplotlib

matplotlib.use("Agg")  # headless: reports are written on servers
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from helms_jax.data.format import atomic_write

TRANSFER_DIR = "transfer"
CURVES_FILE = "curves.jsonl"
RUN_FILE = "run.json"
EXPLORATION_FILE = "exploration.json"
DEFAULT_METRICS = ("episode_return", "success")
# Known exploration columns, in display order; `<name>_std` is shown as `<name>` ± std.
EXPLORATION_COLUMNS = ("method", "dense_return", "staged_return", "sparse_return",
                       "joint_variance", "grasp_variance", "object_variance", "num_episodes")


@dataclasses.dataclass(frozen=True)
class RunCurves:
  """The learning curves of one transfer run (P logging points, S seeds).

  run_dir: the run's workdir (holds `transfer/` and maybe `exploration.json`).
  label: the method name from run.json (e.g. "HeLMS-cat").
  env_steps: [P] int64, env steps per seed, increasing, one point per value.
  updates: [P] int64 learner updates; wall_time: [P] float64 seconds since the epoch.
  metrics: name -> [P, S] float64, NaN where a seed has no value.
  info: run.json as written.
  """
  run_dir: str
  label: str
  env_steps: np.ndarray
  updates: np.ndarray
  wall_time: np.ndarray
  metrics: dict[str, np.ndarray]
  info: dict[str, Any]

  @property
  def seeds(self) -> list[int]:
    return list(self.info["seeds"])

  @property
  def num_seeds(self) -> int:
    return len(self.info["seeds"])

  @property
  def num_points(self) -> int:
    return len(self.env_steps)


def transfer_dir(run_dir: str) -> str:
  """The directory holding curves.jsonl: `<run_dir>/transfer`, or `run_dir` itself if it holds
  curves.jsonl (a transfer directory given directly). Raises ValueError naming the path."""
  if not os.path.isdir(run_dir):
    raise ValueError(f"{run_dir}: run directory does not exist")
  nested = os.path.join(run_dir, TRANSFER_DIR)
  if os.path.isfile(os.path.join(nested, CURVES_FILE)):
    return nested
  if os.path.isfile(os.path.join(run_dir, CURVES_FILE)):
    return run_dir
  raise ValueError(f"{os.path.join(nested, CURVES_FILE)}: missing (no transfer learning curves in "
                   f"run directory {run_dir})")


def _workdir_of(run_dir: str, curves_dir: str) -> str:
  if curves_dir == run_dir and os.path.basename(os.path.normpath(run_dir)) == TRANSFER_DIR:
    return os.path.dirname(os.path.normpath(run_dir))
  return run_dir


def _read_json(path: str) -> Any:
  try:
    with open(path, encoding="utf-8") as f:
      return json.load(f)
  except FileNotFoundError:
    raise ValueError(f"{path}: missing") from None
  except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
    raise ValueError(f"{path}: unreadable ({e})") from None


def _per_seed(values: Any, path: str, line: int, name: str, num_seeds: int) -> np.ndarray:
  if not isinstance(values, list):
    raise ValueError(f"{path}:{line}: metric {name!r} is not a list of per-seed values")
  if len(values) != num_seeds:
    raise ValueError(f"{path}:{line}: metric {name!r} has {len(values)} values, expected one per "
                     f"seed ({num_seeds})")
  out = np.empty(num_seeds)
  for i, v in enumerate(values):
    if v is None:
      out[i] = np.nan
    elif isinstance(v, (int, float)):  # bool is an int: success flags are fine
      out[i] = float(v)
    else:
      raise ValueError(f"{path}:{line}: metric {name!r} has a non-numeric value {v!r}")
  return out


def _read_curve_rows(path: str) -> list[tuple[int, dict[str, Any]]]:
  """(line number, row) of each complete line; a torn last line is skipped with a warning."""
  try:
    with open(path, "rb") as f:
      text = f.read().decode("utf-8")
  except (OSError, UnicodeDecodeError) as e:
    raise ValueError(f"{path}: unreadable ({e})") from None
  lines = text.split("\n")
  rows = []
  for number, line in enumerate(lines, 1):
    if not line.strip():
      continue
    try:
      row = json.loads(line)
    except json.JSONDecodeError as e:
      if number == len(lines):  # no newline after it: cut by a kill, or being written now
        logging.warning("%s:%d: incomplete last line skipped", path, number)
        continue
      raise ValueError(f"{path}:{number}: not a JSON line ({e})") from None
    if not isinstance(row, dict):
      raise ValueError(f"{path}:{number}: not a JSON object")
    steps = row.get("env_steps")
    if not isinstance(steps, int) or isinstance(steps, bool):
      raise ValueError(f"{path}:{number}: 'env_steps' is missing or not an integer")
    if not isinstance(row.get("metrics"), dict):
      raise ValueError(f"{path}:{number}: 'metrics' is missing or not an object")
    rows.append((number, row))
  return rows


def load_run(run_dir: str) -> RunCurves:
  """Reads `<run_dir>/transfer/{curves.jsonl,run.json}` (or a transfer directory itself).

  Duplicate env_steps (a resumed run) keep their last line; points are sorted by env steps; a
  metric absent from some lines is NaN there. Raises ValueError naming the file when a file is
  missing or malformed (seed counts disagreeing, non-numeric values, broken lines).
  """
  curves_dir = transfer_dir(run_dir)
  info_path = os.path.join(curves_dir, RUN_FILE)
  info = _read_json(info_path)
  if not isinstance(info, dict):
    raise ValueError(f"{info_path}: not a JSON object")
  seeds = info.get("seeds")
  if (not isinstance(seeds, list) or not seeds or
      not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)):
    raise ValueError(f"{info_path}: 'seeds' is missing or not a non-empty list of integers")
  label = info.get("label")
  if not isinstance(label, str) or not label:
    raise ValueError(f"{info_path}: 'label' is missing or not a string")

  path = os.path.join(curves_dir, CURVES_FILE)
  latest: dict[int, tuple[int, dict[str, Any]]] = {}
  for number, row in _read_curve_rows(path):
    latest[row["env_steps"]] = (number, row)  # a resumed run rewrites points: the last one wins
  steps = sorted(latest)
  num_points, num_seeds = len(steps), len(seeds)
  names = sorted({k for _, row in latest.values() for k in row["metrics"]})
  metrics = {k: np.full((num_points, num_seeds), np.nan) for k in names}
  updates = np.zeros(num_points, np.int64)
  wall_time = np.full(num_points, np.nan)
  for p, step in enumerate(steps):
    number, row = latest[step]
    for name, values in row["metrics"].items():
      metrics[name][p] = _per_seed(values, path, number, name, num_seeds)
    if isinstance(row.get("updates"), (int, float)):
      updates[p] = row["updates"]
    if isinstance(row.get("wall_time"), (int, float)):
      wall_time[p] = row["wall_time"]
  return RunCurves(run_dir=_workdir_of(run_dir, curves_dir), label=label,
                   env_steps=np.asarray(steps, np.int64), updates=updates, wall_time=wall_time,
                   metrics=metrics, info=info)


def expand_run_dirs(spec: str | Sequence[str]) -> list[str]:
  """Run directories from "a,b,runs/x*" (or a list of such items), in order, without repeats.

  An item with glob characters keeps only the matches holding transfer curves (other matches,
  e.g. a shared skills directory, are skipped) and must match at least one; a plain item is kept
  as given, so `load_run` reports what is wrong with it.
  """
  items = spec.split(",") if isinstance(spec, str) else list(spec)
  out, seen = [], set()
  for item in (i.strip() for i in items):
    if not item:
      continue
    if glob.has_magic(item):
      matches = [m for m in sorted(glob.glob(item)) if os.path.isdir(m)]
      dirs = [m for m in matches if os.path.isfile(os.path.join(m, TRANSFER_DIR, CURVES_FILE)) or
              os.path.isfile(os.path.join(m, CURVES_FILE))]
      if not dirs:
        raise ValueError(f"{item}: matches no run directory with {TRANSFER_DIR}/{CURVES_FILE} "
                         f"({len(matches)} directories matched)")
      if len(dirs) < len(matches):
        logging.info("%s: skipped %d directories without transfer curves", item,
                     len(matches) - len(dirs))
    else:
      dirs = [item]
    for d in dirs:
      key = os.path.realpath(d)
      if key not in seen:
        seen.add(key)
        out.append(d)
  if not out:
    raise ValueError(f"no run directories in {spec!r}")
  return out


# ----------------------------------------------------------------------------------------------
# Statistics.


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


def seed_statistics(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """values [P, S] -> (mean [P], std [P], count [P]) over the seeds with a value (NaN ignored;
  std with ddof=0; mean and std NaN where no seed has a value)."""
  values = np.asarray(values, np.float64)
  count = np.sum(np.isfinite(values), axis=-1)
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are expected early on
    return np.nanmean(values, axis=-1), np.nanstd(values, axis=-1), count


def final_window_size(num_points: int, last_fraction: float) -> int:
  """How many of the last logged points a final-performance mean covers: ceil(last_fraction *
  num_points), at least 1 (the points a table's "final" value averages)."""
  if not 0.0 < last_fraction <= 1.0:
    raise ValueError(f"last_fraction must be in (0, 1], got {last_fraction}")
  # The epsilon keeps e.g. 0.1 * 30 = 3.0000000000000004 at 3 points.
  return min(num_points, max(1, math.ceil(last_fraction * num_points - 1e-9)))


def run_names(runs: Sequence[RunCurves]) -> list[str]:
  """A display name per run: its label, disambiguated only where labels repeat (by variant, then
  experiment:variant, then run directory)."""
  ways: list[Callable[[RunCurves], str]] = [
      lambda r: r.label,
      lambda r: f"{r.label} ({r.info.get('variant')})",
      lambda r: f"{r.label} ({r.info.get('experiment')}:{r.info.get('variant')})",
      lambda r: f"{r.label} ({r.run_dir})"]
  names = []
  for run in runs:
    same = [r for r in runs if r.label == run.label]
    for way in ways:
      if len({way(r) for r in same}) == len(same):
        break
    names.append(way(run))
  if len(set(names)) < len(names):  # the same directory twice
    names = [f"{n} #{i + 1}" for i, n in enumerate(names)]
  return names


def final_performance_table(runs: Sequence[RunCurves], metric: str, last_fraction: float = 0.1,
                            names: Sequence[str] | None = None) -> list[dict[str, Any]]:
  """One row per run that has `metric`: mean and std over seeds of each seed's average over the
  last ceil(last_fraction * P) logged points that hold a value (points where no seed has one,
  e.g. a logging interval in which no episode ended, do not count; NaN ignored; std ddof=0).

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
    mean, std, count = seed_statistics(per_seed[None])
    rows.append({
        "name": name, "label": run.label, "run_dir": run.run_dir, "seeds": run.seeds,
        "env_steps": int(run.env_steps[-1]) if run.num_points else 0,
        "env_steps_per_seed": run.info.get("env_steps_per_seed"),
        "num_points": k, "from_env_steps": int(run.env_steps[chosen[0]]) if k else None,
        "per_seed": [float(v) for v in per_seed], "seeds_with_data": int(count[0]),
        "mean": float(mean[0]), "std": float(std[0])})
  return rows


# ----------------------------------------------------------------------------------------------
# Figures and files.


def _save_figure(fig, out_path: str) -> None:
  atomic_write(out_path, lambda f: fig.savefig(f, format="png"))
  plt.close(fig)


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
  _save_figure(fig, out_path)
  return out_path


def load_exploration(path: str) -> list[dict[str, Any]]:
  """The rows of an exploration.json; ValueError naming the path if it is malformed."""
  data = _read_json(path)
  rows = data.get("rows") if isinstance(data, dict) else None
  if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
    raise ValueError(f"{path}: expected an object with 'rows', a list of objects")
  return rows


def json_safe(value: Any) -> Any:
  """NaN/inf -> None and numpy scalars/arrays -> Python, so the JSON is standard."""
  if isinstance(value, dict):
    return {str(k): json_safe(v) for k, v in value.items()}
  if isinstance(value, (list, tuple, np.ndarray)):
    return [json_safe(v) for v in value]
  if isinstance(value, np.generic):
    value = value.item()
  if isinstance(value, float) and not math.isfinite(value):
    return None
  return value


def write_json(path: str, value: Any) -> None:
  data = json.dumps(json_safe(value), indent=2, allow_nan=False).encode()
  atomic_write(path, lambda f: f.write(data))


def write_text(path: str, text: str) -> None:
  data = text.encode()
  atomic_write(path, lambda f: f.write(data))


# ----------------------------------------------------------------------------------------------
# HTML.

STYLE = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:4px 8px}img{margin:4px}"
         "figure{display:inline-block;margin:8px;vertical-align:top}")


def _fmt(value: Any) -> str:
  if value is None or (isinstance(value, float) and not math.isfinite(value)):
    return "–"
  if isinstance(value, float):
    return f"{value:.4g}"
  return str(value)


def _pm(mean: Any, std: Any) -> str:
  if std is None or (isinstance(std, float) and not math.isfinite(std)):
    return _fmt(mean)
  return f"{_fmt(mean)} ± {_fmt(std)}"


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
  """A table of already formatted text cells (escaped here)."""
  head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
  body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                 for row in rows)
  return f"<table><tr>{head}</tr>{body}</table>"


def final_performance_html(rows: Sequence[dict[str, Any]]) -> str:
  header = ("run", "seeds", "env steps", "averaged over", "mean ± std over seeds", "per seed")
  cells = []
  for r in rows:
    target = r.get("env_steps_per_seed")
    steps = f"{r['env_steps']}" + (f" / {target}" if target and target != r["env_steps"] else "")
    window = (f"last {r['num_points']} points (from {r['from_env_steps']})" if r["num_points"]
              else "no points")
    seeds = f"{len(r['seeds'])}" + (f" ({r['seeds_with_data']} with data)"
                                    if r["seeds_with_data"] < len(r["seeds"]) else "")
    cells.append((r["name"], seeds, steps, window, _pm(r["mean"], r["std"]),
                  ", ".join(_fmt(v) for v in r["per_seed"])))
  return html_table(header, cells)


def exploration_html(rows: Sequence[dict[str, Any]]) -> str:
  """Known columns first (`x` with `x_std` shown as x ± std), then any others."""
  keys = list(dict.fromkeys([k for k in EXPLORATION_COLUMNS if any(k in r for r in rows)] +
                            [k for r in rows for k in r]))
  keys = [k for k in keys if not (k.endswith("_std") and k[:-4] in keys)]
  cells = [tuple(_pm(r.get(k), r.get(f"{k}_std")) if f"{k}_std" in r else _fmt(r.get(k))
                 for k in keys) for r in rows]
  return html_table(keys, cells)


def page(title: str, parts: Sequence[str]) -> str:
  return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
          f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")


def _runs_html(runs: Sequence[RunCurves], names: Sequence[str]) -> str:
  header = ("run", "label", "experiment", "variant", "seeds", "env steps", "commit", "directory",
            "command")
  cells = []
  for name, run in zip(names, runs):
    done = int(run.env_steps[-1]) if run.num_points else 0
    target = run.info.get("env_steps_per_seed")
    cells.append((name, run.label, _fmt(run.info.get("experiment")),
                  _fmt(run.info.get("variant")), ", ".join(map(str, run.seeds)),
                  f"{done}" + (f" / {target}" if target is not None else ""),
                  _fmt(run.info.get("commit")), run.run_dir, _fmt(run.info.get("command"))))
  return html_table(header, cells)


def write_comparison_report(run_dirs: Sequence[str], out_dir: str,
                            title: str = "helms_jax comparison",
                            metrics: Sequence[str] = DEFAULT_METRICS, last_fraction: float = 0.1,
                            smoothing: int = 1) -> str:
  """Compares the transfer runs in `run_dirs`; writes `out_dir/` and returns its index.html.

  Per metric of `metrics` that some run has: `curve_<metric>.png` (mean ± std over seeds, one
  line per run) and a final-performance table. The exploration table gathers the rows of every
  `<run_dir>/exploration.json` and `<out_dir>/exploration.json`. `metrics.json` holds the runs,
  the tables and the settings. Raises ValueError (naming the file) for missing/corrupt inputs.
  """
  if not run_dirs:
    raise ValueError("no run directories to compare")
  runs = [load_run(d) for d in run_dirs]
  names = run_names(runs)
  os.makedirs(out_dir, exist_ok=True)

  performance, figures = {}, []
  for metric in metrics:
    if not any(metric in r.metrics for r in runs):
      logging.info("no run has metric %r: left out of the comparison", metric)
      continue
    file = f"curve_{metric.replace('/', '_')}.png"
    plot_learning_curves(runs, metric, os.path.join(out_dir, file), smoothing=smoothing,
                         names=names)
    figures.append(file)
    performance[metric] = final_performance_table(runs, metric, last_fraction, names)

  exploration, seen = [], set()
  for directory in [r.run_dir for r in runs] + [out_dir]:
    path = os.path.join(directory, EXPLORATION_FILE)
    if os.path.isfile(path) and os.path.realpath(path) not in seen:
      seen.add(os.path.realpath(path))
      exploration.extend({**row, "source": directory} for row in load_exploration(path))

  summary = {
      "title": title, "last_fraction": last_fraction, "smoothing": smoothing,
      "runs": [{"name": n, "run_dir": r.run_dir, "label": r.label, "seeds": r.seeds,
                "num_points": r.num_points,
                "env_steps": int(r.env_steps[-1]) if r.num_points else 0,
                "metrics": sorted(r.metrics), "info": r.info} for n, r in zip(names, runs)],
      "final_performance": performance}
  if exploration:
    summary["exploration"] = exploration
  write_json(os.path.join(out_dir, "metrics.json"), summary)

  parts = [f"<h1>{html.escape(title)}</h1>", "<h2>Runs</h2>", _runs_html(runs, names)]
  if figures:
    parts.append("<h2>Learning curves</h2>")
    parts.append("<p>Mean ± std over seeds (shaded) against env steps per seed"
                 + (f"; each seed smoothed by a trailing mean of {smoothing} points"
                    if smoothing > 1 else "") + ".</p>")
    parts.extend(f'<img src="{html.escape(f)}" alt="{html.escape(f)}">' for f in figures)
  else:
    parts.append(f"<p>None of {', '.join(map(html.escape, metrics))} was logged yet.</p>")
  for metric, rows in performance.items():
    parts.append(f"<h2>Final {html.escape(metric)}</h2>"
                 f"<p>Per seed, the mean over the last {last_fraction:.0%} of logged points; "
                 f"then mean ± std (ddof=0) over seeds.</p>{final_performance_html(rows)}")
  if exploration:
    parts.append(f"<h2>Exploration</h2>{exploration_html(exploration)}")
  index = os.path.join(out_dir, "index.html")
  write_text(index, page(title, parts))
  return index

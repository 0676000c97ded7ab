"""Run directories read into `RunCurves`: a transfer run's curves, or an offline run's.

What a transfer run writes (`training.online_loop.train_online`, `pipeline.transfer`):
  <workdir>/transfer/curves.jsonl  one JSON object per logging point, appended as training runs:
      {"env_steps": int (per seed), "updates": int, "wall_time": float,
       "metrics": {"episode_return": [S], "success": [S], "episodes": [S], ...}}
    with one value per seed (S seeds trained together), null where a seed finished no episode
    in that interval. A resumed run may repeat an env_steps value: the last line wins. A last
    line without its newline (a writer killed mid-line, or one writing right now) is skipped.
  <workdir>/transfer/run.json  {"label", "experiment", "variant", "seeds", "env",
      "env_steps_per_seed", "command", "commit"}
  <workdir>/exploration.json  (optional, `analysis.exploration.write_exploration`)
      {"rows": [{"method", "dense_return", "dense_return_std", "staged_return", ...,
      "num_episodes"}, ...]}

An offline run (a `helms-train` workdir without transfer curves) is read from its
`metrics.jsonl` (`{"step": updates, "<metric>": value or [S] per seed}`) and `config.json`:
its points are learner updates (`RunCurves.step_unit` "updates"), its seeds `seed` ..
`seed + train.num_seeds - 1`, its label the learner's name (`info["label"]`).

`load_run(dir) -> RunCurves` gives metrics as [P, S] float arrays (NaN where missing), P points;
`expand_run_dirs` turns "a,b,runs/x*" into run directories; `run_names` gives each run a display
name; `load_exploration` reads an exploration.json. Statistics over the seeds are in
`analysis.statistics`.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
from typing import Any, Callable, Sequence

from absl import logging
import numpy as np

TRANSFER_DIR = "transfer"
CURVES_FILE = "curves.jsonl"
RUN_FILE = "run.json"
EXPLORATION_FILE = "exploration.json"
DEFAULT_METRICS = ("episode_return", "success")  # what transfer reports show


@dataclasses.dataclass(frozen=True)
class RunCurves:
  """The learning curves of one transfer run (P logging points, S seeds).

  run_dir: the run's workdir (holds `transfer/` and maybe `exploration.json`).
  label: the method name from run.json (e.g. "HeLMS-cat").
  env_steps: [P] int64, env steps per seed (offline runs: learner updates, `step_unit`),
    increasing, one point per value.
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

  @property
  def step_unit(self) -> str:
    """What `env_steps` counts: "env steps" (transfer runs) or "updates" (offline runs)."""
    return self.info.get("step_unit", "env steps")


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


OFFLINE_METRICS_FILE = "metrics.jsonl"
OFFLINE_CONFIG_FILE = "config.json"


def is_offline_run(run_dir: str) -> bool:
  """A workdir with offline training metrics and no transfer curves."""
  return (os.path.isfile(os.path.join(run_dir, OFFLINE_METRICS_FILE))
          and os.path.isfile(os.path.join(run_dir, OFFLINE_CONFIG_FILE))
          and not os.path.isfile(os.path.join(run_dir, TRANSFER_DIR, CURVES_FILE))
          and not os.path.isfile(os.path.join(run_dir, CURVES_FILE)))


def load_offline_run(run_dir: str) -> RunCurves:
  """An offline run's `metrics.jsonl` as curves against learner updates (see the module doc).
  Metrics with other than one value per seed (a population's shared scalars such as the
  throughput, per-skill vectors) are left out. Raises ValueError naming the file."""
  config = _read_json(os.path.join(run_dir, OFFLINE_CONFIG_FILE))
  if not isinstance(config, dict):
    raise ValueError(f"{os.path.join(run_dir, OFFLINE_CONFIG_FILE)}: not a JSON object")
  train = config.get("train") or {}
  seed0 = int(config.get("seed", 0))
  seeds = [seed0 + i for i in range(int(train.get("num_seeds", 1) or 1))]
  learner = config.get("learner") or {}
  label = str(learner.get("objective") or learner.get("name") or "offline")
  path = os.path.join(run_dir, OFFLINE_METRICS_FILE)
  latest: dict[int, dict[str, Any]] = {}
  for _, row in _read_jsonl(path, "step"):
    latest[row["step"]] = row  # a resumed run rewrites points: the last one wins
  steps = sorted(latest)
  metrics: dict[str, np.ndarray] = {}
  for p, step in enumerate(steps):
    for name, value in latest[step].items():
      if name in ("step", "time"):
        continue
      values = value if isinstance(value, list) else [value]
      if len(values) != len(seeds):  # a population's shared scalars (throughput), vectors
        continue
      column = metrics.setdefault(name, np.full((len(steps), len(seeds)), np.nan))
      column[p] = [float(v) if isinstance(v, (int, float)) else np.nan for v in values]
  info = {"label": label, "seeds": seeds, "step_unit": "updates",
          "experiment": config.get("experiment"), "variant": config.get("variant"),
          "env": {"name": (config.get("env") or {}).get("name")},
          "env_steps_per_seed": train.get("num_steps")}
  return RunCurves(run_dir=run_dir, label=label, env_steps=np.asarray(steps, np.int64),
                   updates=np.asarray(steps, np.int64), wall_time=np.full(len(steps), np.nan),
                   metrics=metrics, info=info)


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


def _read_jsonl(path: str, step_key: str) -> list[tuple[int, dict[str, Any]]]:
  """(line number, row) of each complete line of a JSONL file whose rows hold an integer
  `step_key`; a torn last line (cut by a kill, or being written now) is skipped with a warning.
  Raises ValueError naming the file and line for anything else malformed."""
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
      if number == len(lines):  # no newline after it
        logging.warning("%s:%d: incomplete last line skipped", path, number)
        continue
      raise ValueError(f"{path}:{number}: not a JSON line ({e})") from None
    if not isinstance(row, dict):
      raise ValueError(f"{path}:{number}: not a JSON object")
    steps = row.get(step_key)
    if not isinstance(steps, int) or isinstance(steps, bool):
      raise ValueError(f"{path}:{number}: {step_key!r} is missing or not an integer")
    rows.append((number, row))
  return rows


def _read_curve_rows(path: str) -> list[tuple[int, dict[str, Any]]]:
  """(line number, row) of each complete line of a transfer run's curves.jsonl."""
  rows = _read_jsonl(path, "env_steps")
  for number, row in rows:
    if not isinstance(row.get("metrics"), dict):
      raise ValueError(f"{path}:{number}: 'metrics' is missing or not an object")
  return rows


def load_run(run_dir: str) -> RunCurves:
  """Reads `<run_dir>/transfer/{curves.jsonl,run.json}` (or a transfer directory itself).

  Duplicate env_steps (a resumed run) keep their last line; points are sorted by env steps; a
  metric absent from some lines is NaN there. Raises ValueError naming the file when a file is
  missing or malformed (seed counts disagreeing, non-numeric values, broken lines). An offline
  run (no transfer curves, a `metrics.jsonl`) is read by `load_offline_run`.
  """
  if os.path.isdir(run_dir) and is_offline_run(run_dir):
    return load_offline_run(run_dir)
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
              os.path.isfile(os.path.join(m, CURVES_FILE)) or is_offline_run(m)]
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


def run_names(runs: Sequence[RunCurves]) -> list[str]:
  """A display name per run: its label, disambiguated only where labels repeat (by variant, then
  experiment:variant, then run directory). A record without the field (e.g. a run restored from
  published curves, which has no variant) rules that way out for its label, rather than showing
  "None"."""
  def info(*keys):
    return lambda r: (":".join(str(r.info[k]) for k in keys)
                      if all(r.info.get(k) is not None for k in keys) else None)
  ways: list[Callable[[RunCurves], str | None]] = [
      lambda r: "", info("variant"), info("experiment", "variant"),
      lambda r: os.path.basename(os.path.normpath(r.run_dir)), lambda r: r.run_dir]
  names = []
  for run in runs:
    same = [r for r in runs if r.label == run.label]
    for way in ways:
      tags = [way(r) for r in same]
      if None not in tags and len(set(tags)) == len(same):
        break
    tag = way(run)
    names.append(f"{run.label} ({tag})" if tag else run.label)
  if len(set(names)) < len(names):  # the same directory twice
    names = [f"{n} #{i + 1}" for i, n in enumerate(names)]
  return names


def load_exploration(path: str) -> list[dict[str, Any]]:
  """The rows of an exploration.json; ValueError naming the path if it is malformed."""
  data = _read_json(path)
  rows = data.get("rows") if isinstance(data, dict) else None
  if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
    raise ValueError(f"{path}: expected an object with 'rows', a list of objects")
  return rows

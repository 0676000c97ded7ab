"""Reproducing a paper's claim: `curves.csv`, `claims.json` and their table (REPRODUCTION.md).

`curves_rows(runs)` gathers every logged point of every seed of the given runs as long-format
rows `(method, seed, env_steps, metric, value)`: online runs from `<run>/transfer/curves.jsonl`
(one value per seed per point), offline seed populations from `<run>/metrics.jsonl` (a metric
logged as a list holds one value per seed; `env_steps` is then the learner step).
`write_curves_csv` writes them with the protocol's header; `restore_run` rebuilds a lost run's
record from a committed curves.csv so a later `publish` carries it (claims.json names it);
`finished_runs` gathers a results script's runs, restoring the lost ones it is told of.

A claim is a `Claim` (id, text, source, metric, window, methods, the paper's values, the
criterion as text and as a predicate over the per-method statistics); `evaluate_claim` computes,
per method, the mean over seeds of each seed's mean of the metric over the points whose
`env_steps` lie in the window (inclusive), the sample std (ddof 1) of those per-seed means and
the seed count, then the verdict the predicate gives ("reproduced", "partial", "not
reproduced"). `write_claims` writes `claims.json`; `claims_html` renders the paper-vs-ours table
the reports show above the curves.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import json
import math
import os
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from helms_jax import io
from helms_jax.analysis import run_curves
from helms_jax.analysis.html_pages import fmt, scroll

CSV_HEADER = ("method", "seed", "env_steps", "metric", "value")
VERDICTS = ("reproduced", "partial", "not reproduced")
Row = tuple[str, int, int, str, float]


def curves_rows(runs: Mapping[str, str], metrics: Sequence[str] | None = None) -> list[Row]:
  """Long-format rows of the runs `{method: run_dir}` (transfer runs against env steps, offline
  runs against updates; all seeds, all logged points, NaN and missing points left out);
  `metrics` None = every metric the runs logged."""
  rows: list[Row] = []
  for method, run_dir in runs.items():
    run = run_curves.load_run(run_dir)
    for metric, values in run.metrics.items():  # [P, S]
      if metrics is not None and metric not in metrics:
        continue
      for p, step in enumerate(run.env_steps):
        for s, seed in enumerate(run.seeds):
          value = float(values[p, s])
          if math.isfinite(value):
            rows.append((method, int(seed), int(step), metric, value))
  return rows


def write_curves_csv(path: str, rows: Sequence[Row]) -> None:
  """`curves.csv` with the protocol's header, rows sorted by method, seed, metric, steps."""
  ordered = sorted(rows, key=lambda r: (r[0], r[1], r[3], r[2]))

  def write(f):
    text = [",".join(CSV_HEADER)] + [f"{m},{s},{e},{k},{v!r}" for m, s, e, k, v in ordered]
    f.write(("\n".join(text) + "\n").encode())

  io.atomic_write(path, write)


def read_curves_csv(path: str) -> list[Row]:
  with open(path) as f:
    reader = csv.reader(f)
    header = tuple(next(reader))
    if header != CSV_HEADER:
      raise ValueError(f"{path}: header {header}, expected {CSV_HEADER}")
    return [(m, int(s), int(e), k, float(v)) for m, s, e, k, v in reader]


RESTORED_KEY = "restored_from"  # run.json of a record rebuilt by `restore_run`


def _run_info(run_dir: str) -> dict[str, Any]:
  """A transfer run's run.json ({} when it has none: an offline run)."""
  path = os.path.join(run_dir, run_curves.TRANSFER_DIR, run_curves.RUN_FILE)
  if not os.path.isfile(path):
    return {}
  with open(path) as f:
    return json.load(f)


def run_commits(info: Mapping[str, Any]) -> list[dict[str, Any]]:
  """The commits a transfer run trained at, from its run.json: [{from_env_steps, commit}], one
  per segment (a run resumed at a later commit has several), [] without a recorded commit."""
  segments = info.get("segments") or ([{"from_env_steps": 0, "commit": info["commit"]}]
                                      if info.get("commit") else [])
  return [{"from_env_steps": int(s.get("from_env_steps", 0)), "commit": s.get("commit")}
          for s in segments]


def restore_run(curves_csv: str, method: str, run_dir: str, *, commit: str,
                label: str | None = None, info: Mapping[str, Any] | None = None) -> str:
  """Rebuilds the transfer record of a finished `method` whose run directory was lost (a
  replaced machine) from a committed `curves.csv`, so `publish` can carry it beside new runs.

  Writes `run_dir/transfer/run.json` (seeds, `label` (default: the method), the `commit` the
  rows were produced at, `restored_from`: the CSV's file name) and `curves.jsonl` (one line per
  logged env step, one value per seed, null where a seed has no value). Only the metrics the
  CSV holds come back (no checkpoint: the run cannot be resumed). `info`: the lost run's other
  record fields (its command, env, variant, ... as a published report kept them), carried into
  run.json beneath those above. Returns the transfer dir.
  Raises ValueError when the CSV holds no row of `method`, or when `run_dir` already holds a
  record that was not restored (a live run is never overwritten).
  """
  rows = [r for r in read_curves_csv(curves_csv) if r[0] == method]
  if not rows:
    raise ValueError(f"{curves_csv}: no rows of method {method!r}")
  out = os.path.join(run_dir, run_curves.TRANSFER_DIR)
  info_path = os.path.join(out, run_curves.RUN_FILE)
  existing = _run_info(run_dir)
  if existing and RESTORED_KEY not in existing:
    raise ValueError(f"{info_path}: a live run's record; not overwritten by a restore")
  seeds = sorted({r[1] for r in rows})
  points: dict[int, dict[str, list[float | None]]] = {}
  for _, seed, steps, metric, value in rows:
    values = points.setdefault(steps, {}).setdefault(metric, [None] * len(seeds))
    values[seeds.index(seed)] = value
  os.makedirs(out, exist_ok=True)
  lines = (json.dumps({"env_steps": steps, "metrics": points[steps]}) + "\n"
           for steps in sorted(points))
  io.atomic_write_text(os.path.join(out, run_curves.CURVES_FILE), "".join(lines))
  io.atomic_write_json(info_path, {**(info or {}), "seeds": seeds, "label": label or method,
                                   "commit": commit, RESTORED_KEY: os.path.basename(curves_csv)})
  return out


def restore_published_runs(out_dir: str, run_dirs: Mapping[str, str]) -> dict[str, str]:
  """`restore_run` for each method of `run_dirs` ({method: its run directory}) from a published
  `out_dir/curves.csv`, at the commit the run ran at: `out_dir/claims.json`'s `restored` entry
  for it (an earlier restore), else the run's own record in the published report
  (`report/metrics.json` or a group's `report/<group>/metrics.json`, matched by the run
  directory's name), else claims.json's commit; the rest of that record (command, env, variant,
  ...) is carried. A method whose directory holds a live record is left alone (it is the newer).
  Labels come from the published report, else the method's name. Returns {method: run_dir} of
  the restored ones."""
  with open(os.path.join(out_dir, "claims.json")) as f:
    published = json.load(f)
  reported = {}  # the published reports' run entries, by run directory name
  for root, _, files in os.walk(os.path.join(out_dir, "report")):
    if "metrics.json" in files:
      with open(os.path.join(root, "metrics.json")) as f:
        reported.update({os.path.basename(r["run_dir"]): r for r in json.load(f).get("runs", [])})
  restored = {}
  for method, run_dir in run_dirs.items():
    info = _run_info(run_dir)
    if info and RESTORED_KEY not in info:
      continue
    entry = reported.get(os.path.basename(os.path.normpath(run_dir)), {})
    kept = entry.get("info", {})
    commit = published.get("restored", {}).get(method, {}).get(
        "commit", kept.get("commit", published["commit"]))
    restore_run(os.path.join(out_dir, "curves.csv"), method, run_dir, commit=commit,
                label=info.get("label") or entry.get("label"), info=kept)
    restored[method] = run_dir
  return restored


def finished_runs(out_dir: str, run_dirs: Mapping[str, str],
                  restore: str | Sequence[str] = ()) -> dict[str, str]:
  """The runs a results script publishes: those of `run_dirs` ({method: run dir}, every run
  the experiment may hold) with a transfer record (`transfer/curves.jsonl`), after the methods
  named in `restore` are rebuilt from `out_dir`'s published files (`restore_published_runs`).
  `restore`: finished runs lost with their machine; a string lists them space- or
  comma-separated, as the results scripts' RESTORE environment variable does. Raises ValueError
  naming any `restore` entry that is not one of `run_dirs`."""
  if isinstance(restore, str):
    restore = restore.replace(",", " ").split()
  unknown = sorted(set(restore) - set(run_dirs))
  if unknown:
    raise ValueError(f"unknown runs to restore: {unknown}; this experiment's: {sorted(run_dirs)}")
  if restore:
    restore_published_runs(out_dir, {m: run_dirs[m] for m in restore})
  return {m: d for m, d in run_dirs.items()
          if os.path.isfile(os.path.join(d, run_curves.TRANSFER_DIR, run_curves.CURVES_FILE))}


def window_statistics(rows: Sequence[Row], method: str, metric: str,
                      window: tuple[float, float]) -> dict[str, Any]:
  """`{mean, std, seeds, per_seed}`: each seed's mean of `metric` over points with env_steps in
  `window` (inclusive), their mean and sample std (ddof 1; None with one seed)."""
  per_seed: dict[int, list[float]] = {}
  lo, hi = window
  for m, seed, steps, k, value in rows:
    if m == method and k == metric and lo <= steps <= hi:
      per_seed.setdefault(seed, []).append(value)
  means = {seed: float(np.mean(v)) for seed, v in sorted(per_seed.items())}
  values = list(means.values())
  return {"mean": float(np.mean(values)) if values else None,
          "std": float(np.std(values, ddof=1)) if len(values) > 1 else None,
          "seeds": len(values), "per_seed": means}


def last_fraction_window(rows: Sequence[Row], fraction: float = 0.1,
                         methods: Sequence[str] | None = None) -> tuple[int, int]:
  """The last `fraction` of training: `[(1 - fraction) * end, end]` with `end` the largest
  env_steps the (given methods') runs reached; (0, 0) when none of them has run."""
  end = max((e for m, _, e, _, _ in rows if methods is None or m in methods), default=0)
  return int(round((1.0 - fraction) * end)), int(end)


def steps_to_threshold(rows: Sequence[Row], metric: str, threshold: float, smoothing: int = 1,
                       name: str | None = None) -> list[Row]:
  """Derived rows: per (method, seed), the first env_steps at which the trailing mean of
  `smoothing` consecutive logged points of `metric` (the point and the ones before it) reaches
  `threshold`, as `(method, seed, last env_steps, name, steps)` (`name` default
  "env_steps_to_<metric>_<threshold:g>"). A seed that never reaches it gets steps = its last
  env_steps + 1 (censored: later than anything it ran), so a mean over seeds is a lower bound
  and `reached_threshold` tells the censored seeds apart."""
  if smoothing < 1:
    raise ValueError(f"smoothing must be >= 1, got {smoothing}")
  name = name or f"env_steps_to_{metric}_{threshold:g}"
  series: dict[tuple[str, int], list[tuple[int, float]]] = {}
  for method, seed, steps, k, value in rows:
    if k == metric:
      series.setdefault((method, seed), []).append((steps, value))
  out = []
  for (method, seed), points in sorted(series.items()):
    points.sort()
    values = np.array([v for _, v in points])
    trailing = np.array([values[max(0, i - smoothing + 1):i + 1].mean()
                         for i in range(len(values))])
    hits = np.flatnonzero(trailing >= threshold)
    last = points[-1][0]
    out.append((method, seed, last, name, float(points[hits[0]][0] if hits.size else last + 1)))
  return out


def reached_threshold(derived: Sequence[Row], method: str) -> dict[int, bool]:
  """`{seed: reached}` from `steps_to_threshold`'s rows of `method` (censored = not reached)."""
  return {seed: value <= steps for m, seed, steps, _, value in derived if m == method}


@dataclasses.dataclass
class Claim:
  """A paper's claim and the fixed criterion we hold our numbers to.

  predicate: `{method: statistics}` -> one of VERDICTS (the statistics of `window_statistics`)
    over `methods`; every one of them must have points in the window, or the claim is "not
    reproduced". With `compares_initial`, `predicate(stats, initial_stats)`: the second the same
    statistics over `initial_window` (e.g. "the baseline learnt something at this budget").
  beside: methods reported with the claim (their statistics in claims.json), outside its
    criterion: the predicate does not see them and the verdict does not wait for them.
  window / initial_window: env_steps ranges; None = the last / first 10 % of training (of
    `methods`).
  """
  id: str
  text: str
  source: str
  metric: str
  methods: Sequence[str]
  paper: Mapping[str, Any]
  criterion: str
  predicate: Callable[[Mapping[str, Mapping[str, Any]]], str]
  window: tuple[int, int] | None = None
  initial_window: tuple[int, int] | None = None
  why: str = ""
  beside: Sequence[str] = ()
  compares_initial: bool = False

  def __post_init__(self):
    both = sorted(set(self.methods) & set(self.beside))
    if both:
      raise ValueError(f"claim {self.id}: {both} both in methods and beside; a method is either "
                       "in the criterion or reported beside it")


def evaluate_claim(claim: Claim, rows: Sequence[Row]) -> dict[str, Any]:
  """The claim's entry of `claims.json`, computed from `rows`."""
  window = claim.window or last_fraction_window(rows, 0.1, claim.methods)
  initial = claim.initial_window
  if initial is None:
    end = window[1]
    initial = (0, int(round(0.1 * end)))
  reported = tuple(claim.methods) + tuple(claim.beside)
  stats = {m: window_statistics(rows, m, claim.metric, window) for m in reported}
  initial_stats = {m: window_statistics(rows, m, claim.metric, initial) for m in reported}
  ran = {m: stats[m] for m in claim.methods if stats[m]["seeds"] > 0}
  verdict = "not reproduced"
  if len(ran) == len(claim.methods):
    verdict = (claim.predicate(ran, {m: initial_stats[m] for m in ran}) if claim.compares_initial
               else claim.predicate(ran))
  if verdict not in VERDICTS:
    raise ValueError(f"claim {claim.id}: predicate returned {verdict!r}, not one of {VERDICTS}")
  strip = lambda s: {k: s[k] for k in ("mean", "std", "seeds")}
  return {"id": claim.id, "text": claim.text, "source": claim.source, "metric": claim.metric,
          "window": list(window), "initial_window": list(initial),
          "methods": {m: strip(s) for m, s in stats.items()},
          "initial": {m: strip(s) for m, s in initial_stats.items()},
          "per_seed": {m: s["per_seed"] for m, s in stats.items()},
          "beside": list(claim.beside),
          "paper": dict(claim.paper), "criterion": claim.criterion, "verdict": verdict,
          "why": claim.why or _numbers_why(claim, stats, window, verdict)}


def _numbers_why(claim: Claim, stats: Mapping[str, Mapping[str, Any]], window: Sequence[int],
                 verdict: str) -> str:
  """A claim's `why` when none was written: what the window holds, in numbers."""
  missing = [m for m in claim.methods if stats[m]["seeds"] == 0]
  if missing:
    return (f"No {claim.metric} points of {', '.join(missing)} in env steps {window[0]:,}-"
            f"{window[1]:,} (not run, or not that far yet): not reproduced until they exist.")
  numbers = "; ".join(
      f"{m} {stats[m]['mean']:.3g}" + (f" +- {stats[m]['std']:.2g}" if stats[m]["std"] is not None
                                      else "") + f" ({stats[m]['seeds']} seeds)"
      for m in claim.methods)
  return (f"{claim.metric} over env steps {window[0]:,}-{window[1]:,}: {numbers}. Criterion "
          f"{claim.criterion}: {verdict}.")


def write_claims(path: str, *, experiment: str, paper: str, command: str, commit: str,
                 machine: str, wall_time_s: float | None, env_steps_per_seed: int,
                 paper_env_steps_per_seed: int | None,
                 claims: Sequence[dict[str, Any]],
                 restored: Mapping[str, Any] | None = None,
                 method_commits: Mapping[str, Any] | None = None) -> dict:
  """Writes `claims.json` (the protocol's layout) and returns it; `paper_env_steps_per_seed`
  None: the paper does not give its budget. `restored` ({method: {commit, from}}, written only
  when not empty): methods whose records `restore_run` rebuilt from a committed curves.csv, at
  their own commit rather than `commit`. `method_commits` ({method: `run_commits`}, written only
  when not empty): the commit(s) each run trained at, since runs of one experiment start (and
  resume) at different commits and `commit` names only one of them."""
  out = {"experiment": experiment, "paper": paper, "command": command, "commit": commit,
         "machine": machine, "wall_time_s": wall_time_s,
         "env_steps_per_seed": int(env_steps_per_seed),
         "paper_env_steps_per_seed": (None if paper_env_steps_per_seed is None
                                      else int(paper_env_steps_per_seed)),
         "claims": list(claims)}
  if restored:
    out["restored"] = dict(restored)
  if method_commits:
    out["method_commits"] = {m: list(c) for m, c in method_commits.items()}
  io.atomic_write_json(path, io.json_safe(out), sort_keys=False)
  return out


def _ours(stats: Mapping[str, Any]) -> str:
  if not stats.get("seeds"):
    return "nothing in the window (not run, or unfinished)"
  std = f" ± {fmt(stats['std'])}" if stats.get("std") is not None else ""
  return f"{fmt(stats['mean'])}{std} ({stats['seeds']} seeds)"


def claims_summary(claims: Mapping[str, Any]) -> str:
  """The verdicts in a sentence per claim, ours against the paper's numbers, e.g. "0 of 1
  claims reproduced. a_beats_b (not reproduced, success): a 0.2 (paper 1), b 0 (paper 0);
  nothing in the final window (not run, or unfinished): c."."""
  entries = claims["claims"]
  reproduced = sum(c["verdict"] == "reproduced" for c in entries)
  sentences = [f"{reproduced} of {len(entries)} claims reproduced."]
  for claim in entries:
    beside = set(claim.get("beside", ()))
    ran = {m: s for m, s in claim["methods"].items() if s.get("seeds")}
    missing = [m + (" (beside)" if m in beside else "") for m in claim["methods"] if m not in ran]
    numbers = ", ".join(f"{m} {fmt(s['mean'])} (" + ("beside the criterion" if m in beside else
                                                      f"paper {fmt(claim['paper'].get(m))}") + ")"
                        for m, s in ran.items())
    sentences.append(f"{claim['id']} ({claim['verdict']}, {claim['metric']}): "
                     + (numbers or "no method ran")
                     + (f"; nothing in the final window (not run, or unfinished): "
                        f"{', '.join(missing)}" if missing else "") + ".")
  return " ".join(sentences)


def claims_html(claims: Mapping[str, Any]) -> str:
  """The paper-vs-ours table of a `claims.json` (claim, paper, ours mean ± std (seeds),
  criterion, verdict, why); numbers to 3 significant figures (`html_pages.fmt`). Methods restored
  from a published curves.csv (`restored`) are named above it with their commit."""
  rows = []
  for claim in claims["claims"]:
    paper = "<br>".join(f"{html.escape(m)}: {html.escape(fmt(v))}"
                        for m, v in claim["paper"].items())
    beside = set(claim.get("beside", ()))
    ours = "<br>".join(f"{html.escape(m)}{' (beside)' if m in beside else ''}: "
                       f"{html.escape(_ours(s))}" for m, s in claim["methods"].items())
    rows.append(
        f"<tr><td><b>{html.escape(claim['id'])}</b><br>{html.escape(claim['text'])}<br>"
        f"<small>{html.escape(claim['source'])}; {html.escape(claim['metric'])} over env steps "
        f"{claim['window'][0]:,}–{claim['window'][1]:,}</small></td><td>{paper}</td>"
        f"<td>{ours}</td><td>{html.escape(claim['criterion'])}</td>"
        f"<td><b>{html.escape(claim['verdict'])}</b></td><td>{html.escape(claim['why'])}</td>"
        "</tr>")
  paper_budget = claims["paper_env_steps_per_seed"]
  budget = (f"{claims['env_steps_per_seed']:,} env steps per seed (paper: "
            f"{'not given' if paper_budget is None else format(paper_budget, ',')})")
  restored = claims.get("restored") or {}
  carried = "".join(
      f"<p>{html.escape(m)}: restored from the published {html.escape(r['from'])} (its run "
      f"directory was lost; run at commit {html.escape(str(r['commit'])[:7])}).</p>"
      for m, r in sorted(restored.items()))
  commits = "; ".join(
      f"{html.escape(m)} " + ", ".join(
          f"{html.escape(str(c['commit'])[:7])}" + (f" (from {c['from_env_steps']:,} env steps)"
                                                    if c["from_env_steps"] else "")
          for c in segments)
      for m, segments in (claims.get("method_commits") or {}).items() if segments)
  return ("<h2>Paper vs ours</h2>"
          f"<p>{html.escape(claims['paper'])}; {budget}; {html.escape(claims['machine'])}.</p>"
          + (f"<p>Commits the runs trained at: {commits}.</p>" if commits else "")
          + carried
          + scroll("<table><tr><th>claim</th><th>paper</th><th>ours (final window, mean ± std "
                   "over seeds)</th><th>criterion (fixed before the run)</th><th>verdict</th>"
                   "<th>why</th></tr>" + "".join(rows) + "</table>"))


def publish(out_dir: str, runs: Mapping[str, str], claims: Sequence[Claim], *,
            metrics: Sequence[str], experiment: str, paper: str, command: str, title: str,
            paper_env_steps_per_seed: int | None, wall_time_s: float | None = None,
            machine: str = "2-core CPU, no accelerator", commit: str | None = None,
            derive: Callable[[list[Row]], list[Row]] | None = None,
            report_groups: Mapping[str, Sequence[str]] | None = None,
            figure_panels: Mapping[str, Sequence[str]] | None = None,
            figure_stem: str = "figure") -> dict:
  """The protocol's files for the runs `{method: run_dir}` that exist: `out_dir/curves.csv`
  (`metrics` of every seed and logged point), `claims.json` (each claim evaluated; the commit read
  from the first run's `transfer/run.json`, and every live run's own commits as `method_commits`)
  and `report/` (curves with the paper-vs-ours table). Methods not run yet are absent and make their
  claims "not reproduced"; with no run at all it raises ValueError and writes nothing. `commit`: the
  code's commit when the runs do not record it (offline runs). `derive(rows) -> more rows`: metrics
  computed from the logged ones (e.g. a mean over tasks), added before anything is written.
  `report_groups` `{group: methods}`: one report per group in `report/<group>/` (e.g. one per task
  when a method runs on several; each with the whole paper-vs-ours table) instead of one for all
  runs. `figure_panels` `{panel title: methods}`: also the paper's figure layout,
  `report/<figure_stem>_<metric>.png` with a panel per entry (e.g. per reward or object set) and a
  colour per method label across panels (`plots.plot_curve_panels`). Returns the claims.json
  content."""
  from helms_jax.analysis import compare  # pylint: disable=import-outside-toplevel  (it imports this module)
  if not runs:  # e.g. a wrong runs dir: publishing would empty the committed files
    raise ValueError(f"no runs to publish into {out_dir}: none of the experiment's run "
                     "directories holds a transfer record; the published files are left as "
                     "they are")
  rows = curves_rows(runs, metrics=metrics)
  if derive is not None:
    rows = rows + list(derive(rows))
  write_curves_csv(os.path.join(out_dir, "curves.csv"), rows)
  entries = [evaluate_claim(c, rows) for c in claims]
  infos = {m: _run_info(d) for m, d in runs.items()}
  restored = {m: {"commit": i.get("commit", "unknown"), "from": i[RESTORED_KEY]}
              for m, i in infos.items() if RESTORED_KEY in i}
  live_commits = {m: run_commits(i) for m, i in infos.items() if m not in restored}
  if not commit:  # the first live run's record, when it is a transfer run
    live = [i for m, i in infos.items() if m not in restored] or list(infos.values())
    commit = live[0].get("commit", "unknown") if live else "unknown"
  claims_path = os.path.join(out_dir, "claims.json")
  out = write_claims(claims_path, experiment=experiment, paper=paper, command=command,
                     commit=commit, machine=machine, wall_time_s=wall_time_s,
                     env_steps_per_seed=max((r[2] for r in rows), default=0),
                     paper_env_steps_per_seed=paper_env_steps_per_seed, claims=entries,
                     restored=restored,
                     method_commits={m: c for m, c in live_commits.items() if c})
  if report_groups is None:
    report_groups = {"": list(runs)}
  for group, methods in report_groups.items():
    group_runs = [runs[m] for m in methods if m in runs]
    if group_runs:
      compare.write_comparison_report(
          group_runs, os.path.join(out_dir, "report", group),
          title=f"{title}: {group}" if group else title, claims_path=claims_path,
          metrics=metrics)
  if figure_panels:
    _write_panel_figures(out_dir, runs, figure_panels, metrics, figure_stem)
  return out


def _write_panel_figures(out_dir: str, runs: Mapping[str, str],
                         figure_panels: Mapping[str, Sequence[str]], metrics: Sequence[str],
                         stem: str) -> None:
  """`publish`'s paper-layout figure: per metric any run logged, `report/<stem>_<metric>.png`."""
  from helms_jax.analysis import plots  # pylint: disable=import-outside-toplevel  (matplotlib)
  loaded = {m: run_curves.load_run(d) for m, d in runs.items()}
  panels = {}
  for panel, methods in figure_panels.items():
    present = [loaded[m] for m in methods if m in loaded]
    if present:  # names: labels, disambiguated where two runs of a panel share one
      panels[panel] = dict(zip(run_curves.run_names(present), present))
  for metric in metrics:
    if any(metric in r.metrics for p in panels.values() for r in p.values()):
      plots.plot_curve_panels(panels, metric,
                              os.path.join(out_dir, "report", f"{stem}_{metric}.png"))

"""Reports comparing several transfer runs (`helms-report --runs=... --out=...`).

`write_comparison_report(run_dirs, out_dir)` writes `out_dir/index.html`, one PNG per metric
(`curve_<metric>.png`: one line per run, mean ± std over seeds shaded, `plots`), the
final-performance tables (`statistics`) and `out_dir/metrics.json` (the tables; NaN written as
null). The page opens with a summary in words (what ran, the final numbers per run, the
paper-vs-ours verdicts with a claims.json); run directories and commands are shown relative to
the runs' common directory ("<runs>") and the repository (`html_pages`). The run files it reads
are described in `analysis.run_curves`.
"""

from __future__ import annotations

import html
import json
import os
from typing import Sequence

from absl import logging

from helms_jax import io
from helms_jax.analysis import html_pages, metric_info, plots, reproduction, statistics
from helms_jax.analysis import run_curves as runs_lib
from helms_jax.analysis.html_pages import fmt, pm


def _summary(runs, names, performance, last_fraction: float, claims) -> str:
  """What ran and the final numbers per run, in sentences (the comparison's opening)."""
  experiments = sorted({str(r.info.get("experiment")) for r in runs if r.info.get("experiment")})
  envs = sorted({str((r.info.get("env") or {}).get("name")) for r in runs
                 if isinstance(r.info.get("env"), dict) and r.info["env"].get("name")})
  ran, unfinished = [], {}
  for name, run in zip(names, runs):
    done = int(run.env_steps[-1]) if run.num_points else 0
    target = run.info.get("env_steps_per_seed")
    ran.append(f"{name} ({run.num_seeds} seeds, {fmt(done)}"
               + (f" of {fmt(target)}" if target not in (None, done) else "")
               + f" {run.step_unit} per seed)")
    if target is not None and done < int(target):  # its "final" numbers are not final
      unfinished[name] = f" (unfinished: at {fmt(done)} of {fmt(target)} {run.step_unit})"
  items = [f"<b>What ran.</b> {len(runs)} run{'s' if len(runs) != 1 else ''}"
           + (f" of {html.escape(', '.join(experiments))}" if experiments else "")
           + (f" on the {html.escape(', '.join(envs))} env" if envs else "")
           + f": {html.escape('; '.join(ran))}."]
  for metric, rows in performance.items():
    values = ", ".join(
        f"{r['name']} {pm(r['mean'], r['std']) if r['num_points'] else 'no value yet'}"
        + unfinished.get(r["name"], "") for r in rows)
    note = metric_info.direction_note(metric)
    items.append(f"<b>Final {html.escape(metric.replace('_', ' '))}.</b> "
                 + html.escape(f"{values} (each seed's mean over the last {last_fraction:.0%} "
                               "of logged points, then mean ± std over seeds"
                               + (f"; {note}" if note else "") + ")."))
  if claims is not None:
    items.append("<b>Paper vs ours.</b> " + html.escape(reproduction.claims_summary(claims)))
  return ('<div class="summary"><h2>Summary</h2><ul>'
          + "".join(f"<li>{item}</li>" for item in items) + "</ul></div>")


def write_comparison_report(run_dirs: Sequence[str], out_dir: str,
                            title: str = "helms_jax comparison",
                            metrics: Sequence[str] | None = None,
                            last_fraction: float = 0.1, smoothing: int = 1,
                            claims_path: str | None = None) -> str:
  """Compares the runs in `run_dirs` (transfer runs against env steps, offline runs against
  updates); writes `out_dir/` and returns its index.html.

  `metrics` None: `run_curves.DEFAULT_METRICS` when a transfer run is among them, else every
  learning metric (`metric_info.group`) the offline runs logged. Per metric that some run has:
  `curve_<metric>.png` (mean ± std over seeds, one line per run) and a final-performance
  table. The exploration table gathers the rows of every
  `<run_dir>/exploration.json` and `<out_dir>/exploration.json`. `metrics.json` holds the runs,
  the tables and the settings, every path in it relative to the runs' common directory
  ("<runs>/...") or the repository. With `claims_path` (a reproduction's `claims.json`), the
  paper-vs-ours table comes first. Raises ValueError (naming the file) for missing/corrupt
  inputs.
  """
  if not run_dirs:
    raise ValueError("no run directories to compare")
  runs = [runs_lib.load_run(d) for d in run_dirs]
  names = runs_lib.run_names(runs)
  if metrics is None:
    metrics = runs_lib.DEFAULT_METRICS
    if all(r.step_unit == "updates" for r in runs):
      metrics = metric_info.order({m for r in runs for m in r.metrics
                                   if metric_info.group(m) == metric_info.LEARNING})
  os.makedirs(out_dir, exist_ok=True)

  performance, figures = {}, []
  for metric in metrics:
    if not any(metric in r.metrics for r in runs):
      logging.info("no run has metric %r: left out of the comparison", metric)
      continue
    file = f"curve_{metric.replace('/', '_')}.png"
    plots.plot_learning_curves(runs, metric, os.path.join(out_dir, file), smoothing=smoothing,
                               names=names)
    figures.append(file)
    performance[metric] = statistics.final_performance_table(runs, metric, last_fraction, names)

  exploration, seen = [], set()
  for directory in [r.run_dir for r in runs] + [out_dir]:
    path = os.path.join(directory, runs_lib.EXPLORATION_FILE)
    if os.path.isfile(path) and os.path.realpath(path) not in seen:
      seen.add(os.path.realpath(path))
      exploration.extend({**row, "source": directory}
                         for row in runs_lib.load_exploration(path))

  summary = {
      "title": title, "last_fraction": last_fraction, "smoothing": smoothing,
      "runs": [{"name": n, "run_dir": r.run_dir, "label": r.label, "seeds": r.seeds,
                "num_points": r.num_points,
                "env_steps": int(r.env_steps[-1]) if r.num_points else 0,
                "metrics": sorted(r.metrics), "info": r.info} for n, r in zip(names, runs)],
      "final_performance": performance}
  if exploration:
    summary["exploration"] = exploration
  # Runs (and what their run.json recorded: interpreter, workdirs) named relative to the runs'
  # common directory ("<runs>/...") or the repository, as on the page.
  root = html_pages.runs_root([r.run_dir for r in runs])
  roots = html_pages.path_roots((root, "<runs>"))
  io.atomic_write_json(os.path.join(out_dir, "metrics.json"),
                       html_pages.scrub_tree(io.json_safe(summary), roots), sort_keys=False)

  claims = None
  if claims_path:
    with open(claims_path) as f:
      claims = json.load(f)
  parts = [f"<h1>{html.escape(title)}</h1>",
           _summary(runs, names, performance, last_fraction, claims)]
  if claims is not None:
    parts.append(reproduction.claims_html(claims))
  parts += ["<h2>Runs</h2>", html_pages.runs_html(runs, names, roots)]
  if root:
    parts.append("<p class='note'>&lt;runs&gt;: the directory holding the runs; paths in the "
                 "repository are shown relative to it.</p>")
  units = sorted({r.step_unit for r in runs})
  if figures:
    parts.append("<h2>Learning curves</h2>")
    parts.append("<p>Mean ± std over seeds (shaded; a success rate's band kept inside [0, 1]) "
                 f"against {' / '.join(units)} per seed"
                 + (f"; each seed smoothed by a trailing mean of {smoothing} points"
                    if smoothing > 1 else "") + ".</p>")
    parts.append(html_pages.figures_html(figures))
  else:
    parts.append(f"<p>None of {', '.join(map(html.escape, metrics))} was logged yet.</p>")
  for metric, rows in performance.items():
    parts.append(f"<h2>Final {html.escape(metric)}</h2>"
                 f"<p>Per seed, the mean over the last {last_fraction:.0%} of logged points; "
                 f"then mean ± sample std (ddof=1) over seeds.</p>"
                 f"{html_pages.final_performance_html(rows, ' / '.join(units))}")
  if exploration:
    parts.append(f"<h2>Exploration</h2>{html_pages.exploration_html(exploration, roots)}")
  index = os.path.join(out_dir, "index.html")
  io.atomic_write_text(index, html_pages.page(title, parts))
  return index

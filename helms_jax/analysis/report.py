"""Run reports: training curves (PNG), evaluation table and config on one HTML page.

`write_run_report(workdir)` reads what a run wrote (`metrics.jsonl`, `eval.json`,
`config.json`) and writes `<workdir>/report/`: `index.html`, one PNG per training metric and
`metrics.json` (final training metrics and evaluation), so the report is reproducible from the
run directory alone.

If the run has an analysis (`<workdir>/analysis/analysis.json`, format in
`helms_jax.analysis.analysis_index`), its figures are copied into the report and shown with their
captions after the training curves, and its metrics are added to `metrics.json` under "analysis".

If the run has transfer learning curves (`<workdir>/transfer/curves.jsonl`, format in
`helms_jax.analysis.run_curves`), a Transfer section shows them (mean ± std over seeds) with the final
performance, which `metrics.json` holds under "transfer"; an `<workdir>/exploration.json` is shown
as a table and kept under "exploration". Several runs compared: `compare.write_comparison_report`.
"""

from __future__ import annotations

import html
import json
import os
from typing import Any, Sequence

from absl import logging

import matplotlib

matplotlib.use("Agg")  # headless: reports are written on servers
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from helms_jax import io
from helms_jax.analysis import html_pages, plots, run_curves, statistics
from helms_jax.analysis.analysis_index import ANALYSIS_DIR, ANALYSIS_INDEX
from helms_jax.training.metric_writers import read_jsonl

_SKIP = ("step", "time")


def plot_curves(rows: Sequence[dict[str, Any]], keys: Sequence[str], out_dir: str) -> list[str]:
  """One PNG per metric key (value against step); returns the file names. A metric logged per
  seed (a list, `train.num_seeds` > 1) is drawn as its mean with the std over seeds shaded."""
  files = []
  steps = np.array([r["step"] for r in rows])
  for key in keys:
    per_seed = [np.asarray(r.get(key), dtype=float)
                if isinstance(r.get(key), list) and r.get(key) else None for r in rows]
    width = max((len(v) for v in per_seed if v is not None), default=0)
    if width:
      values = np.stack([v if v is not None and len(v) == width else np.full(width, np.nan)
                         for v in per_seed])
    else:
      values = np.array([r.get(key, np.nan) if isinstance(r.get(key), (int, float)) else np.nan
                         for r in rows], dtype=float)[:, None]
    if np.all(np.isnan(values)):
      continue
    fig, ax = plt.subplots(figsize=(4.5, 3.0), dpi=100)
    mean, std, _ = statistics.seed_statistics(values)
    ax.plot(steps, mean, lw=1.5, label=f"mean of {width} seeds" if width else None)
    if width:
      ax.fill_between(steps, mean - std, mean + std, alpha=0.25)
      ax.legend(fontsize=7)
    ax.set_xlabel("learner step")
    ax.set_title(key)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    name = f"curve_{key.replace('/', '_')}.png"
    files.append(plots.save_figure(fig, os.path.join(out_dir, name)))
  return files


def _table(rows: dict[str, dict[str, Any]]) -> str:
  columns = sorted({c for r in rows.values() for c in r})
  head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
  body = ""
  for name, row in rows.items():
    cells = "".join(
        f"<td>{row[c]:.4g}</td>" if isinstance(row.get(c), float) else
        f"<td>{html.escape(str(row.get(c, '')))}</td>" for c in columns)
    body += f"<tr><th>{html.escape(name)}</th>{cells}</tr>"
  return f"<table><tr><th></th>{head}</tr>{body}</table>"


def _load_analysis(workdir: str, out_dir: str,
                   reserved: Sequence[str]) -> tuple[list[tuple[str, str]], Any] | None:
  """Reads `<workdir>/analysis/analysis.json` and copies its figures into `out_dir`.

  Returns ([(file, caption)] of the copied figures, metrics), or None without an analysis.
  Problems (unreadable index, missing figure) are logged warnings: the rest of the report is
  still written.
  """
  analysis_dir = os.path.join(workdir, ANALYSIS_DIR)
  index_path = os.path.join(analysis_dir, ANALYSIS_INDEX)
  if not os.path.exists(index_path):
    return None
  try:
    with open(index_path) as f:
      index = json.load(f)
    if not isinstance(index, dict):
      raise ValueError("top level is not an object")
  except (OSError, ValueError) as e:
    logging.warning("%s: unreadable analysis index, analysis left out of the report (%s)",
                    index_path, e)
    return None
  figures = []
  for entry in index.get("figures") or []:
    file = entry.get("file") if isinstance(entry, dict) else None
    caption = str(entry.get("caption", "")) if isinstance(entry, dict) else ""
    if not isinstance(file, str) or not file or os.path.basename(file) != file or file in (
        ".", ".."):
      logging.warning("%s: figure entry %r is not a plain file name, skipped", index_path, entry)
      continue
    if file in reserved or file in ("index.html", "metrics.json"):
      logging.warning("%s: figure %r would overwrite a report file, skipped", index_path, file)
      continue
    src = os.path.join(analysis_dir, file)
    if not os.path.isfile(src):
      logging.warning("%s: figure %s is missing, skipped", index_path, src)
      continue
    io.atomic_copy(src, os.path.join(out_dir, file))
    figures.append((file, caption))
  return figures, index.get("metrics", {})


def _metrics_html(metrics: Any) -> str:
  """A key/value table for a dict (non-scalar values as compact JSON), else <pre> JSON."""
  if not isinstance(metrics, dict):
    return f"<pre>{html.escape(json.dumps(metrics, indent=2, sort_keys=True))}</pre>"
  body = ""
  for key in sorted(metrics):
    value = metrics[key]
    if isinstance(value, float):
      cell = f"{value:.4g}"
    elif isinstance(value, (int, str, bool)) or value is None:
      cell = html.escape(str(value))
    else:
      text = json.dumps(value, sort_keys=True, separators=(", ", ": "))
      if isinstance(value, list) and all(isinstance(v, float) for v in value):
        text = "[" + ", ".join(f"{v:.4g}" for v in value) + "]"
      cell = f"<code>{html.escape(text)}</code>"
    body += f"<tr><th>{html.escape(str(key))}</th><td>{cell}</td></tr>"
  return f"<table>{body}</table>"


def _transfer_section(workdir: str, out_dir: str,
                      last_fraction: float = 0.1) -> tuple[str, dict[str, Any] | None, list[str]]:
  """The Transfer section of `<workdir>/transfer/curves.jsonl`: (html, metrics or None, PNG files).

  ("", None, []) without transfer curves; unreadable curves are a logged warning and a note in
  the section, the rest of the report is still written.
  """
  if not os.path.isfile(os.path.join(workdir, run_curves.TRANSFER_DIR, run_curves.CURVES_FILE)):
    return "", None, []
  try:
    run = run_curves.load_run(workdir)
  except ValueError as e:
    logging.warning("transfer curves left out of the report: %s", e)
    return f"<h2>Transfer</h2><p>Not shown: {html.escape(str(e))}</p>", None, []
  files, performance = [], {}
  for metric in run_curves.DEFAULT_METRICS:
    if metric in run.metrics:
      file = f"transfer_curve_{metric}.png"
      plots.plot_learning_curves([run], metric, os.path.join(out_dir, file),
                                 title=f"transfer {metric}: mean ± std over seeds")
      files.append(file)
      performance[metric] = statistics.final_performance_table([run], metric, last_fraction)[0]
  done = int(run.env_steps[-1]) if run.num_points else 0
  target = run.info.get("env_steps_per_seed")
  metrics = {"label": run.label, "seeds": run.seeds, "env_steps": done,
             "env_steps_per_seed": target, "last_fraction": last_fraction,
             "final_performance": performance}
  parts = [f"<h2>Transfer: {html.escape(run.label)}</h2>",
           f"<p>{len(run.seeds)} seeds ({', '.join(map(str, run.seeds))}), {done}"
           + (f" of {target}" if target is not None else "") + " env steps per seed; "
           "mean ± std over seeds (shaded).</p>"]
  parts.extend(f'<img src="{name}" alt="{name}">' for name in files)
  for metric, row in performance.items():
    parts.append(f"<h3>Final {html.escape(metric)}</h3>{html_pages.final_performance_html([row])}")
  if not files:
    parts.append("<p>No episode return or success logged yet.</p>")
  return "".join(parts), metrics, files


def _exploration_section(workdir: str) -> tuple[str, list[dict[str, Any]] | None]:
  """The Exploration table of `<workdir>/exploration.json`: (html, rows or None)."""
  path = os.path.join(workdir, run_curves.EXPLORATION_FILE)
  if not os.path.isfile(path):
    return "", None
  try:
    rows = run_curves.load_exploration(path)
  except ValueError as e:
    logging.warning("exploration left out of the report: %s", e)
    return f"<h2>Exploration</h2><p>Not shown: {html.escape(str(e))}</p>", None
  return f"<h2>Exploration</h2>{html_pages.exploration_html(rows)}", rows


def write_run_report(workdir: str, title: str = "helms_jax run") -> str:
  """Writes `<workdir>/report/` and returns its path."""
  out_dir = os.path.join(workdir, "report")
  os.makedirs(out_dir, exist_ok=True)
  rows = read_jsonl(os.path.join(workdir, "metrics.jsonl"))
  keys = sorted({k for r in rows for k in r if k not in _SKIP})
  images = plot_curves(rows, keys, out_dir) if rows else []
  evaluation = None
  eval_path = os.path.join(workdir, "eval.json")
  if os.path.exists(eval_path):
    with open(eval_path) as f:
      evaluation = json.load(f)
  config_text = ""
  config_path = os.path.join(workdir, "config.json")
  if os.path.exists(config_path):
    with open(config_path) as f:
      config_text = f.read()

  transfer_html, transfer, transfer_images = _transfer_section(workdir, out_dir)
  exploration_part, exploration = _exploration_section(workdir)
  analysis = _load_analysis(workdir, out_dir, images + transfer_images)

  summary = {"final_train_metrics": rows[-1] if rows else None, "evaluation": evaluation}
  if analysis is not None:
    summary["analysis"] = analysis[1]
  if transfer is not None:
    summary["transfer"] = io.json_safe(transfer)
  if exploration is not None:
    summary["exploration"] = io.json_safe(exploration)
  io.atomic_write_json(os.path.join(out_dir, "metrics.json"), summary, sort_keys=False)

  parts = [f"<h1>{html.escape(title)}</h1>", f"<p>run directory: {html.escape(workdir)}</p>"]
  if evaluation is not None:
    policies = {k: v for k, v in evaluation.items() if isinstance(v, dict)}
    parts.append(f"<h2>Evaluation (checkpoint step {evaluation.get('checkpoint_step')}, "
                 f"{evaluation.get('num_episodes')} episodes)</h2>{_table(policies)}")
  if rows:
    parts.append(f"<h2>Training ({rows[-1]['step']} steps)</h2>")
    parts.extend(f'<img src="{name}" alt="{name}">' for name in images)
  else:
    parts.append("<p>No training metrics yet.</p>")
  if analysis is not None:
    figures, metrics = analysis
    parts.append("<h2>Analysis</h2>")
    parts.extend(f'<figure><img src="{html.escape(name)}" alt="{html.escape(name)}">'
                 f"<figcaption>{html.escape(caption)}</figcaption></figure>"
                 for name, caption in figures)
    if metrics:
      parts.append(_metrics_html(metrics))
  parts.extend(p for p in (transfer_html, exploration_part) if p)
  parts.append(f"<h2>Config</h2><pre>{html.escape(config_text)}</pre>")
  io.atomic_write_text(os.path.join(out_dir, "index.html"), html_pages.page(title, parts))
  return out_dir

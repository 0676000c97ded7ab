"""Run reports: a summary in words, evaluation, training curves, analysis and config on one page.

`write_run_report(workdir)` reads what a run wrote (`metrics.jsonl`, `eval.json`,
`config.json`) and writes `<workdir>/report/`: `index.html`, one PNG per training metric and
`metrics.json` (final training metrics and evaluation), so the report is reproducible from the
run directory alone.

The page opens with a generated summary: what ran (experiment, learner and method, env, budget,
from config.json and transfer/run.json) and the headline numbers in words (the policy's return
against the baselines', the training loss's first and last values, the transfer's final
performance; the paper-vs-ours verdicts when the workdir holds a reproduction's claims.json).
Training curves are grouped by `metric_info`: the learning signal first (returns, success,
losses, with "higher/lower is better"), diagnostics folded in a <details>, throughput (updates/s)
as one line of text. Numbers, tables and paths follow `html_pages` (3 significant figures,
analysis metrics as tables, no absolute path of the machine).

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
import math
import os
from typing import Any, Sequence

from absl import logging

import matplotlib

matplotlib.use("Agg")  # headless: reports are written on servers
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from helms_jax import io
from helms_jax.analysis import html_pages, metric_info, plots, reproduction, run_curves
from helms_jax.analysis import statistics
from helms_jax.analysis.html_pages import fmt, pm
from helms_jax.analysis.analysis_index import ANALYSIS_DIR, ANALYSIS_INDEX
from helms_jax.training.metric_writers import read_jsonl

_SKIP = ("step", "time")
STEP_LABEL = "updates"  # what metrics.jsonl's "step" counts (offline learner updates)


def plot_curves(rows: Sequence[dict[str, Any]], keys: Sequence[str], out_dir: str) -> list[str]:
  """One PNG per metric key (value against learner updates); returns the file names. A metric
  logged per seed (a list, `train.num_seeds` > 1) is drawn as its mean with the std over seeds
  shaded (clipped to the metric's bounds, `plots.band`). Titles say which way is better where
  the name tells (`metric_info`); step ticks are integers."""
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
    ax.plot(steps, mean, lw=1.5, marker="o" if len(steps) <= 5 else None, ms=3,
            label=f"mean of {width} seeds" if width else None)
    if width:
      ax.fill_between(steps, *plots.band(mean, std, key), alpha=0.25)
      ax.legend(fontsize=7)
    plots.step_axis(ax, STEP_LABEL)
    plots.bounded_axis(ax, key)
    ax.set_ylabel(metric_info.axis_label(key), fontsize=8)
    ax.set_title(plots.metric_title(key), fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    name = f"curve_{key.replace('/', '_')}.png"
    files.append(plots.save_figure(fig, os.path.join(out_dir, name)))
  return files


def _evaluation_table(policies: dict[str, dict[str, Any]]) -> str:
  """One row per evaluated policy; `x_mean` with `x_std` as one "x (mean ± std)" column; a
  header says which way is better where the name tells."""
  keys = list(dict.fromkeys(k for row in policies.values() for k in row))
  paired = {k[:-len("_mean")] for k in keys if k.endswith("_mean")
            and k[:-len("_mean")] + "_std" in keys}  # e.g. "return"
  columns = [k for k in keys if not (k.endswith("_std") and k[:-len("_std")] in paired)]

  def base(key):
    return key[:-len("_mean")] if key.endswith("_mean") and key[:-len("_mean")] in paired else None

  def title(key):
    note = metric_info.direction_note(base(key) or key)
    return (f"{base(key)} (mean ± std)" if base(key) else key) + (f", {note}" if note else "")

  rows = [[name] + [pm(row.get(k), row.get(f"{base(k)}_std")) if base(k) else fmt(row.get(k))
                    for k in columns] for name, row in policies.items()]
  return html_pages.html_table(["policy"] + [title(k) for k in columns], rows)


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
  """The analysis metrics as tables (`html_pages.value_html`), never as JSON text."""
  return html_pages.scroll(html_pages.value_html(metrics))


def _transfer_section(workdir: str, out_dir: str, roots, last_fraction: float = 0.1
                      ) -> tuple[str, dict[str, Any] | None, list[str]]:
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
    return (f"<h2>Transfer</h2><p>Not shown: {html.escape(html_pages.scrub_paths(str(e), roots))}"
            "</p>", None, [])
  files, performance = [], {}
  for metric in run_curves.DEFAULT_METRICS:
    if metric in run.metrics and np.isfinite(run.metrics[metric]).any():
      file = f"transfer_curve_{metric}.png"
      plots.plot_learning_curves([run], metric, os.path.join(out_dir, file),
                                 title=plots.metric_title(metric, "mean ± std over seeds"))
      files.append(file)
    if metric in run.metrics:
      performance[metric] = statistics.final_performance_table([run], metric, last_fraction)[0]
  done = int(run.env_steps[-1]) if run.num_points else 0
  target = run.info.get("env_steps_per_seed")
  metrics = {"label": run.label, "seeds": run.seeds, "env_steps": done,
             "env_steps_per_seed": target, "last_fraction": last_fraction,
             "final_performance": performance}
  parts = [f"<h2>Transfer: {html.escape(run.label)}</h2>",
           f"<p>{len(run.seeds)} seeds ({', '.join(map(str, run.seeds))}), {fmt(done)}"
           + (f" of {fmt(target)}" if target is not None else "") + " env steps per seed; "
           + ("mean ± std over seeds (shaded)." if files else
              "no episode return or success logged yet (no episode finished).") + "</p>"]
  parts.append(html_pages.figures_html(files))
  for metric, row in performance.items():
    parts.append(f"<h3>Final {html.escape(metric)}</h3>{html_pages.final_performance_html([row])}")
  return "".join(parts), metrics, files


def _exploration_section(workdir: str, roots) -> tuple[str, list[dict[str, Any]] | None]:
  """The Exploration table of `<workdir>/exploration.json`: (html, rows or None)."""
  path = os.path.join(workdir, run_curves.EXPLORATION_FILE)
  if not os.path.isfile(path):
    return "", None
  try:
    rows = run_curves.load_exploration(path)
  except ValueError as e:
    logging.warning("exploration left out of the report: %s", e)
    return (f"<h2>Exploration</h2><p>Not shown: "
            f"{html.escape(html_pages.scrub_paths(str(e), roots))}</p>", None)
  return f"<h2>Exploration</h2>{html_pages.exploration_html(rows, roots)}", rows


def _label(kind: str, name: Any) -> str:
  """A learner's / method's label from its record ("HeLMS"), else the name as given."""
  try:
    from helms_jax import methods  # pylint: disable=import-outside-toplevel  (imports the agents)
    return (methods.learner if kind == "learner" else methods.method)(name).label
  except (ImportError, ValueError):  # ValueError: ConfigError, not a registered name
    return str(name)


def _env_text(config: dict[str, Any]) -> str:
  env = config.get("env") or {}
  kwargs = env.get("kwargs") or {}
  detail = ", ".join(f"{k} {kwargs[k]}" for k in ("task", "layout", "reward") if kwargs.get(k))
  return f"the {env.get('name', '?')} env" + (f" ({detail})" if detail else "")


def _and(items: Sequence[str]) -> str:
  """"a", "a and b", "a, b and c"."""
  items = list(items)
  return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def _skills_text(analysis: Any) -> str:
  """A sentence on the learnt skills from a HeLMS-style analysis (`dataset` usage statistics,
  `prior_diagonal_mass`); "" when the analysis has none."""
  data = analysis.get("dataset") if isinstance(analysis, dict) else None
  if not isinstance(data, dict) or not isinstance(data.get("usage"), list):
    return ""
  usage = [float(u) for u in data["usage"]]
  k = len(usage)
  used = sum(u > 0.5 / k for u in usage)
  parts = [f"{k} skills; {used} of them used on the dataset (each on more than 1/(2K) of its "
           f"steps)"]
  if data.get("mean_segment_length") is not None:
    parts.append(f"a skill is held {fmt(data['mean_segment_length'])} steps on average")
  if data.get("usage_entropy_normalised") is not None:
    parts.append(f"usage entropy {fmt(data['usage_entropy_normalised'])} of its maximum "
                 f"(1 = every skill equally)")
  if analysis.get("prior_diagonal_mass") is not None:
    parts.append(f"the learned transition prior keeps the current skill with probability "
                 f"{fmt(analysis['prior_diagonal_mass'])} on average")
  return "; ".join(parts) + "."


def _summary(config: dict[str, Any] | None, rows: Sequence[dict[str, Any]],
             evaluation: dict[str, Any] | None, transfer: dict[str, Any] | None,
             claims: dict[str, Any] | None, analysis: Any = None) -> str:
  """The report's opening: what ran and its headline numbers, in sentences."""
  items = []
  config = config or {}
  what = []
  if config.get("experiment"):
    what.append(f"Experiment {config['experiment']} ({config.get('variant', '?')}) on "
                f"{_env_text(config)}.")
  if rows:
    learner = (config.get("learner") or {}).get("name")
    planned = (config.get("train") or {}).get("num_steps")
    done = rows[-1].get("step")
    what.append(f"Offline learner {_label('learner', learner)} trained for {fmt(done)}"
                + (f" of {fmt(planned)}" if planned not in (None, done) else "")
                + " updates.")
  if transfer is not None:
    target = transfer.get("env_steps_per_seed")
    what.append(f"Online method {transfer['label']} trained on the task for "
                f"{fmt(transfer['env_steps'])}"
                + (f" of {fmt(target)}" if target not in (None, transfer["env_steps"]) else "")
                + f" env steps per seed, {len(transfer['seeds'])} seeds.")
  if what:
    items.append("<b>What ran.</b> " + html.escape(" ".join(what)))

  if evaluation is not None:
    policies = {k: v for k, v in evaluation.items() if isinstance(v, dict)}
    learned = policies.get("policy")
    others = {k: v for k, v in policies.items() if k != "policy"}
    if learned is not None and "return_mean" in learned:
      name = (config.get("learner") or {}).get("name")
      learner = f"{_label('learner', name)} " if name else ""
      text = (f"The offline {learner}policy (acting from the learnt model, before any RL) "
              f"scores a mean return of {fmt(learned['return_mean'])}")
      if others:
        text += " against " + _and([f"the {name} baseline's {fmt(row.get('return_mean'))}"
                                    for name, row in others.items()])
      if "success_rate" in learned:
        text += f"; its success rate is {fmt(learned['success_rate'])}"
        baselines = [f"the {name} baseline's {fmt(row['success_rate'])}"
                     for name, row in others.items() if "success_rate" in row]
        text += f" against {_and(baselines)}" if baselines else ""
      text += (f" (checkpoint step {fmt(evaluation.get('checkpoint_step'))}, "
               f"{fmt(evaluation.get('num_episodes'))} episodes each; higher is better).")
      items.append("<b>Evaluation.</b> " + html.escape(text))

  trend = _training_trend(rows)
  if trend:
    items.append("<b>Training.</b> " + html.escape(trend))
  skills = _skills_text(analysis)
  if skills:
    items.append("<b>Skills.</b> " + html.escape(skills))
  if transfer is not None and transfer.get("final_performance"):
    final = {m: r for m, r in transfer["final_performance"].items() if r.get("num_points")}
    if final:
      text = _and([f"{metric.replace('_', ' ')} {pm(row['mean'], row['std'])}"
                   for metric, row in final.items()])
      items.append("<b>Transfer.</b> " + html.escape(
          f"Final {text} (each seed's mean over the last {transfer['last_fraction']:.0%} of "
          "logged points, then mean ± std over seeds; higher is better)."))
    else:
      items.append("<b>Transfer.</b> " + html.escape(
          f"No episode finished yet in {fmt(transfer['env_steps'])} env steps per seed: no "
          "return or success to report."))
  if claims is not None:
    items.append("<b>Paper vs ours.</b> " + html.escape(reproduction.claims_summary(claims)))
  if not items:
    return ""
  return ('<div class="summary"><h2>Summary</h2><ul>'
          + "".join(f"<li>{item}</li>" for item in items) + "</ul></div>")


def _training_trend(rows: Sequence[dict[str, Any]]) -> str:
  """"loss went from a (update s) to b (update t); lower is better." for the training loss, or
  the first learning-signal metric with a direction."""
  keys = {k for r in rows for k in r if k not in _SKIP}
  key = "loss" if "loss" in keys else next(
      (k for k in metric_info.order(keys) if metric_info.direction(k)), None)
  if key is None:
    return ""
  points = []
  for r in rows:
    value = r.get(key)
    if isinstance(value, list):
      finite = [v for v in value if isinstance(v, (int, float)) and math.isfinite(v)]
      value = sum(finite) / len(finite) if finite else None
    if isinstance(value, (int, float)) and math.isfinite(value):
      points.append((r["step"], float(value)))
  if not points:
    return ""
  (s0, first), (s1, last) = points[0], points[-1]
  return (f"{key} went from {fmt(first)} (update {fmt(s0)}) to {fmt(last)} (update {fmt(s1)}); "
          f"{metric_info.direction_note(key)}.")


def _training_section(rows: Sequence[dict[str, Any]], images: dict[str, str]) -> list[str]:
  """The training curves: learning signal, a throughput line, diagnostics folded away."""
  if not rows:
    return ["<p>No training metrics yet.</p>"]
  groups = {g: [k for k in metric_info.order(images) if metric_info.group(k) == g]
            for g in metric_info.GROUPS}
  parts = [f"<h2>Training: {fmt(rows[-1]['step'])} updates</h2>"]
  parts.append(html_pages.figures_html([images[k] for k in groups[metric_info.LEARNING]]))
  rates = []
  for key in groups[metric_info.THROUGHPUT]:
    values = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
    if values:
      unit = metric_info.unit(key)
      rates.append(f"{fmt(float(np.median(values)))} {unit} (median over {len(values)} "
                   f"logging points, last {fmt(float(values[-1]))}; {key})")
  if rates:
    parts.append(f"<p><b>Throughput:</b> {html.escape('; '.join(rates))}.</p>")
  hidden = groups[metric_info.DIAGNOSTIC] + groups[metric_info.THROUGHPUT]
  if hidden:
    parts.append(f"<details><summary>Diagnostics ({len(hidden)} curves: "
                 f"{html.escape(', '.join(hidden))})</summary>"
                 + html_pages.figures_html([images[k] for k in hidden]) + "</details>")
  return parts


def _read_json_or_none(path: str) -> Any:
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def write_run_report(workdir: str, title: str = "helms_jax run") -> str:
  """Writes `<workdir>/report/` and returns its path."""
  out_dir = os.path.join(workdir, "report")
  os.makedirs(out_dir, exist_ok=True)
  roots = html_pages.path_roots((workdir, "<workdir>"))
  rows = read_jsonl(os.path.join(workdir, "metrics.jsonl"))
  keys = sorted({k for r in rows for k in r if k not in _SKIP})
  files = plot_curves(rows, keys, out_dir) if rows else []
  images = {k: f"curve_{k.replace('/', '_')}.png" for k in keys}
  images = {k: f for k, f in images.items() if f in files}  # metrics with a value: plotted
  evaluation = _read_json_or_none(os.path.join(workdir, "eval.json"))
  config_text, config = "", None
  config_path = os.path.join(workdir, "config.json")
  if os.path.exists(config_path):
    with open(config_path) as f:
      config_text = f.read()
    try:
      config = json.loads(config_text)
    except ValueError:
      logging.warning("%s: not JSON, left out of the summary", config_path)
  claims = _read_json_or_none(os.path.join(workdir, "claims.json"))

  transfer_html, transfer, transfer_images = _transfer_section(workdir, out_dir, roots)
  exploration_part, exploration = _exploration_section(workdir, roots)
  analysis = _load_analysis(workdir, out_dir, files + transfer_images)

  summary = {"final_train_metrics": rows[-1] if rows else None, "evaluation": evaluation}
  if analysis is not None:
    summary["analysis"] = analysis[1]
  if transfer is not None:
    summary["transfer"] = io.json_safe(transfer)
  if exploration is not None:
    summary["exploration"] = io.json_safe(exploration)
  io.atomic_write_json(os.path.join(out_dir, "metrics.json"), summary, sort_keys=False)

  run_name = os.path.basename(os.path.normpath(workdir))
  parts = [f"<h1>{html.escape(title)}</h1>",
           f"<p class='note'>Run directory: {html.escape(run_name)}. Paths below are shown "
           "relative to it (&lt;workdir&gt;/…) or to the repository.</p>",
           _summary(config, rows, evaluation, transfer, claims,
                    analysis[1] if analysis is not None else None)]
  if claims is not None:
    parts.append(reproduction.claims_html(claims))
  if evaluation is not None:
    policies = {k: v for k, v in evaluation.items() if isinstance(v, dict)}
    parts.append(f"<h2>Evaluation (checkpoint step {fmt(evaluation.get('checkpoint_step'))}, "
                 f"{fmt(evaluation.get('num_episodes'))} episodes)</h2>"
                 f"{_evaluation_table(policies)}")
  parts.extend(_training_section(rows, images))
  if analysis is not None:
    figures, metrics = analysis
    parts.append("<h2>Analysis</h2>")
    parts.append(html_pages.figures_html(
        [name for name, _ in figures],
        {name: html_pages.scrub_paths(caption, roots) for name, caption in figures}))
    if metrics:
      parts.append(f"<h3>Analysis metrics</h3>{_metrics_html(metrics)}")
  parts.extend(p for p in (transfer_html, exploration_part) if p)
  parts.append("<h2>Config</h2>" + (
      "<details><summary>config.json</summary><pre>"
      f"{html.escape(html_pages.scrub_paths(config_text, roots))}</pre></details>"
      if config_text else "<p>No config.json in the run directory.</p>"))
  io.atomic_write_text(os.path.join(out_dir, "index.html"), html_pages.page(title, parts))
  return out_dir

"""HTML for the reports: tables, number formatting and the page around them.

Numbers are shown with 4 significant digits, missing / non-finite values as "–", and a mean with
its std as "mean ± std". Cells given as text are escaped here; `page` wraps already formatted
parts in one page with the reports' style.
"""

from __future__ import annotations

import html
import math
from typing import Any, Sequence

from helms_jax.analysis.run_curves import RunCurves

# Known exploration columns, in display order; `<name>_std` is shown as `<name>` ± std.
EXPLORATION_COLUMNS = ("method", "dense_return", "staged_return", "sparse_return",
                       "rgb_shaped_return", "rgb_staged_return", "rgb_sparse_return",
                       "joint_variance", "grasp_variance", "object_variance", "num_episodes")

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
  """The rows of `statistics.final_performance_table` as a table."""
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
  """A whole HTML page: `title` (escaped here) and the already formatted `parts`."""
  return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
          f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")


def runs_html(runs: Sequence[RunCurves], names: Sequence[str]) -> str:
  """A table of the compared runs: name, label, experiment, variant, seeds, env steps, commit,
  directory, command (`names`: one display name per run)."""
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

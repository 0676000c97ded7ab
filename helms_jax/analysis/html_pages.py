"""HTML for the reports: number formatting, tables, paths as a reader sees them, the page.

Numbers (`fmt`): floats to 3 significant figures, written out with thousands separators from
0.001 up to a million (0.066412 -> "0.0664", 55.123 -> "55.1", 1234.5 -> "1,230") and in
scientific notation outside that range (1234567.0 -> "1.23e+06", 0.00012345 -> "1.23e-04"),
trailing zeros dropped (1.0 -> "1"); integers are counts (steps, seeds, episodes) and are shown
exactly, with thousands separators (1234567 -> "1,234,567"); missing values (None, NaN) are "–".
A mean with its std is "mean ± std" (`pm`).

Structured values (`value_html`, e.g. an analysis's metrics): a dict is a key/value table
(nested dicts nested tables), a list of dicts a table with a row per item, a matrix a grid,
a list of numbers the numbers; never a JSON dump.

Paths (`display_path`, `display_command`, `scrub_paths`): a report never shows where the machine
that made it keeps things. A path under a known root is shown relative to it: the repository
(`REPO_ROOT`, shown relative: "experiments/x.py") and the run directories, shown as a
placeholder ("<workdir>/data", "<runs>/spirl"); any other absolute path as "…/<its name>". A
command shows its entry point by name ("helms-transfer", "python"), not the interpreter's path.

Cells given as text are escaped here (`Html` marks text that already is HTML); `page` wraps
formatted parts in one page with the reports' style (images and tables never wider than it).
"""

from __future__ import annotations

import html
import math
import os
import re
import shlex
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from helms_jax.analysis.run_curves import RunCurves

SIGNIFICANT = 3  # significant figures of floats in reports
MAX_LIST = 12  # numbers of a list shown before "… (N values)"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Known exploration columns, in display order; `<name>_std` is shown as `<name>` ± std.
EXPLORATION_COLUMNS = ("method", "dense_return", "staged_return", "sparse_return",
                       "rgb_shaped_return", "rgb_staged_return", "rgb_sparse_return",
                       "joint_variance", "grasp_variance", "object_variance", "num_episodes")

STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1400px}"
    "table{border-collapse:collapse;margin:4px 0}"
    "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}"
    "table table td,table table th{padding:2px 6px;font-size:0.95em}"
    ".scroll{overflow-x:auto;max-width:100%}"
    "img{margin:4px;max-width:100%;height:auto}"
    "figure{display:inline-table;margin:8px;vertical-align:top}"
    "figcaption{display:table-caption;caption-side:bottom;font-size:0.9em;color:#333}"
    "code{overflow-wrap:anywhere;font-size:0.9em}code.commit{white-space:nowrap}"
    "code.command{display:inline-block;min-width:24em}"
    "details{margin:8px 0}summary{cursor:pointer;font-weight:bold}"
    ".summary{background:#f4f6f8;border-left:4px solid #3a7;padding:4px 16px;margin:8px 0}"
    ".note{color:#555;font-size:0.9em}")


class Html(str):
  """Text that already is HTML: the tables here do not escape it again."""


def fmt(value: Any) -> str:
  """A number (or any value) as report text; the rules are in the module docstring."""
  if value is None:
    return "–"
  if isinstance(value, (bool, np.bool_)):
    return "yes" if value else "no"
  if isinstance(value, (int, np.integer)):
    return f"{int(value):,}"
  if isinstance(value, (float, np.floating)):
    x = float(value)
    if math.isnan(x):
      return "–"
    if math.isinf(x):
      return "inf" if x > 0 else "-inf"
    if x == 0.0:
      return "0"
    rounded = float(f"{x:.{SIGNIFICANT - 1}e}")
    exponent = math.floor(math.log10(abs(rounded)))
    if -3 <= exponent < 6:
      text = f"{rounded:,.{max(0, SIGNIFICANT - 1 - exponent)}f}"
      return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, power = f"{rounded:.{SIGNIFICANT - 1}e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{power}"
  return str(value)


def _missing(value: Any) -> bool:
  return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


def pm(mean: Any, std: Any) -> str:
  """"mean ± std", or the mean alone without a std."""
  if _missing(std):
    return fmt(mean)
  return f"{fmt(mean)} ± {fmt(std)}"


# ----------------------------------------------------------------------------------------------
# Paths.

# An absolute path: "/" not inside a word, a relative path, a URL or an already displayed path
# ("<runs>/a", "…/a"), so scrubbing a published (restored) record again leaves it as it is.
_PATH = re.compile(r"(?<![\w.~:/)\]>…-])/[\w.+@~-]+(?:/[\w.+@~-]+)*/?")


def path_roots(*roots: tuple[str, str]) -> list[tuple[str, str]]:
  """(directory, label) pairs for `display_path`, most specific first, with the repository
  (label "": paths shown relative to it) added; "/" and empty directories are dropped."""
  out = {}
  for directory, label in list(roots) + [(REPO_ROOT, "")]:
    if directory:
      directory = os.path.normpath(os.path.abspath(directory))
      if directory != os.sep and directory not in out:
        out[directory] = label
  return sorted(out.items(), key=lambda item: -len(item[0]))


def display_path(path: str, roots: Sequence[tuple[str, str]]) -> str:
  """`path` relative to the first root (of `path_roots`) holding it: "<label>/rest" (or "rest"
  for the label ""); a relative path as given; any other absolute path as "…/<its name>"."""
  if not os.path.isabs(path):
    return path
  normal = os.path.normpath(path)
  for directory, label in roots:
    if normal == directory:
      return label or "."
    if normal.startswith(directory + os.sep):
      rest = normal[len(directory) + 1:]
      return f"{label}/{rest}" if label else rest
  return "…/" + os.path.basename(normal)


def scrub_paths(text: str, roots: Sequence[tuple[str, str]]) -> str:
  """`text` (not yet HTML) with every absolute path in it replaced by `display_path`."""
  return _PATH.sub(lambda m: display_path(m.group(0), roots), text)


def scrub_tree(tree: Any, roots: Sequence[tuple[str, str]]) -> Any:
  """`tree` (nested dicts, lists and leaves, e.g. a summary written as JSON) with every string
  passed through `scrub_paths` (a "command" entry through `display_command`), so a published
  file names no directory of this machine."""
  if isinstance(tree, str):
    return scrub_paths(tree, roots)
  if isinstance(tree, dict):
    return {k: (display_command(v, roots) if k == "command" and isinstance(v, str)
                else scrub_tree(v, roots)) for k, v in tree.items()}
  if isinstance(tree, (list, tuple)):
    return [scrub_tree(v, roots) for v in tree]
  return tree


def display_command(command: str, roots: Sequence[tuple[str, str]]) -> str:
  """A command line as a reader runs it: the entry point by name ("helms-transfer", "python",
  a script relative to the repository), every path argument through `display_path`."""
  try:
    tokens = shlex.split(command)
  except ValueError:
    tokens = command.split()
  if not tokens:
    return command
  first = display_path(tokens[0], roots)
  name = os.path.basename(tokens[0])
  if first.startswith("…/") or name.startswith("python"):
    first = "python" if re.fullmatch(r"python[\d.]*", name) else name
  words = [first] + [scrub_paths(t, roots) for t in tokens[1:]]
  return " ".join(shlex.quote(w) if re.search(r"[\s'\"]", w) else w for w in words)


# ----------------------------------------------------------------------------------------------
# Tables.


def _cell(value: Any) -> str:
  if isinstance(value, Html):
    return value
  return html.escape(value if isinstance(value, str) else fmt(value))


def scroll(table: str) -> str:
  """`table` in a box that scrolls sideways instead of widening the page."""
  return f'<div class="scroll">{table}</div>'


def html_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
  """A table: text cells escaped, `Html` cells as they are, numbers through `fmt`."""
  head = "".join(f"<th>{_cell(h)}</th>" for h in header)
  body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>"
                 for row in rows)
  return scroll(f"<table><tr>{head}</tr>{body}</table>")


def _scalar(value: Any) -> bool:
  return value is None or isinstance(value, (str, bool, int, float, np.generic))


def _numbers(values: Sequence[Any]) -> str:
  shown = [fmt(v) for v in values[:MAX_LIST]]
  more = f", … ({len(values):,} values)" if len(values) > MAX_LIST else ""
  return html.escape(", ".join(shown) + more)


def value_html(value: Any) -> str:
  """A JSON-like value as HTML: dicts as key/value tables (nested ones nested), lists of dicts
  as a table with a row per item, lists of equal-length number lists as a grid (row and column
  indices in the headers), lists of numbers inline; numbers through `fmt`."""
  if isinstance(value, Mapping):
    if not value:
      return "–"
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{value_html(v)}</td></tr>"
                   for k, v in value.items())
    return f"<table>{rows}</table>"
  if isinstance(value, np.ndarray):
    value = value.tolist()
  if isinstance(value, (list, tuple)):
    if not value:
      return "–"
    if all(_scalar(v) for v in value):
      return _numbers(list(value))
    if all(isinstance(v, Mapping) for v in value):
      columns = list(dict.fromkeys(k for v in value for k in v))
      head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
      body = "".join("<tr>" + "".join(f"<td>{value_html(v.get(c))}</td>" for c in columns)
                     + "</tr>" for v in value)
      return f"<table><tr>{head}</tr>{body}</table>"
    widths = {len(v) if isinstance(v, (list, tuple)) else -1 for v in value}
    if (len(widths) == 1 and min(widths) > 0 and len(value) <= 32 and max(widths) <= 32
        and all(_scalar(x) for v in value for x in v)):
      head = "<th></th>" + "".join(f"<th>{j}</th>" for j in range(max(widths)))
      body = "".join(f"<tr><th>{i}</th>" + "".join(f"<td>{html.escape(fmt(x))}</td>" for x in v)
                     + "</tr>" for i, v in enumerate(value))
      return f"<table><tr>{head}</tr>{body}</table>"
    return "<br>".join(value_html(v) for v in value)
  return html.escape(fmt(value))


def final_performance_html(rows: Sequence[dict[str, Any]], step_unit: str = "env steps") -> str:
  """The rows of `statistics.final_performance_table` as a table (steps counted in
  `step_unit`: env steps, or an offline run's updates)."""
  header = ("run", "seeds", f"{step_unit} per seed", "averaged over", "mean ± std over seeds",
            "per seed")
  cells = []
  for r in rows:
    target = r.get("env_steps_per_seed")
    steps = fmt(r["env_steps"]) + (f" / {fmt(target)}" if target and target != r["env_steps"]
                                   else "")
    window = (("the last point" if r["num_points"] == 1 else f"last {r['num_points']} points")
              + f" (from {fmt(r['from_env_steps'])})" if r["num_points"] else "no points")
    seeds = f"{len(r['seeds'])}" + (f" ({r['seeds_with_data']} with data)"
                                    if r["seeds_with_data"] < len(r["seeds"]) else "")
    cells.append((r["name"], seeds, steps, window, pm(r["mean"], r["std"]),
                  ", ".join(fmt(v) for v in r["per_seed"])))
  return html_table(header, cells)


def exploration_html(rows: Sequence[dict[str, Any]],
                     roots: Sequence[tuple[str, str]] = ()) -> str:
  """Known columns first (`x` with `x_std` shown as x ± std), then any others; a "source"
  column (a directory) through `display_path`."""
  keys = list(dict.fromkeys([k for k in EXPLORATION_COLUMNS if any(k in r for r in rows)] +
                            [k for r in rows for k in r]))
  keys = [k for k in keys if not (k.endswith("_std") and k[:-4] in keys)]

  def cell(row, key):
    if f"{key}_std" in row:
      return pm(row.get(key), row.get(f"{key}_std"))
    if key == "source" and isinstance(row.get(key), str):
      return display_path(row[key], roots)
    return fmt(row.get(key))

  return html_table(keys, [tuple(cell(r, k) for k in keys) for r in rows])


def page(title: str, parts: Sequence[str]) -> str:
  """A whole HTML page: `title` (escaped here) and the already formatted `parts`."""
  return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
          f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")


def figures_html(files: Iterable[str], captions: Mapping[str, str] | None = None) -> str:
  """Each PNG of `files` as a figure with its caption (escaped here), if any."""
  captions = captions or {}
  out = []
  for name in files:
    caption = captions.get(name, "")
    out.append(f'<figure><img src="{html.escape(name)}" alt="{html.escape(caption or name)}">'
               + (f"<figcaption>{html.escape(caption)}</figcaption>" if caption else "")
               + "</figure>")
  return "".join(out)


def runs_root(run_dirs: Sequence[str]) -> str:
  """The directory holding all of `run_dirs` (shown as "<runs>"), "" when it is "/"."""
  if not run_dirs:
    return ""
  parents = [os.path.dirname(os.path.normpath(os.path.abspath(d))) for d in run_dirs]
  common = os.path.commonpath(parents)
  return "" if common == os.sep else common


def runs_html(runs: Sequence[RunCurves], names: Sequence[str],
              roots: Sequence[tuple[str, str]] | None = None) -> str:
  """A table of the compared runs: name, experiment:variant, seeds, env steps per seed, commit,
  directory and command (`names`: one display name per run; paths through `display_path` with
  `roots`, by default the runs' common directory as "<runs>")."""
  if roots is None:
    roots = path_roots((runs_root([r.run_dir for r in runs]), "<runs>"))
  unit = " / ".join(sorted({r.step_unit for r in runs})) or "env steps"
  header = ("run", "experiment: variant", "seeds", f"{unit} per seed", "commit", "directory",
            "command")
  cells = []
  for name, run in zip(names, runs):
    done = int(run.env_steps[-1]) if run.num_points else 0
    target = run.info.get("env_steps_per_seed")
    command = run.info.get("command")
    commit = run.info.get("commit")
    variant = f"{fmt(run.info.get('experiment'))}: {fmt(run.info.get('variant'))}"
    cells.append((
        name, Html(html.escape(variant).replace(",", ",<wbr>")),  # may break after a comma
        ", ".join(map(str, run.seeds)),
        fmt(done) + (f" / {fmt(target)}" if target is not None and target != done else ""),
        Html(f"<code class='commit'>{html.escape(commit[:10])}</code>")
        if isinstance(commit, str) else "–",
        display_path(os.path.abspath(run.run_dir), roots),
        Html(f"<code class='command'>{html.escape(display_command(command, roots))}</code>")
        if isinstance(command, str) else "–"))
  return html_table(header, cells)

"""helms-bench: Runs every benchmark in `benchmarks/` and writes one table (markdown + JSON).

Each `benchmarks/*.py` (sorted; files starting with `_` skipped) runs as a subprocess with this
Python, cwd = the repo root, `--quick` passed through; its last stdout line `<name> ratio: <x>`
(ours over the baseline, higher is better) is the figure. A benchmark that exits non-zero, times
out or prints no ratio line becomes an error row (status `failed` / `timeout` / `no ratio line`
with the tail of its stderr); the run goes on. The table leads with the machine's details (UTC
date, platform, Python, CPU model and count, RAM, load average, jax/jaxlib/flax/mujoco versions,
git commit) since the ratios are only meaningful with them.

  helms-bench --quick                          # all, about a minute each → docs/benchmarks.{md,json}
  helms-bench --only=scaling,population --timeout=600 --out=/tmp/bench
  helms-bench --benchmarks_dir=path/to/checkout/benchmarks

Benchmarks are scripts in the source checkout, not part of the installed package: with a
non-editable install, run from a checkout or pass --benchmarks_dir. Exits 1 (after writing the
table) if any benchmark did not produce a ratio.
"""

from __future__ import annotations

import ast
import datetime
import glob
import importlib.metadata
import json
import math
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import time
from typing import Any, Sequence

from absl import app, flags

from helms_jax import io

_QUICK = flags.DEFINE_bool("quick", False, "Pass --quick to every benchmark (about a minute each).")
_TIMEOUT = flags.DEFINE_float("timeout", 900.0, "Per-benchmark timeout in seconds.")
_ONLY = flags.DEFINE_list("only", [], "Run only these benchmarks (names without .py).")
_OUT = flags.DEFINE_string(
    "out", None, "Output prefix: writes <out>.md and <out>.json (default: <repo>/docs/benchmarks).")
_BENCHMARKS_DIR = flags.DEFINE_string(
    "benchmarks_dir", None, "Directory of benchmark scripts (default: the checkout's benchmarks/, "
    "found next to launch/); they run with cwd = its parent directory.")

RATIO_RE = re.compile(r"^\s*(?P<name>\S+) ratio:\s*(?P<value>\S+)\s*$")
STATUS_OK, STATUS_FAILED, STATUS_TIMEOUT, STATUS_NO_RATIO = "ok", "failed", "timeout", "no ratio line"
TAIL_CHARS = 1500
SHARED_OTHER_CORES = 0.3  # other processes' mean busy cores above which a row is flagged
VERSION_PACKAGES = ("jax", "jaxlib", "flax", "mujoco", "mujoco-mjx", "brax", "optax", "numpy")


def default_benchmarks_dir() -> str:
  return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")


def find_benchmarks(benchmarks_dir: str, only: Sequence[str] = ()) -> list[str]:
  """Sorted `*.py` paths in `benchmarks_dir` (not `_*`), restricted to `only` names if given."""
  if not os.path.isdir(benchmarks_dir):
    raise FileNotFoundError(
        f"no benchmarks directory at {benchmarks_dir}: the benchmarks are scripts in the source "
        f"checkout (not installed with the package); run helms-bench from an editable install of "
        f"a checkout or pass --benchmarks_dir=<checkout>/benchmarks")
  paths = sorted(p for p in glob.glob(os.path.join(benchmarks_dir, "*.py"))
                 if not os.path.basename(p).startswith("_"))
  if only:
    by_name = {benchmark_name(p): p for p in paths}
    unknown = [n for n in only if n not in by_name]
    if unknown:
      raise ValueError(f"unknown benchmark(s) {', '.join(unknown)}; available: "
                       f"{', '.join(sorted(by_name))}")
    paths = [by_name[n] for n in sorted(set(only))]
  return paths


def benchmark_name(path: str) -> str:
  return os.path.splitext(os.path.basename(path))[0]


def first_doc_line(path: str) -> str:
  """The summary line of the script's module docstring, read with `ast` (nothing imported).

  A summary wrapped over several lines (up to the first blank line) is joined into one.
  """
  try:
    with open(path, encoding="utf-8") as f:
      doc = ast.get_docstring(ast.parse(f.read(), filename=path))
  except (OSError, SyntaxError, ValueError):
    return ""
  if not doc or not doc.strip():
    return ""
  return " ".join(re.split(r"\n\s*\n", doc.strip())[0].split())


def parse_ratio(stdout: str) -> tuple[str, float] | None:
  """`(name, ratio)` from the last non-empty stdout line if it is `<name> ratio: <x>`."""
  lines = [l for l in stdout.splitlines() if l.strip()]
  if not lines:
    return None
  match = RATIO_RE.match(lines[-1])
  if not match:
    return None
  try:
    return match.group("name"), float(match.group("value"))
  except ValueError:
    return None


def _tail(text: str, chars: int = TAIL_CHARS) -> str:
  text = text.strip()
  return text if len(text) <= chars else "…" + text[-chars:]


def _busy_cpu_seconds() -> float | None:
  """CPU seconds all processes have been busy since boot (/proc/stat), None where unreadable."""
  stat = _read("/proc/stat")
  if not stat or not stat.startswith("cpu "):
    return None
  # user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait.
  fields = [int(x) for x in stat.splitlines()[0].split()[1:]]
  busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)
  return busy / os.sysconf("SC_CLK_TCK")


def _children_cpu_seconds() -> float:
  usage = resource.getrusage(resource.RUSAGE_CHILDREN)
  return usage.ru_utime + usage.ru_stime


def run_benchmark(path: str, *, quick: bool, timeout: float, cwd: str) -> dict[str, Any]:
  """Runs one benchmark script; never raises for the script's own failures.

  `other_cpu_cores` is how many cores other processes kept busy on average while it ran (the
  machine's busy CPU time minus the benchmark's own, over the wall time): near 0 on a quiet
  machine; on a shared one the benchmark's figures are depressed and its ratio less reliable.
  """
  name = benchmark_name(path)
  cmd = [sys.executable, path] + (["--quick"] if quick else [])
  env = dict(os.environ, PYTHONUNBUFFERED="1")
  row: dict[str, Any] = {"name": name, "ratio": None, "status": None, "wall_s": None,
                         "meaning": first_doc_line(path), "command": " ".join(
                             [os.path.basename(sys.executable), os.path.relpath(path, cwd)] +
                             (["--quick"] if quick else [])),
                         "returncode": None, "stderr_tail": "", "stdout_tail": ""}
  busy0, own0 = _busy_cpu_seconds(), _children_cpu_seconds()
  start = time.perf_counter()
  # Own session, so a timeout kills the benchmark's subprocesses too (scaling.py spawns some).
  proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, start_new_session=True)
  try:
    stdout, stderr = proc.communicate(timeout=timeout)
  except subprocess.TimeoutExpired:
    try:
      os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
      pass
    stdout, stderr = proc.communicate()
    _other_load(row, busy0, own0, time.perf_counter() - start)
    row.update(status=STATUS_TIMEOUT, wall_s=time.perf_counter() - start,
               stderr_tail=_tail(f"timed out after {timeout:g} s\n{stderr or ''}"),
               stdout_tail=_tail(stdout or ""))
    return row
  row["wall_s"] = time.perf_counter() - start
  _other_load(row, busy0, own0, row["wall_s"])
  row["returncode"] = proc.returncode
  row["stdout_tail"] = _tail(stdout, 4000)
  parsed = parse_ratio(stdout)
  if proc.returncode != 0:
    row.update(status=STATUS_FAILED,
               stderr_tail=_tail(stderr or f"exit code {proc.returncode}, no stderr"))
  elif parsed is None:
    row.update(status=STATUS_NO_RATIO,
               stderr_tail=_tail(stderr) or "(no stderr; last stdout line: "
               f"{(stdout.strip().splitlines() or [''])[-1][:200]!r})")
  else:
    ratio_name, ratio = parsed
    row.update(status=STATUS_OK, ratio=ratio if math.isfinite(ratio) else None)
    if not math.isfinite(ratio):
      row["status"] = STATUS_NO_RATIO
      row["stderr_tail"] = f"ratio is not finite: {ratio}"
    if ratio_name != name:
      row["ratio_name"] = ratio_name
  return row


def _other_load(row: dict[str, Any], busy0: float | None, own0: float, wall: float) -> None:
  busy1 = _busy_cpu_seconds()
  if busy0 is None or busy1 is None or wall <= 0:
    row["other_cpu_cores"] = None
    return
  own = _children_cpu_seconds() - own0
  row["other_cpu_cores"] = round(max(busy1 - busy0 - own, 0.0) / wall, 2)


def _read(path: str) -> str | None:
  try:
    with open(path, encoding="utf-8", errors="replace") as f:
      return f.read()
  except OSError:
    return None


def machine_info(quick: bool, repo: str) -> dict[str, Any]:
  """Details the ratios depend on; no hostname or user names."""
  info: dict[str, Any] = {
      "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
      "platform": platform.platform(),
      "machine": platform.machine(),
      "python": platform.python_version(),
      "cpu_count": os.cpu_count(),
      "quick": quick,
  }
  cpuinfo = _read("/proc/cpuinfo")
  if cpuinfo:
    models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    if models:
      info["cpu_model"] = models[0].strip()
  meminfo = _read("/proc/meminfo")
  if meminfo:
    match = re.search(r"^MemTotal:\s*(\d+)\s*kB", meminfo, re.M)
    if match:
      info["ram_gib"] = round(int(match.group(1)) / 2**20, 1)
  try:
    load = os.getloadavg()
    info["load_average_at_start"] = [round(x, 2) for x in load]
    info["possibly_shared"] = load[0] > (os.cpu_count() or 1)
  except OSError:
    pass
  versions = {}
  for package in VERSION_PACKAGES:
    try:
      versions[package] = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
      pass
  info["versions"] = versions
  git = io.git_state(repo)
  if git:
    info["git"] = git
  return info


def _cell(text: Any) -> str:
  return str(text).replace("|", "\\|").replace("\n", " ")


def _printed_table(stdout: str) -> str:
  """A benchmark's output without progress and log lines (the table and the ratio line)."""
  keep = [line for line in stdout.splitlines()
          if line.strip() and not re.match(r"^[IWE]\d{4} ", line) and "first call" not in line
          and not line.startswith(("Failed to import", "part 1:", "part 2:"))]
  return "\n".join(keep[-40:])


def to_markdown(machine: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str:
  lines = ["# Benchmarks", "",
           "Generated by `helms-bench" + (" --quick" if machine.get("quick") else "") + "`. Each "
           "ratio is the benchmark's own figure over its baseline measured in the same process "
           "(higher is better); see the script's docstring in `benchmarks/` for what is compared "
           "and for figures measured on a quiet machine.", ""]
  if machine.get("possibly_shared"):
    lines += [f"**Note:** the load average at start ({machine['load_average_at_start'][0]}) "
              f"exceeded the core count ({machine['cpu_count']}): figures are from a possibly "
              "shared machine, other jobs were competing for the cores.", ""]
  busy = [r["name"] for r in rows if (r.get("other_cpu_cores") or 0) > SHARED_OTHER_CORES]
  if busy:
    lines += [f"**Note:** other processes kept more than {SHARED_OTHER_CORES} of the "
              f"{machine.get('cpu_count')} cores busy while {', '.join(busy)} ran (column "
              "'other load'): those figures are from a shared machine.", ""]
  versions = ", ".join(f"{k} {v}" for k, v in machine.get("versions", {}).items())
  git = machine.get("git")
  details = [
      ("date", machine.get("date_utc")),
      ("platform", f"{machine.get('platform')} ({machine.get('machine')})"),
      ("python", machine.get("python")),
      ("cpu", f"{machine.get('cpu_model', 'unknown model')}, {machine.get('cpu_count')} cores "
              "(os.cpu_count())"),
      ("ram", f"{machine['ram_gib']} GiB" if "ram_gib" in machine else "unknown"),
      ("load average at start (1/5/15 min)",
       " / ".join(str(x) for x in machine.get("load_average_at_start", [])) or "unknown"),
      ("load average at end",
       " / ".join(str(x) for x in machine.get("load_average_at_end", [])) or "unknown"),
      ("versions", versions or "unknown"),
      ("git commit", (git["commit"] + (" (with uncommitted changes to tracked files)"
                                       if git["modified_tracked_files"] else "")) if git else
       "not a git checkout"),
      ("--quick", "yes" if machine.get("quick") else "no"),
  ]
  lines += [f"- {k}: {_cell(v)}" for k, v in details] + [""]
  lines += ["| benchmark | ratio | status | wall (s) | other load (cores) | measured (UTC) | "
            "ratio of |", "|---|---:|---|---:|---:|---|---|"]
  for row in rows:
    ratio = f"{row['ratio']:.3g}" if row.get("ratio") is not None else "—"
    wall = f"{row['wall_s']:.1f}" if row.get("wall_s") is not None else "—"
    other = row.get("other_cpu_cores")
    other = f"{other:.2f}" if other is not None else "—"
    lines.append(f"| {_cell(row['name'])} | {ratio} | {_cell(row['status'])} | {wall} | {other} | "
                 f"{_cell(row.get('measured_utc', machine.get('date_utc')))} | "
                 f"{_cell(row.get('meaning', ''))} |")
  lines += ["", "Other load: cores kept busy by other processes while the benchmark ran, on "
            "average (machine busy CPU time from /proc/stat minus the benchmark's own); above "
            "about 0.3 the benchmark competed for the cores and its figures are less reliable."]
  printed = [r for r in rows if r["status"] == STATUS_OK and r.get("stdout_tail")]
  if printed:
    lines += ["", "## Side by side: what each benchmark printed", "",
              "Each benchmark's own table (ours and its baselines, same run), as it printed it."]
    for row in printed:
      lines += ["", f"### {row['name']}", "", "```",
                _printed_table(row["stdout_tail"]).replace("```", "'''"), "```"]
  errors = [r for r in rows if r["status"] != STATUS_OK]
  if errors:
    lines += ["", "## Errors", ""]
    for row in errors:
      lines += [f"### {row['name']}: {row['status']}", "", "```",
                row.get("stderr_tail", "").replace("```", "'''"), "```", ""]
  total = sum(r["wall_s"] or 0.0 for r in rows)
  lines += ["", f"Total wall time: {total:.0f} s for {len(rows)} benchmarks."]
  return "\n".join(lines).rstrip() + "\n"


def write_outputs(out_prefix: str, machine: dict[str, Any],
                  rows: Sequence[dict[str, Any]]) -> tuple[str, str]:
  """Writes `<out_prefix>.md` and `<out_prefix>.json` atomically; returns both paths."""
  md_path, json_path = out_prefix + ".md", out_prefix + ".json"
  payload = {"machine": machine, "benchmarks": list(rows),
             "total_wall_s": round(sum(r["wall_s"] or 0.0 for r in rows), 2)}
  for path in (json_path, md_path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  io.atomic_write_text(json_path, json.dumps(payload, indent=2, sort_keys=False) + "\n")
  io.atomic_write_text(md_path, to_markdown(machine, rows))
  return md_path, json_path


def run_all(benchmarks_dir: str, out_prefix: str, *, quick: bool, timeout: float,
            only: Sequence[str] = (), log=print) -> list[dict[str, Any]]:
  """Runs the benchmarks one after the other, rewriting the table after each one. With `only`,
  the other rows of an existing `<out_prefix>.json` of the same --quick setting are kept (each
  row says when it was measured), so rerunning one benchmark does not drop the rest."""
  paths = find_benchmarks(benchmarks_dir, only)
  repo = os.path.dirname(os.path.abspath(benchmarks_dir))
  machine = machine_info(quick, repo)
  rows: list[dict[str, Any]] = []
  kept: dict[str, dict[str, Any]] = {}
  if only and os.path.isfile(out_prefix + ".json"):
    with open(out_prefix + ".json") as f:
      previous = json.load(f)
    if previous.get("machine", {}).get("quick") == quick:
      kept = {r["name"]: r for r in previous.get("benchmarks", [])}
  rerun = {benchmark_name(p) for p in paths}
  for i, path in enumerate(paths):
    log(f"[{i + 1}/{len(paths)}] {benchmark_name(path)} ...")
    row = run_benchmark(path, quick=quick, timeout=timeout, cwd=repo)
    row["measured_utc"] = machine["date_utc"]
    ratio = f"ratio {row['ratio']:.3g}" if row["ratio"] is not None else row["status"]
    log(f"    {ratio} ({row['wall_s']:.1f} s)")
    rows.append(row)
    try:
      machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
      pass
    merged = rows + [r for name, r in kept.items() if name not in rerun]
    write_outputs(out_prefix, machine, sorted(merged, key=lambda r: r["name"]))
  return rows


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  benchmarks_dir = os.path.abspath(_BENCHMARKS_DIR.value or default_benchmarks_dir())
  repo = os.path.dirname(benchmarks_dir)
  out_prefix = os.path.abspath(_OUT.value) if _OUT.value else os.path.join(repo, "docs",
                                                                            "benchmarks")
  try:
    rows = run_all(benchmarks_dir, out_prefix, quick=_QUICK.value, timeout=_TIMEOUT.value,
                   only=_ONLY.value)
  except (FileNotFoundError, ValueError) as error:
    sys.exit(f"error: {error}")
  if not rows:
    sys.exit(f"error: no benchmarks found in {benchmarks_dir}")
  print(f"Wrote {out_prefix}.md and {out_prefix}.json")
  failed = [r["name"] for r in rows if r["status"] != STATUS_OK]
  if failed:
    print(f"{len(failed)} benchmark(s) without a ratio: {', '.join(failed)}")
    sys.exit(1)


def run():
  app.run(main)


if __name__ == "__main__":
  run()

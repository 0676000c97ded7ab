"""helms-report: Writes the run's report (plots, HTML, metrics JSON), or compares transfer runs.

One run (its workdir's report/):
  helms-report --config=experiments/helms_stacking.py:tiny --workdir=runs/tiny
Several transfer runs (learning curves over seeds, final performance, exploration) into --out:
  helms-report --runs='runs/cat,runs/mix,runs/mpo_*' --out=runs/comparison
Concurrent-skill CVAE runs (one per objective; Figure 3, `analysis/concurrent.py`) likewise:
  helms-report --runs=runs/cvae_original,runs/cvae_variational,runs/cvae_non_variational \
      --out=runs/concurrent_comparison
"""

import json
import os
import sys

from absl import app, flags

from helms_jax import runner
from helms_jax.analysis import compare, concurrent, runs
from launch import common

_RUNS = flags.DEFINE_string(
    "runs", None, "Comma-separated transfer run directories and/or globs to compare (each holds "
    "transfer/curves.jsonl); writes the comparison report into --out instead of one run's report.")
_OUT = flags.DEFINE_string("out", None, "Output directory of the --runs comparison report.")
_TITLE = flags.DEFINE_string("title", "helms_jax comparison", "Title of the --runs report.")
_LAST_FRACTION = flags.DEFINE_float(
    "last_fraction", 0.1, "Final performance: each seed's mean over this last fraction of points.")
_SMOOTHING = flags.DEFINE_integer(
    "smoothing", 1, "Comparison curves: trailing mean over this many points per seed (1: none).")


def _compare() -> None:
  if not _OUT.value:
    raise app.UsageError("--out is required with --runs")
  if flags.FLAGS.workdir:
    raise app.UsageError("give either --workdir (one run's report) or --runs (a comparison)")
  try:
    if _concurrent_runs(_RUNS.value):
      run_dirs = [d.strip() for d in _RUNS.value.split(",") if d.strip()]
      index = concurrent.compare_objectives(run_dirs, _OUT.value,
                                            last_fraction=_LAST_FRACTION.value)
      print(f"Comparison of {len(run_dirs)} concurrent CVAE runs: {index}")
      return
    run_dirs = runs.expand_run_dirs(_RUNS.value)
    index = compare.write_comparison_report(
        run_dirs, _OUT.value, title=_TITLE.value, last_fraction=_LAST_FRACTION.value,
        smoothing=_SMOOTHING.value)
  except ValueError as error:
    sys.exit(f"error: {error}")
  print(f"Comparison of {len(run_dirs)} runs: {index}")


def _concurrent_runs(spec: str) -> bool:
  """True when every listed directory is a concurrent CVAE run (offline, no transfer curves)."""
  dirs = [d.strip() for d in spec.split(",") if d.strip()]
  def learner(d):
    try:
      with open(os.path.join(d, "config.json")) as f:
        return json.load(f)["learner"]["name"]
    except (OSError, KeyError, ValueError):
      return None
  return bool(dirs) and all(learner(d) == "concurrent" for d in dirs)


def main(argv):
  common.start_process()
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  if _RUNS.value:
    _compare()
    return
  if not flags.FLAGS.workdir:
    raise app.UsageError("--workdir is required (or --runs and --out to compare transfer runs)")
  common.report_expected_errors(runner.report, flags.FLAGS.config, flags.FLAGS.workdir)


def run():
  common.check_argv(sys.argv[1:])
  app.run(main)


if __name__ == "__main__":
  run()

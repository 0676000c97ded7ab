"""helms-report: Writes the run's report (plots, HTML, metrics JSON), or compares transfer runs.

One run (its workdir's report/):
  helms-report --config=experiments/helms_stacking.py:tiny --workdir=runs/tiny
Several transfer runs (learning curves over seeds, final performance, exploration) into --out:
  helms-report --runs='runs/cat,runs/mix,runs/mpo_*' --out=runs/comparison
Concurrent-skill CVAE runs (one per objective; Figure 3, `analysis/concurrent.py`) likewise:
  helms-report --runs=runs/cvae_original,runs/cvae_variational,runs/cvae_non_variational \
      --out=runs/concurrent_comparison
"""

import glob
import sys

from absl import app, flags

from helms_jax import configs, methods, pipeline, runs
from helms_jax.analysis import compare, run_curves
from launch import common

_RUNS = flags.DEFINE_string(
    "runs", None, "Comma-separated run directories and/or globs to compare (transfer runs holding "
    "transfer/curves.jsonl, or offline runs holding metrics.jsonl); writes the comparison report "
    "into --out instead of one run's report.")
_OUT = flags.DEFINE_string("out", None, "Output directory of the --runs comparison report.")
_TITLE = flags.DEFINE_string("title", "helms_jax comparison", "Title of the --runs report.")
_LAST_FRACTION = flags.DEFINE_float(
    "last_fraction", 0.1, "Final performance: each seed's mean over this last fraction of points.")
_CLAIMS = flags.DEFINE_string(
    "claims", None, "A reproduction's claims.json: its paper-vs-ours table heads the --runs "
    "report (see ../shared/REPRODUCTION.md).")
_METRICS = flags.DEFINE_list(
    "metrics", None, "The --runs report's metrics (default: episode_return,success for transfer "
    "runs; every learning metric for offline runs).")
_SMOOTHING = flags.DEFINE_integer(
    "smoothing", 1, "Comparison curves: trailing mean over this many points per seed (1: none).")


def _compare() -> None:
  if not _OUT.value:
    raise app.UsageError("--out is required with --runs")
  if flags.FLAGS.workdir:
    raise app.UsageError("give either --workdir (one run's report) or --runs (a comparison)")
  try:
    items = [item.strip() for item in _RUNS.value.split(",") if item.strip()]
    candidates = [d for item in items
                  for d in (sorted(glob.glob(item)) if glob.has_magic(item) else [item])]
    own_comparison = _learner_comparison(candidates)
    if own_comparison is not None:
      run_dirs = candidates
      index = methods.resolve(own_comparison)(run_dirs, _OUT.value,
                                              last_fraction=_LAST_FRACTION.value)
    else:
      run_dirs = run_curves.expand_run_dirs(_RUNS.value)
      index = compare.write_comparison_report(
          run_dirs, _OUT.value, title=_TITLE.value, last_fraction=_LAST_FRACTION.value,
          smoothing=_SMOOTHING.value, claims_path=_CLAIMS.value, metrics=_METRICS.value)
  except ValueError as error:
    sys.exit(f"error: {error}")
  print(f"Comparison of {len(run_dirs)} runs: {index}")


def _learner_comparison(run_dirs) -> str | None:
  """The comparison report the runs' learner record names (e.g. Figure 3 for concurrent CVAE
  runs) when every run is of one such learner; None: learning curves of transfer runs."""
  if not run_dirs:
    return None
  references = set()
  for run_dir in run_dirs:
    try:
      name = runs.read_run_config(run_dir).learner.name
      references.add(methods.learner(name).compare)
    except (runs.NotARunError, AttributeError, configs.ConfigError):
      return None
  return references.pop() if len(references) == 1 else None


def main(argv):
  common.start_process()
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  if _RUNS.value:
    _compare()
    return
  if not flags.FLAGS.workdir:
    raise app.UsageError("--workdir is required (or --runs and --out to compare transfer runs)")
  common.report_expected_errors(pipeline.report, flags.FLAGS.config, flags.FLAGS.workdir)


def run():
  common.check_argv(sys.argv[1:])
  app.run(main)


if __name__ == "__main__":
  run()

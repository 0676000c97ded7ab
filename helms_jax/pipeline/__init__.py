"""The pipeline: data -> offline learning -> evaluation -> analysis -> transfer -> report.

Each stage is a function `(config, workdir)` in its own module (`data`, `train`, `evaluate`,
`analyze`, `transfer`, `explore`, `report`), checked and locked by `stage.stage`, asking the
records of `helms_jax.methods` what to build; `run_pipeline` composes them. The absl entry points
(`launch/`) call these, and so can your own code:

    from helms_jax import configs, pipeline
    config = configs.load_config("experiments/helms_stacking.py:tiny")
    pipeline.run_pipeline(config, "runs/tiny")
"""

from __future__ import annotations

import ml_collections
from absl import logging

from helms_jax import runs
from helms_jax.pipeline.analyze import analyze
from helms_jax.pipeline.data import generate_data
from helms_jax.pipeline.evaluate import evaluate
from helms_jax.pipeline.explore import explore
from helms_jax.pipeline.report import report
from helms_jax.pipeline.stage import check_config, stage
from helms_jax.pipeline.train import train
from helms_jax.pipeline.transfer import transfer
from helms_jax.pipeline.workdir import prepare_workdir
from helms_jax.training.metric_writers import ProgressFn


@stage
def run_pipeline(config: ml_collections.ConfigDict, workdir: str, *,
                 progress_fn: ProgressFn | None = None) -> str:
  """generate data -> learn offline -> evaluate -> analyse -> transfer (configs with a
  `transfer` section) -> report. Each stage resumes if interrupted. A method that learns from
  scratch (its record names no offline learner) goes straight to transfer.

  `progress_fn(step, metrics)`, if given, is passed to `train` (step: updates) and `transfer`
  (step: env steps per seed, counting again from the start): both call it on process 0 at
  every logging point with the values of that stage's metrics.jsonl row.
  """
  if "transfer" in config and runs.offline_learner_of(config) is None:
    logging.info("transfer.method=%r learns from scratch: no offline data or skills",
                 config.transfer.method)
    transfer(config, workdir, progress_fn=progress_fn)
    analyze(config, workdir)
    return report(config, workdir)
  generate_data(config, workdir)
  train(config, workdir, progress_fn=progress_fn)
  if runs.has_env(config):
    evaluate(config, workdir)
    analyze(config, workdir)
    if "transfer" in config:
      transfer(config, workdir, progress_fn=progress_fn)
  else:
    logging.info("Dataset-only experiment (no env): no evaluation, analysis or transfer")
  path = report(config, workdir)
  logging.info("Report: %s/index.html", path)
  return path


__all__ = ["analyze", "check_config", "evaluate", "explore", "generate_data", "prepare_workdir",
           "report", "run_pipeline", "stage", "train", "transfer"]

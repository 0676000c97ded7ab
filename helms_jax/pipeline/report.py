"""Stage 6, report: `<workdir>/report/` (index.html, PNG plots, metrics.json) of one run."""

from __future__ import annotations

import os

import ml_collections

from helms_jax.analysis import report as report_lib
from helms_jax.pipeline.stage import stage
from helms_jax.pipeline.workdir import prepare_workdir
from helms_jax.training import distributed


@stage
def report(config: ml_collections.ConfigDict, workdir: str) -> str:
  """Writes `<workdir>/report/`; returns its path."""
  prepare_workdir(config, workdir)
  if not distributed.is_main_process():
    return os.path.join(workdir, "report")
  return report_lib.write_run_report(workdir, title=f"{config.experiment} ({config.variant})")

"""Stage 4, analysis: what the run's record names as its analysis, into `<workdir>/analysis/`.

An offline run is analysed by its learner's record (HeLMS: transition prior, skill usage,
fixed-skill rollouts; SPiRL: exploration maps; the concurrent CVAE: its latent picture); an online
run from scratch by its method's record (LSP: skill trajectories). Records without an analysis
skip the stage.
"""

from __future__ import annotations

from typing import Any

import ml_collections
from absl import logging

from helms_jax import methods, runs
from helms_jax.pipeline.stage import stage
from helms_jax.pipeline.workdir import prepare_workdir


def analysis_of(config: ml_collections.ConfigDict) -> str | None:
  """The "module:function" analysis of the run `config` describes, or None."""
  if "transfer" in config and runs.offline_learner_of(config) is None:
    return methods.method(config.transfer.method).analysis
  return methods.learner(config.learner.name).analysis


@stage
def analyze(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any] | None:
  """Runs the record's analysis of the run in `workdir`; returns its metrics (None: none)."""
  reference = analysis_of(config)
  if reference is None:
    logging.info("No analysis for this run (its record names none)")
    return None
  analysis = methods.resolve(reference)
  prepare_workdir(config, workdir)
  return analysis(config, workdir)

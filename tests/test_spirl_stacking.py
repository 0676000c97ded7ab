"""The spirl_stacking experiment (tiny) end to end: skills from expert data, SPiRL transfer with
spirl's reward, and the blocks stacked at each episode's end in the curves (slow: it compiles
the arm env)."""

import json
import os

import numpy as np
import pytest

from helms_jax import configs, pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_tiny_spirl_stacking_logs_blocks_stacked(tmp_path):
  config = configs.load_config(f"{ROOT}/experiments/spirl_stacking.py:spirl,tiny")
  config.compilation_cache_dir = str(tmp_path / "cache")
  workdir = str(tmp_path / "run")
  pipeline.run_pipeline(config, workdir)
  with open(os.path.join(workdir, "transfer", "curves.jsonl")) as f:
    rows = [json.loads(line)["metrics"] for line in f]
  ended = [r for r in rows if r["episodes"][0] > 0]
  assert ended, rows
  for r in ended:
    stacked = np.asarray(r["final/blocks_stacked"], np.float64)
    # Blocks stacked on the base: 0 .. N - 1 (3 blocks in the tiny task).
    assert np.all((stacked >= 0) & (stacked <= 2)), r

"""HeLMS through the real pipeline stages.

On stacking: train → analyse → report on the session's red_on_blue expert dataset (conftest.py),
so no extra data rollout is compiled. On point_reach (cheap to compile): the whole pipeline,
including evaluation of HeLMS's stateful prior-driven policy. Checks what each stage must produce
and properties that must hold, not exact values.
"""

import json
import os

import numpy as np
import pytest

from helms_jax import configs, pipeline
from helms_jax.training.metric_writers import read_jsonl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _stacking_config(data_config):
  config = configs.load_config(f"{ROOT}/experiments/helms_stacking.py:tiny")
  config.data.dir = data_config.data.dir
  config.env.episode_length = config.train.window = data_config.env.episode_length
  config.compilation_cache_dir = "none"
  return config


def _train_and_check(config, workdir):
  config.train.num_steps = 60
  pipeline.train(config, workdir)
  rows = read_jsonl(os.path.join(workdir, "metrics.jsonl"))
  assert [r["step"] for r in rows] == [20, 40, 60]
  for key in ("elbo", "reconstruction", "kl_y", "kl_z", "skill_usage_entropy",
              "prior_diagonal_mass"):
    assert all(np.isfinite(r[key]) for r in rows), key
  assert rows[-1]["elbo"] > rows[0]["elbo"]  # the ELBO is what is maximised
  k = config.learner.num_skills
  assert 0.0 <= rows[-1]["skill_usage_entropy"] <= np.log(k) + 1e-5


@pytest.mark.slow  # 16 s; HeLMS training runs in the default suite in test_helms and the
# point_reach pipeline below (the suite's 15 min budget)
def test_helms_trains_on_stacking_data(red_on_blue_dataset, tmp_path):
  _train_and_check(_stacking_config(red_on_blue_dataset[0]), str(tmp_path / "helms"))


# Two more MJX compilations (fixed-skill rollout, camera) ≈ 1.5 min: the analysis code path is
# also covered by the point_reach test below, and the main job runs it on stacking.
@pytest.mark.slow
def test_helms_stages_on_stacking_data(red_on_blue_dataset, tmp_path):
  config = _stacking_config(red_on_blue_dataset[0])
  config.analysis.episodes_per_skill = 2
  config.analysis.image_frames = 3
  config.analysis.image_size = 16
  workdir = str(tmp_path / "helms")
  k = config.learner.num_skills
  _train_and_check(config, workdir)

  metrics = pipeline.analyze(config, workdir)
  prior = np.asarray(metrics["transition_prior"])
  assert prior.shape == (k, k)
  np.testing.assert_allclose(prior.sum(1), 1.0, atol=1e-3)
  usage = np.asarray(metrics["dataset"]["usage"])
  assert usage.shape == (k,) and abs(usage.sum() - 1) < 1e-5
  rollouts = metrics["fixed_skill_rollouts"]
  assert [r["skill"] for r in rollouts] == list(range(k))
  for row in rollouts:
    assert row["gripper_travel_m"] > 0  # every skill moves the arm
  with open(os.path.join(workdir, "analysis", "analysis.json")) as f:
    index = json.load(f)
  files = [fig["file"] for fig in index["figures"]]
  assert files == ["transition_matrix.png", "skill_usage.png", "skill_trajectories.png",
                   "skill_frames.png"]

  report_dir = pipeline.report(config, workdir)
  with open(os.path.join(report_dir, "index.html")) as f:
    page = f.read()
  for name in files:
    assert name in page and os.path.getsize(os.path.join(report_dir, name)) > 1000, name
  with open(os.path.join(report_dir, "metrics.json")) as f:
    assert "analysis" in json.load(f)


def test_helms_pipeline_on_point_reach_evaluates_and_transfers(tmp_path):
  """The main job's stages (data → HeLMS → eval → analysis → HeLMS-cat transfer → report) on the
  cheap point_reach env, with the main job's tiny learner and transfer sections."""
  config = configs.load_config(f"{ROOT}/experiments/bc_point_reach.py:tiny")
  tiny_helms = configs.load_config(f"{ROOT}/experiments/helms_stacking.py:tiny")
  config.learner = tiny_helms.learner
  config.learner.high_level_groups = config.learner.mid_level_groups = ("proprio", "goal")
  config.learner.low_level_groups = ("proprio",)
  config.train = tiny_helms.train
  config.train.window = config.env.episode_length  # whole episodes, as the HeLMS configs
  config.eval.baselines = ("random",)
  config.compilation_cache_dir = "none"
  config.transfer = tiny_helms.transfer
  config.transfer.env_kwargs = {}  # point_reach has no reward types
  assert config.transfer.method == "helms_cat"
  workdir = str(tmp_path / "run")
  pipeline.run_pipeline(config, workdir)
  # Transfer: a curve per seed at every logging point, then a Transfer section in the report.
  with open(os.path.join(workdir, "transfer", "curves.jsonl")) as f:
    rows = [json.loads(line) for line in f]
  loop = config.transfer.loop
  assert [r["env_steps"] for r in rows][-1] == loop.env_steps
  assert all(len(r["metrics"]["episode_return"]) == len(config.transfer.seeds) for r in rows)
  with open(os.path.join(workdir, "report", "metrics.json")) as f:
    assert "transfer" in json.load(f)
  with open(os.path.join(workdir, "eval.json")) as f:
    evaluation = json.load(f)
  assert set(evaluation) >= {"policy", "random"} and "expert" not in evaluation
  assert evaluation["policy"]["length_mean"] > 0
  with open(os.path.join(workdir, "analysis", "analysis.json")) as f:
    index = json.load(f)
  # point_reach cannot render: no image strip, but trajectories of the point per skill.
  assert [fig["file"] for fig in index["figures"]] == [
      "transition_matrix.png", "skill_usage.png", "skill_trajectories.png"]

"""The tiny pipeline end to end, and resumable dataset generation."""

import json
import os

import numpy as np
import pytest

from helms_jax import configs, data as data_lib, pipeline
from helms_jax.pipeline.train import data_placement

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tiny(tmp_path):
  config = configs.load_config(f"{ROOT}/experiments/bc_point_reach.py:tiny")
  config.compilation_cache_dir = str(tmp_path / "cache")
  return config


def test_tiny_pipeline_end_to_end(tmp_path):
  workdir = str(tmp_path / "run")
  config = _tiny(tmp_path)
  # The per-device data-shard path of multi-host runs (1 shard here); the other pipeline tests
  # keep the dataset replicated.
  config.train.data_placement = "sharded"
  report_dir = pipeline.run_pipeline(config, workdir)
  for name in ("config.json", "metrics.jsonl", "eval.json"):
    assert os.path.exists(os.path.join(workdir, name)), name
  assert os.listdir(os.path.join(workdir, "tensorboard"))
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints")))
  for name in ("index.html", "metrics.json", "curve_loss.png"):
    assert os.path.exists(os.path.join(report_dir, name)), name
  with open(os.path.join(workdir, "eval.json")) as f:
    evaluation = json.load(f)
  # Behaviour, not plumbing: cloning a competent expert beats acting at random.
  assert evaluation["expert"]["success_rate"] >= 0.8
  assert evaluation["policy"]["return_mean"] > evaluation["random"]["return_mean"]
  assert evaluation["policy"]["success_rate"] > evaluation["random"]["success_rate"]
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    rows = [json.loads(line) for line in f]
  assert [r["step"] for r in rows] == [50, 100, 150, 200]
  assert rows[-1]["loss"] < rows[0]["loss"]


def test_interrupted_generation_resumes_to_the_same_dataset(tmp_path):
  config = _tiny(tmp_path)
  config.data.num_episodes = 80  # not a multiple of num_envs=32: exercises partial batches
  config.data.episodes_per_shard = 24  # shards straddle generation batches
  full = data_lib.load_dataset(pipeline.generate_data(config, str(tmp_path / "a")))

  path_b = pipeline.generate_data(config, str(tmp_path / "b"))
  manifest = data_lib.read_manifest(path_b)
  # Simulate a crash after the second shard: drop later shards from the manifest and disk.
  kept = manifest.shards[:2]
  for shard in manifest.shards[2:]:
    os.remove(os.path.join(path_b, shard.file))
  with open(os.path.join(path_b, data_lib.MANIFEST_NAME)) as f:
    raw = json.load(f)
  raw["shards"] = raw["shards"][:2]
  for key in ("num_episodes", "num_steps"):
    if key in raw:
      raw[key] = sum(s[key] for s in raw["shards"])
  with open(os.path.join(path_b, data_lib.MANIFEST_NAME), "w") as f:
    json.dump(raw, f)
  assert data_lib.load_dataset(path_b).num_episodes == sum(s.num_episodes for s in kept) < 80

  resumed = data_lib.load_dataset(pipeline.generate_data(config, str(tmp_path / "b")))
  assert resumed.num_episodes == full.num_episodes == 80
  for name in full.fields:
    np.testing.assert_array_equal(full.fields[name], resumed.fields[name], err_msg=name)


def test_missing_dataset_is_a_clear_error(tmp_path):
  config = _tiny(tmp_path)
  with pytest.raises(data_lib.DatasetError, match="helms-data"):
    pipeline.train(config, str(tmp_path / "nodata"))


def test_random_fraction_replaces_expert_episodes_with_uniform_actions(tmp_path):
  """SPiRL's sub-optimal data: a recorded `episode/random_actions` flag must match what the
  episode did: flagged episodes have uniform-[-1, 1] action moments (E|a| = 1/2, E a^2 = 1/3),
  the others are the expert's: smooth PD actions (high lag-1 autocorrelation; independent
  uniform actions have none) that reach the goal."""
  config = _tiny(tmp_path)
  config.data.num_episodes = 64
  config.data.random_fraction = 0.5
  dataset = data_lib.load_dataset(pipeline.generate_data(config, str(tmp_path / "run")))
  flags = np.asarray(dataset.fields["episode/random_actions"])
  assert 0.25 < flags.mean() < 0.75
  lengths = np.asarray(dataset.episode_length)
  episode_of_step = np.repeat(np.arange(len(lengths)), lengths)
  actions = np.asarray(dataset.fields["action"])
  random_actions = actions[flags[episode_of_step]]
  assert np.abs(np.mean(np.abs(random_actions)) - 0.5) < 0.03
  assert np.abs(np.mean(random_actions ** 2) - 1 / 3) < 0.03

  def lag1_correlation(flag):
    pairs = [(dataset.episode(i)["action"][:-1], dataset.episode(i)["action"][1:])
             for i in np.flatnonzero(flags == flag)]
    a, b = (np.concatenate(x).ravel() for x in zip(*pairs))
    return np.corrcoef(a, b)[0, 1]

  assert abs(lag1_correlation(True)) < 0.1
  assert lag1_correlation(False) > 0.5
  success = np.asarray(dataset.fields["episode/success"])
  assert success[~flags].mean() > success[flags].mean() + 0.3
  with pytest.raises(ValueError, match="random_fraction"):
    config.data.random_fraction = 1.5
    pipeline.generate_data(config, str(tmp_path / "bad"))


def test_bad_data_placement_is_named(tmp_path):
  config = _tiny(tmp_path)
  config.train.data_placement = "striped"
  with pytest.raises(configs.ConfigError, match="train.data_placement must be one of"):
    data_placement(config)
  config.train.data_placement = "auto"
  assert data_placement(config) == "replicated"  # one process


def test_data_generation_compiles_the_rollout_once(tmp_path):
  """Every batch reuses one compiled rollout, also when the env records per-episode info (the
  maze's walls): a per-batch record function recompiled each batch, and loading that many
  executables killed an 85k-episode generation after ~50 batches."""
  from helms_jax.envs import acting  # pylint: disable=import-outside-toplevel
  config = configs.load_config(f"{ROOT}/experiments/spirl_maze.py:spirl,tiny")
  config.compilation_cache_dir = str(tmp_path / "cache")
  config.data.num_episodes, config.data.num_envs = 32, 8  # 4 batches
  compiled = acting._rollout._cache_size()
  path = pipeline.generate_data(config, str(tmp_path / "maze"))
  assert acting._rollout._cache_size() - compiled == 1
  dataset = data_lib.load_dataset(path)
  assert dataset.num_episodes == 32 and "episode/walls" in dataset.fields

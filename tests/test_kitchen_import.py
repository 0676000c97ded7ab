"""The kitchen experiment (`experiments/spirl_kitchen.py`): a D4RL kitchen HDF5 file -> import ->
SPiRL skill VAE + prior -> report, through `pipeline.run_pipeline`, on a small synthetic file of
the real files' schema (no simulator, no download)."""

import json
import os

import h5py
import numpy as np
import pytest

from helms_jax import configs, data as data_lib, pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "experiments", "spirl_kitchen.py")
LENGTHS = (30, 24, 36, 27)  # demonstrations, concatenated as in D4RL's kitchen files


def write_kitchen_hdf5(path, lengths=LENGTHS, seed=0, timeouts=True):
  """D4RL kitchen layout: flat observations [N, 60] (30 state + 30 goal), actions [N, 9],
  rewards [N], terminals [N] (1.0 at each demonstration's last row), timeouts [N], infos [N]
  (the demonstration index, as D4RL's generator writes it). Actions are smooth per-demo
  sinusoids, so the skill VAE has structure to learn; the state drifts with the actions."""
  rng = np.random.default_rng(seed)
  obs, act, term = [], [], []
  for length in lengths:
    t = np.arange(length)[:, None]
    phase, freq = rng.uniform(0, 2 * np.pi, 9), rng.uniform(0.1, 0.3, 9)
    a = 0.8 * np.sin(freq * t + phase)
    state = np.cumsum(np.pad(a, ((0, 0), (0, 21))) * 0.05, axis=0) + rng.normal(0, 1, 30)
    goal = np.broadcast_to(rng.normal(0, 1, 30), (length, 30))
    obs.append(np.concatenate([state, goal], axis=1))
    act.append(a)
    term.append(np.arange(length) == length - 1)
  n = sum(lengths)
  with h5py.File(path, "w") as f:
    f.create_dataset("observations", data=np.concatenate(obs).astype(np.float32))
    f.create_dataset("actions", data=np.concatenate(act).astype(np.float32))
    f.create_dataset("rewards", data=rng.integers(0, 4, n).astype(np.float32))
    f.create_dataset("terminals", data=np.concatenate(term).astype(np.float32))
    if timeouts:  # D4RL's kitchen generator writes none
      f.create_dataset("timeouts", data=np.zeros(n, np.float32))
    f.create_dataset("infos", data=np.repeat(np.arange(len(lengths)), lengths))


def _config(import_hdf5):
  config = configs.load_config(CONFIG + ":tiny")
  config.data.import_hdf5 = str(import_hdf5)
  config.compilation_cache_dir = "none"  # the session's cache (conftest)
  return config


def test_config_matches_the_reference():
  config = configs.load_config(CONFIG)
  assert config.env.name == "" and config.data.import_hdf5 == ""
  assert config.data.final_obs == "drop_last"
  learner = config.learner
  assert (learner.name, learner.horizon, learner.z_dim, learner.beta) == ("spirl", 10, 10, 5e-4)
  assert learner.lstm_size == 128 and tuple(learner.prior_hidden) == (128,) * 6
  assert (config.train.window, config.train.lookahead, config.train.batch_size) == (10, 0, 128)


@pytest.mark.slow  # ~10 s; the default suite's 15-minute budget
def test_pipeline_trains_a_skill_prior_on_an_imported_kitchen_file(tmp_path):
  source = tmp_path / "kitchen.hdf5"
  write_kitchen_hdf5(source)
  workdir = str(tmp_path / "run")
  config = _config(source)
  pipeline.run_pipeline(config, workdir)

  # Imported: one episode per demonstration, each one step shorter (final_obs = drop_last),
  # the final observation being the demonstration's own last row.
  dataset = data_lib.load_dataset(os.path.join(workdir, "data"))
  np.testing.assert_array_equal(dataset.episode_length, np.subtract(LENGTHS, 1))
  with h5py.File(source, "r") as f:
    rows = f["observations"][()]
  ends = np.cumsum(LENGTHS) - 1
  finals = np.asarray(dataset.fields["observation"])[dataset.obs_offsets + dataset.episode_length]
  np.testing.assert_array_equal(finals, rows[ends])
  assert dataset.schema["observation"].shape == (60,) and dataset.schema["action"].shape == (9,)

  # Trained: a checkpoint at the last step, the loss went down, the prior fit improved.
  assert os.path.isdir(os.path.join(workdir, "checkpoints", str(config.train.num_steps)))
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    rows = [json.loads(line) for line in f if line.strip()]
  losses = [r["loss"] for r in rows if "loss" in r]
  priors = [r["prior_kl"] for r in rows if "prior_kl" in r]
  assert len(losses) >= 3 and losses[-1] < losses[0], losses
  assert priors[-1] < priors[0], priors
  # Reported; nothing evaluated (no env).
  assert os.path.exists(os.path.join(workdir, "report", "index.html"))
  assert not os.path.exists(os.path.join(workdir, "eval.json"))


def test_without_a_file_the_error_names_the_key(tmp_path):
  config = configs.load_config(CONFIG + ":tiny")
  config.compilation_cache_dir = "none"
  with pytest.raises(configs.ConfigError, match="data.import_hdf5"):
    pipeline.run_pipeline(config, str(tmp_path / "run"))


def test_a_missing_file_names_the_key(tmp_path):
  missing = tmp_path / "no_such_kitchen.hdf5"
  with pytest.raises(data_lib.DatasetError, match="data.import_hdf5") as error:
    pipeline.run_pipeline(_config(missing), str(tmp_path / "run"))
  assert str(missing) in str(error.value)


def test_a_file_without_timeouts_imports_by_its_terminals(tmp_path):
  source = tmp_path / "kitchen_no_timeouts.hdf5"
  write_kitchen_hdf5(source, timeouts=False)
  manifest = data_lib.import_hdf5(str(source), str(tmp_path / "data"), final_obs="drop_last")
  assert manifest.num_episodes == len(LENGTHS)
  assert manifest.num_steps == sum(LENGTHS) - len(LENGTHS)  # each demo's last row is its final obs

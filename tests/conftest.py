"""Fixtures shared across test modules (one expensive MJX compilation each, per session)."""

import os

import pytest

from helms_jax import configs, data as data_lib, pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STACKING_EPISODES = 32


@pytest.fixture(scope="session")
def red_on_blue_dataset(tmp_path_factory):
  """32 expert episodes of 120 steps on red_on_blue, object set 4: (config, Dataset).

  Generated once per session with `pipeline.generate_data`; the expert tests check it and the
  HeLMS pipeline test learns from it.
  """
  workdir = str(tmp_path_factory.mktemp("rob"))
  config = configs.load_config(f"{ROOT}/experiments/red_on_blue_stacking.py:tiny")
  config.data.num_episodes = STACKING_EPISODES
  config.data.num_envs = STACKING_EPISODES
  config.data.episodes_per_shard = 16
  config.env.episode_length = 120
  config.compilation_cache_dir = "none"
  config.data.dir = os.path.join(workdir, "data")  # so other runs can point at it
  path = pipeline.generate_data(config, workdir)
  return config, data_lib.load_dataset(path)


@pytest.fixture(scope="session", autouse=True)
def compilation_cache(tmp_path_factory):
  """One persistent compilation cache per session: a test that rebuilds a jitted function with
  the same computation (a resumed run, a second agent with other hyperparameters in its state)
  loads it instead of compiling again, as a user's repeated launches do."""
  from helms_jax.training import devices  # pylint: disable=import-outside-toplevel
  devices.enable_compilation_cache(str(tmp_path_factory.mktemp("jax_cache")))

"""SPiRL downstream: the methods' spaces (policy initialised from the prior, the flat prior, the
skill env) and the whole pipeline in skill space on the cheap point_reach env."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helms_jax import configs, envs, methods, pipeline, runs
from helms_jax.agents.records import OfflineSkills
from helms_jax.agents.spirl import downstream, offline
from helms_jax.analysis import critic_bias
from helms_jax.envs.skill_env import SkillEnv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _config(method: str):
  """spirl_maze's tiny sections for `method`, on point_reach (obs 4 + goal 2, actions 2)."""
  config = configs.load_config(f"{ROOT}/experiments/spirl_maze.py:{method},tiny")
  base = configs.load_config(f"{ROOT}/experiments/bc_point_reach.py:tiny")
  config.env, config.data = base.env, base.data
  config.transfer.env_kwargs = {}
  config.transfer.episode_length = 50
  config.eval.baselines = ("random",)
  config.compilation_cache_dir = "none"
  del config.analysis["exploration"]  # maze-only (walls)
  if config.learner.name == "spirl":
    config.learner.prior_groups = ("goal",)  # the prior sees a subset (maze: velocity [+ image])
  config.transfer.policy_inputs = "prior"
  return config


@pytest.fixture(scope="module")
def env():
  return envs.EpisodeWrapper(envs.make("point_reach"), episode_length=50)


def _random_params(config, env, seed=0):
  learner = methods.make_learner(config.learner, env.observation_size, env.action_size,
                                observation_groups=env.observation_groups)
  return learner.init(jax.random.PRNGKey(seed)).params


def test_spirl_policy_starts_as_the_prior_and_acts_in_skill_space(env):
  config = _config("spirl")
  config.transfer.cache_prior = False  # flat observations below (test_sac covers the cache)
  params = _random_params(config, env)
  agent, skill_env = downstream.make_agent(config, env, _skills(config, params))
  assert isinstance(skill_env, SkillEnv) and skill_env.horizon == config.learner.horizon
  assert skill_env.action_size == config.learner.z_dim
  state = agent.init(jax.random.PRNGKey(1))
  obs = jax.random.normal(jax.random.PRNGKey(2), (5, env.observation_size))
  prior_fn = offline.make_skill_prior(config.learner, env.observation_size, env.observation_groups)
  prior_mean = prior_fn(params, obs).mean()
  # The prior sees only the goal: other observation entries do not change it.
  moved = obs.at[:, :4].add(3.0)
  np.testing.assert_allclose(prior_fn(params, moved).mean(), prior_mean, rtol=1e-6)
  z, action = agent.act(state, obs, jax.random.PRNGKey(3), True)
  bound = config.transfer.agent.action_bound
  np.testing.assert_allclose(z, bound * jnp.tanh(prior_mean), rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(z, action)  # the skill env decodes z itself
  z, _ = agent.act(state, obs, jax.random.PRNGKey(3), False)
  assert np.all(np.abs(z) <= bound)

  # A policy that sees more than the prior (the whole state) still starts as exactly the prior.
  config.transfer.policy_inputs = "all"
  wide, _ = downstream.make_agent(config, env, _skills(config, params))
  wide_state = wide.init(jax.random.PRNGKey(1))
  z_wide, _ = wide.act(wide_state, moved, jax.random.PRNGKey(3), True)
  np.testing.assert_allclose(z_wide, bound * jnp.tanh(prior_mean), rtol=1e-5, atol=1e-6)
  config.learner.prior_groups = ("goal", "proprio")
  config.transfer.policy_inputs = "goal"
  narrow, _ = downstream.make_agent(config, env, _skills(config, params))
  with pytest.raises(ValueError, match="must include every input of the prior"):
    narrow.init(jax.random.PRNGKey(0))


def test_ssp_starts_fresh_without_prior(env):
  config = _config("ssp")
  params = _random_params(config, env)
  space, _ = downstream.skill_space(config, env, params)
  assert space.prior is None
  fresh = space.init_policy(jax.random.PRNGKey(0))
  leaves = lambda t: jax.tree.leaves(t)
  assert any(not np.allclose(a, b) for a, b in zip(leaves(fresh), leaves(params["prior"])))
  # The paper's SSP (spirl_maze's default for it): a fresh MLP over the state entries.
  config.transfer.policy_inputs, config.transfer.policy_hidden = "state", (8, 8)
  space, _ = downstream.skill_space(config, env, params)
  fresh = space.init_policy(jax.random.PRNGKey(0))
  kernels = [x for x in leaves(fresh) if x.ndim == 2]
  assert (len(downstream.state_indices(env)), 8) in [k.shape for k in kernels]  # the first layer
  obs = jax.random.normal(jax.random.PRNGKey(2), (3, env.observation_size))
  mean, std = space.policy(fresh, space.frozen, obs)
  assert mean.shape == std.shape == (3, config.learner.z_dim) and np.all(np.asarray(std) > 0)
  spirl = _config("spirl")
  spirl.transfer.policy_inputs = "state"
  with pytest.raises(ValueError, match="starts as the prior"):
    downstream.skill_space(spirl, env, _random_params(spirl, env))


def test_flat_prior_is_the_bc_policy(env):
  config = _config("flat_prior")
  bc_params = _random_params(config, env)
  space = downstream.flat_space(config, env, bc_params)
  obs = jax.random.normal(jax.random.PRNGKey(2), (4, env.observation_size))
  mean, std = space.policy(space.init_policy(jax.random.PRNGKey(0)), space.frozen, obs)
  prior = space.prior(space.frozen, obs)
  np.testing.assert_allclose(mean, prior.mean(), rtol=1e-6)
  np.testing.assert_allclose(std, prior.stddev(), rtol=1e-6)
  assert downstream.flat_space(_config("sac"), env, None).prior is None


def _skills(config, params) -> OfflineSkills:
  return OfflineSkills(config=config.learner, learner=None, params=params)


def test_bad_offline_inputs_are_named(env):
  with pytest.raises(ValueError, match="needs an offline 'spirl' checkpoint"):
    downstream.make_agent(_config("spirl"), env, None)
  config = _config("bc_sac")
  with pytest.raises(ValueError, match="does not fit"):
    downstream.make_agent(config, env, _skills(config, {"params": {"torso": {}}}))
  config = _config("spirl")
  params = _random_params(config, env)
  wide = envs.EpisodeWrapper(envs.make("maze", layout="large"), episode_length=10)
  with pytest.raises(ValueError, match="observations of size 6"):
    downstream.make_agent(config, wide, _skills(config, params))
  with pytest.raises(configs.ConfigError, match="transfer.method='nope'"):
    config.transfer.method = "nope"
    runs.offline_learner_of(config)


def test_spirl_pipeline_learns_skills_then_transfers_in_skill_space(tmp_path):
  """data → skill VAE + prior → evaluation → SAC over skills with KL to the prior → report."""
  config = _config("spirl")
  workdir = str(tmp_path / "run")
  pipeline.run_pipeline(config, workdir)
  with open(os.path.join(workdir, "transfer", "curves.jsonl")) as f:
    rows = [json.loads(line) for line in f]
  assert rows[-1]["env_steps"] == config.transfer.loop.env_steps  # low-level steps
  loop = config.transfer.loop
  per_iteration = loop.num_envs * loop.unroll_length  # agent steps (skills) per iteration
  iterations = loop.env_steps // config.learner.horizon // per_iteration
  learning = sum(k * per_iteration >= loop.min_replay_steps for k in range(1, iterations + 1))
  assert rows[-1]["updates"] == learning * loop.updates_per_iteration > 0
  divergence = [v for r in rows for v in r["metrics"]["learner/divergence"] if v is not None]
  assert divergence and all(np.isfinite(divergence))
  with open(os.path.join(workdir, "report", "metrics.json")) as f:
    assert "transfer" in json.load(f)
  with open(os.path.join(workdir, "transfer", "run.json")) as f:
    assert json.load(f)["method"] == "spirl"
  # The critic check reads the run's replay: every stored step of every env, each seed.
  result = critic_bias.analyze_online_run(workdir, window_fraction=1.0)
  stored = loop.env_steps // config.learner.horizon // loop.num_envs
  assert result["window_steps_per_env"] == stored
  with open(os.path.join(workdir, "analysis", critic_bias.CRITIC_BIAS_FILE)) as f:
    assert json.load(f) == result
  assert sorted(result["seeds"]) == sorted(str(s) for s in config.transfer.seeds)
  for stats in result["seeds"].values():
    assert stats["count"] == stored * loop.num_envs and np.isfinite(list(stats.values())).all()
  with pytest.raises(configs.ConfigError, match="critic_window"):
    critic_bias.analyze_online_run(workdir, window_fraction=0.0)

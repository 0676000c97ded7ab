"""Hierarchical BC (agents/baselines/hier_bc) and its fine-tuning of the whole model by MPO over
the joint (z, a): the per-sample Gaussian M-step against a brute-force joint density, learning,
and that MPO moves every parameter (both levels) towards a known optimum."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from helms_jax.agents.baselines import hier_bc
from helms_jax.agents.helms import downstream
from helms_jax.agents import mpo
from helms_jax.agents.records import OfflineSkills
from helms_jax.envs.base import ObservationGroups
from helms_jax.losses import mpo as mpo_lib
from tests.test_online import TARGET, ContinuousBandit, agent_config, run_loop

GROUPS = ObservationGroups.from_sizes(proprio=2, objects=2)


def small_config(**overrides):
  c = hier_bc.default_config()
  c.update(dict(latent_size=2, high_level_hidden=(32, 32), low_level_hidden=(32, 32),
                learning_rate=3e-3))
  c.update(overrides)
  return c


def test_per_sample_gaussian_mstep_is_the_joint_density_and_reduces_to_the_shared_case():
  rng = np.random.default_rng(0)
  n, b, d = 5, 3, 4
  f = lambda *s: jnp.asarray(rng.normal(size=s), jnp.float32)
  actions, weights = f(n, b, d), jax.nn.softmax(f(n, b), axis=0)
  on_mean, tg_mean = f(n, b, d), f(n, b, d)
  on_std, tg_std = jnp.exp(0.3 * f(n, b, d)), jnp.exp(0.3 * f(n, b, d))
  config = mpo_lib.MPOConfig(per_dim_constraining=True)
  duals = mpo_lib.init_duals(d)
  _, metrics = mpo_lib.gaussian_mstep(on_mean, on_std, tg_mean, tg_std, actions, weights, duals,
                                      config)
  # Brute force: each sample's density under its own parameters; KLs averaged over samples.
  def log_normal(x, m, s):
    return np.sum(-0.5 * ((x - m) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi), -1)
  a, w = np.asarray(actions), np.asarray(weights)
  nll_mean = np.mean(-np.sum(w * log_normal(a, np.asarray(on_mean), np.asarray(tg_std)), 0))
  np.testing.assert_allclose(metrics["loss_policy_mean"], nll_mean, rtol=1e-5)
  kl = (np.log(np.asarray(tg_std) / np.asarray(tg_std)) +
        (np.asarray(tg_std) ** 2 + (np.asarray(tg_mean) - np.asarray(on_mean)) ** 2) /
        (2 * np.asarray(tg_std) ** 2) - 0.5)  # [N, B, D]
  np.testing.assert_allclose(metrics["kl_mean"], np.sum(np.mean(kl, axis=(0, 1))), rtol=1e-5)
  # Parameters equal across samples give the shared-parameter M-step exactly.
  shared = [x[0] for x in (on_mean, on_std, tg_mean, tg_std)]
  loss_shared, _ = mpo_lib.gaussian_mstep(*shared, actions, weights, duals, config)
  loss_tiled, _ = mpo_lib.gaussian_mstep(*[jnp.broadcast_to(x, (n, b, d)) for x in shared],
                                         actions, weights, duals, config)
  np.testing.assert_allclose(loss_tiled, loss_shared, rtol=1e-6)
  with pytest.raises(ValueError, match="N = 5"):
    mpo_lib.gaussian_mstep(on_mean[:2], on_std[:2], tg_mean[:2], tg_std[:2], actions, weights,
                           duals, config)


def test_hierarchical_bc_fits_actions_through_the_latent():
  learner = hier_bc.make_learner(small_config(), 4, 2, observation_groups=GROUPS)
  state = learner.init(jax.random.PRNGKey(0))
  update = jax.jit(learner.update)
  first = last = None
  for i in range(300):
    obs = jax.random.normal(jax.random.PRNGKey(100 + i), (32, 3, 4))
    # The objects' part of the action reaches the proprio-only low level through z alone.
    batch = {"observation": obs, "action": -obs[..., :2] + jnp.sign(obs[..., 2:])}
    state, m = update(state, batch, jax.random.PRNGKey(i))
    first = first or jax.device_get(m)
    last = jax.device_get(m)
  assert last["action_mse"] < 0.5 * first["action_mse"], (first, last)
  action = learner.policy(state.params, jnp.zeros(4), jax.random.PRNGKey(0))
  assert action.shape == (2,)


def test_mpo_fine_tunes_both_levels_of_hierarchical_bc():
  """MPO on the joint (z, a) reaches the bandit's optimum through both levels, improving at
  each sequence's bootstrap state as the transfer experiments do (`policy_states="next"`)."""
  env = ContinuousBandit()  # observation [1, 0], optimum action TARGET
  groups = ObservationGroups.from_sizes(proprio=2)
  config = small_config(high_level_groups=("proprio",), low_level_groups=("proprio",))
  learner = hier_bc.make_learner(config, 2, 2, observation_groups=groups)
  params = learner.init(jax.random.PRNGKey(0)).params
  run = ml_collections.ConfigDict({"transfer": downstream.default_config()})
  run.transfer.agent = agent_config(policy_states="next")
  agent, _ = downstream.mpo_agent(downstream.hier_bc_space)(
      run, env, OfflineSkills(config, learner, params))
  state, history = run_loop(agent, env)
  obs = jnp.array([[1.0, 0.0]])
  act = jax.vmap(lambda s: agent.act(s, obs, jax.random.PRNGKey(0), True)[1][0])(state.agent)
  np.testing.assert_allclose(np.asarray(act), np.tile(TARGET, (2, 1)), atol=0.2)
  assert np.all(history[-1]["episode_return"] > history[0]["episode_return"])
  # Every part of the model moved from the checkpoint: the high and the low level.
  for part in ("high", "low"):
    moved = jax.tree.map(lambda new, old: jnp.max(jnp.abs(new - old[None])),
                         state.agent.policy[part], params["model"][part])
    assert max(float(x) for x in jax.tree.leaves(moved)) > 1e-3, part
  space = downstream.hier_bc_space(run, env, OfflineSkills(config, learner, params))
  assert space.kind == "latent_gaussian" and space.size == 2 + 2
  with pytest.raises(ValueError, match="low_level"):
    mpo.make_agent(run.transfer.agent, space._replace(low_level=None), 2)

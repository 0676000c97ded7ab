"""NPMP (agents/npmp) and its NPMP + KL transfer: the AR(1) prior, sequential sampling against a
Python loop, the look-ahead encoder inputs, learning, the latent-action env and the prior the
transfer reads from the observation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helms_jax.agents.npmp import downstream, model, offline
from helms_jax.agents.records import OfflineSkills
from helms_jax.data.sampler import lookahead_frames
from helms_jax.envs.base import ObservationGroups
from helms_jax.envs.point_mass import PointReach
from helms_jax.envs.skill_env import LatentActionEnv
from helms_jax.envs.wrappers import EpisodeWrapper
from tests.test_online import LOOP, agent_config, run_loop

GROUPS = ObservationGroups.from_sizes(proprio=2, objects=2)


def small_config(**overrides):
  c = offline.default_config()
  c.update(dict(latent_size=3, encoder_hidden=(32, 32), low_level_hidden=(32, 32),
                learning_rate=3e-3))
  c.update(overrides)
  return c


def test_ar1_prior_is_stationary_and_starts_standard_normal():
  alpha = 0.95
  z_prev = jnp.array([[0.5, -2.0, 0.0]])
  mean, std = model.ar1_prior(z_prev, jnp.zeros((1, 1)), alpha)
  np.testing.assert_allclose(mean, alpha * z_prev, rtol=1e-6)
  np.testing.assert_allclose(std, np.sqrt(1 - alpha ** 2) * np.ones((1, 3)), rtol=1e-6)
  # Closed form: Var z_t = alpha^2 Var z_{t-1} + (1 - alpha^2) = 1 when Var z_{t-1} = 1.
  np.testing.assert_allclose(alpha ** 2 * 1.0 + float(std[0, 0]) ** 2, 1.0, rtol=1e-6)
  mean0, std0 = model.ar1_prior(z_prev, jnp.ones((1, 1)), alpha)
  np.testing.assert_array_equal(mean0, 0.0)
  np.testing.assert_array_equal(std0, 1.0)
  # A long chain drawn from the prior keeps unit variance (4000 chains x 200 steps).
  def step(z, key):
    m, s = model.ar1_prior(z, jnp.zeros(z.shape[:-1] + (1,)), alpha)
    z = m + s * jax.random.normal(key, z.shape)
    return z, None
  z0 = jax.random.normal(jax.random.PRNGKey(0), (4000, 1))
  z, _ = jax.lax.scan(step, z0, jax.random.split(jax.random.PRNGKey(1), 200))
  assert abs(float(jnp.var(z)) - 1.0) < 0.08
  with pytest.raises(ValueError, match="alpha"):
    model.ar1_prior(z_prev, jnp.zeros((1, 1)), 1.0)


def test_lookahead_frames_match_a_loop():
  rng = np.random.default_rng(0)
  w, lookahead, d = 5, 2, 3
  x = rng.normal(size=(w + lookahead, d)).astype(np.float32)
  mask = np.array([1, 1, 1, 1, 1, 1, 0], np.float32)
  got = np.asarray(lookahead_frames(jnp.asarray(x), jnp.asarray(mask), lookahead))
  assert got.shape == (w, (lookahead + 1) * (d + 1))
  for t in range(w):
    want = np.concatenate([np.append(x[t + k] * mask[t + k], mask[t + k])
                           for k in range(lookahead + 1)])
    np.testing.assert_allclose(got[t], want, rtol=1e-6)


def test_sequential_sampling_and_kl_match_a_python_loop():
  lookahead, w = 2, 6
  fns, init = offline.make_npmp(small_config(), 4, 2, GROUPS, None, lookahead)
  params = init(jax.random.PRNGKey(0))
  obs = jax.random.normal(jax.random.PRNGKey(1), (w + lookahead, 4))
  mask = jnp.ones((w + lookahead,))
  key = jax.random.PRNGKey(2)
  z, mean, std, kl = jax.device_get(fns.sequence(params, obs, mask, key))
  assert z.shape == mean.shape == std.shape == (w, 3) and kl.shape == (w,)
  # The same draws step by step in Python, the KL from its closed form.
  noise = np.asarray(jax.random.normal(key, (w, 3)))
  feats = lookahead_frames(fns.normalize(params, obs), mask, lookahead)
  z_prev = np.zeros(3, np.float32)
  for t in range(w):
    first = np.array([1.0 if t == 0 else 0.0], np.float32)
    m, s = fns.model.apply({"params": params["model"]}, feats[t], z_prev, first,
                           method="encode")
    m, s = np.asarray(m), np.asarray(s)
    pm, ps = (np.zeros(3), np.ones(3)) if t == 0 else (0.95 * z_prev, np.sqrt(1 - 0.95 ** 2))
    want_kl = np.sum(np.log(ps / s) + (s ** 2 + (m - pm) ** 2) / (2 * ps ** 2) - 0.5)
    np.testing.assert_allclose(mean[t], m, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(kl[t], want_kl, rtol=1e-4, atol=1e-5)
    z_prev = m + s * noise[t]
    np.testing.assert_allclose(z[t], z_prev, rtol=1e-5, atol=1e-6)


def _toy_windows(key, batch, w, lookahead):
  """Actions a_t = -x_t (proprio) + the objects' sign pattern: learnable from the state."""
  obs = jax.random.normal(key, (batch, w + lookahead, 4))
  action = -obs[:, :w, :2] + jnp.sign(obs[:, :w, 2:])
  return {"observation": obs, "obs_mask": jnp.ones((batch, w + lookahead)), "action": action}


def test_npmp_learns_and_its_prior_policy_acts():
  learner = offline.make_learner(small_config(), 4, 2, observation_groups=GROUPS, lookahead=1)
  state = learner.init(jax.random.PRNGKey(0))
  update = jax.jit(learner.update)
  metrics = []
  for i in range(300):
    batch = _toy_windows(jax.random.PRNGKey(100 + i), 32, 4, 1)
    state, m = update(state, batch, jax.random.PRNGKey(i))
    metrics.append(jax.device_get(m))
  # The low level sees proprio only; the objects' part of the action must pass through z.
  assert metrics[-1]["action_mse"] < 0.5 * metrics[0]["action_mse"], (metrics[0], metrics[-1])
  assert np.isfinite(metrics[-1]["kl"]) and metrics[-1]["kl"] > 0
  pstate = learner.policy_init(jax.random.PRNGKey(0))
  action, pstate = learner.policy(state.params, jnp.zeros(4), jax.random.PRNGKey(1), pstate)
  assert action.shape == (2,) and float(pstate["first"][0]) == 0.0


def test_bad_config_is_named():
  with pytest.raises(ValueError, match="alpha"):
    offline.make_npmp(small_config(alpha=1.0), 4, 2, GROUPS)
  with pytest.raises(ValueError, match="encoder_groups"):
    offline.make_npmp(small_config(encoder_groups=("camera",)), 4, 2, GROUPS)
  learner = offline.make_learner(small_config(), 4, 2, observation_groups=GROUPS, lookahead=2)
  state = learner.init(jax.random.PRNGKey(0))
  with pytest.raises(ValueError, match="lookahead"):
    learner.update(state, _toy_windows(jax.random.PRNGKey(0), 4, 4, 1), jax.random.PRNGKey(0))


def test_latent_action_env_decodes_and_observes_the_previous_latent():
  inner = PointReach()
  decode = lambda obs, z: jnp.tanh(z[:2] + obs[:2])
  env = LatentActionEnv(inner, decode, latent_size=3)
  o = inner.observation_size
  assert env.observation_size == o + 4 and env.action_size == 3
  assert env.observation_groups["previous_latent"] == (o, o + 3)
  state = env.reset(jax.random.PRNGKey(0))
  np.testing.assert_array_equal(state.obs[o:], [0, 0, 0, 1])
  z = jnp.array([0.3, -0.2, 0.9])
  nxt = env.step(state, z)
  want = inner.step(inner.reset(jax.random.PRNGKey(0)), decode(state.obs[:o], z))
  np.testing.assert_allclose(nxt.obs[:o], want.obs, rtol=1e-6)
  np.testing.assert_allclose(nxt.obs[o:], [0.3, -0.2, 0.9, 0.0], rtol=1e-6)
  assert float(nxt.reward) == pytest.approx(float(want.reward))
  with pytest.raises(ValueError, match="latent z"):
    env.step(state, jnp.zeros(2))


def test_npmp_kl_prior_reads_the_stored_latent_and_trains_online():
  inner = EpisodeWrapper(PointReach(), episode_length=8, action_repeat=1)
  config = small_config(low_level_groups=("proprio",), encoder_groups=("proprio", "goal"))
  learner = offline.make_learner(config, inner.observation_size, inner.action_size,
                                 observation_groups=inner.observation_groups, lookahead=1)
  params = learner.init(jax.random.PRNGKey(0)).params
  import ml_collections  # pylint: disable=import-outside-toplevel
  from helms_jax.agents.helms.downstream import default_config  # pylint: disable=import-outside-toplevel
  run = ml_collections.ConfigDict({"transfer": default_config()})
  run.transfer.policy_hidden = (32, 32)
  run.transfer.agent = agent_config(eta_z=0.01)
  agent, env = downstream.make_agent(run, inner, OfflineSkills(config, learner, params))
  assert isinstance(env, LatentActionEnv)
  space = downstream.npmp_space(run.transfer, learner.model, params, inner.observation_size)
  state = env.reset(jax.random.PRNGKey(0))
  logits, means, stds = space.prior(params, state.obs[None])
  np.testing.assert_array_equal(means, 0.0)
  np.testing.assert_array_equal(stds, 1.0)
  z = jnp.array([1.0, -0.5, 0.2])
  state = env.step(state, z)
  _, means, stds = space.prior(params, state.obs[None])
  np.testing.assert_allclose(means[0, 0], 0.95 * z, rtol=1e-6)
  np.testing.assert_allclose(stds[0, 0], np.sqrt(1 - 0.95 ** 2) * np.ones(3), rtol=1e-5)
  assert logits.shape == (1, 1)
  # MPO over z on the latent env: the online loop runs and the KL to the prior is finite.
  loop = LOOP.__class__(**{**LOOP.__dict__, "env_steps": 16 * 2 * 8 * 2})
  _, history = run_loop(agent, env, loop)
  kl = np.asarray(history[-1]["learner/kl_z_to_prior"])
  assert np.all(np.isfinite(kl)) and np.all(kl > 0)
  with pytest.raises(ValueError, match="sample_low_level"):
    run.transfer.sample_low_level = True
    downstream.make_agent(run, inner, OfflineSkills(config, learner, params))

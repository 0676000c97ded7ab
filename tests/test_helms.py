"""HeLMS offline model and learner: recovery of a known switching process, structure, errors."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helms_jax import methods
from helms_jax.agents.helms import offline
from helms_jax.analysis.skills import clustering_purity
from helms_jax.envs.base import ObservationGroups

GROUPS = ObservationGroups.from_sizes(state=2)


def switching_data(rng: np.random.Generator, num_seq: int, length: int, k: int = 3,
                   stay: float = 0.95, noise: float = 0.1):
  """A sticky Markov chain of k modes; mode m pushes a 2-D point along direction m.

  a_t = d_{m_t} - 0.5 x_t + noise,  x_{t+1} = x_t + 0.1 a_t, P(m_t = m_{t-1}) = stay.
  Returns x [N, L+1, 2], a [N, L, 2], modes [N, L].
  """
  angles = 2 * np.pi * np.arange(k) / k
  directions = np.stack([np.cos(angles), np.sin(angles)], -1)
  trans = np.full((k, k), (1 - stay) / (k - 1))
  np.fill_diagonal(trans, stay)
  modes = np.zeros((num_seq, length), int)
  x = np.zeros((num_seq, length + 1, 2))
  a = np.zeros((num_seq, length, 2))
  modes[:, 0] = rng.integers(k, size=num_seq)
  x[:, 0] = 0.3 * rng.normal(size=(num_seq, 2))
  for t in range(length):
    if t > 0:
      u = rng.random(num_seq)[:, None]
      modes[:, t] = (u > np.cumsum(trans[modes[:, t - 1]], -1)).sum(-1)
    a[:, t] = directions[modes[:, t]] - 0.5 * x[:, t] + noise * rng.normal(size=(num_seq, 2))
    x[:, t + 1] = x[:, t] + 0.1 * a[:, t]
  return x.astype(np.float32), a.astype(np.float32), modes


def small_config(**overrides):
  cfg = offline.default_config()
  cfg.update(dict(num_skills=3, latent_size=2, high_level_hidden=(64, 64),
                  mid_level_hidden=(64, 64), low_level_hidden=(64, 64),
                  high_level_groups=("state",), mid_level_groups=("state",),
                  low_level_groups=("state",), learning_rate=1e-3, beta_y=0.1, beta_z=0.01))
  cfg.update(overrides)
  return cfg


def window_batch(x, a, key, batch, window, lookahead):
  k1, k2 = jax.random.split(key)
  seq = jax.random.randint(k1, (batch,), 0, x.shape[0])
  start = jax.random.randint(k2, (batch,), 0, a.shape[1] - window + 1)
  obs_idx = start[:, None] + jnp.arange(window + lookahead)[None]
  act_idx = start[:, None] + jnp.arange(window)[None]
  return {"observation": x[seq[:, None], obs_idx], "obs_mask": jnp.ones((batch, window + lookahead)),
          "action": a[seq[:, None], act_idx]}


@pytest.mark.timeout(600)
def test_recovers_modes_and_sticky_transitions():
  rng = np.random.default_rng(0)
  x, a, modes = switching_data(rng, 256, 64)
  cfg, lookahead = small_config(), 1
  stats = (x.reshape(-1, 2).mean(0), x.reshape(-1, 2).std(0))
  learner = methods.make_learner(cfg, 2, 2, observation_groups=GROUPS, observation_stats=stats,
                                lookahead=lookahead)
  xs, acts = jnp.asarray(x), jnp.asarray(a)

  @jax.jit
  def chunk(state, key):
    def body(s, k):
      k1, k2 = jax.random.split(k)
      return learner.update(s, window_batch(xs, acts, k1, 64, 16, lookahead), k2)
    return jax.lax.scan(body, state, jax.random.split(key, 100))

  state = learner.init(jax.random.PRNGKey(0))
  for i in range(16):  # 1600 updates (1000 are not always enough to split all three modes)
    state, metrics = chunk(state, jax.random.PRNGKey(i + 1))
  assert np.all(np.isfinite(np.asarray(metrics["loss"])))
  functions, _ = offline.make_helms(cfg, 2, 2, GROUPS, stats, lookahead)
  # Fresh held-out sequences from the same process.
  x_test, a_test, modes_test = switching_data(np.random.default_rng(1), 64, 64)
  full = {"observation": jnp.asarray(x_test), "obs_mask": jnp.ones((64, 65)),
          "action": jnp.asarray(a_test)}
  filtered = np.asarray(offline.infer_skills(functions, state.params, full))  # [64, 64, 3]
  purity = clustering_purity(filtered.argmax(-1).reshape(-1), modes_test.reshape(-1))
  prior = np.exp(np.asarray(functions.log_transition_prior(state.params)))
  print(f"purity {purity:.3f}; prior diagonal {np.diag(prior)}")
  assert purity >= 0.9
  np.testing.assert_allclose(prior.sum(-1), 1.0, atol=1e-5)
  assert np.all(np.diag(prior) > 0.5), prior  # true chain stays with probability 0.95
  assert np.trace(prior) / 3 > 0.7


def test_components_are_vmapped_copies():
  cfg = small_config(num_skills=4)
  functions, init_params = offline.make_helms(cfg, 2, 2, GROUPS, None, 1)
  params = init_params(jax.random.PRNGKey(0))
  kernel = params["model"]["mid"]["components"]["torso"]["dense_0"]["kernel"]
  assert kernel.shape == (4, 2, 64)  # [K, in, hidden]: one set of weights per skill
  obs = jax.random.normal(jax.random.PRNGKey(1), (5, 2))
  mean, scale = functions.components(params, obs)
  assert mean.shape == scale.shape == (5, 4, 2)
  # Component k alone, with only its own weights, gives column k.
  from helms_jax.networks import GaussianComponent  # pylint: disable=import-outside-toplevel
  single = GaussianComponent(2, (64, 64), init_scale=0.5)
  for k in range(4):
    p_k = jax.tree_util.tree_map(lambda v, k=k: v[k], params["model"]["mid"]["components"])
    m_k, s_k = single.apply({"params": p_k}, functions.normalize(params, obs))
    np.testing.assert_allclose(mean[:, k], m_k, atol=1e-5)
    np.testing.assert_allclose(scale[:, k], s_k, atol=1e-5)


@pytest.mark.slow  # ~10 s; the default suite's 15-minute budget
def test_discrete_only_has_no_z_noise_and_continuous_only_needs_one_skill():
  cfg = small_config(components="discrete_only")
  functions, init_params = offline.make_helms(cfg, 2, 2, GROUPS, None, 1)
  params = init_params(jax.random.PRNGKey(0))
  window = {"observation": jnp.ones((5, 2)), "obs_mask": jnp.ones(5), "action": jnp.zeros((4, 2))}
  t1, _ = functions.elbo_terms(params, window, jax.random.PRNGKey(1))
  t2, _ = functions.elbo_terms(params, window, jax.random.PRNGKey(2))
  np.testing.assert_array_equal(t1.kl_z, 0.0)
  np.testing.assert_allclose(t1.reconstruction, t2.reconstruction)  # z is the component mean
  with pytest.raises(ValueError, match="num_skills=1"):
    offline.make_helms(small_config(components="continuous_only"), 2, 2, GROUPS, None, 1)
  cont, init_c = offline.make_helms(small_config(components="continuous_only", num_skills=1),
                                    2, 2, GROUPS, None, 1)
  terms, _ = cont.elbo_terms(init_c(jax.random.PRNGKey(0)), window, jax.random.PRNGKey(1))
  np.testing.assert_allclose(terms.kl_y, 0.0, atol=1e-6)  # one skill: nothing to switch


def test_prior_policy_follows_transition_matrix():
  cfg = small_config(num_skills=3)
  learner = methods.make_learner(cfg, 2, 2, observation_groups=GROUPS, lookahead=1)
  params = learner.init(jax.random.PRNGKey(0)).params
  # A deterministic cyclic prior 0 -> 1 -> 2 -> 0 written into the linear layer.
  cycle = np.roll(np.eye(3), 1, axis=1)
  params["model"]["prior"]["kernel"] = jnp.asarray(20.0 * cycle)
  step = jax.jit(functools.partial(learner.policy, deterministic=False))
  pstate = {"skill": jnp.asarray(0, jnp.int32)}
  skills = []
  for i in range(6):
    action, pstate = step(params, jnp.zeros(2), jax.random.PRNGKey(i), pstate)
    assert action.shape == (2,)
    skills.append(int(pstate["skill"]))
  assert skills == [1, 2, 0, 1, 2, 0]


def test_bad_inputs_are_named():
  with pytest.raises(ValueError, match="not in the observation groups"):
    offline.make_helms(small_config(low_level_groups=("proprio",)), 2, 2, GROUPS, None, 1)
  with pytest.raises(ValueError, match="needs the env's observation groups"):
    offline.make_helms(small_config(), 2, 2, None, None, 1)
  with pytest.raises(ValueError, match="filter_method"):
    offline.make_helms(small_config(filter_method="fast"), 2, 2, GROUPS, None, 1)
  functions, init_params = offline.make_helms(small_config(), 2, 2, GROUPS, None, 2)
  window = {"observation": jnp.ones((5, 2)), "obs_mask": jnp.ones(5), "action": jnp.zeros((4, 2))}
  with pytest.raises(ValueError, match="lookahead"):
    functions.elbo_terms(init_params(jax.random.PRNGKey(0)), window, jax.random.PRNGKey(0))

"""RSSM: shapes, the scanned filter equals step-by-step calls, KL >= 0 with free nats."""

import jax
import jax.numpy as jnp
import numpy as np

from helms_jax.losses.world_model import kl_with_free_nats
from helms_jax.networks.rssm import RSSMCell, imagine, observe

T, B, E, A = 5, 3, 7, 2


def _cell_and_params():
  cell = RSSMCell(deter_size=16, stoch_size=4, hidden_size=12)
  init = cell.initial_state((B,))
  params = cell.init(jax.random.PRNGKey(0), init, jnp.zeros((B, A)), jnp.zeros((B, E)),
                     jax.random.PRNGKey(1))
  return cell, params, init


def test_observe_matches_step_by_step_and_shapes():
  cell, params, init = _cell_and_params()
  embeds = jax.random.normal(jax.random.PRNGKey(2), (T, B, E))
  actions = jax.random.normal(jax.random.PRNGKey(3), (T, B, A))
  key = jax.random.PRNGKey(4)
  (post_mean, post_std), (prior_mean, prior_std), states = jax.jit(
      lambda e, a, k: observe(cell, params, e, a, k, init))(embeds, actions, key)
  assert post_mean.shape == prior_std.shape == (T, B, 4)
  assert states.deter.shape == (T, B, 16) and states.features.shape == (T, B, 20)
  assert np.all(post_std >= 0.1) and np.all(prior_std >= 0.1)  # the std floor
  state = init
  for t, k in enumerate(jax.random.split(key, T)):
    (m, _), _, state = cell.apply(params, state, actions[t], embeds[t], k,
                                  method="posterior_step")
    np.testing.assert_allclose(m, post_mean[t], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(state.stoch, states.stoch[t], rtol=1e-5, atol=1e-5)


def test_imagine_rolls_the_prior_with_the_policy():
  cell, params, init = _cell_and_params()
  policy = lambda state, key: jnp.tanh(state.deter[..., :A])
  states, actions = imagine(cell, params, policy, init, 6, jax.random.PRNGKey(5))
  assert states.stoch.shape == (6, B, 4) and actions.shape == (6, B, A)
  np.testing.assert_allclose(actions[1], jnp.tanh(states.deter[0, :, :A]), rtol=1e-6)


def test_kl_is_nonnegative_zero_at_equality_and_free_nats_floor_it():
  keys = jax.random.split(jax.random.PRNGKey(6), 4)
  pm, qm = (jax.random.normal(k, (10, 4)) for k in keys[:2])
  ps, qs = (jax.nn.softplus(jax.random.normal(k, (10, 4))) + 0.1 for k in keys[2:])
  loss, kl = kl_with_free_nats(pm, ps, qm, qs, free_nats=0.0)
  assert kl.shape == (10,) and np.all(kl >= 0) and float(loss) == float(jnp.mean(kl))
  _, zero = kl_with_free_nats(pm, ps, pm, ps, free_nats=0.0)
  np.testing.assert_allclose(zero, 0.0, atol=1e-6)
  floored, _ = kl_with_free_nats(pm, ps, pm + 1e-3, ps, free_nats=3.0)
  assert float(floored) == 3.0
  grad = jax.grad(lambda m: kl_with_free_nats(m, ps, pm + 1e-3, ps, 3.0)[0])(pm)
  assert float(jnp.abs(grad).sum()) == 0.0  # below the free nats: no gradient

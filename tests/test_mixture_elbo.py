"""`losses.mixture_elbo` against brute-force enumeration of every skill path (equation 3 of the
HeLMS paper written as an expectation over paths y_{0:T}, not as the filtered recursion)."""

import itertools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized
from jax.test_util import check_grads

from helms_jax import losses


def _random_inputs(rng: np.random.Generator, t: int, k: int, time_varying_prior: bool = False):
  def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))
  log_q = log_softmax(rng.normal(size=(t, k, k)) * 2.0)
  log_p = log_softmax(rng.normal(size=(t, k, k) if time_varying_prior else (k, k)))
  action_log_prob = rng.normal(size=(t, k)) * 3.0
  kl_z = np.abs(rng.normal(size=(t, k)))
  log_init = log_softmax(rng.normal(size=(k,)))
  # float64 for the brute force; JAX (x64 off) computes in float32.
  return log_q, log_p, action_log_prob, kl_z, log_init


def f32(*arrays):
  return tuple(jnp.asarray(a, jnp.float32) for a in arrays)


def brute_force(log_q, log_p, action_log_prob, kl_z, log_init, beta_y, beta_z):
  """ELBO and marginals by summing over all K^(T+1) skill paths (float64 numpy)."""
  t, k, _ = log_q.shape
  log_p = np.broadcast_to(log_p, (t, k, k))
  elbo, marginals = 0.0, np.zeros((t, k))
  for path in itertools.product(range(k), repeat=t + 1):
    prob = np.exp(log_init[path[0]])
    value = 0.0
    for s in range(t):
      prev, cur = path[s], path[s + 1]
      prob *= np.exp(log_q[s, prev, cur])
      value += (action_log_prob[s, cur] - beta_z * kl_z[s, cur]
                - beta_y * (log_q[s, prev, cur] - log_p[s, prev, cur]))
    elbo += prob * value
    for s in range(t):
      marginals[s, path[s + 1]] += prob
  return elbo, marginals


class MixtureElboTest(chex.TestCase, parameterized.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.product(shape=((4, 3), (5, 2), (1, 4)), method=losses.FILTER_METHODS,
                         time_varying_prior=(False, True))
  def test_matches_path_enumeration(self, shape, method, time_varying_prior):
    t, k = shape
    rng = np.random.default_rng(t * 10 + k)
    log_q, log_p, alp, kl_z, log_init = _random_inputs(rng, t, k, time_varying_prior)
    beta_y, beta_z = 0.7, 0.3
    fn = self.variant(lambda *a: losses.mixture_elbo(
        *a[:4], beta_y=beta_y, beta_z=beta_z, log_q_init=a[4], filter_method=method))
    elbo, filtered = fn(*(jnp.asarray(x, jnp.float32) for x in (log_q, log_p, alp, kl_z,
                                                                   log_init)))
    want_elbo, want_marginals = brute_force(log_q, log_p, alp, kl_z, log_init, beta_y, beta_z)
    np.testing.assert_allclose(elbo, want_elbo, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(filtered, want_marginals, atol=1e-5)

  def test_uniform_init_is_default(self):
    log_q, log_p, alp, kl_z, _ = _random_inputs(np.random.default_rng(0), 3, 3)
    uniform = np.full(3, -np.log(3.0))
    elbo, _ = losses.mixture_elbo(*f32(log_q, log_p, alp, kl_z))
    np.testing.assert_allclose(elbo, brute_force(log_q, log_p, alp, kl_z, uniform, 1, 1)[0],
                               rtol=1e-5)

  @parameterized.parameters(*losses.FILTER_METHODS)
  def test_trailing_padding_equals_truncated_sequence(self, method):
    rng = np.random.default_rng(1)
    log_q, log_p, alp, kl_z, log_init = _random_inputs(rng, 6, 3)
    mask = np.array([1, 1, 1, 1, 0, 0], np.float32)
    elbo, filtered = losses.mixture_elbo(*f32(log_q, log_p, alp, kl_z), beta_y=0.5,
                                         log_q_init=f32(log_init)[0], mask=mask,
                                         filter_method=method)
    want_elbo, want_marginals = brute_force(log_q[:4], log_p, alp[:4], kl_z[:4], log_init, 0.5, 1)
    np.testing.assert_allclose(elbo, want_elbo, rtol=1e-5)
    np.testing.assert_allclose(filtered[:4], want_marginals, atol=1e-5)
    # Padding keeps the last valid distribution.
    np.testing.assert_allclose(filtered[4:], np.broadcast_to(want_marginals[3], (2, 3)), atol=1e-5)

  def test_interior_mask_is_identity_transition(self):
    rng = np.random.default_rng(2)
    log_q, log_p, alp, kl_z, log_init = _random_inputs(rng, 4, 2)
    mask = np.array([1, 0, 1, 1], np.float32)
    got = {m: losses.mixture_elbo(*f32(log_q, log_p, alp, kl_z), log_q_init=f32(log_init)[0],
                                  mask=mask, filter_method=m) for m in losses.FILTER_METHODS}
    # Brute force on the sequence with step 1 removed (it neither moves y nor scores).
    keep = [0, 2, 3]
    want_elbo, want_marg = brute_force(log_q[keep], log_p, alp[keep], kl_z[keep], log_init, 1, 1)
    for elbo, filtered in got.values():
      np.testing.assert_allclose(elbo, want_elbo, rtol=1e-5)
      np.testing.assert_allclose(np.asarray(filtered)[keep], want_marg, atol=1e-5)

  def test_filters_agree_long_sequence(self):
    rng = np.random.default_rng(3)
    log_q, *_ = _random_inputs(rng, 300, 10)
    seq = losses.forward_filter(jnp.asarray(log_q, jnp.float32), method="sequential")
    par = losses.forward_filter(jnp.asarray(log_q, jnp.float32), method="associative")
    np.testing.assert_allclose(seq, par, atol=2e-5)
    np.testing.assert_allclose(seq.sum(-1), 1.0, atol=1e-5)

  def test_deterministic_chain_limit(self):
    # Near-deterministic posterior transitions (log-probs down to -80): both filters stay finite
    # and follow the chain 0 -> 1 -> 2 -> 0.
    k = 3
    perm = np.roll(np.eye(k), 1, axis=1)
    log_q = np.where(perm > 0, 0.0, -80.0)[None].repeat(5, 0)
    log_q = log_q - np.log(np.exp(log_q).sum(-1, keepdims=True))
    log_init = np.log(np.array([1.0, 1e-30, 1e-30]))
    for method in losses.FILTER_METHODS:
      filtered = losses.forward_filter(jnp.asarray(log_q, jnp.float32),
                                       jnp.asarray(log_init, jnp.float32), method=method)
      np.testing.assert_allclose(np.argmax(filtered, -1), [1, 2, 0, 1, 2])
      assert np.all(np.isfinite(filtered))

  @parameterized.parameters(*losses.FILTER_METHODS)
  def test_finite_difference_gradients(self, method):
    rng = np.random.default_rng(4)
    log_q, log_p, alp, kl_z, log_init = _random_inputs(rng, 3, 3)
    mask = np.array([1.0, 1.0, 0.0])

    def f(raw_q, raw_p, alp, kl_z, raw_init):
      # Gradients w.r.t. unnormalised logits, so finite differences stay on the simplex.
      return losses.mixture_elbo(jax.nn.log_softmax(raw_q), jax.nn.log_softmax(raw_p), alp, kl_z,
                                 beta_y=0.8, beta_z=0.4, log_q_init=jax.nn.log_softmax(raw_init),
                                 mask=mask, filter_method=method)[0]

    with jax.enable_x64(True):
      args = tuple(jnp.asarray(x, jnp.float64) for x in (log_q, log_p, alp, kl_z, log_init))
      check_grads(f, args, order=1, modes=("rev",), atol=1e-5, rtol=1e-5)
      grads = jax.grad(f, argnums=(0, 2))(*args)
      # The masked step has no influence on the ELBO.
      np.testing.assert_array_equal(grads[0][2], 0.0)
      np.testing.assert_array_equal(grads[1][2], 0.0)

  def test_vmap_matches_loop(self):
    rng = np.random.default_rng(5)
    batch = [_random_inputs(rng, 4, 3) for _ in range(3)]
    stacked = [jnp.asarray(np.stack(x), jnp.float32) for x in zip(*batch)]
    elbos, filtered = jax.jit(jax.vmap(
        lambda q, p, a, z, i: losses.mixture_elbo(q, p, a, z, log_q_init=i)))(*stacked)
    for b, inputs in enumerate(batch):
      want, want_f = brute_force(*inputs, 1.0, 1.0)
      np.testing.assert_allclose(elbos[b], want, rtol=1e-5)
      np.testing.assert_allclose(filtered[b], want_f, atol=1e-5)

  def test_shape_errors_name_the_argument(self):
    log_q, log_p, alp, kl_z = f32(*_random_inputs(np.random.default_rng(6), 4, 3)[:4])
    with pytest.raises(ValueError, match="action_log_prob must be"):
      losses.mixture_elbo(log_q, log_p, alp[:, :2], kl_z)
    with pytest.raises(ValueError, match="log_p_trans must be"):
      losses.mixture_elbo(log_q, log_p[:2], alp, kl_z)
    with pytest.raises(ValueError, match="use jax.vmap"):
      losses.mixture_elbo(log_q[None], log_p, alp, kl_z)
    with pytest.raises(ValueError, match="mask must be"):
      losses.mixture_elbo(log_q, log_p, alp, kl_z, mask=np.ones(5))
    with pytest.raises(ValueError, match="unknown filter method"):
      losses.mixture_elbo(log_q, log_p, alp, kl_z, filter_method="parallel")

  def test_chex_checks_dtypes_and_scalar_betas(self):
    log_q, log_p, alp, kl_z = f32(*_random_inputs(np.random.default_rng(6), 4, 3)[:4])
    with pytest.raises(AssertionError, match="action_log_prob must be floating point"):
      losses.mixture_elbo(log_q, log_p, alp.astype(jnp.int32), kl_z)
    with pytest.raises(AssertionError, match="beta_y must be a scalar"):
      losses.mixture_elbo_terms(log_q, log_p, alp, kl_z, beta_y=jnp.ones(2))

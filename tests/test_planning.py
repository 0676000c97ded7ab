"""CEM on functions with known optima (under jit and vmap), and lambda-returns by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helms_jax import planning
from helms_jax.losses.returns import lambda_returns


def _quadratic(target):
  return lambda x: -jnp.sum(jnp.square(x - target), axis=-1)


def test_cem_finds_quadratic_optimum_under_jit():
  target = jnp.array([1.5, -0.5, 0.25])
  run = jax.jit(lambda key: planning.cem(_quadratic(target), key, jnp.zeros(3), jnp.ones(3),
                                         num_samples=64, num_elites=8, num_iters=12))
  result = run(jax.random.PRNGKey(0))
  np.testing.assert_allclose(result.mean, target, atol=0.02)
  np.testing.assert_allclose(result.best_sample, target, atol=0.15)
  assert float(result.best_score) == pytest.approx(float(_quadratic(target)(result.best_sample)))
  assert np.all(result.std < 0.05)


def test_cem_vmaps_over_a_batch_of_problems():
  targets = jnp.array([[2.0, 0.0], [-1.0, 1.0], [0.5, -2.0], [0.0, 0.0]])

  def solve(target, key):
    return planning.cem(_quadratic(target), key, jnp.zeros(2), 2.0 * jnp.ones(2),
                        num_samples=64, num_elites=8, num_iters=12)

  result = jax.jit(jax.vmap(solve))(targets, jax.random.split(jax.random.PRNGKey(1), 4))
  assert result.mean.shape == (4, 2) and result.best_score.shape == (4,)
  np.testing.assert_allclose(result.mean, targets, atol=0.03)


def test_cem_prefers_the_dominant_mode_and_keeps_min_std():
  """Two bumps: height 1 at +2, height 0.6 at -2; started between them with a broad std."""
  def bumps(x):
    x = x[..., 0]
    return jnp.exp(-jnp.square(x - 2.0) / 0.5) + 0.6 * jnp.exp(-jnp.square(x + 2.0) / 0.5)

  results = jax.jit(jax.vmap(lambda k: planning.cem(
      bumps, k, jnp.zeros(1), 3.0 * jnp.ones(1), num_samples=64, num_elites=6, num_iters=10,
      min_std=0.05)))(jax.random.split(jax.random.PRNGKey(2), 16))
  assert np.mean(np.abs(np.asarray(results.mean[:, 0]) - 2.0) < 0.1) >= 0.9
  assert np.all(np.asarray(results.std) >= 0.05)  # the floor holds


def test_cem_rejects_bad_arguments():
  f = _quadratic(jnp.zeros(2))
  with pytest.raises(ValueError, match="num_elites"):
    planning.cem(f, jax.random.PRNGKey(0), jnp.zeros(2), jnp.ones(2), num_samples=4,
                 num_elites=5, num_iters=1)
  with pytest.raises(ValueError, match="must match"):
    planning.cem(f, jax.random.PRNGKey(0), jnp.zeros(2), jnp.ones(3), num_samples=4,
                 num_elites=2, num_iters=1)
  with pytest.raises(ValueError, match=r"\[N\]"):
    planning.cem(lambda x: x, jax.random.PRNGKey(0), jnp.zeros(2), jnp.ones(2), num_samples=4,
                 num_elites=2, num_iters=1)
  with pytest.raises(AssertionError, match="init_mean must be floating point"):
    planning.cem(f, jax.random.PRNGKey(0), jnp.zeros(2, jnp.int32), jnp.ones(2), num_samples=4,
                 num_elites=2, num_iters=1)


def test_lambda_returns_by_hand():
  rewards, values = jnp.array([1.0, 2.0, 3.0]), jnp.array([0.0, 4.0, 5.0])
  discounts, bootstrap = jnp.full(3, 0.9), jnp.asarray(6.0)
  # G2 = 3 + .9*6; G1 = 2 + .9*(.5*5 + .5*G2); G0 = 1 + .9*(.5*4 + .5*G1)
  g2 = 3 + 0.9 * 6
  g1 = 2 + 0.9 * (0.5 * 5 + 0.5 * g2)
  g0 = 1 + 0.9 * (0.5 * 4 + 0.5 * g1)
  np.testing.assert_allclose(lambda_returns(rewards, values, discounts, bootstrap, 0.5),
                             [g0, g1, g2], rtol=1e-6)
  # lambda = 0: one-step TD targets; lambda = 1: the discounted return to the bootstrap.
  np.testing.assert_allclose(lambda_returns(rewards, values, discounts, bootstrap, 0.0),
                             [1 + 0.9 * 4, 2 + 0.9 * 5, 3 + 0.9 * 6], rtol=1e-6)
  np.testing.assert_allclose(lambda_returns(rewards, values, discounts, bootstrap, 1.0)[0],
                             1 + 0.9 * 2 + 0.81 * 3 + 0.729 * 6, rtol=1e-6)
  # Batched over trailing axes, and a termination (discount 0) cuts the bootstrap.
  batch = lambda_returns(jnp.stack([rewards, rewards], 1), jnp.stack([values, values], 1),
                         jnp.stack([discounts, discounts.at[1].set(0.0)], 1),
                         jnp.array([6.0, 6.0]), 0.5)
  np.testing.assert_allclose(batch[:, 0], [g0, g1, g2], rtol=1e-6)
  np.testing.assert_allclose(batch[1, 1], 2.0)
  with pytest.raises(ValueError, match="bootstrap"):
    lambda_returns(rewards, values, discounts, jnp.zeros(2), 0.5)


def test_mppi_finds_quadratic_optimum_under_jit_and_vmap():
  targets = jnp.array([[1.0, -0.5], [-0.8, 0.3]])

  def solve(target, key):
    return planning.mppi(_quadratic(target), key, jnp.zeros(2), jnp.ones(2), num_samples=128,
                         num_iters=10, temperature=0.05)

  result = jax.jit(jax.vmap(solve))(targets, jax.random.split(jax.random.PRNGKey(7), 2))
  np.testing.assert_allclose(result.mean, targets, atol=0.05)
  # A huge temperature weighs all samples equally: the mean stays at the sample mean (~init).
  flat = planning.mppi(_quadratic(targets[0]), jax.random.PRNGKey(8), jnp.zeros(2), jnp.ones(2),
                       num_samples=4096, num_iters=1, temperature=1e6)
  np.testing.assert_allclose(flat.mean, jnp.zeros(2), atol=0.06)
  with pytest.raises(ValueError, match="temperature"):
    planning.mppi(_quadratic(targets[0]), jax.random.PRNGKey(0), jnp.zeros(2), jnp.ones(2),
                  num_samples=4, num_iters=1, temperature=0.0)

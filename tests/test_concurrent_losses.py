"""The closed-form entropy of a sum of independent Gaussians against a Monte Carlo estimate."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helms_jax.losses import concurrent


def test_sum_entropy_matches_monte_carlo():
  means = jnp.array([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5], [-0.3, 0.2, 0.1]])  # K = 3, D = 3
  stds = jnp.array([[0.3, 1.0, 0.5], [0.7, 0.2, 0.4], [0.1, 0.6, 1.5]])
  samples = means + stds * jax.random.normal(jax.random.PRNGKey(0), (200_000,) + means.shape)
  v = np.asarray(jnp.sum(samples, axis=1))  # [N, D] samples of the sum
  mean, std = concurrent.sum_of_gaussians(means, stds)
  np.testing.assert_allclose(v.mean(0), mean, atol=0.01)
  np.testing.assert_allclose(v.std(0), std, rtol=0.01)
  # Monte Carlo entropy: -E[log p(V)] under the sum's own (Gaussian) density.
  log_p = -0.5 * np.sum(((v - np.asarray(mean)) / np.asarray(std)) ** 2
                        + np.log(2 * np.pi * np.asarray(std) ** 2), axis=-1)
  assert float(concurrent.sum_entropy(stds)) == pytest.approx(-log_p.mean(), abs=0.01)


def test_sum_of_gaussians_names_bad_shapes():
  with pytest.raises(ValueError, match=r"\[..., K, D\]"):
    concurrent.sum_of_gaussians(jnp.zeros((3,)), jnp.ones((3,)))


def test_sum_entropy_matches_a_nearest_neighbour_estimate():
  """Kozachenko-Leonenko k-NN entropy of samples of the sum (no Gaussian assumption)."""
  from scipy.spatial import cKDTree
  from scipy.special import digamma, gammaln
  stds = jnp.array([[0.3, 1.0, 0.5], [0.7, 0.2, 0.4], [0.1, 0.6, 1.5]])
  n, d, k = 20_000, 3, 4
  v = np.asarray(jnp.sum(stds * jax.random.normal(jax.random.PRNGKey(1), (n,) + stds.shape), 1))
  dist = cKDTree(v).query(v, k=k + 1)[0][:, k]  # the k-th neighbour (index 0 is the point)
  log_unit_ball = d / 2 * np.log(np.pi) - gammaln(d / 2 + 1)
  estimate = digamma(n) - digamma(k) + log_unit_ball + d * np.mean(np.log(dist))
  assert float(concurrent.sum_entropy(stds)) == pytest.approx(estimate, abs=0.05)

"""Concurrent-skill CVAE kernels (issue 8 groundwork): Gaussians of summed subskill embeddings.

A composite behaviour's embedding should be the sum V = sum_k z_k of its subskills' embeddings.
With independent diagonal Gaussians z_k ~ N(mu_k, diag(sigma_k^2)), V is Gaussian with mean
sum_k mu_k and variance sum_k sigma_k^2, so its entropy has a closed form (the non-variational
regulariser's H(V)):

  H(V) = 0.5 * sum_d log(2 pi e * sum_k sigma_{k,d}^2).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

_LOG_2PI_E = 1.0 + jnp.log(2.0 * jnp.pi)


def sum_of_gaussians(means: jax.Array, stds: jax.Array) -> tuple[jax.Array, jax.Array]:
  """`means, stds [..., K, D]` of K independent diagonal Gaussians -> the (mean, std) [..., D]
  of their sum."""
  if means.shape != stds.shape or means.ndim < 2:
    raise ValueError(f"means and stds must both be [..., K, D], got {means.shape} and "
                     f"{stds.shape}")
  return jnp.sum(means, axis=-2), jnp.sqrt(jnp.sum(jnp.square(stds), axis=-2))


def gaussian_entropy(std: jax.Array) -> jax.Array:
  """Entropy of a diagonal Gaussian with `std [..., D]`, summed over D -> [...] (nats)."""
  return 0.5 * jnp.sum(_LOG_2PI_E + 2.0 * jnp.log(std), axis=-1)


def sum_entropy(stds: jax.Array) -> jax.Array:
  """H(sum_k z_k) for independent diagonal Gaussians with `stds [..., K, D]` -> [...]."""
  return gaussian_entropy(jnp.sqrt(jnp.sum(jnp.square(stds), axis=-2)))

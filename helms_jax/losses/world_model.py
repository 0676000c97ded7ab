"""World-model losses (Dreamer): the KL between posterior and prior with free nats."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from helms_jax.losses.kl import gaussian_kl


def kl_with_free_nats(post_mean: jax.Array, post_std: jax.Array, prior_mean: jax.Array,
                      prior_std: jax.Array, free_nats: float) -> tuple[jax.Array, jax.Array]:
  """KL(q || p) of diagonal Gaussians summed over the last axis, [..., S] -> [...], and the loss
  term `max(mean KL, free_nats)` (Dreamer v1: no gradient while the mean KL is below the free
  nats). Returns (loss [], kl [...])."""
  kl = jnp.sum(gaussian_kl(post_mean, post_std, prior_mean, prior_std), axis=-1)
  return jnp.maximum(jnp.mean(kl), free_nats), kl

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


def unit_gaussian_nll(prediction: jax.Array, target: jax.Array, event_dims: int = 1) -> jax.Array:
  """-log N(target; prediction, I) up to a constant, summed over the last `event_dims` axes:
  `[..., *event] -> [...]` (Dreamer's observation and reward likelihoods)."""
  # Hand-written: distrax.Normal(prediction, 1).log_prob would add 0.5 log(2 pi) per element.
  if prediction.shape != target.shape:
    raise ValueError(f"prediction {prediction.shape} and target {target.shape} must match")
  axes = tuple(range(-event_dims, 0)) if event_dims else ()
  return 0.5 * jnp.sum(jnp.square(prediction - target), axis=axes)


def imagination_weights(discounts: jax.Array) -> jax.Array:
  """`discounts [H, ...] -> [H, ...]` the probability-weighted discount of reaching step t,
  prod_{i<t} d_i (1 at t = 0): Dreamer weighs imagined steps' losses by it."""
  return jnp.cumprod(jnp.concatenate([jnp.ones_like(discounts[:1]), discounts[:-1]], axis=0),
                     axis=0)

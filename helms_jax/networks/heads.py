"""Distribution heads: map features to distrax distributions."""

from __future__ import annotations

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp


def positive_scale(raw: jax.Array, init_scale: float, min_scale: float) -> jax.Array:
  """`softplus(raw + offset) + min_scale`, offset so that raw = 0 gives `init_scale`."""
  offset = jnp.log(jnp.expm1(init_scale - min_scale))
  return jax.nn.softplus(raw + offset) + min_scale


class GaussianHead(nn.Module):
  """Diagonal Gaussian over `[..., event_size]` from features `[..., F]`.

  The scale is `softplus(raw) + min_scale` so it stays positive and bounded away from zero.
  """
  event_size: int
  min_scale: float = 1e-3
  init_scale: float = 1.0

  @nn.compact
  def __call__(self, features: jax.Array) -> distrax.Distribution:
    mean = nn.Dense(self.event_size, name="mean")(features)
    raw_scale = nn.Dense(self.event_size, name="scale")(features)
    return distrax.MultivariateNormalDiag(
        mean, positive_scale(raw_scale, self.init_scale, self.min_scale))


class GatedCategoricalHead(nn.Module):
  """One categorical head per previous class: features `[..., F]` -> log-probs `[..., K, K]`.

  `[..., i, j] = log q(y_t = j | y_{t-1} = i, features)`: the "gated" high-level head of HeLMS,
  which selects the row of the previous skill. Rows are normalised (log-softmax).
  """
  num_classes: int
  init_scale: float = 1.0

  @nn.compact
  def __call__(self, features: jax.Array) -> jax.Array:
    k = self.num_classes
    logits = nn.Dense(k * k, kernel_init=nn.initializers.variance_scaling(
        self.init_scale, "fan_in", "uniform"), name="logits")(features)
    return jax.nn.log_softmax(logits.reshape(features.shape[:-1] + (k, k)), axis=-1)


class GaussianParams(nn.Module):
  """Mean and positive scale of a diagonal Gaussian: features `[..., F]` -> two `[..., E]`.

  Like `GaussianHead` but returns raw arrays, for callers that vmap over components (a
  distrax distribution cannot be a `nn.vmap` output) or compute KLs in closed form.
  """
  event_size: int
  min_scale: float = 1e-3
  init_scale: float = 1.0

  @nn.compact
  def __call__(self, features: jax.Array) -> tuple[jax.Array, jax.Array]:
    mean = nn.Dense(self.event_size, name="mean")(features)
    raw_scale = nn.Dense(self.event_size, name="scale")(features)
    return mean, positive_scale(raw_scale, self.init_scale, self.min_scale)

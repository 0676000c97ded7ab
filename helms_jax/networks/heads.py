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


def soft_clamped_scale(raw: jax.Array, init_scale: float, min_scale: float,
                       max_scale: float) -> jax.Array:
  """A scale softly clamped between min_scale and max_scale in log space (Chua et al., 2018, as
  LSP's decoder): log s = raw + log(init_scale), pulled under log(max_scale), then over
  log(min_scale), each by a softplus. Soft: the result lies in (min_scale, min_scale +
  max_scale) (the second softplus lifts the upper bound by min_scale), about `init_scale` at
  raw = 0 when that is well inside."""
  if not 0 < min_scale < max_scale:
    raise ValueError(f"need 0 < min_scale < max_scale, got {min_scale}, {max_scale}")
  log_min, log_max = jnp.log(min_scale), jnp.log(max_scale)
  log_scale = raw + jnp.log(init_scale)
  log_scale = log_max - jax.nn.softplus(log_max - log_scale)
  return jnp.exp(log_min + jax.nn.softplus(log_scale - log_min))


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
  distrax distribution cannot be a `nn.vmap` output) or compute KLs in closed form. With
  `max_scale` the scale is softly clamped into (min_scale, max_scale) (`soft_clamped_scale`);
  without, it is `positive_scale` (bounded below only). The parameters are the same either way.
  """
  event_size: int
  min_scale: float = 1e-3
  init_scale: float = 1.0
  max_scale: float | None = None

  @nn.compact
  def __call__(self, features: jax.Array) -> tuple[jax.Array, jax.Array]:
    mean = nn.Dense(self.event_size, name="mean")(features)
    raw_scale = nn.Dense(self.event_size, name="scale")(features)
    if self.max_scale is not None:
      return mean, soft_clamped_scale(raw_scale, self.init_scale, self.min_scale, self.max_scale)
    return mean, positive_scale(raw_scale, self.init_scale, self.min_scale)

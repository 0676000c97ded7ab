"""Distribution heads: map features to distrax distributions."""

from __future__ import annotations

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp


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
    # Shift so that the initial scale is about init_scale.
    offset = jnp.log(jnp.expm1(self.init_scale - self.min_scale))
    scale = jax.nn.softplus(raw_scale + offset) + self.min_scale
    return distrax.MultivariateNormalDiag(mean, scale)

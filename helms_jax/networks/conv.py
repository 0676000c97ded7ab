"""Pixel encoders: camera images to feature vectors."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class ImageEncoder(nn.Module):
  """`image [..., H, W, C] (uint8 or float in [0, 1]) -> features [..., F]`.

  Strided 3x3 convolutions (each halves the resolution), then a dense layer with layer norm and
  tanh (the DrQ/DDPG-from-pixels recipe of bounded features for the actor).
  """
  channels: Sequence[int] = (16, 32, 32)
  features: int = 64

  @nn.compact
  def __call__(self, image: jax.Array) -> jax.Array:
    x = image.astype(jnp.float32)
    if jnp.issubdtype(image.dtype, jnp.integer):
      x = x / 255.0
    batch_shape = x.shape[:-3]
    x = x.reshape((-1,) + x.shape[-3:])
    for i, c in enumerate(self.channels):
      x = nn.elu(nn.Conv(c, (3, 3), strides=(2, 2), name=f"conv_{i}")(x))
    x = x.reshape(x.shape[0], -1)
    x = jnp.tanh(nn.LayerNorm(name="norm")(nn.Dense(self.features, name="project")(x)))
    return x.reshape(batch_shape + (self.features,))

"""Multi-layer perceptrons."""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax


class MLP(nn.Module):
  """Dense layers with an activation between them (and after the last if `activate_final`).

  Input `[..., in_dim]` -> output `[..., layer_sizes[-1]]`.
  """
  layer_sizes: Sequence[int]
  activation: Callable[[jax.Array], jax.Array] = nn.elu
  activate_final: bool = False
  layer_norm: bool = False
  kernel_init: Callable = nn.initializers.lecun_uniform()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    for i, size in enumerate(self.layer_sizes):
      x = nn.Dense(size, kernel_init=self.kernel_init, name=f"dense_{i}")(x)
      last = i == len(self.layer_sizes) - 1
      if not last or self.activate_final:
        if self.layer_norm:
          x = nn.LayerNorm(name=f"norm_{i}")(x)
        x = self.activation(x)
    return x

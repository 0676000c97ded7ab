"""Multi-layer perceptrons."""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class SplitDense(nn.Module):
  """`nn.Dense` on the concatenation of `parts` ([..., d_i] each) without building it:
  `sum_i parts[i] @ W_i + b`, W_i the rows of one [sum_i d_i, F] kernel. The parameters, their
  names and their initialisation are `nn.Dense`'s on the concatenation (checkpoints move between
  the two). Why: under `vmap` over one part (MPO's critic on sampled actions, the state not
  batched), the other parts' products are computed once instead of once per sample."""
  features: int
  kernel_init: Callable = nn.initializers.lecun_normal()
  bias_init: Callable = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, parts: Sequence[jax.Array]) -> jax.Array:
    from helms_jax.training import precision  # pylint: disable=import-outside-toplevel  (it imports networks)
    sizes = [part.shape[-1] for part in parts]
    kernel = self.param("kernel", self.kernel_init, (sum(sizes), self.features), jnp.float32)
    out = self.param("bias", self.bias_init, (self.features,), jnp.float32)
    start = 0
    for part, size in zip(parts, sizes):
      out = out + precision.dot(part, kernel[start:start + size])
      start += size
    return out


class MLP(nn.Module):
  """Dense layers with an activation between them (and after the last if `activate_final`).

  Input `[..., in_dim]` -> output `[..., layer_sizes[-1]]`; or a tuple of inputs, the first
  layer then a `SplitDense` over them (the same parameters as on their concatenation).
  """
  layer_sizes: Sequence[int]
  activation: Callable[[jax.Array], jax.Array] = nn.elu
  activate_final: bool = False
  layer_norm: bool = False
  kernel_init: Callable = nn.initializers.lecun_uniform()

  @nn.compact
  def __call__(self, x: jax.Array | Sequence[jax.Array]) -> jax.Array:
    for i, size in enumerate(self.layer_sizes):
      if isinstance(x, (tuple, list)):
        x = SplitDense(size, kernel_init=self.kernel_init, name=f"dense_{i}")(x)
      else:
        x = nn.Dense(size, kernel_init=self.kernel_init, name=f"dense_{i}")(x)
      last = i == len(self.layer_sizes) - 1
      if not last or self.activate_final:
        if self.layer_norm:
          x = nn.LayerNorm(name=f"norm_{i}")(x)
        x = self.activation(x)
    return x

"""WaveNet (van den Oord et al., 2016): dilated causal convolutions with gated units, globally
conditioned, as the concurrent-skill CVAE's state decoder P(s_{t+1} | s_{<=t}, z).

Two ways to run the same parameters:

  `WaveNet()(inputs [..., T, D], cond [..., C]) -> features [..., T, F]`   teacher forcing: all
      steps at once; the output at t sees inputs 0..t only (each layer pads its input on the left
      with zeros, so "before the sequence" is zeros at every layer).
  `WaveNet().step(carry, input_t [..., D], cond) -> (carry, feature_t [..., F])`   one step, for
      generation in a `lax.scan`: `carry` holds, per layer, the last (kernel_size - 1) * dilation
      inputs of that layer (fast WaveNet, Paine et al. 2016), `initial_carry(batch_shape)` is all
      zeros, which is exactly the left padding of the sequence form, so stepping T times gives
      the sequence form's outputs (tested).

Layer l (dilation d_l, kernel k): h = conv_l(x) + W_l cond; g = tanh(h_a) * sigmoid(h_b);
x <- x + W_res g; skip += W_skip g. Output: relu -> dense -> relu. Receptive field
1 + sum_l (k - 1) d_l inputs (`receptive_field`).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


def _shift_right(x: jax.Array, shift: int) -> jax.Array:
  """`x [..., T, C]` delayed by `shift` steps along T, zeros entering on the left."""
  if shift == 0:
    return x
  pad = [(0, 0)] * (x.ndim - 2) + [(shift, 0), (0, 0)]
  return jnp.pad(x, pad)[..., :x.shape[-2], :]


class WaveNet(nn.Module):
  """Globally conditioned WaveNet (module docstring). Inputs `[..., T, D]`, `cond [..., C]`."""
  channels: int = 64
  dilations: Sequence[int] = (1, 2, 4, 8)
  kernel_size: int = 2
  skip_channels: int = 64
  output_size: int = 64

  @property
  def receptive_field(self) -> int:
    return 1 + sum((self.kernel_size - 1) * d for d in self.dilations)

  def setup(self):
    if self.kernel_size < 1 or any(int(d) < 1 for d in self.dilations):
      raise ValueError(f"WaveNet needs kernel_size >= 1 and dilations >= 1, got "
                       f"{self.kernel_size} and {tuple(self.dilations)}")
    c = self.channels
    self.input_proj = nn.Dense(c, name="input")
    self.kernels = [self.param(f"conv_{l}", nn.initializers.lecun_normal(in_axis=-2, out_axis=-1),
                               (self.kernel_size, c, 2 * c))
                    for l in range(len(self.dilations))]
    self.cond_proj = [nn.Dense(2 * c, name=f"cond_{l}") for l in range(len(self.dilations))]
    self.residual = [nn.Dense(c, name=f"residual_{l}") for l in range(len(self.dilations))]
    self.skip = [nn.Dense(self.skip_channels, name=f"skip_{l}")
                 for l in range(len(self.dilations))]
    self.head = nn.Dense(self.output_size, name="head")

  def _gate(self, l: int, conv: jax.Array, cond: jax.Array) -> jax.Array:
    h = conv + self.cond_proj[l](cond)
    a, b = jnp.split(h, 2, axis=-1)
    return jnp.tanh(a) * jax.nn.sigmoid(b)

  def _finish(self, skip: jax.Array) -> jax.Array:
    return jax.nn.relu(self.head(jax.nn.relu(skip)))

  def __call__(self, inputs: jax.Array, cond: jax.Array) -> jax.Array:
    """`inputs [..., T, D]`, `cond [..., C]` -> features `[..., T, output_size]`."""
    if inputs.ndim < 2 or cond.shape[:-1] != inputs.shape[:-2]:
      raise ValueError(f"WaveNet expects inputs [..., T, D] and cond [..., C] with the same "
                       f"leading dims, got {inputs.shape} and {cond.shape}")
    x = self.input_proj(inputs)
    cond = cond[..., None, :]  # broadcast over time
    skip = 0.0
    for l, d in enumerate(self.dilations):
      kernel = self.kernels[l]
      k = self.kernel_size
      conv = sum(_shift_right(x, (k - 1 - j) * d) @ kernel[j] for j in range(k))
      g = self._gate(l, conv, cond)
      x = x + self.residual[l](g)
      skip = skip + self.skip[l](g)
    return self._finish(skip)

  def initial_carry(self, batch_shape: tuple[int, ...] = ()) -> tuple[jax.Array, ...]:
    """Per layer, zeros `[*batch_shape, (kernel_size - 1) * dilation, channels]`."""
    return tuple(jnp.zeros(tuple(batch_shape) + ((self.kernel_size - 1) * d, self.channels))
                 for d in self.dilations)

  def step(self, carry: tuple[jax.Array, ...], input_t: jax.Array, cond: jax.Array
           ) -> tuple[tuple[jax.Array, ...], jax.Array]:
    """One step: `input_t [..., D]`, `cond [..., C]` -> (carry, feature_t [..., output_size])."""
    x = self.input_proj(input_t)
    skip, new_carry = 0.0, []
    k = self.kernel_size
    for l, d in enumerate(self.dilations):
      queue, kernel = carry[l], self.kernels[l]  # queue [..., (k-1) d, c]: x_{t-(k-1)d .. t-1}
      conv = x @ kernel[k - 1]
      for j in range(k - 1):
        conv = conv + queue[..., j * d, :] @ kernel[j]
      if k > 1:
        new_carry.append(jnp.concatenate([queue[..., 1:, :], x[..., None, :]], axis=-2))
      else:
        new_carry.append(queue)
      g = self._gate(l, conv, cond)
      x = x + self.residual[l](g)
      skip = skip + self.skip[l](g)
    return tuple(new_carry), self._finish(skip)

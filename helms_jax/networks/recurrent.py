"""Recurrent sequence encoders: an LSTM and a bidirectional LSTM (flax `nn.RNN`, time by scan).

Both take inputs `[..., T, D]` with any number of leading batch dimensions (none for one
sequence) and return the per-step outputs and the final state. The LSTM state ("carry") is the
pair `(c, h)` of `nn.OptimizedLSTMCell`, each `[..., hidden_size]`; `h` is also the per-step
output, so the last output of a full-length sequence equals `carry[1]`.

`seq_lengths [...]` (optional, int) marks shorter sequences padded to T: the final state is the
state after each sequence's last valid step, and the backward direction of `BidirectionalLSTM`
starts at that step (outputs at padded steps are unspecified and should be masked by the caller).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

LSTMCarry = tuple[jax.Array, jax.Array]  # (c, h), each [..., hidden_size]


def _check_sequence(inputs: jax.Array, what: str) -> None:
  if inputs.ndim < 2:
    raise ValueError(f"{what} expects inputs [..., T, D] (at least 2 dims), got shape "
                     f"{inputs.shape}")


class LSTM(nn.Module):
  """One LSTM layer over time: `inputs [..., T, D] -> (outputs [..., T, H], carry)`.

  `carry = (c, h)`, each `[..., H]` with H = `hidden_size`. `initial_carry` (same structure)
  continues a sequence from a previous call, e.g. stepping a decoder one step at a time with
  T = 1 gives exactly the outputs of one call over the whole sequence. Zeros when None.
  """
  hidden_size: int
  unroll: int = 1  # time steps per scan iteration (`lax.scan`'s unroll)

  @nn.compact
  def __call__(self, inputs: jax.Array, initial_carry: LSTMCarry | None = None,
               seq_lengths: jax.Array | None = None) -> tuple[jax.Array, LSTMCarry]:
    _check_sequence(inputs, "LSTM")
    cell = nn.OptimizedLSTMCell(self.hidden_size, name="cell")
    carry, outputs = nn.RNN(cell, return_carry=True, unroll=self.unroll)(
        inputs, initial_carry=initial_carry, seq_lengths=seq_lengths)
    return outputs, carry

  def zero_carry(self, batch_shape: tuple[int, ...] = ()) -> LSTMCarry:
    """`(c, h)` zeros of shape `[*batch_shape, H]` (the state before the first step)."""
    zeros = jnp.zeros(tuple(batch_shape) + (self.hidden_size,), jnp.float32)
    return zeros, zeros


class BidirectionalLSTM(nn.Module):
  """Forward and backward LSTM over time, outputs concatenated.

  `inputs [..., T, D] -> (outputs [..., T, 2H], (forward_carry, backward_carry))`: `outputs[...,
  t, :H]` summarises steps 0..t, `outputs[..., t, H:]` steps t..T-1 (t..len-1 with
  `seq_lengths`). `forward_carry` is the state after the last (valid) step, `backward_carry`
  the backward LSTM's state after step 0; each is `(c, h)` with `[..., H]` arrays.
  """
  hidden_size: int

  @nn.compact
  def __call__(self, inputs: jax.Array, seq_lengths: jax.Array | None = None
               ) -> tuple[jax.Array, tuple[LSTMCarry, LSTMCarry]]:
    _check_sequence(inputs, "BidirectionalLSTM")
    forward = nn.RNN(nn.OptimizedLSTMCell(self.hidden_size, name="forward_cell"))
    backward = nn.RNN(nn.OptimizedLSTMCell(self.hidden_size, name="backward_cell"))
    carry, outputs = nn.Bidirectional(forward, backward, return_carry=True)(
        inputs, seq_lengths=seq_lengths)
    return outputs, carry

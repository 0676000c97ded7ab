"""Attention pooling over time: a sequence of features -> one summary vector.

The concurrent-skill CVAE's encoder (after Wang et al., 2017, "Robust imitation of diverse
behaviors") summarises its BiLSTM outputs h_1..h_T with learned weights instead of the last
state, so every part of a demonstration can inform the embedding:

  e_t = v^T tanh(W h_t + b),   alpha = softmax_t(e),   context = sum_t alpha_t h_t.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp


class AttentionPooling(nn.Module):
  """`features [..., T, F]` (+ optional `mask [..., T]`, 1 = valid) -> (context [..., F],
  weights [..., T]); weights are >= 0 and sum to one over the valid steps."""
  attention_size: int = 64

  @nn.compact
  def __call__(self, features: jax.Array, mask: jax.Array | None = None
               ) -> tuple[jax.Array, jax.Array]:
    if features.ndim < 2:
      raise ValueError(f"AttentionPooling expects features [..., T, F], got {features.shape}")
    scores = nn.Dense(1, use_bias=False, name="score")(
        jnp.tanh(nn.Dense(self.attention_size, name="hidden")(features)))[..., 0]
    if mask is not None:
      if mask.shape != scores.shape:
        raise ValueError(f"mask must be {scores.shape} (features without the last dim), got "
                         f"{mask.shape}")
      scores = jnp.where(mask > 0, scores, -jnp.inf)
    weights = jax.nn.softmax(scores, axis=-1)
    return jnp.einsum("...t,...tf->...f", weights, features), weights

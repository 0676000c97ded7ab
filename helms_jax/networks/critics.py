"""Critics of the online learners: Q(x, u) over a continuous action, Q(x, .) over K actions."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from helms_jax.networks.mlp import MLP


class ContinuousCritic(nn.Module):
  """Q(x, u): `obs [B, O], u [B, D] -> [B]` (layer-normed MLP, as Acme's critic torso)."""
  hidden_sizes: tuple[int, ...]

  @nn.compact
  def __call__(self, obs, u):
    x = MLP(self.hidden_sizes, activate_final=True, layer_norm=True)(
        jnp.concatenate([obs, u], axis=-1))
    return nn.Dense(1)(x)[..., 0]


class DiscreteCritic(nn.Module):
  """Q(x, .) over K actions: `obs [B, O] -> [B, K]`."""
  hidden_sizes: tuple[int, ...]
  num_actions: int

  @nn.compact
  def __call__(self, obs):
    x = MLP(self.hidden_sizes, activate_final=True, layer_norm=True)(obs)
    return nn.Dense(self.num_actions)(x)

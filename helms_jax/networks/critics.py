"""Critics of the online learners: Q(x, u) over a continuous action, Q(x, .) over K actions."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from helms_jax.networks.conv import ImageEncoder
from helms_jax.networks.mlp import MLP


class ContinuousCritic(nn.Module):
  """Q(x, u): `obs [B, O], u [B, D] -> [B]` (layer-normed MLP, as Acme's critic torso).

  The first layer multiplies obs and u separately (`SplitDense`, the parameters of a dense layer
  on [obs, u]): vmapped over action samples at fixed states, obs's product is taken once.
  """
  hidden_sizes: tuple[int, ...]

  @nn.compact
  def __call__(self, obs, u):
    x = MLP(self.hidden_sizes, activate_final=True, layer_norm=True)((obs, u))
    return nn.Dense(1)(x)[..., 0]


class DiscreteCritic(nn.Module):
  """Q(x, .) over K actions: `obs [B, O] -> [B, K]`."""
  hidden_sizes: tuple[int, ...]
  num_actions: int

  @nn.compact
  def __call__(self, obs):
    x = MLP(self.hidden_sizes, activate_final=True, layer_norm=True)(obs)
    return nn.Dense(self.num_actions)(x)


class PixelContinuousCritic(nn.Module):
  """Q(x, u) from pixels: `obs {"image": [B, H, W, C], "state": [B, O]}, u [B, D] -> [B]`.

  The image through its own `ImageEncoder`, concatenated with the state's proprioception
  (`state[..., proprio[0]:proprio[1]]`) and u, then the layer-normed MLP of `ContinuousCritic`.
  Under `vmap` over action samples with `obs` unbatched (MPO's E-step), the encoder runs once
  per state, not once per sample.
  """
  hidden_sizes: tuple[int, ...]
  proprio: tuple[int, int]

  @nn.compact
  def __call__(self, obs, u):
    lo, hi = self.proprio
    features = ImageEncoder(name="encoder")(obs["image"])
    x = jnp.concatenate([features, obs["state"][..., lo:hi]], axis=-1)
    return ContinuousCritic(self.hidden_sizes, name="head")(x, u)

"""K independent networks evaluated at once: parameters stacked on a leading axis, `nn.vmap`.

The mixture components of HeLMS (one mid-level skill network per discrete skill) and of mixture
policies are K copies of one architecture with separate weights. Stacking the weights and
vmapping the computation runs all K in one batched matmul per layer instead of K small ones.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from helms_jax.networks.heads import GaussianHead, GaussianParams
from helms_jax.networks.mlp import MLP


class GaussianComponent(nn.Module):
  """One component: `x [..., D] -> (mean [..., E], scale [..., E])` through an MLP torso."""
  event_size: int
  hidden_sizes: Sequence[int]
  init_scale: float = 1.0

  @nn.compact
  def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    features = MLP(tuple(self.hidden_sizes), activate_final=True, name="torso")(x)
    return GaussianParams(self.event_size, init_scale=self.init_scale, name="head")(features)


class GaussianComponents(nn.Module):
  """K Gaussian components with separate weights, all applied to the same input.

  `x [..., D] -> (mean [..., K, E], scale [..., K, E])`. Parameters have a leading `[K]` axis
  (e.g. `params['components']['torso']['dense_0']['kernel']: [K, D, H]`).
  """
  num_components: int
  event_size: int
  hidden_sizes: Sequence[int]
  init_scale: float = 1.0

  @nn.compact
  def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    vmapped = nn.vmap(GaussianComponent, variable_axes={"params": 0},
                      split_rngs={"params": True}, in_axes=None, out_axes=-2,
                      axis_size=self.num_components)
    return vmapped(self.event_size, tuple(self.hidden_sizes), self.init_scale,
                   name="components")(x)


class LatentController(nn.Module):
  """A latent-conditioned low-level controller p(a | z, x): `z [..., Z], x [..., X] ->
  MultivariateNormalDiag over [..., A]`; `x` is broadcast to z's batch shape (e.g. one state,
  K latents). The proprioceptive low level of NPMP and hierarchical BC."""
  action_size: int
  hidden_sizes: Sequence[int]
  init_scale: float = 0.5

  @nn.compact
  def __call__(self, z: jax.Array, x: jax.Array):
    x = jnp.broadcast_to(x, z.shape[:-1] + x.shape[-1:])
    features = MLP(tuple(self.hidden_sizes), activate_final=True, name="torso")(
        jnp.concatenate([z, x], axis=-1))
    return GaussianHead(self.action_size, init_scale=self.init_scale, name="head")(features)

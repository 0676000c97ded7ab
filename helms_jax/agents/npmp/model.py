"""The NPMP model (Merel et al., 2019, "Neural probabilistic motor primitives"), as the HeLMS
paper's NPMP baseline uses it (same information asymmetry as HeLMS's high and low level):

  encoder   q(z_t | z_{t-1}, x_{t:t+L})  a Gaussian from the previous latent and a look-ahead
                                         window of proprio + object states (the "reference" the
                                         encoder compresses; L = the data's look-ahead);
  prior     p(z_t | z_{t-1}) = N(alpha z_{t-1}, (1 - alpha^2) I)   the AR(1) latent prior, with
                                         stationary marginal N(0, I); z_0 ~ N(0, I);
  low level p(a_t | z_t, x^L_t)          a Gaussian controller on z and proprioception.

`NpmpModel` holds the linen modules; observation selection, normalisation and the sequential
sampling of z live in `offline.py`.
"""

from __future__ import annotations

from typing import Sequence

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp

from helms_jax.networks import MLP, GaussianParams, LatentController


def ar1_prior(z_prev: jax.Array, first: jax.Array, alpha: float) -> tuple[jax.Array, jax.Array]:
  """The AR(1) prior p(z_t | z_{t-1}): `z_prev [..., Z], first [..., 1] -> (mean, std) [..., Z]`.

  N(alpha z_prev, (1 - alpha^2) I) where `first` is 0; N(0, I) (its stationary marginal) where
  `first` is 1 (a sequence's first step, with no predecessor).
  """
  if not 0.0 <= alpha < 1.0:
    raise ValueError(f"the AR(1) coefficient alpha must be in [0, 1), got {alpha}")
  first = first > 0.5
  mean = jnp.where(first, 0.0, alpha * z_prev)
  std = jnp.where(first, 1.0, jnp.sqrt(1.0 - alpha ** 2)) * jnp.ones_like(z_prev)
  return mean, std


class NpmpModel(nn.Module):
  """Encoder and low level. Z = latent_size.

  Methods (call through `apply(..., method=...)`):
    encode(features [..., F], z_prev [..., Z], first [..., 1]) -> (mean, std) [..., Z]
    low_level(z [..., Z], x_ll [..., D_L]) -> distrax Normal over actions [..., A]
  """
  latent_size: int
  action_size: int
  encoder_hidden: Sequence[int] = (256, 256)
  low_level_hidden: Sequence[int] = (256, 256)

  def setup(self):
    self.encoder_torso = MLP(tuple(self.encoder_hidden), activate_final=True)
    self.encoder_head = GaussianParams(self.latent_size, init_scale=1.0)
    self.low = LatentController(self.action_size, tuple(self.low_level_hidden))

  def encode(self, features, z_prev, first):
    return self.encoder_head(self.encoder_torso(jnp.concatenate([features, z_prev, first], -1)))

  def low_level(self, z, x_ll) -> distrax.Distribution:
    return self.low(z, x_ll)

  def __call__(self, features, z_prev, first, x_ll):
    """Touches every module (for `init`)."""
    mean, _ = self.encode(features, z_prev, first)
    return self.low_level(mean, x_ll).mean()

"""The HeLMS model (Figure 1b of Rao et al., 2022): three levels with information asymmetry.

  high level  q(y_t | y_{t-1}, x^H_t)   gated categorical head (one row per previous skill) on a
                                        look-ahead window of proprio + object states;
  mid level   q(z_t | y_t = k, x^M_t)   K Gaussian skill networks, weights stacked on a [K] axis
                                        and evaluated together (`networks.GaussianComponents`);
  low level   p(a_t | z_t, x^L_t)       Gaussian controller on z and proprioception only;
  prior       p(y_t | y_{t-1})          a linear softmax layer on one-hot y_{t-1} (a learned
                                        K x K transition matrix); p(y_0) uniform; p(z) = N(0, I).

`HelmsModel` holds the linen modules and takes already-selected, normalised inputs; observation
slicing and normalisation live in `offline.py`, so this module is reused unchanged by transfer.
"""

from __future__ import annotations

from typing import Sequence

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp

from helms_jax.networks import MLP, GatedCategoricalHead, GaussianComponents, GaussianHead

COMPONENT_MODES = ("mixture", "discrete_only", "continuous_only")


class HelmsModel(nn.Module):
  """The three levels and the transition prior. K = num_skills, Z = latent_size.

  Methods (call through `apply(..., method=...)`):
    high_level(x_hl [..., D_H]) -> log q(y_t = j | y_{t-1} = i) [..., K, K]
    mid_level(x_ml [..., D_M]) -> (mean, scale) [..., K, Z]
    low_level(z [..., Z], x_ll [..., D_L]) -> distrax Normal over actions [..., A]
    log_transition_prior() -> [K, K] log p(y_t = j | y_{t-1} = i)
  """
  num_skills: int
  latent_size: int
  action_size: int
  high_level_hidden: Sequence[int] = (256, 256)
  mid_level_hidden: Sequence[int] = (256, 256)
  low_level_hidden: Sequence[int] = (256, 256)
  prior_init_stay: float = 0.0  # initial logit bonus of staying in the same skill

  def setup(self):
    self.high_torso = MLP(tuple(self.high_level_hidden), activate_final=True)
    self.high_head = GatedCategoricalHead(self.num_skills)
    self.mid = GaussianComponents(self.num_skills, self.latent_size,
                                  tuple(self.mid_level_hidden), init_scale=0.5)
    self.low_torso = MLP(tuple(self.low_level_hidden), activate_final=True)
    self.low_head = GaussianHead(self.action_size, init_scale=0.5)
    k = self.num_skills
    self.prior = nn.Dense(k, kernel_init=lambda key, shape, dtype=jnp.float32: (
        self.prior_init_stay * jnp.eye(k, dtype=dtype)), bias_init=nn.initializers.zeros)

  def high_level(self, x_hl: jax.Array) -> jax.Array:
    return self.high_head(self.high_torso(x_hl))

  def mid_level(self, x_ml: jax.Array) -> tuple[jax.Array, jax.Array]:
    return self.mid(x_ml)

  def low_level(self, z: jax.Array, x_ll: jax.Array) -> distrax.Distribution:
    x_ll = jnp.broadcast_to(x_ll, z.shape[:-1] + x_ll.shape[-1:])
    return self.low_head(self.low_torso(jnp.concatenate([z, x_ll], axis=-1)))

  def log_transition_prior(self) -> jax.Array:
    # One-hot rows of the identity through the linear layer: logits[i] = W[i] + b.
    return jax.nn.log_softmax(self.prior(jnp.eye(self.num_skills)), axis=-1)

  def __call__(self, x_hl, x_ml, x_ll):
    """Touches every module (for `init`)."""
    mean, _ = self.mid_level(x_ml)
    return (self.high_level(x_hl), self.low_level(mean, x_ll[..., None, :]).mean(),
            self.log_transition_prior())

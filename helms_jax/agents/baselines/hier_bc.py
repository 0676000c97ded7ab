"""Hierarchical behaviour cloning (the HeLMS paper's "Hier. BC" baseline): a latent Gaussian
high-level controller pi(z_t | x^H_t) and a low-level controller p(a_t | z_t, x^L_t), trained
together by behaviour cloning through the latent,

  loss = -E_{z ~ pi(z | x^H_t)} log p(a_t | z, x^L_t)      (one reparameterised sample per step)

(+ an optional beta * KL(pi(z | x) || N(0, I)); the baseline uses beta = 0). Transfer fine-tunes
the whole model with MPO (`agents.helms.downstream.hier_bc_space`, action space kind
"latent_gaussian"): "rather than freezing the low-level and learning just a high-level policy,
Hierarchical BC fine-tunes the entire model".

The high level sees the current state (it is the policy at transfer, so no look-ahead); the
same information asymmetry as NPMP's low level (`low_level_groups` = proprio). Observations are
normalised by dataset statistics stored in the parameters.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from helms_jax.envs.base import ObservationGroups, selected_indices
from helms_jax.losses.kl import kl_to_standard_normal
from helms_jax.networks import GaussianComponent, LatentController
from helms_jax.training import normalizer as normalizer_lib
from helms_jax.training.train_state import Learner, gradient_learner


def default_config() -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(dict(
      name="hier_bc",
      latent_size=8,
      beta=0.0,  # weight of KL(pi(z|x) || N(0, I)); 0 = plain hierarchical BC
      high_level_hidden=(256, 256),
      low_level_hidden=(256, 256),
      high_level_groups=("proprio", "objects"),
      low_level_groups=("proprio",),
      learning_rate=3e-4,
      max_grad_norm=10.0,
      min_observation_std=1e-2,
  ))


class HierBCModel(nn.Module):
  """`latent(x_h [..., D_H]) -> (mean, std) [..., Z]`; `low_level(z [..., Z], x_l [..., D_L])
  -> distrax Normal over [..., A]`."""
  latent_size: int
  action_size: int
  high_level_hidden: Sequence[int] = (256, 256)
  low_level_hidden: Sequence[int] = (256, 256)

  def setup(self):
    self.high = GaussianComponent(self.latent_size, tuple(self.high_level_hidden),
                                  init_scale=1.0)
    self.low = LatentController(self.action_size, tuple(self.low_level_hidden))

  def latent(self, x_h):
    return self.high(x_h)

  def low_level(self, z, x_l):
    return self.low(z, x_l)

  def __call__(self, x_h, x_l):
    mean, _ = self.latent(x_h)
    return self.low_level(mean, x_l).mean()


class HierBCFunctions(NamedTuple):
  """Pure functions of `params` ({"model", "normalizer"}).

  latent_size: Z.
  normalize(params, obs [..., O]) -> [..., O]
  latent(params, obs [..., O]) -> (mean, std) [..., Z] of pi(z | x)
  action_distribution(params, z [..., Z], obs [..., O]) -> distrax over [..., A]
  """
  model: HierBCModel
  latent_size: int
  normalize: Any
  latent: Any
  action_distribution: Any


def make_hier_bc(config: ml_collections.ConfigDict, observation_size: int, action_size: int,
                 observation_groups: ObservationGroups | None,
                 observation_stats: tuple[np.ndarray, np.ndarray] | None = None):
  """(functions: HierBCFunctions, init_params: key -> params)."""
  if config.latent_size < 1:
    raise ValueError(f"learner.latent_size must be >= 1, got {config.latent_size}")
  if config.beta < 0:
    raise ValueError(f"learner.beta must be >= 0, got {config.beta}")
  hl_idx = selected_indices(observation_groups, config.high_level_groups, observation_size,
                            "learner.high_level_groups")
  ll_idx = selected_indices(observation_groups, config.low_level_groups, observation_size,
                            "learner.low_level_groups")
  normalizer = normalizer_lib.observation_normalizer(observation_stats, observation_size,
                                                    config.min_observation_std)
  model = HierBCModel(latent_size=int(config.latent_size), action_size=action_size,
                      high_level_hidden=tuple(config.high_level_hidden),
                      low_level_hidden=tuple(config.low_level_hidden))

  def normalize(params, obs):
    return normalizer_lib.normalize(params["normalizer"], obs)

  def latent(params, obs):
    return model.apply({"params": params["model"]}, normalize(params, obs)[..., hl_idx],
                       method="latent")

  def action_distribution(params, z, obs):
    return model.apply({"params": params["model"]}, z, normalize(params, obs)[..., ll_idx],
                       method="low_level")

  def init_params(key):
    variables = model.init(key, jnp.zeros((1, len(hl_idx))), jnp.zeros((1, len(ll_idx))))
    return {"model": variables["params"], "normalizer": jax.tree.map(jnp.asarray, normalizer)}

  return HierBCFunctions(model=model, latent_size=int(config.latent_size), normalize=normalize,
                         latent=latent, action_distribution=action_distribution), init_params


def make_learner(config: ml_collections.ConfigDict, observation_size: int, action_size: int, *,
                 observation_groups: ObservationGroups | None = None,
                 observation_stats=None, lookahead: int = 0) -> Learner:
  """Hierarchical BC over windows (`observation [B, W(+L), O]`, `action [B, W, A]`; look-ahead
  observations are ignored). `policy`: z ~ pi(z | x), then a ~ p(a | z, x) (deterministic: the
  means)."""
  del lookahead
  functions, init_params = make_hier_bc(config, observation_size, action_size,
                                        observation_groups, observation_stats)
  beta = float(config.beta)

  def loss_fn(params, batch, key):
    w = batch["action"].shape[1]
    obs = batch["observation"][:, :w]
    mean, std = functions.latent(params, obs)  # [B, W, Z]
    z = mean + std * jax.random.normal(key, mean.shape)
    dist = functions.action_distribution(params, z, obs)
    log_prob = dist.log_prob(batch["action"])  # [B, W]
    kl = kl_to_standard_normal(mean, std) if beta else jnp.zeros_like(log_prob)
    loss = jnp.mean(-log_prob + beta * kl)
    return loss, {"log_prob": jnp.mean(log_prob), "kl": jnp.mean(kl),
                  "latent_std": jnp.mean(std),
                  "action_mse": jnp.mean(jnp.square(dist.mean() - batch["action"]))}

  init, update = gradient_learner(init_params, loss_fn, normalizer_lib.clipped_adam(config))

  def policy(params, obs, key, deterministic=False):
    z_key, a_key = jax.random.split(key)
    mean, std = functions.latent(params, obs)
    z = mean if deterministic else mean + std * jax.random.normal(z_key, mean.shape)
    dist = functions.action_distribution(params, z, obs)
    return dist.mean() if deterministic else dist.sample(seed=a_key)

  return Learner(init=init, update=update, policy=policy, model=functions)

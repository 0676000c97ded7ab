"""NPMP offline learning (Merel et al., 2019): the encoder / AR(1) prior / low-level model fit by
the sequential ELBO over dataset windows.

Per window of W steps (observations t..t+W-1+L, L = the look-ahead), z is sampled step by step
(`lax.scan`): z_t ~ q(z_t | z_{t-1}, x_{t:t+L}) by reparameterisation, and the loss per step is

  -log p(a_t | z_t, x^L_t) + beta * KL(q(z_t | z_{t-1}, x_{t:t+L}) || p(z_t | z_{t-1}))

with the AR(1) prior p(z_t | z_{t-1}) = N(alpha z_{t-1}, (1 - alpha^2) I). A window's first
step has no predecessor: its encoder sees z_{-1} = 0 with a first-step flag and its prior is
the stationary N(0, I) (windows start anywhere in an episode; Merel et al. train on snippets
the same way).

Information asymmetry as HeLMS's (`encoder_groups` for the look-ahead window, `low_level_groups`
for the controller); observations are normalised by dataset statistics stored in the
parameters (`params['normalizer']`, never trained), so a checkpoint is self-contained.

Deviation from Merel et al.: their encoder sees future reference states x_{t+1:t+K} of motion
capture clips; ours sees the dataset's own look-ahead x_{t:t+L} (the HeLMS paper's NPMP has
"the same information asymmetry" as HeLMS). Latent size 8 and beta = 0.01 match HeLMS's z.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from helms_jax.agents.npmp.model import NpmpModel, ar1_prior
from helms_jax.data.sampler import lookahead_frames
from helms_jax.envs.base import ObservationGroups, selected_indices
from helms_jax.losses.kl import gaussian_kl
from helms_jax.training import normalizer as normalizer_lib
from helms_jax.training.train_state import Learner, gradient_learner


def default_config() -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(dict(
      name="npmp",
      latent_size=8,
      alpha=0.95,  # AR(1) coefficient (Merel et al. use 0.95)
      beta=0.01,  # weight of the KL to the AR(1) prior
      encoder_hidden=(256, 256),
      low_level_hidden=(256, 256),
      encoder_groups=("proprio", "objects"),
      low_level_groups=("proprio",),
      learning_rate=3e-4,
      max_grad_norm=10.0,
      min_observation_std=1e-2,
  ))


def check_config(config: ml_collections.ConfigDict) -> None:
  if config.latent_size < 1:
    raise ValueError(f"learner.latent_size must be >= 1, got {config.latent_size}")
  if not 0.0 <= config.alpha < 1.0:
    raise ValueError(f"learner.alpha (the AR(1) coefficient) must be in [0, 1), got "
                     f"{config.alpha}")
  if config.beta < 0:
    raise ValueError(f"learner.beta must be >= 0, got {config.beta}")
  for key in ("encoder_groups", "low_level_groups"):
    if not tuple(config[key]):
      raise ValueError(f"learner.{key} must name at least one observation group")


class NpmpFunctions(NamedTuple):
  """The model as pure functions of `params` (the learner's `state.params`).

  latent_size: Z; alpha: the AR(1) coefficient; lookahead: L.
  normalize(params, obs [..., O]) -> [..., O]
  prior(z_prev [..., Z], first [..., 1]) -> (mean, std) [..., Z]   (`model.ar1_prior`)
  sequence(params, obs [W + L, O], obs_mask [W + L], key) -> (z [W, Z], mean [W, Z],
    std [W, Z], kl [W]): z sampled sequentially from the encoder, KL to the AR(1) prior
  action_distribution(params, z [..., Z], obs [..., O]) -> distrax over [..., A]
  """
  model: NpmpModel
  latent_size: int
  alpha: float
  lookahead: int
  normalize: Any
  prior: Any
  sequence: Any
  action_distribution: Any


def make_npmp(config: ml_collections.ConfigDict, observation_size: int, action_size: int,
              observation_groups: ObservationGroups | None,
              observation_stats: tuple[np.ndarray, np.ndarray] | None = None,
              lookahead: int = 1):
  """(functions: NpmpFunctions, init_params: key -> params); arguments as HeLMS's `make_helms`."""
  check_config(config)
  enc_idx = selected_indices(observation_groups, config.encoder_groups, observation_size,
                             "learner.encoder_groups")
  ll_idx = selected_indices(observation_groups, config.low_level_groups, observation_size,
                            "learner.low_level_groups")
  lookahead = int(lookahead)
  if lookahead < 0:
    raise ValueError(f"lookahead must be >= 0, got {lookahead}")
  normalizer = normalizer_lib.observation_normalizer(observation_stats, observation_size,
                                                    config.min_observation_std)
  z_size, alpha = int(config.latent_size), float(config.alpha)
  model = NpmpModel(latent_size=z_size, action_size=action_size,
                    encoder_hidden=tuple(config.encoder_hidden),
                    low_level_hidden=tuple(config.low_level_hidden))

  def normalize(params, obs):
    return normalizer_lib.normalize(params["normalizer"], obs)

  def prior(z_prev, first):
    return ar1_prior(z_prev, first, alpha)

  def sequence(params, obs, obs_mask, key):
    w = obs.shape[0] - lookahead
    features = lookahead_frames(normalize(params, obs)[:, enc_idx], obs_mask, lookahead)
    noise = jax.random.normal(key, (w, z_size))
    first = (jnp.arange(w) == 0).astype(obs.dtype)[:, None]  # [W, 1]

    def step(z_prev, inputs):
      feats, eps, is_first = inputs
      mean, std = model.apply({"params": params["model"]}, feats, z_prev, is_first,
                              method="encode")
      prior_mean, prior_std = prior(z_prev, is_first)
      z = mean + std * eps
      return z, (z, mean, std, jnp.sum(gaussian_kl(mean, std, prior_mean, prior_std), -1))

    _, (z, mean, std, kl) = jax.lax.scan(step, jnp.zeros((z_size,), obs.dtype),
                                         (features, noise, first))
    return z, mean, std, kl

  def action_distribution(params, z, obs):
    return model.apply({"params": params["model"]}, z, normalize(params, obs)[..., ll_idx],
                       method="low_level")

  def init_params(key):
    features = jnp.zeros((1, (lookahead + 1) * (len(enc_idx) + 1)))
    variables = model.init(key, features, jnp.zeros((1, z_size)), jnp.ones((1, 1)),
                           jnp.zeros((1, len(ll_idx))))
    return {"model": variables["params"], "normalizer": jax.tree.map(jnp.asarray, normalizer)}

  functions = NpmpFunctions(model=model, latent_size=z_size, alpha=alpha, lookahead=lookahead,
                            normalize=normalize, prior=prior, sequence=sequence,
                            action_distribution=action_distribution)
  return functions, init_params


def batch_loss(functions: NpmpFunctions, beta: float, params, batch, key):
  """Negative ELBO per step (batch mean) and metrics; batch: observation [B, W + L, O],
  obs_mask [B, W + L], action [B, W, A]."""
  b, w = batch["action"].shape[:2]
  if batch["observation"].shape[1] != w + functions.lookahead:
    raise ValueError(
        f"NPMP expects windows with W + lookahead = {w} + {functions.lookahead} observations "
        f"(sampler lookahead = learner lookahead), got observation {batch['observation'].shape}")
  z, mean, std, kl = jax.vmap(functions.sequence, in_axes=(None, 0, 0, 0))(
      params, batch["observation"], batch["obs_mask"], jax.random.split(key, b))
  dist = functions.action_distribution(params, z, batch["observation"][:, :w])
  log_prob = dist.log_prob(batch["action"])  # [B, W]
  loss = jnp.mean(-log_prob + beta * kl)
  return loss, {"reconstruction": jnp.mean(log_prob), "kl": jnp.mean(kl),
                "action_mse": jnp.mean(jnp.square(dist.mean() - batch["action"])),
                "encoder_std": jnp.mean(std), "latent_rms": jnp.sqrt(jnp.mean(z ** 2))}


def make_learner(config: ml_collections.ConfigDict, observation_size: int, action_size: int, *,
                 observation_groups: ObservationGroups | None = None,
                 observation_stats=None, lookahead: int = 1) -> Learner:
  """The NPMP offline learner (`Learner` protocol).

  `update(state, batch, key)`: one Adam step on the negative ELBO per step.
  `policy` (stateful; `policy_init(key)` starts a sequence): z_t ~ p(z_t | z_{t-1}) from the
  AR(1) prior and the low level's action: the skill space acting alone, not a task policy
  (deterministic: the prior's mean and the action mean).
  """
  functions, init_params = make_npmp(config, observation_size, action_size, observation_groups,
                                     observation_stats, lookahead)
  beta = float(config.beta)
  init, update = gradient_learner(
      init_params, lambda p, batch, key: batch_loss(functions, beta, p, batch, key),
      normalizer_lib.clipped_adam(config))

  def policy_init(key):
    del key
    return {"z": jnp.zeros((functions.latent_size,)), "first": jnp.ones((1,))}

  def policy(params, obs, key, pstate, deterministic=False):
    z_key, a_key = jax.random.split(key)
    mean, std = functions.prior(pstate["z"], pstate["first"])
    z = mean if deterministic else mean + std * jax.random.normal(z_key, mean.shape)
    dist = functions.action_distribution(params, z, obs)
    action = dist.mean() if deterministic else dist.sample(seed=a_key)
    return action, {"z": z, "first": jnp.zeros((1,))}

  return Learner(init=init, update=update, policy=policy, policy_init=policy_init,
                 model=functions)

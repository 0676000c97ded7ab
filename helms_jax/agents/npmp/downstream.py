"""NPMP + KL transfer (the HeLMS paper's NPMP baseline): a new Gaussian high-level policy
pi(z_t | x_t, z_{t-1}) over the frozen NPMP low level, learnt with MPO and KL-regularised to the
AR(1) latent prior p(z_t | z_{t-1}) (the paper's "+KL": "additional KL-regularisation to the
latent prior", equation 5 with K = 1 and eta_z).

The agent acts in `envs.LatentActionEnv`: its action is z, the env decodes it through the frozen
low level (its mean action) and appends the previous z and a first-step flag to the observation,
so the prior at any replayed state is p(z_t | z_{t-1}) read from that state. The high-level
policy is new (initialised from scratch, as in Merel et al.); at the start of RL its z are
~N(0, I)-scaled noise through the low level.
"""

from __future__ import annotations

import ml_collections
import jax.numpy as jnp

from helms_jax.agents import mpo
from helms_jax.agents.records import OfflineSkills
from helms_jax.agents.spaces import ActionSpace
from helms_jax.envs.skill_env import LatentActionEnv
from helms_jax.networks import GaussianComponents
from helms_jax.training.normalizer import check_observation_size


def npmp_space(transfer: ml_collections.ConfigDict, functions, params,
               task_observation_size: int) -> ActionSpace:
  """MPO's space over z on a `LatentActionEnv` observation [O + Z + 1] (O = the task's).

  policy: one Gaussian over z from the normalised task observation and the previous z;
  prior: the AR(1) prior at the observation's previous z; decode: identity (the env decodes).
  """
  o, z_size = int(task_observation_size), functions.latent_size
  network = GaussianComponents(1, z_size, tuple(transfer.policy_hidden), init_scale=1.0)

  def inputs(frozen, obs):
    return jnp.concatenate([functions.normalize(frozen, obs[..., :o]), obs[..., o:]], -1)

  def init_policy(key):
    return network.init(key, jnp.zeros((1, o + z_size + 1)))

  def policy(policy_params, frozen, obs):
    means, stds = network.apply(policy_params, inputs(frozen, obs))  # [B, 1, Z]
    return jnp.zeros(means.shape[:-1]), means, stds

  def prior(frozen, obs):
    del frozen
    mean, std = functions.prior(obs[..., o:o + z_size], obs[..., o + z_size:o + z_size + 1])
    return jnp.zeros(mean.shape[:-1] + (1,)), mean[..., None, :], std[..., None, :]

  def decode(frozen, obs, z, key, deterministic):
    del frozen, obs, key, deterministic
    return z

  return ActionSpace(kind="mixture", size=z_size, init_policy=init_policy, policy=policy,
                     decode=decode, prior=prior, frozen=params)


def make_agent(config: ml_collections.ConfigDict, env, skills: OfflineSkills):
  """(MPO over z, the `LatentActionEnv` around the task env) from an NPMP checkpoint."""
  if config.transfer.get("vision", False):
    raise ValueError("transfer.method='npmp_kl' acts on states; transfer.vision is not supported")
  if config.transfer.get("sample_low_level", False):
    raise ValueError("transfer.method='npmp_kl' acts with the low level's mean action; "
                     "transfer.sample_low_level=True is not supported")
  check_observation_size(skills.params, env.observation_size)
  functions, params = skills.learner.model, skills.params

  def decode(obs, z):
    return functions.action_distribution(params, z, obs).mean()

  latent_env = LatentActionEnv(env, decode, functions.latent_size)
  space = npmp_space(config.transfer, functions, params, env.observation_size)
  return mpo.make_agent(config.transfer.agent, space, latent_env.observation_size), latent_env

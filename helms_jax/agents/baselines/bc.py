"""Behaviour cloning: a Gaussian MLP policy fit to dataset actions by maximum likelihood.

The first learner of the library and the simplest composition of its parts: `networks` for the
model, `training.TrainState`/`apply_gradients` for the update, windows from `data.WindowSampler`
as the batch. It also serves as the BC baseline and BC+fine-tuning initialisation later.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import optax

from helms_jax.networks import GaussianHead, MLP
from helms_jax.training.train_state import Learner, TrainState, apply_gradients


class GaussianPolicy(nn.Module):
  """`obs [..., obs_dim] -> MultivariateNormalDiag over [..., action_size]`."""
  action_size: int
  hidden_sizes: Sequence[int]

  @nn.compact
  def __call__(self, obs: jax.Array):
    features = MLP(tuple(self.hidden_sizes), activate_final=True, name="torso")(obs)
    return GaussianHead(self.action_size, init_scale=0.5, name="head")(features)


def default_config() -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(dict(
      name="bc", hidden_sizes=(64, 64), learning_rate=1e-3, max_grad_norm=10.0))


def make_learner(config: ml_collections.ConfigDict, observation_size: int,
                 action_size: int, **unused_data_spec) -> Learner:
  """BC over windows: batch `observation [B, W(+l), obs]`, `action [B, W, act]`.

  Uses the whole observation, unnormalised (`unused_data_spec`: see `methods.make_learner`).
  """
  network = GaussianPolicy(action_size, tuple(config.hidden_sizes))
  optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                          optax.adam(config.learning_rate))

  def init(key: jax.Array) -> TrainState:
    params = network.init(key, jnp.zeros((1, observation_size)))
    return TrainState.create(params, optimizer)

  def loss_fn(params, batch):
    window = batch["action"].shape[1]
    obs = batch["observation"][:, :window]  # drop look-ahead observations
    if obs.shape[-1] != observation_size:
      raise ValueError(f"BC expects observations of size {observation_size}, "
                       f"got batch observation shape {batch['observation'].shape}")
    dist = network.apply(params, obs)
    log_prob = dist.log_prob(batch["action"])  # [B, W]
    mse = jnp.mean(jnp.square(dist.mean() - batch["action"]))
    return -jnp.mean(log_prob), {"log_prob": jnp.mean(log_prob), "action_mse": mse}

  def update(state: TrainState, batch, key: jax.Array):
    del key  # deterministic loss
    (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, batch)
    state, grad_norm = apply_gradients(state, grads, optimizer)
    return state, {"loss": loss, "grad_norm": grad_norm, **aux}

  def policy(params, obs: jax.Array, key: jax.Array, deterministic: bool = False) -> jax.Array:
    dist = network.apply(params, obs)
    action = dist.mean() if deterministic else dist.sample(seed=key)
    return action

  return Learner(init=init, update=update, policy=policy)

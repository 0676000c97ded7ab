"""Multi-step return targets for critics trained from replayed sequences."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def n_step_bootstrap(rewards: jax.Array, discounts: jax.Array, ends: jax.Array,
                     gamma: float) -> tuple[jax.Array, jax.Array, jax.Array]:
  """The n-step return of the first step of each sequence, up to its bootstrap value.

  A sequence may run past the end of its episode (replayed streams continue with the next
  episode); steps after the first `end` are ignored and the bootstrap happens at the episode's
  last step (`discount` 0 on a true termination removes it, 1 on a time limit keeps it).

  Args:
    rewards: [B, n], reward after action k.
    discounts: [B, n], 0 where step k terminated the episode, else 1.
    ends: [B, n], 1 where step k was the last of its episode (termination or time limit).
    gamma: discount factor.
  Returns:
    (partial_return [B], bootstrap_coefficient [B], bootstrap_index [B] int32): the target is
    `partial_return + bootstrap_coefficient * V(next_observation[bootstrap_index])`, with
    `partial_return = sum_{k<m} gamma^k prod_{j<k} d_j r_k`, `coefficient = gamma^m prod_{j<m} d_j`,
    m = the number of steps before (and including) the first end, capped at n.
  """
  if rewards.ndim != 2 or discounts.shape != rewards.shape or ends.shape != rewards.shape:
    raise ValueError(f"rewards, discounts, ends must all be [B, n]; got {rewards.shape}, "
                     f"{discounts.shape}, {ends.shape}")
  ones = jnp.ones_like(rewards[:, :1])
  # alive[k] = step k is still in the first episode: no end strictly before k.
  alive = jnp.cumprod(jnp.concatenate([ones, 1.0 - ends[:, :-1]], axis=1), axis=1)
  # coefficient[k] = gamma^k prod_{j<k} d_j.
  coefficient = jnp.cumprod(jnp.concatenate([ones, gamma * discounts[:, :-1]], axis=1), axis=1)
  partial = jnp.sum(alive * coefficient * rewards, axis=1)
  last = jnp.sum(alive, axis=1).astype(jnp.int32) - 1  # index of the bootstrap step
  take = lambda x: jnp.take_along_axis(x, last[:, None], axis=1)[:, 0]
  bootstrap = take(coefficient) * gamma * take(discounts)
  return partial, bootstrap, last


def lambda_returns(rewards: jax.Array, values: jax.Array, discounts: jax.Array,
                   bootstrap: jax.Array, lambda_: float) -> jax.Array:
  """TD(lambda) returns of an imagined trajectory (Dreamer's value targets), over time axis 0.

  G_t = r_t + d_t [(1 - lambda) v_{t+1} + lambda G_{t+1}],  G_{T-1} = r_{T-1} + d_{T-1} v_T,

  with v_{t+1} = values[t + 1] for t < T - 1 and v_T = bootstrap.

  Args:
    rewards: [T, ...] reward of step t.
    values: [T, ...] v(s_t) (only values[1:] enter).
    discounts: [T, ...] gamma times the continuation probability after step t.
    bootstrap: [...] v(s_T).
    lambda_: in [0, 1]: 0 is the one-step TD target, 1 the discounted Monte-Carlo return.
  Returns:
    [T, ...] G_0..G_{T-1} (a reverse `lax.scan`).
  """
  if rewards.shape != values.shape or rewards.shape != discounts.shape:
    raise ValueError(f"rewards, values, discounts must share a shape, got {rewards.shape}, "
                     f"{values.shape}, {discounts.shape}")
  if bootstrap.shape != rewards.shape[1:]:
    raise ValueError(f"bootstrap must be {rewards.shape[1:]}, got {bootstrap.shape}")
  next_values = jnp.concatenate([values[1:], bootstrap[None]], axis=0)

  def step(next_return, inputs):
    r, d, v_next = inputs
    g = r + d * ((1.0 - lambda_) * v_next + lambda_ * next_return)
    return g, g

  _, returns = jax.lax.scan(step, bootstrap, (rewards, discounts, next_values), reverse=True)
  return returns

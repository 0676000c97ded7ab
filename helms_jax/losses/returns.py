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

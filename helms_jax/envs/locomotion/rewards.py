"""Reward pieces shared by the locomotion tasks (`ant_tasks`, `planar_tasks`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def forward_reward(velocity: jax.Array, target_speed: float) -> jax.Array:
  """DMC-style velocity reward `min(v / target_speed, 1)` (no floor: backwards is negative)."""
  return jnp.minimum(velocity / target_speed, 1.0)

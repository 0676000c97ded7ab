"""Reward pieces shared by the locomotion tasks (`ant_tasks`, `planar_tasks`): DeepMind Control's
`rewards.tolerance` for a lower bound (the only form the LSP tasks use), and the shapes built
from it.

DMC's tolerance of x with bounds (lower, inf) is 1 for x >= lower and falls off below it over
`margin` to `value_at_margin`: linearly (`"linear"`: 1 - (1 - value_at_margin) * d, floored at 0,
d = (lower - x) / margin) or as a Gaussian (`"gaussian"`: exp(-(d * s)^2 / 2), s such that it is
`value_at_margin` at d = 1).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp


def tolerance(x: jax.Array, lower: float, margin: float, value_at_margin: float = 0.1,
              sigmoid: str = "gaussian") -> jax.Array:
  """DMC's `rewards.tolerance(x, bounds=(lower, inf), margin, value_at_margin, sigmoid)`.

  Args:
    x: [...].
    lower: the bound; x >= lower scores 1.
    margin: > 0, the distance below `lower` at which the value is `value_at_margin`.
    value_at_margin: in [0, 1) (linear) or (0, 1) (gaussian).
    sigmoid: "linear" or "gaussian" (DMC's default).
  Returns:
    [...] in [0, 1].
  """
  if margin <= 0:
    raise ValueError(f"tolerance needs margin > 0, got {margin}")
  d = jnp.maximum(lower - x, 0.0) / margin
  if sigmoid == "linear":
    if not 0 <= value_at_margin < 1:
      raise ValueError(f"linear tolerance needs value_at_margin in [0, 1), got {value_at_margin}")
    return jnp.clip(1.0 - (1.0 - value_at_margin) * d, 0.0, 1.0)
  if sigmoid == "gaussian":
    if not 0 < value_at_margin < 1:
      raise ValueError(f"gaussian tolerance needs value_at_margin in (0, 1), got "
                       f"{value_at_margin}")
    scale = math.sqrt(-2.0 * math.log(value_at_margin))
    return jnp.exp(-0.5 * jnp.square(d * scale))
  raise ValueError(f"unknown sigmoid {sigmoid!r}; known: linear, gaussian")


def forward_reward(velocity: jax.Array, target_speed: float) -> jax.Array:
  """DMC's run/hop velocity reward `clip(v / target_speed, 0, 1)` (cheetah: tolerance with
  margin = target, value 0 there; walker, hopper: margin = target / 2, value 0.5 there; both are
  this line, floored at 0: standing still and going backwards earn nothing)."""
  return tolerance(velocity, target_speed, target_speed, 0.0, "linear")


def quadruped_move_reward(velocity: jax.Array, target_speed: float) -> jax.Array:
  """DMC quadruped walk/run's `tolerance(v, (target, inf), margin=target, value_at_margin=0.5,
  linear)` = clip(0.5 + 0.5 v / target, 0, 1): 0.5 standing still, 0 at -target."""
  return tolerance(velocity, target_speed, target_speed, 0.5, "linear")


def upright_reward(cos_tilt: jax.Array) -> jax.Array:
  """DMC's upright term (1 + cos_tilt) / 2 (quadruped's `_upright_reward` at deviation 0, the
  walker's `upright`): 1 upright, 0.5 on its side, 0 upside down."""
  return (1.0 + cos_tilt) / 2.0

"""Stacking tasks, goal-configuration tests and rewards (pure functions of a `SceneSummary`).

Tasks: the six ordered pairs `<top>_on_<bottom>` over red/green/blue, and `pyramid` (red next to
green on the table, blue on top of both).

Goal tests (tolerances in metres, documented here and in the tests):
- `on(top, bottom)`: the top object's centre is within `STACK_XY_TOL` (2.5 cm) of the bottom
  object's centre horizontally, its height above the bottom object's centre is
  `bottom.top + top.bottom` within `STACK_Z_TOL` (1.5 cm), and the gripper does not hold it
  (it rests on its own).
- `next_to(a, b)`: both rest on the table (centre height within `STACK_Z_TOL` of their resting
  height) and their centres are `a.half_width + b.half_width` apart within `NEXT_TO_TOL` (2.5 cm)
  horizontally, i.e. touching or nearly touching.
- pyramid: `next_to(red, green)` and blue's centre within `STACK_XY_TOL` of the red–green
  midpoint horizontally, at height `max(red.top, green.top) + blue.bottom` within `STACK_Z_TOL`
  above the table, not held.

Rewards, selectable per task (all in [0, 1]):
- `sparse`: 1 when the goal configuration holds, else 0.
- `staged`: a sparse reward per completed stage, the highest reached counting: reach (gripper at
  the object to move, 0.25), grasp (0.5), lift (object ≥ 3 cm off its support, 0.75), goal (1.0).
  For pyramid the stages run over both moves (red next to green, then blue onto them), eight
  stages in all.
- `dense`: a shaped version of the same stages: the stage's base value plus a smooth progress
  term towards the next stage (distance to the object, height, distance to the placement).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from helms_jax.envs.manipulation.scene import OBJECT_NAMES

STACK_XY_TOL = 0.025
STACK_Z_TOL = 0.015
NEXT_TO_TOL = 0.025
REACH_TOL = 0.03
LIFT_HEIGHT = 0.03

REWARDS = ("dense", "staged", "sparse")
STACK_TASKS = tuple(f"{a}_on_{b}" for a in OBJECT_NAMES for b in OBJECT_NAMES if a != b)
TASKS = STACK_TASKS + ("pyramid",)
# Multi-task: a task drawn uniformly per episode at reset (its id is in the observation).
TASK_SAMPLERS = {"all_pairs": STACK_TASKS}


class SceneSummary(NamedTuple):
  """What the rewards read from the simulator state.

  grip_pos: [3] the point between the fingertips.
  object_pos: [3, 3] object centres (red, green, blue).
  grasped: [3] 1 where both fingertips touch that object.
  """
  grip_pos: jax.Array
  object_pos: jax.Array
  grasped: jax.Array


class ShapeConstants(NamedTuple):
  """Per-object geometry of the object set (numpy, static): [3] each."""
  bottom: np.ndarray  # resting height of the centre above the table
  top: np.ndarray  # highest point above the centre
  half_width: np.ndarray  # horizontal half-extent along the object's x axis


def check_task(task: str) -> None:
  if task not in TASKS and task not in TASK_SAMPLERS:
    raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(TASKS + tuple(TASK_SAMPLERS))}")


def episode_tasks(task: str) -> tuple[str, ...]:
  """The tasks an episode of `task` may be: itself, or the set a sampler draws from."""
  return TASK_SAMPLERS.get(task, (task,))


def check_reward(reward: str) -> None:
  if reward not in REWARDS:
    raise ValueError(f"unknown reward {reward!r}; valid rewards: {', '.join(REWARDS)}")


def parse_stack_task(task: str) -> tuple[int, int]:
  top, _, bottom = task.partition("_on_")
  return OBJECT_NAMES.index(top), OBJECT_NAMES.index(bottom)


def _tanh_closeness(distance: jax.Array, scale: float = 10.0) -> jax.Array:
  return 1.0 - jnp.tanh(scale * distance)


def on(s: SceneSummary, c: ShapeConstants, top: int, bottom: int) -> jax.Array:
  """1.0 where `top` rests on `bottom` (see module docstring), else 0.0."""
  delta = s.object_pos[top] - s.object_pos[bottom]
  xy_ok = jnp.linalg.norm(delta[:2]) < STACK_XY_TOL
  z_ok = jnp.abs(delta[2] - (c.top[bottom] + c.bottom[top])) < STACK_Z_TOL
  return (xy_ok & z_ok & (s.grasped[top] < 0.5)).astype(jnp.float32)


def on_table(s: SceneSummary, c: ShapeConstants, i: int) -> jax.Array:
  return jnp.abs(s.object_pos[i, 2] - c.bottom[i]) < STACK_Z_TOL


def next_to(s: SceneSummary, c: ShapeConstants, a: int, b: int) -> jax.Array:
  gap = jnp.linalg.norm(s.object_pos[a, :2] - s.object_pos[b, :2])
  ok = jnp.abs(gap - (c.half_width[a] + c.half_width[b])) < NEXT_TO_TOL
  return (ok & on_table(s, c, a) & on_table(s, c, b)).astype(jnp.float32)


def _move_stages(s: SceneSummary, c: ShapeConstants, obj: int, target_xyz: jax.Array,
                 placed: jax.Array, support_height: jax.Array):
  """Stage indicators and shaped progress for moving `obj` to `target_xyz`.

  Returns ([4] indicators: reach, grasp, lift, placed), [4] progress in [0, 1] towards each.
  """
  grip_dist = jnp.linalg.norm(s.grip_pos - s.object_pos[obj])
  reach = (grip_dist < REACH_TOL).astype(jnp.float32)
  grasp = s.grasped[obj]
  height = s.object_pos[obj, 2] - c.bottom[obj] - support_height
  lift = grasp * (height > LIFT_HEIGHT).astype(jnp.float32)
  place_dist = jnp.linalg.norm(s.object_pos[obj] - target_xyz)
  indicators = jnp.stack([reach, grasp, lift, placed])
  progress = jnp.stack([
      _tanh_closeness(grip_dist), reach * 0.5,
      grasp * jnp.clip(height / LIFT_HEIGHT, 0.0, 1.0),
      lift * _tanh_closeness(place_dist)])
  return indicators, progress


def _staged_value(indicators: jax.Array, progress: jax.Array, dense: bool) -> jax.Array:
  """Highest completed stage / number of stages; dense adds progress towards the next stage."""
  n = indicators.shape[0]
  levels = jnp.arange(1, n + 1, dtype=jnp.float32)
  reached = jnp.max(jnp.where(indicators > 0.5, levels, 0.0))
  if not dense:
    return reached / n
  # Progress towards stage k+1 when k is the highest reached (bounded below the next level).
  next_progress = progress[jnp.minimum(reached.astype(jnp.int32), n - 1)]
  return jnp.minimum(reached + 0.9 * next_progress, n) / n


def task_reward_by_id(task_names: tuple[str, ...], task_index: jax.Array, reward: str,
                      s: SceneSummary, c: ShapeConstants) -> tuple[jax.Array, jax.Array]:
  """(reward, success) of task `task_names[task_index]` (a traced index; for multi-task envs)."""
  if len(task_names) == 1:
    return task_reward(task_names[0], reward, s, c)
  values = [task_reward(t, reward, s, c) for t in task_names]  # a handful of cheap formulas
  rewards = jnp.stack([v[0] for v in values])
  successes = jnp.stack([v[1] for v in values])
  return rewards[task_index], successes[task_index]


def task_reward(task: str, reward: str, s: SceneSummary, c: ShapeConstants
                ) -> tuple[jax.Array, jax.Array]:
  """(reward, success) for `task` under reward mode `reward`; both scalars in [0, 1]."""
  if task == "pyramid":
    red, green, blue = 0, 1, 2
    base = next_to(s, c, red, green)
    # Move 1: red next to green (on the table, touching green's side along x).
    target_red = s.object_pos[green] + jnp.array(
        [-(c.half_width[red] + c.half_width[green]), 0.0, c.bottom[red] - c.bottom[green]])
    ind1, prog1 = _move_stages(s, c, red, target_red, base, 0.0)
    # Move 2: blue on top of both.
    mid = 0.5 * (s.object_pos[red] + s.object_pos[green])
    support = jnp.maximum(c.top[red] + s.object_pos[red, 2], c.top[green] + s.object_pos[green, 2])
    target_blue = jnp.array([mid[0], mid[1], support + c.bottom[blue]])
    blue_ok = ((jnp.linalg.norm(s.object_pos[blue, :2] - mid[:2]) < STACK_XY_TOL)
               & (jnp.abs(s.object_pos[blue, 2] - target_blue[2]) < STACK_Z_TOL)
               & (s.grasped[blue] < 0.5)).astype(jnp.float32)
    success = base * blue_ok
    ind2, prog2 = _move_stages(s, c, blue, target_blue, success, 0.0)
    indicators = jnp.concatenate([ind1, base * ind2])
    progress = jnp.concatenate([prog1, prog2])
  else:
    top, bottom = parse_stack_task(task)
    success = on(s, c, top, bottom)
    target = s.object_pos[bottom] + jnp.array([0.0, 0.0, c.top[bottom] + c.bottom[top]])
    indicators, progress = _move_stages(s, c, top, target, success, 0.0)
  if reward == "sparse":
    return success, success
  return _staged_value(indicators, progress, dense=reward == "dense"), success

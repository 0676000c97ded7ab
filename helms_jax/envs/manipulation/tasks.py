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

REWARDS = ("dense", "staged", "sparse", "rgb_shaped", "rgb_staged", "rgb_sparse")
RGB_REWARDS = ("rgb_shaped", "rgb_staged", "rgb_sparse")
STACK_TASKS = tuple(f"{a}_on_{b}" for a in OBJECT_NAMES for b in OBJECT_NAMES if a != b)
TASKS = STACK_TASKS + ("pyramid",)
# Multi-task: a task drawn uniformly per episode at reset (its id is in the observation).
TASK_SAMPLERS = {"all_pairs": STACK_TASKS}


class SceneSummary(NamedTuple):
  """What the rewards read from the simulator state.

  grip_pos: [3] the point between the fingertips.
  object_pos: [3, 3] object centres (red, green, blue).
  grasped: [3] 1 where both fingertips touch that object.
  finger_closure: [] the fingers' travel in [0, 1] (0 open).
  object_contacts: [3, 3] 1 where two objects touch (symmetric).
  table_contacts: [3] 1 where an object touches the table.
  tip_contacts: [3] 1 where a fingertip touches an object (the only robot-object contacts).
  (The last four feed the RGB-Stacking rewards; they default to zeros for hand-built summaries.)
  """
  grip_pos: jax.Array
  object_pos: jax.Array
  grasped: jax.Array
  finger_closure: jax.Array = np.float32(0.0)
  object_contacts: jax.Array = np.zeros((3, 3), np.float32)
  table_contacts: jax.Array = np.zeros(3, np.float32)
  tip_contacts: jax.Array = np.zeros(3, np.float32)


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


def rewards_for(task_names: tuple[str, ...]) -> tuple[str, ...]:
  """The rewards defined for every task in `task_names` (no RGB rewards for pyramid)."""
  if "pyramid" in task_names:
    return tuple(r for r in REWARDS if r not in RGB_REWARDS)
  return REWARDS


def check_reward(reward: str, task: str | None = None) -> None:
  if reward not in REWARDS:
    raise ValueError(f"unknown reward {reward!r}; valid rewards: {', '.join(REWARDS)}")
  if task is not None and reward not in rewards_for(episode_tasks(task)):
    raise ValueError(f"reward {reward!r} is not defined for task {task!r}; valid there: "
                     f"{', '.join(rewards_for(episode_tasks(task)))}")


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
  if reward in RGB_REWARDS:
    if task == "pyramid":
      raise ValueError(f"the RGB-Stacking rewards {RGB_REWARDS} are defined for the stacking "
                       f"pairs, not pyramid")
    top, bottom = parse_stack_task(task)
    return rgb_reward(reward, s, c, top, bottom)
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


# --- The RGB-Stacking benchmark's rewards (Lee et al. 2021; google-deepmind/rgb_stacking,
# stack_rewards.py), as HeLMS used them. Its constants are metres above its basket floor
# (z = 0.0498 there); here they are above the table (z = 0). Two adaptations to our objects:
# the stacked centre gap is the pair's own `top[bottom] + bottom[top]` where the benchmark
# assumes 4 cm objects (0.04 m; its test objects rest 39-50 mm apart), and the lift stage's
# workspace ellipsoid is scaled to ours: its objects start within +-0.1 m of the centre of a
# +-0.125 m ellipsoid, ours within +-0.18 m, hence +-0.25 m.
RGB_REACH_TOL, RGB_REACH_MARGIN = 0.02, 0.15  # pinch to the top object's centre
RGB_GRASP_SWITCH = 0.9  # reach above this: reach x (0.5 + grasp / 2), else reach / 2
RGB_LIFT = (0.055, 0.1)  # the top object's centre height: lift ramps from 0 to 1 over it
RGB_WORKSPACE_CENTRE, RGB_WORKSPACE_HALF = (0.0, 0.0, 0.12), (0.25, 0.25, 0.1)
RGB_PLACE_TOL, RGB_PLACE_MARGIN, RGB_PLACE_Z_MIN = 0.01, 0.2, 0.0502  # "hover" at the stack
RGB_STACK_XY, RGB_STACK_Z = 0.03, 0.01  # horizontal, and |gap - stacked gap|
RGB_LEAVE_HEIGHT, RGB_LEAVE_TOL, RGB_LEAVE_MARGIN = 0.1, (1.0, 1.0, 0.03), 0.05  # pinch over it
RGB_SPARSE_XY, RGB_SPARSE_Z = 0.05, 0.02  # the sparse (contact) stack test
RGB_STAGE_ACTIVE = 0.01  # a stage counts once above this
RGB_STAGES = 5


def _tanh_squared(distance: jax.Array, margin: float, value_at_margin: float = 0.05
                  ) -> jax.Array:
  """1 - tanh(w d)^2 with w set so the value at `margin` is `value_at_margin` (dm_control's
  `rewards.tolerance` sigmoid "tanh_squared")."""
  scale = np.arctanh(np.sqrt(1.0 - value_at_margin)) / margin
  return 1.0 - jnp.tanh(scale * distance) ** 2


def _distance_reward(delta: jax.Array, tolerance, margin: float) -> jax.Array:
  """1 inside the tolerance ellipsoid (`||delta / tolerance|| <= 1`), else the tanh-squared of
  the plain distance (the benchmark's `DistanceReward`: a step at the tolerance boundary)."""
  inside = jnp.linalg.norm(delta / jnp.asarray(tolerance, jnp.float32)) <= 1.0
  return jnp.where(inside, 1.0, _tanh_squared(jnp.linalg.norm(delta), margin))


def rgb_stages(s: SceneSummary, c: ShapeConstants, top: int, bottom: int
               ) -> tuple[jax.Array, jax.Array]:
  """([5] shaped stage values in [0, 1], [5] sub-goals completed (0/1)): reach and grasp, lift,
  place ("hover": the top object at its stacked position), stack (resting there, released),
  stack and leave (the pinch 10 cm over it)."""
  obj = s.object_pos[top]
  reach = _distance_reward(obj - s.grip_pos, RGB_REACH_TOL, RGB_REACH_MARGIN)
  close = _tanh_squared(1.0 - s.finger_closure, 1.0)
  grasp = jnp.maximum(0.5 * close, s.grasped[top])
  reach_grasp = jnp.where(reach > RGB_GRASP_SWITCH, reach * (0.5 + 0.5 * grasp), 0.5 * reach)
  lift = jnp.clip((obj[2] - RGB_LIFT[0]) / (RGB_LIFT[1] - RGB_LIFT[0]), 0.0, 1.0)
  inside = jnp.linalg.norm((obj - jnp.asarray(RGB_WORKSPACE_CENTRE))
                           / jnp.asarray(RGB_WORKSPACE_HALF)) <= 1.0
  lifted = grasp * lift * inside
  gap = c.top[bottom] + c.bottom[top]
  target = s.object_pos[bottom] + jnp.array([0.0, 0.0, 1.0]) * gap
  place = jnp.where(obj[2] >= RGB_PLACE_Z_MIN,
                    _distance_reward(obj - target, (RGB_PLACE_TOL,) * 3, RGB_PLACE_MARGIN), 0.0)
  delta = obj - s.object_pos[bottom]
  stack = ((jnp.linalg.norm(delta[:2]) <= RGB_STACK_XY)
           & (jnp.abs(delta[2] - gap) <= RGB_STACK_Z) & (s.grasped[top] < 0.5))
  above = _distance_reward(s.grip_pos - obj - jnp.array([0.0, 0.0, RGB_LEAVE_HEIGHT]),
                           RGB_LEAVE_TOL, RGB_LEAVE_MARGIN)
  stack = stack.astype(jnp.float32)
  values = jnp.clip(jnp.stack([reach_grasp, lifted, place, stack, stack * above]), 0.0, 1.0)
  done = jnp.stack([(reach >= 1.0) & (s.grasped[top] > 0.5),
                    (s.grasped[top] > 0.5) & (lift >= 1.0) & inside,
                    place >= 1.0, stack > 0.5, (stack > 0.5) & (above >= 1.0)])
  return values, done.astype(jnp.float32)


def rgb_sparse_stack(s: SceneSummary, top: int, bottom: int) -> jax.Array:
  """The benchmark's sparse reward (`SparseStack`): the top object on the bottom one (within
  5 cm horizontally, its centre > 2 cm higher), touching it, touching neither the table nor
  the robot."""
  delta = s.object_pos[top] - s.object_pos[bottom]
  ok = ((jnp.linalg.norm(delta[:2]) < RGB_SPARSE_XY) & (delta[2] > RGB_SPARSE_Z)
        & (s.object_contacts[top, bottom] > 0.5) & (s.table_contacts[top] < 0.5)
        & (s.tip_contacts[top] < 0.5))
  return ok.astype(jnp.float32)


def rgb_reward(reward: str, s: SceneSummary, c: ShapeConstants, top: int, bottom: int
               ) -> tuple[jax.Array, jax.Array]:
  """(reward, success) of stacking `top` on `bottom` with an RGB-Stacking reward; success is
  the sparse stack test.

    rgb_shaped  the benchmark's default: the last stage k whose value r_k exceeds 0.01 gives
                (k + r_k) / 5 (else r_0 / 5); stages are not gated on earlier ones.
    rgb_staged  "staged sparse" (HeLMS: "reward incrementally given after completing each
                sub-goal"; not in the benchmark's code): (k + 1) / 5 for the last completed
                sub-goal k: reach-and-grasp (pinch within 2 cm and a grasp), lifted (centre
                >= 10 cm up, held, in the workspace), placed (within 1 cm of the stacked
                position), stacked, stacked and left.
    rgb_sparse  1 when `rgb_sparse_stack` holds.
  """
  success = rgb_sparse_stack(s, top, bottom)
  if reward == "rgb_sparse":
    return success, success
  values, done = rgb_stages(s, c, top, bottom)
  stage = jnp.arange(RGB_STAGES, dtype=jnp.float32)
  if reward == "rgb_staged":
    return jnp.max(done * (stage + 1.0)) / RGB_STAGES, success
  active = values > RGB_STAGE_ACTIVE
  last = jnp.max(jnp.where(active, stage, -1.0))
  value = jnp.where(last >= 0, (last + values[jnp.maximum(last, 0).astype(jnp.int32)]),
                    values[0])
  return value / RGB_STAGES, success

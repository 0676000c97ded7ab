"""The ant tasks of Latent Skill Planning (Xie et al., 2021) as wrappers over brax's ant.

Registered names (all MJX, none terminates; time limits come from `EpisodeWrapper`):

  ant_walk, ant_run         forward velocity, DMC style (`AntWalk`, `AntRun`)
  ant_reach_goal            progress towards a random goal + bonus within 0.5 m (`AntReachGoal`)
  ant_reach_goal_obstacles  the same with K physical pillars in the way (`AntReachGoalObstacles`)
  ant_cove                  sparse goal behind a fixed U-shaped wall (`AntCove`)

`AntTask` wraps brax's ant (`robots.make_ant`): the wrapper owns the observation layout, the task
state in `state.info`, the reward and `done`; brax's robot code does the physics. What every
locomotion task provides (`info['root_xy']`, `observation_groups`, a pure `relabel`) is in the
package docstring (`helms_jax.envs.locomotion`).

Ant observation (one layout for all ant tasks, so a model trained on ant_walk transfers to the
goal tasks; `ANT_MAX_OBSTACLES` = K_max = 4 by default -> 39 numbers):
    0:2    root_xy    root (torso) x, y in the world frame (m)
    2:29   proprio    brax's ant observation without x, y: root z (2), root quaternion w,x,y,z
                      (3:7), 8 hinge angles (7:15), root linear velocity in the world frame
                      vx, vy, vz (15:18), root angular velocity (18:21), 8 hinge velocities
                      (21:29)
    29:31  goal       goal - root xy (m); zeros in ant_walk / ant_run
    31:39  obstacles  obstacle centre - root xy for obstacle k at 31 + 2k; zeros where absent
                      (all of them in walk / run / reach_goal); ant_cove: the three wall centres
Indices are into the full observation; `proprio` starts at 2, so vx is observation[15]
(`ANT_VX`).

Rewards (dt = 0.05 s per env step for the ant: 5 physics steps of 10 ms):
  ant_walk / ant_run: DMC quadruped walk / run's `upright * move - ctrl_cost_weight * |a|^2`:
    upright = (1 + u') / 2 with u' the torso z axis' world z component (1 upright, 0 on its
    side), move = clip(0.5 + 0.5 v' / target_speed, 0, 1) with v' the root velocity along the
    torso's own x axis (DMC's torso-frame velocimeter: forward is wherever the body faces), both
    from next_observation (quaternion 3:7, world velocity 15:18). Standing still upright earns
    0.5, walking at the target 1, going backwards at the target 0. Targets: walk 1 m/s, run
    3 m/s (DMC's quadruped uses 0.5 and 5 m/s for its own robot). brax's ant is a 0.25 m torso
    on legs spanning ~2 m tip to tip, with strong motors (gear 150): 1 m/s is half a body span
    per second, a walking gait, and ants trained on brax's own reward move at several m/s, so
    3 m/s (3x walk) is a demanding run. ctrl_cost_weight defaults to 0 (DMC has no control
    cost). The quadruped's "GetUp" start (sometimes upside down) is not modelled: the ant starts
    upright (brax's reset).
  ant_reach_goal(_obstacles): `(d - d') / dt + success_bonus * 1[d' < goal_radius]` with d, d'
    the root-goal distances before and after the step (from the goal slots: d = |obs[29:31]|):
    progress in m/s (moving straight at the goal at 1 m/s earns 1 per step) plus 1 per step
    within 0.5 m. `info['success']` and `metrics['success']` = 1[d' < goal_radius].
  ant_cove: sparse `1[d' < goal_radius]` (also `success`).

Goal tasks. `ant_reach_goal`: the goal is drawn at reset on a ring around the nominal start
(the origin; brax's reset adds +-0.1 m to the root xy): distance uniform in `goal_distance`
(2-5 m), angle uniform. `relabel` with a key draws from exactly this distribution;
`key=None` keeps the transition's goal. In `info`: `goal` [2] (world xy), `success`.

Obstacles (physical). `ant_reach_goal_obstacles` uses `robots.make_ant(num_pillars=K)`: K
vertical capsules (radius 0.4 m, axis 3 m tall) on mocap bodies, which the ant's torso, lower
legs and feet collide with (frictionless contact; see robots.py), moved per episode through
`mjx.Data.mocap_pos`. Placement: pillar k's centre is at distance s_k ~ U(start_clearance,
d - goal_clearance) along the start->goal line and a lateral offset ~ U(-obstacle_lateral,
obstacle_lateral), with start_clearance = 1.2 m (the ant's leg reach) + radius, so no pillar
overlaps the ant at reset, and goal_clearance = goal_radius + radius + 0.1, so the goal stays
reachable. That needs goals at least 2.75 m away (+0.15 m for the reset noise): the default
`goal_distance` here is 3-5 m.
Pillars may overlap each other. In `info`: `goal`, `obstacles` [K_max, 2] (world xy, parked far
away where absent), `obstacle_mask` [K_max]. `relabel` draws a new goal (key) or keeps it, and
keeps the obstacle slots as stored: the obstacles a transition was simulated with are physical,
so inventing others would describe collisions that never happened (walk data keeps zeros).

Cove (physical, static). Three box walls (0.4 m thick, 3.5 m tall: an ant thrown at a 1.5 m
wall at 10 m/s pivoted on its legs and flew over it, and one thrown at 20 m/s went through a
0.2 m wall) around the fixed goal (4, 0): a back wall across the
start->goal line centred at x = 2.5 (y in [-2.2, 2.2]) and two side walls centred at y = +-2
from x = 2.5 to 6.0, open at x = 6 (away from the start), so the ant must walk around a side
wall (~10 m) to reach the goal. The wall centres fill obstacle slots 0-2; the goal and walls
are fixed, so `relabel` ignores its key and writes both.
"""

from __future__ import annotations

from typing import Any

from brax import math as brax_math
from brax.envs.ant import Ant
import jax
import jax.numpy as jnp

from helms_jax.envs.base import ObservationGroups, State, Wrapper
from helms_jax.envs.locomotion import robots
from helms_jax.envs.locomotion.rewards import quadruped_move_reward, upright_reward
from helms_jax.envs.registry import EnvKwargError, register

__all__ = [
    "ANT_ROBOT_OBS", "ANT_MAX_OBSTACLES", "ANT_VX", "ant_observation_groups",
    "AntTask", "AntWalk", "AntRun", "AntReachGoal", "AntReachGoalObstacles", "AntCove",
]

ANT_ROBOT_OBS = 29  # brax's ant observation with root x, y: q [15] + qd [14]
ANT_MAX_OBSTACLES = 4
ANT_VX = 15  # root world-frame x velocity in the ant observation (qd[0]; vy, vz follow)
ANT_QUAT = 3  # root quaternion w, x, y, z in the ant observation (q[3:7])
_GOAL = slice(ANT_ROBOT_OBS, ANT_ROBOT_OBS + 2)
# How far the ant's legs reach from the root at reset and while walking (foot sphere included):
# lower legs end ~0.9 m out at reset, ~1.15 m when fully stretched.
ANT_REACH = 1.2


def ant_observation_groups(max_obstacles: int = ANT_MAX_OBSTACLES) -> ObservationGroups:
  """The shared ant layout: root_xy [2], proprio [27], goal [2], obstacles [2 * max_obstacles]."""
  return ObservationGroups.from_sizes(
      ("root_xy", 2), ("proprio", ANT_ROBOT_OBS - 2), ("goal", 2),
      ("obstacles", 2 * max_obstacles))


def _ring(key: jax.Array, distance: tuple[float, float]) -> jax.Array:
  """A point [2] at distance ~ U(distance) from the origin in a uniformly random direction."""
  k_dist, k_angle = jax.random.split(key)
  radius = jax.random.uniform(k_dist, (), minval=distance[0], maxval=distance[1])
  angle = jax.random.uniform(k_angle, (), minval=0.0, maxval=2 * jnp.pi)
  return radius * jnp.stack([jnp.cos(angle), jnp.sin(angle)])


class AntTask(Wrapper):
  """Base of the ant tasks: brax's ant (`robots.make_ant`) with the shared observation layout.

  Subclasses define the task state at reset (`_reset_task`), the goal/obstacle slots
  (`_slots`), the reward (`reward_terms`) and how `relabel` rewrites the slots
  (`_relabel_slots`). `step` passes the physics to brax's `Ant.step` and discards its reward,
  metrics and `done` (no termination).
  """

  transition_info_keys: tuple[str, ...] = ()

  def __init__(self, robot: Ant, max_obstacles: int = ANT_MAX_OBSTACLES, backend: str = "mjx"):
    """robot: the brax ant (`robots.make_ant(...)`) this task wraps."""
    robots.check_mjx_backend(backend)
    if int(max_obstacles) < 1:
      raise EnvKwargError(f"max_obstacles must be >= 1, got {max_obstacles}")
    super().__init__(robot)
    self.max_obstacles = int(max_obstacles)
    self._groups = ant_observation_groups(self.max_obstacles)
    self._dt = float(robot.dt)

  # -- layout -------------------------------------------------------------------------------
  @property
  def observation_groups(self) -> ObservationGroups:
    return self._groups

  @property
  def observation_size(self) -> int:
    return self._groups.obs_size

  @property
  def dt(self) -> float:
    """Seconds per env step (0.05 for brax's ant)."""
    return self._dt

  def _zero_slots(self) -> tuple[jax.Array, jax.Array]:
    return jnp.zeros(2), jnp.zeros(2 * self.max_obstacles)

  def _observe(self, robot_obs: jax.Array, info: dict[str, Any]) -> jax.Array:
    """robot_obs [29] + task info -> observation [observation_size]."""
    goal, obstacles = self._slots(robot_obs[:2], info)
    return jnp.concatenate([robot_obs, goal, obstacles]).astype(jnp.float32)

  # -- task hooks ---------------------------------------------------------------------------
  def _reset_task(self, key: jax.Array, pipeline_state: Any,
                  root_xy: jax.Array) -> tuple[dict[str, jax.Array], Any]:
    """-> (task entries of `state.info`, pipeline_state). Default: no task state."""
    del key, root_xy
    return {}, pipeline_state

  def _slots(self, root_xy: jax.Array, info: dict[str, Any]) -> tuple[jax.Array, jax.Array]:
    """-> (goal slot [2], obstacle slots [2 * max_obstacles]). Default: zeros."""
    del root_xy, info
    return self._zero_slots()

  def reward_terms(self, observation: jax.Array, action: jax.Array,
                   next_observation: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
    """(observation [obs], action [8], next_observation [obs]) -> (reward [], metrics)."""
    raise NotImplementedError

  def _relabel_slots(self, observation: jax.Array, next_observation: jax.Array,
                     key: jax.Array | None) -> tuple[jax.Array, jax.Array]:
    """Default: this task's slots are zeros."""
    del key
    n = ANT_ROBOT_OBS
    return observation.at[n:].set(0.0), next_observation.at[n:].set(0.0)

  # -- brax Env -----------------------------------------------------------------------------
  def reset(self, rng: jax.Array) -> State:
    """rng: one key -> State with obs [observation_size]."""
    robot_key, task_key = jax.random.split(rng)
    inner = self.env.reset(robot_key)
    root_xy = inner.obs[:2]
    task, pipeline_state = self._reset_task(task_key, inner.pipeline_state, root_xy)
    obs = self._observe(inner.obs, task)
    _, metrics = jax.eval_shape(self.reward_terms, obs, jnp.zeros(self.action_size), obs)
    metrics = {k: jnp.zeros((), jnp.float32) for k in metrics}
    info = {"root_xy": root_xy, **task}
    info.update({k: jnp.zeros((), jnp.float32) for k in self.transition_info_keys})
    zero = jnp.zeros((), jnp.float32)
    return State(pipeline_state=pipeline_state, obs=obs, reward=zero, done=zero,
                 metrics=metrics, info=info)

  def step(self, state: State, action: jax.Array) -> State:
    """action [8] in [-1, 1] (brax's ant clips it to the actuator range)."""
    # brax's Ant.step updates the metrics dict of the state it is given in place: hand it a
    # fresh one so ours (and the caller's) stay untouched.
    inner = self.env.step(state.replace(metrics={}), action)
    obs = self._observe(inner.obs, state.info)
    reward, metrics = self.reward_terms(state.obs, action, obs)
    info = {**state.info, "root_xy": inner.obs[:2]}
    info.update({k: metrics[k] for k in self.transition_info_keys})
    return state.replace(pipeline_state=inner.pipeline_state, obs=obs,
                         reward=reward.astype(jnp.float32),
                         done=jnp.zeros((), jnp.float32), metrics=metrics, info=info)

  def relabel(self, observation: jax.Array, action: jax.Array, next_observation: jax.Array,
              key: jax.Array | None = None) -> tuple[jax.Array, jax.Array, jax.Array]:
    """A stored transition as this task would have produced it (pure; vmap over all args).

    Args:
      observation, next_observation: [observation_size] in the shared ant layout (from any
        ant task).
      action: [8].
      key: goal tasks draw a new goal from it (reset's distribution) and write it into the
        goal slots of both observations; None keeps the stored goal. Ignored by tasks whose
        slots are fixed (walk/run: zeros; cove: its goal and walls).
    Returns:
      (observation, next_observation, reward []).
    """
    observation, next_observation = self._relabel_slots(observation, next_observation, key)
    reward, _ = self.reward_terms(observation, action, next_observation)
    return observation, next_observation, reward.astype(jnp.float32)


class AntWalk(AntTask):
  """Ant walking forward (along its torso's x axis) at `target_speed`, DMC quadruped walk's
  reward `upright * clip(0.5 + 0.5 v_fwd' / target_speed, 0, 1) - c |a|^2` (module docstring).

  Args:
    target_speed: m/s at which the velocity reward saturates (1.0; AntRun 3.0).
    ctrl_cost_weight: c, the weight of the squared-action cost (0: DMC's).
    max_obstacles: K_max of the shared layout (zeros here).
    backend: "mjx" only.
  """

  def __init__(self, target_speed: float = 1.0, ctrl_cost_weight: float = 0.0,
               max_obstacles: int = ANT_MAX_OBSTACLES, backend: str = "mjx"):
    if target_speed <= 0 or ctrl_cost_weight < 0:
      raise EnvKwargError(f"need target_speed > 0 and ctrl_cost_weight >= 0, got "
                          f"{target_speed}, {ctrl_cost_weight}")
    super().__init__(robots.make_ant(), max_obstacles=max_obstacles, backend=backend)
    self.target_speed = float(target_speed)
    self.ctrl_cost_weight = float(ctrl_cost_weight)

  def reward_terms(self, observation, action, next_observation):
    del observation
    quat = next_observation[ANT_QUAT:ANT_QUAT + 4]  # (w, x, y, z), brax's convention
    v_forward = brax_math.inv_rotate(next_observation[ANT_VX:ANT_VX + 3], quat)[0]  # torso frame
    cos_tilt = brax_math.rotate(jnp.array([0.0, 0.0, 1.0]), quat)[2]  # torso z axis, world z
    upright = upright_reward(cos_tilt)
    move = quadruped_move_reward(v_forward, self.target_speed)
    ctrl = self.ctrl_cost_weight * jnp.sum(jnp.square(action))
    return upright * move - ctrl, {"forward_velocity": v_forward, "reward_move": move,
                                   "upright": upright, "reward_ctrl": -ctrl}


class AntRun(AntWalk):
  """AntWalk with a higher target speed (3 m/s, 3x walk)."""

  def __init__(self, target_speed: float = 3.0, ctrl_cost_weight: float = 0.0,
               max_obstacles: int = ANT_MAX_OBSTACLES, backend: str = "mjx"):
    super().__init__(target_speed=target_speed, ctrl_cost_weight=ctrl_cost_weight,
                     max_obstacles=max_obstacles, backend=backend)


def _goal_distances(observation: jax.Array, next_observation: jax.Array):
  """Root-goal distances before and after a transition, from the goal slots."""
  return (jnp.linalg.norm(observation[_GOAL]), jnp.linalg.norm(next_observation[_GOAL]))


class AntReachGoal(AntTask):
  """Ant reaching a random goal: progress (m/s) towards it + a bonus within `goal_radius`.

  Args:
    goal_distance: (min, max) distance of the goal from the nominal start (origin), m.
    goal_radius: success radius, m.
    success_bonus: reward per step within the radius.
    max_obstacles: K_max of the shared layout (zeros here).
    backend: "mjx" only.
  """

  transition_info_keys = ("success",)

  def __init__(self, goal_distance: tuple[float, float] = (2.0, 5.0), goal_radius: float = 0.5,
               success_bonus: float = 1.0, max_obstacles: int = ANT_MAX_OBSTACLES,
               backend: str = "mjx"):
    try:
      lo, hi = (float(v) for v in goal_distance)
    except (TypeError, ValueError):
      raise EnvKwargError(
          f"goal_distance must be a (min, max) pair, got {goal_distance!r}") from None
    if not 0 < lo <= hi or goal_radius <= 0:
      raise EnvKwargError(f"need 0 < goal_distance[0] <= goal_distance[1] and goal_radius > 0; "
                          f"got {goal_distance}, {goal_radius}")
    super().__init__(self._make_robot(), max_obstacles=max_obstacles, backend=backend)
    self.goal_distance = (lo, hi)
    self.goal_radius = float(goal_radius)
    self.success_bonus = float(success_bonus)

  def _make_robot(self):
    return robots.make_ant()

  def sample_goal(self, key: jax.Array) -> jax.Array:
    """A goal [2] (world xy) from the reset distribution."""
    return _ring(key, self.goal_distance)

  def _reset_task(self, key, pipeline_state, root_xy):
    return {"goal": self.sample_goal(key)}, pipeline_state

  def _slots(self, root_xy, info):
    return info["goal"] - root_xy, jnp.zeros(2 * self.max_obstacles)

  def reward_terms(self, observation, action, next_observation):
    del action
    d, d_next = _goal_distances(observation, next_observation)
    success = (d_next < self.goal_radius).astype(jnp.float32)
    progress = (d - d_next) / self._dt
    return progress + self.success_bonus * success, {
        "distance": d_next, "progress": progress, "success": success}

  def _write_goal(self, observation, next_observation, key):
    if key is None:
      return observation, next_observation
    goal = self.sample_goal(key)
    return (observation.at[_GOAL].set(goal - observation[:2]),
            next_observation.at[_GOAL].set(goal - next_observation[:2]))

  def _relabel_slots(self, observation, next_observation, key):
    observation, next_observation = self._write_goal(observation, next_observation, key)
    n = ANT_ROBOT_OBS + 2  # no obstacles in this task
    return observation.at[n:].set(0.0), next_observation.at[n:].set(0.0)


class AntReachGoalObstacles(AntReachGoal):
  """AntReachGoal with `num_obstacles` physical pillars placed between start and goal.

  Args:
    num_obstacles: K pillars per episode (<= max_obstacles).
    obstacle_radius: pillar radius, m.
    obstacle_lateral: max lateral offset of a pillar from the start->goal line, m.
    goal_distance, goal_radius, success_bonus, max_obstacles, backend: as AntReachGoal; goals
      must be at least start_clearance + goal_clearance + 0.15 m away (module docstring).
  """

  def __init__(self, num_obstacles: int = 4, obstacle_radius: float = 0.4,
               obstacle_lateral: float = 0.75, goal_distance: tuple[float, float] = (3.0, 5.0),
               goal_radius: float = 0.5, success_bonus: float = 1.0,
               max_obstacles: int = ANT_MAX_OBSTACLES, backend: str = "mjx"):
    if not 1 <= int(num_obstacles) <= int(max_obstacles):
      raise EnvKwargError(f"need 1 <= num_obstacles <= max_obstacles, got {num_obstacles}, "
                          f"{max_obstacles}")
    if obstacle_radius <= 0 or obstacle_lateral < 0:
      raise EnvKwargError(f"need obstacle_radius > 0 and obstacle_lateral >= 0, got "
                          f"{obstacle_radius}, {obstacle_lateral}")
    self.num_obstacles = int(num_obstacles)
    self.obstacle_radius = float(obstacle_radius)
    self.obstacle_lateral = float(obstacle_lateral)
    self.start_clearance = ANT_REACH + self.obstacle_radius
    self.goal_clearance = goal_radius + self.obstacle_radius + 0.1
    # brax's reset moves the root up to 0.1 m per axis from the origin the goal is drawn around.
    need = self.start_clearance + self.goal_clearance + 0.15
    if float(goal_distance[0]) < need:
      raise EnvKwargError(
          f"with obstacle_radius={obstacle_radius} and goal_radius={goal_radius} pillars need "
          f"goals at least {need:.2f} m away (leg reach + radius from the start, goal radius + "
          f"radius + 0.1 from the goal); got goal_distance={goal_distance}")
    super().__init__(goal_distance=goal_distance, goal_radius=goal_radius,
                     success_bonus=success_bonus, max_obstacles=max_obstacles, backend=backend)

  def _make_robot(self):
    return robots.make_ant(num_pillars=self.num_obstacles, pillar_radius=self.obstacle_radius)

  def _reset_task(self, key, pipeline_state, root_xy):
    k_goal, k_along, k_side = jax.random.split(key, 3)
    goal = self.sample_goal(k_goal)
    delta = goal - root_xy
    length = jnp.linalg.norm(delta)
    along = delta / length
    normal = jnp.stack([-along[1], along[0]])
    k = self.num_obstacles
    s = jax.random.uniform(k_along, (k,), minval=self.start_clearance,
                           maxval=jnp.maximum(length - self.goal_clearance,
                                              self.start_clearance))
    lateral = jax.random.uniform(k_side, (k,), minval=-self.obstacle_lateral,
                                 maxval=self.obstacle_lateral)
    xy = root_xy + s[:, None] * along + lateral[:, None] * normal  # [K, 2]
    pipeline_state = robots.set_pillars(self.env.sys, pipeline_state, xy)
    pad = self.max_obstacles - k
    obstacles = jnp.concatenate([xy, jnp.full((pad, 2), 1e3)], axis=0)
    mask = jnp.concatenate([jnp.ones(k), jnp.zeros(pad)])
    return {"goal": goal, "obstacles": obstacles, "obstacle_mask": mask}, pipeline_state

  def _slots(self, root_xy, info):
    rel = (info["obstacles"] - root_xy) * info["obstacle_mask"][:, None]
    return info["goal"] - root_xy, rel.reshape(-1)

  def _relabel_slots(self, observation, next_observation, key):
    # Obstacle slots are kept: they describe the pillars the transition was simulated with.
    return self._write_goal(observation, next_observation, key)


class AntCove(AntTask):
  """Sparse goal inside a U-shaped cove of static walls that opens away from the start.

  Args:
    goal: (x, y) of the goal, inside the cove.
    back_wall_x: x of the wall between the start (origin) and the goal.
    depth: the side walls run from back_wall_x to back_wall_x + depth (the opening).
    half_width: the side walls stand at y = +-half_width.
    wall_thickness, wall_height: box sizes, m.
    goal_radius: success radius; reward 1 per step within it, else 0.
    max_obstacles: K_max of the shared layout (>= 3: the walls fill slots 0-2).
    backend: "mjx" only.
  """

  transition_info_keys = ("success",)

  def __init__(self, goal: tuple[float, float] = (4.0, 0.0), back_wall_x: float = 2.5,
               depth: float = 3.5, half_width: float = 2.0, wall_thickness: float = 0.4,
               wall_height: float = robots.WALL_HEIGHT, goal_radius: float = 0.5,
               max_obstacles: int = ANT_MAX_OBSTACLES, backend: str = "mjx"):
    gx, gy = (float(v) for v in goal)
    t = float(wall_thickness)
    if int(max_obstacles) < 3:
      raise EnvKwargError(f"ant_cove writes its 3 walls into the obstacle slots: need "
                          f"max_obstacles >= 3, got {max_obstacles}")
    if back_wall_x - t / 2 <= ANT_REACH or depth <= 0 or half_width <= 0 or t <= 0:
      raise EnvKwargError(
          f"need back_wall_x - wall_thickness / 2 > {ANT_REACH} (the ant's reach at the start), "
          f"depth > 0, half_width > 0, wall_thickness > 0; got {back_wall_x}, {depth}, "
          f"{half_width}, {wall_thickness}")
    if not (back_wall_x + t / 2 + goal_radius < gx < back_wall_x + depth
            and abs(gy) + goal_radius < half_width - t / 2):
      raise EnvKwargError(f"goal {goal} with radius {goal_radius} must lie inside the cove "
                          f"(x in ({back_wall_x}, {back_wall_x + depth}), |y| < {half_width})")
    side_x = back_wall_x + depth / 2
    self.walls = (
        robots.Wall((back_wall_x, 0.0), (t / 2, half_width + t / 2), wall_height),
        robots.Wall((side_x, half_width), (depth / 2, t / 2), wall_height),
        robots.Wall((side_x, -half_width), (depth / 2, t / 2), wall_height),
    )
    super().__init__(robots.make_ant(walls=self.walls), max_obstacles=max_obstacles,
                     backend=backend)
    self.goal = (gx, gy)
    self.goal_radius = float(goal_radius)

  def _slots(self, root_xy, info):
    del info
    goal = jnp.asarray(self.goal, jnp.float32)
    walls = jnp.asarray([w.center for w in self.walls], jnp.float32) - root_xy
    pad = jnp.zeros(2 * (self.max_obstacles - len(self.walls)))
    return goal - root_xy, jnp.concatenate([walls.reshape(-1), pad])

  def _reset_task(self, key, pipeline_state, root_xy):
    del key, root_xy
    return {"goal": jnp.asarray(self.goal, jnp.float32)}, pipeline_state

  def reward_terms(self, observation, action, next_observation):
    del observation, action
    d_next = jnp.linalg.norm(next_observation[_GOAL])
    success = (d_next < self.goal_radius).astype(jnp.float32)
    return success, {"distance": d_next, "success": success}

  def _relabel_slots(self, observation, next_observation, key):
    del key  # fixed goal and walls

    def write(obs):
      goal, walls = self._slots(obs[:2], {})
      return obs.at[ANT_ROBOT_OBS:].set(jnp.concatenate([goal, walls]))

    return write(observation), write(next_observation)


register("ant_walk", AntWalk)
register("ant_run", AntRun)
register("ant_reach_goal", AntReachGoal)
register("ant_reach_goal_obstacles", AntReachGoalObstacles)
register("ant_cove", AntCove)

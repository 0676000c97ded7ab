"""The MJX stacking environment: `make("stacking", task=..., object_set=..., reward=...)`.

Action (5-D, clipped to [-1, 1]): end-effector velocity targets (x, y, z at up to `MAX_SPEED`
m/s, yaw at up to `MAX_YAW_SPEED` rad/s) and the gripper command (-1 open … +1 closed, an
absolute finger position target). Each env step holds the action for `substeps` physics steps
(default 5 × 10 ms = 20 Hz control).

Observation groups (for information asymmetry):
  proprio [12]: gripper position (3), sin/cos yaw (2), finger closure (1), gripper linear
                velocity (3), yaw rate (1), finger velocity (1), grasp sensor (1)
  objects [39]: for red, green, blue: position (3), orientation quaternion (4), position
                relative to the grip point (3), linear velocity (3)
  task    [7]:  one-hot of the episode's task in `tasks.TASKS` (constant for single-task envs;
                drawn per episode for `task="all_pairs"`)
  image (optional, not in the flat observation): see `vision.py`.
The grasp sensor is 1 when both fingertips touch the same object.

Analyses: `reward_variants(state)` gives the dense, staged and sparse rewards of a state at once
(one rollout instead of one env per reward type); `coverage_groups()` names the observation
entries of the state-coverage measure (arm joints, grasp, object positions).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from mujoco import mjx

from helms_jax.envs.base import Env, ObservationGroups, State
from helms_jax.envs.manipulation import scene, tasks

MAX_SPEED = 0.25
MAX_YAW_SPEED = 1.5
CONTACT_DIST = 0.002  # a contact slot with distance below this is touching
GRASP_CLOSURE_MIN = 0.004  # fingers must have moved in (not a brush against an open finger)

OBSERVATION_GROUPS = ObservationGroups.from_sizes(
    ("proprio", 12), ("objects", 39), ("task", len(tasks.TASKS)))

# State coverage (`analysis/exploration.py`): name -> (observation group, offsets in the group).
#   joint:  the arm's joint positions as observed: the gantry slide joints x, y, z (proprio 0-2,
#           metres) and the yaw hinge as sin/cos (proprio 3-4); not the velocities (6-10).
#   grasp:  finger closure in [0, 1] (proprio 5) and the grasp sensor (proprio 11).
#   object: the red, green and blue centres (objects 0-2, 13-15, 26-28); not orientations,
#           gripper-relative positions (which move with the arm) or velocities.
COVERAGE_GROUPS = {
    "joint": ("proprio", (0, 1, 2, 3, 4)),
    "grasp": ("proprio", (5, 11)),
    "object": ("objects", tuple(13 * o + i for o in range(3) for i in range(3))),
}


class Stacking(Env):
  """MJX arm + three objects; stacking and pyramid tasks with dense/staged/sparse rewards.

  Args:
    task: one of `tasks.TASKS` (`red_on_blue`, ..., `pyramid`), or `all_pairs` (one of the six
      stacking pairs drawn per episode; `info['task_id']` indexes `tasks.TASKS`).
    object_set: 1..5 (see `scene.py`).
    reward: `dense`, `staged` or `sparse`.
    image: also render a camera image into `state.info['image']` (see `vision.py`).
    image_size: side of the square image.
    substeps: physics steps per env step.
    timestep: physics step (s).
    solver_iterations, ls_iterations: Newton solver settings (CPU speed vs stiffness).
  """

  def __init__(self, task: str = "red_on_blue", object_set: int = 4, reward: str = "staged",
               image: bool = False, image_size: int = 32, substeps: int = 5,
               timestep: float = 0.01, solver_iterations: int = 1, ls_iterations: int = 4):
    tasks.check_task(task)
    tasks.check_reward(reward)
    if object_set not in scene.OBJECT_SETS:
      raise ValueError(f"unknown object_set {object_set!r}; valid object sets: "
                       f"{', '.join(map(str, scene.OBJECT_SETS))}")
    if substeps < 1:
      raise ValueError(f"substeps must be >= 1, got {substeps}")
    self.task, self.object_set, self.reward_type = task, int(object_set), reward
    self.substeps = int(substeps)
    self.episode_tasks = tasks.episode_tasks(task)
    self._episode_task_ids = np.array([tasks.TASKS.index(t) for t in self.episode_tasks])
    self.mj_model = mujoco.MjModel.from_xml_string(scene.build_mjcf(
        self.object_set, timestep=timestep, solver_iterations=solver_iterations,
        ls_iterations=ls_iterations))
    self.mjx_model = mjx.put_model(self.mj_model)
    self.control_dt = timestep * self.substeps
    shapes = scene.object_set(self.object_set)
    self.shapes = shapes
    self.constants = tasks.ShapeConstants(
        bottom=np.array([s.bottom for s in shapes], np.float32),
        top=np.array([s.top for s in shapes], np.float32),
        half_width=np.array([s.half_extents[0] for s in shapes], np.float32))
    self._index()
    self.image = bool(image)
    self.image_size = int(image_size)
    if self.image:
      from helms_jax.envs.manipulation import vision  # pylint: disable=import-outside-toplevel
      self._camera = vision.Camera.for_model(self.mj_model, self.image_size)

  # -- static indices ------------------------------------------------------------------------------

  def _index(self):
    m = self.mj_model
    name = lambda kind, n: mujoco.mj_name2id(m, kind, n)
    self._arm_qpos = np.array([m.jnt_qposadr[name(mujoco.mjtObj.mjOBJ_JOINT, j)]
                               for j in ("arm_x", "arm_y", "arm_z", "arm_yaw")])
    self._arm_qvel = np.array([m.jnt_dofadr[name(mujoco.mjtObj.mjOBJ_JOINT, j)]
                               for j in ("arm_x", "arm_y", "arm_z", "arm_yaw")])
    self._finger_qpos = np.array([m.jnt_qposadr[name(mujoco.mjtObj.mjOBJ_JOINT, j)]
                                  for j in ("finger_left", "finger_right")])
    self._finger_qvel = np.array([m.jnt_dofadr[name(mujoco.mjtObj.mjOBJ_JOINT, j)]
                                  for j in ("finger_left", "finger_right")])
    self._obj_qpos = np.array([m.jnt_qposadr[name(mujoco.mjtObj.mjOBJ_JOINT, o)]
                               for o in scene.OBJECT_NAMES])
    self._obj_qvel = np.array([m.jnt_dofadr[name(mujoco.mjtObj.mjOBJ_JOINT, o)]
                               for o in scene.OBJECT_NAMES])
    self._grip_site = name(mujoco.mjtObj.mjOBJ_SITE, "grip_centre")
    # Contact slots of each fingertip–object pair (MJX keeps a fixed slot per explicit pair).
    # Slot geoms are filled in by collision detection, so run it once.
    data = jax.jit(mjx.forward)(self.mjx_model, mjx.make_data(self.mjx_model))
    geoms = np.asarray(data._impl.contact.geom)  # [ncon, 2]
    tips = [name(mujoco.mjtObj.mjOBJ_GEOM, t) for t in ("fingertip_left", "fingertip_right")]
    objs = [name(mujoco.mjtObj.mjOBJ_GEOM, o) for o in scene.OBJECT_NAMES]
    mask = np.zeros((2, 3, geoms.shape[0]), np.float32)
    for t, tip in enumerate(tips):
      for o, obj in enumerate(objs):
        mask[t, o] = [{int(a), int(b)} == {tip, obj} for a, b in geoms]
    if not (mask.sum(-1) == 1).all():
      raise RuntimeError("expected exactly one contact slot per fingertip-object pair")
    self._tip_slots = mask

  # -- brax Env interface --------------------------------------------------------------------------

  @property
  def observation_size(self) -> int:
    return OBSERVATION_GROUPS.obs_size

  @property
  def action_size(self) -> int:
    return 5

  @property
  def backend(self) -> str:
    return "mjx"

  @property
  def observation_groups(self) -> ObservationGroups:
    return OBSERVATION_GROUPS

  @property
  def dt(self) -> float:
    return self.control_dt

  # -- state -> observation / reward ---------------------------------------------------------------

  def _grasped(self, data: mjx.Data) -> jax.Array:
    """[3] 1.0 where both fingertips touch that object and the fingers are closing."""
    touching = (data._impl.contact.dist < CONTACT_DIST).astype(jnp.float32)  # [ncon]
    per_tip = jnp.einsum("toc,c->to", jnp.asarray(self._tip_slots), touching) > 0  # [2, 3]
    closing = jnp.min(data.qpos[self._finger_qpos]) > GRASP_CLOSURE_MIN
    return (per_tip[0] & per_tip[1] & closing).astype(jnp.float32)

  def summary(self, data: mjx.Data) -> tasks.SceneSummary:
    object_pos = data.qpos[self._obj_qpos[:, None] + jnp.arange(3)[None]]  # [3, 3]
    return tasks.SceneSummary(grip_pos=data.site_xpos[self._grip_site], object_pos=object_pos,
                              grasped=self._grasped(data))

  def _observation(self, data: mjx.Data, summary: tasks.SceneSummary,
                   task_index: jax.Array) -> jax.Array:
    arm_q, arm_v = data.qpos[self._arm_qpos], data.qvel[self._arm_qvel]
    closure = jnp.mean(data.qpos[self._finger_qpos]) / scene.FINGER_TRAVEL
    finger_v = jnp.mean(data.qvel[self._finger_qvel])
    proprio = jnp.concatenate([
        arm_q[:3], jnp.sin(arm_q[3:4]), jnp.cos(arm_q[3:4]), closure[None], arm_v[:3],
        arm_v[3:4], finger_v[None], jnp.max(summary.grasped)[None]])
    quat = data.qpos[self._obj_qpos[:, None] + 3 + jnp.arange(4)[None]]  # [3, 4]
    lin_vel = data.qvel[self._obj_qvel[:, None] + jnp.arange(3)[None]]  # [3, 3]
    rel = summary.object_pos - summary.grip_pos[None]
    objects = jnp.concatenate([summary.object_pos, quat, rel, lin_vel], axis=1).reshape(-1)
    task_id = jnp.asarray(self._episode_task_ids)[task_index]
    task = jax.nn.one_hot(task_id, len(tasks.TASKS))
    return jnp.concatenate([proprio, objects, task]).astype(jnp.float32)

  def trajectory_points(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Gripper and object positions read back from observations (for trajectory plots).

    obs [..., 58] -> (grip [..., 3] (the grip site), objects [..., 3, 3] (red, green, blue)).
    """
    start, stop = OBSERVATION_GROUPS["objects"]
    objects = obs[..., start:stop].reshape(obs.shape[:-1] + (3, 13))
    object_pos = objects[..., :3]
    grip = object_pos[..., 0, :] - objects[..., 0, 7:10]  # red minus (red - grip)
    return grip, object_pos

  def _reward(self, summary, task_index):
    return tasks.task_reward_by_id(self.episode_tasks, task_index, self.reward_type, summary,
                                   self.constants)

  def reward_variants(self, state: State) -> dict[str, jax.Array]:
    """`{"dense", "staged", "sparse"}` -> scalar reward of `state` for its episode's task.

    Exactly what `step` returns as `reward` for the env's `reward` type when it produced
    `state` (0 for all three when that step blew up and ended the episode), whatever the type
    this env was built with. `state` may be this env's or any wrapper's (e.g.
    `EpisodeWrapper`'s) State: only `pipeline_state` (mjx Data) and `info['task_index']` are
    read. Unbatched; vmap for batches.

    As a `rollout` `record_fn` it is recorded on the state *before* each step, so
    `recorded[:, t]` is the reward of step t - 1 (t >= 1) and the last step's reward is not
    recorded; episode returns need the state after each step
    (`analysis.exploration.RewardVariantsWrapper` puts these into `info` after each step).
    """
    data = state.pipeline_state
    task_index = state.info["task_index"]
    summary = self.summary(data)
    bad = ~jnp.all(jnp.isfinite(self._observation(data, summary, task_index)))
    return {r: jnp.where(bad, 0.0, tasks.task_reward_by_id(
        self.episode_tasks, task_index, r, summary, self.constants)[0]) for r in tasks.REWARDS}

  def coverage_groups(self) -> dict[str, tuple[str, tuple[int, ...]]]:
    """State-coverage groups: name -> (observation group, offsets); see `COVERAGE_GROUPS`."""
    return dict(COVERAGE_GROUPS)

  # -- reset / step --------------------------------------------------------------------------------

  def initial_qpos(self, key: jax.Array) -> jax.Array:
    """Random non-overlapping object placement and a random gripper pose above the table.

    Objects go to three distinct cells of a 3×3 grid over the workspace, with ±2 cm jitter and a
    random yaw, resting on the table; the gripper starts open at a random height.
    """
    k_cells, k_jitter, k_yaw, k_arm = jax.random.split(key, 4)
    cells = jax.random.choice(k_cells, 9, (3,), replace=False)
    spacing = scene.WORKSPACE_HALF * 2 / 3
    centres = jnp.stack([(cells % 3 - 1) * spacing, (cells // 3 - 1) * spacing], axis=1)
    xy = centres + jax.random.uniform(k_jitter, (3, 2), minval=-0.02, maxval=0.02)
    yaw = jax.random.uniform(k_yaw, (3,), minval=-jnp.pi, maxval=jnp.pi)
    quat = jnp.stack([jnp.cos(yaw / 2), jnp.zeros(3), jnp.zeros(3), jnp.sin(yaw / 2)], axis=1)
    z = jnp.asarray(self.constants.bottom)
    qpos = jnp.asarray(self.mj_model.qpos0, jnp.float32)
    obj_q = jnp.concatenate([xy, z[:, None], quat], axis=1)  # [3, 7]
    qpos = qpos.at[self._obj_qpos[:, None] + jnp.arange(7)[None]].set(obj_q)
    arm = jax.random.uniform(k_arm, (4,), minval=jnp.array([-0.12, -0.12, 0.15, -0.5]),
                             maxval=jnp.array([0.12, 0.12, 0.25, 0.5]))
    qpos = qpos.at[self._arm_qpos].set(arm)
    return qpos.at[self._finger_qpos].set(0.0)

  def reset(self, rng: jax.Array) -> State:
    rng, task_key = jax.random.split(rng)
    task_index = jax.random.randint(task_key, (), 0, len(self.episode_tasks))
    return self.state_from_qpos(self.initial_qpos(rng), task_index=task_index)

  def state_from_qpos(self, qpos: jax.Array, finger_target: jax.Array | float = 0.0,
                      task_index: jax.Array | int = 0) -> State:
    """A state at rest in configuration `qpos [nq]` (arm targets at the arm's position).

    `reset` uses it; tests and analyses use it to place objects by hand.
    """
    qpos = jnp.asarray(qpos, jnp.float32)
    task_index = jnp.asarray(task_index, jnp.int32)
    data = mjx.make_data(self.mjx_model).replace(qpos=qpos)
    ctrl = jnp.concatenate([qpos[self._arm_qpos], jnp.full((2,), finger_target, jnp.float32)])
    data = mjx.forward(self.mjx_model, data.replace(ctrl=ctrl))
    summary = self.summary(data)
    reward, success = self._reward(summary, task_index)
    info = {"success": success, "grasped": summary.grasped, "task_index": task_index,
            "task_id": jnp.asarray(self._episode_task_ids)[task_index]}
    if self.image:
      info["image"] = self._camera.render(self.mjx_model, data)
    zero = jnp.zeros(())
    return State(pipeline_state=data, obs=self._observation(data, summary, task_index),
                 reward=zero, done=zero, metrics={"success": success, "stage_reward": reward},
                 info=info)

  def step(self, state: State, action: jax.Array) -> State:
    data = state.pipeline_state
    action = jnp.clip(action, -1.0, 1.0)
    lo, hi = self.mj_model.actuator_ctrlrange[:, 0], self.mj_model.actuator_ctrlrange[:, 1]
    delta = jnp.concatenate([action[:3] * MAX_SPEED, action[3:4] * MAX_YAW_SPEED]) * self.control_dt
    arm_target = data.ctrl[:4] + delta
    # Keep the target near the arm: a blocked arm does not wind up a far-away target.
    arm_target = jnp.clip(arm_target, data.qpos[self._arm_qpos] - 0.05,
                          data.qpos[self._arm_qpos] + 0.05)
    finger_target = (action[4] + 1.0) / 2.0 * scene.FINGER_TRAVEL
    ctrl = jnp.clip(jnp.concatenate([arm_target, jnp.stack([finger_target, finger_target])]),
                    lo, hi)
    data = data.replace(ctrl=ctrl)
    data = jax.lax.fori_loop(0, self.substeps, lambda _, d: mjx.step(self.mjx_model, d), data)
    summary = self.summary(data)
    task_index = state.info["task_index"]
    reward, success = self._reward(summary, task_index)
    info = {**state.info, "success": success, "grasped": summary.grasped}
    if self.image:
      info["image"] = self._camera.render(self.mjx_model, data)
    obs = self._observation(data, summary, task_index)
    # A simulation that blew up ends the episode instead of propagating NaNs.
    bad = ~jnp.all(jnp.isfinite(obs))
    obs = jnp.where(bad, 0.0, obs)
    return state.replace(pipeline_state=data, obs=obs, reward=jnp.where(bad, 0.0, reward),
                         done=bad.astype(jnp.float32),
                         metrics={**state.metrics, "success": success, "stage_reward": reward},
                         info=info)

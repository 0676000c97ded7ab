"""The MJX stacking environment: `make("stacking", task=..., object_set=..., reward=...)`.

Action (5-D, clipped to [-1, 1]): end-effector velocity targets (x, y, z at up to `MAX_SPEED`
m/s, yaw at up to `MAX_YAW_SPEED` rad/s) and the gripper command (-1 open … +1 closed, an
absolute finger position target). Each env step holds the action for `substeps` physics steps
(default 5 × 10 ms = 20 Hz control). The arm, its action and the proprio group are shared with
block stacking (`arm.py`).

Observation groups (for information asymmetry):
  proprio [12]: gripper position (3), sin/cos yaw (2), finger closure (1), gripper linear
                velocity (3), yaw rate (1), finger velocity (1), grasp sensor (1)
  objects [39]: for red, green, blue: position (3), orientation quaternion (4), position
                relative to the grip point (3), linear velocity (3)
  task    [7]:  one-hot of the episode's task in `tasks.TASKS` (constant for single-task envs;
                drawn per episode for `task="all_pairs"`)
  image (optional, not in the flat observation): see `vision.py`.
The grasp sensor is 1 when both fingertips touch the same object.

Analyses: `reward_variants(state)` gives every reward type of a state at once (dense, staged,
sparse and the RGB-Stacking ones, `tasks.RGB_REWARDS`; one rollout instead of one env per
reward type); `coverage_groups()` names the observation entries of the state-coverage measure
(arm joints, grasp, object positions).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from mujoco import mjx

from helms_jax.envs import base as envs_base
from helms_jax.envs.base import ObservationGroups, State
from helms_jax.envs.manipulation import scene, tasks, vision
# The arm's constants are re-exported here (the stacking expert and benchmarks read them).
from helms_jax.envs.manipulation.arm import (  # pylint: disable=unused-import
    CONTACT_DIST, GRASP_CLOSURE_MIN, MAX_SPEED, MAX_YAW_SPEED, PROPRIO_SIZE, ArmEnv,
    contact_slots, joint_addresses)

OBSERVATION_GROUPS = ObservationGroups.from_sizes(
    ("proprio", PROPRIO_SIZE), ("objects", 39), ("task", len(tasks.TASKS)))

# State coverage (`analysis/exploration.py`): name -> (observation group, offsets in the group).
#   joint:  the arm's joint positions as observed: the gantry slide joints x, y, z (proprio 0-2,
#           metres) and the yaw hinge as sin/cos (proprio 3-4); not the velocities (6-10).
#   grasp:  the grasp sensor (proprio 11), as the paper's "grasp (a simulated grasp sensor)";
#           finger closure (proprio 5) is left out: opening and closing the empty gripper is
#           not a grasp state.
#   object: the red, green and blue centres (objects 0-2, 13-15, 26-28); not orientations,
#           gripper-relative positions (which move with the arm) or velocities.
COVERAGE_GROUPS = {
    "joint": ("proprio", (0, 1, 2, 3, 4)),
    "grasp": ("proprio", (11,)),
    "object": ("objects", tuple(13 * o + i for o in range(3) for i in range(3))),
}


class Stacking(ArmEnv):
  """MJX arm (`arm.ArmEnv`) + three objects; stacking and pyramid tasks with dense/staged/sparse
  rewards.

  Args:
    task: one of `tasks.TASKS` (`red_on_blue`, ..., `pyramid`), or `all_pairs` (one of the six
      stacking pairs drawn per episode; `info['task_id']` indexes `tasks.TASKS`).
    object_set: 1..5 (see `scene.py`).
    objects: the object family, "simple" (ours) or "rgb" (the RGB-Stacking test triplets).
    reward: `dense`, `staged` or `sparse`.
    image: also render a camera image into `state.info['image']` (see `vision.py`).
    image_size: side of the square image.
    substeps: physics steps per env step.
    timestep: physics step (s).
    solver_iterations, ls_iterations: Newton solver settings (CPU speed vs stiffness).
  """

  def __init__(self, task: str = "red_on_blue", object_set: int = 4, reward: str = "staged",
               image: bool = False, image_size: int = 32, substeps: int = 5,
               timestep: float = 0.01, solver_iterations: int = 1, ls_iterations: int = 4,
               objects: str = "simple"):
    tasks.check_task(task)
    tasks.check_reward(reward, task)
    if object_set not in scene.OBJECT_SETS:
      raise ValueError(f"unknown object_set {object_set!r}; valid object sets: "
                       f"{', '.join(map(str, scene.OBJECT_SETS))}")
    if substeps < 1:
      raise ValueError(f"substeps must be >= 1, got {substeps}")
    if objects not in scene.OBJECT_FAMILIES:
      raise ValueError(f"unknown objects {objects!r}; valid object families: "
                       f"{', '.join(scene.OBJECT_FAMILIES)}")
    self.task, self.object_set, self.reward_type = task, int(object_set), reward
    self.objects = objects
    self.substeps = int(substeps)
    self.episode_tasks = tasks.episode_tasks(task)
    self._episode_task_ids = np.array([tasks.TASKS.index(t) for t in self.episode_tasks])
    self.mj_model = mujoco.MjModel.from_xml_string(scene.build_mjcf(
        self.object_set, family=objects, timestep=timestep, solver_iterations=solver_iterations,
        ls_iterations=ls_iterations))
    self.mjx_model = envs_base.mjx_put_model(self.mj_model)
    self.control_dt = timestep * self.substeps
    shapes = scene.object_set(self.object_set, objects)
    self.shapes = shapes
    self.constants = tasks.ShapeConstants(
        bottom=np.array([s.bottom for s in shapes], np.float32),
        top=np.array([s.top for s in shapes], np.float32),
        half_width=np.array([s.half_extents[0] for s in shapes], np.float32))
    self._index()
    self.image = bool(image)
    self.image_size = int(image_size)
    if self.image:
      self._camera = vision.Camera.for_model(self.mj_model, self.image_size)

  # -- static indices ------------------------------------------------------------------------------

  def _index(self):
    self._index_arm(scene.OBJECT_NAMES)
    self._obj_qpos, self._obj_qvel = joint_addresses(self.mj_model, scene.OBJECT_NAMES)
    names = scene.OBJECT_NAMES
    # Contact slots for the benchmark's sparse reward: object-object [3, 3, ncon] (symmetric,
    # empty diagonal) and object-table [3, ncon].
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    table_pairs = [(n, "table") for n in names]
    slots = contact_slots(self.mj_model, self.mjx_model, pairs + table_pairs)  # one search
    object_slots = np.zeros((3, 3, slots.shape[1]), np.float32)
    for (a, b), row in zip(pairs, slots):
      object_slots[names.index(a), names.index(b)] = object_slots[names.index(b), names.index(a)] = row
    self._object_slots = object_slots
    self._table_slots = slots[len(pairs):]

  # -- brax Env interface --------------------------------------------------------------------------

  @property
  def observation_size(self) -> int:
    return OBSERVATION_GROUPS.obs_size

  @property
  def observation_groups(self) -> ObservationGroups:
    return OBSERVATION_GROUPS

  # -- state -> observation / reward ---------------------------------------------------------------

  def summary(self, data: mjx.Data) -> tasks.SceneSummary:
    object_pos = data.qpos[self._obj_qpos[:, None] + jnp.arange(3)[None]]  # [3, 3]
    touching = (data._impl.contact.dist < CONTACT_DIST).astype(jnp.float32)  # [ncon]
    return tasks.SceneSummary(
        grip_pos=data.site_xpos[self._grip_site], object_pos=object_pos,
        grasped=self._grasped(data),
        finger_closure=jnp.mean(data.qpos[self._finger_qpos]) / scene.FINGER_TRAVEL,
        object_contacts=(jnp.einsum("ijc,c->ij", jnp.asarray(self._object_slots), touching)
                         > 0).astype(jnp.float32),
        table_contacts=(jnp.einsum("ic,c->i", jnp.asarray(self._table_slots), touching)
                        > 0).astype(jnp.float32),
        tip_contacts=jnp.any(self._tip_touches(data), axis=0).astype(jnp.float32))

  def _observation(self, data: mjx.Data, summary: tasks.SceneSummary,
                   task_index: jax.Array) -> jax.Array:
    proprio = self._proprio(data, summary.grasped)
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
    """`{reward name: scalar reward of `state` for its episode's task}` for every reward defined
    for the env's tasks (`tasks.rewards_for`: dense, staged, sparse and the RGB ones).

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
        self.episode_tasks, task_index, r, summary, self.constants)[0])
        for r in tasks.rewards_for(self.episode_tasks)}

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
    data = envs_base.mjx_make_data(self.mjx_model).replace(qpos=qpos)
    data = mjx.forward(self.mjx_model, data.replace(ctrl=self._rest_ctrl(qpos, finger_target)))
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
    data = self._actuate(state.pipeline_state, action)
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

"""The gantry arm and parallel gripper shared by the manipulation envs (`stacking.py`, `blocks.py`).

`ArmEnv` is the part of a brax `Env` that does not depend on the objects on the table:

  action (5-D, clipped to [-1, 1]): end-effector velocity targets (x, y, z at up to `MAX_SPEED`
    m/s, yaw at up to `MAX_YAW_SPEED` rad/s) and the gripper command (-1 open … +1 closed, an
    absolute finger position target), held for `substeps` physics steps (`_actuate`);
  proprio [12] (`_proprio`): gripper position (3), sin/cos yaw (2), finger closure (1), gripper
    linear velocity (3), yaw rate (1), finger velocity (1), grasp sensor (1);
  grasp sensor (`_grasped`): per object, 1 when both fingertips touch it (a contact slot within
    `CONTACT_DIST`) and the fingers have closed past `GRASP_CLOSURE_MIN`.

A subclass sets `mj_model`, `mjx_model`, `substeps` and `control_dt`, then calls
`_index_arm(object_geoms)` with the geom names of its objects in observation order.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from mujoco import mjx

from helms_jax.envs import base as envs_base
from helms_jax.envs.base import Env
from helms_jax.envs.manipulation import scene

MAX_SPEED = 0.25
MAX_YAW_SPEED = 1.5
CONTACT_DIST = 0.002  # a contact slot with distance below this is touching
GRASP_CLOSURE_MIN = 0.004  # fingers must have moved in (not a brush against an open finger)
TARGET_LEAD = 0.05  # the arm's position target stays within this of the arm (m, rad)
PROPRIO_SIZE = 12
ARM_JOINTS = ("arm_x", "arm_y", "arm_z", "arm_yaw")
FINGER_JOINTS = ("finger_left", "finger_right")
FINGERTIPS = ("fingertip_left", "fingertip_right")


def joint_addresses(mj_model: mujoco.MjModel, names: Sequence[str]
                    ) -> tuple[np.ndarray, np.ndarray]:
  """([n] qpos addresses, [n] dof addresses) of the named joints."""
  ids = [mujoco.mj_name2id(mj_model, mujoco.mjtObj.mjOBJ_JOINT, n) for n in names]
  return np.array([mj_model.jnt_qposadr[i] for i in ids]), np.array([mj_model.jnt_dofadr[i] for i in ids])


def contact_slots(mj_model: mujoco.MjModel, mjx_model: mjx.Model,
                  pairs: Sequence[tuple[str, str]]) -> np.ndarray:
  """[P, ncon] 0/1: the contact slots of each geom pair (by name) among the explicit pairs.

  MJX keeps fixed contact slots per explicit pair (one for a sphere, up to several for boxes and
  meshes); the slots' geoms are filled in by collision detection, so it runs once (collision
  alone: the geoms do not depend on positions, and its compile is several times cheaper than
  `mjx.forward`'s).
  """
  data = jax.jit(mjx.collision)(mjx_model, envs_base.mjx_make_data(mjx_model))
  geoms = np.asarray(data._impl.contact.geom)  # [ncon, 2]
  name = lambda n: mujoco.mj_name2id(mj_model, mujoco.mjtObj.mjOBJ_GEOM, n)
  mask = np.array([[{int(a), int(b)} == {name(g1), name(g2)} for a, b in geoms]
                   for g1, g2 in pairs], np.float32).reshape(len(pairs), geoms.shape[0])
  missing = [pair for pair, row in zip(pairs, mask) if not row.any()]
  if missing:
    raise RuntimeError(f"no contact slot for the geom pairs {missing} (not explicit pairs?)")
  return mask


def fingertip_contact_slots(mj_model: mujoco.MjModel, mjx_model: mjx.Model,
                            object_geoms: Sequence[str]) -> np.ndarray:
  """[2, n, ncon] one-hot: the contact slot of each (fingertip, object geom) pair."""
  pairs = [(tip, obj) for tip in FINGERTIPS for obj in object_geoms]
  mask = contact_slots(mj_model, mjx_model, pairs).reshape(2, len(object_geoms), -1)
  if not (mask.sum(-1) == 1).all():
    raise RuntimeError("expected exactly one contact slot per fingertip-object pair")
  return mask


class ArmEnv(Env):
  """The arm-and-gripper half of a manipulation env (see the module docstring).

  Attributes set by `_index_arm`: `_arm_qpos, _arm_qvel [4]`, `_finger_qpos, _finger_qvel [2]`
  (addresses), `_grip_site` (site id of the point between the fingertips), `_tip_slots
  [2, n, ncon]`, `num_contact_slots`.
  """

  mj_model: mujoco.MjModel
  mjx_model: mjx.Model
  substeps: int
  control_dt: float

  def _index_arm(self, object_geoms: Sequence[str]) -> None:
    m = self.mj_model
    self._arm_qpos, self._arm_qvel = joint_addresses(m, ARM_JOINTS)
    self._finger_qpos, self._finger_qvel = joint_addresses(m, FINGER_JOINTS)
    self._grip_site = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, "grip_centre")
    self._tip_slots = fingertip_contact_slots(m, self.mjx_model, object_geoms)
    self.num_contact_slots = self._tip_slots.shape[-1]

  @property
  def action_size(self) -> int:
    return 5

  @property
  def backend(self) -> str:
    return "mjx"

  @property
  def dt(self) -> float:
    return self.control_dt

  def _tip_touches(self, data: mjx.Data) -> jax.Array:
    """[2, n] bool: which object each fingertip touches (a contact slot within CONTACT_DIST)."""
    touching = (data._impl.contact.dist < CONTACT_DIST).astype(jnp.float32)  # [ncon]
    return jnp.einsum("toc,c->to", jnp.asarray(self._tip_slots), touching) > 0

  def _grasped(self, data: mjx.Data) -> jax.Array:
    """[n] 1.0 where both fingertips touch that object and the fingers are closing."""
    per_tip = self._tip_touches(data)  # [2, n]
    closing = jnp.min(data.qpos[self._finger_qpos]) > GRASP_CLOSURE_MIN
    return (per_tip[0] & per_tip[1] & closing).astype(jnp.float32)

  def _proprio(self, data: mjx.Data, grasped: jax.Array) -> jax.Array:
    """[12] the proprio group (module docstring); `grasped [n]` from `_grasped`."""
    arm_q, arm_v = data.qpos[self._arm_qpos], data.qvel[self._arm_qvel]
    closure = jnp.mean(data.qpos[self._finger_qpos]) / scene.FINGER_TRAVEL
    finger_v = jnp.mean(data.qvel[self._finger_qvel])
    return jnp.concatenate([
        arm_q[:3], jnp.sin(arm_q[3:4]), jnp.cos(arm_q[3:4]), closure[None], arm_v[:3],
        arm_v[3:4], finger_v[None], jnp.max(grasped)[None]])

  def _actuate(self, data: mjx.Data, action: jax.Array) -> mjx.Data:
    """`action [5]` -> actuator targets, then `substeps` physics steps."""
    action = jnp.clip(action, -1.0, 1.0)
    lo, hi = self.mj_model.actuator_ctrlrange[:, 0], self.mj_model.actuator_ctrlrange[:, 1]
    delta = jnp.concatenate([action[:3] * MAX_SPEED, action[3:4] * MAX_YAW_SPEED]) * self.control_dt
    arm_target = data.ctrl[:4] + delta
    # Keep the target near the arm: a blocked arm does not wind up a far-away target.
    arm_q = data.qpos[self._arm_qpos]
    arm_target = jnp.clip(arm_target, arm_q - TARGET_LEAD, arm_q + TARGET_LEAD)
    finger_target = (action[4] + 1.0) / 2.0 * scene.FINGER_TRAVEL
    ctrl = jnp.clip(jnp.concatenate([arm_target, jnp.stack([finger_target, finger_target])]),
                    lo, hi)
    data = data.replace(ctrl=ctrl)
    return jax.lax.fori_loop(0, self.substeps, lambda _, d: mjx.step(self.mjx_model, d), data)

  def _rest_ctrl(self, qpos: jax.Array, finger_target: jax.Array | float) -> jax.Array:
    """[6] actuator targets holding the arm where `qpos [nq]` puts it, fingers at
    `finger_target`."""
    return jnp.concatenate([qpos[self._arm_qpos], jnp.full((2,), finger_target, jnp.float32)])

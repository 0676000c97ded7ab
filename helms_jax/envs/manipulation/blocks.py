"""Block stacking for SPiRL: `make("block_stacking", num_blocks=N, observed_blocks=M, ...)`.

The stacking env's arm (same EE-velocity action at 20 Hz, grasp sensor, physics settings; the
shared `arm.ArmEnv`) with N identical 5 cm cubes (object set 4's cube), and one task: build the
tallest tower you can.

Scene: blocks `block0..block{N-1}` (colours cycle red, green, blue, yellow, magenta, cyan) go
to N distinct cells of a 4×4 grid (`PLACEMENT_SPACING` 12 cm, so the grid spans ±18 cm) with
±1.2 cm jitter and a random yaw, so two blocks are ≥ 9.6 cm apart: the open fingers (tips
6 cm off the grip axis) fit between neighbours whatever their yaw. Up to `MAX_BLOCKS` blocks.
The gantry reaches 45 cm (the stacking arm: 35 cm) so towers of up to 7 blocks can be built,
and the fingertip contacts are stiffer (`scene.BLOCKS_FINGER_SOLIMP`): with the stacking scene's,
a held cube creeps down 0.5 mm and tilts up to ~0.5° per step, too much for 40-step carries onto
a tower. Other physics settings are the stacking env's.
Contact pairs: blocks–table, blocks–fingertips, blocks–blocks (N(N-1)/2); contact slots 30 at
N=3, 70 at N=5.
Known limitation: towers of 5 creep apart and topple after some 200-300 steps under MJX's
1-iteration solver (3-block towers stand; see `scene.py`), which caps what an episode can keep.

Observation groups:
  proprio [12]:     as in stacking (`arm.py`): gripper position (3), sin/cos yaw (2), finger
                    closure (1), gripper linear velocity (3), yaw rate (1), finger velocity (1),
                    grasp sensor (1)
  objects [13 M]:   for the M = `observed_blocks` blocks of highest priority (`observed_order`):
                    position (3), orientation quaternion (4), position relative to the grip
                    point (3), linear velocity (3) — the stacking layout per object.
The blocks are identical, so the observation names none of them; it lists them by priority
class, nearest the grip point (3-D distance) first within a class:
  0 the held block (grasp sensor),
  1 the top of the tallest tower, when it is at least 2 high (several on a tie),
  2 the other blocks with nothing resting on them (blocks to pick, wherever they are),
  3 blocks under others (a tower's lower blocks: nothing to do with them).
`observed_blocks` only truncates this list. With the same M the observation has the same size
and, slot by slot, the same meaning for any N (the SPiRL setting: a prior trained on N=3 data
with M=3 runs on N=5 with M=3): the block in hand, where to put it (the tower's top), the
nearest blocks to pick; a covered block shows only when no block is left to pick (N=3 shows a
tower's base where N=5 shows another block to pick). What M < N hides is what the task can do
without: farther blocks to pick and covered tower blocks. (Nearest-first alone would hide a
distant tower while a block is picked, which the N=3 data, where M = N, never shows.)

Tower height (`tower_heights`, in blocks): a block not held by the gripper is at level 1 when it
rests on the table (centre within `tasks.STACK_Z_TOL` of its resting height) and at level
k + 1 when it rests on a level-k block: centre within `tasks.STACK_XY_TOL` (2.5 cm)
horizontally and 5 cm ± `STACK_Z_TOL` above it — the tolerances of the stacking `on` test. A
held block, and everything above it, is at level 0. The tower height H is the highest level.

Rewards (`reward=`), per step, in units of blocks so that values compare across N:
  sparse: (H - 1)⁺, the number of blocks stacked on the tallest tower's base.
  dense:  (H - 1)⁺ + 0.5 L + 0.25 L A + 0.1 (G + (1 - G) R), where
          G = 1 when a block is grasped (the grasp sensor),
          L = 1 when a grasped block's centre is ≥ `tasks.LIFT_HEIGHT` (3 cm) above its resting
              height on the table,
          A = max over grasped blocks b and tops t of the tallest towers (level-H blocks) of
              1 - tanh(10 |p_b - (p_t + 5 cm ẑ)|): closeness to the spot on top of the tower,
          R = max over free blocks f (level 1 with nothing resting on them) of
              1 - tanh(10 |grip - p_f|): reaching for a block to stack.
        Every step of a pick-and-place earns more than the one before it: reach (≤ 0.1),
        grasp (0.1), lift (0.6), over the tower (≤ 0.85), released on it (the tower grows:
        +1, the lift terms go). Taking a block off the tower loses 1 and gains at most 0.85.
  spirl:  the paper's downstream reward (clvrai/spirl `HighStackBlockStackEnv`), per step
          sum over blocks of 2 once a block has been "delivered" (grasped at some time, then
          above another block: centres within half a block per horizontal axis, 5 mm short of
          a block's height above or higher) or else 1 once it has been lifted (grasped at some
          time, centre (sqrt 3 - 1) half sizes above its table height), both latched for the
          rest of the episode (spirl's `Block.above` / `Block.lifted`; its grasp test needs 5
          steps in a row, ours is the grasp sensor), plus 4 per level of the tallest tower built from blocks that were
          grasped (spirl: 50 per metre of the highest supported block's lift with 8 cm blocks,
          i.e. 4 per block; the paper's "binary rewards for lifting a block ... and moving it
          on top of another block" and "reward proportional to the height of the highest
          stacked tower"). The latches live in `info['latches']` [3, N] (grasped, lifted,
          delivered; zero with the other rewards, which do not read them).
`info['tower_height']` is H, `info['success']` is H ≥ `success_height`; both are transition
info (kept by `AutoResetWrapper` on the finishing step) and also in `metrics`, with
`metrics['blocks_stacked']` = (H - 1)⁺ (the paper's "blocks stacked").
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from mujoco import mjx

from helms_jax.envs import base as envs_base
from helms_jax.envs.base import ObservationGroups, State
from helms_jax.envs.manipulation import scene, tasks
from helms_jax.envs.manipulation.arm import PROPRIO_SIZE, ArmEnv, joint_addresses

MAX_BLOCKS = 8  # contact slots grow as N²: 160 at N = 8 (30 for the 3-object stacking scene)
PLACEMENT_GRID = 4  # blocks start in distinct cells of a 4×4 grid ...
PLACEMENT_SPACING = 0.12  # ... 12 cm apart ...
PLACEMENT_JITTER = 0.012  # ... with ±1.2 cm jitter per axis
BLOCK_HALF = 0.025  # the cube's half size: resting centre height and half the stacking step
OBJECT_STRIDE = 13  # per block in the `objects` group: pos 3, quat 4, rel 3, lin vel 3
REWARDS = ("dense", "sparse", "spirl")
LIFT_BONUS, OVER_TOWER_BONUS, REACH_BONUS = 0.5, 0.25, 0.1
# spirl HighStackBlockStackEnv: LIFTED_REWARD, LIFTED_ABOVE_REWARD, and REWARD_SCALE (50 per
# metre) times its block height (8 cm) per tower level.
SPIRL_LIFTED, SPIRL_DELIVERED, SPIRL_PER_LEVEL = 1.0, 2.0, 50.0 * 0.08
SPIRL_LIFT_FRACTION = 3 ** 0.5 - 1.0  # Block.lifted: centre > start + (sqrt 3 - 1) half sizes
SPIRL_ABOVE_SLACK = 0.005  # Block.above: centres within a half size per axis, dz > size - 5 mm


def block_observation_groups(observed_blocks: int) -> ObservationGroups:
  """`proprio [12]`, `objects [13 observed_blocks]`."""
  return ObservationGroups.from_sizes(("proprio", PROPRIO_SIZE),
                                     ("objects", OBJECT_STRIDE * observed_blocks))


class BlockSummary(NamedTuple):
  """What the tower height and rewards read from the simulator state.

  grip_pos: [3] the point between the fingertips.
  block_pos: [N, 3] block centres (block index order).
  grasped: [N] 1 where both fingertips touch that block and the fingers are closing.
  """
  grip_pos: jax.Array
  block_pos: jax.Array
  grasped: jax.Array


def _closeness(distance: jax.Array) -> jax.Array:
  return 1.0 - jnp.tanh(10.0 * distance)


def resting_on(block_pos: jax.Array) -> jax.Array:
  """[N, N] bool: `[i, j]` when block i's centre sits on block j's (stacking tolerances)."""
  delta = block_pos[:, None] - block_pos[None]  # [i, j, 3] = p_i - p_j
  xy_ok = jnp.linalg.norm(delta[..., :2], axis=-1) < tasks.STACK_XY_TOL
  z_ok = jnp.abs(delta[..., 2] - 2 * BLOCK_HALF) < tasks.STACK_Z_TOL
  return xy_ok & z_ok


def tower_heights(block_pos: jax.Array, grasped: jax.Array) -> jax.Array:
  """[N] level of each block (see the module docstring); the tower height is the max.

  block_pos: [N, 3]; grasped: [N] (> 0.5 = held). A level-k block lies at the top of a k-block
  column; held blocks are level 0 and so break the column above them.
  """
  free = grasped < 0.5
  on_table = jnp.abs(block_pos[:, 2] - BLOCK_HALF) < tasks.STACK_Z_TOL
  rests = resting_on(block_pos)
  base = jnp.where(free & on_table, 1, 0).astype(jnp.int32)

  def propagate(_, level):
    # level'(i) = level(j) + 1 for the block j below i (0 when j is unsupported or held).
    above = jnp.max(jnp.where(rests & (level[None] > 0), level[None] + 1, 0), axis=1)
    return jnp.where(free, jnp.maximum(base, above), 0)

  # A column has at most N blocks, so N rounds reach a fixed point.
  return jax.lax.fori_loop(0, block_pos.shape[0], propagate, base)


def supporting(block_pos: jax.Array, level: jax.Array) -> jax.Array:
  """[N] bool: a block of a tower (level > 0) rests on that block."""
  return jnp.any(resting_on(block_pos) & (level[:, None] > 0), axis=0)


def observation_priority(s: BlockSummary) -> jax.Array:
  """[N] int32 priority class of each block, 0 first (see the module docstring): held 0, top
  of the tallest tower (height >= 2) 1, nothing resting on it 2, under another block 3."""
  level = tower_heights(s.block_pos, s.grasped)
  height = jnp.max(level)
  top = (level == height) & (height >= 2)
  return jnp.select([s.grasped > 0.5, top, ~supporting(s.block_pos, level)], [0, 1, 2],
                    3).astype(jnp.int32)


def observed_order(s: BlockSummary, observed_blocks: int) -> jax.Array:
  """[M] indices of the observed blocks: by `observation_priority`, nearest the grip point
  first within a class."""
  dist = jnp.linalg.norm(s.block_pos - s.grip_pos[None], axis=-1)
  return jnp.lexsort((dist, observation_priority(s)))[:observed_blocks]


def objects_observation(s: BlockSummary, block_quat: jax.Array, block_vel: jax.Array,
                        observed_blocks: int) -> jax.Array:
  """The `objects` group [13 M]: per observed block (`observed_order`), position (3),
  orientation quaternion (4), position relative to the grip point (3), linear velocity (3).

  block_quat: [N, 4]; block_vel: [N, 3] (block index order, as `s.block_pos`).
  """
  order = observed_order(s, observed_blocks)
  pos = s.block_pos[order]
  rel = pos - s.grip_pos[None]
  return jnp.concatenate([pos, block_quat[order], rel, block_vel[order]], axis=1).reshape(-1)


def spirl_latches(s: BlockSummary, latches: jax.Array) -> jax.Array:
  """The next [3, N] latches (grasped, lifted, delivered; float 0/1) after the scene `s`."""
  grasped = jnp.maximum(latches[0], (s.grasped > 0.5).astype(jnp.float32))
  # spirl Block.lifted / Block.above, in units of the block's half size.
  lifted_now = s.block_pos[:, 2] - BLOCK_HALF > SPIRL_LIFT_FRACTION * BLOCK_HALF
  delta = s.block_pos[:, None] - s.block_pos[None]  # [i, j, 3] = p_i - p_j
  above = (jnp.all(jnp.abs(delta[..., :2]) < BLOCK_HALF, axis=-1)
           & (delta[..., 2] > 2 * BLOCK_HALF - SPIRL_ABOVE_SLACK)
           & ~jnp.eye(s.block_pos.shape[0], dtype=bool))
  over_another = jnp.any(above, axis=1)
  was_grasped = grasped > 0.5
  lifted = jnp.maximum(latches[1], (was_grasped & lifted_now).astype(jnp.float32))
  delivered = jnp.maximum(latches[2], (was_grasped & over_another).astype(jnp.float32))
  return jnp.stack([grasped, lifted, delivered])


def spirl_reward(s: BlockSummary, latches: jax.Array, level: jax.Array | None = None
                 ) -> jax.Array:
  """The paper's per-step reward (module docstring) from the scene and its updated latches;
  `level` [N]: `tower_heights` of the scene when the caller has it."""
  grasped, lifted, delivered = latches[0], latches[1], latches[2]
  per_block = jnp.where(delivered > 0.5, SPIRL_DELIVERED, jnp.where(lifted > 0.5, SPIRL_LIFTED, 0.0))
  if level is None:
    level = tower_heights(s.block_pos, s.grasped)
  # spirl counts only blocks that were grasped towards the highest supported block.
  top = jnp.max(jnp.where(grasped > 0.5, level, 0))
  return jnp.sum(per_block) + SPIRL_PER_LEVEL * jnp.maximum(top - 1, 0).astype(jnp.float32)


def tower_reward(s: BlockSummary, reward: str, success_height: int,
                 latches: jax.Array | None = None) -> tuple[jax.Array, jax.Array, jax.Array]:
  """(reward, tower height H, success) of a scene; scalars (float32). See the module docstring.
  The "spirl" reward reads the scene's updated `latches` [3, N] (`spirl_latches`)."""
  level = tower_heights(s.block_pos, s.grasped)
  height = jnp.max(level)
  stacked = jnp.maximum(height - 1, 0).astype(jnp.float32)
  success = (height >= success_height).astype(jnp.float32)
  height = height.astype(jnp.float32)
  if reward == "spirl":
    if latches is None:
      raise ValueError("the 'spirl' reward needs the scene's latches (spirl_latches)")
    return spirl_reward(s, latches, level), height, success
  if reward == "sparse":
    return stacked, height, success
  held = s.grasped > 0.5
  grasp = jnp.any(held).astype(jnp.float32)
  lifted_each = held & (s.block_pos[:, 2] - BLOCK_HALF >= tasks.LIFT_HEIGHT)
  lifted = jnp.any(lifted_each).astype(jnp.float32)
  # Closeness of each lifted block to the spot on top of each tallest tower.
  spots = s.block_pos + jnp.array([0.0, 0.0, 2 * BLOCK_HALF])
  dist = jnp.linalg.norm(s.block_pos[:, None] - spots[None], axis=-1)  # [held b, top t]
  tops = (level == jnp.max(level)) & (level > 0)
  over = jnp.max(jnp.where(lifted_each[:, None] & tops[None], _closeness(dist), 0.0))
  # Reaching for a free block: on the table, nothing on it.
  free = (level == 1) & ~supporting(s.block_pos, level)
  reach = jnp.max(jnp.where(free, _closeness(jnp.linalg.norm(s.block_pos - s.grip_pos, axis=-1)),
                            0.0))
  dense = (stacked + LIFT_BONUS * lifted + OVER_TOWER_BONUS * lifted * over
           + REACH_BONUS * (grasp + (1.0 - grasp) * reach))
  return dense, height, success


class BlockStacking(ArmEnv):
  """MJX arm (`arm.ArmEnv`) + N identical cubes; reward for stacking them into one tall tower.

  Args:
    num_blocks: N, 2..`MAX_BLOCKS`.
    observed_blocks: M, how many blocks the observation shows (by priority, see the module
      docstring); default N. 1..N.
    success_height: `info['success']` = 1 when the tallest tower has at least this many blocks
      (2..N).
    reward: `dense`, `sparse` or `spirl` (see the module docstring).
    substeps, timestep, solver_iterations, ls_iterations: physics as in `Stacking`.
  """

  transition_info_keys = ("success", "tower_height")

  def __init__(self, num_blocks: int = 3, observed_blocks: int | None = None,
               success_height: int = 2, reward: str = "dense", substeps: int = 5,
               timestep: float = 0.01, solver_iterations: int = 1, ls_iterations: int = 4):
    if not isinstance(num_blocks, (int, np.integer)) or not 2 <= num_blocks <= MAX_BLOCKS:
      raise ValueError(f"num_blocks must be an int in [2, {MAX_BLOCKS}], got {num_blocks!r}")
    observed_blocks = num_blocks if observed_blocks is None else observed_blocks
    if (not isinstance(observed_blocks, (int, np.integer))
        or not 1 <= observed_blocks <= num_blocks):
      raise ValueError(f"observed_blocks must be an int in [1, num_blocks={num_blocks}], got "
                       f"{observed_blocks!r}")
    if not isinstance(success_height, (int, np.integer)) or not 2 <= success_height <= num_blocks:
      raise ValueError(f"success_height must be an int in [2, num_blocks={num_blocks}], got "
                       f"{success_height!r}")
    if reward not in REWARDS:
      raise ValueError(f"unknown reward {reward!r}; valid rewards: {', '.join(REWARDS)}")
    if substeps < 1:
      raise ValueError(f"substeps must be >= 1, got {substeps}")
    self.num_blocks, self.observed_blocks = int(num_blocks), int(observed_blocks)
    self.success_height, self.reward_type = int(success_height), reward
    self.substeps = int(substeps)
    self.mj_model = mujoco.MjModel.from_xml_string(scene.build_blocks_mjcf(
        self.num_blocks, timestep=timestep, solver_iterations=solver_iterations,
        ls_iterations=ls_iterations))
    self.mjx_model = envs_base.mjx_put_model(self.mj_model)
    self.control_dt = timestep * self.substeps
    self.shape = scene.block_shape()
    self._groups = block_observation_groups(self.observed_blocks)
    self._index()

  def _index(self):
    blocks = scene.block_names(self.num_blocks)
    self._index_arm(blocks)
    self._block_qpos, self._block_qvel = joint_addresses(self.mj_model, blocks)

  # -- brax Env interface --------------------------------------------------------------------------

  @property
  def observation_size(self) -> int:
    return self._groups.obs_size

  @property
  def observation_groups(self) -> ObservationGroups:
    return self._groups

  # -- state -> observation / reward ---------------------------------------------------------------

  def summary(self, data: mjx.Data) -> BlockSummary:
    block_pos = data.qpos[self._block_qpos[:, None] + jnp.arange(3)[None]]  # [N, 3]
    return BlockSummary(grip_pos=data.site_xpos[self._grip_site], block_pos=block_pos,
                        grasped=self._grasped(data))

  def _observation(self, data: mjx.Data, summary: BlockSummary) -> jax.Array:
    quat = data.qpos[self._block_qpos[:, None] + 3 + jnp.arange(4)[None]]  # [N, 4]
    lin_vel = data.qvel[self._block_qvel[:, None] + jnp.arange(3)[None]]  # [N, 3]
    objects = objects_observation(summary, quat, lin_vel, self.observed_blocks)
    return jnp.concatenate([self._proprio(data, summary.grasped), objects]).astype(jnp.float32)

  def trajectory_points(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Grip point and observed block positions read back from observations (for plots).

    obs [..., 12 + 13 M] -> (grip [..., 3], blocks [..., M, 3] in observation order).
    """
    objects = self._groups.select(obs, "objects").reshape(
        obs.shape[:-1] + (self.observed_blocks, OBJECT_STRIDE))
    return objects[..., 0, :3] - objects[..., 0, 7:10], objects[..., :3]

  def coverage_groups(self) -> dict[str, tuple[str, tuple[int, ...]]]:
    """State-coverage groups as `Stacking.coverage_groups`: arm joints, grasp, observed blocks."""
    return {"joint": ("proprio", (0, 1, 2, 3, 4)), "grasp": ("proprio", (5, 11)),
            "object": ("objects", tuple(OBJECT_STRIDE * o + i for o in range(self.observed_blocks)
                                        for i in range(3)))}

  # -- reset / step --------------------------------------------------------------------------------

  def qpos_from(self, arm, block_pos, block_yaw=None, fingers: float = 0.0) -> jax.Array:
    """qpos [nq] with the arm at (x, y, z, yaw) [4] (gripper body; the grip point is
    `FINGER_LENGTH` below it), both fingers at `fingers` (0 open .. `FINGER_TRAVEL` closed), and
    blocks upright at centres `block_pos [N, 3]` with yaws `block_yaw [N]` (default 0)."""
    block_pos = jnp.asarray(block_pos, jnp.float32)
    if block_pos.shape != (self.num_blocks, 3):
      raise ValueError(f"block_pos must be [{self.num_blocks}, 3], got {block_pos.shape}")
    yaw = jnp.zeros(self.num_blocks) if block_yaw is None else jnp.asarray(block_yaw, jnp.float32)
    zeros = jnp.zeros_like(yaw)
    quat = jnp.stack([jnp.cos(yaw / 2), zeros, zeros, jnp.sin(yaw / 2)], axis=1)
    qpos = jnp.asarray(self.mj_model.qpos0, jnp.float32)
    block_q = jnp.concatenate([block_pos, quat], axis=1)  # [N, 7]
    qpos = qpos.at[self._block_qpos[:, None] + jnp.arange(7)[None]].set(block_q)
    qpos = qpos.at[self._arm_qpos].set(jnp.asarray(arm, jnp.float32))
    return qpos.at[self._finger_qpos].set(fingers)

  def initial_qpos(self, key: jax.Array) -> jax.Array:
    """Blocks in distinct cells of the placement grid (jittered, random yaw) resting on the
    table; the gripper open at a random pose above them."""
    k_cells, k_jitter, k_yaw, k_arm = jax.random.split(key, 4)
    n, g = self.num_blocks, PLACEMENT_GRID
    cells = jax.random.choice(k_cells, g * g, (n,), replace=False)
    centre = lambda i: (i - (g - 1) / 2) * PLACEMENT_SPACING
    xy = jnp.stack([centre(cells % g), centre(cells // g)], axis=1)
    xy = xy + jax.random.uniform(k_jitter, (n, 2), minval=-PLACEMENT_JITTER,
                                 maxval=PLACEMENT_JITTER)
    yaw = jax.random.uniform(k_yaw, (n,), minval=-jnp.pi, maxval=jnp.pi)
    pos = jnp.concatenate([xy, jnp.full((n, 1), self.shape.bottom)], axis=1)
    arm = jax.random.uniform(k_arm, (4,), minval=jnp.array([-0.12, -0.12, 0.15, -0.5]),
                             maxval=jnp.array([0.12, 0.12, 0.25, 0.5]))
    return self.qpos_from(arm, pos, yaw)

  def reset(self, rng: jax.Array) -> State:
    return self.state_from_qpos(self.initial_qpos(rng))

  def state_from_qpos(self, qpos: jax.Array, finger_target: jax.Array | float = 0.0) -> State:
    """A state at rest in configuration `qpos [nq]` (arm targets at the arm's position, finger
    targets at `finger_target`). `reset` uses it; tests and analyses place blocks by hand with
    it (`qpos_from`).

    Only kinematics and collision run (what the observation, grasp sensor and reward read):
    `mjx.step` recomputes everything else from qpos, qvel and ctrl before integrating, so the
    next state is the same as after a full `mjx.forward`, whose compile costs ~5x more here.
    """
    qpos = jnp.asarray(qpos, jnp.float32)
    data = envs_base.mjx_make_data(self.mjx_model).replace(qpos=qpos)
    data = mjx.kinematics(self.mjx_model, data.replace(ctrl=self._rest_ctrl(qpos, finger_target)))
    data = mjx.collision(self.mjx_model, data)
    summary = self.summary(data)
    latches = self._latches(summary, jnp.zeros((3, self.num_blocks)))
    _, height, success = tower_reward(summary, self.reward_type, self.success_height, latches)
    zero = jnp.zeros(())
    return State(pipeline_state=data, obs=self._observation(data, summary), reward=zero,
                 done=zero, metrics=self._metrics(success, height),
                 info={"success": success, "tower_height": height, "grasped": summary.grasped,
                       "latches": latches})

  def _latches(self, summary: BlockSummary, latches: jax.Array) -> jax.Array:
    """`spirl_latches` with reward="spirl"; the other rewards do not read them (kept zero)."""
    return spirl_latches(summary, latches) if self.reward_type == "spirl" else latches

  @staticmethod
  def _metrics(success: jax.Array, height: jax.Array) -> dict:
    return {"success": success, "tower_height": height,
            "blocks_stacked": jnp.maximum(height - 1.0, 0.0)}

  def step(self, state: State, action: jax.Array) -> State:
    data = self._actuate(state.pipeline_state, action)
    summary = self.summary(data)
    latches = self._latches(summary, state.info["latches"])
    reward, height, success = tower_reward(summary, self.reward_type, self.success_height,
                                           latches)
    obs = self._observation(data, summary)
    # A simulation that blew up ends the episode instead of propagating NaNs.
    bad = ~jnp.all(jnp.isfinite(obs))
    obs = jnp.where(bad, 0.0, obs)
    height, success = jnp.where(bad, 0.0, height), jnp.where(bad, 0.0, success)
    info = {**state.info, "success": success, "tower_height": height,
            "grasped": summary.grasped, "latches": latches}
    return state.replace(pipeline_state=data, obs=obs, reward=jnp.where(bad, 0.0, reward),
                         done=bad.astype(jnp.float32),
                         metrics={**state.metrics, **self._metrics(success, height)},
                         info=info)

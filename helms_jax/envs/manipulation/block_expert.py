"""Scripted noisy expert for block stacking: builds the tallest tower it can, one block at a time.

    expert = experts.expert_for("block_stacking", env, noise_scale=0.2)   # or make_expert(env)
    traj = envs.rollout(env, expert.policy, key, n, T, policy_init=expert.init)

A per-env state machine in JAX, vmapped with the env like the stacking expert (`expert.py`),
whose pick-and-place phases it follows (reach, descend, close, lift, carry, lower, release,
retreat) and whose per-move random sub-goals (`expert.StackingInit`: approach height, grasp
offsets, carry clearance, placement offset, speed, close/release durations) it draws — redrawn
for every move here, so an episode's moves differ.

It reads only the observation, where blocks are unnamed (listed by priority: held, the tower's
top, blocks to pick nearest first; see `blocks.py`), so it knows blocks by position:
  base    at the first step, the observed block nearest the workspace centre; the tower is the
          column of blocks within `COLUMN_RADIUS` (4 cm) of the base's xy (a block on the table
          cannot be that close to another's centre);
  pick    in `reach`, the observed block outside the column nearest the grip point horizontally
          (a block 5 cm up, e.g. on an accidental pile, counts as 10 cm nearer); from `descend`
          on, the block nearest the picked block's last seen centre (tracking it);
  place   5 cm above the column's highest block, horizontally halfway between it and the
          column's lowest (placement errors would otherwise add up into a leaning tower that
          topples at four or five blocks); at the base on the table if the column is empty.
After each retreat it picks again; a block that fell off is outside the column and is picked
again. With no block left outside the column it hovers over the tower; with
`observed_blocks` = M < N a block to pick may be out of view (the observation lists blocks to
pick before covered ones, so with M >= 2 only when its column is not the env's tallest tower,
e.g. after a fall; with M = 1 whenever a tower stands), so it instead tours four waypoints over
the workspace until one shows up.
Clearances: while reaching, the grip point stays the approach height above every block within
fingertip reach (`FINGER_REACH`) and on a 45° cone around each block beyond it; while carrying,
the held block's bottom stays `carry_clear` above the others the same way (`BLOCK_REACH`) and
heads for the placement height. Below the required height the arm climbs first and moves
slowly sideways, so neither fingertips nor the held block hit a tower, and it does not climb
higher than the nearby blocks need (moves take ~90 steps instead of ~110).
Grasping (the stacking expert's, tightened for towers): it closes only within 4 mm of the grasp
point and keeps centring until the fingers hold, its random grasp and placement offsets are
halved (a cube held off-centre along its face pivots about the fingertip axis, and a tilted
cube does not sit on a tower), and it releases when the fingers slide down the held block
while lowering (it rests on something; pushing on would bring the fingertips onto the tower).
Noise: Gaussian action noise, `noise_scale` std on the four motion dims, 1/5 of it on the
gripper command (as the stacking expert).

Measured (noise 0.2, 64 episodes per row, one jitted vmapped rollout each, 2-core CPU shared
with other jobs, 2026-11; "reached" = the tower was N high at some step, "final" = at the last
step; success = height >= 2; steps/s = env + expert steps of the 64 envs after compilation):
  N=3, M=3 (the SPiRL data)  300 steps: final height 3.00 (all 64 full towers), success 100%,
                             first full tower at step 178 (median); 3700 steps/s
  N=5, M=5                   300 steps: final height 3.88 (56 at 4, 8 at 3): time-limited
                             600 steps: reached 5 100% (median step 375), final 5 78% (mean
                             4.39): finished towers later creep apart (the known
                             limitation in `scene.py`); 1480 steps/s
  N=5, M=3                   600 steps: reached 5 95% (median step 373), final 5 45% (mean 3.17)
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from helms_jax.envs import experts
from helms_jax.envs.manipulation import scene
from helms_jax.envs.manipulation import expert as stacking_expert
from helms_jax.envs.manipulation.blocks import BLOCK_HALF, OBJECT_STRIDE, block_observation_groups
from helms_jax.envs.manipulation.expert import (
    CARRY, CLOSE, DESCEND, LIFT, LOWER, REACH, RELEASE, RETREAT, ExpertState)
from helms_jax.envs.manipulation.stacking import MAX_SPEED, MAX_YAW_SPEED

COLUMN_RADIUS = 0.04
# Grip axis to a block's centre below which a fingertip may hit it: the tip's 6 cm reach, the
# cube's 3.5 cm half diagonal, 1 cm margin.
FINGER_REACH = 0.105
BLOCK_REACH = 0.075  # centre distance below which two cubes may touch (2 half diagonals + 4 mm)
SEARCH_WAYPOINTS = ((0.12, 0.12), (-0.12, 0.12), (-0.12, -0.12), (0.12, -0.12))
_GAIN = 1.0 / 0.15  # position error -> velocity: close the error in ~3 control steps


@struct.dataclass
class BlockExpertState:
  """Per-env memory.

  move: the stacking expert's per-move state (phase, count, random sub-goals); its `move`
    field counts the blocks placed so far (placed and still there after the retreat).
  base_xy: [2] the tower's position; has_base: bool, False until the first step.
  target: [3] last seen centre of the block being moved.
  waypoint: int32, the next search waypoint (partial observation only).
  """
  move: ExpertState
  base_xy: jax.Array
  has_base: jax.Array
  target: jax.Array
  waypoint: jax.Array


@dataclasses.dataclass(frozen=True)
class BlockExpertConfig:
  """Static description (hashable: value-equal experts share a compiled rollout)."""
  num_blocks: int
  observed_blocks: int
  noise_scale: float

  @property
  def move_init(self) -> stacking_expert.StackingInit:
    """The stacking expert's sub-goal sampler (its config: three set-4 cubes)."""
    cube = scene.block_shape()
    offset, period, centre = stacking_expert.grasp_geometry(cube)
    three = lambda x: (x,) * 3
    return stacking_expert.StackingInit(stacking_expert.StackingExpertConfig(
        bottom=three(cube.bottom), top=three(cube.top), half_width=three(BLOCK_HALF),
        yaw_offset=three(offset), yaw_period=three(period), grasp_centre=three(centre),
        noise_scale=self.noise_scale, noise_max=self.noise_scale))  # one noise std for all

  def draw_move(self, key: jax.Array) -> ExpertState:
    """The stacking expert's sub-goals with half its random horizontal grasp and placement
    offsets (±2 mm, ±3 mm): a cube held off-centre along its face pivots about the fingertip
    axis (gravity's lever arm), and offsets add up along a tower."""
    mv = self.move_init(key)
    return mv.replace(grasp_xy=0.5 * mv.grasp_xy, place_xy=0.5 * mv.place_xy)


@dataclasses.dataclass(frozen=True)
class BlockExpertInit:
  """`(key) -> BlockExpertState`."""
  cfg: BlockExpertConfig

  def __call__(self, key: jax.Array) -> BlockExpertState:
    return BlockExpertState(move=self.cfg.draw_move(key), base_xy=jnp.zeros(2),
                            has_base=jnp.zeros((), bool), target=jnp.zeros(3),
                            waypoint=jnp.zeros((), jnp.int32))


@dataclasses.dataclass(frozen=True)
class BlockExpertPolicy:
  """`(obs [12 + 13 M], key, BlockExpertState) -> (action [5], BlockExpertState)`."""
  cfg: BlockExpertConfig

  def __call__(self, obs: jax.Array, key: jax.Array, ps: BlockExpertState):
    c = self.cfg
    groups = block_observation_groups(c.observed_blocks)
    if obs.shape != (groups.obs_size,):
      raise ValueError(f"block stacking expert expects one observation [{groups.obs_size}] "
                       f"({c.observed_blocks} observed blocks), got {obs.shape} (it is vmapped "
                       "by envs.rollout)")
    m, h = c.observed_blocks, BLOCK_HALF
    period = np.pi / 2  # a cube's grasp yaw repeats every quarter turn
    proprio = groups.select(obs, "proprio")
    objects = groups.select(obs, "objects").reshape(m, OBJECT_STRIDE)
    grip = proprio[:3] - jnp.array([0.0, 0.0, scene.FINGER_LENGTH])
    yaw = jnp.arctan2(proprio[3], proprio[4])
    grasped = proprio[11] > 0.5
    pos = objects[:, :3]
    obj_yaw = stacking_expert._yaw_of(objects[:, 3:7])  # pylint: disable=protected-access
    mv = ps.move
    phase = mv.phase
    k_draw, k_move, k_grip = jax.random.split(key, 3)
    index = jnp.arange(m)

    # Which block to move, where the tower is.
    base_xy = jnp.where(ps.has_base, ps.base_xy, pos[jnp.argmin(jnp.linalg.norm(pos[:, :2], axis=1)), :2])
    in_column = jnp.linalg.norm(pos[:, :2] - base_xy, axis=1) < COLUMN_RADIUS
    score = jnp.linalg.norm(pos[:, :2] - grip[:2], axis=1) - 2.0 * (pos[:, 2] - h)
    chosen = jnp.argmin(jnp.where(in_column, jnp.inf, score))
    has_candidate = ~jnp.all(in_column)
    tracked = jnp.argmin(jnp.linalg.norm(pos - ps.target, axis=1))
    obj = jnp.where(phase == REACH, chosen, tracked)
    p_obj = pos[obj]
    tower = in_column & (index != obj)
    top = jnp.argmax(jnp.where(tower, pos[:, 2], -jnp.inf))
    bottom = jnp.argmin(jnp.where(tower, pos[:, 2], jnp.inf))
    has_tower = jnp.any(tower)
    # Over the top block, pulled halfway back towards the bottom one: small placement errors
    # would otherwise add up into a leaning tower that topples after four or five blocks.
    place_xy0 = jnp.where(has_tower, 0.5 * (pos[top, :2] + pos[bottom, :2]), base_xy)
    place_z = jnp.where(has_tower, pos[top, 2] + 2 * h, h)
    place_xy = place_xy0 + mv.place_xy

    # Grasp pose and heights.
    grasp_xy = p_obj[:2] + mv.grasp_xy
    grasp_yaw = stacking_expert._wrap(obj_yaw[obj], period)  # pylint: disable=protected-access
    grasp_z = jnp.maximum(p_obj[2] + mv.grasp_dz, 0.008)
    tops = pos[:, 2] + h
    # Clear each block by the approach height within fingertip reach of it, sloping down 45°
    # beyond (a cone around each block), and the picked block's top.
    gap = jnp.maximum(jnp.linalg.norm(pos[:, :2] - grip[:2], axis=1) - FINGER_REACH, 0.0)
    safe_grip_z = jnp.maximum(jnp.max(tops - gap), tops[obj]) + mv.approach
    # Carrying: the held block's bottom clears the others by `carry_clear` on the same kind of
    # cones (blocks closer than `BLOCK_REACH` may touch), and heads for the placement height.
    gap_obj = jnp.maximum(jnp.linalg.norm(pos[:, :2] - p_obj[:2], axis=1) - BLOCK_REACH, 0.0)
    clear_obj_z = jnp.max(jnp.where(index == obj, 0.0, tops - gap_obj)) + mv.carry_clear + h
    carry_obj_z = jnp.maximum(clear_obj_z, place_z + mv.carry_clear)

    # Errors.
    e_grasp_xy = grasp_xy - grip[:2]
    d_grasp_xy = jnp.linalg.norm(e_grasp_xy)
    e_yaw = stacking_expert._wrap(grasp_yaw - yaw, 2 * jnp.pi)  # pylint: disable=protected-access
    e_place_xy = place_xy - p_obj[:2]
    d_place_xy = jnp.linalg.norm(e_place_xy)
    low = grip[2] < safe_grip_z - 0.02
    slow_xy = jnp.where(low, 0.25, 1.0)  # climb first: do not sweep the fingers into a tower
    slow_carry = jnp.where(p_obj[2] < clear_obj_z - 0.02, 0.25, 1.0)

    # Velocity (as a position error to close) per phase; without a block to pick, hover over
    # the tower (all blocks in view) or tour the waypoints (some may be out of view).
    waypoints = jnp.asarray(SEARCH_WAYPOINTS)
    e_wp = waypoints[ps.waypoint] - grip[:2]
    hover_z = safe_grip_z + 0.03 - grip[2]
    if c.observed_blocks < c.num_blocks:
      v_idle = jnp.concatenate([e_wp * slow_xy, hover_z[None]])
    else:
      v_idle = jnp.array([0.0, 0.0, 1.0]) * hover_z
    v_reach = jnp.where(has_candidate,
                        jnp.concatenate([e_grasp_xy * slow_xy, (safe_grip_z - grip[2])[None]]),
                        v_idle)
    v_descend = jnp.concatenate([e_grasp_xy, (grasp_z - grip[2])[None]])
    # Keep centring on the grasp point while the fingers close (not once they hold the block:
    # it would move with the gripper and drag).
    v_close = jnp.where(grasped, jnp.zeros(3), v_descend)
    v_lift = jnp.concatenate([jnp.zeros(2), (carry_obj_z - p_obj[2])[None]])
    v_carry = jnp.concatenate([e_place_xy * slow_carry, (carry_obj_z - p_obj[2])[None]])
    v_lower = jnp.concatenate([e_place_xy, (place_z - 0.01 - p_obj[2])[None]])
    v_retreat = jnp.array([0.0, 0.0, 1.0]) * hover_z
    v = jnp.select([phase == REACH, phase == DESCEND, phase == CLOSE, phase == LIFT,
                    phase == CARRY, phase == LOWER, phase == RETREAT],
                   [v_reach, v_descend, v_close, v_lift, v_carry, v_lower, v_retreat],
                   jnp.zeros(3))
    vel = jnp.clip(v * _GAIN / MAX_SPEED, -1.0, 1.0) * mv.speed
    # Lower slowly over the last 2 cm above the support (fast until then).
    vel = jnp.where((phase == LOWER) & (p_obj[2] - place_z < 0.02), jnp.clip(vel, -0.3, 0.3), vel)
    turning = ((phase == REACH) & has_candidate) | (phase == DESCEND)
    yaw_cmd = jnp.where(turning, jnp.clip(e_yaw * _GAIN / MAX_YAW_SPEED, -1.0, 1.0), 0.0)
    gripper = jnp.where((phase >= CLOSE) & (phase <= LOWER), 1.0, -1.0)

    # Transitions (the stacking expert's, for a STACK move).
    count = mv.count + 1
    near_place = (d_place_xy < 0.02) & (jnp.abs(p_obj[2] - place_z) < 0.015)
    placed = ((jnp.linalg.norm(place_xy0 - p_obj[:2]) < 0.02)
              & (jnp.abs(p_obj[2] - place_z) < 0.012))
    aligned = (d_grasp_xy < 0.008) & (jnp.abs(e_yaw) < 0.08)
    at_safe = jnp.abs(safe_grip_z - grip[2]) < 0.015
    # The fingers slid down the held block: it rests on something (a tilted block hangs up on
    # the tower's edge); pushing on would bring the fingertips down onto the tower.
    slipped = p_obj[2] - grip[2] + mv.grasp_dz > 0.006
    nxt = jnp.select(
        [phase == REACH, phase == DESCEND, phase == CLOSE, phase == LIFT, phase == CARRY,
         phase == LOWER, phase == RELEASE],
        [jnp.where(has_candidate & aligned & (at_safe | (grip[2] < safe_grip_z)), DESCEND, REACH),
         jnp.where(d_grasp_xy > 0.02, REACH,
                   jnp.where((jnp.abs(grasp_z - grip[2]) < 0.006) & (d_grasp_xy < 0.004),
                             CLOSE, DESCEND)),
         jnp.where((count >= mv.close_steps) & grasped, LIFT,
                   jnp.where(count > mv.close_steps + 10, REACH, CLOSE)),
         jnp.where(~grasped, REACH, jnp.where(p_obj[2] > clear_obj_z - 0.01, CARRY, LIFT)),
         jnp.where(~grasped, REACH, jnp.where(d_place_xy < 0.006, LOWER, CARRY)),
         jnp.where(~grasped & ~near_place, REACH,
                   jnp.where((p_obj[2] - place_z < 0.004) | (count > 40) | ~grasped | slipped,
                             RELEASE, LOWER)),
         jnp.where(count >= mv.release_steps, RETREAT, RELEASE)],
        RETREAT).astype(jnp.int32)
    retreated = (phase == RETREAT) & (grip[2] > safe_grip_z + 0.01)
    nxt = jnp.where(retreated, REACH, nxt)
    new_move = mv.replace(phase=nxt, count=jnp.where(nxt == phase, count, 0),
                          move=mv.move + (retreated & placed).astype(jnp.int32))
    # A new move draws new sub-goals (and keeps the phase and the count of placed blocks).
    fresh = c.draw_move(k_draw).replace(phase=nxt, move=new_move.move)
    new_move = jax.tree.map(lambda a, b: jnp.where(retreated, a, b), fresh, new_move)
    at_waypoint = jnp.linalg.norm(e_wp) < 0.03
    waypoint = jnp.where(at_waypoint & ~has_candidate & (phase == REACH),
                         (ps.waypoint + 1) % len(SEARCH_WAYPOINTS), ps.waypoint)

    # Noise.
    motion = jnp.concatenate([vel, yaw_cmd[None]])
    motion = motion + c.noise_scale * jax.random.normal(k_move, (4,))
    gripper = gripper + 0.2 * c.noise_scale * jax.random.normal(k_grip, ())
    action = jnp.clip(jnp.concatenate([motion, gripper[None]]), -1.0, 1.0)
    return action, BlockExpertState(move=new_move, base_xy=base_xy,
                                    has_base=jnp.ones((), bool), target=p_obj, waypoint=waypoint)


def make_expert(env, noise_scale: float = 0.2) -> experts.Expert:
  """The block stacking expert for `env` (a `BlockStacking` env, possibly wrapped)."""
  try:
    num_blocks, observed = int(env.num_blocks), int(env.observed_blocks)
  except AttributeError as e:
    raise ValueError(f"the block stacking expert needs a BlockStacking env, got {env!r}") from e
  cfg = BlockExpertConfig(num_blocks=num_blocks, observed_blocks=observed,
                          noise_scale=float(noise_scale))
  return experts.Expert(init=BlockExpertInit(cfg), policy=BlockExpertPolicy(cfg),
                        name="block_stacking_state_machine")


experts.register_factory("block_stacking", make_expert)

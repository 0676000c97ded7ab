"""Scripted noisy expert for the stacking env: a per-env state machine in JAX.

    expert = experts.expert_for("stacking", env, noise_scale=0.2)   # or make_expert(env, 0.2)
    traj = envs.rollout(env, expert.policy, key, n, T, policy_init=expert.init)

Phases of one move (object `obj` to a placement), then the next move (pyramid has two: red next
to green, then blue onto both):
  0 reach    above the object's grasp point at a random approach height, yaw aligned with its
             grasp axis (the fingers close along the gripper's local y, so that axis goes along
             the object's narrower horizontal axis, modulo the object's symmetry), gripper open
  1 descend  to the grasp height (random offset around the object's centre)
  2 close    gripper closed, arm still, for a random number of steps; on to lift once the
             grasp sensor fires, back to reach if it never does
  3 lift     the object's bottom to a random clearance above the tallest object
  4 carry    the object over the placement (random small offset)
  5 lower    (slowly over the last 2 cm) until the object rests on the support (or a timeout)
  6 release  gripper open, arm still, for a random number of steps
  7 retreat  up; then the next move, or hover
  8 excursion (only with `excursion_max` > 0) an undirected movement: to a random point of the
             workspace with a random gripper command, for 5-24 steps, then back to reach
Losing the grasp during lift/carry (or while lowering, away from the placement) sends the
machine back to reach, and so does an object found away from its placement after the retreat
(a retry; e.g. it fell off or was knocked). Placements:
`a_on_b` puts the object's centre over b's; pyramid puts red beside green (centres
`half_width sum + 1 cm` apart, on the side red came from), then blue over their midpoint.
For `all_pairs` the pair is read from the `task` observation group.

Coverage: per-episode random sub-goals (approach height, grasp height and xy offset, carry
clearance, placement offset, speed, close/release durations) and Gaussian action noise
(`noise_scale` std on the four motion dims; 1/5 of it on the gripper command). With
`noise_max` > `noise_scale` each episode draws its own noise std uniformly from [noise_scale,
noise_max] (data from agents of different competence, as an RL agent's exploration noise shrinks
during training). With `excursion_max` > 0 each episode draws an excursion rate ~ U[0,
excursion_max]: at every step of reach, descend or retreat (nothing held) the expert leaves the
task with that probability for an excursion (phase 8): temporally coherent undirected movements,
as an RL agent's data holds between its purposeful ones, which a state-conditioned Gaussian BC
cannot tell apart from reaching (the same states lead to both). Excursions draw from their own
key streams (`jax.random.fold_in`), so with `excursion_max` = 0 every episode is unchanged.

Measured success (noise 0.2, 64 episodes per row, one jitted vmapped rollout each, on the
2-core CPU, 2026-11): "any" = the goal held at some step (what `episode/success` records),
"end" = it still holds at the last step. Median steps to the first success in brackets.
  red_on_blue set 4 (cubes)           200 steps: any 100%   end 98%   (72)
  red_on_blue set 1 (slanted faces)   200 steps: any 98%    end 89%   (76)
  red_on_blue set 2 (aspect ratios)   200 steps: any 100%   end 66%   (72)  the drop at the
                                      end is not diagnosed (likely the 8 cm tall red box tipping
                                      off the 4 cm wide bar after release)
  red_on_blue set 3 (sizes)           200 steps: any 95%    end 92%   (76)
  red_on_blue set 5 (hard shapes)     200 steps: any 100%   end 69%   (72)  likely: the hex
                                      prism does not stay on the 2.4 cm top of the frustum
  pyramid     set 4                   300 steps: any 83%    end 78%   (175); at 200 steps
                                      ~36%: two moves need ~160-230 steps, use >= 300
With the RGB-Stacking test triplets (`objects="rgb"`, resting on their lowest-CoM face; red on
blue, 200 steps, noise 0.2, 32 episodes, busy machine, 2026-12): set 4 any 97% end 88%, set 2
88% / 62%, set 5 91% / 75%, set 3 34% / 16% (the 15 cm r6 bar often ends tilted on the 5 cm b5),
set 1 3% (r3 lying on its side: its only parallel vertical faces are 71 mm apart, the fingers open
to 80 mm, and the grasp misses). Set 4 in 120 steps: 84%.
Failures seen: the object creeping down out of the closed fingers while carried (~0.5 mm per
control step in a still, closed grasp with the scene's default solver settings), after which
the retry may not finish in time; for pyramid, mostly time.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from scipy.spatial import ConvexHull

from helms_jax.envs import experts
from helms_jax.envs.manipulation import rgb_objects, scene, tasks
from helms_jax.envs.manipulation.stacking import MAX_SPEED, MAX_YAW_SPEED, OBSERVATION_GROUPS

REACH, DESCEND, CLOSE, LIFT, CARRY, LOWER, RELEASE, RETREAT, EXCURSION = range(9)
PHASE_NAMES = ("reach", "descend", "close", "lift", "carry", "lower", "release", "retreat",
               "excursion")
EXCURSION_STEPS = (5, 25)  # an excursion's length: randint(5, 25) steps
EXCURSION_Z = (0.02, 0.25)  # the gripper's height range on an excursion (metres)
EXCURSION_XY = scene.WORKSPACE_HALF + 0.04  # an excursion's target |x|, |y| bound (metres)
_EXCURSION_STREAM = 0xE5C  # fold_in tag of the excursions' random draws
# Move kinds: put `obj` on `a`; put `obj` beside `a` on the table; put `obj` over the a–b midpoint.
STACK, BESIDE, BRIDGE = range(3)

_OBJ_STRIDE = 13  # per object in the `objects` group: pos 3, quat 4, rel 3, lin vel 3
_TIME_STEP_GAIN = 1.0 / 0.15  # position error -> velocity: close the error in ~3 control steps


@struct.dataclass
class ExpertState:
  """Per-env memory of the expert (all scalars unless noted).

  phase: int32 in [0, 9); move: int32 index into the task's moves; count: steps in this phase.
  anchor: [2] the object's xy when it was grasped (the side a BESIDE placement goes to).
  approach, grasp_dz, carry_clear: metres; grasp_xy, place_xy: [2] metres; speed: in (0, 1];
  close_steps, release_steps: int32; noise: the episode's action noise std.
  excursion_rate: the episode's per-step probability of starting an excursion; excursion_target:
  [3] its gripper target; excursion_steps: int32 its length; excursion_gripper: its command.
  """
  phase: jax.Array
  move: jax.Array
  count: jax.Array
  anchor: jax.Array
  approach: jax.Array
  grasp_dz: jax.Array
  grasp_xy: jax.Array
  place_xy: jax.Array
  carry_clear: jax.Array
  speed: jax.Array
  close_steps: jax.Array
  release_steps: jax.Array
  noise: jax.Array
  excursion_rate: jax.Array
  excursion_target: jax.Array
  excursion_steps: jax.Array
  excursion_gripper: jax.Array


def _rotation(yaw: jax.Array) -> jax.Array:
  """[2, 2] the rotation by `yaw` in the horizontal plane (object frame -> world)."""
  return jnp.array([[jnp.cos(yaw), -jnp.sin(yaw)], [jnp.sin(yaw), jnp.cos(yaw)]])


def _parallel_face_yaw(vertices: np.ndarray) -> float:
  """The yaw offset that closes the fingers on the closest pair of parallel vertical faces of a
  convex object (the RGB prisms: a trapezoid's parallel sides, a parallelogram's unsheared
  sides, a polygon's opposite flats), i.e. puts gripper y along their normal."""
  hull = ConvexHull(vertices)
  normals, offsets = hull.equations[:, :3], hull.equations[:, 3]
  vertical = np.abs(normals[:, 2]) < 1e-6
  best, yaw = np.inf, 0.0
  for i in np.flatnonzero(vertical):
    for j in np.flatnonzero(vertical):
      if np.dot(normals[i], normals[j]) < -1 + 1e-6:  # opposite faces
        width = -(offsets[i] + offsets[j])
        if width < best - 1e-6:
          best, yaw = width, float(np.arctan2(normals[i, 1], normals[i, 0]) - np.pi / 2)
  if not np.isfinite(best):
    raise ValueError("the object has no pair of parallel vertical faces to grasp")
  return float(np.mod(yaw, np.pi))


def grasp_geometry(shape: scene.ObjectShape) -> tuple[float, float, tuple[float, float]]:
  """(yaw offset, symmetry period, grasp centre [2] in the object frame) of a shape.

  The gripper yaw `object_yaw + offset (mod period)` puts the closing axis (gripper y) along
  the object's narrower horizontal axis; prisms close on a flat face (their ±y side).
  """
  v = shape.vertices
  lo, hi = v[:, :2].min(0), v[:, :2].max(0)
  centre = tuple(float(c) for c in (lo + hi) / 2)
  hx, hy = (hi - lo) / 2
  if shape.kind in rgb_objects.OBJECT_IDS:
    return _parallel_face_yaw(v), np.pi, centre
  if shape.kind == "hexagonal_prism":
    return 0.0, np.pi / 3, centre
  if shape.kind == "triangular_prism":
    return 0.0, 2 * np.pi / 3, centre
  if abs(hx - hy) < 0.002:
    return 0.0, np.pi / 2, centre
  # Close along the narrower axis: along object x means gripper y along object x.
  return (np.pi / 2 if hx < hy else 0.0), np.pi, centre


def _moves_table() -> tuple[np.ndarray, np.ndarray]:
  """For each task of `tasks.TASKS`: [7, 2, 4] moves (kind, obj, a, b) and [7] move counts."""
  moves = np.zeros((len(tasks.TASKS), 2, 4), np.int32)
  counts = np.zeros(len(tasks.TASKS), np.int32)
  for i, task in enumerate(tasks.TASKS):
    if task == "pyramid":
      moves[i] = [[BESIDE, 0, 1, 1], [BRIDGE, 2, 0, 1]]
      counts[i] = 2
    else:
      top, bottom = tasks.parse_stack_task(task)
      moves[i] = [[STACK, top, bottom, bottom]] * 2
      counts[i] = 1
  return moves, counts


def _wrap(angle, period):
  """`angle` wrapped into [-period/2, period/2)."""
  return jnp.mod(angle + period / 2, period) - period / 2


def _yaw_of(quat):
  w, x, y, z = quat[..., 0], quat[..., 1], quat[..., 2], quat[..., 3]
  return jnp.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


@dataclasses.dataclass(frozen=True)
class StackingExpertConfig:
  """Static description the expert needs (hashable; built from the env by `make_expert`)."""
  bottom: tuple[float, float, float]
  top: tuple[float, float, float]
  half_width: tuple[float, float, float]
  yaw_offset: tuple[float, float, float]
  yaw_period: tuple[float, float, float]
  grasp_centre: tuple[tuple[float, float], ...]
  noise_scale: float
  noise_max: float  # each episode's noise std ~ U[noise_scale, noise_max]
  excursion_max: float = 0.0  # each episode's excursion rate ~ U[0, excursion_max]
  # Object frame xy of the top face's centroid and of the centre of mass: a sheared object (an
  # RGB parallelogram lying on its slanted face) has neither over its bounding-box centre, so a
  # stack puts the carried object's centre of mass over the support's top face. Zeros for the
  # "simple" family (placement centre over centre, as measured in the module docstring).
  top_centre: tuple[tuple[float, float], ...] = ((0.0, 0.0),) * 3
  mass_centre: tuple[tuple[float, float], ...] = ((0.0, 0.0),) * 3


@dataclasses.dataclass(frozen=True)
class StackingInit:
  """`(key) -> ExpertState`: draws the per-episode random sub-goals."""
  cfg: StackingExpertConfig

  def __call__(self, key: jax.Array) -> ExpertState:
    k = jax.random.split(key, 9)
    u = lambda i, lo, hi, shape=(): jax.random.uniform(k[i], shape, minval=lo, maxval=hi)
    zero = jnp.zeros((), jnp.int32)
    return ExpertState(
        phase=zero, move=zero, count=zero, anchor=jnp.zeros(2),
        approach=u(0, 0.03, 0.07), grasp_dz=u(1, -0.006, 0.004),
        grasp_xy=u(2, -0.004, 0.004, (2,)), place_xy=u(3, -0.006, 0.006, (2,)),
        carry_clear=u(4, 0.025, 0.06), speed=u(5, 0.6, 1.0),
        close_steps=jax.random.randint(k[6], (), 3, 7),
        release_steps=jax.random.randint(k[7], (), 2, 5),
        noise=u(8, self.cfg.noise_scale, self.cfg.noise_max),
        excursion_rate=self.cfg.excursion_max * jax.random.uniform(
            jax.random.fold_in(key, _EXCURSION_STREAM)),
        excursion_target=jnp.zeros(3), excursion_steps=zero, excursion_gripper=jnp.zeros(()))


@dataclasses.dataclass(frozen=True)
class StackingPolicy:
  """`(obs [58], key, ExpertState) -> (action [5], ExpertState)`; see the module docstring."""
  cfg: StackingExpertConfig

  def __call__(self, obs: jax.Array, key: jax.Array, ps: ExpertState):
    c = self.cfg
    if obs.shape != (OBSERVATION_GROUPS.obs_size,):
      raise ValueError(f"stacking expert expects one observation [{OBSERVATION_GROUPS.obs_size}], "
                       f"got {obs.shape} (it is vmapped by envs.rollout)")
    bottom, top = jnp.asarray(c.bottom), jnp.asarray(c.top)
    half_width = jnp.asarray(c.half_width)
    proprio = OBSERVATION_GROUPS.select(obs, "proprio")
    objects = OBSERVATION_GROUPS.select(obs, "objects").reshape(3, _OBJ_STRIDE)
    task_id = jnp.argmax(OBSERVATION_GROUPS.select(obs, "task"))
    body = proprio[:3]
    grip = body - jnp.array([0.0, 0.0, scene.FINGER_LENGTH])
    yaw = jnp.arctan2(proprio[3], proprio[4])
    grasped = proprio[11] > 0.5
    pos, quat = objects[:, :3], objects[:, 3:7]
    obj_yaw = _yaw_of(quat)

    moves, counts = _moves_table()
    kind, obj, a, b = (jnp.asarray(moves)[task_id, jnp.minimum(ps.move, 1), i] for i in range(4))
    n_moves = jnp.asarray(counts)[task_id]
    p_obj = pos[obj]

    # Grasp pose: the object's grasp centre (rotated into the world) plus a random offset.
    oyaw = obj_yaw[obj]
    centre = jnp.asarray(c.grasp_centre)[obj]
    grasp_xy = p_obj[:2] + _rotation(oyaw) @ centre + ps.grasp_xy
    period = jnp.asarray(c.yaw_period)[obj]
    grasp_yaw = _wrap(oyaw + jnp.asarray(c.yaw_offset)[obj], period)
    grasp_z = jnp.maximum(p_obj[2] + ps.grasp_dz, 0.008)
    # Heights: the approach clears every object (objects may be stacked: use positions), the
    # carried object's bottom clears the others.
    tops = pos[:, 2] + top
    safe_grip_z = jnp.max(tops) + ps.approach
    others_top = jnp.max(jnp.where(jnp.arange(3) == obj, -1.0, tops))
    carry_obj_z = others_top + ps.carry_clear + bottom[obj]

    # Placement of the object's centre: its centre of mass over the support's top face.
    stack_xy = (pos[a, :2] + _rotation(obj_yaw[a]) @ jnp.asarray(c.top_centre)[a]
                - _rotation(oyaw) @ jnp.asarray(c.mass_centre)[obj])
    stack_z = pos[a, 2] + top[a] + bottom[obj]
    side = ps.anchor - pos[a, :2]
    side = side / jnp.maximum(jnp.linalg.norm(side), 1e-6)
    beside_xy = pos[a, :2] + side * (half_width[obj] + half_width[a] + 0.01)
    beside_z = bottom[obj]
    bridge_xy = 0.5 * (pos[a, :2] + pos[b, :2])
    bridge_z = jnp.maximum(pos[a, 2] + top[a], pos[b, 2] + top[b]) + bottom[obj]
    place_xy = jnp.select([kind == STACK, kind == BESIDE], [stack_xy, beside_xy],
                          bridge_xy) + ps.place_xy
    place_z = jnp.select([kind == STACK, kind == BESIDE], [stack_z, beside_z], bridge_z)

    # Errors.
    e_grasp_xy = grasp_xy - grip[:2]
    d_grasp_xy = jnp.linalg.norm(e_grasp_xy)
    e_yaw = _wrap(grasp_yaw - yaw, 2 * jnp.pi)
    e_place_xy = place_xy - p_obj[:2]
    d_place_xy = jnp.linalg.norm(e_place_xy)
    hold = grip - grip  # zeros [3]

    # Velocity (as a position error to close) and gripper command per phase.
    v_reach = jnp.concatenate([e_grasp_xy, (safe_grip_z - grip[2])[None]])
    # Stay high while far away horizontally, then go straight down.
    v_descend = jnp.concatenate([e_grasp_xy, (grasp_z - grip[2])[None]])
    v_lift = jnp.concatenate([jnp.zeros(2), (carry_obj_z - p_obj[2])[None]])
    v_carry = jnp.concatenate([e_place_xy, (carry_obj_z - p_obj[2])[None]])
    v_lower = jnp.concatenate([e_place_xy, (place_z - 0.01 - p_obj[2])[None]])
    v_retreat = jnp.array([0.0, 0.0, 1.0]) * (safe_grip_z + 0.03 - grip[2])
    v_excursion = ps.excursion_target - grip
    phase = ps.phase
    v = jnp.select([phase == REACH, phase == DESCEND, phase == LIFT, phase == CARRY,
                    phase == LOWER, phase == RETREAT, phase == EXCURSION],
                   [v_reach, v_descend, v_lift, v_carry, v_lower, v_retreat, v_excursion], hold)
    vel = v * _TIME_STEP_GAIN / MAX_SPEED
    vel = jnp.clip(vel, -1.0, 1.0) * ps.speed
    # Lower slowly over the last 2 cm above the support (fast until then).
    vel = jnp.where((phase == LOWER) & (p_obj[2] - place_z < 0.02), jnp.clip(vel, -0.3, 0.3),
                    vel)
    yaw_cmd = jnp.where((phase == REACH) | (phase == DESCEND),
                        jnp.clip(e_yaw * _TIME_STEP_GAIN / MAX_YAW_SPEED, -1.0, 1.0), 0.0)
    closed = (phase >= CLOSE) & (phase <= LOWER)
    gripper = jnp.where(phase == EXCURSION, ps.excursion_gripper, jnp.where(closed, 1.0, -1.0))

    # Transitions.
    count = ps.count + 1
    near_place = (d_place_xy < 0.02) & (jnp.abs(p_obj[2] - place_z) < 0.015)
    placed = ((jnp.linalg.norm(place_xy - ps.place_xy - p_obj[:2]) < 0.02)
              & (jnp.abs(p_obj[2] - place_z) < 0.012))
    aligned = (d_grasp_xy < 0.008) & (jnp.abs(e_yaw) < 0.08)
    at_safe = jnp.abs(safe_grip_z - grip[2]) < 0.015
    nxt = jnp.select(
        [phase == REACH, phase == DESCEND, phase == CLOSE, phase == LIFT, phase == CARRY,
         phase == LOWER, phase == RELEASE],
        [jnp.where(aligned & (at_safe | (grip[2] < safe_grip_z)), DESCEND, REACH),
         jnp.where(d_grasp_xy > 0.02, REACH,
                   jnp.where(jnp.abs(grasp_z - grip[2]) < 0.006, CLOSE, DESCEND)),
         jnp.where((count >= ps.close_steps) & grasped, LIFT,
                   jnp.where(count > ps.close_steps + 10, REACH, CLOSE)),
         jnp.where(~grasped, REACH,
                   jnp.where(p_obj[2] > carry_obj_z - 0.01, CARRY, LIFT)),
         jnp.where(~grasped, REACH, jnp.where(d_place_xy < 0.006, LOWER, CARRY)),
         jnp.where(~grasped & ~near_place, REACH,
                   jnp.where((p_obj[2] - place_z < 0.004) | (count > 40) | ~grasped,
                             RELEASE, LOWER)),
         jnp.where(count >= ps.release_steps, RETREAT, RELEASE)],
        RETREAT).astype(jnp.int32)
    retreated = (phase == RETREAT) & (grip[2] > safe_grip_z + 0.01)
    # After retreating: the next move if the object stayed where it was put, else try again.
    next_move = retreated & placed & (ps.move + 1 < n_moves)
    nxt = jnp.where(next_move | (retreated & ~placed), REACH, nxt)
    move = ps.move + next_move.astype(jnp.int32)
    anchor = jnp.where((phase == CLOSE) & (nxt == LIFT), p_obj[:2], ps.anchor)

    # Excursions (their own key stream: with a zero rate nothing else changes).
    k_start, k_target, k_steps, k_cmd = jax.random.split(
        jax.random.fold_in(key, _EXCURSION_STREAM), 4)
    free = (phase == REACH) | (phase == DESCEND) | (phase == RETREAT)
    start = free & (jax.random.uniform(k_start) < ps.excursion_rate)
    target = jax.random.uniform(
        k_target, (3,), minval=jnp.array([-EXCURSION_XY, -EXCURSION_XY, EXCURSION_Z[0]]),
        maxval=jnp.array([EXCURSION_XY, EXCURSION_XY, EXCURSION_Z[1]]))
    nxt = jnp.where(phase == EXCURSION,
                    jnp.where(count >= ps.excursion_steps, REACH, EXCURSION),
                    jnp.where(start, EXCURSION, nxt)).astype(jnp.int32)
    excursion = dict(
        excursion_target=jnp.where(start, target, ps.excursion_target),
        excursion_steps=jnp.where(start, jax.random.randint(k_steps, (), *EXCURSION_STEPS),
                                  ps.excursion_steps),
        excursion_gripper=jnp.where(start, jnp.sign(jax.random.uniform(k_cmd) - 0.5),
                                    ps.excursion_gripper))
    count = jnp.where(nxt == phase, count, 0)

    # Noise.
    k_move, k_grip = jax.random.split(key)
    motion = jnp.concatenate([vel, yaw_cmd[None]])
    motion = motion + ps.noise * jax.random.normal(k_move, (4,))
    gripper = gripper + 0.2 * ps.noise * jax.random.normal(k_grip, ())
    action = jnp.clip(jnp.concatenate([motion, gripper[None]]), -1.0, 1.0)
    return action, ps.replace(phase=nxt, move=move, count=count, anchor=anchor, **excursion)


def top_and_mass_centres(shape: scene.ObjectShape
                         ) -> tuple[tuple[float, float], tuple[float, float]]:
  """(xy of the top face's area centroid, xy of the centre of mass) in the object frame, for
  the RGB objects; zeros for the "simple" family (see `StackingExpertConfig`)."""
  if shape.kind not in rgb_objects.OBJECT_IDS:
    return (0.0, 0.0), (0.0, 0.0)
  v = shape.vertices
  face = v[v[:, 2] > v[:, 2].max() - 1e-6, :2]
  face = face[ConvexHull(face).vertices]  # counter-clockwise
  x, y = face.T
  cross = x * np.roll(y, -1) - np.roll(x, -1) * y
  area = cross.sum() / 2
  top_x = ((x + np.roll(x, -1)) * cross).sum() / (6 * area)
  top_y = ((y + np.roll(y, -1)) * cross).sum() / (6 * area)
  mass = rgb_objects.centre_of_mass(v)[:2]
  return (float(top_x), float(top_y)), (float(mass[0]), float(mass[1]))


def make_expert(env, noise_scale: float = 0.2, noise_max: float | None = None,
                excursion_max: float = 0.0) -> experts.Expert:
  """The stacking expert for `env` (a `Stacking` env, possibly wrapped); per-episode noise std
  uniform in [noise_scale, noise_max] (None: noise_scale in every episode); per-episode
  excursion rate uniform in [0, excursion_max] (module docstring)."""
  noise_max = float(noise_scale if noise_max is None else noise_max)
  if not 0.0 <= noise_scale <= noise_max:
    raise ValueError(f"the expert's noise needs 0 <= noise_scale <= noise_max, got "
                     f"{noise_scale}, {noise_max}")
  if not 0.0 <= excursion_max <= 1.0:
    raise ValueError(f"the expert's excursion_max is a per-step probability in [0, 1], got "
                     f"{excursion_max}")
  constants, shapes = env.constants, env.shapes
  geometry = [grasp_geometry(s) for s in shapes]
  centres = [top_and_mass_centres(s) for s in shapes]
  cfg = StackingExpertConfig(
      bottom=tuple(map(float, constants.bottom)), top=tuple(map(float, constants.top)),
      half_width=tuple(map(float, constants.half_width)),
      yaw_offset=tuple(float(g[0]) for g in geometry),
      yaw_period=tuple(float(g[1]) for g in geometry),
      grasp_centre=tuple(g[2] for g in geometry), noise_scale=float(noise_scale),
      noise_max=noise_max, excursion_max=float(excursion_max),
      top_centre=tuple(t for t, _ in centres), mass_centre=tuple(m for _, m in centres))
  return experts.Expert(init=StackingInit(cfg), policy=StackingPolicy(cfg),
                        name="stacking_state_machine")


experts.register_factory("stacking", make_expert)

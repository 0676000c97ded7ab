"""Concurrent-skill demonstrations on brax's ant: three subskills and two concurrent composites.

    env = helms_jax.envs.make("ant_skills")                  # AntSkills (MJX, no termination)
    expert = experts.expert_for("ant_skills", env, noise_scale=0.1)
    traj = envs.rollout(envs.EpisodeWrapper(env, 64), expert.policy, key, n, 64,
                        policy_init=expert.init)

Behaviours (`BEHAVIOURS`; index = `info['task_id']`):
  0 forward            walk along the body heading (+x of the torso), little turning
  1 turn               turn in place counter-clockwise, little translation
  2 raise_leg          stand and hold the front-left leg (leg 1, `hip_1`/`ankle_1`, the leg
                       towards +x+y at reset) raised, torso level
  3 forward+turn       walk while turning counter-clockwise (an arc)
  4 forward+raise_leg  walk forward on three legs with the front-left leg held up
`SUBSKILLS = (0, 1, 2)`; `COMPOSITES = {3: (0, 1), 4: (0, 2)}` (composite -> its subskills).

Observation [34] (`observation_groups`):
    0:2    root_xy   torso world x, y (m)
    2:29   proprio   brax's ant observation without x, y (as ant_tasks.py): z (2), quaternion
                     w,x,y,z (3:7), 8 hinge angles (7:15, order hip_1, ankle_1, ..., hip_4,
                     ankle_4), root linear velocity in the world frame (15:18), root angular
                     velocity in the torso frame (MuJoCo's free-joint qvel, 18:21), 8 hinge
                     velocities (21:29)
    29:34  task      one-hot of the episode's behaviour (index into `BEHAVIOURS`)
The imitation learner sees only 0:29; the expert reads the one-hot.

Per-step measurements (`state.metrics`, all scalars; also in rollout `Trajectory.info`):
  forward_velocity      root velocity along the heading (cos yaw, sin yaw), m/s
  yaw_rate              world-frame yaw rate, rad/s (positive = counter-clockwise)
  forward_velocity_avg  v_f, lateral_velocity_avg v_l (across the heading, signed),
  yaw_rate_avg          w: the same from gait-averaged world velocities (an exponential moving
                        average, weight `SMOOTHING` = 0.1 per step, time constant ~0.5 s ~ one
                        gait cycle; state in `info['velocity_avg']` [3]) so that the torso's
                        within-cycle sway (~0.2-0.3 m/s) does not count as translation
  foot_height           h: height of the front-left foot sphere above the floor, m
  foot_lift             z of the front-left foot minus the mean z of the other three, m
  upright               u: z component of the torso's z axis (1 = level)
Reward = quality score of the episode's behaviour (no control cost; `c(x) = clip(x, -1, 1)`,
speed = |(v_f, v_l)|):
  forward            c(v_f / 0.5) - 0.5 |w| - 0.5 |v_l|
  turn               c(w / 0.6) - speed
  raise_leg          c(h / 0.25) - speed - 0.5 |w|
  forward+turn       min(c(v_f / 0.4), c(w / 0.5)) - 0.5 |v_l|
  forward+raise_leg  min(c(v_f / 0.3), c(h / 0.2)) - 0.5 |w|
each minus (1 - u) (tilting; an upside-down ant loses 2 per step). Composites score the
weaker of their two components, so both must be present. `info['success']` (per step):
  forward            v_f > 0.3 and |w| < 0.3
  turn               w > 0.3 and speed < 0.1
  raise_leg          h > 0.15 and speed < 0.1 and u > 0.9
  forward+turn       v_f > 0.2 and w > 0.2
  forward+raise_leg  v_f > 0.15 and h > 0.1
Per-step values oscillate within a gait cycle, so per-step success rates are well below 1 even
for a good gait; the episode averages in the table below are the better summary.

Reset: brax's ant reset draws the root height and joint angles with +-0.1 noise, which can leave
feet ~0.1 m inside the floor; the contact then launches the ant (root vz 2-4 m/s in the first
step; 2 of 32 ants flipped within 1 s under zero action). `AntSkills` lifts the root so the
lowest foot rests on the floor.

Expert (`skill_expert`, registered for `ant_skills`): a central pattern generator per
behaviour. Joint targets (hinge angles, rad) `hip_i = h0_i + A_i sin(2 pi f t + p_i)` and
`ankle_i = s_i (d0_i + B_i sin(2 pi f t + q_i))` (s_i = +1 for legs 1 and 4, -1 for legs 2
and 3: ankle "down" angle d in [0.52, 1.22] rad, larger = foot lower), tracked by a PD
controller `a = clip(KP (target - q) - KD qdot, -1, 1)` on the hinge angles / velocities read
from the observation. The amplitudes ramp up over the first `SETTLE_STEPS` = 5 steps. In
raise_leg and forward+raise_leg the raise component owns leg 1: its hip holds its offset and
its ankle is pressed against the joint limit (`RAISED_DOWN`), the gait runs on legs 2-4. Per
behaviour 25 numbers (`SKILL_PARAMS`, unconstrained, mapped by `_cpg_shape`), found by CEM
from hand-designed seeds (a trot, an in-place turn, a raised-leg stance), scored by the mean
env reward above with the expert's default jitter and noise on; `SKILL_PARAMS` are the final
CEM means. The search, its settings and how to rerun it: `tools/fit_ant_skill_experts.py`
(it prints `SKILL_PARAMS`). Per-episode randomness: a random gait phase,
frequency x (1 + 0.05 N(0,1)), amplitudes x (1 + 0.1 N(0,1)) and Gaussian action noise
`noise_scale` (default 0.1), actions clipped to [-1, 1].

Measured quality (2026-11-30, 2-core CPU; one jitted vmapped `envs.rollout` of 512 episodes x
64 steps (3.2 s) of `EpisodeWrapper(make("ant_skills"), 64)` with the default expert
(noise_scale 0.1), key PRNGKey(2); 87-112 episodes per behaviour; per-step means over steps
5-63; "net" = |root displacement| over the episode, "dyaw" = unwrapped yaw change, "flip" =
episodes in which the torso was ever upside down (u < 0), "pass" = the per-episode check of
tests/test_ant_skills.py, over 512 other episodes (random-action episodes pass 1-8%)):

  behaviour           v_f    |v_l|  w      h     lift   u     success net   dyaw  flip  pass
                      m/s    m/s    rad/s  m     m                    m     rad
  forward             0.76   0.20  -0.03   0.23  0.15   0.96  0.59    2.32 -0.04  2%    88%
  turn                0.01   0.15   0.75   0.08  0.00   0.99  0.13    0.41  2.23  0%    95%
  raise_leg          -0.05   0.12   0.00   0.36  0.32   0.97  0.31    0.41  0.04  1%    97%
  forward+turn        0.56   0.22   0.85   0.13  0.05   0.90  0.79    1.30  2.80  6%    89%
  forward+raise_leg   0.34   0.34  -0.04   0.43  0.26   0.77  0.50    1.47  0.09  23%   82%
(v_f here is the mean of the instantaneous forward velocity; |v_l| of the gait-averaged one.)
The front-left foot: above 0.1 m in 93% of raise_leg steps (lowest per episode 0.10 m on
average), 77% for forward+raise_leg, 64% in the forward trot (whose swing lifts it high too:
the raise shows as the foot held up, 10th percentile per episode 0.05 m vs 0.01 m, and a
higher mean), 30% turning. forward+turn moves along an arc (1.3 m net for ~1.8 m of path).

Known weaknesses: forward+raise_leg walks on three legs in a statically unstable way (the
centre of mass sits on the support diagonal): 23% of its episodes tip over (u < 0 at some
step) and it sways (|v_l| 0.34 m/s); a search with a doubled tilt penalty reduced that to 15%
but made turn drift (0.8 m) and was not kept. With noise_scale 0.2 all behaviours degrade
(forward 0.58 m/s, turn 0.56 rad/s with 0.8 m drift, 8-10% flips in the walking behaviours).

Speed: 286-321 episodes/s (18-20k env steps/s) for the 512 x 64 rollout after 17-24 s of
compilation; tests/test_ant_skills.py (96 x 64, one compile) runs in ~25-30 s.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from brax.envs.ant import Ant
import jax
import jax.numpy as jnp
import mujoco
import numpy as np

from helms_jax.envs import experts
from helms_jax.envs.base import ObservationGroups, State, Wrapper
from helms_jax.envs.locomotion import robots
from helms_jax.envs.registry import EnvKwargError, register

__all__ = [
    "BEHAVIOURS", "SUBSKILLS", "COMPOSITES", "SKILL_PARAMS", "AntSkills", "skill_expert",
]

BEHAVIOURS = ("forward", "turn", "raise_leg", "forward+turn", "forward+raise_leg")
SUBSKILLS = (0, 1, 2)
COMPOSITES = {3: (0, 1), 4: (0, 2)}
NUM_BEHAVIOURS = len(BEHAVIOURS)
ROBOT_OBS = 29  # root xy + brax's ant proprio
OBS_SIZE = ROBOT_OBS + NUM_BEHAVIOURS
_HINGE_Q = slice(7, 15)
_HINGE_QD = slice(21, 29)
_TASK = slice(ROBOT_OBS, OBS_SIZE)
# Foot geoms of legs 1..4 (front-left = leg 1 is the one raise_leg lifts).
_FEET = ("left_foot_geom", "right_foot_geom", "third_foot_geom", "fourth_foot_geom")
_FOOT_RADIUS = 0.08
# Action i drives hinge _ACT_TO_HINGE[i] (hinge order as in the observation: hip_1, ankle_1,
# ..., hip_4, ankle_4); brax's ant lists the actuators hip_4, ankle_4, hip_1, ankle_1, ...
_ACT_TO_HINGE = np.array([6, 7, 0, 1, 2, 3, 4, 5])
# Sign of "foot down" per ankle (legs 1, 4: range 30..70 deg; legs 2, 3: -70..-30 deg).
_ANKLE_SIGN = np.array([1.0, -1.0, -1.0, 1.0])


def _yaw_up(quat: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
  """quat [4] (w, x, y, z) -> (yaw [], up [] = R[2, 2], R[2, :] [3] the world-z row)."""
  w, x, y, z = quat
  yaw = jnp.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
  row_z = jnp.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)])
  return yaw, row_z[2], row_z


# Gait-averaged velocities: an exponential moving average with this weight per step (time
# constant ~1/0.1 steps = 0.5 s, about one gait cycle), so the within-cycle sway of the torso
# (|v| ~0.3 m/s even when the ant stands on three legs) does not count as translation.
SMOOTHING = 0.1


def measurements(robot_obs: jax.Array, foot_z: jax.Array,
                 velocity_avg: jax.Array) -> dict[str, jax.Array]:
  """Scalar metrics of one step.

  Args:
    robot_obs: [29] brax's ant observation (with x, y) after the step.
    foot_z: [4] foot-sphere centre heights of legs 1..4 (m).
    velocity_avg: [3] gait-averaged world (vx, vy, yaw rate), already updated with this step.
  """
  yaw, up, row_z = _yaw_up(robot_obs[3:7])
  heading = jnp.stack([jnp.cos(yaw), jnp.sin(yaw)])
  along = lambda v: jnp.dot(v, heading)
  across = lambda v: heading[0] * v[1] - heading[1] * v[0]
  return {
      "forward_velocity": along(robot_obs[15:17]),
      "yaw_rate": jnp.dot(row_z, robot_obs[18:21]),  # torso-frame angular velocity -> world z
      "forward_velocity_avg": along(velocity_avg[:2]),
      "lateral_velocity_avg": across(velocity_avg[:2]),
      "yaw_rate_avg": velocity_avg[2],
      "foot_height": foot_z[0] - _FOOT_RADIUS,
      "foot_lift": foot_z[0] - jnp.mean(foot_z[1:]),
      "upright": up,
  }


def quality(task_id: jax.Array, m: dict[str, jax.Array]) -> tuple[jax.Array, jax.Array]:
  """(behaviour index [], measurements) -> (quality score [], success [] in {0, 1})."""
  c = lambda x: jnp.clip(x, -1.0, 1.0)
  v_f, v_l, w, lift, up = (m[k] for k in ("forward_velocity_avg", "lateral_velocity_avg",
                                          "yaw_rate_avg", "foot_height", "upright"))
  speed = jnp.hypot(v_f, v_l)
  # Composites score the weaker of their two components, so both must be present.
  scores = jnp.stack([
      c(v_f / 0.5) - 0.5 * jnp.abs(w) - 0.5 * jnp.abs(v_l),
      c(w / 0.6) - speed,
      c(lift / 0.25) - speed - 0.5 * jnp.abs(w),
      jnp.minimum(c(v_f / 0.4), c(w / 0.5)) - 0.5 * jnp.abs(v_l),
      jnp.minimum(c(v_f / 0.3), c(lift / 0.2)) - 0.5 * jnp.abs(w),
  ]) - (1.0 - up)
  success = jnp.stack([
      (v_f > 0.3) & (jnp.abs(w) < 0.3),
      (w > 0.3) & (speed < 0.1),
      (lift > 0.15) & (speed < 0.1) & (up > 0.9),
      (v_f > 0.2) & (w > 0.2),
      (v_f > 0.15) & (lift > 0.1),
  ])
  return scores[task_id], success[task_id].astype(jnp.float32)


class AntSkills(Wrapper):
  """brax's ant (`robots.make_ant()`) doing one of `behaviours` per episode (module doc).

  Args:
    behaviours: names (from `BEHAVIOURS`) an episode can be; reset draws one uniformly.
    backend: "mjx" only.
  `state.info`: `task_id` (int32 [], index into `BEHAVIOURS`), `root_xy` [2], `success` [].
  """

  transition_info_keys = ("success",)

  def __init__(self, behaviours: tuple[str, ...] = BEHAVIOURS, backend: str = "mjx"):
    robots.check_mjx_backend(backend)
    behaviours = tuple(behaviours)
    bad = [b for b in behaviours if b not in BEHAVIOURS]
    if not behaviours or bad:
      raise EnvKwargError(f"behaviours must be a non-empty subset of {BEHAVIOURS}, got "
                          f"{behaviours!r}")
    robot: Ant = robots.make_ant()
    super().__init__(robot)
    self.behaviours = behaviours
    self._ids = tuple(BEHAVIOURS.index(b) for b in behaviours)
    mj = robot.sys.mj_model
    self._feet = tuple(mujoco.mj_name2id(mj, mujoco.mjtObj.mjOBJ_GEOM, n) for n in _FEET)
    self._groups = ObservationGroups.from_sizes(
        ("root_xy", 2), ("proprio", ROBOT_OBS - 2), ("task", NUM_BEHAVIOURS))
    self._dt = float(robot.dt)

  @property
  def observation_groups(self) -> ObservationGroups:
    return self._groups

  @property
  def observation_size(self) -> int:
    return OBS_SIZE

  @property
  def dt(self) -> float:
    """Seconds per env step (0.05)."""
    return self._dt

  def _observe(self, robot_obs: jax.Array, task_id: jax.Array) -> jax.Array:
    return jnp.concatenate(
        [robot_obs, jax.nn.one_hot(task_id, NUM_BEHAVIOURS)]).astype(jnp.float32)

  def _foot_z(self, pipeline_state: Any) -> jax.Array:
    return pipeline_state.geom_xpos[jnp.array(self._feet), 2]

  def reset(self, rng: jax.Array) -> State:
    """rng: one key -> State with obs [34]; the behaviour is drawn uniformly."""
    robot_key, task_key = jax.random.split(rng)
    task_id = jnp.array(self._ids, jnp.int32)[
        jax.random.randint(task_key, (), 0, len(self._ids))]
    return self.reset_with_behaviour(robot_key, task_id)

  def reset_with_behaviour(self, rng: jax.Array, task_id: jax.Array) -> State:
    """reset with a given behaviour index (int32 [], into `BEHAVIOURS`), e.g. for a search."""
    inner = self.env.reset(rng)
    # brax's reset draws the root height and the joint angles with +-0.1 noise, which leaves
    # feet up to ~0.1 m inside the floor: the contact then launches the ant (measured: root
    # vz 2-4 m/s in the first step, 2 of 32 ants flipped over within 1 s under zero action).
    # Lift the root so the lowest foot sphere rests on the floor.
    ps = inner.pipeline_state
    dz = _FOOT_RADIUS + 0.005 - jnp.min(self._foot_z(ps))
    ps = self.env.pipeline_init(ps.qpos.at[2].add(dz), ps.qvel)
    inner = inner.replace(pipeline_state=ps, obs=self.env._get_obs(ps))  # pylint: disable=protected-access
    task_id = jnp.asarray(task_id, jnp.int32)
    zero = jnp.zeros((), jnp.float32)
    metrics = {k: zero for k in measurements(inner.obs, jnp.zeros(4), jnp.zeros(3))}
    info = {"root_xy": inner.obs[:2], "task_id": task_id, "success": zero,
            "velocity_avg": jnp.zeros(3, jnp.float32)}
    return State(pipeline_state=inner.pipeline_state, obs=self._observe(inner.obs, task_id),
                 reward=zero, done=zero, metrics=metrics, info=info)

  def step(self, state: State, action: jax.Array) -> State:
    """action [8] in [-1, 1] (actuator order hip_4, ankle_4, hip_1, ankle_1, ...)."""
    # brax's Ant.step writes into the metrics dict it is given: hand it a fresh one.
    inner = self.env.step(state.replace(metrics={}), action)
    task_id = state.info["task_id"]
    _, _, row_z = _yaw_up(inner.obs[3:7])
    velocity = jnp.concatenate([inner.obs[15:17], jnp.dot(row_z, inner.obs[18:21])[None]])
    velocity_avg = state.info["velocity_avg"] + SMOOTHING * (velocity - state.info["velocity_avg"])
    metrics = measurements(inner.obs, self._foot_z(inner.pipeline_state), velocity_avg)
    reward, success = quality(task_id, metrics)
    metrics = {k: v.astype(jnp.float32) for k, v in metrics.items()}
    info = {**state.info, "root_xy": inner.obs[:2], "success": success,
            "velocity_avg": velocity_avg.astype(jnp.float32)}
    return state.replace(pipeline_state=inner.pipeline_state,
                         obs=self._observe(inner.obs, task_id),
                         reward=reward.astype(jnp.float32), done=jnp.zeros((), jnp.float32),
                         metrics=metrics, info=info)


register("ant_skills", AntSkills)


# -- expert: CPG + PD ---------------------------------------------------------------------------

NUM_PARAMS = 25  # frequency, then per leg: hip offset, hip amp, hip phase, ankle offset,
                 # ankle amp, ankle phase (legs 1..4, each [4])
KP, KD = 4.0, 0.1  # PD gains: 0.25 rad of error saturates the motor; mild velocity damping
SETTLE_STEPS = 5


def _cpg_shape(params: jax.Array) -> dict[str, jax.Array]:
  """Unconstrained params [25] -> CPG quantities (frequency in Hz, angles in rad)."""
  p = params
  return {
      "freq": 1.75 + 1.25 * jnp.tanh(p[0]),            # 0.5 .. 3 Hz
      "hip0": 0.5 * jnp.tanh(p[1:5]),                   # within the +-0.52 range
      "hip_amp": 0.3 * (1.0 + jnp.tanh(p[5:9])),        # 0 .. 0.6
      "hip_phase": jnp.pi * p[9:13],
      "down0": 0.87 + 0.35 * jnp.tanh(p[13:17]),        # ankle "down" 0.52 .. 1.22
      "down_amp": 0.2 * (1.0 + jnp.tanh(p[17:21])),     # 0 .. 0.4
      "down_phase": jnp.pi * p[21:25],
  }


# Behaviours whose raise_leg component owns leg 1: its CPG is replaced by a hold (below).
RAISES_LEG = (False, False, True, False, True)
# Held ankle-1 "down" target, below the joint's 0.52 rad limit, so the motor presses the lower
# leg against the limit (foot as high as the leg allows) instead of hovering near it.
RAISED_DOWN = 0.35


def cpg_action(params: jax.Array, obs: jax.Array, t: jax.Array, phase0: jax.Array,
               freq_scale: jax.Array, amp_scale: jax.Array, task_id: jax.Array) -> jax.Array:
  """One PD-tracked CPG action.

  Args:
    params: [25] one behaviour's parameters; obs: [>= 29] the ant observation (with x, y);
    t: int32 [] env step of the episode; phase0, freq_scale, amp_scale: [] per-episode jitter;
    task_id: int32 [] the behaviour. For raise_leg and forward+raise_leg leg 1 does not
      oscillate: its hip holds its offset and its ankle `RAISED_DOWN` (the composition: the
      raise_leg component owns leg 1, the gait runs on the other three).
  Returns:
    action [8] in [-1, 1] (actuator order).
  """
  s = _cpg_shape(params)
  time = t.astype(jnp.float32) * 0.05
  ramp = jnp.minimum(t.astype(jnp.float32) / SETTLE_STEPS, 1.0) * amp_scale
  theta = 2 * jnp.pi * s["freq"] * freq_scale * time + phase0
  raised = jnp.asarray(RAISES_LEG)[task_id]
  leg_amp = jnp.where(raised, jnp.array([0.0, 1.0, 1.0, 1.0]), 1.0) * ramp
  hip = s["hip0"] + leg_amp * s["hip_amp"] * jnp.sin(theta + s["hip_phase"])
  down = s["down0"] + leg_amp * s["down_amp"] * jnp.sin(theta + s["down_phase"])
  down = down.at[0].set(jnp.where(raised, RAISED_DOWN, down[0]))
  target = jnp.stack([hip, _ANKLE_SIGN * down], axis=-1).reshape(8)  # hip_1, ankle_1, ...
  torque = KP * (target - obs[_HINGE_Q]) - KD * obs[_HINGE_QD]
  return jnp.clip(torque[_ACT_TO_HINGE], -1.0, 1.0)


def draw_jitter(key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Per-episode jitter of the expert: (phase0 [] uniform in [0, 2 pi), freq_scale [] ~
  1 + 0.05 N(0, 1), amp_scale [] ~ 1 + 0.1 N(0, 1)), the arguments of `cpg_action`."""
  k1, k2, k3 = jax.random.split(key, 3)
  return (jax.random.uniform(k1, (), minval=0.0, maxval=2 * jnp.pi),
          1.0 + 0.05 * jax.random.normal(k2, ()),
          1.0 + 0.1 * jax.random.normal(k3, ()))


def noisy_action(action: jax.Array, key: jax.Array, noise_scale: float) -> jax.Array:
  """action [8] + noise_scale * N(0, I), clipped to [-1, 1]."""
  return jnp.clip(action + noise_scale * jax.random.normal(key, action.shape), -1.0, 1.0)


@dataclasses.dataclass(frozen=True)
class _ExpertInit:
  def __call__(self, key):
    """-> pstate (t int32 [], phase0 [], freq_scale [], amp_scale [])."""
    return (jnp.zeros((), jnp.int32),) + draw_jitter(key)


@dataclasses.dataclass(frozen=True)
class _ExpertPolicy:
  """obs [34], key, pstate -> (action [8], pstate); behaviour from the task one-hot."""
  noise_scale: float

  def __call__(self, obs, key, pstate):
    t, phase0, fs, amp = pstate
    task_id = jnp.argmax(obs[_TASK])
    params = jnp.asarray(SKILL_PARAMS, jnp.float32)[task_id]
    action = noisy_action(cpg_action(params, obs, t, phase0, fs, amp, task_id), key,
                          self.noise_scale)
    return action, (t + 1, phase0, fs, amp)


def skill_expert(env=None, noise_scale: float = 0.1) -> experts.Expert:
  """The CPG expert of `ant_skills` (any AntSkills, possibly wrapped)."""
  del env  # the expert needs nothing from the instance: the behaviour is in the observation
  return experts.Expert(init=_ExpertInit(), policy=_ExpertPolicy(float(noise_scale)),
                        name=f"ant_skills CPG+PD expert (noise {noise_scale})")


experts.register_factory("ant_skills", skill_expert)


# The final CEM means of `tools/fit_ant_skill_experts.py` (module doc; the means measured better
# than the best single samples, which were scored by 2 lucky episodes); rows follow BEHAVIOURS.
SKILL_PARAMS = np.array([
    [-0.08180, -0.20774, -0.56588, 0.83409, 0.19613, -0.93316, -0.23127, -0.29954, -0.52229, 0.33408, 0.91867, -0.58713, 2.29669, -0.26784, 0.27280, -0.60337, -0.28257, 0.58400, -0.29224, -0.21610, 0.57147, 0.23500, 1.73224, 0.53845, 1.54132],
    [-0.43605, 0.13404, 0.28074, 0.14263, 0.30964, -0.26348, -0.13435, 0.00314, -0.27154, 1.33984, 0.08629, 1.30532, 0.16107, -0.45376, -0.11818, -0.25445, -0.30668, 0.10757, -0.09763, -0.09623, -0.56255, 0.60649, 1.57708, 0.47235, 1.62302],
    [-3.99933, -0.16903, -1.17485, -0.11813, 0.46870, -2.80075, -2.70227, -3.45308, -2.65522, -0.08193, -0.40091, 0.47230, 0.43784, -1.97332, 2.55974, -1.38425, 1.83746, -2.39209, -3.58644, -3.21798, -3.20769, -0.71740, -0.18631, 0.35940, -0.03781],
    [-0.18629, -0.87017, -1.34494, 0.94144, -0.30171, -0.28139, -0.62130, -0.06201, 0.63699, -0.21518, 1.75082, 1.18440, 0.42322, 0.73646, 0.49670, -1.25968, -0.32314, -0.50987, 0.16991, -0.89673, 0.22434, 0.64953, 2.12423, 0.37751, 1.72594],
    [-0.28496, -0.73367, 0.21269, 0.33599, -0.43748, -0.41626, 2.37695, 0.53495, -0.41950, 0.06197, 1.37328, 1.42505, -1.59728, -0.75938, 0.45517, -0.93297, 0.67833, -2.90702, 0.00819, -0.08341, 1.41178, 0.32590, 1.54041, 0.33587, 1.58311],
], np.float32)

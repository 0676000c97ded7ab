"""A 2-D point mass reaching a random goal: a small, fast, pure-JAX environment.

Dynamics (semi-implicit Euler, unit mass), per step with `u = clip(action, -1, 1)`:
    v' = v + dt * (force_scale * u - damping * v)
    p' = clip(p + dt * v', -arena, arena);   v'_i = 0 where p_i was clipped (wall hit)
Observation `[6]`: groups `proprio` = (x, y, vx, vy), `goal` = (gx, gy).
Reward: dense `-|p' - g|`, or sparse `1[|p' - g| < goal_tolerance]`.
`done` = success when `terminate_on_success`. `info['success']` (float 0/1) per step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from helms_jax.envs import experts
from helms_jax.envs.base import Env, ObservationGroups, State
from helms_jax.envs.registry import register

__all__ = ["PointMassState", "PointReach", "point_reach_expert", "POINT_REACH_GROUPS"]

POINT_REACH_GROUPS = ObservationGroups.from_sizes(proprio=4, goal=2)


@struct.dataclass
class PointMassState:
  """Physical state: `pos: [2]`, `vel: [2]`, `goal: [2]`."""
  pos: jax.Array
  vel: jax.Array
  goal: jax.Array


class PointReach(Env):
  """2-D double integrator in the arena [-arena, arena]^2 with a random goal per episode.

  Args:
    dt: integration step (s).
    damping: linear velocity damping coefficient (1/s).
    force_scale: force at |action| = 1.
    arena: half-width of the square arena.
    goal_tolerance: success radius.
    reward: "dense" (-distance) or "sparse" (1 within tolerance).
    terminate_on_success: set `done` when the goal is reached.
    init_margin: start position and goal are drawn uniformly from
      [-(arena - init_margin), arena - init_margin]^2.
  """

  transition_info_keys = ("success",)

  def __init__(
      self,
      dt: float = 0.05,
      damping: float = 1.0,
      force_scale: float = 1.0,
      arena: float = 1.0,
      goal_tolerance: float = 0.1,
      reward: str = "dense",
      terminate_on_success: bool = True,
      init_margin: float = 0.1,
  ):
    if reward not in ("dense", "sparse"):
      raise ValueError(f"reward must be 'dense' or 'sparse', got {reward!r}")
    if dt <= 0 or damping < 0 or force_scale <= 0 or arena <= 0 or goal_tolerance <= 0:
      raise ValueError(
          f"need dt > 0, damping >= 0, force_scale > 0, arena > 0, goal_tolerance > 0; got "
          f"dt={dt}, damping={damping}, force_scale={force_scale}, arena={arena}, "
          f"goal_tolerance={goal_tolerance}")
    if not 0 <= init_margin < arena:
      raise ValueError(f"init_margin must be in [0, arena={arena}), got {init_margin}")
    self.dt = float(dt)
    self.damping = float(damping)
    self.force_scale = float(force_scale)
    self.arena = float(arena)
    self.goal_tolerance = float(goal_tolerance)
    self.reward_type = reward
    self.terminate_on_success = bool(terminate_on_success)
    self.init_margin = float(init_margin)

  @property
  def observation_groups(self) -> ObservationGroups:
    return POINT_REACH_GROUPS

  @property
  def observation_size(self) -> int:
    return POINT_REACH_GROUPS.obs_size

  @property
  def action_size(self) -> int:
    return 2

  @property
  def backend(self) -> str:
    # brax's trainers never read it (only PipelineEnv uses it to pick a pipeline).
    return "jax"

  def trajectory_points(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """obs [..., 6] -> (point [..., 3] (z = 0), goal as the one object [..., 1, 3])."""
    zero = jnp.zeros(obs.shape[:-1] + (1,), obs.dtype)
    point = jnp.concatenate([obs[..., 0:2], zero], axis=-1)
    goal = jnp.concatenate([obs[..., 4:6], zero], axis=-1)[..., None, :]
    return point, goal

  def _obs(self, ps: PointMassState) -> jax.Array:
    return jnp.concatenate([ps.pos, ps.vel, ps.goal])

  def _reward_success(self, ps: PointMassState) -> tuple[jax.Array, jax.Array]:
    dist = jnp.linalg.norm(ps.pos - ps.goal)
    success = (dist < self.goal_tolerance).astype(jnp.float32)
    reward = success if self.reward_type == "sparse" else -dist
    return reward.astype(jnp.float32), success, dist

  def reset(self, rng: jax.Array) -> State:
    """rng: one key -> State with obs [6], scalar reward/done."""
    k_pos, k_goal = jax.random.split(rng)
    lim = self.arena - self.init_margin
    pos = jax.random.uniform(k_pos, (2,), minval=-lim, maxval=lim)
    goal = jax.random.uniform(k_goal, (2,), minval=-lim, maxval=lim)
    ps = PointMassState(pos=pos, vel=jnp.zeros(2), goal=goal)
    _, _, dist = self._reward_success(ps)
    zero = jnp.zeros((), jnp.float32)
    return State(
        pipeline_state=ps, obs=self._obs(ps), reward=zero, done=zero,
        metrics={"distance": dist, "success": zero}, info={"success": zero})

  def step(self, state: State, action: jax.Array) -> State:
    """action: [2] force, clipped to [-1, 1]."""
    if action.shape[-1:] != (2,):
      raise ValueError(f"point_reach action must have shape [2], got {action.shape}")
    ps = state.pipeline_state
    u = jnp.clip(action, -1.0, 1.0)
    vel = ps.vel + self.dt * (self.force_scale * u - self.damping * ps.vel)
    pos_free = ps.pos + self.dt * vel
    pos = jnp.clip(pos_free, -self.arena, self.arena)
    vel = jnp.where(pos != pos_free, 0.0, vel)
    ps = ps.replace(pos=pos, vel=vel)
    reward, success, dist = self._reward_success(ps)
    done = success if self.terminate_on_success else jnp.zeros_like(success)
    return state.replace(
        pipeline_state=ps, obs=self._obs(ps), reward=reward, done=done,
        metrics={**state.metrics, "distance": dist, "success": success},
        info={**state.info, "success": success})


def point_reach_expert(
    obs: jax.Array, key: jax.Array, noise_scale: float = 0.1,
    kp: float = 4.0, kd: float = 2.0,
) -> jax.Array:
  """Scripted noisy expert: PD control toward the goal plus Gaussian noise, clipped.

  action = clip(kp * (goal - pos) - kd * vel + noise_scale * N(0, I), -1, 1).

  Args:
    obs: `[..., 6]` point_reach observation(s) (full layout, see POINT_REACH_GROUPS).
    key: PRNG key for the noise.
    noise_scale: std of the Gaussian action noise.
  Returns:
    action `[..., 2]`. Pure; vmap over (obs, key) for batches of envs.
  """
  if obs.shape[-1] != POINT_REACH_GROUPS.obs_size:
    raise ValueError(f"point_reach_expert expects obs [..., 6], got {obs.shape}")
  proprio = POINT_REACH_GROUPS.select(obs, "proprio")
  pos, vel = proprio[..., :2], proprio[..., 2:]
  goal = POINT_REACH_GROUPS.select(obs, "goal")
  action = kp * (goal - pos) - kd * vel
  action = action + noise_scale * jax.random.normal(key, action.shape, action.dtype)
  return jnp.clip(action, -1.0, 1.0)


register("point_reach", PointReach)
experts.register("point_reach", point_reach_expert)

"""Planner expert for the maze: BFS over cells, then velocity tracking towards the next cell.

    expert = experts.expert_for("maze", env, noise_scale=0.1)   # or make_expert(env, 0.1)
    traj = envs.rollout(env, expert.policy, key, n, T, policy_init=expert.init)

Per step, with the agent in cell c: in the goal cell, aim at the goal; otherwise aim at the
centre of the open neighbouring cell (through a doorway) with the smallest BFS distance to the
goal cell (`Episode.distance_field`). The waypoint switches as soon as the agent enters the next
cell, so it moves smoothly along the path without stopping at cell centres. The controller
tracks a desired velocity of `speed` x the point mass's cruise speed towards the waypoint
(slowing within `slow_radius` of the goal) with the force `damping · v* + mass · (v* - v) / tau`
(the env's `PointMass`), plus Gaussian action noise of std `noise_scale`, clipped to [-1, 1].

The expert sees only observations, and the goal and layout are not in them: on its first step
it recovers the episode from the start position in the first observation
(`MazeSpec.episode_from_start`, the same function `reset` uses), and keeps it in its state. So
it must see each episode from its reset, as `envs.rollout` does (it is not for auto-resetting
loops). Per-env and hashable (value-equal experts reuse a compiled rollout); vmapped by
`envs.rollout`.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import struct

from helms_jax.envs import experts
from helms_jax.envs.maze import layout as maze_layout
from helms_jax.envs.maze.env import POINT_MASSES, Episode, MazeSpec, PointMass

__all__ = ["MazeExpertConfig", "MazeExpertState", "make_expert", "waypoint", "track"]


@struct.dataclass
class MazeExpertState:
  """ready: bool, whether `episode` has been recovered (from the first observation)."""
  ready: jax.Array
  episode: Episode


@dataclasses.dataclass(frozen=True)
class MazeExpertConfig:
  """spec: the env's `MazeSpec`; noise_scale: action noise std; speed: cruise speed as a
  fraction of the point mass's cruise speed; slow_radius: distance to the goal below which it
  slows down (cells); tau: velocity-tracking time constant (s); point_mass: the env's
  dynamics."""
  spec: MazeSpec
  noise_scale: float = 0.1
  speed: float = 0.8
  slow_radius: float = 0.3
  tau: float = 0.1
  point_mass: PointMass = POINT_MASSES["default"]


def waypoint(episode: Episode, pos: jax.Array) -> tuple[jax.Array, jax.Array]:
  """The point to head for from `pos` [2]: (waypoint [2] (x, y), is_goal: bool scalar)."""
  rows, cols = episode.distance_field.shape
  cell = maze_layout.cell_of(pos, rows, cols)
  moves = maze_layout.open_moves(episode.layout)[cell[0], cell[1]]  # [4]
  ahead = maze_layout.neighbour_values(episode.distance_field, jnp.inf)[cell[0], cell[1]]
  best = jnp.argmin(jnp.where(moves, ahead, jnp.inf))
  nxt = maze_layout.cell_centre(cell + jnp.asarray(maze_layout.MOVES)[best])
  at_goal = jnp.all(cell == episode.goal_cell)
  return jnp.where(at_goal, episode.goal, nxt), at_goal


def track(pos: jax.Array, vel: jax.Array, target: jax.Array, slow: jax.Array,
          cfg: MazeExpertConfig) -> jax.Array:
  """Force command [2] (unclipped) driving the velocity towards `target` at cruise speed,
  slowing down within `slow_radius` when `slow`."""
  delta = target - pos
  dist = jnp.linalg.norm(delta)
  scale = jnp.where(slow, jnp.maximum(dist, cfg.slow_radius), jnp.maximum(dist, 1e-6))
  pm = cfg.point_mass
  v_des = cfg.speed * pm.cruise_speed * delta / scale
  return (pm.damping * v_des + pm.mass * (v_des - vel) / cfg.tau) / pm.gear


@dataclasses.dataclass(frozen=True)
class MazeExpertInit:
  """`(key) -> MazeExpertState` (not ready: the episode is read from the first observation)."""
  cfg: MazeExpertConfig

  def __call__(self, key: jax.Array) -> MazeExpertState:
    del key
    s = self.cfg.spec
    zero_cell = jnp.zeros((2,), jnp.int32)
    episode = Episode(h_walls=jnp.zeros((s.rows + 1, s.cols), bool),
                      v_walls=jnp.zeros((s.rows, s.cols + 1), bool),
                      goal=jnp.zeros((2,), jnp.float32), goal_cell=zero_cell,
                      distance_field=jnp.zeros((s.rows, s.cols), jnp.float32))
    return MazeExpertState(ready=jnp.array(False), episode=episode)


@dataclasses.dataclass(frozen=True)
class MazeExpertPolicy:
  """`(obs [obs_dim], key, MazeExpertState) -> (action [2], MazeExpertState)`."""
  cfg: MazeExpertConfig

  def __call__(self, obs: jax.Array, key: jax.Array, ps: MazeExpertState):
    pos, vel = obs[:2], obs[2:4]
    # Under vmap a cond would run the episode search every step (1.7x slower rollouts); with
    # `active` its loops stop at once when every env in the batch is ready.
    fresh = self.cfg.spec.episode_from_start(pos, active=~ps.ready)
    episode = jax.tree.map(lambda old, new: jnp.where(ps.ready, old, new), ps.episode, fresh)
    target, at_goal = waypoint(episode, pos)
    action = track(pos, vel, target, at_goal, self.cfg)
    action = action + self.cfg.noise_scale * jax.random.normal(key, (2,))
    return jnp.clip(action, -1.0, 1.0), MazeExpertState(ready=jnp.array(True), episode=episode)


def make_expert(env, noise_scale: float = 0.1) -> experts.Expert:
  """The planner expert for `env` (a `Maze` env, possibly wrapped)."""
  if float(noise_scale) < 0:
    raise ValueError(f"noise_scale must be >= 0, got {noise_scale}")
  spec = getattr(env, "spec", None)
  if not isinstance(spec, MazeSpec):
    raise ValueError(f"the maze expert needs a Maze env (possibly wrapped), got {env!r}")
  cfg = MazeExpertConfig(spec=spec, noise_scale=float(noise_scale),
                         point_mass=getattr(env, "point_mass", POINT_MASSES["default"]))
  return experts.Expert(init=MazeExpertInit(cfg), policy=MazeExpertPolicy(cfg),
                        name="maze_bfs_planner")


experts.register_factory("maze", make_expert)

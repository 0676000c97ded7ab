"""The planar locomotion tasks of Latent Skill Planning (Xie et al., 2021): brax's HalfCheetah,
Walker2d and Hopper (`robots.make_planar`) with DMC-style forward-velocity rewards.

Registered names (all MJX, none terminates; time limits come from `EpisodeWrapper`):

  halfcheetah_run, walker2d_run, hopper_hop   forward velocity (`PlanarRun`, reward there)

What every locomotion task provides (`info['root_xy']`, `observation_groups`, a pure `relabel`)
is in the package docstring (`helms_jax.envs.locomotion`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from helms_jax.envs.base import ObservationGroups, State, Wrapper
from helms_jax.envs.locomotion import robots
from helms_jax.envs.locomotion.rewards import forward_reward
from helms_jax.envs.registry import EnvKwargError, register

__all__ = ["PlanarRun", "halfcheetah_run", "walker2d_run", "hopper_hop"]


class PlanarRun(Wrapper):
  """brax's planar robot with a DMC-style forward-velocity reward, no termination.

  reward = stand(next_obs) * min(vx' / target_speed, 1) - ctrl_cost_weight * |a|^2, with vx'
  the root x velocity in the next observation (index `vx_index`, = q_size - 1: brax drops root
  x from the observation) and stand = clip((z' - fall_height) / (stand_height - fall_height),
  0, 1) for the torso height z' = next_obs[0] (walker2d, hopper; brax's own unhealthy height
  is the fall height) or 1 (halfcheetah, which cannot fall over). A fallen walker earns ~0
  instead of ending the episode, so the episode never terminates (brax's
  `terminate_when_unhealthy=False`). Observation: brax's (root x excluded; walker2d and hopper
  velocities clipped to +-10 by brax), one group `proprio`.
  """

  def __init__(self, robot: str, target_speed: float, ctrl_cost_weight: float = 0.0,
               stand_heights: tuple[float, float] | None = None,
               solver: dict[str, int] | None = None, backend: str = "mjx"):
    robots.check_mjx_backend(backend)
    if target_speed <= 0 or ctrl_cost_weight < 0:
      raise EnvKwargError(f"need target_speed > 0 and ctrl_cost_weight >= 0, got "
                          f"{target_speed}, {ctrl_cost_weight}")
    kwargs = {} if robot == "halfcheetah" else {"terminate_when_unhealthy": False}
    env = robots.make_planar(robot, solver=solver, **kwargs)
    super().__init__(env)
    self.robot = robot
    self.target_speed = float(target_speed)
    self.ctrl_cost_weight = float(ctrl_cost_weight)
    self.stand_heights = None if stand_heights is None else tuple(map(float, stand_heights))
    self.vx_index = env.sys.q_size() - 1
    self._obs_size = env.sys.q_size() - 1 + env.sys.qd_size()
    self._groups = ObservationGroups.from_sizes(proprio=self._obs_size)

  @property
  def observation_groups(self) -> ObservationGroups:
    return self._groups

  @property
  def observation_size(self) -> int:
    return self._obs_size

  @staticmethod
  def _root_xy(pipeline_state) -> jax.Array:
    """[2]: the torso's x is the `rootx` slide joint (its body frame starts at x = 0); y = 0.

    Not brax's `x.pos`, which MJX computes before the last physics step's integration.
    """
    return jnp.stack([pipeline_state.q[0], jnp.zeros((), pipeline_state.q.dtype)])

  def reward_terms(self, observation, action, next_observation):
    """(observation [obs], action [act], next_observation [obs]) -> (reward [], metrics)."""
    del observation
    vx = next_observation[self.vx_index]
    stand = jnp.ones((), jnp.float32)
    if self.stand_heights is not None:
      fall, up = self.stand_heights
      stand = jnp.clip((next_observation[0] - fall) / (up - fall), 0.0, 1.0)
    forward = forward_reward(vx, self.target_speed)
    ctrl = self.ctrl_cost_weight * jnp.sum(jnp.square(action))
    return stand * forward - ctrl, {"forward_velocity": vx, "stand": stand,
                                    "reward_ctrl": -ctrl}

  def reset(self, rng: jax.Array) -> State:
    inner = self.env.reset(rng)
    zero = jnp.zeros((), jnp.float32)
    _, metrics = jax.eval_shape(self.reward_terms, inner.obs, jnp.zeros(self.action_size),
                                inner.obs)
    return State(pipeline_state=inner.pipeline_state, obs=inner.obs, reward=zero, done=zero,
                 metrics={k: zero for k in metrics},
                 info={"root_xy": self._root_xy(inner.pipeline_state)})

  def step(self, state: State, action: jax.Array) -> State:
    inner = self.env.step(state.replace(metrics={}), action)  # brax updates metrics in place
    reward, metrics = self.reward_terms(state.obs, action, inner.obs)
    return state.replace(pipeline_state=inner.pipeline_state, obs=inner.obs,
                         reward=reward.astype(jnp.float32), done=jnp.zeros((), jnp.float32),
                         metrics=metrics,
                         info={**state.info, "root_xy": self._root_xy(inner.pipeline_state)})

  def relabel(self, observation: jax.Array, action: jax.Array, next_observation: jax.Array,
              key: jax.Array | None = None) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(observation, next_observation, reward []) for this task (no goal: `key` is ignored)."""
    del key
    reward, _ = self.reward_terms(observation, action, next_observation)
    return observation, next_observation, reward.astype(jnp.float32)


def halfcheetah_run(target_speed: float = 10.0, ctrl_cost_weight: float = 0.0,
                    solver: dict[str, int] | None = None, backend: str = "mjx") -> PlanarRun:
  """brax's HalfCheetah, reward min(vx / 10, 1) (DMC cheetah-run's target speed)."""
  return PlanarRun("halfcheetah", target_speed, ctrl_cost_weight, None, solver, backend)


def walker2d_run(target_speed: float = 8.0, ctrl_cost_weight: float = 0.0,
                 stand_heights: tuple[float, float] = (0.8, 1.1),
                 solver: dict[str, int] | None = None, backend: str = "mjx") -> PlanarRun:
  """brax's Walker2d, reward stand * min(vx / 8, 1) (DMC walker-run's target speed); the torso
  starts at 1.25 m and brax calls it unhealthy below 0.8 m."""
  return PlanarRun("walker2d", target_speed, ctrl_cost_weight, stand_heights, solver, backend)


def hopper_hop(target_speed: float = 2.0, ctrl_cost_weight: float = 0.0,
               stand_heights: tuple[float, float] = (0.7, 1.0),
               solver: dict[str, int] | None = None, backend: str = "mjx") -> PlanarRun:
  """brax's Hopper, reward stand * min(vx / 2, 1) (DMC hopper-hop's target speed); the torso
  starts at 1.25 m and brax calls it unhealthy below 0.7 m."""
  return PlanarRun("hopper", target_speed, ctrl_cost_weight, stand_heights, solver, backend)


register("halfcheetah_run", halfcheetah_run)
register("walker2d_run", walker2d_run)
register("hopper_hop", hopper_hop)

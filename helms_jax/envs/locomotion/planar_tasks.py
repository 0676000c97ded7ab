"""The planar locomotion tasks of Latent Skill Planning (Xie et al., 2021): brax's HalfCheetah,
Walker2d and Hopper (`robots.make_planar`) with DeepMind Control's run/hop rewards, at DMC's
agent time step as the paper's Dreamer-based agent saw it.

Registered names (all MJX, none terminates; time limits come from `EpisodeWrapper`):

  halfcheetah_run, walker2d_run, hopper_hop   forward velocity (`PlanarRun`, reward there)

Time step: DMC's control step times the action repeat of 2 that the paper's Dreamer code keeps
(cheetah 0.01 s, walker 0.025 s, hopper 0.02 s, each x 2), set through brax's frames per step
(`robots.PLANAR_FRAMES`): 0.02 s, 0.05 s, 0.04 s per env step. brax's own robots step 0.05 s
(halfcheetah) and 0.008 s (walker2d, hopper); at 0.008 s a 10-step skill lasts 0.08 s and a
500-step episode 4 s, where the paper's last 0.4-0.5 s and 20-25 s.

What every locomotion task provides (`info['root_xy']`, `observation_groups`, a pure `relabel`)
is in the package docstring (`helms_jax.envs.locomotion`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from helms_jax.envs.base import ObservationGroups, State, Wrapper
from helms_jax.envs.locomotion import robots
from helms_jax.envs.locomotion.rewards import forward_reward, tolerance, upright_reward
from helms_jax.envs.registry import EnvKwargError, register

__all__ = ["PlanarRun", "halfcheetah_run", "walker2d_run", "hopper_hop"]

WALKER_STAND_HEIGHT = 1.2  # DMC walker's _STAND_HEIGHT (m); brax's walker2d torso starts at 1.25


class PlanarRun(Wrapper):
  """brax's planar robot with DMC's run/hop reward, no termination.

  reward = stand(next_obs) * move - ctrl_cost_weight * |a|^2, move = clip(vx' / target_speed,
  0, 1) (`rewards.forward_reward`), vx' the root x velocity in the next observation (index
  `vx_index`, = q_size - 1: brax drops root x from the observation). stand, by robot (`stand`):
    "none"    1 (halfcheetah, which cannot fall over; DMC cheetah-run);
    "walker"  DMC walker's (3 standing + upright) / 4, standing = gaussian tolerance of the
              torso height z' = next_obs[0] below 1.2 m (margin 0.6 m, 0.1 there), upright =
              (1 + cos(torso angle next_obs[1])) / 2; and move is DMC walker-run's
              (5 move + 1) / 6 (standing still upright earns 1/6 per step);
    "hopper"  clip((z' - fall) / (up - fall), 0, 1) with `stand_heights` = (fall, up): a ramp
              where DMC hopper-hop has a step at 0.6 m of its own robot's height (brax's hopper
              is unhealthy below 0.7 m).
  A fallen robot earns ~0 instead of ending the episode (brax's `terminate_when_unhealthy=False`).
  Observation: brax's (root x excluded; walker2d and hopper velocities clipped to +-10 by brax),
  one group `proprio`.
  """

  STANDS = ("none", "walker", "hopper")

  def __init__(self, robot: str, target_speed: float, ctrl_cost_weight: float = 0.0,
               stand: str = "none", stand_heights: tuple[float, float] | None = None,
               solver: dict[str, int] | None = None, backend: str = "mjx"):
    robots.check_mjx_backend(backend)
    if target_speed <= 0 or ctrl_cost_weight < 0:
      raise EnvKwargError(f"need target_speed > 0 and ctrl_cost_weight >= 0, got "
                          f"{target_speed}, {ctrl_cost_weight}")
    if stand not in self.STANDS or (stand == "hopper") != (stand_heights is not None):
      raise EnvKwargError(f"stand must be one of {self.STANDS}, with stand_heights exactly for "
                          f"'hopper'; got {stand!r}, {stand_heights}")
    kwargs = {} if robot == "halfcheetah" else {"terminate_when_unhealthy": False}
    env = robots.make_planar(robot, solver=solver, **kwargs)
    super().__init__(env)
    self.robot, self.stand = robot, stand
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
    move = forward_reward(vx, self.target_speed)
    if self.stand == "walker":
      standing = tolerance(next_observation[0], WALKER_STAND_HEIGHT, WALKER_STAND_HEIGHT / 2)
      stand = (3.0 * standing + upright_reward(jnp.cos(next_observation[1]))) / 4.0
      move = (5.0 * move + 1.0) / 6.0
    elif self.stand == "hopper":
      fall, up = self.stand_heights
      stand = jnp.clip((next_observation[0] - fall) / (up - fall), 0.0, 1.0)
    ctrl = self.ctrl_cost_weight * jnp.sum(jnp.square(action))
    return stand * move - ctrl, {"forward_velocity": vx, "stand": stand, "reward_ctrl": -ctrl}

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
  """brax's HalfCheetah at 0.02 s per step, reward clip(vx / 10, 0, 1) (DMC cheetah-run)."""
  return PlanarRun("halfcheetah", target_speed, ctrl_cost_weight, solver=solver, backend=backend)


def walker2d_run(target_speed: float = 8.0, ctrl_cost_weight: float = 0.0,
                 solver: dict[str, int] | None = None, backend: str = "mjx") -> PlanarRun:
  """brax's Walker2d at 0.05 s per step, DMC walker-run's reward stand * (5 move + 1) / 6 with
  move = clip(vx / 8, 0, 1); the torso starts at 1.25 m."""
  return PlanarRun("walker2d", target_speed, ctrl_cost_weight, stand="walker", solver=solver,
                   backend=backend)


def hopper_hop(target_speed: float = 2.0, ctrl_cost_weight: float = 0.0,
               stand_heights: tuple[float, float] = (0.7, 1.0),
               solver: dict[str, int] | None = None, backend: str = "mjx") -> PlanarRun:
  """brax's Hopper at 0.04 s per step, reward stand * clip(vx / 2, 0, 1) (DMC hopper-hop's
  target speed); the torso starts at 1.25 m and brax calls it unhealthy below 0.7 m."""
  return PlanarRun("hopper", target_speed, ctrl_cost_weight, stand="hopper",
                   stand_heights=stand_heights, solver=solver, backend=backend)


register("halfcheetah_run", halfcheetah_run)
register("walker2d_run", walker2d_run)
register("hopper_hop", hopper_hop)

"""Environments: brax-compatible `Env`/`State`, wrappers, registry, acting.

    env = helms_jax.envs.make("point_reach")
"""

from helms_jax.envs.base import Env, ObservationGroups, State, Wrapper
from helms_jax.envs.registry import (
    EnvKwargError, UnknownEnvError, default_config, make, register, registered_names)
from helms_jax.envs.wrappers import (
    AutoResetWrapper, EpisodeMetricsWrapper, EpisodeWrapper, SelectObservationWrapper,
    VmapWrapper, wrap_for_training)
from helms_jax.envs.acting import Trajectory, episode_lengths, rollout
from helms_jax.envs import point_mass  # registers "point_reach"
from helms_jax.envs import manipulation  # registers "stacking"
from helms_jax.envs import maze  # registers "maze" and its planner expert
from helms_jax.envs import locomotion  # registers ant_* / halfcheetah_run / walker2d_run / hopper_hop
from helms_jax.envs.point_mass import PointReach, point_reach_expert

__all__ = [
    "Env", "State", "Wrapper", "ObservationGroups",
    "make", "default_config", "register", "registered_names", "UnknownEnvError",
    "EnvKwargError",
    "VmapWrapper", "EpisodeWrapper", "AutoResetWrapper", "EpisodeMetricsWrapper",
    "SelectObservationWrapper", "wrap_for_training",
    "Trajectory", "rollout", "episode_lengths",
    "PointReach", "point_reach_expert",
]

"""Brax locomotion tasks for Latent Skill Planning (Xie et al., 2021).

    env = helms_jax.envs.make("ant_walk")            # or ant_run, ant_reach_goal,
    env = helms_jax.envs.make("ant_reach_goal_obstacles", num_obstacles=4)  # ant_cove,
    env = helms_jax.envs.make("halfcheetah_run")     # walker2d_run, hopper_hop
    obs, next_obs, reward = env.relabel(obs, action, next_obs, key)  # replay relabelling

robots.py builds brax's own robots (MJX) with arenas and CPU solver settings; tasks.py wraps
them with the tasks, the shared ant observation layout and `relabel` (see its docstring).
"""

from helms_jax.envs.locomotion import robots
from helms_jax.envs.locomotion import skills  # registers ant_skills and its CPG expert
from helms_jax.envs.locomotion.tasks import (
    ANT_MAX_OBSTACLES, ANT_ROBOT_OBS, ANT_VX, AntCove, AntReachGoal, AntReachGoalObstacles,
    AntRun, AntTask, AntWalk, PlanarRun, ant_observation_groups, forward_reward,
    halfcheetah_run, hopper_hop, walker2d_run)

__all__ = [
    "robots", "ANT_MAX_OBSTACLES", "ANT_ROBOT_OBS", "ANT_VX", "AntCove", "AntReachGoal",
    "AntReachGoalObstacles", "AntRun", "AntTask", "AntWalk", "PlanarRun",
    "ant_observation_groups", "forward_reward", "halfcheetah_run", "hopper_hop", "walker2d_run",
]

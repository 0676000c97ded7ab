"""Brax locomotion tasks for Latent Skill Planning (Xie et al., 2021), and concurrent-skill
demonstrations on the ant.

    env = helms_jax.envs.make("ant_walk")            # or ant_run, ant_reach_goal,
    env = helms_jax.envs.make("ant_reach_goal_obstacles", num_obstacles=4)  # ant_cove,
    env = helms_jax.envs.make("halfcheetah_run")     # walker2d_run, hopper_hop
    obs, next_obs, reward = env.relabel(obs, action, next_obs, key)  # replay relabelling

robots.py builds brax's own robots (MJX) with arenas and CPU solver settings; ant_tasks.py wraps
the ant with its tasks and their shared observation layout, planar_tasks.py the planar robots
(halfcheetah, walker2d, hopper); rewards.py holds the reward pieces both use; skills.py is
"ant_skills" (concurrent-skill demonstrations with a scripted expert).

Every task is a `brax.envs.base.Wrapper` around brax's own robot env: the wrapper owns the
observation layout, the task state in `state.info`, the reward and `done`; brax's robot code
does the physics. Every task has `info['root_xy']` [2] (the torso's world x, y; y = 0 for the
planar robots) for 2-D trajectory plots, `observation_groups`, and a pure, vmappable
`relabel(observation, action, next_observation, key=None) -> (observation, next_observation,
reward)` that rewrites a stored transition as this task would have produced it (LSP's replay
relabelling, e.g. walk data for reach-goal). Rewards are functions of (observation, action,
next observation) only, computed by `reward_terms` both in `step` and in `relabel`, so a
transition of the task relabelled with its goal kept (`key=None`) gets exactly its reward.
"""

from helms_jax.envs.locomotion import robots
from helms_jax.envs.locomotion import skills  # registers ant_skills and its CPG expert
from helms_jax.envs.locomotion.ant_tasks import (  # registers the ant_* tasks
    ANT_MAX_OBSTACLES, ANT_ROBOT_OBS, ANT_VX, AntCove, AntReachGoal, AntReachGoalObstacles,
    AntRun, AntTask, AntWalk, ant_observation_groups)
from helms_jax.envs.locomotion.planar_tasks import (  # registers the planar tasks
    PlanarRun, halfcheetah_run, hopper_hop, walker2d_run)
from helms_jax.envs.locomotion.rewards import forward_reward

__all__ = [
    "robots", "ANT_MAX_OBSTACLES", "ANT_ROBOT_OBS", "ANT_VX", "AntCove", "AntReachGoal",
    "AntReachGoalObstacles", "AntRun", "AntTask", "AntWalk", "PlanarRun",
    "ant_observation_groups", "forward_reward", "halfcheetah_run", "hopper_hop", "walker2d_run",
]

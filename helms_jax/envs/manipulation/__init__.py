"""MJX manipulation: gantry arm + parallel gripper, three coloured objects, five object sets,
stacking pairs and pyramid tasks with dense/staged/sparse rewards.

    env = helms_jax.envs.make("stacking", task="red_on_blue", object_set=4, reward="staged")
"""

from helms_jax.envs.manipulation import scene, tasks
from helms_jax.envs.manipulation.stacking import OBSERVATION_GROUPS, Stacking
from helms_jax.envs.registry import register

register("stacking", Stacking)

__all__ = ["OBSERVATION_GROUPS", "Stacking", "scene", "tasks"]

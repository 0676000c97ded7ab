"""MJX manipulation: gantry arm + parallel gripper, three coloured objects, five object sets,
stacking pairs and pyramid tasks with dense/staged/sparse rewards; and block stacking (N cubes,
build the tallest tower, for SPiRL).

    env = helms_jax.envs.make("stacking", task="red_on_blue", object_set=4, reward="staged")
    env = helms_jax.envs.make("block_stacking", num_blocks=5, observed_blocks=3)
"""

from helms_jax.envs.manipulation import scene, tasks
from helms_jax.envs.manipulation.blocks import BlockStacking
from helms_jax.envs.manipulation.stacking import OBSERVATION_GROUPS, Stacking
from helms_jax.envs.registry import register

register("stacking", Stacking)
register("block_stacking", BlockStacking)

# Registers the "block_stacking" expert (the stacking expert is imported lazily by `experts`).
from helms_jax.envs.manipulation import block_expert  # pylint: disable=wrong-import-position

__all__ = ["OBSERVATION_GROUPS", "BlockStacking", "Stacking", "scene", "tasks"]

"""SPiRL point-mass maze in MJX: random "walls with doorways" layouts, a fixed large maze, and a
BFS planner expert.

    env = helms_jax.envs.make("maze", layout="random", size=5)   # or layout="large"
    expert = helms_jax.envs.experts.expert_for("maze", env, noise_scale=0.1)
"""

from helms_jax.envs.maze import layout
from helms_jax.envs.maze.env import Episode, Maze, MazeSpec, occupancy_image
from helms_jax.envs.maze.expert import make_expert
from helms_jax.envs.maze.layout import Layout, wall_segments

__all__ = ["Episode", "Layout", "Maze", "MazeSpec", "layout", "make_expert", "occupancy_image",
           "wall_segments"]

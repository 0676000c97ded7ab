"""Behaviour cloning on `point_reach` (2-D point mass reaching a goal): the fast pipeline.

The BC baseline on the cheapest env: the whole pipeline (scripted expert data → BC → evaluation
against the expert and a random policy → report) in about a minute at `tiny`, which is why the
pipeline, resume and device-count tests run it.

Usage:
  helms-pipeline --config=experiments/bc_point_reach.py:tiny --workdir=runs/bc_tiny
"""

from experiments._base import VARIANTS, pipeline_config  # pylint: disable=unused-import


def get_config(variant: str = "default"):
  c = pipeline_config("bc_point_reach", variant)
  c.env.name = "point_reach"
  c.env.kwargs = {"reward": "dense"}
  c.env.episode_length = 100
  c.data.expert_noise = 0.3
  c.data.num_envs = 250
  c.data.episodes_per_shard = 500
  c.eval.num_episodes = 256
  if variant == "tiny":
    c.env.episode_length = 50
    c.data.num_episodes = 64
    c.data.num_envs = 32
    c.data.episodes_per_shard = 32
    c.eval.num_episodes = 32
  return c

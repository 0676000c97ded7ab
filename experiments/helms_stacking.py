"""The HeLMS pipeline: generate data → learn skills offline → transfer → report.

Variants: `default` (the README's main job) and `tiny` (end to end in about a minute on CPU,
used by tests).

Status: the stages and their plumbing are real and run end to end today on the stand-ins that
have landed: the `point_reach` env with its scripted expert, and behaviour cloning as the offline
learner. The MJX stacking env (issue 3), the HeLMS learner (issue 4) and the transfer stage
(issue 5) replace `env`, `learner` and add `transfer` here as they land.

Usage:
  helms-pipeline --config=experiments/helms_stacking.py:tiny --workdir=runs/tiny
  helms-train --config=experiments/helms_stacking.py --config.train.num_steps=500 --workdir=...
"""

from experiments._base import VARIANTS, pipeline_config  # pylint: disable=unused-import


def get_config(variant: str = "default"):
  c = pipeline_config("helms_stacking", variant)
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

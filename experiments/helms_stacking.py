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

import ml_collections

VARIANTS = ("default", "tiny")


def get_config(variant: str = "default") -> ml_collections.ConfigDict:
  if variant not in VARIANTS:
    raise ValueError(f"unknown variant {variant!r} of helms_stacking; valid: {', '.join(VARIANTS)}")
  c = ml_collections.ConfigDict()
  c.experiment = "helms_stacking"
  c.variant = variant
  c.seed = 0
  # JAX persistent compilation cache; '' means <workdir parent>/.jax_cache, 'none' disables it.
  c.compilation_cache_dir = ""

  c.env = ml_collections.ConfigDict()
  c.env.name = "point_reach"
  c.env.kwargs = ml_collections.ConfigDict({"reward": "dense"})
  c.env.episode_length = 100

  c.data = ml_collections.ConfigDict()
  c.data.dir = ""  # '' means <workdir>/data
  c.data.expert_noise = 0.3
  c.data.num_episodes = 2000
  c.data.num_envs = 250  # episodes generated in parallel (vmapped)
  c.data.episodes_per_shard = 500

  c.learner = ml_collections.ConfigDict()
  c.learner.name = "bc"
  c.learner.hidden_sizes = (256, 256)
  c.learner.learning_rate = 1e-3
  c.learner.max_grad_norm = 10.0

  c.train = ml_collections.ConfigDict()
  c.train.num_steps = 20_000
  c.train.batch_size = 256
  c.train.window = 1
  c.train.lookahead = 0
  c.train.updates_per_call = 100
  c.train.log_every = 500
  c.train.checkpoint_every = 2000
  c.train.max_to_keep = 3
  c.train.tensorboard = True

  c.eval = ml_collections.ConfigDict()
  c.eval.num_episodes = 256
  c.eval.deterministic = True

  if variant == "tiny":
    c.env.episode_length = 50
    c.data.num_episodes = 64
    c.data.num_envs = 32
    c.data.episodes_per_shard = 32
    c.learner.hidden_sizes = (32, 32)
    c.train.num_steps = 200
    c.train.batch_size = 32
    c.train.updates_per_call = 10
    c.train.log_every = 50
    c.train.checkpoint_every = 100
    c.eval.num_episodes = 32
  return c

"""Sections shared by the experiment configs: run settings, data, offline learner, train, eval.

Each experiment's `get_config(variant)` starts from `pipeline_config(...)` and sets its env and
data; `tiny` shrinks everything so the config runs end to end in about a minute on a CPU.
"""

import ml_collections

VARIANTS = ("default", "tiny")


def pipeline_config(experiment: str, variant: str) -> ml_collections.ConfigDict:
  if variant not in VARIANTS:
    raise ValueError(f"unknown variant {variant!r} of {experiment}; valid: {', '.join(VARIANTS)}")
  tiny = variant == "tiny"
  c = ml_collections.ConfigDict()
  c.experiment = experiment
  c.variant = variant
  c.seed = 0
  # JAX persistent compilation cache; '' means <workdir parent>/.jax_cache, 'none' disables it.
  c.compilation_cache_dir = ""

  c.env = ml_collections.ConfigDict()  # name, kwargs, episode_length: set by the experiment

  c.data = ml_collections.ConfigDict()
  c.data.dir = ""  # '' means <workdir>/data
  c.data.expert_noise = 0.2
  c.data.num_episodes = 2000
  c.data.num_envs = 64  # episodes generated in parallel (one compiled, vmapped rollout)
  c.data.episodes_per_shard = 256
  c.data.object_sets = ()  # () = the env's own object_set; see all_pairs_stacking.py

  c.learner = ml_collections.ConfigDict()
  c.learner.name = "bc"
  c.learner.hidden_sizes = (32, 32) if tiny else (256, 256)
  c.learner.learning_rate = 1e-3
  c.learner.max_grad_norm = 10.0

  c.train = ml_collections.ConfigDict()
  c.train.num_steps = 200 if tiny else 20_000
  c.train.batch_size = 32 if tiny else 256
  c.train.window = 1
  c.train.lookahead = 0
  c.train.updates_per_call = 10 if tiny else 100
  c.train.log_every = 50 if tiny else 500
  c.train.checkpoint_every = 100 if tiny else 2000
  c.train.max_to_keep = 3
  c.train.tensorboard = True

  c.eval = ml_collections.ConfigDict()
  c.eval.num_episodes = 64
  c.eval.deterministic = True
  return c

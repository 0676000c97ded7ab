"""Stacking data: red on blue, object set 4 (three 5 cm cubes), scripted noisy expert.

The dataset stage (`helms-data`) rolls out the stacking state-machine expert
(`helms_jax/envs/manipulation/expert.py`) in the MJX stacking env and writes episodes with
`episode/success` and `episode/task_id`. The learner/train/eval sections mirror
`helms_stacking.py` so the later stages can run on this data.

Cost on this 2-core CPU (shared with other jobs, 2026-11): compiling the stacking rollout takes
2-5 min (≈2 min on a quiet machine; once per launch), then ≈1.8k env steps/s at 64 parallel
envs (a 64 x 200-step rollout in ≈7 s). `default` = 2000 episodes x 150 steps = 300k steps ≈
3 min of rollouts, ≈5-8 min in all (measured: 192 episodes took 5.6 min including a 5 min
compile under load). `tiny` (16 episodes x 100 steps) ≈ 2-4 min, almost all compilation.

Usage:
  helms-data --config=experiments/red_on_blue_stacking.py:tiny --workdir=runs/rob_tiny
  helms-data --config=experiments/red_on_blue_stacking.py --workdir=runs/red_on_blue
"""

import ml_collections

VARIANTS = ("default", "tiny")


def get_config(variant: str = "default") -> ml_collections.ConfigDict:
  if variant not in VARIANTS:
    raise ValueError(f"unknown variant {variant!r} of red_on_blue_stacking; valid: "
                     f"{', '.join(VARIANTS)}")
  c = ml_collections.ConfigDict()
  c.experiment = "red_on_blue_stacking"
  c.variant = variant
  c.seed = 0
  # JAX persistent compilation cache; '' means <workdir parent>/.jax_cache, 'none' disables it.
  c.compilation_cache_dir = ""

  c.env = ml_collections.ConfigDict()
  c.env.name = "stacking"
  c.env.kwargs = ml_collections.ConfigDict(
      {"task": "red_on_blue", "object_set": 4, "reward": "staged"})
  c.env.episode_length = 150  # the expert stacks in ~80 steps (4 s at 20 Hz)

  c.data = ml_collections.ConfigDict()
  c.data.dir = ""  # '' means <workdir>/data
  c.data.expert_noise = 0.2
  c.data.num_episodes = 2000
  c.data.num_envs = 64  # episodes generated in parallel (one compiled, vmapped rollout)
  c.data.episodes_per_shard = 256
  c.data.object_sets = ()  # () = the env's own object_set; see all_pairs_stacking.py

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
  c.eval.num_episodes = 64
  c.eval.deterministic = True

  if variant == "tiny":
    c.env.episode_length = 100
    c.data.num_episodes = 16
    c.data.num_envs = 8
    c.data.episodes_per_shard = 8
    c.learner.hidden_sizes = (32, 32)
    c.train.num_steps = 200
    c.train.batch_size = 32
    c.train.updates_per_call = 10
    c.train.log_every = 50
    c.train.checkpoint_every = 100
    c.eval.num_episodes = 8
  return c

"""The HeLMS pipeline: generate data → learn skills offline → evaluate → analyse → report.

The README's main job. The stacking expert generates `red_on_blue` episodes on object set 4
(three cubes); HeLMS learns K = 5 skills from them (agents/helms/offline.py); the report shows
the learned transition prior, skill usage and each skill's behaviour held fixed (Figure 3 of
the paper), and the checkpoint in `<workdir>/checkpoints/` is what transfer loads.

Variants (modifiers combine with `tiny`, e.g. `discrete_only,tiny`):
  default          sized for about 15 minutes on a 2-core CPU: 512 episodes, 6000 updates
                   of batch 64 x 16 steps, 128-unit networks (≈20 updates/s here).
  tiny             end to end in a few minutes on CPU (tests): 16 episodes, 40 updates.
  discrete_only    zero-variance skill components (z = component mean, no KL on z).
  continuous_only  K = 1: the NPMP+KL continuous skill space (a baseline for transfer).
Full-scale data and training are `red_on_blue_stacking.py` (K=5) and `all_pairs_stacking.py`
(K=10).

Usage:
  helms-pipeline --config=experiments/helms_stacking.py --workdir=runs/main
  helms-pipeline --config=experiments/helms_stacking.py:discrete_only,tiny --workdir=runs/d
"""

from experiments._base import pipeline_config, set_helms_learner, variant_parts

MODIFIERS = ("discrete_only", "continuous_only")


def get_config(variant: str = "default"):
  parts = variant_parts("helms_stacking", variant, MODIFIERS)
  tiny = "tiny" in parts
  c = pipeline_config("helms_stacking", variant, MODIFIERS)
  c.env.name = "stacking"
  c.env.kwargs = {"task": "red_on_blue", "object_set": 4, "reward": "staged"}
  c.env.episode_length = 150  # the expert stacks in ~80 steps (4 s at 20 Hz)
  set_helms_learner(c, num_skills=5, tiny=tiny)
  if tiny:
    c.env.episode_length = 60
  else:
    c.data.num_episodes = 512
    c.data.episodes_per_shard = 128
    c.train.num_steps = 6000
    c.train.updates_per_call = 50
    c.train.log_every = 250
    c.train.checkpoint_every = 1000
  # Same shape as a data-generation batch, so the expert's evaluation rollout is a cache hit.
  c.eval.num_episodes = c.data.num_envs
  if "discrete_only" in parts:
    c.learner.components = "discrete_only"
  if "continuous_only" in parts:
    c.learner.components = "continuous_only"
    c.learner.num_skills = 1
  return c

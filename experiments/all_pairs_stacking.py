"""Stacking data: all six ordered pairs over all five object sets, scripted noisy expert.

The dataset stage (`helms-data`) rolls out the stacking state-machine expert
(`helms_jax/envs/manipulation/expert.py`) in the MJX stacking env with `task="all_pairs"` (a
pair drawn per episode; the expert reads it from the `task` observation group). The object set
changes the MJX model, so episodes are generated set by set (`data.object_sets`, an equal share
of `data.num_episodes` each, one compilation per set) and carry `episode/object_set`,
`episode/task_id` (index into `tasks.TASKS`) and `episode/success`. The learner/train/eval sections mirror
`helms_stacking.py` so the later stages can run on this data.

Variants: `default`, `tiny`, and the skill models of the transfer baselines on the same data
(`npmp`, `hier_bc`, `bc`, `discrete_only`, `continuous_only`; `experiments/_base.py`
`set_skill_model`), e.g. `npmp` or `npmp,tiny`.

Cost on this 2-core CPU (shared with other jobs, 2026-11): one compilation per object set, 2-5
min each (≈2 min on a quiet machine), then ≈1.8k env steps/s at 64 parallel envs (measured on
set 4). `default` = 5000 episodes x 150 steps = 750k steps ≈ 7 min of rollouts + 5
compilations, ≈20-30 min in all. `tiny` (two sets, 16 episodes) ≈ 4-8 min, almost all
compilation.

Usage:
  helms-data --config=experiments/all_pairs_stacking.py:tiny --workdir=runs/pairs_tiny
  helms-data --config=experiments/all_pairs_stacking.py --workdir=runs/all_pairs
"""

from experiments._base import (SKILL_MODELS, pipeline_config, set_helms_learner, set_skill_model,
                               variant_parts)


def get_config(variant: str = "default"):
  parts = variant_parts("all_pairs_stacking", variant, SKILL_MODELS)
  tiny = "tiny" in parts
  c = pipeline_config("all_pairs_stacking", variant, SKILL_MODELS)
  c.env.name = "stacking"
  c.env.kwargs = {"task": "all_pairs", "object_set": 4, "objects": "rgb", "reward": "rgb_staged"}
  # The expert stacks in ~80 steps (4 s at 20 Hz).
  c.env.episode_length = 100 if tiny else 150
  c.data.object_sets = (1, 2, 3, 4, 5)  # overrides env.kwargs.object_set, set by set
  set_helms_learner(c, num_skills=10, tiny=tiny)
  set_skill_model(c, "all_pairs_stacking", variant, parts)  # the baselines on the same data
  if tiny:
    c.data.object_sets = (3, 4)  # two sets: the per-set path at two compilations
  else:
    c.data.num_episodes = 5000  # 1000 per object set, ~167 per (pair, set)
  return c

"""Object generalisation (HeLMS paper 4.3): skills learnt on red-on-blue with object set 4, reused
by RL on red-on-blue with other object sets, staged-sparse reward.

Variants: `<method>[,set1|set2|set3|set4|set5][,tiny]`, methods in `experiments/_transfer.py`
(mpo, bc_mpo, helms_cat, helms_mix, npmp_kl, hier_bc); the object set defaults to 4 (the skills'
own set). Skills come from `helms_stacking` (the CPU-sized red_on_blue set-4 skills of the main
job); `--config.transfer.skills_dir` points at their workdir.

Budget (`default`): 3 seeds x 96k env steps (640 episodes of 150 steps) per seed, 32 envs per
seed, 8 updates of batch 128 x 5-step sequences per 320 env steps; the reproduction's run script
(docs/results/transfer_object_generalization/run.sh) passes 300,800 env steps. Measured times on
this CPU: that README.

Usage:
  helms-pipeline --config=experiments/helms_stacking.py --workdir=runs/skills
  helms-transfer --config=experiments/transfer_object_generalization.py:helms_cat,set3 \
      --workdir=runs/og/helms_cat_set3 --config.transfer.skills_dir=runs/skills
"""

from experiments._base import choose_one
from experiments._transfer import transfer_config

SETS = ("set1", "set2", "set3", "set4", "set5")


def get_config(variant: str = "helms_cat"):
  c, parts = transfer_config("transfer_object_generalization", variant, SETS)
  object_set = int(choose_one(variant, parts, SETS, "set4", "object sets")[-1])
  c.transfer.env_kwargs = {"object_set": object_set, "reward": "rgb_staged"}
  return c

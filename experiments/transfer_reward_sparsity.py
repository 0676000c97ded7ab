"""Reward sparsity (HeLMS paper 4.3): red-on-blue on object set 4 with a dense, staged (the
default) or sparse reward, RL from the set-4 skills.

Variants: `<method>[,dense|staged|sparse][,tiny]`; methods in `experiments/_transfer.py`.

Usage:
  helms-transfer --config=experiments/transfer_reward_sparsity.py:helms_mix,sparse \
      --workdir=runs/sparsity/helms_mix_sparse --config.transfer.skills_dir=runs/skills
"""

from experiments._base import choose_one
from experiments._transfer import transfer_config

REWARDS = ("dense", "staged", "sparse")


def get_config(variant: str = "helms_cat"):
  c, parts = transfer_config("transfer_reward_sparsity", variant, REWARDS)
  c.transfer.env_kwargs = {"object_set": 4,
                           "reward": choose_one(variant, parts, REWARDS, "staged", "rewards")}
  return c

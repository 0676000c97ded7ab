"""Reward sparsity (HeLMS paper 4.3, Figure 7): red-on-blue on object set 4 with a dense, staged
(the default) or sparse reward, RL from the set-4 skills. The rewards are the RGB-Stacking
benchmark's (`envs.manipulation.tasks`): dense = `rgb_shaped` (five shaped stages), staged =
`rgb_staged` (reward only as each sub-goal completes), sparse = `rgb_sparse` (red stacked on blue
with the gripper away).

Variants: `<method>[,dense|staged|sparse][,tiny]`; methods in `experiments/_transfer.py`.

Usage:
  helms-transfer --config=experiments/transfer_reward_sparsity.py:helms_mix,sparse \
      --workdir=runs/sparsity/helms_mix_sparse --config.transfer.skills_dir=runs/skills
"""

from experiments._base import choose_one
from experiments._transfer import transfer_config

REWARDS = ("dense", "staged", "sparse")
ENV_REWARD = {"dense": "rgb_shaped", "staged": "rgb_staged", "sparse": "rgb_sparse"}


def get_config(variant: str = "helms_cat"):
  c, parts = transfer_config("transfer_reward_sparsity", variant, REWARDS)
  reward = choose_one(variant, parts, REWARDS, "staged", "rewards")
  c.transfer.env_kwargs = {"object_set": 4, "reward": ENV_REWARD[reward]}
  # The panel's runs (from 2026-12-05) improve the policy at each sequence's first state; the
  # later experiments' "next" (experiments/_transfer.py) was checked against it on this panel.
  c.transfer.agent.policy_states = "first"
  return c

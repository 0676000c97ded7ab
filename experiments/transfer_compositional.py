"""Compositional reuse (HeLMS paper 4.3, Figure 5): K = 10 skills learnt from all six stacking
pairs over all object sets (`all_pairs_stacking`), reused by RL on the pyramid task (set 4,
staged reward).

Variants: `<method>[,tiny]`, methods in `experiments/_transfer.py` (helms_cat (default),
helms_mix, npmp_kl, mpo, bc_mpo, hier_bc). Every method's skills are trained on the all-pairs
data: HeLMS with `helms-pipeline --config=experiments/all_pairs_stacking.py`, the baselines with
`helms-train --config=experiments/all_pairs_stacking.py:<npmp|hier_bc|bc>` on that data
(`docs/results/transfer_compositional/run.sh` runs it all); `--config.transfer.skills_dir`
points at the method's skills workdir.
"""

from experiments import all_pairs_stacking
from experiments._base import choose_one, variant_parts
from experiments._transfer import LABELS, METHODS, skills_variant, transfer_config

COMPOSITIONAL_METHODS = METHODS


def get_config(variant: str = "helms_cat"):
  parts = variant_parts("transfer_compositional", variant, COMPOSITIONAL_METHODS)
  method = choose_one(variant, parts, COMPOSITIONAL_METHODS, "helms_cat", "methods")
  tiny = "tiny" in parts
  c, _ = transfer_config("transfer_compositional", method + (",tiny" if tiny else ""))
  skills = all_pairs_stacking.get_config(skills_variant(method, tiny))
  for section in ("env", "data", "learner", "train"):
    c[section] = skills[section]
  c.variant = variant
  c.transfer.label = LABELS[method]
  # The RGB-Stacking benchmark defines no pyramid reward: ours ("staged", six sub-goals).
  c.transfer.env_kwargs = {"task": "pyramid", "object_set": 4, "reward": "staged"}
  # Two moves: the scripted expert completes the pyramid in 160-230 steps (36 % within 200, 83 %
  # within 300; envs/manipulation/expert.py), so the task's episodes are 300 steps where the
  # skills' all-pairs episodes (one move) are 150.
  if not tiny:
    c.transfer.episode_length = 300
  return c

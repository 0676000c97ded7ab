"""Zero-shot exploration (HeLMS paper Table 1): the policies every method starts RL from, rolled
out for 1000 episodes on red-on-blue, set 4: mean return under the dense and the staged reward,
and state coverage (per-episode variance of arm joints, grasp and object states).

Rows: MPO (a freshly initialised Gaussian policy), NPMP (NPMP + KL's new Gaussian policy over
z through the NPMP low level), BC (the flat BC policy), Hier. BC (hierarchical BC's high and low
level) and HeLMS (uniform over the K = 5 skills). The skills load from
`<exploration.skills_root>/<name>` with names `default`, `npmp`, `bc`, `hier_bc` (the
`helms_stacking` variants), e.g.

  for v in default npmp bc hier_bc; do
    helms-pipeline --config=experiments/helms_stacking.py:$v --workdir=runs/skills/$v \
        --config.data.dir=runs/skills/default/data; done
  helms-explore --config=experiments/exploration_stacking.py --workdir=runs/exploration \
      --config.exploration.skills_root=runs/skills

Variants: `default` (1000 episodes), `tiny` (16 episodes, tiny skill configs).
"""

import ml_collections

from experiments import helms_stacking
from experiments._base import variant_parts
from experiments._transfer import transfer_config

ROWS = (("MPO", "mpo"), ("NPMP", "npmp_kl"), ("BC", "bc_mpo"), ("Hier BC", "hier_bc"),
        ("HeLMS", "helms_cat"))  # (row label: no dots, it is a config key; method)


def get_config(variant: str = "default"):
  tiny = "tiny" in variant_parts("exploration_stacking", variant)
  suffix = ",tiny" if tiny else ""
  c = helms_stacking.get_config("tiny" if tiny else "default")
  c.experiment, c.variant = "exploration_stacking", variant
  c.exploration = ml_collections.ConfigDict()
  c.exploration.skills_root = ""
  c.exploration.num_episodes = 16 if tiny else 1000
  c.exploration.batch_size = 8 if tiny else 100
  c.exploration.env_kwargs = {"object_set": 4}
  c.exploration.methods = ml_collections.ConfigDict(
      {label: transfer_config("transfer_object_generalization", method + suffix)[0]
       for label, method in ROWS})
  return c

"""Ablations (HeLMS paper 4.5) on red-on-blue with the RGB-Stacking staged reward (rgb_staged),
object set 4 (the skills' own, the paper's easy case) or set 3 (its hard case):

  discrete_only   HeLMS-cat over skills with zero-variance components (helms_stacking:
                  discrete_only): the discrete part alone;
  continuous_only HeLMS-mix over skills with one Gaussian component (helms_stacking:
                  continuous_only, K = 1): the continuous part alone (the paper calls it
                  equivalent to NPMP+KL; ours keeps HeLMS's networks and look-ahead);
  both            = helms_mix (the full mixture);
  eta_z_0, eta_z_0.01, eta_z_0.1   HeLMS-mix with eta_z = 0 / 0.01 / 0.1 (default 1);
  beta_z_0.001, beta_z_0.1   HeLMS-mix over skills trained with beta_z = 0.001 / 0.1 (their
                  own skills_dir: the offline config differs).

Variants: one of the above (default `both`), optionally `,set3` or `,set4` (default) and
`,tiny`. `docs/results/transfer_ablations/run.sh` runs the paper's Figure 8 and the KL ablation.

Usage:
  helms-transfer --config=experiments/transfer_ablations.py:eta_z_0 --workdir=runs/abl/eta0 \
      --config.transfer.skills_dir=runs/skills
"""

from experiments import helms_stacking
from experiments._base import choose_one, variant_parts
from experiments._transfer import transfer_config

ABLATIONS = ("discrete_only", "continuous_only", "both", "eta_z_0", "eta_z_0.01", "eta_z_0.1",
             "beta_z_0.001", "beta_z_0.1")
SETS = ("set3", "set4")


def get_config(variant: str = "both"):
  parts = variant_parts("transfer_ablations", variant, ABLATIONS + SETS)
  ablation = choose_one(variant, parts, ABLATIONS, "both", "ablations")
  object_set = int(choose_one(variant, parts, SETS, "set4", "object sets")[-1])
  tiny = ",tiny" if "tiny" in parts else ""
  method = {"discrete_only": "helms_cat"}.get(ablation, "helms_mix")
  c, _ = transfer_config("transfer_ablations", method + tiny)
  c.variant = variant
  c.transfer.label = ablation
  c.transfer.env_kwargs = {"object_set": object_set, "reward": "rgb_staged"}
  if ablation in ("discrete_only", "continuous_only"):
    c.learner = helms_stacking.get_config(ablation + tiny).learner
    c.transfer.skills_name = ablation
  if ablation.startswith("eta_z_"):
    c.transfer.agent.eta_z = float(ablation[len("eta_z_"):])
  if ablation.startswith("beta_z_"):
    c.learner.beta_z = float(ablation[len("beta_z_"):])
  return c

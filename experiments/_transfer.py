"""Transfer configs: an offline skill config (`helms_stacking`) plus a `transfer` section.

A transfer variant is `<method>[,<modifier>...][,tiny]`. The method decides which offline skills
the run needs (its `learner` section is that skill config, so a checkpoint made with it loads),
and how MPO uses them:

  mpo        MPO from scratch on raw actions (no skills).
  bc_mpo     flat BC (helms_stacking:bc), then MPO fine-tuning.
  helms_cat  HeLMS-cat over the K = 5 skills (helms_stacking:default); KL to uniform, eta_y.
  helms_mix  HeLMS-mix over the same skills; KL to the offline skills, eta_y and eta_z.
  npmp_kl    NPMP (helms_stacking:npmp) with a new Gaussian policy over z, KL-regularised to the
             AR(1) latent prior (eta_z): NPMP + KL.
  hier_bc    hierarchical BC (helms_stacking:hier_bc), the whole model fine-tuned by MPO.

Skills are trained once per skill config and shared: pass `--config.transfer.skills_dir`.
"""

from __future__ import annotations

import ml_collections

from experiments import _base, helms_stacking

METHODS = ("mpo", "bc_mpo", "helms_cat", "helms_mix", "npmp_kl", "hier_bc")
# method -> (helms_stacking skill modifier or None, transfer.method)
SKILLS = {"mpo": (None, "mpo"), "bc_mpo": ("bc", "bc_mpo"), "helms_cat": (None, "helms_cat"),
          "helms_mix": (None, "helms_mix"), "npmp_kl": ("npmp", "npmp_kl"),
          "hier_bc": ("hier_bc", "hier_bc")}
LABELS = {"mpo": "MPO", "bc_mpo": "BC+MPO", "helms_cat": "HeLMS-cat", "helms_mix": "HeLMS-mix",
          "npmp_kl": "NPMP+KL", "hier_bc": "Hier. BC"}
# Each method's KL regulariser (equations 4 and 5; `transfer.agent` fields). The paper gives no
# values: eta_y and NPMP's eta_z are ours, comparable to a per-step reward. HeLMS-mix's were set
# by 102,400-step diagnostics on the sparse stacking reward (set 4; docs/results/reward_sparsity/
# README.md): at eta_z = 0.01 its components drift from the skills (KL 20-30 nats by 100k env
# steps) and it loses the skills' reward, and with the KL in the critic's return the KL between
# narrow Gaussians (median 0.2 nats, 99.9th percentile 17-108, max 2,329 at eta_z = 1) swamps a
# 0/1 reward (critic loss up to 22,000); eta_z = 1 with the KL on the policy update alone holds
# the components at ~0.5 nats and keeps a healthy critic.
KL_REGULARISER = {"helms_cat": dict(eta_y=0.01),
                  "helms_mix": dict(eta_y=0.01, eta_z=1.0, kl_in_return=False),
                  "npmp_kl": dict(eta_z=0.01)}
# Where every method's MPO improves its policy (`transfer.agent.policy_states`): at each sampled
# sequence's n-step bootstrap state, as Acme's TF MPO learner does, on the actions and target Q
# the critic's V(x_n) drew: one target critic pass per update instead of two (HeLMS-mix's loop
# 1.21x, MPO's update 43 % fewer flops). Checked against "first" on HeLMS-mix staged before
# adopting it (docs/results/reward_sparsity/policy_states.json); reward_sparsity keeps "first",
# which all of its runs used.
POLICY_STATES = "next"


def skills_variant(method: str, tiny: bool) -> str:
  """The variant of a stacking data config (helms_stacking, all_pairs_stacking) that trains
  `method`'s skills: its skill model (SKILLS), with `tiny`; "default" for HeLMS and MPO."""
  return ",".join(p for p in (SKILLS[method][0], "tiny" if tiny else None) if p) or "default"


def transfer_config(experiment: str, variant: str, modifiers=()) -> tuple[
    ml_collections.ConfigDict, set[str]]:
  """The skill config of the variant's method with a `transfer` section (sized by `tiny`).

  Returns (config, variant parts) so the experiment can apply its own modifiers.
  """
  from helms_jax.agents.helms import downstream as transfer  # pylint: disable=import-outside-toplevel
  parts = _base.variant_parts(experiment, variant, METHODS + tuple(modifiers))
  tiny = "tiny" in parts
  method = _base.choose_one(variant, parts, METHODS, "helms_cat", "methods")
  skill_modifier, transfer_method = SKILLS[method]
  c = helms_stacking.get_config(skills_variant(method, tiny))
  c.experiment, c.variant = experiment, variant
  t = c.transfer  # helms_stacking's transfer sizes (tiny or default), method replaced
  target_update_period = t.agent.target_update_period  # helms_stacking's budget setting
  t.agent = transfer.default_config().agent
  t.agent.target_update_period = target_update_period
  if tiny:
    t.agent.critic_hidden, t.agent.num_samples = (32, 32), 4
  t.agent.policy_states = POLICY_STATES
  t.method, t.label = transfer_method, LABELS[method]
  t.skills_name = skill_modifier or "default"  # conventional subdir of a skills root
  # HeLMS-mix reads its frozen prior (K mid-level networks) from the replay, not per update.
  t.cache_prior = transfer_method == "helms_mix"
  for key, value in KL_REGULARISER.get(method, {}).items():
    t.agent[key] = value
  if not tiny:  # the comparison budget (helms_stacking's own transfer is a short demo)
    t.loop.env_steps, t.loop.replay_capacity, t.loop.checkpoint_every_calls = 96_000, 200_000, 10
  return c, parts

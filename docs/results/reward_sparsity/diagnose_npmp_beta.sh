#!/usr/bin/env bash
# NPMP's offline KL weight beta, diagnosed before issue 24's runs (NPMP + KL is the paper's
# strongest baseline; ours earns no staged reward, diagnostics_npmp_kl.csv). The NPMP skills'
# own training log at the config's beta = 0.01 shows a posterior far from the AR(1) prior
# (encoder std 0.013 vs the prior's conditional 0.31, latent RMS 2.18, KL 40.8 nats per step),
# so a new high-level policy whose z start near the prior drives the low level off the codes it
# was trained on. Arms: NPMP retrained on the same data (skills/default/data) at
#   beta_0.1, beta_1   learner.beta 0.1 / 1.0, everything else the helms_stacking npmp variant
# then NPMP + KL transferred from each as run.sh's npmp_kl,staged command (3 seeds x 102,400
# env steps; the config's beta = 0.01 is the staged run's first 102,400 env steps, not re-run).
# Rule, fixed before these runs: NPMP takes the beta with the highest mean staged episode return
# over 76,800-102,400 env steps (the beta = 0.01 staged run's: 0.000); if none exceeds 0.01, the
# config's beta stays. Then diagnostics_npmp_beta.csv (the beta = 0.01 arm's points are
# diagnostics_npmp_kl.csv's config_kl_return_0.01).
#   docs/results/reward_sparsity/diagnose_npmp_beta.sh <runs dir>      (from the repository root)
set -euo pipefail
R=${1:-runs/exploration_stacking}
source docs/results/exploration_stacking/skills_of.sh
require_skills "$R"
C=experiments/transfer_reward_sparsity.py:npmp_kl,staged
arms=()
for beta in 0.1 1.0; do
  skills=$R/diag_npmp_beta/beta_$beta/skills
  mkdir -p "$skills"
  for s in default hier_bc bc; do ln -sfn "$(cd "$R/skills/$s" && pwd)" "$skills/$s"; done
  helms-train --config=experiments/helms_stacking.py:npmp --workdir="$skills/npmp" \
      --config.data.dir="$R/skills/default/data" --config.learner.beta=$beta \
      --config.data.expert_noise_max=0 --config.data.expert_excursion_max=0
  run_transfer "$R/diag_npmp_beta/beta_$beta" $C npmp_kl "$R/diag_npmp_beta/beta_$beta/staged" \
      102400 --config.learner.beta=$beta
  arms+=("beta_$beta=$R/diag_npmp_beta/beta_$beta/staged")
done
python docs/results/reward_sparsity/diagnostics_table.py diagnostics_npmp_beta.csv "${arms[@]}"

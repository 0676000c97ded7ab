#!/usr/bin/env bash
# NPMP + KL's KL regulariser, diagnosed as HeLMS-mix's was (diagnostics_helms_mix.csv), before
# its sparse run and issue 24's runs: the paper's NPMP + KL learns the staged reward (its
# strongest baseline, Figures 4 and 7), ours earned none at eta_z = 0.01 with the KL in the
# critic's return (0.000 +- 0.000 over 300,800 env steps), its KL to the AR(1) prior starting at
# 100-190 nats. Arms, 3 seeds x 102,400 env steps each on the staged reward, run.sh's command for
# npmp_kl,staged plus the overrides named (the config's own setting is the staged run's first
# 102,400 env steps, not re-run):
#   kl_policy_0.01  eta_z 0.01, KL on the policy update only
#   kl_policy_1     eta_z 1, KL on the policy update only
#   no_kl           eta_z 0 (MPO over the NPMP latent space, no regulariser)
# Rule, fixed before these runs: NPMP + KL takes the arm (or the config's setting) with the
# highest mean staged episode return over 76,800-102,400 env steps; if none exceeds 0.01, the
# config's setting stays. Then diagnostics_npmp_kl.csv.
#   docs/results/reward_sparsity/diagnose_npmp_kl.sh <runs dir>      (from the repository root)
set -euo pipefail
R=${1:-runs/exploration_stacking}
source docs/results/exploration_stacking/skills_of.sh
require_skills "$R"
C=experiments/transfer_reward_sparsity.py:npmp_kl,staged
run_transfer "$R" $C npmp_kl "$R/diag_npmp/kl_policy_0.01" 102400 \
    --config.transfer.agent.eta_z=0.01 --config.transfer.agent.kl_in_return=False
run_transfer "$R" $C npmp_kl "$R/diag_npmp/kl_policy_1" 102400 \
    --config.transfer.agent.eta_z=1.0 --config.transfer.agent.kl_in_return=False
run_transfer "$R" $C npmp_kl "$R/diag_npmp/no_kl" 102400 --config.transfer.agent.eta_z=0.0
python docs/results/reward_sparsity/diagnostics_table.py diagnostics_npmp_kl.csv \
    config_kl_return_0.01="$R/sparsity/npmp_kl_staged" kl_policy_0.01="$R/diag_npmp/kl_policy_0.01" \
    kl_policy_1="$R/diag_npmp/kl_policy_1" no_kl="$R/diag_npmp/no_kl"

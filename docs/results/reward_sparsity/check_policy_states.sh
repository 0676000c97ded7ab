#!/usr/bin/env bash
# MPO's policy_states="next" (the E-step at each sequence's n-step bootstrap state, as Acme's TF
# MPO learner; one target critic pass per update instead of two) against "first", which every
# run of this panel uses, before adopting it elsewhere: HeLMS-mix on the staged reward, run.sh's
# command for that run plus the one flag, 3 seeds x 300,800 env steps. Then the comparison:
#   docs/results/reward_sparsity/check_policy_states.sh <runs dir>     (from the repository root)
# (<runs dir> as run.sh's; its sparsity/helms_mix_staged must have finished.)
set -euo pipefail
R=${1:-runs/exploration_stacking}
source docs/results/exploration_stacking/skills_of.sh
require_skills "$R"
start=$(date +%s)
run_transfer "$R" experiments/transfer_reward_sparsity.py:helms_mix,staged helms_mix \
    "$R/policy_states_next/helms_mix_staged" 300800 --config.transfer.agent.policy_states=next
python docs/results/reward_sparsity/compare_policy_states.py "$R" $(( $(date +%s) - start ))

#!/usr/bin/env bash
# HeLMS Figure 4, object generalisation (issue 24 item 1): every command, in order, from the
# repository root.
#   docs/results/transfer_object_generalization/run.sh <runs dir> [<env steps per seed>]
# Skills: <runs dir>/skills/{default,npmp,hier_bc,bc}, red on blue on the RGB-Stacking set 4
# objects, as docs/results/exploration_stacking/run.sh trains them (same runs dir; the skills
# docs/results/reward_sparsity/ reuses). Transfer: red on blue with the staged reward on each
# unseen object set 1, 2, 3, 5, each method's 3 seeds together, set by set. curves.csv /
# claims.json / reports are rebuilt after each run; every run resumes from its checkpoints.
# HELMS_LEARNER="<field>=<value> ..." (environment): the HeLMS skills' learner settings when they
# were trained with other than the config's (exploration_stacking/run.sh's HELMS_LEARNER).
set -euo pipefail
R=${1:-runs/exploration_stacking}
STEPS=${2:-300800}  # a multiple of the loop's 3,200 env steps per call (94)
C=experiments/transfer_object_generalization.py
source docs/results/exploration_stacking/skills_of.sh
require_skills "$R"
learner_flags helms_cat > /dev/null  # a malformed HELMS_LEARNER stops here, not mid-run
start=$(date +%s)
for set in set1 set2 set3 set5; do
  for m in helms_cat helms_mix npmp_kl mpo bc_mpo hier_bc; do
    run_transfer "$R" $C:$m,$set $m $R/objects/${m}_$set $STEPS
    python docs/results/transfer_object_generalization/make_results.py "$R/objects" \
        $(( $(date +%s) - start ))
  done
done

#!/usr/bin/env bash
# HeLMS Figure 8 and the KL ablation (issue 24 items 3 and 5): every command, in order, from the
# repository root.
#   docs/results/transfer_ablations/run.sh <runs dir> [<env steps per seed>]
# Skills: <runs dir>/skills/default (HeLMS, K = 5) as docs/results/exploration_stacking/run.sh
# trains them (same runs dir), then here the discrete-only (zero-variance components) and
# continuous-only (K = 1) models on the same data. Transfer: red on blue with the staged reward
# (rgb_staged) on object set 4 (easy) and set 3 (hard): discrete-only (HeLMS-cat transfer),
# continuous-only (HeLMS-mix), and on set 3 HeLMS-mix with eta_z = 0 and 0.01 (default 1). The
# full model's runs are the other experiments' (identical commands, so whichever script runs
# first trains them and the other resumes them): set 4 = reward_sparsity's staged HeLMS runs,
# set 3 = transfer_object_generalization's; keep <env steps> equal to theirs (300,800).
# HELMS_LEARNER="<field>=<value> ..." (environment): the HeLMS learner settings the default
# skills were trained with (exploration_stacking/run.sh's); the ablated skills get them too.
set -euo pipefail
R=${1:-runs/exploration_stacking}
STEPS=${2:-300800}  # a multiple of the loop's 3,200 env steps per call (94)
C=experiments/transfer_ablations.py
source docs/results/exploration_stacking/skills_of.sh
require_skills "$R"
learner_flags helms_cat > /dev/null  # a malformed HELMS_LEARNER stops here, not mid-run
start=$(date +%s)
results() {
  python docs/results/transfer_ablations/make_results.py "$R" $(( $(date +%s) - start ))
}
# The ablated skills: the default skills' data, learner settings and data record.
for v in discrete_only continuous_only; do
  helms-train --config=experiments/helms_stacking.py:$v --workdir=$(skills_of "$R" $v) \
      --config.data.dir=$R/skills/default/data --config.data.expert_noise_max=0 \
      --config.data.expert_excursion_max=0 $(learner_flags $v)
done
for set in set4 set3; do
  for m in helms_cat helms_mix; do  # the full model (the other experiments' runs)
    if [[ $set == set4 ]]; then
      run_transfer "$R" experiments/transfer_reward_sparsity.py:$m,staged $m \
          $R/sparsity/${m}_staged $STEPS
    else
      run_transfer "$R" experiments/transfer_object_generalization.py:$m,$set $m \
          $R/objects/${m}_$set $STEPS
    fi
    results
  done
  for a in discrete_only continuous_only; do
    run_transfer "$R" $C:$a,$set $a $R/ablations/${a}_$set $STEPS
    results
  done
done
for a in eta_z_0 eta_z_0.01; do  # the KL ablation, on the hard set
  run_transfer "$R" $C:$a,set3 helms_mix $R/ablations/${a}_set3 $STEPS
  results
done

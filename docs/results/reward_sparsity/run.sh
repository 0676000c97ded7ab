#!/usr/bin/env bash
# HeLMS Figure 7, reward sparsity (issue 23): every command, in order, from the repository root.
#   docs/results/reward_sparsity/run.sh <runs dir> [<sparse env steps> [<other env steps>]]
# Skills: <runs dir>/skills/{default,npmp,hier_bc,bc}, as docs/results/exploration_stacking/run.sh
# trains them (same runs dir). Transfer: red on blue, RGB-Stacking set 4, each method's 3 seeds
# together, the sparse reward first (the claim sparse_only_helms), then staged, then dense.
# curves.csv / claims.json / report are rebuilt after each run; every run resumes.
# HELMS_LEARNER="<field>=<value> ..." (environment): the HeLMS skills' learner settings when they
# were trained with other than the config's (exploration_stacking/run.sh's HELMS_LEARNER).
# SKIP="<method> ..." (environment): methods not to train (their finished runs in the runs dir
# still make the results), e.g. runs whose recorded config predates a default that does not
# change them (the README says which and why).
# REWARDS="<reward> ..." (environment, default "sparse staged dense"): the panels to run, in order.
# RESTORE="<method>_<reward> ..." (environment): finished runs lost with their machine, rebuilt
# from the committed curves.csv for the results (read by make_results.py).
set -euo pipefail
R=${1:-runs/exploration_stacking}
SPARSE_STEPS=${2:-1001600}  # multiples of the loop's 3,200 env steps per call (313 and 94)
OTHER_STEPS=${3:-300800}
C=experiments/transfer_reward_sparsity.py
for reward in ${REWARDS:-}; do
  case $reward in sparse|staged|dense) ;; *)
    echo "run.sh: REWARDS takes sparse, staged, dense; got '$reward'" >&2; exit 1 ;; esac
done
start=$(date +%s)
source docs/results/exploration_stacking/skills_of.sh
require_skills "$R"
learner_flags helms_cat > /dev/null  # a malformed HELMS_LEARNER stops here, not mid-run
for reward in ${REWARDS:-sparse staged dense}; do
  steps=$OTHER_STEPS; [[ $reward == sparse ]] && steps=$SPARSE_STEPS
  for m in helms_cat helms_mix mpo npmp_kl bc_mpo hier_bc; do
    [[ " ${SKIP:-} " == *" $m "* ]] && continue
    run_transfer "$R" $C:$m,$reward $m $R/sparsity/${m}_$reward $steps
    python docs/results/reward_sparsity/make_results.py "$R/sparsity" $(( $(date +%s) - start ))
  done
done

#!/usr/bin/env bash
# HeLMS Figure 5, compositional reuse (issue 24 item 2): every command, in order, from the
# repository root.
#   docs/results/transfer_compositional/run.sh <runs dir> [<env steps per seed>]
# Data: the stacking expert on all six ordered pairs over the five RGB-Stacking object sets
# (experiments/all_pairs_stacking.py); on it HeLMS (K = 10), NPMP, hierarchical BC and BC. Then
# RL on the pyramid task (set 4, our staged reward) for every method, 3 seeds each (vmapped).
# curves.csv / claims.json / report are rebuilt after each run; every stage resumes.
# HELMS_LEARNER="<field>=<value> ..." (environment): HeLMS learner settings (config.learner.*),
# e.g. beta_y=1.0, the value chosen for the set-4 skills (exploration_stacking/README.md).
set -euo pipefail
R=${1:-runs/compositional}
STEPS=${2:-300800}  # a multiple of the loop's 3,200 env steps per call (94)
D=experiments/all_pairs_stacking.py
source docs/results/exploration_stacking/skills_of.sh
learner_flags helms_cat > /dev/null  # a malformed HELMS_LEARNER stops here, not mid-run
start=$(date +%s)
helms-data --config=$D --workdir=$R/skills/default
helms-train --config=$D --workdir=$R/skills/default $(learner_flags helms_cat)
for v in npmp hier_bc bc; do
  helms-train --config=$D:$v --workdir=$R/skills/$v --config.data.dir=$R/skills/default/data
done
for m in helms_cat helms_mix npmp_kl mpo bc_mpo hier_bc; do
  run_transfer "$R" experiments/transfer_compositional.py:$m $m $R/pyramid/$m $STEPS
  python docs/results/transfer_compositional/make_results.py "$R/pyramid" \
      $(( $(date +%s) - start ))
done

#!/usr/bin/env bash
# HeLMS Table 1 (issue 23): every command, in order, from the repository root.
#   docs/results/exploration_stacking/run.sh <runs dir> [tiny]
# Red-on-blue expert data on the RGB-Stacking set 4 objects; HeLMS, NPMP, hierarchical BC and BC
# trained on the same data; then every method's initial RL policy rolled out for 1000 episodes
# (helms-explore) and claims.json / table.md written (make_results.py). Every stage resumes.
set -euo pipefail
R=${1:-runs/exploration_stacking}
T=${2:+,$2}
C=experiments/helms_stacking.py
start=$(date +%s)
default=default; [[ -n $T ]] && default=tiny
helms-data  --config=$C:$default --workdir=$R/skills/default
helms-train --config=$C:$default --workdir=$R/skills/default
# Figure 3 on these data: the learned transition prior (unbiased start), skill usage, fixed skills.
helms-analyze --config=$C:$default --workdir=$R/skills/default
for v in npmp hier_bc bc; do
  helms-train --config=$C:$v$T --workdir=$R/skills/$v --config.data.dir=$R/skills/default/data
done
explore=default; [[ -n $T ]] && explore=tiny
helms-explore --config=experiments/exploration_stacking.py:$explore --workdir=$R/exploration \
    --config.exploration.skills_root=$R/skills
python docs/results/exploration_stacking/make_results.py "$R/exploration" \
    $(( $(date +%s) - start ))

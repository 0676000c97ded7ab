#!/usr/bin/env bash
# Issue 26 item 2, step 1: a locomotion task where Dreamer learns within this CPU's budget.
#   docs/results/lsp_locomotion/pilot.sh <runs dir>          (from the repository root)
# Dreamer alone (the baseline the claim needs to learn; LSP is not run here, so the choice
# cannot favour it), one seed per candidate task, PILOT_ENV_STEPS env steps at the paper's rate
# of one update per 5 env steps; then pilot_select.py applies the rule fixed in it before any
# pilot ran and writes pilot.json. Every run resumes from its checkpoints.
set -euo pipefail
R=${1:-runs/lsp_pilot}
C=experiments/lsp_locomotion.py
STEPS=${PILOT_ENV_STEPS:-40000}
for task in halfcheetah_run walker2d_run hopper_hop walk; do
  helms-pipeline --config=$C:dreamer,$task --workdir=$R/$task --config.transfer.seeds='(0,)' \
      --config.transfer.loop.env_steps=$STEPS
done
python docs/results/lsp_locomotion/pilot_select.py "$R" > docs/results/lsp_locomotion/pilot.json
cat docs/results/lsp_locomotion/pilot.json

#!/usr/bin/env bash
# Issue 26 item 2: LSP vs Dreamer (and LSP without the MI reward) where Dreamer learns.
#   docs/results/lsp_locomotion/run.sh <runs dir> <task> [<methods>]     (from the repository root)
# <task>: pilot.json's choice (pilot.sh); <methods> default "lsp dreamer lsp_no_mi". Three seeds
# per method, trained together (vmapped), ENV_STEPS env steps per seed (default 200,000, the
# issue's minimum) at the paper's one update of every module per 5 env steps. One method at a
# time; curves.csv / claims.json / report/ are rebuilt after each, so an interrupted experiment
# keeps what finished, and every run resumes from its checkpoints.
set -euo pipefail
R=${1:?runs dir}
TASK=${2:?task (pilot.json: chosen)}
METHODS=${3:-lsp dreamer lsp_no_mi}
STEPS=${ENV_STEPS:-200000}
C=experiments/lsp_locomotion.py
start=$(date +%s)
for m in $METHODS; do
  helms-pipeline --config=$C:$m,$TASK --workdir=$R/$TASK/$m --config.transfer.loop.env_steps=$STEPS
  python docs/results/lsp_locomotion/make_results.py "$R/$TASK" $(( $(date +%s) - start )) "$TASK"
done

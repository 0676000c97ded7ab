#!/usr/bin/env bash
# Issue 26 item 3: transfer from ant walk to ant reach_goal (the paper's GetUp Walk -> Reach Goal,
# Fig. 5), LSP vs Dreamer, and LSP with its low-level policy fixed.
#   docs/results/lsp_locomotion/transfer.sh <runs dir> [tiny]      (from the repository root)
# 1. The source runs: lsp and dreamer on ant walk, SOURCE_ENV_STEPS per seed (default 200,000).
#    With the same <runs dir> as run.sh on the walk task these are run.sh's runs, reused.
# 2. The target runs, ENV_STEPS per seed (default 100,000), each seed starting from its source
#    seed's agent with the source replay relabelled by the goal reward (LSP section 5.3):
#    lsp_transfer, lsp_transfer_frozen (low level fixed), dreamer_transfer.
# 3. make_transfer_results.py: curves.csv, claims.json (claim lsp_transfers_faster), report/.
# Every run resumes from its checkpoints when the script is started again.
set -euo pipefail
R=${1:?runs dir}
TINY=${2:+,tiny}  # tiny: the test size, a check of the script (results beside its runs)
SOURCE_STEPS=${SOURCE_ENV_STEPS:-200000}
STEPS=${ENV_STEPS:-100000}
C=experiments/lsp_locomotion.py
OUT=docs/results/lsp_locomotion/reach_goal_transfer
if [[ -n $TINY ]]; then SOURCE_STEPS=${SOURCE_ENV_STEPS:-200}; STEPS=${ENV_STEPS:-200}; OUT=$R/results; fi
start=$(date +%s)
for m in lsp dreamer; do
  helms-pipeline --config=$C:$m,walk$TINY --workdir=$R/walk/$m \
      --config.transfer.loop.env_steps=$SOURCE_STEPS
done
target() {  # target <name> <variant> <source method>
  helms-pipeline --config=$C:$2$TINY --workdir=$R/reach_goal_transfer/$1 \
      --config.transfer.source_dir=$R/walk/$3 --config.transfer.loop.env_steps=$STEPS
  python docs/results/lsp_locomotion/make_transfer_results.py "$R/reach_goal_transfer" \
      $(( $(date +%s) - start )) "$OUT"
}
target lsp_transfer lsp,reach_goal,transfer lsp
target dreamer_transfer dreamer,reach_goal,transfer dreamer
target lsp_transfer_frozen lsp,reach_goal,transfer,frozen lsp

#!/usr/bin/env bash
# The spirl_maze reproduction (issue 22): every command, in order, from the repository root.
#   docs/results/spirl_maze/run.sh <runs dir> [<task modifier> <results subdir> [<data modifier>
#                                  [<view modifier>]]]
# e.g. `run.sh runs/maze_d4rl d4rl_maze .` (the paper's own maze, data in our 5 x 5 layouts;
# results here), `run.sh runs/maze_d4rl_data d4rl_maze d4rl_data d4rl_data` (the paper's maze
# and the paper's D4RL 20 x 20 data layouts; results in d4rl_data/) or
# `run.sh runs/maze_repro "" our_maze` (our 10 x 10 corridor maze; results in our_maze/). The
# view modifier (e.g. d4rl_camera: D4RL's trailing camera) is appended to every image variant.
# Data (85,000 planner episodes), the BC flat prior and the skills of both variants are trained
# once; each downstream method then runs its 3 seeds together. The flat baselines read the state
# in both variants, so one run of each serves both. curves.csv / claims.json / report are
# rebuilt after each downstream run, so an interrupted experiment keeps what finished (and every
# stage resumes from its checkpoints when the script is started again). SKIP="<method> ...":
# downstream methods not to run, e.g. one whose finished record was restored from the committed
# curves.csv after its runs directory was lost (make_results.py's <restore> argument).
set -euo pipefail
R=${1:-runs/maze_repro}
T=${2:+,$2}  # the downstream task modifier, appended to every downstream and analysis variant
OUT=${3:-.}
D=${4:+,$4}  # the data modifier, appended to every variant (data, skills, BC and downstream)
V=${5:+,$5}  # the view modifier, appended to every image variant
C=experiments/spirl_maze.py
start=$(date +%s)
results() {  # the methods in SKIP come back from the committed curves.csv (make_results.py)
  python docs/results/spirl_maze/make_results.py "$R" $(( $(date +%s) - start )) "$OUT" "${SKIP:-}"
}
helms-data  --config=$C:spirl$D --workdir=$R/skills
helms-train --config=$C:bc_sac$D --workdir=$R/bc --config.data.dir=$R/skills/data
helms-eval  --config=$C:bc_sac$D --workdir=$R/bc --config.data.dir=$R/skills/data
run() {  # run <workdir name> <variant> <skills workdir> [<extra flags>...]
  if [[ " ${SKIP:-} " == *" $1 "* ]] || grep -qs restored_from "$R/$1/transfer/run.json"; then
    echo "run.sh: $1 skipped (SKIP, or its record restored from curves.csv)"; results; return
  fi
  helms-transfer --config=$C:$2$D$T --workdir=$R/$1 --config.transfer.skills_dir=$R/$3 "${@:4}"
  results
}
# The flat baselines first: they need only the data and BC (~15-30 min each), so after a lost
# machine they are back before the skills are retrained.
run sac sac skills
run flat_prior flat_prior bc
run bc_sac bc_sac bc
helms-train --config=$C:spirl$D --workdir=$R/skills                   # state variant: velocity prior
helms-eval  --config=$C:spirl$D --workdir=$R/skills
helms-train --config=$C:spirl,image$V$D --workdir=$R/skills_image --config.data.dir=$R/skills/data
# Figure 5: the priors', the flat prior's and uniform skills' exploration of the downstream maze.
for s in skills skills_image; do
  variant=spirl$D$T; [[ $s == skills_image ]] && variant=spirl,image$V$D$T
  helms-analyze --config=$C:$variant --workdir=$R/$s --config.data.dir=$R/skills/data \
      --config.analysis.exploration.flat_prior_dir=$R/bc \
      --config.analysis.exploration.num_steps=2000 --config.analysis.exploration.num_rollouts=128
done
# The paper's setup (the claim maze_only_spirl_succeeds); beside it the paper's text's KL
# budget (delta = 1 on the whole KL; the first code release averaged it over the 10 latent
# dimensions, what `spirl` runs); SSP (its policy and critic read the state in either variant, so
# one run serves both claims); then the state-based variant (ours, not in the paper); then,
# beside the claim, spirl's warm-up: its RLTrainer.warmup fills the replay with 5,000 high-level
# steps (50k env steps) sampled from the prior before the first update (spirl_warmup: learning
# starts at 5,000 skill steps per seed instead of 500; the policy starts as the prior, so it
# acts as spirl's warm-up does; our x axis counts these steps, spirl's global_step does not).
run spirl spirl,image$V skills_image
run spirl_total_kl spirl,image$V skills_image --config.transfer.agent.divergence_per_dimension=False
run ssp ssp,image$V skills_image
run spirl_state spirl skills
run spirl_warmup spirl,image$V skills_image --config.transfer.loop.min_replay_steps=5000
# Beside the claim (rule in README.md, 2026-12-07 20:30 UTC): the time limit ends the return, as
# the paper's finite-horizon objective and spirl's sampler (ours bootstraps it by default).
run spirl_finite spirl,image$V skills_image --config.transfer.loop.bootstrap_time_limits=False

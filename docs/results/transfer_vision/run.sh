#!/usr/bin/env bash
# HeLMS Figure 6, state -> vision (issue 24 item 4): every command, in order, from the repository
# root.
#   docs/results/transfer_vision/run.sh <runs dir> [<env steps per seed> [<image size>]]
# Skills: <runs dir>/skills/default (state-based HeLMS, red on blue, RGB set 4) as
# docs/results/exploration_stacking/run.sh trains them. Transfer from a 32 x 32 RGB-D camera
# image + proprioception, red on blue, set 4, staged reward (rgb_staged): HeLMS-mix (pixel
# networks KL-regularised to the state-based skills), the asymmetric actor-critic (state critic)
# and MPO from pixels (pixel critic), 3 seeds each (vmapped). curves.csv / claims.json / report
# are rebuilt after each run; every run resumes.
# HELMS_LEARNER="<field>=<value> ..." (environment): the HeLMS skills' learner settings when they
# were trained with other than the config's (exploration_stacking/run.sh's HELMS_LEARNER).
set -euo pipefail
R=${1:-runs/exploration_stacking}
STEPS=${2:-300800}  # a multiple of the loop's 3,200 env steps per call (94)
SIZE=${3:-32}
source docs/results/exploration_stacking/skills_of.sh
require_skills "$R"
learner_flags helms_mix > /dev/null  # a malformed HELMS_LEARNER stops here, not mid-run
start=$(date +%s)
for m in helms_mix asymmetric_ac mpo_pixels; do
  # Replay 200k per seed: two 4 KiB images per stored step (32 x 32 x 4 bytes), ~5 GB for 3 seeds.
  helms-transfer --config=experiments/transfer_vision.py:$m --workdir=$R/vision/$m \
      --config.transfer.skills_dir="$(skills_of "$R" $m)" $(learner_flags $m) \
      --config.transfer.env_kwargs.image_size=$SIZE --config.transfer.loop.env_steps=$STEPS \
      --config.transfer.loop.replay_capacity=200000
  python docs/results/transfer_vision/make_results.py "$R/vision" $(( $(date +%s) - start ))
done

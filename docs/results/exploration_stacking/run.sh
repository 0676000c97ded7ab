#!/usr/bin/env bash
# HeLMS Table 1 (issue 23): every command, in order, from the repository root.
#   docs/results/exploration_stacking/run.sh <runs dir> [<expert noise max> [tiny|"" [<excursion max>]]]
# Red-on-blue expert data on the RGB-Stacking set 4 objects; HeLMS, NPMP, hierarchical BC and BC
# trained on the same data; then every method's initial RL policy rolled out for 1000 episodes
# (helms-explore) and claims.json / table.md written (make_results.py). Every stage resumes.
# <expert noise max> > 0: each data episode's expert noise std ~ U[0.2, it] (data.expert_noise_max;
# results then go to noise_<it>/), 0 or absent: 0.2 in every episode (results here).
# <excursion max> > 0: each data episode's rate of undirected excursions ~ U[0, it]
# (data.expert_excursion_max; results in excursions_<it>/, or noise_<n>_excursions_<it>/).
# HELMS_UPDATES=<n> (environment): HeLMS's offline updates (train.num_steps; the config's 6,000
# by default); results then in <the folder above>/updates_<n>/ (or updates_<n>/ for run 1's data).
# HELMS_LEARNER="<field>=<value> ..." (environment): HeLMS learner settings (config.learner.*,
# e.g. beta_y=1.0); results in a subfolder per setting, <field>_<value>/, after the ones above.
# SEED=<k> (environment, default 0): config.seed of every stage (the data, every model's
# training, the 1000 reset states): an independent replicate; results in .../seed_<k>/.
set -euo pipefail
R=${1:-runs/exploration_stacking}
NOISE=${2:-0}
T=${3:+,$3}
EXCURSION=${4:-0}
OUT=.; [[ $NOISE != 0 ]] && OUT=noise_$NOISE
if [[ $EXCURSION != 0 ]]; then
  OUT=excursions_$EXCURSION; [[ $NOISE != 0 ]] && OUT=noise_${NOISE}_excursions_$EXCURSION
fi
HELMS=()
EXPLORE=()
sub() { if [[ $OUT == . ]]; then OUT=$1; else OUT=$OUT/$1; fi; }  # a results subfolder
if [[ -n ${HELMS_UPDATES:-} ]]; then
  HELMS=(--config.train.num_steps=$HELMS_UPDATES); sub updates_$HELMS_UPDATES
fi
source docs/results/exploration_stacking/skills_of.sh
learner_flags helms_cat > /dev/null  # a malformed HELMS_LEARNER stops here
for setting in ${HELMS_LEARNER:-}; do  # e.g. HELMS_LEARNER="beta_y=1.0 prior_init_stay=2.0"
  HELMS+=(--config.learner.$setting); sub "${setting/=/_}"
  EXPLORE+=(--config.exploration.methods.HeLMS.learner.$setting)  # the HeLMS row's skills
done
# every stage records the data it was trained on
DATA="--config.data.expert_noise_max=$NOISE --config.data.expert_excursion_max=$EXCURSION"
if [[ ${SEED:-0} != 0 ]]; then  # a replicate: other data, skill training and reset states
  DATA="$DATA --config.seed=$SEED"; sub seed_$SEED
fi
C=experiments/helms_stacking.py
start=$(date +%s)
default=default; [[ -n $T ]] && default=tiny
helms-data  --config=$C:$default --workdir=$R/skills/default $DATA
helms-train --config=$C:$default --workdir=$R/skills/default $DATA "${HELMS[@]}"
# Figure 3 on these data: the learned transition prior (unbiased start), skill usage, fixed skills.
helms-analyze --config=$C:$default --workdir=$R/skills/default $DATA "${HELMS[@]}"
for v in npmp hier_bc bc; do
  helms-train --config=$C:$v$T --workdir=$R/skills/$v --config.data.dir=$R/skills/default/data \
      $DATA
done
explore=default; [[ -n $T ]] && explore=tiny
helms-explore --config=experiments/exploration_stacking.py:$explore --workdir=$R/exploration \
    --config.exploration.skills_root=$R/skills $DATA "${EXPLORE[@]}"
python docs/results/exploration_stacking/make_results.py "$R/exploration" \
    $(( $(date +%s) - start )) "$OUT"

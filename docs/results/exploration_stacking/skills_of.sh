# Sourced by the stacking scripts (exploration_stacking, reward_sparsity,
# transfer_object_generalization, transfer_ablations):
#   skills_of <runs dir> <method>  ->  the workdir of the skills docs/results/exploration_stacking/
# run.sh trained for that transfer method (experiments/_transfer.py's SKILLS; the ablations'
# discrete_only / continuous_only skills are transfer_ablations/run.sh's);
#   require_skills <runs dir>  ->  exits with a message naming the command when any is missing;
#   learner_flags <method>  ->  the HeLMS learner settings in $HELMS_LEARNER ("beta_y=1.0 ...",
# as the skills were trained with) as config flags, for the methods that load the HeLMS skills
# (the transfer refuses skills trained with other learner settings, naming the field);
#   run_transfer <runs dir> <config file>:<variant> <method> <workdir> <env steps> [flags...]
# ->  one transfer run of <method> from its skills, 3 seeds, replay 1M: the command every stacking
# script runs (one command line, so scripts sharing a run resume it instead of clashing).
skills_of() {
  case $2 in
    npmp_kl) echo "$1/skills/npmp" ;; hier_bc) echo "$1/skills/hier_bc" ;;
    bc_mpo) echo "$1/skills/bc" ;; discrete_only) echo "$1/skills/discrete_only" ;;
    continuous_only) echo "$1/skills/continuous_only" ;; *) echo "$1/skills/default" ;;
  esac
}
require_skills() {
  local s
  for s in default npmp hier_bc bc; do
    if [[ ! -d $1/skills/$s/checkpoints ]]; then
      echo "run.sh: no skills in $1/skills/$s: train them first with" \
           "docs/results/exploration_stacking/run.sh $1" >&2
      exit 1
    fi
  done
}
learner_flags() {
  local setting
  case $1 in helms_cat|helms_mix|discrete_only|continuous_only) ;; *) return 0 ;; esac
  for setting in ${HELMS_LEARNER:-}; do
    if [[ $setting != *=* ]]; then
      echo "run.sh: HELMS_LEARNER takes <learner field>=<value> settings, got '$setting'" >&2
      exit 1
    fi
    echo "--config.learner.$setting"
  done
}
run_transfer() {
  local runs=$1 config=$2 method=$3 workdir=$4 steps=$5
  shift 5
  helms-transfer --config="$config" --workdir="$workdir" \
      --config.transfer.skills_dir="$(skills_of "$runs" "$method")" $(learner_flags "$method") \
      --config.transfer.loop.env_steps="$steps" --config.transfer.loop.replay_capacity=1000000 "$@"
}

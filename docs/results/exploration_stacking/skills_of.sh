# Sourced by the stacking scripts (exploration_stacking, reward_sparsity,
# transfer_object_generalization):
#   skills_of <runs dir> <method>  ->  the workdir of the skills docs/results/exploration_stacking/
# run.sh trained for that transfer method (experiments/_transfer.py's SKILLS);
#   require_skills <runs dir>  ->  exits with a message naming the command when any is missing;
#   learner_flags <method>  ->  the HeLMS learner settings in $HELMS_LEARNER ("beta_y=1.0 ...",
# as the skills were trained with) as config flags, for the methods that load the HeLMS skills
# (the transfer refuses skills trained with other learner settings, naming the field).
skills_of() {
  case $2 in
    npmp_kl) echo "$1/skills/npmp" ;; hier_bc) echo "$1/skills/hier_bc" ;;
    bc_mpo) echo "$1/skills/bc" ;; *) echo "$1/skills/default" ;;
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
  [[ $1 == helms_cat || $1 == helms_mix ]] || return 0
  for setting in ${HELMS_LEARNER:-}; do
    if [[ $setting != *=* ]]; then
      echo "run.sh: HELMS_LEARNER takes <learner field>=<value> settings, got '$setting'" >&2
      exit 1
    fi
    echo "--config.learner.$setting"
  done
}

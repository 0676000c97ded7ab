# Sourced by the stacking transfer scripts (reward_sparsity, transfer_object_generalization):
#   skills_of <runs dir> <method>  ->  the workdir of the skills docs/results/exploration_stacking/
# run.sh trained for that transfer method (experiments/_transfer.py's SKILLS);
#   require_skills <runs dir>  ->  exits with a message naming the command when any is missing.
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

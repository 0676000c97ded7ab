# Sourced by the stacking transfer scripts (reward_sparsity, transfer_object_generalization):
#   skills_of <runs dir> <method>  ->  the workdir of the skills docs/results/exploration_stacking/
# run.sh trained for that transfer method (experiments/_transfer.py's SKILLS).
skills_of() {
  case $2 in
    npmp_kl) echo "$1/skills/npmp" ;; hier_bc) echo "$1/skills/hier_bc" ;;
    bc_mpo) echo "$1/skills/bc" ;; *) echo "$1/skills/default" ;;
  esac
}

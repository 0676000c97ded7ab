#!/usr/bin/env bash
# Figure 3 of the concurrent-skill CVAE (issue 25): every command, in order, from the repository
# root.   docs/results/concurrent_ant/run.sh <runs dir> [tiny]
# 1. The data (640 ant episodes of the designed experts).
# 2. lambda (learner.mi_weight, a weight on the per-trajectory ELBO's scale) for each regularised
#    objective, on a grid of per-step weights, with one seed (100) that is not among the reported
#    ones; `make_results.py sweep` picks the grid point of lowest held-out composite MSE (own
#    embedding, both composites, the last 10 % of training) and writes `sweep.json`.
# 3. Five seeds (0-4) per objective, the regularised ones at their chosen lambda, trained as
#    vmapped populations, then the simulator's closed-loop check (`helms-analyze`).
# 4. `make_results.py results`: curves.csv, claims.json, report/ (REPRODUCTION.md).
# Every stage resumes from its checkpoints when the script is started again; a finished sweep
# (its objectives chosen in sweep.json) is not run again.
set -euo pipefail
R=${1:-runs/cvae_fig3}
TINY=${2:+,tiny}
C=experiments/concurrent_ant.py
HERE=docs/results/concurrent_ant
OUT=$HERE; [[ -n $TINY ]] && OUT=$R/results  # a tiny check writes beside its runs
mkdir -p "$R" "$OUT"
git rev-parse HEAD > "$R/commit.txt"
start=$(date +%s)
WINDOW=$(python -c "from experiments import concurrent_ant as c; print(c.get_config('original$TINY').learner.window)" | tail -1)
# The weight the sweep chose for a (regularised or ablation) objective: chosen_weight <name>.
chosen_weight() {
  python -c "import json; print(json.load(open('$OUT/sweep.json'))['chosen']['$1']['mi_weight'])"
}
# Whether the sweep already chose a weight for every named objective (a finished sweep is kept:
# sweep.json is its product, and its single-seed runs are not needed again): swept <name> ...
swept() {
  python -c "import json, os, sys; p='$OUT/sweep.json'; sys.exit(0 if os.path.isfile(p) and \
all(n in json.load(open(p)).get('chosen', {}) for n in sys.argv[1:]) else 1)" "$@"
}
helms-data --config=$C:original$TINY --workdir=$R/data_run --config.data.dir=$R/data
# The one-seed lambda grid of both regularised objectives, then the sweep's choice:
# sweep <run-name suffix> [flags], unless sweep.json already holds those objectives' choices.
sweep() {
  swept variational$1 non_variational$1 && return
  for obj in variational non_variational; do
    for w in 0.01 0.03 0.1 0.3; do
      helms-train --config=$C:$obj$TINY --workdir=$R/sweep/${obj}$1_w$w --config.data.dir=$R/data \
          --config.seed=100 --config.train.num_seeds=1 \
          --config.learner.mi_weight=$(python -c "print($w * $WINDOW)") "${@:2}"
    done
  done
  python $HERE/make_results.py sweep "$R" "$OUT"
}
sweep ""
helms-train --config=$C:original$TINY --workdir=$R/original --config.data.dir=$R/data
for obj in variational non_variational; do
  weight=$(chosen_weight $obj)
  helms-train --config=$C:$obj$TINY --workdir=$R/$obj --config.data.dir=$R/data \
      --config.learner.mi_weight=$weight
done
# The simulator's closed-loop check of a population: analyze <objective> <run name> [flags].
# A finished check is kept (it takes minutes; training stops at a fixed step count).
analyze() {
  [[ -f $R/$2/analysis/analysis.json ]] && return
  helms-analyze --config=$C:$1$TINY --workdir=$R/$2 --config.data.dir=$R/data "${@:3}"
}
analyze original original
for obj in variational non_variational; do
  analyze $obj $obj --config.learner.mi_weight=$(chosen_weight $obj)
done
python $HERE/make_results.py results "$R" "$OUT" $(( $(date +%s) - start ))
# 5. The ablation beside the faithful runs: the MI term does not train the state decoder
#    (learner.mi_trains_decoder=False), with its own lambda sweep by the same rule.
sweep _frozen_decoder --config.learner.mi_trains_decoder=False
for obj in variational non_variational; do
  weight=$(chosen_weight ${obj}_frozen_decoder)
  helms-train --config=$C:$obj$TINY --workdir=$R/${obj}_frozen_decoder --config.data.dir=$R/data \
      --config.learner.mi_weight=$weight --config.learner.mi_trains_decoder=False
done
for obj in variational non_variational; do  # the closed-loop check of the ablation too
  analyze $obj ${obj}_frozen_decoder --config.learner.mi_weight=$(chosen_weight \
      ${obj}_frozen_decoder) --config.learner.mi_trains_decoder=False
done
python $HERE/make_results.py results "$R" "$OUT" $(( $(date +%s) - start ))

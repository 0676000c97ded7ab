#!/usr/bin/env bash
# Multi-process resume check (issue 9), helms_stacking tiny, 80 updates, checkpoints every 20:
#   A: 2 processes x 1 device, uninterrupted;
#   B: 2 processes stopped at 40 updates, resumed as 2 processes;
#   C: 2 processes stopped at 40 updates, resumed as 1 process x 2 devices (train.data_placement
#      'auto' keeps the recorded 'sharded' layout, see runner.run_data_layout).
# Then compares the step-80 checkpoints with A. DATA: any helms_stacking tiny dataset
# (e.g. made by `helms-data --config=experiments/helms_stacking.py:tiny --workdir=runs/mp_tiny`).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
R=${RUNS:-runs}/mp_resume
COMMON="--config=experiments/helms_stacking.py:tiny --config.data.dir=${DATA:-runs/mp_tiny/data}
        --config.train.checkpoint_every=20 --config.train.log_every=20"
rm -rf "$R" && mkdir -p "$R"
export DEVICES_PER_PROCESS=1
LOG_DIR=$R/logs_a launch/multiprocess.sh 2 helms-train $COMMON --config.train.num_steps=80 --workdir=$R/a
LOG_DIR=$R/logs_b launch/multiprocess.sh 2 helms-train $COMMON --config.train.num_steps=40 --workdir=$R/b
LOG_DIR=$R/logs_b launch/multiprocess.sh 2 helms-train $COMMON --config.train.num_steps=80 --workdir=$R/b
LOG_DIR=$R/logs_c launch/multiprocess.sh 2 helms-train $COMMON --config.train.num_steps=40 --workdir=$R/c
XLA_FLAGS=--xla_force_host_platform_device_count=2 helms-train $COMMON --config.train.num_steps=80 \
    --workdir=$R/c
XLA_FLAGS=--xla_force_host_platform_device_count=2 R=$R python - <<'PY'
import os
import jax
import numpy as np
from helms_jax import configs, runner
from helms_jax.training.checkpoint import Checkpointer
from helms_jax.training.offline_loop import init_loop_state
config = configs.load_config("experiments/helms_stacking.py:tiny")
target = init_loop_state(runner.make_learner(config, runner.make_env(config)), config.seed)
def state(run):
  ckpt = Checkpointer(os.path.join(os.environ["R"], run, "checkpoints"))
  leaves = jax.tree_util.tree_leaves(ckpt.restore(80, target))
  ckpt.close()
  return [np.asarray(x, np.float64) for x in leaves]
a = state("a")
for run in ("b", "c"):
  diff = max(float(np.max(np.abs(x - y))) for x, y in zip(a, state(run)) if x.size)
  print(f"run {run} vs uninterrupted run a: max abs difference over the whole state {diff}")
PY

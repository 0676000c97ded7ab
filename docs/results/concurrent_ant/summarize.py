"""Per-run summary of concurrent CVAE runs: final held-out metrics and training terms per seed.

  python docs/results/concurrent_ant/summarize.py RUN_DIR [RUN_DIR ...] > summary.json

For each run (a `helms-train` workdir of experiments/concurrent_ant.py): objective, mi_weight,
mi_trains_decoder, updates, and per metric the per-seed mean over the last 10% of logged points
(mse/, mse_sum/, mse_prior/, gap_ratio/ per composite; elbo, kl, mi, state_nll, action_nll),
plus the latent statistics and the closed-loop table of `analysis/analysis.json`.
"""

import json
import os
import sys

import numpy as np


def summarize(run_dir, last_fraction=0.1):
  with open(os.path.join(run_dir, "config.json")) as f:
    learner = json.load(f)["learner"]
  with open(os.path.join(run_dir, "metrics.jsonl")) as f:
    rows = [json.loads(line) for line in f if line.strip()]
  rows = list({r["step"]: r for r in rows}.values())
  k = max(1, int(np.ceil(last_fraction * len(rows))))
  keys = [key for key in rows[-1] if key not in ("step", "time", "steps_per_sec")]
  final = {key: np.mean([np.asarray(r[key], float) for r in rows[-k:]], axis=0).round(4).tolist()
           for key in keys}
  out = {"run": os.path.basename(os.path.normpath(run_dir)),
         "objective": learner["objective"], "mi_weight": learner.get("mi_weight"),
         "mi_trains_decoder": learner.get("mi_trains_decoder", True),  # absent = before the option
         "updates": rows[-1]["step"], "final_per_seed": final}
  analysis = os.path.join(run_dir, "analysis", "analysis.json")
  if os.path.exists(analysis):
    with open(analysis) as f:
      metrics = json.load(f)["metrics"]
    out["latent"] = metrics["composites"]
    out["closed_loop"] = metrics.get("closed_loop")
  return out


if __name__ == "__main__":
  print(json.dumps([summarize(d) for d in sys.argv[1:]], indent=1))

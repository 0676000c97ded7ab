"""A diagnostic runs' table: every logged point up to 102,400 env steps of each arm, per seed.

  python docs/results/reward_sparsity/diagnostics_table.py <out.csv> <arm>=<run dir> ...

Writes `<out.csv>` beside this file (arm, seed, env_steps, episode_return, success, critic_loss,
kl_z_to_prior, kl_mean_rel) and prints each arm's means over the seeds per 25,600 env steps
(the last window, 76,800-102,400, is the one diagnose_npmp_kl.sh's rule reads).
"""

import csv
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))

from helms_jax.analysis import run_curves  # pylint: disable=wrong-import-position

HERE = os.path.dirname(os.path.abspath(__file__))
END, WINDOW = 102_400, 25_600
COLUMNS = {"episode_return": "episode_return", "success": "success",
           "critic_loss": "learner/critic_loss", "kl_z_to_prior": "learner/kl_z_to_prior",
           "kl_mean_rel": "learner/mpo/kl_mean_rel"}


def main(out_name: str, arms: list[str]) -> None:
  rows = []
  for arm in arms:
    name, _, run_dir = arm.partition("=")
    if not run_dir:
      raise SystemExit(f"diagnostics_table.py: expected <arm>=<run dir>, got {arm!r}")
    run = run_curves.load_run(run_dir)
    keep = [p for p, step in enumerate(run.env_steps) if step <= END]
    print(name)
    for lo in range(0, END, WINDOW):
      window = [p for p in keep if lo < run.env_steps[p] <= lo + WINDOW]
      means = {c: np.nanmean(run.metrics[k][window]) if k in run.metrics and window else math.nan
               for c, k in COLUMNS.items()}
      print(f"  {lo // 1000:>5}-{(lo + WINDOW) // 1000}k " + "  ".join(
          f"{c} {v:.3g}" for c, v in means.items()))
    for p in keep:
      for s, seed in enumerate(run.seeds):
        values = [run.metrics[k][p, s] if k in run.metrics else math.nan for k in COLUMNS.values()]
        rows.append([name, seed, int(run.env_steps[p])] +
                    ["" if math.isnan(v) else f"{v:.4g}" for v in values])
  with open(os.path.join(HERE, out_name), "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["arm", "seed", "env_steps"] + list(COLUMNS))
    writer.writerows(rows)


if __name__ == "__main__":
  if len(sys.argv) < 3:
    raise SystemExit("usage: diagnostics_table.py <out.csv> <arm>=<run dir> ...")
  main(sys.argv[1], sys.argv[2:])

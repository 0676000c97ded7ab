"""policy_states "first" (the panel's HeLMS-mix staged run) against "next" (check_policy_states.sh):
each run's first and last 10 % of env steps, mean and sample std over its 3 seeds, written to
`policy_states.json` beside this file and printed.

  python docs/results/reward_sparsity/compare_policy_states.py <runs dir> [<wall time s of next>]

The criterion, fixed before the "next" run: "next" learns as "first" if its final-window episode
return and success are each within the larger of the two runs' seed standard deviations of
"first"'s mean.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))

from helms_jax.analysis import reproduction  # pylint: disable=wrong-import-position

HERE = os.path.dirname(os.path.abspath(__file__))
METRICS = ("episode_return", "success")


def main(runs_dir: str, wall_time_s: float | None = None) -> None:
  runs = {"first": os.path.join(runs_dir, "sparsity", "helms_mix_staged"),
          "next": os.path.join(runs_dir, "policy_states_next", "helms_mix_staged")}
  rows = reproduction.curves_rows(runs, METRICS)
  lo, hi = reproduction.last_fraction_window(rows)
  out = {"command": "docs/results/reward_sparsity/check_policy_states.sh <runs dir>",
         "final_window": [lo, hi], "wall_time_s_next": wall_time_s, "runs": {}}
  for name in runs:
    out["runs"][name] = {
        metric: {"final": reproduction.window_statistics(rows, name, metric, (lo, hi)),
                 "first": reproduction.window_statistics(rows, name, metric, (0, hi - lo))}
        for metric in METRICS}
  same = True
  for metric in METRICS:
    first, nxt = (out["runs"][n][metric]["final"] for n in ("first", "next"))
    tolerance = max(first["std"] or 0.0, nxt["std"] or 0.0)
    same &= abs(nxt["mean"] - first["mean"]) <= tolerance
    print(f"{metric}: first {first['mean']:.3f} +- {first['std']:.3f}, next "
          f"{nxt['mean']:.3f} +- {nxt['std']:.3f} (last 10 %, {lo}-{hi} env steps)")
  out["verdict"] = "next learns as first" if same else "next differs from first"
  print(out["verdict"])
  with open(os.path.join(HERE, "policy_states.json"), "w") as f:
    json.dump(out, f, indent=1)


if __name__ == "__main__":
  main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else None)

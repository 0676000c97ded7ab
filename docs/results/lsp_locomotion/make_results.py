"""curves.csv, claims.json and the report of LSP vs Dreamer (issue 26 item 2; REPRODUCTION.md).

  python docs/results/lsp_locomotion/make_results.py <runs dir>/<task> [<wall time s> [<task>]]

Reads the runs of `run.sh` that exist (`<dir>/<method>/transfer/curves.jsonl` for lsp,
dreamer, lsp_no_mi, random_skills) and writes `docs/results/lsp_locomotion/<task>/`. The claim
and its criterion are the issue's, fixed before any run: over the last 10 % of env steps,
LSP >= 0.95 x Dreamer (within 5 %), LSP > LSP without the MI reward, and Dreamer clearly above
where it started (its final-window mean above its initial-window mean by more than twice the
final window's seed std). The initial window is the first 10 % of env steps from the first
finished episodes (none finishes before 8k env steps: 16 envs x 500 steps).

RESTORE="<run> ..." (environment): finished runs lost with their machine, published from the
committed files (`reproduction.finished_runs`).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))

from helms_jax.analysis import reproduction  # pylint: disable=wrong-import-position

HERE = os.path.dirname(os.path.abspath(__file__))
METHODS = ("lsp", "dreamer", "lsp_no_mi", "random_skills")
PAPER_ENV_STEPS = 1_000_000  # Fig. 4's x-axis


def lsp_matches_dreamer(stats, initial) -> str:
  """The issue's three conditions; "partial" when LSP matches Dreamer but not every other one
  holds (or Dreamer itself did not learn)."""
  lsp, dreamer, no_mi = stats["lsp"], stats["dreamer"], stats["lsp_no_mi"]
  matches = lsp["mean"] >= dreamer["mean"] - 0.05 * abs(dreamer["mean"])
  mi_helps = lsp["mean"] > no_mi["mean"]
  margin = 2 * (dreamer["std"] or 0.0)
  dreamer_learns = dreamer["mean"] > initial["dreamer"]["mean"] + margin
  if matches and mi_helps and dreamer_learns:
    return "reproduced"
  return "partial" if matches else "not reproduced"


def main(task_dir: str, wall_time_s: float | None = None, task: str = "",
         restore: str = "") -> None:
  task = task or os.path.basename(os.path.normpath(task_dir))
  out_dir = os.path.join(HERE, task)
  os.makedirs(out_dir, exist_ok=True)
  runs = reproduction.finished_runs(out_dir, {m: os.path.join(task_dir, m) for m in METHODS},
                                    restore)
  rows = reproduction.curves_rows(runs, ("episode_return",))
  end = max((r[2] for r in rows), default=0)
  start = min((r[2] for r in rows), default=0)
  window = (int(round(0.9 * end)), end)
  initial = (start, start + int(round(0.1 * end)))

  claims = [reproduction.Claim(
      id="lsp_matches_dreamer",
      text="LSP matches or beats Dreamer on locomotion, and the MI objective helps.",
      source=f"LSP (papers/lsp.txt), Fig. 4 and Fig. 6b; task {task}", metric="episode_return",
      methods=tuple(m for m in METHODS if m != "random_skills" or m in runs),
      paper={"lsp": None, "dreamer": None, "lsp_no_mi": None},
      criterion="final window: lsp >= 0.95 x dreamer, lsp > lsp_no_mi, and dreamer's final mean "
                "above its initial-window mean by > 2 x its final seed std",
      predicate=lsp_matches_dreamer, compares_initial=True, window=window,
      initial_window=initial)]
  out = reproduction.publish(
      out_dir, runs, claims, metrics=("episode_return",), experiment="lsp_locomotion",
      paper="LSP (papers/lsp.txt), Fig. 4 (locomotion) and Fig. 6b (MI ablation)",
      command=f"docs/results/lsp_locomotion/run.sh <runs dir> {task} (helms-pipeline "
              f"--config=experiments/lsp_locomotion.py:<method>,{task} ...)",
      title=f"LSP vs Dreamer: {task}", paper_env_steps_per_seed=PAPER_ENV_STEPS,
      wall_time_s=wall_time_s)
  for claim in out["claims"]:
    print(claim["id"], claim["verdict"], json.dumps(claim["methods"]))


if __name__ == "__main__":
  main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else None,
       sys.argv[3] if len(sys.argv) > 3 else "", os.environ.get("RESTORE", ""))

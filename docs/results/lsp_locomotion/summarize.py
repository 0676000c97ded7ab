"""Per-seed episode returns of the lsp_locomotion runs -> summary.json.

  python docs/results/lsp_locomotion/summarize.py runs/lsp > docs/results/lsp_locomotion/summary.json

For each run: the episode-weighted mean return over its first and last 8k env steps per seed
(each curves.jsonl row holds the finished episodes of a logging interval and their mean return),
the skill-trajectory metrics of its analysis (LSP variants), and the command and commit.
"""

import json
import os
import sys

import numpy as np

RUNS = {"walk": ("walk/lsp", "walk/dreamer", "walk/lsp_no_mi", "walk/random_skills"),
        "reach_goal": ("reach/lsp_transfer", "reach/lsp_transfer_frozen", "reach/lsp_scratch")}
WINDOW = 8_000  # env steps per seed at each end of the run


def summarize(run_dir: str, prefix: str) -> dict:
  """`prefix` (the runs root's parent directory) is written as `runs/` in commands."""
  with open(os.path.join(run_dir, "transfer", "curves.jsonl")) as f:
    rows = [json.loads(line) for line in f]
  with open(os.path.join(run_dir, "transfer", "run.json")) as f:
    info = json.load(f)
  steps = np.array([r["env_steps"] for r in rows])
  episodes = np.array([r["metrics"]["episodes"] for r in rows], float)  # [T, S]
  returns = np.nan_to_num(np.array([[np.nan if v is None else v
                                     for v in r["metrics"]["episode_return"]] for r in rows]))

  def mean_return(mask):
    return ((returns[mask] * episodes[mask]).sum(0) / np.maximum(episodes[mask].sum(0), 1)).tolist()

  first = mean_return(steps <= steps[0] + WINDOW)
  last = mean_return(steps > steps[-1] - WINDOW)
  out = {"label": info["label"], "variant": info["variant"], "commit": info["commit"],
         "command": " ".join([os.path.basename(info["command"].split()[0])] +
                             info["command"].split()[1:]).replace(prefix, "runs/"),
         "env_steps_per_seed": int(steps[-1]), "updates": rows[-1]["updates"],
         "episodes_per_seed": episodes.sum(0).tolist(),
         "return_first_8k_per_seed": first, "return_last_8k_per_seed": last,
         "return_last_8k_mean": float(np.mean(last)), "return_last_8k_std": float(np.std(last))}
  if "source_dir" in info:
    out["source_dir"] = info["source_dir"].replace(prefix, "runs/")
  analysis = os.path.join(run_dir, "analysis", "analysis.json")
  if os.path.exists(analysis):
    with open(analysis) as f:
      out["skill_trajectories"] = json.load(f)["metrics"]["skill_trajectories"]
  return out


if __name__ == "__main__":
  root = sys.argv[1]
  parent = os.path.dirname(os.path.abspath(root)) + os.sep
  print(json.dumps({task: {name: summarize(os.path.join(root, name), parent) for name in names
                           if os.path.exists(os.path.join(root, name, "transfer", "run.json"))}
                    for task, names in RUNS.items()}, indent=1))

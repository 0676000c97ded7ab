"""Episode-weighted success per seed of the spirl_maze transfer runs -> summary.json.

  python docs/results/spirl_maze/earlier/summarize.py runs/maze > docs/results/spirl_maze/earlier/summary.json

Each curves.jsonl row holds, per seed, the number of episodes that ended in that logging
interval and their success rate; weighting by episodes gives the success rate over all episodes
of the run (and of its first and second halves), which the per-row means of the comparison
report's final-performance table do not (rows with one episode weigh as much as rows with 8).
"""

import json
import os
import sys

import numpy as np

RUNS = {"near_goal": ("near_spirl", "near_ssp", "near_sac", "near_flat_prior"),
        "large_goal": ("spirl", "spirl_image", "sac", "flat_prior")}


def summarize(run_dir: str) -> dict:
  with open(os.path.join(run_dir, "transfer", "curves.jsonl")) as f:
    rows = [json.loads(line) for line in f]
  with open(os.path.join(run_dir, "transfer", "run.json")) as f:
    info = json.load(f)
  episodes = np.array([r["metrics"]["episodes"] for r in rows], float)  # [T, S]
  success = np.nan_to_num(np.array([[np.nan if v is None else v for v in r["metrics"]["success"]]
                                    for r in rows], float))
  half = len(rows) // 2

  def rate(sl):
    return ((success[sl] * episodes[sl]).sum(0) / np.maximum(episodes[sl].sum(0), 1)).tolist()

  overall = rate(slice(None))
  return {"label": info["label"], "variant": info["variant"], "commit": info["commit"],
          "command": info["command"].replace(os.path.expanduser("~"), "~"),
          "env_steps_per_seed": rows[-1]["env_steps"], "updates": rows[-1]["updates"],
          "episodes_per_seed": episodes.sum(0).tolist(), "success_per_seed": overall,
          "success_mean": float(np.mean(overall)), "success_std": float(np.std(overall)),
          "success_first_half": rate(slice(0, half)), "success_second_half": rate(slice(half, None))}


if __name__ == "__main__":
  root = sys.argv[1]
  print(json.dumps({task: {name: summarize(os.path.join(root, name)) for name in names}
                    for task, names in RUNS.items()}, indent=1))

"""Offline ablations of spirl_maze -> ablations.json (5,000 skill-training steps each).

  python docs/results/spirl_maze/earlier/ablations.py runs/maze > docs/results/spirl_maze/earlier/ablations.json

Per variant (`helms-pipeline`-equivalent data + train + evaluate with --config.train.num_steps=5000,
then `helms-analyze` with 128 rollouts of 1,000 steps on the near-goal large maze): the final
action reconstruction MSE and prior KL, the prior-driven policy's success on random 5x5 mazes
(goal unobserved), and the exploration of prior-sampled vs uniform skills: cells visited per
episode and by any episode, and the fraction of rollouts reaching the near goal.
"""

import json
import os
import sys

VARIANTS = ("spirl", "random50", "random75", "h3", "h30", "z5", "z30")


def row(run_dir: str) -> dict:
  with open(os.path.join(run_dir, "metrics.jsonl")) as f:
    last = [json.loads(line) for line in f][-1]
  with open(os.path.join(run_dir, "eval.json")) as f:
    evaluation = json.load(f)
  with open(os.path.join(run_dir, "analysis", "analysis.json")) as f:
    exploration = json.load(f)["metrics"]["exploration"]
  return {"train_step": last["step"], "action_mse": last["action_mse"],
          "prior_kl": last["prior_kl"], "prior_policy_success": evaluation["policy"]["success_rate"],
          "exploration": exploration}


if __name__ == "__main__":
  root = sys.argv[1]
  out = {}
  for v in VARIANTS:
    path = os.path.join(root, f"abl_{v}")
    if os.path.exists(os.path.join(path, "analysis", "analysis.json")):
      out[v] = row(path)
  print(json.dumps(out, indent=1))

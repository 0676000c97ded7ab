"""lambda selection and the protocol files of the concurrent_ant Figure 3 reproduction (issue 25).

  python docs/results/concurrent_ant/make_results.py sweep <runs dir> <out dir>
  python docs/results/concurrent_ant/make_results.py results <runs dir> <out dir> [<wall s>]

`sweep` reads the single-seed runs `<runs dir>/sweep/<objective>_w<per-step weight>` of `run.sh`
and writes `<out dir>/sweep.json`: per regularised objective the grid's scores and the chosen
weight. The rule, fixed before the sweep ran: the score of a run is its held-out composite MSE
(own embedding, `mse/<composite>`) averaged over the composites and over the last 10 % of its
logged points; the lowest score wins (ties: the smaller weight). The sweep's seed (100) is not
among the reported seeds (0-4), but it scores on the same held-out windows the claims use.

`results` reads `<runs dir>/{original,variational,non_variational}` (5-seed populations; and the
ablation `<objective>_frozen_decoder`, the MI term not training the state decoder, when run) and
writes `curves.csv` (every `mse/`, `mse_sum/`, `mse_prior/` metric per seed and logged point,
plus `mse/composites`, the mean over the composites), `claims.json` and `report/`. The
criteria were fixed in issue 25 before any run, with one refinement that can only make them
harder: "reproduced" needs the best regularised objective's mean below the original's by more
than the original's seed std; below but within it is "partial".
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))

from helms_jax.analysis import reproduction  # pylint: disable=wrong-import-position

OBJECTIVES = ("original", "variational", "non_variational")
REGULARISED = ("variational", "non_variational")
# The ablation beside the faithful runs (issue 25): the MI term does not train the state
# decoder (`learner.mi_trains_decoder=False`); reported in curves and report, not in the claims.
ABLATION = tuple(f"{o}_frozen_decoder" for o in REGULARISED)
COMPOSITES = ("forward+turn", "forward+raise_leg")
EARLY_FRACTION = 0.2  # "trains faster": the first 20 % of training


def _rows(path: str) -> list[dict]:
  with open(path) as f:
    rows = [json.loads(line) for line in f if line.strip()]
  return sorted({r["step"]: r for r in rows}.values(), key=lambda r: r["step"])  # resumed: last


def sweep_score(run_dir: str) -> float:
  """Mean over composites and the last 10 % of logged points of `mse/<composite>` (one seed)."""
  rows = _rows(os.path.join(run_dir, "metrics.jsonl"))
  last = rows[-max(1, int(np.ceil(0.1 * len(rows)))):]
  return float(np.mean([np.mean(r[f"mse/{c}"]) for r in last for c in COMPOSITES]))


def sweep(runs_dir: str, out_dir: str) -> dict:
  out = {"rule": "lowest mean held-out composite MSE (own embedding, both composites, last "
                 "10 % of logged points) of one seed (100); ties: the smaller weight",
         "grid": {}, "chosen": {}}
  names = sorted(os.listdir(os.path.join(runs_dir, "sweep")))
  for objective in REGULARISED + ABLATION:
    if objective in ABLATION and not any(n.startswith(objective + "_w") for n in names):
      continue  # the ablation has not run yet
    scores = {}
    for name in names:
      if name.startswith(objective + "_w"):
        run_dir = os.path.join(runs_dir, "sweep", name)
        with open(os.path.join(run_dir, "config.json")) as f:
          learner = json.load(f)["learner"]
        per_step = float(name[len(objective) + 2:])
        scores[per_step] = {"mi_weight": learner["mi_weight"], "score": sweep_score(run_dir)}
    if not scores:
      raise SystemExit(f"no sweep runs for {objective} under {runs_dir}/sweep")
    best = min(sorted(scores), key=lambda w: scores[w]["score"])
    out["grid"][objective] = {str(w): v for w, v in sorted(scores.items())}
    out["chosen"][objective] = {"per_step": best, **scores[best]}
  os.makedirs(out_dir, exist_ok=True)
  with open(os.path.join(out_dir, "sweep.json"), "w") as f:
    json.dump(out, f, indent=1)
  print(json.dumps(out["chosen"]))
  return out


def composites_mean(rows):
  """`mse/composites` rows: the mean of `mse/<composite>` over the composites, per point."""
  points = {}
  for method, seed, step, metric, value in rows:
    if metric in {f"mse/{c}" for c in COMPOSITES}:
      points.setdefault((method, seed, step), []).append(value)
  return [(m, s, e, "mse/composites", float(np.mean(v)))
          for (m, s, e), v in sorted(points.items()) if len(v) == len(COMPOSITES)]


def regularised_lower(stats) -> str:
  """A regularised objective below the original, by more than the original's seed std."""
  original = stats["original"]
  best = min(stats[m]["mean"] for m in REGULARISED)
  if best >= original["mean"]:
    return "not reproduced"
  return "reproduced" if original["mean"] - best > (original["std"] or 0.0) else "partial"


def results(runs_dir: str, out_dir: str, wall_time_s: float | None) -> dict:
  runs = {m: os.path.join(runs_dir, m) for m in OBJECTIVES + ABLATION
          if os.path.isfile(os.path.join(runs_dir, m, "metrics.jsonl"))}
  with open(os.path.join(runs_dir, "data_run", "config.json")) as f:
    num_steps = int(json.load(f)["train"]["num_steps"])
  early = (1, int(round(EARLY_FRACTION * num_steps)))
  paper = {"original": "higher (Fig. 3)", "variational": "lower", "non_variational": "lower"}
  source = "Pasula 2020 (papers/concurrent_skills_cvae.txt), Fig. 3 (on the DeepMimic humanoid)"
  criterion = ("min(variational, non_variational) < original over the window (mean over 5 "
               "seeds); reproduced if lower by more than the original's seed std, partial if "
               "lower by less")
  claims = [
      reproduction.Claim(
          id=f"composite_mse_{c.replace('+', '_')}",
          text=f"On held-out {c} behaviours the regularised objectives (eqs. 4, 5) reach a lower "
               "state MSE than the original objective (eq. 1).",
          source=source, metric=f"mse/{c}", methods=OBJECTIVES, paper=paper,
          criterion=criterion + " (last 10 % of updates)", predicate=regularised_lower)
      for c in COMPOSITES]
  claims.append(reproduction.Claim(
      id="composite_mse_train_faster",
      text="The regularised objectives train faster: lower held-out composite MSE early on.",
      source=source, metric="mse/composites", methods=OBJECTIVES, paper=paper,
      criterion=criterion + f" (updates {early[0]}-{early[1]}, the first "
                            f"{EARLY_FRACTION:.0%}; MSE averaged over both composites)",
      predicate=regularised_lower, window=early))
  commit_file = os.path.join(runs_dir, "commit.txt")
  commit = open(commit_file).read().strip() if os.path.isfile(commit_file) else None
  out = reproduction.publish(
      out_dir, runs, claims,
      metrics=tuple(f"{k}/{c}" for k in ("mse", "mse_sum", "mse_prior") for c in COMPOSITES),
      experiment="concurrent_ant", paper=source,
      command="docs/results/concurrent_ant/run.sh <runs dir>",
      title="Concurrent-skill CVAE on the ant: Figure 3", paper_env_steps_per_seed=None,
      wall_time_s=wall_time_s, commit=commit, derive=composites_mean)
  for claim in out["claims"]:
    print(claim["id"], claim["verdict"], json.dumps(claim["methods"]))
  return out


if __name__ == "__main__":
  mode, runs_arg, out_arg = sys.argv[1], sys.argv[2], sys.argv[3]
  if mode == "sweep":
    sweep(runs_arg, out_arg)
  elif mode == "results":
    results(runs_arg, out_arg, float(sys.argv[4]) if len(sys.argv) > 4 else None)
  else:
    raise SystemExit(f"unknown mode {mode!r}: sweep or results")

"""curves.csv, claims.json and the per-set reports of HeLMS's object-generalisation experiment
(Figure 4; REPRODUCTION.md).

  python docs/results/transfer_object_generalization/make_results.py <og runs dir> [<wall time s>]

Reads the transfer runs `<dir>/<method>_<set>` of `run.sh` that exist (set in set1, set2, set3,
set5: the RGB-Stacking object sets the set-4 skills never saw). The method key in curves.csv is
`<method>_<set>`; `report/<set>/` holds each set's curves (with the whole paper-vs-ours table).
One claim per set, its criterion fixed in issue 24 before any run; methods not run yet make it
"not reproduced".

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
METHODS = ("helms_cat", "helms_mix", "npmp_kl", "mpo", "bc_mpo", "hier_bc")
HELMS = ("helms_cat", "helms_mix")
BESIDE = ("bc_mpo", "hier_bc")  # reported beside, outside the criterion (the paper's Fig. 4
# compares HeLMS with NPMP+KL and MPO in its text)
# The paper's HeLMS vs its strongest baseline, NPMP+KL, at the end of training (section 4.3).
RELATION = {"set1": "ahead", "set2": "behind", "set3": "ahead", "set5": "level"}
# "level": the difference within 10 % of the larger return or within the larger of the two seed
# stds, whichever is wider ("performs similarly" with 3 seeds; 10 % alone asked both variants to
# be within ~20 % of each other: loosened after a review, before any full-budget run).
LEVEL_TOLERANCE = 0.1
PAPER_ENV_STEPS = None  # Figure 4's axis is not in our copy of the text


def holds(relation: str, helms, npmp) -> bool:
  """Whether a HeLMS variant's final return stands in `relation` to NPMP+KL's (`helms`, `npmp`:
  window statistics, mean and std over seeds)."""
  if relation == "ahead":
    return helms["mean"] > npmp["mean"]
  if relation == "behind":
    return helms["mean"] < npmp["mean"]
  if relation == "level":
    tolerance = max(LEVEL_TOLERANCE * max(abs(helms["mean"]), abs(npmp["mean"])),
                    helms["std"] or 0.0, npmp["std"] or 0.0)
    return abs(helms["mean"] - npmp["mean"]) <= tolerance
  raise ValueError(f"unknown relation {relation!r}; known: ahead, behind, level")


def object_set_predicate(object_set: str):
  """Both HeLMS variants stand in the paper's relation to NPMP+KL and both beat MPO:
  "reproduced"; one of the two halves for both variants: "partial"."""
  def predicate(stats) -> str:
    mean = lambda m: stats[f"{m}_{object_set}"]["mean"]
    npmp = stats[f"npmp_kl_{object_set}"]
    npmp_half = all(holds(RELATION[object_set], stats[f"{h}_{object_set}"], npmp) for h in HELMS)
    mpo_half = all(mean(h) > mean("mpo") for h in HELMS)
    if npmp_half and mpo_half:
      return "reproduced"
    return "partial" if npmp_half or mpo_half else "not reproduced"
  return predicate


def claim(object_set: str) -> reproduction.Claim:
  relation = RELATION[object_set]
  npmp_words = {"ahead": "ahead of", "behind": "behind", "level": "level with"}[relation]
  npmp_test = {"ahead": "> npmp_kl", "behind": "< npmp_kl",
               "level": f"within {LEVEL_TOLERANCE:.0%} of npmp_kl or within the larger seed std"
               }[relation]
  keys = [f"{m}_{object_set}" for m in METHODS if m not in BESIDE]
  return reproduction.Claim(
      id=f"objects_{object_set}",
      text=f"On object set {object_set[-1]}, HeLMS ends {npmp_words} NPMP+KL and ahead of MPO "
           "from scratch.",
      source="HeLMS (papers/helms.txt), Figure 4, section 4.3 'Generalising to different "
             "objects'", metric="episode_return", methods=keys,
      paper={f"helms_cat_{object_set}": f"{npmp_test}, > mpo",
             f"helms_mix_{object_set}": f"{npmp_test}, > mpo",
             f"npmp_kl_{object_set}": "the strongest baseline",
             f"mpo_{object_set}": "below both HeLMS variants"},
      criterion=f"helms_cat and helms_mix each {npmp_test} and > mpo (means of the per-seed "
                "episode_return over the last 10% of env steps; bc_mpo and hier_bc reported "
                "beside them); one of the two halves for both variants: partial",
      predicate=object_set_predicate(object_set),
      beside=[f"{m}_{object_set}" for m in BESIDE])


def main(runs_dir: str, wall_time_s: float | None = None, restore: str = "") -> None:
  runs = reproduction.finished_runs(HERE, {f"{m}_{s}": os.path.join(runs_dir, f"{m}_{s}")
                                           for s in RELATION for m in METHODS}, restore)
  out = reproduction.publish(
      HERE, runs, [claim(s) for s in RELATION], metrics=("episode_return", "success"),
      experiment="transfer_object_generalization", paper="HeLMS (papers/helms.txt), Figure 4",
      command=("docs/results/transfer_object_generalization/run.sh <runs dir> (helms-transfer "
               "--config=experiments/transfer_object_generalization.py:<method>,<set> ...)"),
      title="HeLMS: object generalisation (red on blue, unseen RGB object sets)",
      paper_env_steps_per_seed=PAPER_ENV_STEPS, wall_time_s=wall_time_s,
      report_groups={s: [f"{m}_{s}" for m in METHODS] for s in RELATION},
      figure_panels={f"set {s[-1]}": [f"{m}_{s}" for m in METHODS] for s in RELATION},
      figure_stem="figure4")  # the paper's layout: a panel per object set
  for entry in out["claims"]:
    print(entry["id"], entry["verdict"], json.dumps(entry["methods"]))


if __name__ == "__main__":
  main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else None,
       os.environ.get("RESTORE", ""))

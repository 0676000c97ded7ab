"""The pilot's choice of task (issue 26 item 2), by a rule fixed before any pilot ran.

  python docs/results/lsp_locomotion/pilot_select.py <pilot runs dir> > pilot.json

Per candidate task (a Dreamer run of one seed in `<dir>/<task>`): the mean episode return over
the first 10 % of its env steps from its first finished episodes (16 envs x 500-step episodes:
none finishes before 8k env steps) and over its last 10 % (`reproduction.window_statistics`),
and the
gain between them per step of an episode: (last - first) / episode length, where every task's
reward is at most 1 per step, so the gain is the fraction of the largest possible improvement.
The chosen task is the one with the largest gain, and Dreamer "learns" there when that gain
is at least MIN_GAIN (0.05: 5 % of the reward range in PILOT_ENV_STEPS); if no task reaches it
the output says so (`dreamer_learns: false`) and the experiment needs a larger budget, not a
different criterion.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))

from helms_jax.analysis import reproduction  # pylint: disable=wrong-import-position

TASKS = ("halfcheetah_run", "walker2d_run", "hopper_hop", "walk")
MIN_GAIN = 0.05


def task_gain(run_dir: str) -> dict:
  rows = reproduction.curves_rows({"dreamer": run_dir}, ("episode_return",))
  with open(os.path.join(run_dir, "config.json")) as f:
    episode_length = int(json.load(f)["env"]["episode_length"])
  if not rows:
    raise ValueError(f"{run_dir}: no episode_return logged")
  end, start = max(r[2] for r in rows), min(r[2] for r in rows)
  first = reproduction.window_statistics(rows, "dreamer", "episode_return",
                                         (start, start + 0.1 * end))
  last = reproduction.window_statistics(rows, "dreamer", "episode_return", (0.9 * end, end))
  if first["mean"] is None or last["mean"] is None:
    raise ValueError(f"{run_dir}: no episode_return in its first or last 10 % of env steps")
  return {"env_steps": end, "episode_length": episode_length, "first_10pct": first["mean"],
          "last_10pct": last["mean"],
          "gain_per_step": (last["mean"] - first["mean"]) / episode_length}


def main(runs_dir: str) -> dict:
  tasks = {t: task_gain(os.path.join(runs_dir, t)) for t in TASKS
           if os.path.isdir(os.path.join(runs_dir, t))}
  if not tasks:
    raise SystemExit(f"no pilot runs under {runs_dir} (expected {', '.join(TASKS)})")
  best = max(tasks, key=lambda t: tasks[t]["gain_per_step"])
  return {"rule": f"the task with the largest (last 10 % - first 10 %) mean episode return per "
                  f"episode step; Dreamer learns there if that is >= {MIN_GAIN}",
          "tasks": tasks, "chosen": best,
          "dreamer_learns": tasks[best]["gain_per_step"] >= MIN_GAIN}


if __name__ == "__main__":
  print(json.dumps(main(sys.argv[1]), indent=2))

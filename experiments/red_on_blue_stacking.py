"""Stacking data: red on blue, object set 4 (three 5 cm cubes), scripted noisy expert.

The dataset stage (`helms-data`) rolls out the stacking state-machine expert
(`helms_jax/envs/manipulation/expert.py`) in the MJX stacking env and writes episodes with
`episode/success` and `episode/task_id`. The learner/train/eval sections mirror
`helms_stacking.py` so the later stages can run on this data.

Cost on this 2-core CPU (shared with other jobs, 2026-11): compiling the stacking rollout takes
2-5 min (≈2 min on a quiet machine; once per launch), then ≈1.8k env steps/s at 64 parallel
envs (a 64 x 200-step rollout in ≈7 s). `default` = 2000 episodes x 150 steps = 300k steps ≈
3 min of rollouts, ≈5-8 min in all (measured: 192 episodes took 5.6 min including a 5 min
compile under load). `tiny` (16 episodes x 100 steps) ≈ 2-4 min, almost all compilation.

Usage:
  helms-data --config=experiments/red_on_blue_stacking.py:tiny --workdir=runs/rob_tiny
  helms-data --config=experiments/red_on_blue_stacking.py --workdir=runs/red_on_blue
"""

from experiments._base import VARIANTS, pipeline_config, set_helms_learner  # pylint: disable=unused-import


def get_config(variant: str = "default"):
  c = pipeline_config("red_on_blue_stacking", variant)
  c.env.name = "stacking"
  c.env.kwargs = {"task": "red_on_blue", "object_set": 4, "objects": "rgb", "reward": "rgb_staged"}
  # The expert stacks in ~80 steps (4 s at 20 Hz).
  c.env.episode_length = 100 if variant == "tiny" else 150
  set_helms_learner(c, num_skills=5, tiny=variant == "tiny")
  return c

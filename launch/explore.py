"""helms-explore: zero-shot exploration of each method's initial policy (HeLMS Table 1) into
<workdir>/exploration.json (shown by helms-report).

  helms-explore --config=experiments/exploration_stacking.py --workdir=runs/exploration \
      --config.exploration.skills_root=runs/skills
"""

from helms_jax import pipeline
from launch import common


def run():
  common.run_stage(pipeline.explore)


if __name__ == "__main__":
  run()

"""helms-analyze: Learner-specific analysis of a trained run (HeLMS: transition matrix, skill
usage, fixed-skill rollouts) into <workdir>/analysis/.

  helms-analyze --config=experiments/helms_stacking.py:tiny --workdir=runs/tiny
"""

from helms_jax import pipeline
from launch import common


def run():
  common.run_stage(pipeline.analyze)


if __name__ == "__main__":
  run()

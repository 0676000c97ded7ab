"""helms-train: Trains the configured learner (resumes from the workdir's checkpoints).

  helms-train --config=experiments/helms_stacking.py:tiny --workdir=runs/tiny
"""

from helms_jax import pipeline
from launch import common


def run():
  common.run_stage(pipeline.train)


if __name__ == "__main__":
  run()

"""helms-pipeline: The whole job: generate data → learn → evaluate → analyse → report.

  helms-pipeline --config=experiments/helms_stacking.py:tiny --workdir=runs/tiny
"""

from helms_jax import pipeline
from launch import common


def run():
  common.run_stage(pipeline.run_pipeline)


if __name__ == "__main__":
  run()

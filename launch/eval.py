"""helms-eval: Evaluates the latest checkpoint's policy in the env.

  helms-eval --config=experiments/helms_stacking.py:tiny --workdir=runs/tiny
"""

from helms_jax import pipeline
from launch import common


def run():
  common.run_stage(pipeline.evaluate)


if __name__ == "__main__":
  run()

"""helms-data: Generates the offline dataset (scripted/trained experts).

  helms-data --config=experiments/helms_stacking.py:tiny --workdir=runs/tiny
"""

from helms_jax import pipeline
from launch import common


def run():
  common.run_stage(pipeline.generate_data)


if __name__ == "__main__":
  run()

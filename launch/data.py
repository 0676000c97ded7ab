"""helms-data: Generates the offline dataset (scripted/trained experts).

  helms-data --config=experiments/helms_stacking.py:tiny --workdir=runs/tiny
"""

from helms_jax import runner
from launch import common


def run():
  common.run_stage(runner.generate_data)


if __name__ == "__main__":
  run()

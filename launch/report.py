"""helms-report: Writes the run's report (plots, HTML, metrics JSON).

  helms-report --config=experiments/helms_stacking.py:tiny --workdir=runs/tiny
"""

from helms_jax import runner
from launch import common


def run():
  common.run_stage(runner.report)


if __name__ == "__main__":
  run()

"""helms-transfer: RL on a new task from offline skills (HeLMS-cat/-mix, NPMP+KL, MPO, BC+MPO),
all seeds of `transfer.seeds` trained at once, into <workdir>/transfer/.

  helms-transfer --config=experiments/transfer_stacking.py:helms_cat,tiny --workdir=runs/cat \
      --config.transfer.skills_dir=runs/skills
"""

from helms_jax import pipeline
from launch import common


def run():
  common.run_stage(pipeline.transfer)


if __name__ == "__main__":
  run()

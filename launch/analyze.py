"""helms-analyze: Learner-specific analysis of a trained run (HeLMS: transition matrix, skill
usage, fixed-skill rollouts) into <workdir>/analysis/.

  helms-analyze --config=experiments/helms_stacking.py:tiny --workdir=runs/tiny

With --critic, instead: the online (transfer) run's critic against the Monte Carlo returns of
its replayed trajectories, at its newest checkpoint (`helms_jax.analysis.critic_bias`), into
<workdir>/analysis/critic_bias.json. It reads the run's own config.json and only reads its
checkpoints, so it may run beside the training run itself.

  helms-analyze --critic --workdir=runs/spirl
"""

from absl import flags

from helms_jax import pipeline
from helms_jax.analysis import critic_bias
from launch import common

_CRITIC = flags.DEFINE_bool(
    "critic", False, "Check the online run's critic against Monte Carlo returns (its replay, "
    "newest checkpoint) instead of running the learner's analysis.")
_WINDOW = flags.DEFINE_float(
    "critic_window", 0.1, "With --critic: the newest fraction of each env's stored steps checked.")


def _critic(config, workdir):
  del config  # the run's own config.json describes it
  return critic_bias.analyze_online_run(workdir, _WINDOW.value)


def run():
  # Flags are parsed inside run_stage: choose the stage once they are.
  common.run_stage(lambda config, workdir: (_critic if _CRITIC.value else pipeline.analyze)(
      config, workdir))


if __name__ == "__main__":
  run()

"""What every stage does before its own work: check the config, then hold the workdir.

`check_config` runs the value rules (`configs.check_values`) and looks up every name the pipeline
will use (env, learner, transfer method, evaluation baselines), so a typo fails at launch, not
after the stages before the one that reads it. `stage` wraps a stage function with that check
and the workdir lock (`pipeline.workdir.hold`, re-entrant: the pipeline's stages share one hold).
"""

from __future__ import annotations

import functools

import ml_collections

from helms_jax import configs, envs, methods
from helms_jax.pipeline import workdir as workdir_lib
from helms_jax.training import precision

# `train.data_placement`: every device holds the whole dataset, or its own episodes (see
# pipeline/train.py); 'auto' chooses by the number of processes.
DATA_PLACEMENTS = ("auto", "replicated", "sharded")
# `eval.baselines`: rolled out beside the trained policy for context.
EVAL_BASELINES = ("expert", "random")


def check_config(config: ml_collections.ConfigDict) -> None:
  """Raises ConfigError naming every bad value and unknown name of `config` (one line)."""
  configs.check_values(config)
  problems = []
  env_name = config.get("env", {}).get("name", "")
  if env_name and env_name not in envs.registered_names():
    problems.append(f"env.name={env_name!r} is not a registered env (valid: "
                    f"{', '.join(envs.registered_names())})")
  if "learner" in config and config.learner.get("name") not in methods.learner_names():
    problems.append(f"learner.name={config.learner.get('name')!r} is not a learner (valid: "
                    f"{', '.join(methods.learner_names())})")
  if "transfer" in config and config.transfer.get("method") not in methods.method_names():
    problems.append(f"transfer.method={config.transfer.get('method')!r} is not a method "
                    f"(valid: {', '.join(methods.method_names())})")
  unknown = sorted(set(config.get("eval", {}).get("baselines", ())) - set(EVAL_BASELINES))
  if unknown:
    problems.append(f"eval.baselines has unknown entries {unknown} (valid: "
                    f"{', '.join(EVAL_BASELINES)})")
  if precision.problem(config.get("precision", "float32")):
    problems.append(precision.problem(config.get("precision", "float32")))
  placement = config.get("train", {}).get("data_placement", "auto")
  if placement not in DATA_PLACEMENTS:
    problems.append(f"train.data_placement={placement!r} must be one of {DATA_PLACEMENTS}")
  if problems:
    raise configs.ConfigError("; ".join(problems))
  for method_config in config.get("exploration", {}).get("methods", {}).values():
    check_config(method_config)


def stage(fn):
  """A pipeline stage `fn(config, workdir, ...)`: checks the config first, then holds the
  workdir's lock while it runs."""

  @functools.wraps(fn)
  def run(config: ml_collections.ConfigDict, workdir: str, *args, **kwargs):
    check_config(config)
    with workdir_lib.hold(workdir):
      return fn(config, workdir, *args, **kwargs)

  return run

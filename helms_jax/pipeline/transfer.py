"""Stage 5, transfer: RL on the task of `config.transfer` with every seed at once, resumable.

`transfer(config, workdir)` asks the method's record for its agent (restoring the offline skills
it needs from `transfer.skills_dir`, default this workdir), optionally warm-started from another
online run (`transfer.source_dir`, for methods whose record supports it), and runs
`training.online_loop.train_online` into `<workdir>/transfer/` (curves.jsonl, run.json,
checkpoints/).
"""

from __future__ import annotations

import sys

import ml_collections

from helms_jax import configs, methods, runs
from helms_jax.io import git_commit
from helms_jax.pipeline.stage import stage
from helms_jax.pipeline.workdir import prepare_workdir
from helms_jax.training.metric_writers import ProgressFn
from helms_jax.training.online_loop import check_run, train_online


def source_warm_start(config: ml_collections.ConfigDict, env):
  """`train_online`'s warm start from `transfer.source_dir`, as the method's record builds it
  from the source run's state."""
  record = methods.method(config.transfer.method)
  if record.warm_start is None:
    warm = [m for m in methods.method_names() if methods.method(m).warm_start is not None]
    raise configs.ConfigError(f"transfer.source_dir: method {config.transfer.method!r} cannot "
                              f"start from another run (methods that can: {', '.join(warm)})")
  _, source, _ = runs.load_online_run(config.transfer.source_dir)
  return record.warm_start(config, env, source)


@stage
def transfer(config: ml_collections.ConfigDict, workdir: str, *,
             progress_fn: ProgressFn | None = None):
  """RL on the transfer task (`config.transfer`) from the offline skills, all seeds at once.

  Writes `<workdir>/transfer/` (curves.jsonl, run.json, checkpoints/); resumes exactly.
  `progress_fn(env_steps, metrics)`, if given, is called on process 0 at every logging point
  with the seed-averaged values written to `<workdir>/transfer/metrics.jsonl`.
  """
  if "transfer" not in config:
    raise configs.ConfigError(f"{config.experiment} has no transfer section: nothing to transfer")
  with configs.values_checked_by_builders():  # everything the config decides, before writing
    env = runs.make_transfer_env(config)
    agent, env = runs.make_transfer_agent(config, env, config.transfer.skills_dir or workdir)
    loop = runs.online_loop_config(config)
    check_run(agent, env, loop, config.transfer.seeds)
    warm_start = None
    if config.transfer.get("source_dir", ""):
      warm_start = source_warm_start(config, env)
  info = {"label": runs.transfer_label(config), "experiment": config.experiment,
          "variant": config.variant, "method": config.transfer.method,
          "env": {"name": config.env.name,
                  "kwargs": {**config.env.kwargs.to_dict(), **config.transfer.env_kwargs.to_dict()},
                  "episode_length": config.env.episode_length},
          "command": " ".join(sys.argv), "commit": git_commit()}
  if warm_start is not None:
    info["source_dir"] = config.transfer.source_dir
  prepare_workdir(config, workdir)
  return train_online(agent, env, loop, workdir=workdir, seeds=tuple(config.transfer.seeds),
                      run_info=info, warm_start=warm_start, progress_fn=progress_fn)

"""Stage 2, offline learning: the configured learner on the dataset, resumable.

`train(config, workdir)` builds the learner and its sampler from the learner's record
(`methods.learner(config.learner.name)`), checks everything the config decides before writing,
and runs `training.offline_loop.train_offline` (checkpoints, metrics, divergence guard).

Data placement (`train.data_placement`): 'replicated' (every device holds the whole dataset),
'sharded' (device d holds episodes d, d + D, ...: per-process data shards, for learners whose
record says `shardable`) or 'auto' (sharded when several processes run). A run records the
layout it used in `data_layout.json` and keeps it on resume.
"""

from __future__ import annotations

import json
import os

import jax
import ml_collections
from absl import logging

from helms_jax import configs, data as data_lib, methods, runs
from helms_jax.io import atomic_write_json
from helms_jax.pipeline.stage import DATA_PLACEMENTS, stage
from helms_jax.pipeline.workdir import prepare_workdir
from helms_jax.training import devices, distributed, population
from helms_jax.training.metric_writers import ProgressFn
from helms_jax.training.offline_loop import LoopConfig, train_offline

DATA_LAYOUT_FILE = "data_layout.json"


def loop_config(config: ml_collections.ConfigDict) -> LoopConfig:
  """The offline loop's settings from the `train` section."""
  t = config.train
  return LoopConfig(num_steps=t.num_steps, batch_size=t.batch_size,
                    updates_per_call=t.updates_per_call, log_every=t.log_every,
                    checkpoint_every=t.checkpoint_every, max_to_keep=t.max_to_keep,
                    tensorboard=t.tensorboard, precision=config.get("precision", "float32"))


def make_sampler(config: ml_collections.ConfigDict, dataset, env=None):
  """`(sample_fn(data, key) -> batch, data)` of the configured learner (one seed): its record's
  own sampler, or windows of `train.window` steps with `train.lookahead` steps ahead."""
  record = methods.learner(config.learner.name)
  if record.make_sampler is not None:
    return record.make_sampler(config, dataset, env)
  sampler = data_lib.WindowSampler(dataset, config.train.window, config.train.lookahead)
  return sampler.loop_sample_fn(config.train.batch_size)


def can_shard_data(config: ml_collections.ConfigDict) -> bool:
  """Whether the configured sampler can split its windows over devices: one learner (not a seed
  population) whose record says it is shardable."""
  return (runs.num_population_seeds(config) == 1 and
          methods.learner(config.learner.name).shardable)


def data_placement(config: ml_collections.ConfigDict) -> str:
  """`train.data_placement` resolved: 'replicated' or 'sharded' ('auto': sharded when several
  processes run and the sampler can shard)."""
  placement = config.train.get("data_placement", "auto")
  if placement not in DATA_PLACEMENTS:
    raise configs.ConfigError(f"train.data_placement must be one of {DATA_PLACEMENTS}, got "
                              f"{placement!r}")
  if placement == "auto":
    return "sharded" if jax.process_count() > 1 and can_shard_data(config) else "replicated"
  return placement


def _resuming(workdir: str) -> bool:
  return runs.has_checkpoint(os.path.join(workdir, "checkpoints"))


def run_data_layout(config: ml_collections.ConfigDict, workdir: str, mesh) -> dict:
  """The data placement and shard count this launch uses, kept stable across resumes (reads
  only; `record_data_layout` writes it once training starts).

  A fresh run records `{placement, num_shards}` in `<workdir>/data_layout.json`. A resumed run
  with `train.data_placement='auto'` keeps the recorded placement, so a multi-process run
  continued in one process still samples per-device shards (with the same device count the
  stream is then exactly the uninterrupted run's). A different device count, or an explicit
  placement that differs, changes the data stream from the resume on: logged, not refused.
  """
  layout = {"placement": data_placement(config), "num_shards": int(mesh.devices.size)}
  path = os.path.join(workdir, DATA_LAYOUT_FILE)
  if _resuming(workdir) and os.path.exists(path):
    with open(path) as f:
      recorded = json.load(f)
    if config.train.get("data_placement", "auto") == "auto":
      layout["placement"] = recorded["placement"]
    if layout != recorded:
      logging.warning("Resuming %s with data layout %s instead of %s: the data stream differs "
                      "from the uninterrupted run's from here on", workdir, layout, recorded)
  return layout


def record_data_layout(workdir: str, layout: dict) -> None:
  """Writes `data_layout.json` for a fresh run (a resumed run keeps its recorded one)."""
  path = os.path.join(workdir, DATA_LAYOUT_FILE)
  if distributed.is_main_process() and not (_resuming(workdir) and os.path.exists(path)):
    atomic_write_json(path, layout)


@stage
def train(config: ml_collections.ConfigDict, workdir: str, *,
          progress_fn: ProgressFn | None = None):
  """Trains the configured offline learner on the dataset; resumes from the latest checkpoint.

  `progress_fn(step, metrics)`, if given, is called on process 0 at every logging point with
  the values written to `<workdir>/metrics.jsonl` (`training.offline_loop.train_offline`).
  """
  with configs.values_checked_by_builders():  # everything the config decides, before writing
    dataset = data_lib.load_dataset(runs.dataset_dir(config, workdir))
    env = runs.make_env(config) if runs.has_env(config) else runs.DataSpec(dataset)
    for name, size in (("observation", env.observation_size), ("action", env.action_size)):
      if dataset.schema[name].shape[-1] != size:
        raise data_lib.DatasetError(
            f"dataset {runs.dataset_dir(config, workdir)} has {name}s of size "
            f"{dataset.schema[name].shape[-1]} but env {config.env.name!r} ({config.env.kwargs}) "
            f"has {size}: the dataset was made for another env")
    learner = runs.make_learner(config, env, dataset)
    loop = loop_config(config)
    loop.validate()
    num_seeds = runs.num_population_seeds(config)
    mesh = devices.make_mesh()
    layout = run_data_layout(config, workdir, mesh)
    sharded = layout["placement"] == "sharded"
    if sharded:
      if not can_shard_data(config):
        raise configs.ConfigError(
            "train.data_placement='sharded' splits one learner's windows over devices; seed "
            f"populations and the {config.learner.name!r} learner's own sampler keep the "
            "dataset replicated (set train.data_placement='replicated')")
      num_shards, t = mesh.devices.size, config.train
      devices.check_batch_divisible(t.batch_size, mesh, what="train.batch_size")
      sample_fn = data_lib.sharded_sample_fn(dataset, t.batch_size, t.window, t.lookahead,
                                             num_shards)
      sampler_data = data_lib.sharded_window_data(dataset, t.window, t.lookahead, num_shards,
                                                  devices.local_shard_indices(mesh))
    else:
      sample_fn, sampler_data = make_sampler(config, dataset, env)
      if num_seeds > 1:
        # A population's batches are [S, B, ...]: the loop shards the leading (seed) axis.
        devices.check_batch_divisible(num_seeds, mesh, what="train.num_seeds")
        sample_fn = population.vmap_sample_fn(sample_fn, num_seeds)
  prepare_workdir(config, workdir)
  record_data_layout(workdir, layout)
  return train_offline(learner, sample_fn, sampler_data, workdir=workdir, seed=config.seed,
                       loop=loop, mesh=mesh, data_sharded=sharded, progress_fn=progress_fn)

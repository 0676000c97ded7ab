"""The pipeline's stages as library functions: `generate_data`, `train`, `evaluate`, `analyze`,
`report`.

Each stage takes `(config, workdir)` and is what the absl entry points (`helms-data`,
`helms-train`, `helms-eval`, `helms-report`, `helms-pipeline`) call; importing code can call them
directly. A stage is a composition of the library's parts (envs, data, agents, training,
analysis), never a copy of one.

Workdir layout:
  config.json            the config of the latest launch (checked against the previous one)
  data/                  the generated dataset (unless config.data.dir points elsewhere)
  checkpoints/<step>/    orbax checkpoints of the full loop state (exact resume)
  metrics.jsonl          one JSON row per logged step
  tensorboard/           TensorBoard event files
  eval.json              evaluation of the latest checkpoint
  analysis/              learner-specific analysis (figures + analysis.json), shown in the report
  report/                index.html, PNG plots, metrics.json
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from helms_jax import agents, configs, data as data_lib, envs, workdir as workdir_lib
from helms_jax.envs import experts
from helms_jax.io import atomic_write_json
from helms_jax.training import devices, distributed, population
from helms_jax.training.checkpoint import Checkpointer, CheckpointNotFoundError
from helms_jax.training.offline_loop import LoopConfig, init_loop_state, train_offline
from helms_jax.training.online_loop import OnlineConfig, check_run, train_online

# The workdir's config rule and lock live in `helms_jax.workdir`; re-exported for callers.
prepare_workdir = workdir_lib.prepare_workdir
write_json = atomic_write_json
EVAL_BASELINES = ("expert", "random")


def check_config(config: ml_collections.ConfigDict) -> None:
  """What every stage checks before it writes anything: the values (`configs.check_values`)
  and the names the pipeline will look up (env, learner, transfer method, baselines), so that
  a typo fails at launch rather than after the stages before the one that reads it."""
  configs.check_values(config)
  problems = []
  env_name = config.get("env", {}).get("name", "")
  if env_name and env_name not in envs.registered_names():
    problems.append(f"env.name={env_name!r} is not a registered env (valid: "
                    f"{', '.join(envs.registered_names())})")
  if "learner" in config and config.learner.get("name") not in agents.learner_names():
    problems.append(f"learner.name={config.learner.get('name')!r} is not a learner (valid: "
                    f"{', '.join(agents.learner_names())})")
  unknown = sorted(set(config.get("eval", {}).get("baselines", ())) - set(EVAL_BASELINES))
  if unknown:
    problems.append(f"eval.baselines has unknown entries {unknown} (valid: "
                    f"{', '.join(EVAL_BASELINES)})")
  placement = config.get("train", {}).get("data_placement", "auto")
  if placement not in DATA_PLACEMENTS:
    problems.append(f"train.data_placement={placement!r} must be one of {DATA_PLACEMENTS}")
  if problems:
    raise configs.ConfigError("; ".join(problems))
  if "transfer" in config:
    transfer_offline_learner(config)  # names the valid methods when unknown
  for method_config in config.get("exploration", {}).get("methods", {}).values():
    check_config(method_config)


def stage(fn):
  """A pipeline stage `fn(config, workdir, ...)`: checks the config first, then holds the
  workdir's lock while it runs (re-entrant: the pipeline's stages share one hold)."""

  @functools.wraps(fn)
  def run(config: ml_collections.ConfigDict, workdir: str, *args, **kwargs):
    check_config(config)
    with workdir_lib.hold(workdir):
      return fn(config, workdir, *args, **kwargs)
  return run


def dataset_dir(config: ml_collections.ConfigDict, workdir: str) -> str:
  return config.data.dir or os.path.join(workdir, "data")


def make_env(config: ml_collections.ConfigDict, episode_length: int | None = None,
             **kwarg_overrides):
  """The configured env with its time limit (not batched, not auto-reset).

  `kwarg_overrides` replace entries of `config.env.kwargs` (e.g. `object_set` per data group);
  an override of None removes the entry (the env's default). `episode_length` replaces
  `config.env.episode_length` (the transfer task's own limit).
  """
  kwargs = {k: v for k, v in {**config.env.kwargs.to_dict(), **kwarg_overrides}.items()
            if v is not None}
  env = envs.make(config.env.name, **kwargs)
  return envs.EpisodeWrapper(env, episode_length=episode_length or config.env.episode_length)


# ----------------------------------------------------------------------------------------------
# Stage 1: data.


def data_groups(config: ml_collections.ConfigDict) -> list[tuple[dict, int]]:
  """The dataset's groups in episode order: `[(env kwarg overrides, num_episodes)]`.

  One group unless `config.data.object_sets` lists object sets: then one group per set (the
  object set changes the MJX model, so each is its own env and compiled rollout), with
  `num_episodes` split as evenly as possible (earlier sets get the remainder).
  """
  cfg = config.data
  sets = tuple(cfg.get("object_sets", ()) or ())
  if not sets:
    return [({}, cfg.num_episodes)]
  if len(set(sets)) != len(sets):
    raise configs.ConfigError(f"data.object_sets has duplicates: {sets}")
  if cfg.num_episodes < len(sets):
    raise configs.ConfigError(f"data.num_episodes={cfg.num_episodes} is fewer than the "
                              f"{len(sets)} object sets of data.object_sets")
  per, extra = divmod(cfg.num_episodes, len(sets))
  return [({"object_set": int(s)}, per + (i < extra)) for i, s in enumerate(sets)]


def _episode_fields(traj, lengths: np.ndarray, overrides: dict) -> dict[str, np.ndarray]:
  """Per-episode labels of a rollout batch: success, and task_id/object_set where known."""
  valid = np.asarray(traj.valid)
  success = np.asarray(traj.info["success"]) * valid
  out = {"info/success": success.astype(np.float32),
         "episode/success": success.max(axis=1) > 0}
  if "task_id" in traj.info:  # constant over an episode; step 0 is always valid
    out["episode/task_id"] = np.asarray(traj.info["task_id"])[:, 0].astype(np.int32)
  if "object_set" in overrides:
    out["episode/object_set"] = np.full(lengths.shape, overrides["object_set"], np.int32)
  return out


def _data_policy(config: ml_collections.ConfigDict, env) -> experts.Expert:
  """The scripted expert, acting at random in a `data.random_fraction` of the episodes."""
  expert = experts.expert_for(config.env.name, env, noise_scale=config.data.expert_noise)
  return experts.with_random_episodes(expert, float(config.data.get("random_fraction", 0.0)),
                                      env.action_size)


def _import_dataset(config: ml_collections.ConfigDict, workdir: str) -> str:
  """Imports `config.data.import_hdf5` (a D4RL- or Minari-style file the user has locally) into
  the dataset directory, once: a complete earlier import is kept."""
  path = dataset_dir(config, workdir)
  source = os.path.expanduser(config.data.import_hdf5)
  if not os.path.isfile(source):
    raise data_lib.DatasetNotFoundError(
        f"data.import_hdf5={config.data.import_hdf5!r}: no such file (give the path of your "
        f"local .hdf5 dataset)")
  if os.path.exists(os.path.join(path, data_lib.MANIFEST_NAME)):
    manifest = data_lib.read_manifest(path)
    if manifest.metadata.get("source_file") != os.path.abspath(source):
      raise data_lib.DatasetError(
          f"{path} holds an import of {manifest.metadata.get('source_file')!r}, not of "
          f"{os.path.abspath(source)!r}: use another workdir or data.dir")
    logging.info("Dataset %s already imported from %s", path, source)
    return path
  manifest = data_lib.import_hdf5(source, path, env_name=config.env.get("name") or None,
                                  episodes_per_shard=config.data.episodes_per_shard,
                                  final_obs=config.data.get("final_obs") or None,
                                  overwrite=os.path.exists(path))
  logging.info("Imported %s: %d episodes, %d steps", source, manifest.num_episodes,
               manifest.num_steps)
  return path


@stage
def generate_data(config: ml_collections.ConfigDict, workdir: str) -> str:
  """Rolls out the env's scripted expert and writes `config.data.num_episodes` episodes.

  Episodes carry `episode/success`, `episode/task_id` (index into the env's task list, for envs
  reporting `info['task_id']`, e.g. stacking) and, with `config.data.object_sets`,
  `episode/object_set` (episodes are generated set by set, see `data_groups`).

  Resumable: the dataset writer keeps every complete shard, and the episodes of the b-th rollout
  batch (counted over all groups) come from `fold_in(seed, b)`, so a generator restarted after a
  crash writes the same episodes the uninterrupted one would have.

  Returns:
    The dataset directory.
  """
  if config.data.get("import_hdf5"):
    make = functools.partial(_import_dataset, config, workdir)
  elif not has_env(config):
    raise configs.ConfigError(
        f"{config.experiment} has no env (env.name='') and no data.import_hdf5 file: set "
        "--config.data.import_hdf5=<your .hdf5> or --config.data.dir=<an existing dataset>")
  else:
    with configs.values_checked_by_builders():  # before anything is written
      groups = data_groups(config)
      env = make_env(config, **groups[0][0])
      expert = _data_policy(config, env)
    make = functools.partial(_generate_data, config, dataset_dir(config, workdir), env, expert)
  prepare_workdir(config, workdir)
  if jax.process_count() == 1:
    return make()
  # One writer: process 0 makes the dataset (on its own devices), the others wait for it.
  path = make() if distributed.is_main_process() else dataset_dir(config, workdir)
  distributed.barrier(f"helms_jax:data:{os.path.abspath(dataset_dir(config, workdir))}")
  return path


def _generate_data(config: ml_collections.ConfigDict, path: str, env, expert) -> str:
  """Writes the dataset; `env` and `expert` are those of the first data group."""
  cfg = config.data
  groups = data_groups(config)
  random_fraction = float(cfg.get("random_fraction", 0.0))
  episode_fields = {"success": ((), np.bool_)}
  if random_fraction > 0:
    episode_fields["random_actions"] = ((), np.bool_)
  if "task_id" in jax.eval_shape(env.reset, jax.random.PRNGKey(0)).info:
    episode_fields["task_id"] = ((), np.int32)
  if "object_set" in groups[0][0]:
    episode_fields["object_set"] = ((), np.int32)
  schema = data_lib.Schema.create(
      (env.observation_size,), (env.action_size,),
      info={"success": ((), np.float32)}, episode=episode_fields)
  data_key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 0xDA7A)
  metadata = {"episode_length": config.env.episode_length, "seed": config.seed}
  if len(groups) > 1:
    metadata["groups"] = [{"env_kwargs": o, "num_episodes": n} for o, n in groups]
  with data_lib.DatasetWriter(
      path, schema, env_name=config.env.name, env_kwargs=config.env.kwargs.to_dict(),
      generator=f"scripted expert {expert.name} (noise {cfg.expert_noise})",
      episodes_per_shard=cfg.episodes_per_shard, metadata=metadata) as writer:
    done = writer.num_committed_episodes
    if done:
      logging.info("Resuming dataset %s at episode %d", path, done)
    group_start, batch_offset = 0, 0  # first episode / first rollout batch of the group
    for overrides, group_episodes in groups:
      num_batches = -(-group_episodes // cfg.num_envs)
      if done < group_start + group_episodes:
        if overrides != groups[0][0]:
          env = make_env(config, **overrides)
          expert = _data_policy(config, env)
        for b in range(max(done - group_start, 0) // cfg.num_envs, num_batches):
          batch_key = jax.random.fold_in(data_key, batch_offset + b)
          traj = jax.device_get(envs.rollout(
              env, expert.policy, batch_key, cfg.num_envs,
              config.env.episode_length, policy_init=expert.init))
          lengths = np.asarray(envs.episode_lengths(traj))
          batch = {
              "observation": traj.observation, "action": traj.action, "reward": traj.reward,
              "discount": traj.discount, "done": np.asarray(traj.done).astype(bool),
              **_episode_fields(traj, lengths, overrides),
          }
          if random_fraction > 0:
            batch["episode/random_actions"] = np.asarray(experts.random_episode_flags(
                expert, envs.acting.policy_init_keys(batch_key, cfg.num_envs)))
          first = group_start + b * cfg.num_envs
          skip = max(done - first, 0)  # episodes of this batch already committed
          keep = min(group_start + group_episodes - first, cfg.num_envs)
          sl = slice(skip, keep)
          writer.add_episodes({k: np.asarray(v)[sl] for k, v in batch.items()}, lengths[sl])
          logging.info("Generated %d/%d episodes%s", first + keep, cfg.num_episodes,
                       f" ({overrides})" if overrides else "")
      group_start += group_episodes
      batch_offset += num_batches
  manifest = data_lib.read_manifest(path)
  logging.info("Dataset %s: %d episodes, %d steps", path, manifest.num_episodes, manifest.num_steps)
  return path


# ----------------------------------------------------------------------------------------------
# Stage 2: offline learning.


def _loop_config(config: ml_collections.ConfigDict) -> LoopConfig:
  t = config.train
  return LoopConfig(num_steps=t.num_steps, batch_size=t.batch_size,
                    updates_per_call=t.updates_per_call, log_every=t.log_every,
                    checkpoint_every=t.checkpoint_every, max_to_keep=t.max_to_keep,
                    tensorboard=t.tensorboard)


def observation_statistics(dataset) -> tuple[np.ndarray, np.ndarray]:
  """Per-dimension mean and std of a dataset's observations: two [obs_dim] float32 arrays."""
  obs = np.asarray(dataset.fields["observation"], np.float64)
  obs = obs.reshape(-1, obs.shape[-1])
  return obs.mean(0).astype(np.float32), obs.std(0).astype(np.float32)


def has_env(config: ml_collections.ConfigDict) -> bool:
  """False for dataset-only experiments (`env.name = ''`, e.g. an imported D4RL file with no
  simulator here): they train offline, and evaluation, analysis and transfer are skipped."""
  return bool(config.env.get("name"))


class _DataSpec:
  """Observation/action sizes of a dataset, standing in for the env of a dataset-only run."""

  def __init__(self, dataset):
    self.observation_size = int(dataset.schema["observation"].shape[-1])
    self.action_size = int(dataset.schema["action"].shape[-1])


def make_learner(config: ml_collections.ConfigDict, env, dataset=None):
  """The configured learner for `env` (`make_env(config)`; observation groups come from it; a
  dataset-only run passes `env=None` and takes the sizes from `dataset`).

  With `dataset`, its observation statistics initialise learners that normalise inputs; without
  (evaluation, analysis) they come from the restored checkpoint instead.
  """
  if env is None:
    if dataset is None:
      raise ValueError("make_learner needs an env or a dataset to size the learner")
    env = _DataSpec(dataset)
  learner = agents.make_learner(
      config.learner, env.observation_size, env.action_size,
      observation_groups=getattr(env, "observation_groups", None),
      observation_stats=observation_statistics(dataset) if dataset is not None else None,
      lookahead=config.train.lookahead)
  num_seeds = num_population_seeds(config)
  if num_seeds == 1:
    return learner
  if learner.policy is not None:
    raise configs.ConfigError(
        f"train.num_seeds={num_seeds}: seed populations are implemented for learners without a "
        f"policy (the concurrent CVAE), not for {config.learner.name!r}; train its seeds as "
        "separate runs")
  return population.vmap_learner(learner, num_seeds)


def num_population_seeds(config: ml_collections.ConfigDict) -> int:
  """`train.num_seeds` (default 1): seeds trained together as one vmapped population."""
  num_seeds = int(config.train.get("num_seeds", 1))
  if num_seeds < 1:
    raise configs.ConfigError(f"train.num_seeds must be >= 1, got {num_seeds}")
  return num_seeds


def _sampler(config: ml_collections.ConfigDict, dataset):
  """`(sample_fn(data, key) -> batch, data)` of the configured learner (per seed)."""
  if config.learner.name == "concurrent":
    from helms_jax.agents.concurrent import offline as concurrent  # pylint: disable=import-outside-toplevel
    if config.train.window != config.learner.window:
      raise configs.ConfigError(f"train.window={config.train.window} must equal "
                                f"learner.window={config.learner.window}")
    return concurrent.make_sampler(config.learner, dataset, config.train.batch_size)
  sampler = data_lib.WindowSampler(dataset, config.train.window, config.train.lookahead)
  return sampler.loop_sample_fn(config.train.batch_size)


@stage
def train(config: ml_collections.ConfigDict, workdir: str):
  """Trains the configured offline learner on the dataset; resumes from the latest checkpoint."""
  with configs.values_checked_by_builders():  # everything the config decides, before writing
    dataset = data_lib.load_dataset(dataset_dir(config, workdir))
    env = make_env(config) if has_env(config) else _DataSpec(dataset)
    for name, size in (("observation", env.observation_size), ("action", env.action_size)):
      if dataset.schema[name].shape[-1] != size:
        raise data_lib.DatasetError(
            f"dataset {dataset_dir(config, workdir)} has {name}s of size "
            f"{dataset.schema[name].shape[-1]} but env {config.env.name!r} ({config.env.kwargs}) "
            f"has {size}: the dataset was made for another env")
    learner = make_learner(config, env, dataset)
    loop = _loop_config(config)
    loop.validate()
    num_seeds = num_population_seeds(config)
    mesh = devices.make_mesh()
    layout = run_data_layout(config, workdir, mesh)
    sharded = layout["placement"] == "sharded"
    if sharded:
      if not _can_shard_data(config):
        raise configs.ConfigError(
            "train.data_placement='sharded' splits one learner's windows over devices; seed "
            "populations and the concurrent CVAE's label-aware sampler keep the dataset "
            "replicated (set train.data_placement='replicated')")
      num_shards, t = mesh.devices.size, config.train
      devices.check_batch_divisible(t.batch_size, mesh, what="train.batch_size")
      sample_fn = data_lib.sharded_sample_fn(dataset, t.batch_size, t.window, t.lookahead,
                                             num_shards)
      sampler_data = data_lib.sharded_window_data(dataset, t.window, t.lookahead, num_shards,
                                                  devices.local_shard_indices(mesh))
    else:
      sample_fn, sampler_data = _sampler(config, dataset)
      if num_seeds > 1:
        # A population's batches are [S, B, ...]: the loop shards the leading (seed) axis.
        devices.check_batch_divisible(num_seeds, mesh, what="train.num_seeds")
        sample_fn = population.vmap_sample_fn(sample_fn, num_seeds)
  prepare_workdir(config, workdir)
  record_data_layout(workdir, layout)
  return train_offline(learner, sample_fn, sampler_data, workdir=workdir, seed=config.seed,
                       loop=loop, mesh=mesh, data_sharded=sharded)


DATA_PLACEMENTS = ("auto", "replicated", "sharded")
DATA_LAYOUT_FILE = "data_layout.json"


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


def _resuming(workdir: str) -> bool:
  return workdir_lib.has_checkpoint(os.path.join(workdir, "checkpoints"))


def record_data_layout(workdir: str, layout: dict) -> None:
  """Writes `data_layout.json` for a fresh run (a resumed run keeps its recorded one)."""
  path = os.path.join(workdir, DATA_LAYOUT_FILE)
  if distributed.is_main_process() and not (_resuming(workdir) and os.path.exists(path)):
    write_json(path, layout)


def data_placement(config: ml_collections.ConfigDict) -> str:
  """`train.data_placement`: 'replicated' (every device holds the whole dataset), 'sharded'
  (device d holds episodes d, d + D, ...: per-process data shards) or 'auto' (sharded when
  several processes run, replicated otherwise)."""
  placement = config.train.get("data_placement", "auto")
  if placement not in DATA_PLACEMENTS:
    raise configs.ConfigError(f"train.data_placement must be one of {DATA_PLACEMENTS}, got "
                              f"{placement!r}")
  if placement == "auto":
    return "sharded" if jax.process_count() > 1 and _can_shard_data(config) else "replicated"
  return placement


def _can_shard_data(config: ml_collections.ConfigDict) -> bool:
  """Whether the configured sampler can split its windows over devices: one learner drawing
  plain windows (not a seed population, not the concurrent CVAE's label-aware sampler)."""
  return num_population_seeds(config) == 1 and config.learner.name != "concurrent"


# ----------------------------------------------------------------------------------------------
# Stage 3: evaluation.


def restore_learner_state(config: ml_collections.ConfigDict, workdir: str, learner):
  """`(LoopState, step)` of the newest intact offline checkpoint in `workdir` (read-only: a
  damaged step is skipped, not moved). Raises CheckpointNotFoundError without one, and
  NonFiniteCheckpointError for a diverged one."""
  directory = os.path.join(workdir, "checkpoints")
  missing = CheckpointNotFoundError(f"no checkpoint in {directory}: run helms-train first")
  if not workdir_lib.has_checkpoint(directory):
    raise missing
  checkpointer = Checkpointer(directory, read_only=True)
  try:
    state, step = checkpointer.restore_latest(init_loop_state(learner, config.seed),
                                              finite_part=lambda s: s.learner)
  finally:
    checkpointer.close()
  if state is None:
    raise missing
  return state, step


def _episode_stats(traj) -> dict[str, float]:
  valid = np.asarray(traj.valid)
  returns = (np.asarray(traj.reward) * valid).sum(axis=1)
  success = (np.asarray(traj.info["success"]) * valid).max(axis=1) > 0
  return {"return_mean": float(returns.mean()), "return_std": float(returns.std()),
          "success_rate": float(success.mean()), "length_mean": float(valid.sum(axis=1).mean())}


def _learner_action(params, obs, key, *, policy, deterministic):
  return policy(params, obs, key, deterministic=deterministic)


def _stateful_learner_action(params, obs, key, pstate, *, policy, deterministic):
  return policy(params, obs, key, pstate, deterministic=deterministic)


def _random_action(obs, key, *, action_size):
  del obs
  return jax.random.uniform(key, (action_size,), minval=-1.0, maxval=1.0)


@stage
def evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any] | None:
  """Rolls out the trained policy and the baselines of `config.eval.baselines` (the scripted
  expert, a uniform random policy; each costs one more compiled rollout).

  Writes `eval.json` with, for each, mean/std return, success rate and mean episode length over
  `config.eval.num_episodes` episodes (the expert and random rows put the policy's in context).
  """
  with configs.values_checked_by_builders():
    env = make_env(config)
    learner = make_learner(config, env)
  if learner.policy is None:
    logging.info("Learner %r has no policy to roll out: no evaluation", config.learner.name)
    return None
  state, step = restore_learner_state(config, workdir, learner)
  prepare_workdir(config, workdir)
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 0xE7A1)
  n, horizon = config.eval.num_episodes, config.env.episode_length
  policy = functools.partial(
      _learner_action if learner.policy_init is None else _stateful_learner_action,
      policy=learner.policy, deterministic=config.eval.deterministic)
  results = {
      "policy": _episode_stats(envs.rollout(env, policy, key, n, horizon,
                                            policy_params=state.learner.params,
                                            policy_init=learner.policy_init)),
  }
  if "expert" in config.eval.baselines:
    expert = experts.expert_for(config.env.name, env, noise_scale=config.data.expert_noise)
    results["expert"] = _episode_stats(envs.rollout(env, expert.policy, key, n, horizon,
                                                    policy_init=expert.init))
  if "random" in config.eval.baselines:
    results["random"] = _episode_stats(envs.rollout(
        env, functools.partial(_random_action, action_size=env.action_size), key, n, horizon))
  out = {"checkpoint_step": step, "num_episodes": n, "env": config.env.name, **results}
  if jax.process_index() == 0:
    write_json(os.path.join(workdir, "eval.json"), out)
  logging.info("Evaluation at step %d: %s", step, json.dumps(results))
  return out


# ----------------------------------------------------------------------------------------------
# Stage 4: analysis of the learned skills.


@stage
def analyze(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any] | None:
  """Learner-specific analysis into `<workdir>/analysis/` (HeLMS: transition matrix, skill
  usage, fixed-skill rollouts; see `analysis/helms.py`; LSP: skill root trajectories of the
  online run, `analyze_online`). Returns its metrics, or None for learners without one.
  Each analysis restores what it needs before `prepare_workdir` writes anything."""
  if "transfer" in config and transfer_offline_learner(config) is None:
    return analyze_online(config, workdir)  # a from-scratch online run: no offline learner
  if config.learner.name == "spirl" and "exploration" in config.analysis:
    return _analyze_spirl(config, workdir)
  if config.learner.name == "concurrent":
    return _analyze_concurrent(config, workdir)
  if config.learner.name != "helms":
    logging.info("No skill analysis for learner %r", config.learner.name)
    return None
  from helms_jax.agents.helms import offline as helms_offline  # pylint: disable=import-outside-toplevel
  from helms_jax.analysis import helms as helms_analysis  # pylint: disable=import-outside-toplevel
  with configs.values_checked_by_builders():
    env = make_env(config)
    learner = make_learner(config, env)
  state, _ = restore_learner_state(config, workdir, learner)
  functions, _ = helms_offline.make_helms(config.learner, env.observation_size, env.action_size,
                                          env.observation_groups, None, config.train.lookahead)
  dataset = data_lib.load_dataset(dataset_dir(config, workdir))
  prepare_workdir(config, workdir)
  if jax.process_index() != 0:
    return None
  return helms_analysis.analyze(config, workdir, env, state.learner.params, functions, dataset)


def load_offline_run(run_dir: str, env):
  """`(learner config, params)` of the finished offline run in `run_dir` (its own config.json),
  e.g. the BC flat prior a SPiRL analysis compares with."""
  path = os.path.join(run_dir, "config.json")
  if not os.path.exists(path):
    raise workdir_lib.NotARunError(f"{path} not found: {run_dir} is not a helms_jax run directory")
  with open(path) as f:
    other = ml_collections.ConfigDict(json.load(f))
  learner = make_learner(other, env)
  state, _ = restore_learner_state(other, run_dir, learner)
  return other.learner, state.learner.params


def _analyze_spirl(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any] | None:
  """SPiRL Figure 5 on the downstream env (the transfer task when the config has one)."""
  from helms_jax.analysis import spirl as spirl_analysis  # pylint: disable=import-outside-toplevel
  env = make_transfer_env(config) if "transfer" in config else make_env(config)
  state, _ = restore_learner_state(config, workdir, make_learner(config, env))
  flat_dir = config.analysis.exploration.get("flat_prior_dir", "")
  bc = load_offline_run(flat_dir, env) if flat_dir else None
  prepare_workdir(config, workdir)
  if jax.process_index() != 0:
    return None
  return spirl_analysis.analyze(config, workdir, env, state.learner.params, bc=bc)


def _analyze_concurrent(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any] | None:
  """The CVAE's latent picture (composite embeddings against subskill sums) and its held-out
  curves, for every seed of the population (`analysis/concurrent.py`)."""
  from helms_jax.analysis import concurrent as concurrent_analysis  # pylint: disable=import-outside-toplevel
  env = make_env(config)
  state, _ = restore_learner_state(config, workdir, make_learner(config, env))
  dataset = data_lib.load_dataset(dataset_dir(config, workdir))
  prepare_workdir(config, workdir)
  if jax.process_index() != 0:
    return None
  return concurrent_analysis.analyze(config, workdir, env, state.learner.params, dataset)


# ----------------------------------------------------------------------------------------------
# Stage 5: transfer to a new task with RL.


def load_skills(config: ml_collections.ConfigDict, env, skills_dir: str):
  """The offline checkpoint transfer starts from: `(params, HeLMS functions or None)`.

  `config.learner` must be the config the skills were trained with (the offline experiment's).
  """
  from helms_jax.agents.helms import offline as helms_offline  # pylint: disable=import-outside-toplevel
  learner = make_learner(config, env)
  try:
    state, step = restore_learner_state(config, skills_dir, learner)
  except CheckpointNotFoundError as error:
    raise CheckpointNotFoundError(
        f"transfer.method={config.transfer.method!r} needs offline skills: {error} (set "
        f"--config.transfer.skills_dir to the workdir of a finished offline run)") from None
  logging.info("Transfer starts from the %s skills in %s (step %d)", config.learner.name,
               skills_dir, step)
  functions = None
  if config.learner.name == "helms":
    functions, _ = helms_offline.make_helms(config.learner, env.observation_size, env.action_size,
                                            env.observation_groups, None, config.train.lookahead)
  return state.learner.params, functions


def make_transfer_env(config: ml_collections.ConfigDict):
  """The transfer task: `config.env` with `transfer.env_kwargs` and the task's own time limit
  (`transfer.episode_length`, 0 or absent: `env.episode_length`)."""
  return make_env(config, episode_length=config.transfer.get("episode_length", 0),
                  **config.transfer.env_kwargs.to_dict())


def transfer_label(config: ml_collections.ConfigDict) -> str:
  from helms_jax.agents import lsp  # pylint: disable=import-outside-toplevel
  names = {"mpo": "MPO", "bc_mpo": "BC+MPO", "helms_cat": "HeLMS-cat", "helms_mix": "HeLMS-mix",
           **lsp.LABELS}
  return config.transfer.label or names.get(config.transfer.method, config.transfer.method)


def transfer_offline_learner(config: ml_collections.ConfigDict) -> str | None:
  """The offline learner whose checkpoint `config.transfer.method` starts from (None: none)."""
  from helms_jax.agents import transfer as transfer_lib  # pylint: disable=import-outside-toplevel
  from helms_jax.agents import lsp  # pylint: disable=import-outside-toplevel
  from helms_jax.agents.spirl import downstream  # pylint: disable=import-outside-toplevel
  method = config.transfer.method
  table = {**transfer_lib.OFFLINE_LEARNER, **downstream.OFFLINE_LEARNER, **lsp.OFFLINE_LEARNER}
  if method not in table:
    raise configs.ConfigError(f"transfer.method={method!r}; valid: {', '.join(table)}")
  return table[method]


def make_transfer_agent(config: ml_collections.ConfigDict, env, skills_dir: str):
  """`(online agent of config.transfer, the env it acts in)` on the task `env`: MPO over an
  action space (HeLMS methods and their baselines), SAC over skills or actions (SPiRL methods,
  which may wrap `env` in a `SkillEnv`) or the LSP / Dreamer world-model agent. Skills are
  restored from `skills_dir` when needed."""
  from helms_jax.agents import lsp, mpo, transfer as transfer_lib  # pylint: disable=import-outside-toplevel
  from helms_jax.agents.spirl import downstream  # pylint: disable=import-outside-toplevel
  if config.transfer.method in lsp.METHODS:
    return lsp.make_agent(config.transfer.agent, (env.observation_size,), env.action_size), env
  offline = None
  if transfer_offline_learner(config) is not None:
    offline = load_skills(config, env, skills_dir)
  if config.transfer.method in downstream.METHODS:
    return downstream.make_downstream(config, env, offline and offline[0])
  space = transfer_lib.make_action_space(config, env, offline)
  return mpo.make_agent(config.transfer.agent, space, env.observation_size), env


def _git_commit() -> str:
  try:
    return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.abspath(__file__)), timeout=10,
                          check=True).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return "unknown"


@stage
def transfer(config: ml_collections.ConfigDict, workdir: str):
  """RL on the transfer task (`config.transfer`) from the offline skills, all seeds at once.

  Writes `<workdir>/transfer/` (curves.jsonl, run.json, checkpoints/); resumes exactly.
  """
  if "transfer" not in config:
    raise configs.ConfigError(f"{config.experiment} has no transfer section: nothing to transfer")
  with configs.values_checked_by_builders():  # everything the config decides, before writing
    env = make_transfer_env(config)
    agent, env = make_transfer_agent(config, env, config.transfer.skills_dir or workdir)
    loop = OnlineConfig(**config.transfer.loop.to_dict())
    check_run(agent, env, loop, config.transfer.seeds)
  info = {"label": transfer_label(config), "experiment": config.experiment,
          "variant": config.variant, "method": config.transfer.method,
          "env": {"name": config.env.name,
                  "kwargs": {**config.env.kwargs.to_dict(), **config.transfer.env_kwargs.to_dict()},
                  "episode_length": config.env.episode_length},
          "command": " ".join(sys.argv), "commit": _git_commit()}
  warm_start = None
  if config.transfer.get("source_dir", ""):
    warm_start = source_warm_start(config, env)
    info["source_dir"] = config.transfer.source_dir
  prepare_workdir(config, workdir)
  return train_online(agent, env, loop, workdir=workdir, seeds=tuple(config.transfer.seeds),
                      run_info=info, warm_start=warm_start)


def analyze_online(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any] | None:
  """Analysis of a finished online run into `<workdir>/analysis/`: for LSP agents with skills,
  the 2-D root trajectories of different skills (`analysis/lsp.py`); None for other methods."""
  from helms_jax.agents import lsp  # pylint: disable=import-outside-toplevel
  from helms_jax.analysis import lsp as lsp_analysis  # pylint: disable=import-outside-toplevel
  if config.transfer.method not in lsp.METHODS or not config.transfer.agent.skill_size:
    return None
  _, state, env = load_online_run(workdir)
  prepare_workdir(config, workdir)
  if jax.process_index() != 0:
    return None
  a = config.get("analysis", ml_collections.ConfigDict())
  nets = lsp.Networks(config.transfer.agent, (env.observation_size,), env.action_size)
  return lsp_analysis.analyze(config, workdir, env, nets, state.agent.params,
                              num_skills=a.get("num_skills", 8),
                              num_steps=a.get("skill_steps", 100), seed=config.seed)


def load_online_run(run_dir: str):
  """`(config, stacked OnlineState, env)` of the online run in `run_dir` (its config.json, the
  latest checkpoint under transfer/checkpoints, and the env the agent acted in)."""
  from helms_jax.training.online_loop import make_online_fns  # pylint: disable=import-outside-toplevel
  path = os.path.join(run_dir, "config.json")
  if not os.path.exists(path):
    raise workdir_lib.NotARunError(f"{path} not found: {run_dir} is not a helms_jax run directory")
  with open(path) as f:
    other = ml_collections.ConfigDict(json.load(f))
  env = make_transfer_env(other)
  agent, env = make_transfer_agent(other, env, other.transfer.skills_dir or run_dir)
  init, _ = make_online_fns(agent, env, OnlineConfig(**other.transfer.loop.to_dict()))
  keys = jnp.stack([jax.random.PRNGKey(s) for s in other.transfer.seeds])
  abstract = jax.eval_shape(jax.vmap(init), keys)
  directory = os.path.join(run_dir, "transfer", "checkpoints")
  missing = CheckpointNotFoundError(f"no checkpoint under {directory}: the online run has not "
                                    "trained yet")
  if not workdir_lib.has_checkpoint(directory):
    raise missing
  checkpointer = Checkpointer(directory, read_only=True)
  try:
    state, step = checkpointer.restore_latest(abstract, finite_part=lambda s: s.agent)
  finally:
    checkpointer.close()
  if state is None:
    raise missing
  logging.info("Loaded the online run %s at %d env steps per seed", run_dir, step)
  return other, state, env


def source_warm_start(config: ml_collections.ConfigDict, env):
  """`train_online`'s warm start from `transfer.source_dir` (LSP / Dreamer task transfer): the
  source run's agent, and with `transfer.relabel` its replay relabelled by this task's reward."""
  from helms_jax.agents import lsp  # pylint: disable=import-outside-toplevel
  from helms_jax.agents.lsp import transfer as lsp_transfer  # pylint: disable=import-outside-toplevel
  if config.transfer.method not in lsp.METHODS:
    raise configs.ConfigError(f"transfer.source_dir is for the world-model methods "
                              f"({', '.join(lsp.METHODS)}), not {config.transfer.method!r}")
  _, source, _ = load_online_run(config.transfer.source_dir)
  relabel = None
  if config.transfer.get("relabel", False):
    relabel = getattr(env, "relabel", None)
    if relabel is None:
      raise configs.ConfigError(f"transfer.relabel: env {config.env.name!r} has no relabel "
                                f"function (its tasks cannot recompute rewards of old data)")
  return lsp_transfer.make_warm_start(source, relabel=relabel,
                                      key=jax.random.PRNGKey(config.seed + 7919))


def _agent_action(agent_state, obs, key, *, act):
  """One env's action from a batched `OnlineAgent.act` (the form `envs.rollout` takes)."""
  return act(agent_state, obs[None], key, False)[1][0]


@stage
def explore(config: ml_collections.ConfigDict, workdir: str) -> list[dict]:
  """Zero-shot exploration (HeLMS Table 1): each method's policy at the start of RL, rolled out
  for `exploration.num_episodes` episodes; returns under the dense and staged rewards and state
  coverage into `<workdir>/exploration.json`.

  `config.exploration.methods` maps a row label to a full transfer config (the method and the
  skill config it needs); skills load from `<exploration.skills_root>/<transfer.skills_name>`
  unless that config sets `transfer.skills_dir`.
  """
  from helms_jax.analysis import exploration as exploration_lib  # pylint: disable=import-outside-toplevel
  commit = _git_commit()  # at launch: the code that runs, whatever lands meanwhile
  ex = config.exploration
  with configs.values_checked_by_builders():
    env = make_env(config, **ex.env_kwargs.to_dict())
  agents_by_label = []
  for label, method_config in ex.methods.items():
    skills_dir = (method_config.transfer.skills_dir or
                  os.path.join(ex.skills_root, method_config.transfer.skills_name))
    with configs.values_checked_by_builders():
      agents_by_label.append((label, make_transfer_agent(method_config, env, skills_dir)[0]))
  prepare_workdir(config, workdir)
  policies = []
  for i, (label, agent) in enumerate(agents_by_label):
    agent_state = agent.init(jax.random.PRNGKey(config.seed + i))
    policies.append(exploration_lib.ExplorationPolicy(
        name=label, policy_fn=functools.partial(_agent_action, act=agent.act),
        params=agent_state))
  rows = exploration_lib.explore(env, policies, num_episodes=ex.num_episodes,
                                 num_steps=config.env.episode_length, batch_size=ex.batch_size,
                                 key=jax.random.PRNGKey(config.seed))
  if jax.process_index() == 0:
    exploration_lib.write_exploration(
        os.path.join(workdir, "exploration.json"), rows,
        {"env": {**config.env.kwargs.to_dict(), **ex.env_kwargs.to_dict()},
         "command": " ".join(sys.argv), "commit": commit})
  return rows


# ----------------------------------------------------------------------------------------------
# Stage 6: report, and the whole pipeline.


@stage
def report(config: ml_collections.ConfigDict, workdir: str) -> str:
  """Writes `<workdir>/report/` (index.html, PNG plots, metrics.json); returns its path."""
  from helms_jax.analysis import report as report_lib  # matplotlib only when reporting
  prepare_workdir(config, workdir)
  if not distributed.is_main_process():
    return os.path.join(workdir, "report")
  return report_lib.write_run_report(workdir, title=f"{config.experiment} ({config.variant})")


@stage
def run_pipeline(config: ml_collections.ConfigDict, workdir: str) -> str:
  """generate data → learn offline → evaluate → analyse → transfer (configs with a `transfer`
  section) → report. Each stage resumes if interrupted."""
  if "transfer" in config and transfer_offline_learner(config) is None:
    logging.info("transfer.method=%r learns from scratch: no offline data or skills",
                 config.transfer.method)
    transfer(config, workdir)
    analyze(config, workdir)
    return report(config, workdir)
  generate_data(config, workdir)
  train(config, workdir)
  if has_env(config):
    evaluate(config, workdir)
    analyze(config, workdir)
    if "transfer" in config:
      transfer(config, workdir)
  else:
    logging.info("Dataset-only experiment (no env): no evaluation, analysis or transfer")
  path = report(config, workdir)
  logging.info("Report: %s", os.path.join(path, "index.html"))
  return path

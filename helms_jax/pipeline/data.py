"""Stage 1, data: the scripted expert's episodes (or a user's local HDF5 file) as a dataset.

`generate_data(config, workdir)` writes `config.data.num_episodes` episodes into
`<workdir>/data` (or `data.dir`), resumably; with `data.object_sets` one group of episodes per
object set. See `helms_jax.data` for the format.
"""

from __future__ import annotations

import functools
import os

import jax
import ml_collections
import numpy as np
from absl import logging

from helms_jax import configs, data as data_lib, envs, runs
from helms_jax.envs import experts
from helms_jax.pipeline.stage import stage
from helms_jax.pipeline.workdir import prepare_workdir
from helms_jax.training import distributed


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


def _episode_fields(traj, lengths: np.ndarray, overrides: dict,
                    episode_info_keys=()) -> dict[str, np.ndarray]:
  """Per-episode labels of a rollout batch: success, task_id/object_set where known, and the
  env's `episode_info_keys` (e.g. the maze's walls) at each episode's first step."""
  valid = np.asarray(traj.valid)
  success = np.asarray(traj.info["success"]) * valid
  out = {"info/success": success.astype(np.float32),
         "episode/success": success.max(axis=1) > 0}
  if "task_id" in traj.info:  # constant over an episode; step 0 is always valid
    out["episode/task_id"] = np.asarray(traj.info["task_id"])[:, 0].astype(np.int32)
  if "object_set" in overrides:
    out["episode/object_set"] = np.full(lengths.shape, overrides["object_set"], np.int32)
  for key in episode_info_keys:  # recorded after each step; constant over an episode
    out[f"episode/{key}"] = np.asarray(traj.recorded[key])[:, 0]
  return out


def _generator_name(expert: experts.Expert, data_config) -> str:
  """The dataset's `generator` text, e.g. "scripted expert X (noise 0.2-1.0, excursions up to
  0.05)"."""
  noise = str(data_config.expert_noise)
  if data_config.get("expert_noise_max", 0.0):
    noise += f"-{data_config.expert_noise_max}"
  if data_config.get("expert_excursion_max", 0.0):
    noise += f", excursions up to {data_config.expert_excursion_max}"
  return f"scripted expert {expert.name} (noise {noise})"


def _record_info(state, keys):
  """The rollout's `record_fn` for the env's per-episode info (non-scalar, so not in `info`)."""
  return {key: state.info[key] for key in keys}


def _data_policy(config: ml_collections.ConfigDict, env) -> experts.Expert:
  """The scripted expert, acting at random in a `data.random_fraction` of the episodes."""
  options = {}
  if config.data.get("expert_noise_max", 0.0):
    options["noise_max"] = float(config.data.expert_noise_max)
  if config.data.get("expert_excursion_max", 0.0):
    options["excursion_max"] = float(config.data.expert_excursion_max)
  expert = experts.expert_for(config.env.name, env, noise_scale=config.data.expert_noise,
                              **options)
  return experts.with_random_episodes(expert, float(config.data.get("random_fraction", 0.0)),
                                      env.action_size)


def _import_dataset(config: ml_collections.ConfigDict, workdir: str) -> str:
  """Imports `config.data.import_hdf5` (a D4RL- or Minari-style file the user has locally) into
  the dataset directory, once: a complete earlier import is kept."""
  path = runs.dataset_dir(config, workdir)
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
  elif not runs.has_env(config):
    raise configs.ConfigError(
        f"{config.experiment} has no env (env.name='') and no data.import_hdf5 file: set "
        "--config.data.import_hdf5=<your .hdf5> or --config.data.dir=<an existing dataset>")
  else:
    with configs.values_checked_by_builders():  # before anything is written
      groups = data_groups(config)
      env = runs.make_env(config, **groups[0][0])
      expert = _data_policy(config, env)
    make = functools.partial(_generate_data, config, runs.dataset_dir(config, workdir), env, expert)
  prepare_workdir(config, workdir)
  if jax.process_count() == 1:
    return make()
  # One writer: process 0 makes the dataset (on its own devices), the others wait for it.
  path = make() if distributed.is_main_process() else runs.dataset_dir(config, workdir)
  distributed.barrier(f"helms_jax:data:{os.path.abspath(runs.dataset_dir(config, workdir))}")
  return path


def _generate_data(config: ml_collections.ConfigDict, path: str, env, expert) -> str:
  """Writes the dataset; `env` and `expert` are those of the first data group."""
  cfg = config.data
  groups = data_groups(config)
  random_fraction = float(cfg.get("random_fraction", 0.0))
  episode_fields = {"success": ((), np.bool_)}
  if random_fraction > 0:
    episode_fields["random_actions"] = ((), np.bool_)
  reset_info = jax.eval_shape(env.reset, jax.random.PRNGKey(0)).info
  if "task_id" in reset_info:
    episode_fields["task_id"] = ((), np.int32)
  episode_info_keys = tuple(getattr(env, "episode_info_keys", ()))
  # One record function for every batch: the rollout's jit keys on it by identity, so a new
  # partial per batch recompiled each batch (and loading that many executables exhausted the
  # process's memory maps after ~50 batches).
  record_fn = (functools.partial(_record_info, keys=episode_info_keys)
               if episode_info_keys else None)
  for key in episode_info_keys:
    episode_fields[key] = (tuple(reset_info[key].shape), np.dtype(reset_info[key].dtype))
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
      generator=_generator_name(expert, cfg),
      episodes_per_shard=cfg.episodes_per_shard, metadata=metadata) as writer:
    done = writer.num_committed_episodes
    if done:
      logging.info("Resuming dataset %s at episode %d", path, done)
    group_start, batch_offset = 0, 0  # first episode / first rollout batch of the group
    for overrides, group_episodes in groups:
      num_batches = -(-group_episodes // cfg.num_envs)
      if done < group_start + group_episodes:
        if overrides != groups[0][0]:
          env = runs.make_env(config, **overrides)
          expert = _data_policy(config, env)
        for b in range(max(done - group_start, 0) // cfg.num_envs, num_batches):
          batch_key = jax.random.fold_in(data_key, batch_offset + b)
          traj = jax.device_get(envs.rollout(
              env, expert.policy, batch_key, cfg.num_envs,
              config.env.episode_length, policy_init=expert.init,
              record_fn=record_fn))
          lengths = np.asarray(envs.episode_lengths(traj))
          batch = {
              "observation": traj.observation, "action": traj.action, "reward": traj.reward,
              "discount": traj.discount, "done": np.asarray(traj.done).astype(bool),
              **_episode_fields(traj, lengths, overrides, episode_info_keys),
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

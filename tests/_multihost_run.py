"""One process of the multi-process equivalence test (tests/test_multihost.py).

Usage: python -m tests._multihost_run OUT.npz WORKDIR DATASET_DIR [RESTORE_WORKDIR]
Multi-process: set JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID. Devices per
process: XLA_FLAGS=--xla_force_host_platform_device_count=N.

On the global mesh it runs
  * HeLMS offline: `train_offline` with per-device data shards (`data.sharded_window_data`),
    checkpointing at the end;
  * an RL learner, two ways: one data-parallel MPO update (replicated agent, replay batch
    split over the devices: the gradient all-reduce) and `train_online` with 4 seeds split over
    the devices (each process steps only its own seeds' envs), checkpointing at the end;
and process 0 writes the resulting parameters to OUT.npz. With RESTORE_WORKDIR it also restores
that run's two checkpoints (e.g. written by 2 processes) into this run's layout and saves them.
"""

import os
import sys

from helms_jax.training import distributed

distributed.initialize()  # from the JAX_* variables; before anything touches a device

# pylint: disable=wrong-import-position
import jax
import jax.numpy as jnp
import numpy as np

from helms_jax import data as data_lib
from helms_jax.agents import mpo
from helms_jax.agents.helms import offline as helms
from helms_jax.envs.base import ObservationGroups
from helms_jax.training import devices
from helms_jax.training.checkpoint import Checkpointer
from helms_jax.training.offline_loop import LoopConfig, init_loop_state, train_offline
from helms_jax.training.online_loop import (OnlineConfig, Transition, make_online_fns,
                                            seed_sharding, train_online)
from tests.test_online import ArmBandit, agent_config, categorical_space

WINDOW, LOOKAHEAD, BATCH = 4, 1, 16
SEEDS = (0, 1, 2, 3)
ONLINE = OnlineConfig(num_envs=8, unroll_length=2, updates_per_iteration=2, batch_size=16,
                      sequence_length=2, replay_capacity=256, min_replay_steps=32,
                      env_steps=8 * 2 * 4 * 2, iterations_per_call=4, checkpoint_every_calls=2)


def helms_learner():
  cfg = helms.default_config()
  cfg.update(dict(num_skills=3, latent_size=2, high_level_hidden=(16,), mid_level_hidden=(16,),
                  low_level_hidden=(16,), high_level_groups=("a", "b"),
                  mid_level_groups=("a", "b"), low_level_groups=("a",)))
  groups = ObservationGroups.from_sizes(a=4, b=2)
  return helms.make_learner(cfg, 6, 2, observation_groups=groups, lookahead=LOOKAHEAD)


def leaves(tree):
  return [np.asarray(x) for x in jax.tree_util.tree_leaves(distributed.to_host(tree))]


def main(out_path, workdir, dataset_dir, restore_from=None):
  mesh = devices.make_mesh()
  num_shards = mesh.devices.size
  results = {"num_processes": jax.process_count(), "num_devices": num_shards}

  # HeLMS offline, per-device data shards.
  dataset = data_lib.load_dataset(dataset_dir)
  learner = helms_learner()
  sample_fn = data_lib.sharded_sample_fn(dataset, BATCH, WINDOW, LOOKAHEAD, num_shards)
  local = data_lib.sharded_window_data(dataset, WINDOW, LOOKAHEAD, num_shards,
                                       devices.local_shard_indices(mesh))
  results["local_shards"] = np.asarray(local.shard_index)
  results.update({f"helms_init_{i}": x
                  for i, x in enumerate(leaves(init_loop_state(learner, 0).learner.params))})
  state = train_offline(learner, sample_fn, local, workdir=os.path.join(workdir, "helms"),
                        seed=0, mesh=mesh, data_sharded=True,
                        loop=LoopConfig(num_steps=10, batch_size=BATCH, updates_per_call=5,
                                        log_every=5, checkpoint_every=10, tensorboard=False))
  results.update({f"helms_{i}": x for i, x in enumerate(leaves(state.learner.params))})

  # RL, data parallel: one MPO update of a replicated agent on a replay batch split over devices.
  agent = mpo.make_agent(agent_config(), categorical_space(), observation_size=2)
  agent_state = devices.put_global(agent.init(jax.random.PRNGKey(0)), devices.replicated(mesh))
  k = jax.random.split(jax.random.PRNGKey(1), 3)
  batch = Transition(
      observation=jnp.tile(jnp.array([1.0, 0.0]), (32, 2, 1)),
      agent_action=jax.random.randint(k[0], (32, 2), 0, 4), reward=jax.random.uniform(k[1], (32, 2)),
      discount=jnp.ones((32, 2)), end=(jax.random.uniform(k[2], (32, 2)) < 0.5).astype(jnp.float32),
      next_observation=jnp.tile(jnp.array([1.0, 0.0]), (32, 2, 1)))
  batch = devices.put_global(jax.device_get(batch), devices.batch_sharded(mesh))
  update = jax.jit(agent.update, in_shardings=(devices.replicated(mesh),
                                               devices.batch_sharded(mesh), None),
                   out_shardings=devices.replicated(mesh))
  updated, _ = update(agent_state, batch, jax.random.PRNGKey(2))
  results.update({f"mpo_init_{i}": x for i, x in enumerate(leaves(agent_state))})
  results.update({f"mpo_update_{i}": x for i, x in enumerate(leaves(updated))})

  # RL, seeds over devices: each process runs the envs of its own seeds.
  online = train_online(agent, ArmBandit(), ONLINE, workdir=workdir, seeds=SEEDS, mesh=mesh)
  results.update({f"online_{i}": x for i, x in enumerate(leaves(online.agent))})

  if restore_from is not None:
    ckpt = Checkpointer(os.path.join(restore_from, "helms", "checkpoints"))
    target = devices.put_global(init_loop_state(learner, 0), devices.replicated(mesh))
    restored = ckpt.restore(ckpt.latest_step(), target)
    ckpt.close()
    results.update({f"restored_helms_{i}": x
                    for i, x in enumerate(leaves(restored.learner.params))})
    init, _ = make_online_fns(agent, ArmBandit(), ONLINE)
    target = jax.jit(jax.vmap(init), out_shardings=seed_sharding(len(SEEDS), mesh))(
        jnp.stack([jax.random.PRNGKey(s) for s in SEEDS]))
    ckpt = Checkpointer(os.path.join(restore_from, "transfer", "checkpoints"))
    restored = ckpt.restore(ckpt.latest_step(), target)
    ckpt.close()
    results.update({f"restored_online_{i}": x for i, x in enumerate(leaves(restored.agent))})

  if distributed.is_main_process():
    np.savez(out_path, **results)
  distributed.shutdown()


if __name__ == "__main__":
  main(*sys.argv[1:])

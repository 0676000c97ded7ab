"""Runs a few learner updates on all local devices and saves the parameters (test helper).

Usage: python -m tests._sharded_learner_run OUT.npz WORKDIR [bc]
Run with XLA_FLAGS=--xla_force_host_platform_device_count=N to get N CPU devices.
Saves the trained leaves as arr_<i> and the initial leaves as init_<i>.
"""

import sys

import jax
import jax.numpy as jnp
import numpy as np

from helms_jax.agents.baselines import bc
from helms_jax.training import devices
from helms_jax.training.offline_loop import LoopConfig, init_loop_state, train_offline


def bc_sample_fn(data, key):
  idx = jax.random.randint(key, (16,), 0, data["obs"].shape[0])
  return {"observation": data["obs"][idx][:, None], "action": data["act"][idx][:, None]}


def make(name):
  if name != "bc":
    raise ValueError(f"unknown learner {name!r} (HeLMS runs in tests/_multihost_run.py)")
  return bc.make_learner(bc.default_config(), 6, 2), bc_sample_fn


def main(out_path, workdir, name="bc"):
  obs = jax.random.normal(jax.random.PRNGKey(1), (512, 6))
  data = {"obs": obs, "act": jnp.tanh(obs[:, :2] - obs[:, 2:4])}
  learner, sample_fn = make(name)
  mesh = devices.make_mesh()
  init = jax.tree_util.tree_leaves(init_loop_state(learner, 0).learner.params)
  state = train_offline(learner, sample_fn, data, workdir=workdir, seed=0, mesh=mesh,
                        loop=LoopConfig(num_steps=20, batch_size=16, updates_per_call=5,
                                        log_every=10, checkpoint_every=20, tensorboard=False))
  leaves = jax.tree_util.tree_leaves(state.learner.params)
  shardings = {str(leaf.sharding.spec) for leaf in leaves}
  np.savez(out_path, num_devices=len(jax.devices()), *[np.asarray(l) for l in leaves],
           **{f"init_{i}": np.asarray(l) for i, l in enumerate(init)},
           mesh_size=mesh.devices.size, shardings=np.array(sorted(shardings)))


if __name__ == "__main__":
  main(*sys.argv[1:])

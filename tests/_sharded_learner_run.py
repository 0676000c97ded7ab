"""Runs a few BC learner updates on all local devices and saves the parameters (test helper).

Usage: python -m tests._sharded_learner_run OUT.npz WORKDIR
Run with XLA_FLAGS=--xla_force_host_platform_device_count=N to get N CPU devices.
"""

import sys

import jax
import jax.numpy as jnp
import numpy as np

from helms_jax.agents.baselines import bc
from helms_jax.training import devices
from helms_jax.training.offline_loop import LoopConfig, train_offline


def sample_fn(data, key):
  idx = jax.random.randint(key, (16,), 0, data["obs"].shape[0])
  return {"observation": data["obs"][idx][:, None], "action": data["act"][idx][:, None]}


def main(out_path, workdir):
  obs = jax.random.normal(jax.random.PRNGKey(1), (512, 6))
  data = {"obs": obs, "act": jnp.tanh(obs[:, :2] - obs[:, 2:4])}
  learner = bc.make_learner(bc.default_config(), 6, 2)
  mesh = devices.make_mesh()
  state = train_offline(learner, sample_fn, data, workdir=workdir, seed=0, mesh=mesh,
                        loop=LoopConfig(num_steps=20, batch_size=16, updates_per_call=5,
                                        log_every=10, checkpoint_every=20, tensorboard=False))
  leaves = jax.tree_util.tree_leaves(state.learner.params)
  shardings = {str(leaf.sharding.spec) for leaf in leaves}
  np.savez(out_path, num_devices=len(jax.devices()), *[np.asarray(l) for l in leaves],
           mesh_size=mesh.devices.size, shardings=np.array(sorted(shardings)))


if __name__ == "__main__":
  main(sys.argv[1], sys.argv[2])

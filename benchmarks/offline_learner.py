"""Offline learner throughput: the fused, device-sampling loop vs a per-step host loop.

Ours: `training.offline_loop.make_chunk_fn` — `updates_per_call` updates under one `jit` as a
`lax.scan`, windows gathered on device from the dataset passed as an argument.
Baseline (same run, same learner, same batch): one jitted update per Python step, the batch
sampled on the host (`WindowSampler.sample`) and transferred each step — the usual
straightforward loop.

  python benchmarks/offline_learner.py --quick
Last line: `offline_learner ratio: <ours / baseline updates per second>`.
"""

import argparse
import os
import sys
import tempfile
import time

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from helms_jax import data as data_lib  # pylint: disable=wrong-import-position
from helms_jax.agents.baselines import bc  # pylint: disable=wrong-import-position
from helms_jax.training.offline_loop import init_loop_state, make_chunk_fn  # pylint: disable=wrong-import-position


def make_dataset(path, num_episodes, length, obs_dim, act_dim):
  rng = np.random.default_rng(0)
  schema = data_lib.Schema.create((obs_dim,), (act_dim,))
  with data_lib.DatasetWriter(path, schema, env_name="synthetic", generator="benchmark",
                              episodes_per_shard=num_episodes) as writer:
    done = np.zeros((num_episodes, length), bool)
    done[:, -1] = True
    writer.add_episodes({
        "observation": rng.normal(size=(num_episodes, length + 1, obs_dim)).astype(np.float32),
        "action": rng.uniform(-1, 1, size=(num_episodes, length, act_dim)).astype(np.float32),
        "reward": np.zeros((num_episodes, length), np.float32),
        "discount": np.ones((num_episodes, length), np.float32), "done": done,
    }, np.full(num_episodes, length))
  return data_lib.load_dataset(path)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--quick", action="store_true")
  args = parser.parse_args()
  updates = 500 if args.quick else 5000
  batch_size, window, chunk_len = 256, 10, 50
  with tempfile.TemporaryDirectory() as tmp:
    dataset = make_dataset(tmp + "/d", 200, 100, 32, 8)
  sampler = data_lib.WindowSampler(dataset, window)
  learner = bc.make_learner(bc.default_config(), 32, 8)
  sample_fn, device_data = sampler.loop_sample_fn(batch_size)

  # Ours: fused chunks.
  chunk = jax.jit(make_chunk_fn(learner, sample_fn, chunk_len))
  state = init_loop_state(learner, 0)
  t0 = time.perf_counter()
  state, _, _ = chunk(state, device_data)
  jax.block_until_ready(state)
  compile_ours = time.perf_counter() - t0
  t0 = time.perf_counter()
  for _ in range(updates // chunk_len):
    state, metrics, _ = chunk(state, device_data)
  jax.block_until_ready(state)
  ours = updates // chunk_len * chunk_len / (time.perf_counter() - t0)

  # Baseline: jit per update, host sampling, a transfer per step.
  update = jax.jit(learner.update)
  lstate, key = learner.init(jax.random.PRNGKey(0)), jax.random.PRNGKey(1)
  t0 = time.perf_counter()
  key, k1, k2 = jax.random.split(key, 3)
  lstate, _ = update(lstate, jax.device_put(sampler.sample(k1, batch_size)), k2)
  jax.block_until_ready(lstate)
  compile_base = time.perf_counter() - t0
  t0 = time.perf_counter()
  for _ in range(updates):
    key, k1, k2 = jax.random.split(key, 3)
    lstate, metrics = update(lstate, jax.device_put(sampler.sample(k1, batch_size)), k2)
    float(metrics["loss"])  # a host round trip per step, as a naive loop logs every step
  jax.block_until_ready(lstate)
  base = updates / (time.perf_counter() - t0)

  print(f"machine: {os.cpu_count()} cpus, jax {jax.__version__}, backend {jax.default_backend()}")
  print(f"BC, batch {batch_size} x window {window}, MLP 64x64, {updates} updates")
  print(f"{'loop':<34}{'updates/s':>12}{'first call (s)':>16}")
  print(f"{'fused scan, device sampling':<34}{ours:>12.1f}{compile_ours:>16.2f}")
  print(f"{'jit per step, host sampling':<34}{base:>12.1f}{compile_base:>16.2f}")
  print(f"offline_learner ratio: {ours / base:.2f}")


if __name__ == "__main__":
  main()

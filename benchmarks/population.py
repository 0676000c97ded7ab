"""Seed populations: S seeds of the concurrent-skill CVAE updated as one vmapped update against
the same S seeds updated one after the other.

Ours: `training.population.vmap_learner(learner, S)` with `vmap_sample_fn`, `--chunk` updates
fused under one `jit` (`training.offline_loop.make_chunk_fn`, what `train_offline` runs for
`train.num_seeds > 1`). Baseline (same process, same learner, sizes, batches and chunking): S
separate single-seed loop states, each advanced by the single-seed jitted chunk, in turn. Both
compile once before timing; rounds alternate between the two and the medians are reported.

Sizes: `experiments/concurrent_ant.py`'s learner (non_variational, window 32, batch 32,
composite batch 16, 29 modelled state numbers, 8 actions) on a synthetic dataset of that shape
(the update's cost does not depend on the numbers).

  python benchmarks/population.py --quick
Last line: `population ratio: <seed-updates per second vmapped / sequential>`.

Measured 2026-11-30 (2-core CPU, no GPU, jax 0.9.2, quiet machine, full run = 5 rounds): vmapped
20.70 vs one after the other 19.68 seed-updates/s, ratio 1.05 (--quick: 1.03). On this CPU the
update is compute-bound (the BiLSTM and WaveNet scans' products), so vmapping saves compilations
and dispatches, not time: the population's value here is one compilation and one checkpoint for
all seeds; on an accelerator the batched products are where it should pay.
"""

import argparse
import os
import statistics
import sys
import time
import types

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from experiments import concurrent_ant  # pylint: disable=g-import-not-at-top
from helms_jax.agents.concurrent import offline  # pylint: disable=g-import-not-at-top
from helms_jax.training import population  # pylint: disable=g-import-not-at-top
from helms_jax.training.offline_loop import (init_loop_state,  # pylint: disable=g-import-not-at-top
                                             make_chunk_fn)


def _dataset(config, episodes=200, length=64, obs=29, act=8):
  rng = np.random.default_rng(0)
  return types.SimpleNamespace(episode_length=np.full(episodes, length), fields={
      "episode/task_id": np.arange(episodes) % len(config.behaviours),
      "observation": rng.normal(size=(episodes * (length + 1), obs)).astype(np.float32),
      "action": rng.normal(size=(episodes * length, act)).astype(np.float32)})


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="fewer rounds (about a minute)")
  parser.add_argument("--seeds", type=int, default=5)
  parser.add_argument("--chunk", type=int, default=5, help="updates fused per jitted call")
  args = parser.parse_args()
  rounds = 2 if args.quick else 5

  config = concurrent_ant.get_config("non_variational")
  learner_config = config.learner
  learner_config.state_groups = ()  # the synthetic dataset holds just the modelled numbers
  dataset = _dataset(learner_config)
  single = offline.make_learner(learner_config, 29, 8)
  sample_fn, data = offline.make_sampler(learner_config, dataset, config.train.batch_size)
  data = jax.device_put(data)
  s = args.seeds
  vmapped = population.vmap_learner(single, s)
  chunk_pop = jax.jit(make_chunk_fn(vmapped, population.vmap_sample_fn(sample_fn, s), args.chunk))
  chunk_one = jax.jit(make_chunk_fn(single, sample_fn, args.chunk))

  pop_state = init_loop_state(vmapped, 0)
  seed_states = [init_loop_state(single, i) for i in range(s)]
  pop_state, m, _ = chunk_pop(pop_state, data)  # compile + warm up
  jax.block_until_ready(m)
  for i in range(s):
    seed_states[i], m, _ = chunk_one(seed_states[i], data)
  jax.block_until_ready(m)

  pop_rates, seq_rates = [], []
  for _ in range(rounds):
    start = time.perf_counter()
    pop_state, m, _ = chunk_pop(pop_state, data)
    jax.block_until_ready(m)
    pop_rates.append(s * args.chunk / (time.perf_counter() - start))
    start = time.perf_counter()
    for i in range(s):
      seed_states[i], m, _ = chunk_one(seed_states[i], data)
    jax.block_until_ready(m)
    seq_rates.append(s * args.chunk / (time.perf_counter() - start))
  pop, seq = statistics.median(pop_rates), statistics.median(seq_rates)
  print(f"{'implementation':<40}seed-updates/s")
  print(f"{f'vmapped population of {s} seeds':<40}{pop:.2f}")
  print(f"{f'{s} seeds one after the other':<40}{seq:.2f}")
  print(f"devices: {jax.devices()}; cores usable: {len(os.sched_getaffinity(0))}")
  print(f"population ratio: {pop / seq:.2f}")


if __name__ == "__main__":
  main()

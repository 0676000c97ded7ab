"""Populations of seeds: one learner trained S times at once with `jax.vmap`.

`vmap_learner(learner, S)` is again a `Learner`, so `training.offline_loop.train_offline` (and its
checkpointing and exact resume) runs a population unchanged: its state has a leading seed axis
`[S, ...]` on every leaf, its batches `[S, B, ...]` (`vmap_sample_fn`: each seed its own data
stream), and its metrics `[S]` (written as per-seed lists to `metrics.jsonl`). One compilation
serves every seed; on the 2-core CPU the vmapped update is no faster than the same seeds updated
one after the other (`benchmarks/population.py`: ratio 1.05; the update is compute-bound).

Seed s of a population started with key k is initialised from `jax.random.split(k, S)[s]`.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from helms_jax.training.train_state import Learner


def vmap_learner(learner: Learner, num_seeds: int) -> Learner:
  """`learner` over `num_seeds` seeds: init(key) -> state [S, ...]; update(state [S, ...],
  batch [S, ...], key) -> (state, metrics [S]). The policy is not vmapped (None)."""
  if int(num_seeds) < 1:
    raise ValueError(f"num_seeds must be >= 1, got {num_seeds}")
  n = int(num_seeds)
  # One seed's init compiled once and called per seed, the states stacked: the values of
  # `jax.vmap(learner.init)` (bit for bit for the CVAE) at about half the cost. Init is nearly
  # all random draws (one per parameter), and a draw batched over seeds compiles about twice
  # as long as one unbatched (threefry on CPU); eager vmap also compiles op by op. Tiny CVAE,
  # 2 seeds (tests/test_concurrent.py, 2-core CPU, one run beside): 0.55x eager vmap's time,
  # 0.6x jit(vmap)'s.
  init_one = jax.jit(learner.init)

  def init(key):
    states = [init_one(k) for k in jax.random.split(key, n)]
    return jax.tree.map(lambda *seeds: jnp.stack(seeds), *states)

  def update(state, batch, key):
    return jax.vmap(learner.update)(state, batch, jax.random.split(key, n))

  return Learner(init=init, update=update, model=learner.model)


def vmap_sample_fn(sample_fn: Callable[[Any, jax.Array], Any], num_seeds: int):
  """`sample_fn(data, key) -> batch` -> `(data, key) -> batch [S, ...]`, one key per seed, the
  data shared."""
  n = int(num_seeds)

  def sample(data, key):
    return jax.vmap(sample_fn, in_axes=(None, 0))(data, jax.random.split(key, n))

  return sample


def seed_slice(tree: Any, seed: int) -> Any:
  """Seed `seed`'s entry of a population pytree (leaves `[S, ...]` -> `[...]`)."""
  return jax.tree_util.tree_map(lambda x: x[seed], tree)

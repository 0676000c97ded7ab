"""The offline training loop: sample windows on device, update, log, checkpoint, resume exactly.

Every offline learner (BC, HeLMS, SPiRL's skill VAE, the concurrent-skill CVAE) runs through
`train_offline`. One jitted call performs `updates_per_call` steps as a `lax.scan` of
(sample a batch from the device-resident dataset → learner update), with the learner state
replicated and the batch split over the `data` mesh axis, so the gradient all-reduce is XLA's.

The loop carries a `LoopState` (learner state, RNG key, step). The data stream is a pure function
of the key, so the key is the data cursor: checkpointing the `LoopState` is enough for a killed
run to resume bit-for-bit. Each call also returns its `guard.health`; the loop checks it before
writing metrics and before saving, so a diverged run stops with `guard.DivergenceError` and never
saves a non-finite state (`training/guard.py`). Resuming takes the newest intact checkpoint
(`Checkpointer.restore_latest`).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
from absl import logging

from helms_jax import configs
from helms_jax.training import devices, guard, precision
from helms_jax.training.checkpoint import Checkpointer
from helms_jax.training.metric_writers import MetricWriter, Progress, ProgressFn, host_values
from helms_jax.training.train_state import Learner

# `sample_fn(data, key) -> batch`: pure, jittable; `data` is a pytree of (device) arrays.
SampleFn = Callable[[Any, jax.Array], Any]


@flax.struct.dataclass
class LoopState:
  learner: Any
  key: jax.Array  # [2] uint32, the loop's RNG (and so the data cursor)
  step: jax.Array  # [] int32, updates done


@dataclasses.dataclass(frozen=True)
class LoopConfig:
  num_steps: int
  batch_size: int
  updates_per_call: int = 1
  log_every: int = 100
  checkpoint_every: int = 1000
  max_to_keep: int = 3
  tensorboard: bool = True
  precision: str = "float32"  # products in float32 or bfloat16 (`training.precision`)

  def validate(self) -> None:
    for name in ("num_steps", "batch_size", "updates_per_call", "log_every", "checkpoint_every",
                 "max_to_keep"):
      if getattr(self, name) <= 0:
        raise configs.ConfigError(f"train.{name} must be positive, got {getattr(self, name)}")
    for name in ("log_every", "checkpoint_every", "num_steps"):
      if getattr(self, name) % self.updates_per_call:
        raise configs.ConfigError(
            f"train.{name}={getattr(self, name)} must be a multiple of "
            f"train.updates_per_call={self.updates_per_call} (updates are fused in chunks)")
    if precision.problem(self.precision):
      raise configs.ConfigError(precision.problem(self.precision))


def init_loop_state(learner: Learner, seed: int) -> LoopState:
  init_key, loop_key = jax.random.split(jax.random.PRNGKey(seed))
  return LoopState(learner=learner.init(init_key), key=loop_key, step=jnp.zeros((), jnp.int32))


def make_chunk_fn(learner: Learner, sample_fn: SampleFn, num_updates: int,
                  batch_sharding: jax.sharding.Sharding | None = None):
  """`(loop_state, data) -> (loop_state, metrics averaged over the chunk, health)`, not yet
  jitted. `health` (int32 [2], `guard.health`) names the first update whose loss or gradient
  norm (`guard.watched` metrics) was not finite, or the learner state if only it is not; the
  codes index `guard.watched(metrics)` then "learner state"."""

  def one_update(state: LoopState, data):
    key, sample_key, update_key = jax.random.split(state.key, 3)
    batch = sample_fn(data, sample_key)
    if batch_sharding is not None:
      batch = jax.lax.with_sharding_constraint(batch, batch_sharding)
    learner_state, metrics = learner.update(state.learner, batch, update_key)
    return LoopState(learner=learner_state, key=key, step=state.step + 1), metrics

  def chunk(state: LoopState, data):
    state, metrics = jax.lax.scan(lambda s, _: one_update(s, data), state, None, length=num_updates)
    flags = guard.finite_per_row([metrics[k] for k in guard.watched(metrics)], num_updates)
    health = guard.health(flags, guard.all_finite(state.learner))
    return state, jax.tree_util.tree_map(lambda m: jnp.mean(m, axis=0), metrics), health

  return chunk


def train_offline(learner: Learner, sample_fn: SampleFn, data: Any, *, workdir: str, seed: int,
                  loop: LoopConfig, mesh: jax.sharding.Mesh | None = None,
                  progress_desc: str = "train", data_sharded: bool = False,
                  progress_fn: ProgressFn | None = None) -> LoopState:
  """Trains (or resumes training) `learner` for `loop.num_steps` updates.

  Args:
    learner: the algorithm (init/update).
    sample_fn: `(data, key) -> batch` with batch leaves `[loop.batch_size, ...]`.
    data: pytree of arrays that `sample_fn` reads, placed on the mesh once: replicated (every
      process passes the whole of it), or with `data_sharded` this process's data-parallel
      shards, leaves `[num local devices, ...]` in `devices.local_shard_indices(mesh)` order
      (e.g. `data.sharded_window_data`), each device then holding only its own shard.
    workdir: run directory; `checkpoints/`, `metrics.jsonl`, `tensorboard/` are written there.
    seed: the run's seed (used only when starting fresh).
    loop: step counts and frequencies.
    mesh: device mesh (default: all devices of all processes).
    data_sharded: see `data`.
    progress_fn: optional `progress_fn(step, metrics)`, called on process 0 at every logging
      point after the metrics are written, with the values of that `metrics.jsonl` row
      (`metric_writers.host_values`: floats; lists of `[S]` for a seed population).

  Returns:
    The final LoopState.
  """
  loop.validate()
  mesh = mesh or devices.make_mesh()
  devices.check_batch_divisible(loop.batch_size, mesh, what="train.batch_size")
  replicated, batch_sharding = devices.replicated(mesh), devices.batch_sharded(mesh)

  state = devices.put_global(init_loop_state(learner, seed), replicated)
  checkpointer = Checkpointer(f"{workdir}/checkpoints", max_to_keep=loop.max_to_keep)
  restored, start_step = checkpointer.restore_latest(state, finite_part=lambda s: s.learner)
  if restored is not None:
    state = restored
    logging.info("Resumed from %s/checkpoints at step %d", workdir, start_step)
  start_step = int(state.step)
  if start_step % loop.updates_per_call:
    raise configs.ConfigError(
        f"checkpoint step {start_step} is not a multiple of train.updates_per_call="
        f"{loop.updates_per_call}; resume with the config that wrote it")

  if data_sharded:
    local = len(devices.local_shard_indices(mesh))
    for path, leaf in jax.tree_util.tree_flatten_with_path(data)[0]:
      if leaf.shape[:1] != (local,):
        raise ValueError(f"sharded data leaf {jax.tree_util.keystr(path)} has shape "
                         f"{leaf.shape}; its leading axis must be this process's {local} "
                         "data shards (one per local device)")
    data, data_sharding = devices.put_local_shards(data, mesh), batch_sharding
  else:
    data, data_sharding = devices.put_global(data, replicated), replicated
  chunk_fn = precision.traced_in(
      loop.precision, make_chunk_fn(learner, sample_fn, loop.updates_per_call, batch_sharding))
  chunk = jax.jit(chunk_fn, in_shardings=(replicated, data_sharding),
                  out_shardings=(replicated, replicated, replicated))
  health_names = guard.watched(jax.eval_shape(chunk_fn, state, data)[1]) + ["the learner state"]

  def check_health(pending):
    """Raises DivergenceError for the first unhealthy chunk in `pending` (host sync)."""
    problem = guard.first_problem(pending)
    pending.clear()
    if problem is not None:
      chunk_start, _, update, code = problem
      raise guard.DivergenceError(guard.divergence_message(
          what=f"the metric {health_names[code]!r}" if code < len(health_names) - 1
          else health_names[-1],
          where=f"update {chunk_start + update + 1}", checkpoint_dir=checkpointer.directory,
          last_checkpoint=checkpointer.latest_step()))

  writer = MetricWriter(workdir, resume_step=start_step, tensorboard=loop.tensorboard)
  progress = Progress(loop.num_steps, initial=start_step, desc=progress_desc)
  step, last_time = start_step, time.time()
  pending = []  # (first update of the chunk, its health) since the last check
  try:
    while step < loop.num_steps:
      state, metrics, health = chunk(state, data)
      pending.append((step, health))
      step += loop.updates_per_call
      log_now = step % loop.log_every == 0 or step == loop.num_steps
      save_now = step % loop.checkpoint_every == 0 or step == loop.num_steps
      if log_now or save_now:
        check_health(pending)
      if log_now:
        metrics = jax.device_get(metrics)
        now = time.time()
        metrics["steps_per_sec"] = loop.log_every / max(now - last_time, 1e-9)
        last_time = now
        writer.write(step, metrics)
        progress.update(step, metrics)
        if progress_fn is not None and jax.process_index() == 0:
          progress_fn(step, host_values(metrics))  # already on the host: no extra transfer
      if save_now:
        checkpointer.save(step, state, force=True)  # every process calls: orbax coordinates
  finally:
    checkpointer.close()
    writer.close()
    progress.close()
  return state

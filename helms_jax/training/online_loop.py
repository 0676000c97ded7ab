"""The off-policy actor-learner loop on vectorised envs, all on device, several seeds at once.

One jitted call runs `iterations_per_call` iterations as a `lax.scan`; an iteration is
  act:    `unroll_length` steps of N envs under the behaviour policy (a `lax.scan`), with
          auto-reset done as one batched branch taken only when some env finished;
  store:  the [N, unroll_length] transitions go into a flashbax trajectory buffer on device;
  learn:  `updates_per_iteration` learner updates on [B, n] sequences sampled from the buffer
          (skipped until the buffer holds `min_replay_steps` steps per env).
So the replay ratio is `updates_per_iteration * batch_size / (unroll_length * num_envs)` samples
per env step, and nothing returns to the host between steps.

Seeds train together: the per-seed `OnlineState` gets a leading [S] axis and the call is
`jax.vmap`ped, so every learning curve has S seeds from one compilation (on one device the reset
branch is taken when an episode ended in any seed: a per-seed predicate would turn it into a
select that resets every env on every step: 12 % of an MPO transfer loop on stacking, 3 seeds,
measured alone on the 2-core CPU). On several devices the seed axis is sharded over the mesh
(population parallelism: each seed's loop stays on its device, no communication); otherwise the
state is replicated. Checkpoints hold the whole state (agent,
replay buffer, env states, RNG keys, counters), so a killed run resumes exactly.

Files under `<workdir>/<subdir>/` (default `transfer/`):
  curves.jsonl   one row per logging point: env steps (per seed), updates and per-seed lists
                 of episode return / success / finished episodes, and learner metrics.
  checkpoints/   orbax checkpoints of the stacked per-seed state.
  metrics.jsonl, tensorboard/   seed-averaged scalars.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Any, Callable

import flashbax as fbx
import flax
import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from helms_jax import configs
from helms_jax.envs.base import Env, State
from helms_jax.io import atomic_write_json
from helms_jax.training import devices, distributed, guard, precision
from helms_jax.training.checkpoint import Checkpointer
from helms_jax.training.train_state import OnlineAgent, Transition  # pylint: disable=unused-import  (the loop's protocol, re-exported)
from helms_jax.training.metric_writers import (MetricWriter, Progress, ProgressFn, host_values,
                                               truncate_jsonl)


@dataclasses.dataclass(frozen=True)
class OnlineConfig:
  """Sizes and schedule of the loop (the `transfer.loop` config section)."""
  num_envs: int = 32
  unroll_length: int = 8
  updates_per_iteration: int = 4
  batch_size: int = 256
  sequence_length: int = 5  # n of the n-step return
  replay_capacity: int = 100_000  # transitions per seed
  min_replay_steps: int = 1_000  # transitions per seed before learning starts
  env_steps: int = 100_000  # per seed
  iterations_per_call: int = 10
  log_every_calls: int = 1
  checkpoint_every_calls: int = 10
  max_to_keep: int = 2
  tensorboard: bool = False
  precision: str = "float32"  # products in float32 or bfloat16 (`training.precision`)
  # Env metrics (`state.metrics` keys) read at the last step of every episode and logged as
  # `final/<name>`, the mean over the episodes that ended in the call (e.g. SPiRL's blocks
  # stacked at the end of an episode).
  final_metrics: tuple[str, ...] = ()
  # True: an episode cut by the time limit bootstraps (discount 1 at its last step; Pardo et
  # al. 2018), as the state would go on. False: the time limit ends the return like a
  # termination (discount 0), as clvrai/spirl's sampler does (`done` at max_rollout_len).
  bootstrap_time_limits: bool = True
  # Run the seeds one after another inside each call (`jax.lax.map`) instead of batching them
  # (`jax.vmap`): the same computation per seed. SPiRL's image update alone, 3 seeds, took 137
  # ms in sequence against 203 ms vmapped (one process, with another job on the CPU); the whole
  # maze loop showed no gain (110 env steps/s per seed against 115 vmapped in an earlier run at
  # other env settings). A quiet A/B in the same run is still to do. One device only.
  seeds_in_sequence: bool = False

  @property
  def env_steps_per_call(self) -> int:
    return self.num_envs * self.unroll_length * self.iterations_per_call

  def validate(self) -> None:
    for name in ("num_envs", "unroll_length", "batch_size", "sequence_length", "replay_capacity",
                 "env_steps", "iterations_per_call", "log_every_calls", "checkpoint_every_calls"):
      if getattr(self, name) <= 0:
        raise configs.ConfigError(f"transfer.loop.{name} must be positive, got {getattr(self, name)}")
    if not isinstance(self.bootstrap_time_limits, (bool, np.bool_)):
      raise configs.ConfigError(f"transfer.loop.bootstrap_time_limits must be True or False, got "
                                f"{self.bootstrap_time_limits!r}")
    if self.updates_per_iteration < 0 or self.min_replay_steps < 0:
      raise configs.ConfigError("transfer.loop.updates_per_iteration and min_replay_steps must be >= 0")
    if self.env_steps % self.env_steps_per_call:
      raise configs.ConfigError(
          f"transfer.loop.env_steps={self.env_steps} must be a multiple of num_envs * "
          f"unroll_length * iterations_per_call = {self.env_steps_per_call}")
    per_env = self.replay_capacity // self.num_envs
    if per_env < max(self.sequence_length, self.unroll_length) * 2:
      raise configs.ConfigError(
          f"transfer.loop.replay_capacity={self.replay_capacity} holds only {per_env} steps per "
          f"env; it needs at least 2 * max(sequence_length, unroll_length)")
    if precision.problem(self.precision):
      raise configs.ConfigError(precision.problem(self.precision))
    if isinstance(self.final_metrics, str) or not all(
        isinstance(m, str) and m for m in self.final_metrics):
      raise configs.ConfigError(f"transfer.loop.final_metrics must be a tuple of metric names, "
                                f"got {self.final_metrics!r}")
    if self.min_replay_steps > self.replay_capacity:
      raise configs.ConfigError(f"transfer.loop.min_replay_steps={self.min_replay_steps} exceeds "
                       f"replay_capacity={self.replay_capacity}")


def make_replay(config: OnlineConfig):
  """The flashbax trajectory buffer: N parallel streams, samples [B, n] contiguous sequences.

  Sequences may cross an episode boundary; `Transition.end` marks it and the n-step return
  stops there (see `losses.n_step_targets`).
  """
  return fbx.make_trajectory_buffer(
      add_batch_size=config.num_envs, sample_batch_size=config.batch_size,
      sample_sequence_length=config.sequence_length, period=1,
      min_length_time_axis=config.sequence_length,
      max_length_time_axis=config.replay_capacity // config.num_envs)


@flax.struct.dataclass
class OnlineState:
  """Everything one seed's loop changes (a pytree; stacked on [S] for S seeds)."""
  agent: Any
  actor: Any  # the behaviour policy's per-env memory ([N, ...] leaves; () when memoryless)
  replay: Any  # flashbax TrajectoryBufferState
  env_state: State  # [N] envs
  running_return: jax.Array  # [N]
  running_success: jax.Array  # [N], max of info/metrics 'success' so far in the episode
  key: jax.Array
  env_steps: jax.Array  # [] int32, per seed
  updates: jax.Array  # [] int32


def _success(state: State) -> jax.Array:
  value = state.metrics.get("success", state.info.get("success"))
  return jnp.zeros_like(state.reward) if value is None else value.astype(jnp.float32)


def _final_metric(state: State, name: str) -> jax.Array:
  if name not in state.metrics:
    raise configs.ConfigError(
        f"transfer.loop.final_metrics names {name!r}, which the env does not report; its "
        f"metrics: {', '.join(sorted(state.metrics)) or 'none'}")
  return state.metrics[name].astype(jnp.float32)


def low_level_steps_per_step(env: Env) -> int:
  """Low-level env steps per agent step (1, or H for an env executing H-step skills)."""
  steps = int(getattr(env, "low_level_steps_per_step", 1))
  if steps < 1:
    raise ValueError(f"env.low_level_steps_per_step must be >= 1, got {steps}")
  return steps


def make_online_fns(agent: OnlineAgent, env: Env, config: OnlineConfig,
                    seed_axis: str | None = None):
  """`(init(key) -> OnlineState, call(OnlineState) -> (OnlineState, stats, health))` for ONE
  seed. `health` (int32 [2], `guard.health`) names the first iteration of the call in which a
  watched learner metric (`guard.watched` of the `learner/...` stats, where the learner updated)
  or a reward was not finite, or the agent state if only it is not; codes index
  `health_names(stats)`.

  `env` is unbatched and not auto-resetting (e.g. `EpisodeWrapper(make(...))`); it is vmapped
  over `config.num_envs` here and reset on device where an episode ends. An env whose step is
  several low-level steps (`envs.skill_env.SkillEnv`) says so in `low_level_steps_per_step`;
  `OnlineState.env_steps` and `config.env_steps` count low-level env steps, so runs acting at
  different temporal scales compare at equal env interaction.

  `seed_axis`: the name of a `jax.vmap` axis over seeds that `call` will run under
  (`over_seeds`), or None. The batched reset is a `lax.cond` on "some episode ended"; under vmap
  a per-seed predicate turns that cond into a select that resets every env on every step, so with
  `seed_axis` the predicate is taken over the whole population (any seed's episode end resets,
  where done, in every seed; the values are the same either way).
  """
  config.validate()
  if config.unroll_length % agent.decision_period:
    raise configs.ConfigError(
        f"transfer.loop.unroll_length={config.unroll_length} must be a multiple of the agent's "
        f"decision period ({agent.decision_period} steps)")
  replay = make_replay(config)
  n_env = config.num_envs
  stateful = agent.actor_init is not None
  steps_per_action = low_level_steps_per_step(env)
  reset_batch = jax.vmap(env.reset)
  step_batch = jax.vmap(env.step)

  observe = agent.observe or (lambda state: state.obs)

  def example_transition():
    obs_spec = agent.observation_spec or jax.ShapeDtypeStruct((env.observation_size,),
                                                             jnp.float32)
    obs = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), obs_spec)
    spec = agent.agent_action_spec
    return Transition(observation=obs, agent_action=jnp.zeros(spec.shape, spec.dtype),
                      reward=jnp.zeros(()), discount=jnp.zeros(()), end=jnp.zeros(()),
                      next_observation=obs)

  def init(key: jax.Array) -> OnlineState:
    agent_key, reset_key, loop_key, actor_key = jax.random.split(key, 4)
    env_state = reset_batch(jax.random.split(reset_key, n_env))
    zeros = jnp.zeros((n_env,), jnp.float32)
    actor = agent.actor_init(actor_key, n_env) if stateful else ()
    return OnlineState(agent=agent.init(agent_key), actor=actor,
                       replay=replay.init(example_transition()),
                       env_state=env_state, running_return=zeros, running_success=zeros,
                       key=loop_key, env_steps=jnp.zeros((), jnp.int32),
                       updates=jnp.zeros((), jnp.int32))

  def env_step(carry, inputs):
    agent_state, actor, env_state, run_ret, run_succ = carry
    key, phase = inputs
    act_key, reset_key, actor_key = jax.random.split(key, 3)
    obs = observe(env_state)
    if stateful:
      agent_action, env_action, actor = agent.act(agent_state, obs, act_key, False, actor, phase)
    else:
      agent_action, env_action = agent.act(agent_state, obs, act_key, False)
    nstate = step_batch(env_state, env_action)
    done = nstate.done > 0
    truncation = nstate.info.get("truncation", jnp.zeros_like(nstate.done))
    if not config.bootstrap_time_limits:
      truncation = jnp.zeros_like(truncation)
    transition = Transition(
        observation=obs, agent_action=agent_action, reward=nstate.reward,
        discount=1.0 - nstate.done * (1.0 - truncation), end=done.astype(jnp.float32),
        next_observation=observe(nstate))
    ret = run_ret + nstate.reward
    succ = jnp.maximum(run_succ, _success(nstate))
    finished = dict(done=done.astype(jnp.float32), episode_return=jnp.where(done, ret, 0.0),
                    success=jnp.where(done, succ, 0.0),
                    **{f"final/{k}": jnp.where(done, _final_metric(nstate, k), 0.0)
                       for k in config.final_metrics})

    def where_done(fresh, old):
      return jax.tree.map(
          lambda a, b: jnp.where(done.reshape(done.shape + (1,) * (a.ndim - 1)), a, b), fresh, old)

    def with_resets(states):  # one batched reset, only on steps where some episode ended
      env_s, actor_s = states
      fresh_actor = agent.actor_init(actor_key, n_env) if stateful else ()
      return (where_done(reset_batch(jax.random.split(reset_key, n_env)), env_s),
              where_done(fresh_actor, actor_s))

    some_done = jnp.any(done)
    if seed_axis is not None:  # unbatched over the seeds, so the cond stays a branch
      some_done = jax.lax.psum(some_done.astype(jnp.int32), seed_axis) > 0
    nstate, actor = jax.lax.cond(some_done, with_resets, lambda s: s, (nstate, actor))
    carry = (agent_state, actor, nstate, jnp.where(done, 0.0, ret), jnp.where(done, 0.0, succ))
    return carry, (transition, finished)

  def learn(agent_state, replay_state, key):
    def one(agent_state, key):
      sample_key, update_key = jax.random.split(key)
      batch = replay.sample(replay_state, sample_key).experience
      return agent.update(agent_state, batch, update_key)
    return jax.lax.scan(one, agent_state, jax.random.split(key, config.updates_per_iteration))

  def iteration(state: OnlineState, _):
    key, act_key, learn_key = jax.random.split(state.key, 3)
    carry = (state.agent, state.actor, state.env_state, state.running_return,
             state.running_success)
    (_, actor, env_state, run_ret, run_succ), (transitions, finished) = jax.lax.scan(
        env_step, carry, (jax.random.split(act_key, config.unroll_length),
                          jnp.arange(config.unroll_length)))
    # [T, N, ...] -> [N, T, ...]: one contiguous stream per env in the buffer.
    replay_state = replay.add(state.replay, jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1),
                                                         transitions))
    env_steps = state.env_steps + n_env * config.unroll_length * steps_per_action
    updates = state.updates
    if config.updates_per_iteration:
      # Stored transitions (the same as env steps per action in a run from scratch; a warm
      # start's replay arrives filled, so its learning does not wait for new steps).
      time_axis = jax.tree.leaves(replay_state.experience)[0].shape[1]  # [N, T_max, ...]
      stored = jnp.where(replay_state.is_full, time_axis, replay_state.current_index) * n_env
      ready = stored >= config.min_replay_steps
      metrics_shape = jax.eval_shape(lambda a, k: learn(a, replay_state, k)[1], state.agent,
                                     learn_key)

      def skip(agent_state, key):
        del key
        return agent_state, jax.tree.map(lambda s: jnp.full(s.shape, jnp.nan, s.dtype),
                                         metrics_shape)

      agent_state, metrics = jax.lax.cond(
          ready, lambda a, k: learn(a, replay_state, k), skip, state.agent, learn_key)
      metrics = jax.tree.map(lambda m: jnp.mean(m, axis=0), metrics)
      updates = updates + ready.astype(jnp.int32) * config.updates_per_iteration
    else:
      agent_state, metrics = state.agent, {}
    episode_stats = jax.tree.map(lambda x: jnp.sum(x), finished)
    # Divergence guard: metrics are NaN by design on iterations that did not learn yet.
    learned = (ready if config.updates_per_iteration else jnp.asarray(False))
    flags = [jnp.all(jnp.isfinite(metrics[k])) | ~learned for k in guard.watched(metrics)]
    flags.append(jnp.all(jnp.isfinite(transitions.reward)))
    new_state = OnlineState(agent=agent_state, actor=actor, replay=replay_state,
                            env_state=env_state,
                            running_return=run_ret, running_success=run_succ, key=key,
                            env_steps=env_steps, updates=updates)
    return new_state, (episode_stats, metrics, jnp.stack(flags))

  def call(state: OnlineState):
    state, (episodes, metrics, flags) = jax.lax.scan(iteration, state, None,
                                                     length=config.iterations_per_call)
    count = jnp.sum(episodes["done"])
    stats = {
        "episodes": count,
        "episode_return": jnp.where(count > 0, jnp.sum(episodes["episode_return"]) /
                                    jnp.maximum(count, 1), jnp.nan),
        **{k: jnp.where(count > 0, jnp.sum(episodes[k]) / jnp.maximum(count, 1), jnp.nan)
           for k in ["success"] + [f"final/{m}" for m in config.final_metrics]},
        # Learner metrics averaged over the iterations that learned (NaN before learning).
        **{f"learner/{k}": jnp.nanmean(v) for k, v in metrics.items()},
    }
    return state, stats, guard.health(flags, guard.all_finite(state.agent))

  # Acting and learning traced with the configured products (`training.precision`).
  return init, precision.traced_in(config.precision, call)


SEED_AXIS = "seeds"


def seed_axis_for(config: OnlineConfig, mesh: jax.sharding.Mesh) -> str | None:
  """The vmapped seed axis `make_online_fns` may reduce over: `SEED_AXIS` when the seeds are
  batched on one device; None in sequence (no vmap) or across devices (a reduction there would
  synchronise the devices on every env step)."""
  return None if config.seeds_in_sequence or mesh.devices.size > 1 else SEED_AXIS


def over_seeds(call: Callable, config: OnlineConfig) -> Callable:
  """`call` of one seed's state -> the same over the stacked [S] states: `jax.vmap` (over the
  axis `SEED_AXIS`), or `jax.lax.map` with `config.seeds_in_sequence`."""
  if config.seeds_in_sequence:
    return lambda state: jax.lax.map(call, state)
  return jax.vmap(call, axis_name=SEED_AXIS)


def health_names(stats: dict) -> list[str]:
  """What each health code of `make_online_fns`' call names, given its stats' keys."""
  return guard.watched(k for k in stats if k.startswith("learner/")) + [
      "the reward", "the agent state"]


def seed_sharding(num_seeds: int, mesh: jax.sharding.Mesh):
  """Seeds split over the mesh when they divide evenly, else replicated."""
  if num_seeds % mesh.devices.size == 0:
    return devices.batch_sharded(mesh)
  return devices.replicated(mesh)


def check_run(agent: OnlineAgent, env: Env, config: OnlineConfig, seeds) -> tuple[int, tuple]:
  """Raises ConfigError if `train_online` could not run this (sizes, multiples, seeds); returns
  `(low-level env steps per call, seeds as ints)`. Cheap: nothing is traced."""
  config.validate()
  if config.unroll_length % agent.decision_period:
    raise configs.ConfigError(
        f"transfer.loop.unroll_length={config.unroll_length} must be a multiple of the agent's "
        f"decision period ({agent.decision_period} steps)")
  steps_per_call = config.env_steps_per_call * low_level_steps_per_step(env)
  if config.env_steps % steps_per_call:
    raise configs.ConfigError(
        f"transfer.loop.env_steps={config.env_steps} must be a multiple of the low-level env "
        f"steps per call, num_envs * unroll_length * iterations_per_call * "
        f"{low_level_steps_per_step(env)} (steps per agent action) = {steps_per_call}")
  seeds = tuple(int(s) for s in seeds)
  if not seeds or len(set(seeds)) != len(seeds):
    raise configs.ConfigError(f"transfer.seeds must be distinct integers, got {seeds}")
  return steps_per_call, seeds


def _read_run_info(path: str) -> dict[str, Any] | None:
  """The run.json a resumed run wrote before (None when absent or unreadable)."""
  try:
    with open(path) as f:
      info = json.load(f)
  except (OSError, ValueError):
    return None
  return info if isinstance(info, dict) else None


def _resumed_run_info(previous: dict[str, Any] | None, info: dict[str, Any],
                      start: int) -> dict[str, Any]:
  """run.json for a run (re)starting at `start` env steps per seed.

  A resumed run keeps the commit and command that started it (`commit`, `command`: the record
  a report cites) and lists every segment that trained as `segments` [{from_env_steps, commit,
  command}]; a resume with nothing left to train (start >= env_steps) adds no segment, so
  re-running a finished experiment's script does not relabel its runs with today's commit.
  """
  if previous is None:
    return info
  segments = list(previous.get("segments") or [
      {"from_env_steps": 0, "commit": previous.get("commit"), "command": previous.get("command")}])
  if segments[-1]["from_env_steps"] == start:
    segments.pop()  # a restart before this segment's first checkpoint: the same segment again
  if start < info["env_steps_per_seed"]:
    segments.append({"from_env_steps": start, "commit": info.get("commit"),
                     "command": info.get("command")})
  return {**info, "commit": previous.get("commit", info.get("commit")),
          "command": previous.get("command", info.get("command")), "segments": segments}


def train_online(agent: OnlineAgent, env: Env, config: OnlineConfig, *, workdir: str,
                 seeds: tuple[int, ...], subdir: str = "transfer",
                 run_info: dict | None = None, mesh: jax.sharding.Mesh | None = None,
                 progress_desc: str = "transfer",
                 warm_start: Callable[[OnlineState], OnlineState] | None = None,
                 progress_fn: ProgressFn | None = None) -> OnlineState:
  """Trains `agent` on `env` for `config.env_steps` env steps per seed, for all `seeds` at once.

  Resumes from `<workdir>/<subdir>/checkpoints` when present (the seed list and config must
  match the run that wrote it: the caller checks the config). Returns the stacked final state.
  `warm_start(state) -> state` edits a fresh stacked state before the first step (e.g. the
  agent and relabelled replay of a source-task run); it is not applied when resuming, because
  the checkpoint already holds its effect.
  Env steps are low-level steps (see `make_online_fns`).
  `progress_fn(env_steps, metrics)`, if given, is called on process 0 at every logging point
  after the metrics are written, with env steps per seed and the seed-averaged values of that
  `<subdir>/metrics.jsonl` row (floats; per-seed values are in curves.jsonl).
  """
  steps_per_call, seeds = check_run(agent, env, config, seeds)
  out_dir = os.path.join(workdir, subdir)
  os.makedirs(out_dir, exist_ok=True)
  mesh = mesh or devices.make_mesh()
  sharding = seed_sharding(len(seeds), mesh)
  init, call = make_online_fns(agent, env, config, seed_axis=seed_axis_for(config, mesh))
  keys = jnp.stack([jax.random.PRNGKey(s) for s in seeds])
  state = jax.jit(jax.vmap(init), out_shardings=sharding)(keys)
  checkpointer = Checkpointer(os.path.join(out_dir, "checkpoints"), max_to_keep=config.max_to_keep)
  # Env states may hold infinities by design (e.g. a maze's unreachable cells): only the agent
  # has to be finite.
  restored, latest = checkpointer.restore_latest(state, finite_part=lambda s: s.agent)
  if restored is not None:
    state = restored
    logging.info("Resumed transfer from %s at %d env steps per seed", out_dir, latest)
  elif warm_start is not None:
    state = devices.put_global(distributed.to_host(warm_start(state)), sharding)
  start = int(distributed.to_host(state.env_steps)[0])
  if start % steps_per_call:
    raise configs.ConfigError(
        f"checkpoint at {start} env steps is not a multiple of the env steps per call "
        f"({steps_per_call}); resume with the config that wrote it")
  curves_path = os.path.join(out_dir, "curves.jsonl")
  if jax.process_index() == 0:
    truncate_jsonl(curves_path, start if latest is not None else -1, key="env_steps")
    if run_info is not None:
      info_path = os.path.join(out_dir, "run.json")
      previous = _read_run_info(info_path) if latest is not None else None
      atomic_write_json(info_path, _resumed_run_info(
          previous, {**run_info, "seeds": list(seeds), "env_steps_per_seed": config.env_steps},
          start))

  if config.seeds_in_sequence and mesh.devices.size > 1:
    raise configs.ConfigError(
        f"transfer.loop.seeds_in_sequence runs the seeds on one device; this mesh has "
        f"{mesh.devices.size}: leave it False to split the seeds over the devices")
  batched_call = over_seeds(call, config)
  jitted = jax.jit(batched_call, in_shardings=(sharding,),
                   out_shardings=(sharding, sharding, sharding), donate_argnums=0)
  names = health_names(jax.eval_shape(batched_call, state)[1])
  steps_per_iteration = steps_per_call // config.iterations_per_call

  def check_health(pending):
    """Raises DivergenceError for the first unhealthy call in `pending` (host sync)."""
    problem = guard.first_problem([(start_steps, distributed.to_host(h))
                                   for start_steps, h in pending])
    pending.clear()
    if problem is not None:
      call_start, seed_index, iteration, code = problem
      what = f"the metric {names[code]!r}" if code < len(names) - 2 else names[code]
      raise guard.DivergenceError(guard.divergence_message(
          what=what, where=f"seed {seeds[seed_index]}, env step "
          f"{call_start + (iteration + 1) * steps_per_iteration}",
          checkpoint_dir=checkpointer.directory, last_checkpoint=checkpointer.latest_step()))

  writer = MetricWriter(out_dir, resume_step=start if latest is not None else None,
                        tensorboard=config.tensorboard)
  progress = Progress(config.env_steps, initial=start, desc=progress_desc)
  curves = open(curves_path, "a") if jax.process_index() == 0 else None
  env_steps, calls, last, last_steps = start, 0, time.time(), start
  pending = []  # (env steps at the call's start, its per-seed health) since the last check
  try:
    while env_steps < config.env_steps:
      state, stats, health = jitted(state)
      pending.append((env_steps, health))
      env_steps += steps_per_call
      calls += 1
      log_now = calls % config.log_every_calls == 0 or env_steps == config.env_steps
      save_now = calls % config.checkpoint_every_calls == 0 or env_steps == config.env_steps
      if log_now or save_now:
        check_health(pending)
      if log_now:
        stats = distributed.to_host(stats)  # seeds may sit on other processes: all-gather
        now = time.time()
        # All seeds' env steps since the last log, over wall time (includes compilation once).
        sps = (env_steps - last_steps) * len(seeds) / max(now - last, 1e-9)
        last, last_steps = now, env_steps
        per_seed = {k: [None if not np.isfinite(v) else float(v) for v in np.asarray(x)]
                    for k, x in stats.items()}
        updates = int(distributed.to_host(state.updates)[0])
        if curves is not None:
          curves.write(json.dumps({"env_steps": env_steps, "updates": updates,
                                   "wall_time": now, "metrics": per_seed}) + "\n")
          curves.flush()
        means = {k: float(np.nanmean(np.asarray(x, np.float64))) if np.any(np.isfinite(x))
                 else float("nan") for k, x in stats.items()}
        means["env_steps_per_sec"] = sps
        writer.write(env_steps, means)
        progress.update(env_steps, {k: means[k] for k in ("episode_return", "success")})
        if progress_fn is not None and jax.process_index() == 0:
          progress_fn(env_steps, host_values(means))
      if save_now:
        checkpointer.save(env_steps, state, force=True)
  finally:
    checkpointer.close()
    writer.close()
    progress.close()
    if curves is not None:
      curves.close()
  return state

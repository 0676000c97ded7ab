"""Collecting one episode per env with a policy: the input of the dataset generator."""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
from flax import struct

from helms_jax.envs.base import Env, State
from helms_jax.envs.wrappers import AutoResetWrapper, VmapWrapper

__all__ = ["Trajectory", "rollout", "episode_lengths"]

# (obs, key) -> action; or (obs, key, pstate) -> (action, pstate) with a `policy_init`.
PolicyFn = Callable[..., jax.Array]


@struct.dataclass
class Trajectory:
  """One episode per env, padded to `T` steps.

  Attributes:
    observation: [N, T+1, obs_dim]; `observation[:, t]` is the obs before step t,
      `observation[:, T]` the final one. After the episode ends the state is frozen, so
      padded entries repeat the last real observation.
    action: [N, T, act_dim]
    reward: [N, T]
    discount: [N, T]; 0 on a true termination step (done and not `info['truncation']`),
      1 on other valid steps.
    done: [N, T]; 1 on the step that ends the episode.
    valid: [N, T]; 1 until and including the first done step, 0 after.
    info: dict of [N, T] arrays: the scalar entries of the env's `state.info` and
      `state.metrics` after each step (info wins on a name clash), e.g. `success`.
    recorded: `record_fn(state)` of the state before each step, leaves [N, T, ...] (frozen
      after the episode ends, like `observation`); () without a `record_fn`.
  On padded steps (`valid == 0`) action/reward/discount/info are 0 and done is 1.
  """
  observation: jax.Array
  action: jax.Array
  reward: jax.Array
  discount: jax.Array
  done: jax.Array
  valid: jax.Array
  info: dict
  recorded: Any = ()


def _scalar_entries(state: State) -> dict:
  out = {}
  for source in (state.metrics, state.info):
    for k, v in source.items():
      if isinstance(v, jax.Array) and v.ndim == 0 and not jax.dtypes.issubdtype(
          v.dtype, jax.dtypes.prng_key):
        out[k] = v
  return out


def policy_init_keys(key: jax.Array, num_envs: int) -> jax.Array:
  """The keys `rollout(..., key, num_envs, policy_init=...)` passes to `policy_init`: [N, 2].

  Their own stream, so adding policy state does not change the reset or per-step keys; public
  so a caller can recompute per-episode policy choices (e.g. which episodes acted randomly).
  """
  return jax.random.split(jax.random.fold_in(key, 0x9017), num_envs)


@functools.partial(jax.jit, static_argnames=("env", "policy_fn", "num_envs", "num_steps",
                                             "with_params", "policy_init", "record_fn",
                                             "observation_fn"))
def _rollout(env, policy_fn, key, policy_params, num_envs, num_steps, with_params, policy_init,
             record_fn, observation_fn):
  keep = observation_fn if observation_fn is not None else (lambda obs: obs)
  key_reset, key_act = jax.random.split(key)
  state0 = jax.vmap(env.reset)(jax.random.split(key_reset, num_envs))
  stateful = policy_init is not None
  if stateful:
    pstate0 = jax.vmap(policy_init)(policy_init_keys(key, num_envs))
  else:
    pstate0 = ()

  def one_step(carry, key):  # unbatched
    state, pstate = carry
    ended = state.done > 0  # set by the previous step: frozen from here on
    args = (policy_params,) if with_params else ()
    if stateful:
      action, npstate = policy_fn(*args, state.obs, key, pstate)
    else:
      action, npstate = policy_fn(*args, state.obs, key), pstate
    nstate = env.step(state, action)
    nstate, npstate = jax.tree.map(lambda a, b: jnp.where(ended, a, b), (state, pstate),
                                   (nstate, npstate))
    valid = 1.0 - ended.astype(jnp.float32)
    done = jnp.where(ended, 1.0, (nstate.done > 0).astype(jnp.float32))
    truncation = nstate.info.get("truncation", jnp.zeros(()))
    discount = valid * (1.0 - done * (1.0 - truncation))
    out = dict(
        obs=keep(state.obs), action=action * valid, reward=nstate.reward * valid,
        discount=discount, done=done, valid=valid,
        info=jax.tree.map(lambda x: x * valid.astype(x.dtype), _scalar_entries(nstate)),
        recorded=record_fn(state) if record_fn is not None else ())
    return (nstate, npstate), out

  def scan_body(carry, key):
    return jax.vmap(one_step)(carry, jax.random.split(key, num_envs))

  (final, _), out = jax.lax.scan(scan_body, (state0, pstate0),
                                 jax.random.split(key_act, num_steps))
  tm = lambda x: jnp.swapaxes(x, 0, 1)  # [T, N, ...] -> [N, T, ...]
  obs = jnp.concatenate([tm(out["obs"]), jax.vmap(keep)(final.obs)[:, None]], axis=1)
  return Trajectory(
      observation=obs, action=tm(out["action"]), reward=tm(out["reward"]),
      discount=tm(out["discount"]), done=tm(out["done"]), valid=tm(out["valid"]),
      info=jax.tree.map(tm, out["info"]), recorded=jax.tree.map(tm, out["recorded"]))


def rollout(env: Env, policy_fn: PolicyFn, key: jax.Array, num_envs: int, num_steps: int,
            policy_params=None, policy_init: Callable | None = None,
            record_fn: Callable | None = None,
            observation_fn: Callable | None = None) -> Trajectory:
  """Runs one episode in each of `num_envs` envs for up to `num_steps` steps (jitted scan).

  Args:
    env: an unbatched env, NOT auto-resetting (e.g. `make("point_reach")`, possibly in an
      `EpisodeWrapper`); after its first `done` an env's state is frozen and the rest of
      its row is padding.
    policy_fn: `(obs [obs_dim], key) -> action [act_dim]` for one env (vmapped inside), or
      `(params, obs, key) -> action` when `policy_params` is given; must be hashable (a
      module-level function or a `functools.partial` of one; a new lambda per call recompiles).
    key: PRNG key (reset keys and per-step policy keys are split from it).
    num_envs: N, number of envs / episodes.
    num_steps: T, maximum episode length.
    policy_params: optional pytree (e.g. network parameters) passed to `policy_fn` as a traced
      argument, so new parameters reuse the compiled rollout.
    policy_init: optional `(key) -> pstate` for a policy with memory (e.g. a scripted expert's
      phase and per-episode random sub-goals). Then `policy_fn` is
      `(obs, key, pstate) -> (action, pstate)` (or `(params, obs, key, pstate)` with
      `policy_params`); `pstate` is any pytree, created once per env at the start of its
      episode and frozen with the env after its `done`. Must be hashable like `policy_fn`.
      Reset and per-step policy keys do not depend on whether `policy_init` is given.
    record_fn: optional `(state) -> pytree` for one env, recorded before every step into
      `Trajectory.recorded` (e.g. `state.pipeline_state.qpos` to render frames afterwards);
      hashable like `policy_fn`.
    observation_fn: optional `(obs [obs_dim]) -> array` for one env: what
      `Trajectory.observation` keeps of each observation (e.g. the position of an image
      observation, so a long rollout does not hold every image); the policy still sees the
      whole observation, and the keys are the same with or without it. Hashable like
      `policy_fn`.
  Returns:
    Trajectory with leading dims [N, T] (observation [N, T+1, obs_dim], or what
    `observation_fn` keeps).
  """
  if int(num_envs) <= 0 or int(num_steps) <= 0:
    raise ValueError(f"num_envs and num_steps must be positive, got {num_envs}, {num_steps}")
  e = env
  while e is not None:
    if isinstance(e, (AutoResetWrapper, VmapWrapper)):
      raise ValueError(
          f"rollout needs an unbatched, non-auto-resetting env; {env!r} contains {type(e).__name__}")
    e = getattr(e, "__dict__", {}).get("env")
  if policy_init is not None and not callable(policy_init):
    raise TypeError(f"policy_init must be a callable (key) -> policy state, got {policy_init!r}")
  return _rollout(env, policy_fn, key, policy_params, int(num_envs), int(num_steps),
                  with_params=policy_params is not None, policy_init=policy_init,
                  record_fn=record_fn, observation_fn=observation_fn)


def episode_lengths(traj: Trajectory) -> jax.Array:
  """Number of valid steps of each episode: [N] int32."""
  return jnp.sum(traj.valid > 0, axis=-1).astype(jnp.int32)

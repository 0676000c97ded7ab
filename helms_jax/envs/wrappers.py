"""Pure, jittable environment wrappers (brax `Wrapper` subclasses).

All wrappers work on unbatched states (`done: []`) and, except where noted, also on
batched ones (`done: [B]`, e.g. inside a brax-style vmap-innermost stack): per-env
selections broadcast `done` over the trailing dims of each leaf.

They follow brax's conventions so brax's trainers treat them right:
  * `state.done` is float 0/1; `info['truncation']` = 1 where `done` came from the time
    limit and not from a true termination; `info['steps']` counts physics steps.
  * `info['episode_metrics']` (`sum_reward`, `length`) and `info['episode_done']`, which
    brax's PPO reads as extra fields, are written by `EpisodeMetricsWrapper`.
Info dicts are never mutated in place: every wrapper builds new dicts.

`wrap_for_training` composes them; see its docstring for the order.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import jax
import jax.numpy as jnp

from helms_jax.envs.base import Env, GroupNames, ObservationGroups, State, Wrapper

__all__ = [
    "VmapWrapper", "EpisodeWrapper", "AutoResetWrapper", "EpisodeMetricsWrapper",
    "SelectObservationWrapper", "wrap_for_training",
]


def _where_done(done: jax.Array, x: Any, y: Any) -> Any:
  """`x` where done else `y`, leafwise; `done: [*B]` is a prefix of every leaf's shape."""
  done = jnp.asarray(done) > 0

  def sel(a, b):
    a, b = jnp.asarray(a), jnp.asarray(b)
    d = jnp.reshape(done, done.shape + (1,) * (a.ndim - done.ndim))
    return jnp.where(d, a, b)

  return jax.tree.map(sel, x, y)


def _is_single_key(rng: jax.Array) -> bool:
  if jax.dtypes.issubdtype(rng.dtype, jax.dtypes.prng_key):
    return rng.ndim == 0
  return rng.ndim == 1


def _split_keys(rng: jax.Array, num: int = 2) -> jax.Array:
  """Splits a key or a batch of keys `[*B(, 2)]` into `[num, *B(, 2)]`."""
  if _is_single_key(rng):
    return jax.random.split(rng, num)
  split = lambda k: jax.random.split(k, num)
  for _ in range(rng.ndim - (0 if jax.dtypes.issubdtype(rng.dtype, jax.dtypes.prng_key) else 1)):
    split = jax.vmap(split, out_axes=1)
  return split(rng)


class VmapWrapper(Wrapper):
  """Vectorises an env over a leading batch axis.

  `reset(rng)` takes either one key (split into `batch_size` keys; needs `batch_size`)
  or a batch of keys `[B, 2]` (if `batch_size` is set, `B` must equal it). `step` is
  `jax.vmap(env.step)` over `state: [B, ...]`, `action: [B, act_dim]`.
  """

  def __init__(self, env: Env, batch_size: Optional[int] = None):
    super().__init__(env)
    if batch_size is not None and int(batch_size) <= 0:
      raise ValueError(f"batch_size must be positive, got {batch_size}")
    self.batch_size = None if batch_size is None else int(batch_size)

  def reset(self, rng: jax.Array) -> State:
    if _is_single_key(rng):
      if self.batch_size is None:
        raise ValueError(
            "VmapWrapper.reset got a single key but no batch_size: pass a batch of keys "
            f"[B, 2] or construct VmapWrapper(env, batch_size=B); rng.shape={rng.shape}")
      rng = jax.random.split(rng, self.batch_size)
    elif self.batch_size is not None and rng.shape[0] != self.batch_size:
      raise ValueError(
          f"VmapWrapper(batch_size={self.batch_size}).reset got {rng.shape[0]} keys "
          f"(rng.shape={rng.shape})")
    return jax.vmap(self.env.reset)(rng)

  def step(self, state: State, action: jax.Array) -> State:
    return jax.vmap(self.env.step)(state, action)


class EpisodeWrapper(Wrapper):
  """Time limit and action repeat.

  `info['steps']` counts physics steps (int32; `action_repeat` per agent step, as in
  brax); `done` is set once `steps >= episode_length`, and `info['truncation']` is 1
  exactly when that time-limit `done` is not also a true termination. With
  `action_repeat > 1` the action is applied up to `action_repeat` times, rewards are
  summed, and once the inner env terminates the state is frozen and no further reward
  accumulates (the returned state is the terminal one).
  """

  def __init__(self, env: Env, episode_length: int, action_repeat: int = 1):
    super().__init__(env)
    if int(episode_length) <= 0:
      raise ValueError(f"episode_length must be positive, got {episode_length}")
    if int(action_repeat) <= 0:
      raise ValueError(f"action_repeat must be positive, got {action_repeat}")
    self.episode_length = int(episode_length)
    self.action_repeat = int(action_repeat)

  def reset(self, rng: jax.Array) -> State:
    state = self.env.reset(rng)
    zeros = jnp.zeros_like(state.done)
    info = {**state.info, "steps": zeros.astype(jnp.int32), "truncation": zeros}
    return state.replace(info=info)

  def step(self, state: State, action: jax.Array) -> State:
    if self.action_repeat == 1:
      nstate = self.env.step(state, action)
      reward = nstate.reward
    else:
      def body(carry, _):
        s, total, ended = carry
        ns = self.env.step(s, action)
        total = total + jnp.where(ended > 0, 0.0, ns.reward)
        ns = _where_done(ended, s, ns)  # freeze after termination
        return (ns, total, jnp.maximum(ended, ns.done)), None

      zero = jnp.zeros_like(state.reward)
      (nstate, reward, _), _ = jax.lax.scan(
          body, (state, zero, jnp.zeros_like(state.done)), None, length=self.action_repeat)
    steps = state.info["steps"] + self.action_repeat
    time_up = steps >= self.episode_length
    terminated = nstate.done
    done = jnp.where(time_up, jnp.ones_like(terminated), terminated)
    truncation = jnp.where(time_up, 1 - terminated, jnp.zeros_like(terminated))
    info = {**nstate.info, "steps": steps, "truncation": truncation}
    return nstate.replace(reward=reward, done=done, info=info)


class AutoResetWrapper(Wrapper):
  """Replaces a finished episode's state with a fresh reset.

  The returned state of a step that ends an episode carries the *finishing* step's
  `reward`, `done`, `metrics` and transition info (`keep_info_keys`), but the *fresh*
  episode's `obs`, `pipeline_state` and remaining info (so per-episode env state such as
  a goal stored in info is re-drawn). Kept keys are restored to their fresh values at
  the start of the next step (as brax does for `steps`).

  Unlike brax's `AutoResetWrapper` (which reuses the first reset state forever), each
  env keeps its own `info['reset_key']`, split on every auto-reset, so successive
  episodes differ. The fresh reset is computed every step and selected where done
  (under vmap both branches run anyway): one extra `reset` per step.

  Keys of `info` that the inner reset does not produce (added by outer wrappers) pass
  through untouched.

  Args:
    env: the env to wrap; inner wrappers must preserve unknown info keys.
    keep_info_keys: info keys describing the transition; default `('steps',
      'truncation')` plus the env's `transition_info_keys` attribute if any.
  """

  def __init__(self, env: Env, keep_info_keys: Optional[Sequence[str]] = None):
    super().__init__(env)
    if keep_info_keys is None:
      keep_info_keys = ("steps", "truncation") + tuple(getattr(env, "transition_info_keys", ()))
    self.keep_info_keys = tuple(dict.fromkeys(keep_info_keys))

  def reset(self, rng: jax.Array) -> State:
    key_reset, key_next = _split_keys(rng)
    state = self.env.reset(key_reset)
    keep = {k: state.info[k] for k in self.keep_info_keys if k in state.info}
    info = {**state.info, "reset_key": key_next, "autoreset_fresh": keep}
    return state.replace(info=info)

  def step(self, state: State, action: jax.Array) -> State:
    info = dict(state.info)
    fresh_kept = info.pop("autoreset_fresh")
    reset_key = info.pop("reset_key")
    info.update(_where_done(state.done, fresh_kept, {k: info[k] for k in fresh_kept}))
    nstate = self.env.step(state.replace(info=info), action)

    key_next, key_reset = _split_keys(reset_key)
    fresh = self.env.reset(key_reset)
    done = nstate.done
    new_info = {}
    for k, v in nstate.info.items():
      if k in fresh.info and k not in self.keep_info_keys:
        new_info[k] = _where_done(done, fresh.info[k], v)
      else:
        new_info[k] = v
    new_info["reset_key"] = _where_done(done, key_next, reset_key)
    new_info["autoreset_fresh"] = _where_done(
        done, {k: fresh.info[k] for k in fresh_kept}, fresh_kept)
    return nstate.replace(
        obs=_where_done(done, fresh.obs, nstate.obs),
        pipeline_state=_where_done(done, fresh.pipeline_state, nstate.pipeline_state),
        info=new_info)


class EpisodeMetricsWrapper(Wrapper):
  """Per-episode return and length, readable on device.

  Info keys (all `[]` per env):
    `running_return`, `running_length`: of the episode in progress (0 after a done step).
    `episode_return`, `episode_length`: of the most recently *completed* episode; valid
      where `done` (they keep their value until the next completion), so a training loop
      reports `sum(done * episode_return) / sum(done)` without a host round trip.
    `episode_metrics` = {`sum_reward`, `length`} and `episode_done`: brax's names for the
      same (its PPO reads them as extra fields; complete where `episode_done`).
  Lengths count agent steps (calls to `step`).

  Place it outside `AutoResetWrapper` (it needs the finishing step's reward and done).
  """

  def reset(self, rng: jax.Array) -> State:
    state = self.env.reset(rng)
    zf = jnp.zeros_like(state.reward)
    zi = jnp.zeros_like(state.reward, dtype=jnp.int32)
    info = {
        **state.info, "running_return": zf, "running_length": zi,
        "episode_return": zf, "episode_length": zi, "episode_done": jnp.zeros_like(state.done),
        "episode_metrics": {"sum_reward": zf, "length": zi},
    }
    return state.replace(info=info)

  def step(self, state: State, action: jax.Array) -> State:
    nstate = self.env.step(state, action)
    info = dict(nstate.info)
    ret = state.info["running_return"] + nstate.reward
    length = state.info["running_length"] + 1
    done = nstate.done > 0
    info["episode_return"] = jnp.where(done, ret, state.info["episode_return"])
    info["episode_length"] = jnp.where(done, length, state.info["episode_length"])
    info["running_return"] = jnp.where(done, 0.0, ret).astype(ret.dtype)
    info["running_length"] = jnp.where(done, 0, length)
    info["episode_done"] = nstate.done
    info["episode_metrics"] = {"sum_reward": ret, "length": length}
    return nstate.replace(info=info)


class SelectObservationWrapper(Wrapper):
  """Observation = the chosen observation groups only; the full one in `info['full_obs']`.

  For low-level policies and information asymmetry. `observation_groups` of the wrapped
  env describes the new (selected, contiguous) layout. Put it innermost (directly
  around the env) so auto-reset observations are selected too.
  """

  def __init__(self, env: Env, groups: GroupNames):
    super().__init__(env)
    all_groups = getattr(env, "observation_groups", None)
    if not isinstance(all_groups, ObservationGroups):
      raise ValueError(
          f"SelectObservationWrapper needs an env with `observation_groups`; {env!r} has none")
    self._all_groups = all_groups
    self.groups = (groups,) if isinstance(groups, str) else tuple(groups)
    self._selected = all_groups.subset(self.groups)  # validates names

  @property
  def observation_groups(self) -> ObservationGroups:
    return self._selected

  @property
  def observation_size(self) -> int:
    return self._selected.obs_size

  def _select(self, state: State) -> State:
    full = state.obs
    return state.replace(
        obs=self._all_groups.select(full, self.groups), info={**state.info, "full_obs": full})

  def reset(self, rng: jax.Array) -> State:
    return self._select(self.env.reset(rng))

  def step(self, state: State, action: jax.Array) -> State:
    return self._select(self.env.step(state.replace(obs=state.info["full_obs"]), action))


def wrap_for_training(
    env: Env,
    episode_length: int,
    action_repeat: int = 1,
    batch_size: Optional[int] = None,
    *,
    observation_groups: Optional[GroupNames] = None,
    randomization_fn: Optional[Callable[..., Any]] = None,
) -> Wrapper:
  """The standard training stack, innermost first:

    env -> [SelectObservationWrapper] -> EpisodeWrapper -> AutoResetWrapper
        -> EpisodeMetricsWrapper -> VmapWrapper

  * SelectObservation innermost: every observation (including auto-reset ones) is the
    selected one, and `full_obs` belongs to the same state as `obs`.
  * Episode inside AutoReset: the time limit must produce the `done` that triggers the
    reset; its `steps`/`truncation` are kept visible on the finishing step.
  * EpisodeMetrics outside AutoReset: it sees the finishing step's reward and done, and
    its accumulators are not wiped by the reset.
  * Vmap outermost: every inner wrapper handles one env (scalar `done`), the simplest
    and least error-prone form; batching once is equivalent under XLA.

  Also usable as brax's `wrap_env_fn` (`ppo.train(..., wrap_env_fn=wrap_for_training)`):
  it accepts and rejects a non-None `randomization_fn` (domain randomisation is not
  supported here).

  Args:
    env: unbatched env.
    episode_length: time limit in physics steps (brax convention).
    action_repeat: physics steps per agent step.
    batch_size: if set, `reset` may take a single key; otherwise a batch of keys [B, 2].
    observation_groups: if set, observations are restricted to these groups.
    randomization_fn: must be None.
  """
  if randomization_fn is not None:
    raise ValueError("wrap_for_training does not support randomization_fn (domain randomisation)")
  if observation_groups is not None:
    env = SelectObservationWrapper(env, observation_groups)
  env = EpisodeWrapper(env, episode_length, action_repeat)
  env = AutoResetWrapper(env)
  env = EpisodeMetricsWrapper(env)
  return VmapWrapper(env, batch_size)

"""An env whose action is a skill: each step executes H low-level steps of a frozen skill decoder.

SPiRL's high-level policy acts every H steps in the space of skill latents z (Pertsch et al.,
2020, Algorithm 1); `SkillEnv` turns that into an ordinary env, so any online agent and the
shared online loop run on it unchanged:

    low = EpisodeWrapper(make("maze", layout="large"), episode_length=2000)
    env = SkillEnv(low, decoder, decoder_params, horizon=10)
    state = env.step(state, z)      # z [Z]: H = 10 decoder actions, one lax.scan

Reward is the sum of the H low-level rewards (SPiRL's H-step reward, undiscounted). Once the
low-level episode ends (termination or time limit, `done`), the rest of the skill is skipped:
the state is frozen and no reward accumulates, so the returned state is the terminal one.
`done`, `obs` and `info` are those of the last executed low-level step; entries named in the
wrapped env's `transition_info_keys` (e.g. `success`) and `metrics['success']` are the maximum
over the executed steps (a goal touched mid-skill counts). `low_level_steps_per_step = H` tells
the online loop that one agent step is H env steps (its budgets count low-level steps); a skill
cut short by an episode end still counts H.

The decoder is a `agents.spirl.offline.SkillDecoder` (`init(params, z, obs)`,
`step(params, dstate, obs) -> (action, dstate)`); its params are closed over as constants (the
skills are frozen downstream).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from helms_jax.envs.base import Env, ObservationGroups, State, Wrapper


class SkillEnv(Wrapper):
  """Executes an H-step skill per step (module doc). `action_size` is the skill's Z."""

  def __init__(self, env: Env, decoder, decoder_params: Any, horizon: int, z_dim: int):
    super().__init__(env)
    if int(horizon) != horizon or horizon < 1:
      raise ValueError(f"horizon must be a positive int, got {horizon!r}")
    if int(z_dim) != z_dim or z_dim < 1:
      raise ValueError(f"z_dim must be a positive int, got {z_dim!r}")
    self.horizon = int(horizon)
    self.z_dim = int(z_dim)
    self.decoder = decoder
    self.decoder_params = decoder_params
    self._max_keys = tuple(getattr(env, "transition_info_keys", ()))

  @property
  def action_size(self) -> int:
    return self.z_dim

  @property
  def low_level_steps_per_step(self) -> int:
    return self.horizon

  def reset(self, rng: jax.Array) -> State:
    return self.env.reset(rng)

  def step(self, state: State, action: jax.Array) -> State:
    if action.shape[-1:] != (self.z_dim,):
      raise ValueError(f"SkillEnv.step takes a skill z [{self.z_dim}], got shape {action.shape}")
    params = self.decoder_params
    dstate = self.decoder.init(params, action, state.obs)
    ended0 = jnp.zeros_like(state.done)

    def body(carry, _):
      s, dstate, total, ended, maxima = carry
      low_action, dstate = self.decoder.step(params, dstate, s.obs)
      ns = self.env.step(s, low_action)
      live = ended <= 0
      total = total + jnp.where(live, ns.reward, 0.0)
      maxima = {k: jnp.where(live, jnp.maximum(v, _entry(ns, k)), v) for k, v in maxima.items()}
      ns = jax.tree.map(lambda new, old: jnp.where(_expand(live, new), new, old), ns, s)
      return (ns, dstate, total, jnp.maximum(ended, ns.done), maxima), None

    maxima = {k: jnp.zeros_like(_entry(state, k)) for k in self._tracked(state)}
    (final, _, total, _, maxima), _ = jax.lax.scan(
        body, (state, dstate, jnp.zeros_like(state.reward), ended0, maxima), None,
        length=self.horizon)
    info, metrics = dict(final.info), dict(final.metrics)
    for k, v in maxima.items():
      if k in info:
        info[k] = v.astype(info[k].dtype)
      if k in metrics:
        metrics[k] = v.astype(metrics[k].dtype)
    return final.replace(reward=total, info=info, metrics=metrics)

  def _tracked(self, state: State) -> tuple[str, ...]:
    keys = [k for k in self._max_keys if k in state.info]
    if "success" in state.metrics and "success" not in keys:
      keys.append("success")
    return tuple(keys)


def _entry(state: State, key: str) -> jax.Array:
  value = state.info[key] if key in state.info else state.metrics[key]
  return value.astype(jnp.float32)


def _expand(mask: jax.Array, like: jax.Array) -> jax.Array:
  """`mask` [...] broadcast against a leaf [..., *rest]."""
  return mask.reshape(mask.shape + (1,) * (like.ndim - mask.ndim)) > 0


class LatentActionEnv(Wrapper):
  """An env whose action is the latent z of a frozen low-level controller, one env step per z,
  and whose observation carries the previous latent (NPMP + KL transfer: the KL to the AR(1)
  latent prior p(z_t | z_{t-1}) must be computable from the replayed observation).

    env = LatentActionEnv(task_env, decode=lambda obs, z: low_level_mean(obs, z), latent_size=8)
    state = env.step(state, z)   # a = decode(obs_t, z_t); obs_{t+1} ++ [z_t, 0]

  Observation: the wrapped env's [O] followed by `previous_latent` [Z] (zeros after a reset) and
  `first_step` [1] (1 after a reset, else 0), both added to `observation_groups`.

  Args:
    env: the task env (unbatched; auto-reset wrappers go outside this one).
    decode: `(obs [O], z [Z]) -> action [A]`, the frozen low level (its parameters closed over).
    latent_size: Z.
  """

  def __init__(self, env: Env, decode, latent_size: int):
    super().__init__(env)
    if int(latent_size) != latent_size or latent_size < 1:
      raise ValueError(f"latent_size must be a positive int, got {latent_size!r}")
    self.latent_size = int(latent_size)
    self.decode = decode
    inner = env.observation_size
    groups = getattr(env, "observation_groups", None)
    if not isinstance(groups, ObservationGroups):
      raise ValueError(f"LatentActionEnv needs an env with observation_groups; {env!r} has none")
    if "previous_latent" in groups or "first_step" in groups:
      raise ValueError(f"the env's observation groups {list(groups)} already hold a latent")
    self._inner_size = inner
    self._groups = ObservationGroups(
        {**dict(groups), "previous_latent": (inner, inner + self.latent_size),
         "first_step": (inner + self.latent_size, inner + self.latent_size + 1)})

  @property
  def observation_groups(self) -> ObservationGroups:
    return self._groups

  @property
  def observation_size(self) -> int:
    return self._inner_size + self.latent_size + 1

  @property
  def action_size(self) -> int:
    return self.latent_size

  def _observe(self, state: State, z: jax.Array, first: float) -> State:
    first = jnp.full(state.obs.shape[:-1] + (1,), first, state.obs.dtype)
    return state.replace(obs=jnp.concatenate([state.obs, z.astype(state.obs.dtype), first], -1))

  def reset(self, rng: jax.Array) -> State:
    state = self.env.reset(rng)
    return self._observe(state, jnp.zeros(state.obs.shape[:-1] + (self.latent_size,)), 1.0)

  def step(self, state: State, action: jax.Array) -> State:
    if action.shape[-1:] != (self.latent_size,):
      raise ValueError(f"LatentActionEnv.step takes a latent z [{self.latent_size}], got shape "
                       f"{action.shape}")
    inner_obs = state.obs[..., :self._inner_size]
    next_state = self.env.step(state.replace(obs=inner_obs), self.decode(inner_obs, action))
    return self._observe(next_state, action, 0.0)

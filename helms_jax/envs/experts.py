"""Scripted experts by env name.

Two kinds of registration:
- `register(env_name, expert_fn)`: a stateless expert `(obs, key, noise_scale=...) -> action`
  (e.g. `point_reach`'s PD controller); `get(env_name)` returns it.
- `register_factory(env_name, factory)`: `factory(env, noise_scale) -> Expert` for experts
  that read the env's static geometry/task and keep memory between steps (e.g. the stacking
  state machine: phase, per-episode random sub-goals).

`expert_for(env_name, env, noise_scale) -> Expert(init, policy)` works for both kinds and is
what the dataset generator uses:

    expert = experts.expert_for("stacking", env, noise_scale=0.2)
    traj = envs.rollout(env, expert.policy, key, n, T, policy_init=expert.init)

`init(key) -> pstate` and `policy(obs [obs_dim], key, pstate) -> (action [act_dim], pstate)` are
per-env (vmapped by `envs.rollout`) and hashable (value-equal experts reuse a compiled rollout).
A stateless expert gets `pstate = ()`.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable, NamedTuple

import jax

ExpertFn = Callable[..., jax.Array]  # (obs [obs_dim], key, noise_scale=...) -> action [act_dim]


class Expert(NamedTuple):
  """A (possibly stateful) expert for one env.

  init: `(key) -> pstate` (any pytree, per env).
  policy: `(obs [obs_dim], key, pstate) -> (action [act_dim], pstate)`.
  name: a readable name for dataset metadata.
  """
  init: Callable[[jax.Array], Any]
  policy: Callable[[jax.Array, jax.Array, Any], tuple[jax.Array, Any]]
  name: str


ExpertFactory = Callable[..., Expert]  # (env, noise_scale) -> Expert

_EXPERTS: dict[str, ExpertFn] = {}
_FACTORIES: dict[str, ExpertFactory] = {}
# Experts living in modules that their env's package does not import (imported on first use).
_LAZY_MODULES = {"stacking": "helms_jax.envs.manipulation.expert"}


def _load(env_name: str) -> None:
  if env_name in _LAZY_MODULES and env_name not in _EXPERTS and env_name not in _FACTORIES:
    importlib.import_module(_LAZY_MODULES[env_name])


def register(env_name: str, expert: ExpertFn) -> None:
  """Registers a stateless expert `(obs, key, noise_scale=...) -> action` for `env_name`."""
  _EXPERTS[env_name] = expert


def register_factory(env_name: str, factory: ExpertFactory) -> None:
  """Registers `factory(env, noise_scale) -> Expert` for `env_name`."""
  _FACTORIES[env_name] = factory


def _known() -> str:
  return ", ".join(sorted(set(_EXPERTS) | set(_FACTORIES) | set(_LAZY_MODULES))) or "none"


def get(env_name: str) -> ExpertFn:
  """The stateless expert of `env_name` (see `expert_for` for stateful ones)."""
  _load(env_name)
  if env_name not in _EXPERTS:
    hint = (f"; {env_name!r} has a stateful expert: use experts.expert_for(env_name, env)"
            if env_name in _FACTORIES else "")
    raise ValueError(f"no stateless scripted expert for env {env_name!r}{hint}; envs with "
                     f"experts: {_known()}")
  return _EXPERTS[env_name]


def _no_state(key: jax.Array) -> tuple:
  del key
  return ()


@dataclasses.dataclass(frozen=True)
class _Stateless:
  """Adapts `expert(obs, key, noise_scale=...)` to the stateful signature (hashable by value)."""
  expert: ExpertFn
  noise_scale: float

  def __call__(self, obs, key, pstate):
    return self.expert(obs, key, noise_scale=self.noise_scale), pstate


def expert_for(env_name: str, env, noise_scale: float = 0.1, **factory_kwargs) -> Expert:
  """The expert of `env_name` for the instance `env` (possibly wrapped), as `Expert`;
  `factory_kwargs` go to a registered factory (e.g. the stacking expert's `noise_max`)."""
  _load(env_name)
  if env_name in _FACTORIES:
    return _FACTORIES[env_name](env, noise_scale=noise_scale, **factory_kwargs)
  if factory_kwargs:
    raise ValueError(f"the {env_name!r} expert takes no options {sorted(factory_kwargs)}")
  if env_name in _EXPERTS:
    fn = _EXPERTS[env_name]
    return Expert(init=_no_state, policy=_Stateless(fn, float(noise_scale)),
                  name=getattr(fn, "__name__", repr(fn)))
  raise ValueError(f"no scripted expert for env {env_name!r}; envs with experts: {_known()}")


@dataclasses.dataclass(frozen=True)
class _RandomEpisodesInit:
  """pstate = (acts randomly this episode, the expert's pstate)."""
  expert_init: Callable[[jax.Array], Any]
  random_fraction: float

  def __call__(self, key):
    coin_key, expert_key = jax.random.split(key)
    return jax.random.uniform(coin_key) < self.random_fraction, self.expert_init(expert_key)


@dataclasses.dataclass(frozen=True)
class _RandomEpisodesPolicy:
  expert_policy: Callable[..., Any]
  action_size: int

  def __call__(self, obs, key, pstate):
    is_random, expert_state = pstate
    expert_key, random_key = jax.random.split(key)
    # The expert still steps (its memory stays consistent); its action is replaced.
    action, expert_state = self.expert_policy(obs, expert_key, expert_state)
    uniform = jax.random.uniform(random_key, (self.action_size,), minval=-1.0, maxval=1.0)
    return jax.numpy.where(is_random, uniform, action), (is_random, expert_state)


def with_random_episodes(expert: Expert, random_fraction: float, action_size: int) -> Expert:
  """`expert`, except that each episode acts uniformly at random in [-1, 1]^A with probability
  `random_fraction` (decided per episode at `init`; SPiRL's sub-optimal-data study).

  `random_episode_flags(expert, keys)` recovers which episodes were random from their init keys.
  """
  if not 0.0 <= random_fraction <= 1.0:
    raise ValueError(f"random_fraction must be in [0, 1], got {random_fraction}")
  if random_fraction == 0.0:
    return expert
  return Expert(init=_RandomEpisodesInit(expert.init, float(random_fraction)),
                policy=_RandomEpisodesPolicy(expert.policy, int(action_size)),
                name=f"{expert.name} with {random_fraction:.0%} random-action episodes")


def random_episode_flags(expert: Expert, init_keys: jax.Array) -> jax.Array:
  """[N] bool: which episodes of `with_random_episodes(...)` act randomly, from their init keys
  (`envs.acting.policy_init_keys`); all False for a plain expert."""
  if not isinstance(expert.init, _RandomEpisodesInit):
    return jax.numpy.zeros(init_keys.shape[:1], bool)
  return jax.vmap(expert.init)(init_keys)[0]

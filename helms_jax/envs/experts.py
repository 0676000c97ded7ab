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


def expert_for(env_name: str, env, noise_scale: float = 0.1) -> Expert:
  """The expert of `env_name` for the instance `env` (possibly wrapped), as `Expert`."""
  _load(env_name)
  if env_name in _FACTORIES:
    return _FACTORIES[env_name](env, noise_scale=noise_scale)
  if env_name in _EXPERTS:
    fn = _EXPERTS[env_name]
    return Expert(init=_no_state, policy=_Stateless(fn, float(noise_scale)),
                  name=getattr(fn, "__name__", repr(fn)))
  raise ValueError(f"no scripted expert for env {env_name!r}; envs with experts: {_known()}")

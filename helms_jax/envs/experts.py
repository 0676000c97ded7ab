"""Scripted experts by env name: `get(env_name) -> expert(obs, key, noise_scale) -> action`.

Experts are pure, per-env functions (vmapped by `envs.rollout`) that generate offline datasets.
Each env module registers its own expert next to its `register(name, factory)` call.
"""

from __future__ import annotations

from typing import Callable

import jax

ExpertFn = Callable[..., jax.Array]  # (obs [obs_dim], key, noise_scale=...) -> action [act_dim]

_EXPERTS: dict[str, ExpertFn] = {}


def register(env_name: str, expert: ExpertFn) -> None:
  _EXPERTS[env_name] = expert


def get(env_name: str) -> ExpertFn:
  if env_name not in _EXPERTS:
    raise ValueError(f"no scripted expert for env {env_name!r}; envs with experts: "
                     f"{', '.join(sorted(_EXPERTS)) or 'none'}")
  return _EXPERTS[env_name]

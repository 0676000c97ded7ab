"""Environment registry: create environments by name.

    register("point_reach", PointReach)
    env = make("point_reach", reward="sparse")
    env = brax.envs.get_environment("point_reach", reward="sparse")   # the same, through brax
    config = default_config("point_reach")   # Playground-style settings (a ConfigDict)
    config.reward = "sparse"
    env = make("point_reach", config=config)   # keywords still win over the config

Factories are any callables returning an `Env` (usually the env class); keyword
arguments given to `make` are checked against the factory's signature so that a typo
fails loudly instead of being silently ignored.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Callable

import ml_collections

from helms_jax.envs.base import Env
from helms_jax.errors import HelmsError

__all__ = ["register", "make", "default_config", "registered_names", "UnknownEnvError",
           "EnvKwargError"]

_REGISTRY: dict[str, Callable[..., Env]] = {}


class UnknownEnvError(HelmsError, KeyError, ValueError):
  """`make` was given a name that is not registered."""

  def __str__(self):  # KeyError quotes its message; keep it readable.
    return str(self.args[0]) if self.args else ""


class EnvKwargError(HelmsError, TypeError, ValueError):
  """`make` was given keyword arguments the factory does not accept."""


def register(name: str, factory: Callable[..., Env], *, overwrite: bool = False) -> None:
  """Registers `factory(**kwargs) -> Env` under `name`.

  Re-registering the same factory is a no-op (module reloads); registering a different
  one under a taken name raises unless `overwrite=True`.
  """
  if not isinstance(name, str) or not name:
    raise ValueError(f"env name must be a non-empty string, got {name!r}")
  if not callable(factory):
    raise TypeError(f"factory for env {name!r} must be callable, got {factory!r}")
  existing = _REGISTRY.get(name)
  if existing is not None and existing is not factory and not overwrite:
    raise ValueError(
        f"env {name!r} is already registered (to {existing!r}); pass overwrite=True to replace it")
  _REGISTRY[name] = factory
  _register_with_brax(name)


@dataclasses.dataclass(frozen=True)
class _BraxFactory:
  """What brax's registry calls for one of our envs: `make(name, **kwargs)` (so brax users get
  our keyword checking and `config=`)."""
  name: str

  def __call__(self, **kwargs) -> Env:
    return make(self.name, **kwargs)


def _register_with_brax(name: str) -> None:
  """Makes `brax.envs.get_environment(name, **kwargs)` build our env too (brax users, brax's
  train scripts and tools that look envs up by name). A name brax already uses for one of its
  own envs is left to brax: ours stays reachable through `make`."""
  from brax import envs as brax_envs  # pylint: disable=import-outside-toplevel
  theirs = brax_envs._envs.get(name)  # pylint: disable=protected-access  (brax has no lookup API)
  if theirs is None or theirs == _BraxFactory(name):
    brax_envs.register_environment(name, _BraxFactory(name))


def default_config(name: str) -> ml_collections.ConfigDict:
  """The settings of env `name` with their defaults (its factory's keyword arguments), as a
  `ConfigDict` to edit and pass back as `make(name, config=...)` (MuJoCo Playground style).
  Settings without a default are not included: pass them as keywords."""
  if name not in _REGISTRY:
    raise UnknownEnvError(
        f"unknown environment {name!r}; registered environments: {registered_names()}")
  try:
    params = inspect.signature(_REGISTRY[name]).parameters.values()
  except (TypeError, ValueError):
    params = ()
  return ml_collections.ConfigDict({
      p.name: p.default for p in params
      if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is not p.empty})


def registered_names() -> list[str]:
  """Sorted names of all registered environments."""
  return sorted(_REGISTRY)


def _accepted_kwargs(factory: Callable[..., Env]) -> tuple[list[str] | None, list[str]]:
  """(names accepted as keywords, or None if **kwargs is taken; required keyword names)."""
  try:
    sig = inspect.signature(factory)
  except (TypeError, ValueError):  # builtins without signatures: no checking possible
    return None, []
  names, required = [], []
  for p in sig.parameters.values():
    if p.kind == p.VAR_KEYWORD:
      return None, []
    if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
      names.append(p.name)
      if p.default is p.empty:
        required.append(p.name)
  return names, required


def make(name: str, config: ml_collections.ConfigDict | None = None, **kwargs) -> Env:
  """Creates the environment registered as `name` with keyword arguments `kwargs`, on top of
  the settings in `config` (e.g. an edited `default_config(name)`; keywords win).

  Raises:
    UnknownEnvError (a ValueError): `name` is not registered; lists registered names.
    EnvKwargError (a TypeError and ValueError): a keyword is not accepted by the
      factory, or a required one is missing; names the bad and the valid keywords.
  """
  if name not in _REGISTRY:
    raise UnknownEnvError(
        f"unknown environment {name!r}; registered environments: {registered_names()}")
  if config is not None:
    kwargs = {**config.to_dict(), **kwargs}
  factory = _REGISTRY[name]
  valid, required = _accepted_kwargs(factory)
  if valid is not None:
    bad = sorted(set(kwargs) - set(valid))
    if bad:
      raise EnvKwargError(
          f"environment {name!r} got unexpected keyword argument(s) {bad}; "
          f"valid keyword arguments: {valid}")
    missing = [k for k in required if k not in kwargs]
    if missing:
      raise EnvKwargError(
          f"environment {name!r} is missing required keyword argument(s) {missing}; "
          f"valid keyword arguments: {valid}")
  return factory(**kwargs)

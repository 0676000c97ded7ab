"""Methods by name: the registry of offline learners and online methods.

Every agent package exports its records (`LEARNERS`, `METHODS`: `agents/records.py`); this module
collects the built-in ones and takes your own:

    from helms_jax import methods
    from helms_jax.agents.records import Method
    methods.register_method(Method(name="my_method", label="Mine", make_agent=make_my_agent))

after which `--config.transfer.method=my_method` runs it through every stage. Stages look a
record up here (`learner(config.learner.name)`, `method(config.transfer.method)`) and ask it what
to build; nothing else in the pipeline knows method names.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

import ml_collections

from helms_jax.agents import baselines, concurrent, helms, lsp, npmp, spirl
from helms_jax.agents.records import Method, OfflineLearner, OfflineSkills
from helms_jax.configs import ConfigError
from helms_jax.training.train_state import Learner

_LEARNERS: dict[str, OfflineLearner] = {}
_METHODS: dict[str, Method] = {}


def register_learner(record: OfflineLearner, *, overwrite: bool = False) -> None:
  """Makes `record` the offline learner `config.learner.name == record.name` selects."""
  _register(_LEARNERS, record, overwrite, "learner")


def register_method(record: Method, *, overwrite: bool = False) -> None:
  """Makes `record` the online method `config.transfer.method == record.name` selects."""
  _register(_METHODS, record, overwrite, "method")


def _register(table: dict, record, overwrite: bool, what: str) -> None:
  existing = table.get(record.name)
  if existing is not None and existing != record and not overwrite:
    raise ValueError(f"{what} {record.name!r} is already registered; pass overwrite=True to "
                     "replace it")
  table[record.name] = record


def learner_names() -> list[str]:
  return sorted(_LEARNERS)


def method_names() -> list[str]:
  return sorted(_METHODS)


def learner(name: str) -> OfflineLearner:
  """The offline learner record `name` (ConfigError naming the valid ones otherwise)."""
  if name not in _LEARNERS:
    raise ConfigError(f"learner.name={name!r} is not a learner (valid: "
                      f"{', '.join(learner_names())})")
  return _LEARNERS[name]


def method(name: str) -> Method:
  """The online method record `name` (ConfigError naming the valid ones otherwise)."""
  if name not in _METHODS:
    raise ConfigError(f"transfer.method={name!r} is not a method (valid: "
                      f"{', '.join(method_names())})")
  return _METHODS[name]


def resolve(reference: str) -> Callable[..., Any]:
  """The function a record names as "module:function" (imported on first use)."""
  module, _, attribute = reference.partition(":")
  return getattr(importlib.import_module(module), attribute)


def make_learner(config: ml_collections.ConfigDict, observation_size: int, action_size: int, *,
                 observation_groups=None, observation_stats=None, lookahead: int = 0) -> Learner:
  """The learner `config.name` names (`config`: the `learner` section).

  Args:
    config: the `learner` config section.
    observation_size, action_size: flat sizes of the data.
    observation_groups: the env's `ObservationGroups` (learners with information asymmetry
      select their inputs by group name).
    observation_stats: (mean [obs], std [obs]) of the dataset's observations, for learners that
      normalise inputs (stored in their parameters).
    lookahead: future observations per window (`train.lookahead`).
  """
  return learner(config.get("name")).make_learner(
      config, int(observation_size), int(action_size), observation_groups=observation_groups,
      observation_stats=observation_stats, lookahead=lookahead)


for _package in (baselines, helms, npmp, spirl, concurrent):
  for _record in _package.LEARNERS.values():
    register_learner(_record)
for _package in (helms, npmp, spirl, lsp):
  for _record in _package.METHODS.values():
    register_method(_record)

__all__ = ["Method", "OfflineLearner", "OfflineSkills", "learner", "learner_names",
           "make_learner", "method", "method_names", "register_learner", "register_method",
           "resolve"]

"""Learners by name. Each algorithm is a `Learner` (init/update/policy) built from the library's
networks, losses and training pieces; `make_learner(config.learner, ...)` picks it by
`config.learner.name`.
"""

from __future__ import annotations

from typing import Callable

import ml_collections

from helms_jax.agents.baselines import bc
from helms_jax.agents.concurrent import offline as concurrent_offline
from helms_jax.agents.helms import offline as helms_offline
from helms_jax.agents.spirl import offline as spirl_offline
from helms_jax.training.train_state import Learner

# name -> (config, observation_size, action_size, **data_spec) -> Learner
_OFFLINE_LEARNERS: dict[str, Callable[..., Learner]] = {
    "bc": bc.make_learner,
    "concurrent": concurrent_offline.make_learner,
    "helms": helms_offline.make_learner,
    "spirl": spirl_offline.make_learner,
}


def learner_names() -> list[str]:
  """The names `config.learner.name` may take."""
  return sorted(_OFFLINE_LEARNERS)


def make_learner(config: ml_collections.ConfigDict, observation_size: int, action_size: int, *,
                 observation_groups=None, observation_stats=None, lookahead: int = 0) -> Learner:
  """The learner named by `config.name`.

  Args:
    config: the `learner` config section.
    observation_size, action_size: flat sizes of the data.
    observation_groups: the env's `ObservationGroups` (learners with information asymmetry
      select their inputs by group name).
    observation_stats: (mean [obs], std [obs]) of the dataset's observations, for learners that
      normalise inputs (stored in their parameters).
    lookahead: future observations per window (`train.lookahead`).
  """
  name = config.get("name")
  if name not in _OFFLINE_LEARNERS:
    raise ValueError(f"unknown learner {name!r} (config.learner.name); "
                     f"valid: {', '.join(sorted(_OFFLINE_LEARNERS))}")
  return _OFFLINE_LEARNERS[name](config, int(observation_size), int(action_size),
                                 observation_groups=observation_groups,
                                 observation_stats=observation_stats, lookahead=lookahead)


__all__ = ["Learner", "learner_names", "make_learner"]

"""Learners by name. Each algorithm is a `Learner` (init/update/policy) built from the library's
networks, losses and training pieces; `make_learner(config.learner, ...)` picks it by
`config.learner.name`.
"""

from __future__ import annotations

from typing import Callable

import ml_collections

from helms_jax.agents.baselines import bc
from helms_jax.training.train_state import Learner

# name -> (config, observation_size, action_size) -> Learner
_OFFLINE_LEARNERS: dict[str, Callable[..., Learner]] = {
    "bc": bc.make_learner,
}


def make_learner(config: ml_collections.ConfigDict, observation_size: int,
                 action_size: int) -> Learner:
  name = config.get("name")
  if name not in _OFFLINE_LEARNERS:
    raise ValueError(f"unknown learner {name!r} (config.learner.name); "
                     f"valid: {', '.join(sorted(_OFFLINE_LEARNERS))}")
  return _OFFLINE_LEARNERS[name](config, int(observation_size), int(action_size))


__all__ = ["Learner", "make_learner"]

"""Learner state and the learner protocol shared by every algorithm."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import flax
import jax
import optax

Params = Any
Batch = Any
Metrics = dict[str, jax.Array]


@flax.struct.dataclass
class TrainState:
  """Everything a gradient learner changes: step count, parameters, optimiser state."""
  step: jax.Array  # [] int32, number of updates applied
  params: Params
  opt_state: optax.OptState

  @classmethod
  def create(cls, params: Params, optimizer: optax.GradientTransformation) -> "TrainState":
    return cls(step=jax.numpy.zeros((), jax.numpy.int32), params=params,
               opt_state=optimizer.init(params))


class Learner(NamedTuple):
  """An algorithm as pure functions (brax/acme style).

  init: `key -> state` (any pytree; usually a TrainState).
  update: `(state, batch, key) -> (state, metrics)`, jittable; metrics are scalars.
  policy: `(params, observation [..., obs_dim], key, deterministic) -> action [..., act_dim]`,
    for evaluation and data collection; None for learners without a policy.
  policy_init: for a policy with memory (e.g. HeLMS's previous skill), `key -> pstate` for one
    env; the policy is then `(params, observation [obs_dim], key, pstate, deterministic) ->
    (action [act_dim], pstate)` (the stateful form `envs.rollout` takes). None = stateless.
  """
  init: Callable[[jax.Array], Any]
  update: Callable[[Any, Batch, jax.Array], tuple[Any, Metrics]]
  policy: Callable[..., jax.Array] | None = None
  policy_init: Callable[[jax.Array], Any] | None = None


def apply_gradients(state: TrainState, grads: Params, optimizer: optax.GradientTransformation
                    ) -> tuple[TrainState, jax.Array]:
  """One optimiser step; returns the new state and the global gradient norm."""
  updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  return state.replace(step=state.step + 1, params=params, opt_state=opt_state), optax.global_norm(grads)

"""Learner state and the protocols every algorithm implements: `Learner` (offline, and the
offline loop), `OnlineAgent` and its replayed `Transition` (the online loop)."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import flax
import jax
import optax

from helms_jax.envs.base import State

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
  model: the model functions the learner built (e.g. HeLMS's `HelmsFunctions`, pure functions of
    the params), for analyses and transfer to use as they are; None when there is nothing
    beyond `policy`.
  """
  init: Callable[[jax.Array], Any]
  update: Callable[[Any, Batch, jax.Array], tuple[Any, Metrics]]
  policy: Callable[..., jax.Array] | None = None
  policy_init: Callable[[jax.Array], Any] | None = None
  model: Any = None


def apply_gradients(state: TrainState, grads: Params, optimizer: optax.GradientTransformation
                    ) -> tuple[TrainState, jax.Array]:
  """One optimiser step; returns the new state and the global gradient norm."""
  updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  return state.replace(step=state.step + 1, params=params, opt_state=opt_state), optax.global_norm(grads)


def gradient_learner(init_params: Callable[[jax.Array], Params], loss_fn: Callable[..., Any],
                     optimizer: optax.GradientTransformation):
  """`(init, update)` of a learner taking one `optimizer` step per batch on
  `loss_fn(params, batch, key) -> (loss [], metrics)`; update's metrics add `loss` and
  `grad_norm`."""

  def init(key):
    return TrainState.create(init_params(key), optimizer)

  def update(state: TrainState, batch, key):
    (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, batch, key)
    state, grad_norm = apply_gradients(state, grads, optimizer)
    return state, {"loss": loss, "grad_norm": grad_norm, **metrics}

  return init, update


@flax.struct.dataclass
class Transition:
  """One env step for N envs (leaves [N, ...]) or a sampled sequence (leaves [B, n, ...]).

  observation: [..., obs], or the pytree of `OnlineAgent.observe` (e.g. {"state", "image"});
  agent_action: the action in the agent's own space (e.g. a skill index or latent), [..., *u];
  reward: [...]; discount: [...], 0 on a true termination; end: [...], 1 on the last step of an
  episode (termination or time limit), after which the next stored step belongs to a new
  episode; next_observation: like `observation`, after the step (the true final one at an
  episode's end, not the reset one).
  """
  observation: jax.Array
  agent_action: jax.Array
  reward: jax.Array
  discount: jax.Array
  end: jax.Array
  next_observation: jax.Array


class OnlineAgent(NamedTuple):
  """An online algorithm as pure functions (any pytree agent state).

  init: `key -> agent_state`.
  act: `(agent_state, observation [N, obs], key, deterministic) -> (agent_action [N, *u],
    env_action [N, act])`; the behaviour policy for a batch of envs.
  update: `(agent_state, sequences: Transition [B, n, ...], key) -> (agent_state, metrics)`.
  agent_action_spec: a `jax.ShapeDtypeStruct` of one env's agent action (buffer layout).
  observe: `(env State) -> observation` (leaves [N, ...]) what the agent sees and the buffer
    stores; None = `state.obs`. A vision agent adds `state.info['image']`.
  observation_spec: pytree of `jax.ShapeDtypeStruct` for one env's observation (with `observe`).
  actor_init: None for a memoryless behaviour policy. Otherwise `(key, num_envs) -> actor_state`
    (leaves [N, ...]: e.g. a filtered world-model belief, the skill being executed) and the
    policy has memory: `act(agent_state, observation, key, deterministic, actor_state, phase)
    -> (agent_action, env_action, actor_state)`. The loop resets an env's actor state (to a
    fresh `actor_init`) when its episode ends. `phase` is the index of the step within the
    loop's unroll, a scalar shared by every env and seed: periodic decisions (re-planning
    every K steps) branch on it, so the branch stays a real `lax.cond` under the seed `vmap`.
  decision_period: the agent's period in steps (K for an agent re-planning every K steps);
    `unroll_length` must be a multiple of it, so a period never straddles two loop calls.
  evaluate: None for an agent without a soft action-value critic. Otherwise
    `(agent_state, observation [B, ...], agent_action [B, *u], key) -> dict` of [B] arrays:
    `q`, the critic's estimate of the stored action (what its targets use, e.g. the min of
    twin critics); `value`, the state value its targets bootstrap with (one sample of
    E_a~pi[q(s, a)] minus its regulariser); `penalty`, the regulariser its targets subtract
    at s (alpha * d(s); 0 without one). `analysis.critic_bias` compares `q` with Monte Carlo
    returns of the replayed trajectories.
  """
  init: Callable[[jax.Array], Any]
  act: Callable[..., tuple]
  update: Callable[..., tuple[Any, dict]]
  agent_action_spec: jax.ShapeDtypeStruct
  observe: Callable[[State], Any] | None = None
  observation_spec: Any = None
  actor_init: Callable[[jax.Array, int], Any] | None = None
  decision_period: int = 1
  evaluate: Callable[..., dict] | None = None

"""The critic against Monte Carlo returns: is an online run's Q over- or under-estimated?

The check of Fujimoto et al. (2018, "Addressing function approximation error in actor-critic
methods", Figure 1): the critic's estimate Q(s_t, a_t) beside the discounted return that
actually followed, here along the trajectories stored in the run's replay (each env's stream,
oldest to newest). The return is the *soft* return the critic's targets define (SAC with a
regulariser d(s) and temperature alpha, `losses.sac.soft_target`; MPO with `kl_in_return`, eta
KL in place of alpha d):

  G_t = r_t + gamma * c_t * (-alpha d(s_{t+1}) + G_{t+1})          inside an episode,
  G_t = r_t + gamma * c_t * V(s'_t)                                 at an episode's end,

with c_t = 0 on a true termination (1 on a time limit, which the targets bootstrap) and V the
agent's own soft value (`OnlineAgent.evaluate`) at the final state s'_t; the newest stored step
bootstraps the same way. G_t is therefore Monte Carlo up to `bootstrap_weight` gamma^m * V,
m the steps to the episode's end: states early in an episode (small weight) measure the
critic's error most directly. Actions are the stored ones (the behaviour policy of their
time); the window of recent steps keeps them close to the current policy.

Two further statistics say why a critic is off. `correlation` (Pearson, over the window's
states) is how far Q ranks states and actions as the returns that followed them do: a critic
that has learned one level and little state-dependence has a correlation near 0 however close
its level. `policy_action_gap` is mean_s [Q(s, a ~ pi) - Q(s, a_stored)], the policy's action
valued above the stored one: the targets bootstrap on the policy's action, so a gap of about
(1 - gamma) Q - r per step holds a critic at the level Q on states of reward r, whatever returns
followed them (for MPO, `evaluate`'s value is the target policy on the target critic, so the
gap also carries the target network's lag).

`critic_bias(agent, agent_state, experience, gamma, key)` is pure over one seed's agent and
stored streams (vmap it over seeds); `analyze_online_run(workdir)` loads a run's newest
checkpoint, takes the newest steps of its replay (`newest_steps`), checks every seed and writes
`<workdir>/analysis/critic_bias.json`.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from helms_jax import configs, runs
from helms_jax.analysis.analysis_index import ANALYSIS_DIR
from helms_jax.errors import HelmsError
from helms_jax.io import atomic_write_json
from helms_jax.training.train_state import OnlineAgent

CRITIC_BIAS_FILE = "critic_bias.json"  # under <workdir>/analysis/
EARLY_WEIGHT = 0.5  # "early" states: bootstrap weight at most this


class NoCriticError(HelmsError, ValueError):
  """The run's agent has no critic this check can read (`OnlineAgent.evaluate` is None)."""


def soft_returns(reward: jax.Array, discount: jax.Array, end: jax.Array, penalty: jax.Array,
                 bootstrap_value: jax.Array, gamma: float
                 ) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Soft discounted returns along one stream of steps, oldest first.

  Args:
    reward, discount, end: [T] as in `Transition` (discount 0 on a true termination; end 1 on
      an episode's last step).
    penalty: [T] alpha * d(s_t) at each step's observation (subtracted at s_{t+1} inside an
      episode).
    bootstrap_value: [T] the soft value V(s'_t) at each step's next observation; used where the
      episode ends and at the last step (T - 1), whose continuation is not stored.
    gamma: discount factor.
  Returns:
    (returns [T], bootstrap_weight [T], bootstrapped [T]): G_t; the coefficient of the value
    it bootstraps with (gamma^m times the discounts on the way); and that term itself
    (weight_t * V), so `G_t - bootstrapped_t` is pure Monte Carlo.
  """
  shapes = {x.shape for x in (reward, discount, end, penalty, bootstrap_value)}
  if len(shapes) != 1 or reward.ndim != 1:
    raise ValueError(f"soft_returns takes [T] arrays of one length; got shapes {sorted(shapes)}")
  # Continuation after step t: the next step's return (same episode), else the bootstrap.
  next_penalty = jnp.concatenate([penalty[1:], jnp.zeros_like(penalty[:1])])
  stop = jnp.logical_or(end > 0, jnp.arange(reward.shape[0]) == reward.shape[0] - 1)

  def step(carry, inputs):
    later_return, later_weight, later_bootstrap = carry
    r, c, s, p_next, v = inputs
    g = r + gamma * c * jnp.where(s, v, later_return - p_next)
    weight = gamma * c * jnp.where(s, 1.0, later_weight)
    bootstrap = gamma * c * jnp.where(s, v, later_bootstrap)
    return (g, weight, bootstrap), (g, weight, bootstrap)

  zero = jnp.zeros((), reward.dtype)
  _, outputs = jax.lax.scan(step, (zero, zero, zero),
                            (reward, discount, stop, next_penalty, bootstrap_value), reverse=True)
  return outputs


def _write_position(replay) -> tuple[int, int, int]:
  """`(write index, steps stored per env stream, stream capacity)` of a flashbax trajectory
  buffer with seeds stacked on its leading axis (the seeds of one run store in lockstep, so one
  index serves them all)."""
  index = np.asarray(replay.current_index).reshape(-1)
  full = np.asarray(replay.is_full).reshape(-1)
  if len(set(index.tolist())) != 1 or len(set(full.tolist())) != 1:
    raise ValueError(f"the seeds' replays are not in lockstep (write index {index.tolist()}, "
                     f"full {full.tolist()})")
  length = jax.tree.leaves(replay.experience)[0].shape[2]
  stored = length if full[0] else int(index[0])
  if stored == 0:
    raise NoCriticError("the replay is empty: nothing to check the critic against")
  return int(index[0]), stored, length


def stored_steps(replay) -> int:
  """Steps stored per env stream (the same for every seed and env)."""
  return _write_position(replay)[1]


def newest_steps(replay, steps: int):
  """The newest `steps` stored steps of every env stream of a flashbax trajectory buffer, oldest
  first, as host arrays: `Transition` leaves [S, N, steps, ...] (seeds stacked on S). Fewer if
  fewer are stored."""
  index, stored, length = _write_position(replay)
  steps = min(int(steps), stored)
  # Time index of the newest `steps`, oldest first (the buffer writes at index, wrapping).
  order = (index - steps + np.arange(steps)) % length
  return jax.tree.map(lambda x: np.take(np.asarray(x), order, axis=2), replay.experience)


def _correlation(x: jax.Array, y: jax.Array) -> jax.Array:
  """[] Pearson correlation of x and y over all entries; 0 where either is constant."""
  dx, dy = x - jnp.mean(x), y - jnp.mean(y)
  scale = jnp.sqrt(jnp.sum(dx * dx) * jnp.sum(dy * dy))
  return jnp.where(scale > 0, jnp.sum(dx * dy) / jnp.where(scale > 0, scale, 1.0), 0.0)


def critic_bias(agent: OnlineAgent, agent_state, experience, gamma: float, key: jax.Array
                ) -> dict[str, jax.Array]:
  """Q against the soft Monte Carlo return on consecutive stored steps of N env streams.

  Args:
    agent: an `OnlineAgent` with `evaluate`; `agent_state` one seed's.
    experience: `Transition` with leaves [N, T, ...], each stream consecutive steps, oldest
      first (`newest_steps`); the last step's continuation is not stored, so it bootstraps.
    gamma: the agent's discount.
  Returns:
    [] arrays: `q`, `returns` (means over the N * T states), `bias` = mean(q - G),
    `bootstrap_weight` (mean) and `count`; the same over the early states (bootstrap weight
    <= `EARLY_WEIGHT`): `early_q`, `early_returns`, `early_bias`, `early_count`,
    `early_bootstrap_weight`, and `early_monte_carlo`, the mean of their returns without the
    bootstrapped term. `correlation` of Q and G over the N * T states (0 where either is
    constant) and `policy_action_gap` = mean(Q(s, a ~ pi) - Q(s, a_stored)), Q(s, a ~ pi) being
    `evaluate`'s value plus its penalty.
  """
  if agent.evaluate is None:
    raise NoCriticError("this agent has no critic to check (OnlineAgent.evaluate is None)")
  num_envs, length = experience.reward.shape
  flat = lambda x: x.reshape((num_envs * length,) + x.shape[2:])
  unflat = lambda x: x.reshape(num_envs, length)
  here_key, after_key = jax.random.split(key)
  here = agent.evaluate(agent_state, jax.tree.map(flat, experience.observation),
                        flat(experience.agent_action), here_key)
  after = agent.evaluate(agent_state, jax.tree.map(flat, experience.next_observation),
                         flat(experience.agent_action), after_key)
  returns, weights, bootstrapped = jax.vmap(soft_returns, in_axes=(0, 0, 0, 0, 0, None))(
      experience.reward.astype(jnp.float32), experience.discount.astype(jnp.float32),
      experience.end.astype(jnp.float32), unflat(here["penalty"]), unflat(after["value"]), gamma)
  q = unflat(here["q"])
  early = weights <= EARLY_WEIGHT

  def mean(x, mask=None):
    mask = jnp.ones(x.shape, bool) if mask is None else mask
    return jnp.sum(jnp.where(mask, x, 0.0)) / jnp.maximum(jnp.sum(mask), 1)

  return dict(q=mean(q), returns=mean(returns), bias=mean(q - returns),
              correlation=_correlation(q, returns),
              policy_action_gap=mean(unflat(here["value"] + here["penalty"]) - q),
              bootstrap_weight=mean(weights), count=jnp.asarray(q.size),
              early_q=mean(q, early), early_returns=mean(returns, early),
              early_bias=mean(q - returns, early), early_count=jnp.sum(early),
              early_monte_carlo=mean(returns - bootstrapped, early),
              early_bootstrap_weight=mean(weights, early))


def analyze_online_run(workdir: str, window_fraction: float = 0.1) -> dict[str, Any]:
  """Checks the critic of the online run in `workdir` at its newest checkpoint, every seed.

  The window is the newest `window_fraction` of each env's stored steps. Writes and returns
  `{"env_steps": per seed (the seeds step in lockstep), "window_steps_per_env": ...,
  "gamma": ..., "early_weight": ..., "seeds": {seed: stats}}` (stats as `critic_bias`, floats)
  to `<workdir>/analysis/critic_bias.json`.
  """
  if not 0.0 < window_fraction <= 1.0:
    raise configs.ConfigError(f"--critic_window must be in (0, 1], got {window_fraction}")
  run = runs.load_online_run_with_agent(workdir)
  if run.agent.evaluate is None:
    raise NoCriticError(f"the online run in {workdir} ({run.config.transfer.method}) has no "
                        "critic to check: its agent does not provide OnlineAgent.evaluate")
  gamma = float(run.config.transfer.agent.discount)
  replay = run.state.replay
  window = max(1, int(round(window_fraction * stored_steps(replay))))
  experience = newest_steps(replay, window)
  keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(run.config.transfer.seeds))
  stats = jax.jit(jax.vmap(lambda a, e, k: critic_bias(run.agent, a, e, gamma, k)))(
      run.state.agent, experience, keys)
  stats = jax.tree.map(np.asarray, stats)
  result = {
      "env_steps": int(np.asarray(run.state.env_steps)[0]), "gamma": gamma,
      "window_steps_per_env": window, "early_weight": EARLY_WEIGHT,
      "seeds": {str(seed): {k: float(v[i]) for k, v in stats.items()}
                for i, seed in enumerate(run.config.transfer.seeds)}}
  out_dir = os.path.join(workdir, ANALYSIS_DIR)
  os.makedirs(out_dir, exist_ok=True)
  atomic_write_json(os.path.join(out_dir, CRITIC_BIAS_FILE), result)
  for seed, s in result["seeds"].items():
    logging.info("seed %s: Q %.1f vs return %.1f (bias %.1f, bootstrap weight %.2f, "
                 "correlation %.2f, policy action gap %.1f); early states: Q %.1f vs %.1f (%.1f "
                 "of it Monte Carlo, weight %.2f)", seed, s["q"], s["returns"], s["bias"],
                 s["bootstrap_weight"], s["correlation"], s["policy_action_gap"], s["early_q"],
                 s["early_returns"], s["early_monte_carlo"], s["early_bootstrap_weight"])
  return result

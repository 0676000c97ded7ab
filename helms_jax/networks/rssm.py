"""Recurrent state-space model (Dreamer v1's RSSM, Hafner et al. 2019/2020) as a linen cell.

State: a deterministic GRU state h [D] and a stochastic Gaussian sample s [S]. One step:

  h_t = GRU(h_{t-1}, dense([s_{t-1}, a_{t-1}]))
  prior     p(s_t | h_t)        = N(mean, std) from an MLP of h_t        (imagination)
  posterior q(s_t | h_t, e_t)   = N(mean, std) from an MLP of [h_t, e_t] (e_t: embedded obs)

`RSSMCell` holds the parameters and defines one step (`prior_step`, `posterior_step`); time is
a `lax.scan` in `observe` / `imagine`, pure functions of the cell's params. Defaults are Dreamer
v1's: D = 200, S = 30, hidden 400, std floor 0.1. Features for heads are [h, s].
"""

from __future__ import annotations

from typing import Callable

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp


@flax.struct.dataclass
class RSSMState:
  """deter: [..., D]; stoch: [..., S]."""
  deter: jax.Array
  stoch: jax.Array

  @property
  def features(self) -> jax.Array:
    """[..., D + S]: what the decoder, reward, value and policy heads read."""
    return jnp.concatenate([self.deter, self.stoch], axis=-1)


class RSSMCell(nn.Module):
  """One RSSM step (module doc). Stats are (mean [..., S], std [..., S])."""
  deter_size: int = 200
  stoch_size: int = 30
  hidden_size: int = 400
  min_std: float = 0.1

  def setup(self):
    self.img_in = nn.Dense(self.hidden_size)
    self.gru = nn.GRUCell(features=self.deter_size)
    self.img_hidden = nn.Dense(self.hidden_size)
    self.img_stats = nn.Dense(2 * self.stoch_size)
    self.obs_hidden = nn.Dense(self.hidden_size)
    self.obs_stats = nn.Dense(2 * self.stoch_size)

  def initial_state(self, batch_shape: tuple[int, ...] = ()) -> RSSMState:
    return RSSMState(deter=jnp.zeros(batch_shape + (self.deter_size,)),
                     stoch=jnp.zeros(batch_shape + (self.stoch_size,)))

  def _stats(self, x):
    mean, raw = jnp.split(x, 2, axis=-1)
    return mean, jax.nn.softplus(raw) + self.min_std

  def _deter(self, state: RSSMState, action: jax.Array) -> jax.Array:
    x = nn.elu(self.img_in(jnp.concatenate([state.stoch, action], axis=-1)))
    deter, _ = self.gru(state.deter, x)
    return deter

  def prior_step(self, state: RSSMState, action: jax.Array, key: jax.Array):
    """`(state, action [..., A], key) -> ((mean, std), next state)` with s ~ the prior."""
    deter = self._deter(state, action)
    mean, std = self._stats(self.img_stats(nn.elu(self.img_hidden(deter))))
    stoch = mean + std * jax.random.normal(key, mean.shape, mean.dtype)
    return (mean, std), RSSMState(deter=deter, stoch=stoch)

  def posterior_step(self, state: RSSMState, action: jax.Array, embed: jax.Array,
                     key: jax.Array):
    """`(state, action, embed [..., E], key) -> (posterior stats, prior stats, next state)`
    with s ~ the posterior."""
    deter = self._deter(state, action)
    prior = self._stats(self.img_stats(nn.elu(self.img_hidden(deter))))
    mean, std = self._stats(self.obs_stats(nn.elu(self.obs_hidden(
        jnp.concatenate([deter, embed], axis=-1)))))
    stoch = mean + std * jax.random.normal(key, mean.shape, mean.dtype)
    return (mean, std), prior, RSSMState(deter=deter, stoch=stoch)

  def __call__(self, state: RSSMState, action: jax.Array, embed: jax.Array, key: jax.Array):
    """Initialises every parameter (a posterior step uses them all)."""
    return self.posterior_step(state, action, embed, key)


def observe(cell: RSSMCell, params, embeds: jax.Array, actions: jax.Array, key: jax.Array,
            init: RSSMState, resets: jax.Array | None = None):
  """Filters a sequence: `embeds [T, ..., E]`, `actions [T, ..., A]` (a_{t-1} before e_t).

  `resets [T, ...]` (optional, bool): an episode starts at step t, so the state and the action
  entering it are zeroed first (a replayed sequence may cross episode boundaries).
  Returns (posterior stats ([T, ..., S],) * 2, prior stats, states RSSMState [T, ...]).
  """
  if embeds.shape[0] != actions.shape[0]:
    raise ValueError(f"embeds and actions need the same time length, got {embeds.shape} and "
                     f"{actions.shape}")
  if resets is None:
    resets = jnp.zeros(embeds.shape[:-1], bool)

  def step(state, inputs):
    embed, action, reset, k = inputs
    keep = 1.0 - reset.astype(embed.dtype)[..., None]
    state = jax.tree.map(lambda x: x * keep, state)
    post, prior, state = cell.apply(params, state, action * keep, embed, k,
                                    method="posterior_step")
    return state, (post, prior, state)

  keys = jax.random.split(key, embeds.shape[0])
  _, (post, prior, states) = jax.lax.scan(step, init, (embeds, actions, resets, keys))
  return post, prior, states


def imagine(cell: RSSMCell, params, policy: Callable[[RSSMState, jax.Array], jax.Array],
            init: RSSMState, horizon: int, key: jax.Array):
  """Rolls the prior forward `horizon` steps with `action = policy(state, key)`.

  Returns (states RSSMState [H, ...] after each step, actions [H, ..., A]).
  """
  def step(state, k):
    act_key, step_key = jax.random.split(k)
    action = policy(state, act_key)
    _, state = cell.apply(params, state, action, step_key, method="prior_step")
    return state, (state, action)

  _, (states, actions) = jax.lax.scan(step, init, jax.random.split(key, horizon))
  return states, actions

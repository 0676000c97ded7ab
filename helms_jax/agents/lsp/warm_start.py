"""Task transfer for LSP / Dreamer: start a new task from a source-task run's agent, optionally
with the source replay relabelled by the new task's reward (LSP section 5.3).

The source run is a finished online run (`<source>/transfer/checkpoints`, seeds stacked on
[S]); target seed i starts from source seed i's agent (world model, actor, value, skill
predictor and their optimiser states). With `relabel`, the target replay buffer starts as the
source buffer with every stored transition rewritten by the target task's
`relabel(observation, action, next_observation, key) -> (observation, next_observation,
reward)` (the locomotion tasks provide it: goal tasks draw one goal per source episode), so the
reward head learns the new task from the old data before new data arrives.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from helms_jax.training.checkpoint import tree_mismatches
from helms_jax.training.online_loop import OnlineState

Relabel = Callable[[jax.Array, jax.Array, jax.Array, jax.Array], tuple]


def relabel_replay(replay_state, relabel: Relabel, key: jax.Array):
  """The flashbax trajectory-buffer state of ONE seed (experience leaves [N, T, ...]) with every
  transition relabelled; one relabelling key per (stream, episode), so a goal task keeps one
  goal for a whole source episode. `relabel` receives the stored agent action (for a planning
  agent the env action followed by the skill distribution: `from_source_run` passes the env
  its first A entries)."""
  experience = replay_state.experience
  ends = experience.end  # [N, T]
  episode = jnp.cumsum(ends, axis=1) - ends  # the episode index of each step within its stream

  def stream_keys(stream, episodes):
    stream_key = jax.random.fold_in(key, stream)
    return jax.vmap(lambda e: jax.random.fold_in(stream_key, e))(episodes.astype(jnp.int32))

  keys = jax.vmap(stream_keys)(jnp.arange(ends.shape[0]), episode)  # [N, T, 2]
  obs, next_obs, reward = jax.vmap(jax.vmap(relabel))(
      experience.observation, experience.agent_action, experience.next_observation, keys)
  return replay_state.replace(experience=experience.replace(
      observation=obs, next_observation=next_obs, reward=reward.astype(experience.reward.dtype)))


def make_warm_start(source: OnlineState, *, relabel: Relabel | None, key: jax.Array):
  """`warm_start(target stacked OnlineState) -> state` for `train_online` (module doc).

  Raises ValueError naming the mismatch when the seed counts, the agent's parameter shapes or
  (with relabelling) the replay layouts of the source and target runs differ.
  """
  def warm_start(target: OnlineState) -> OnlineState:
    num_source = int(np.shape(source.env_steps)[0])
    num_target = int(np.shape(target.env_steps)[0])
    if num_source != num_target:
      raise ValueError(f"transfer.source_dir holds {num_source} seeds but this run trains "
                       f"{num_target}: target seed i starts from source seed i, so use as many")
    bad = tree_mismatches(source.agent, target.agent, "source", "target")
    if bad:
      raise ValueError("the source run's agent does not fit this agent config (transfer needs "
                       "the same networks and observation/action sizes):\n  " +
                       "\n  ".join(bad[:10]))
    state = target.replace(agent=source.agent)
    if relabel is not None:
      bad = tree_mismatches(source.replay, target.replay, "source", "target")
      if bad:
        raise ValueError("transfer.relabel needs the source run's replay layout (the same "
                         "loop.num_envs, loop.replay_capacity and observation size):\n  " +
                         "\n  ".join(bad[:10]))
      keys = jax.random.split(key, num_target)
      replay = jax.jit(jax.vmap(lambda r, k: relabel_replay(r, relabel, k)))(source.replay, keys)
      state = state.replace(replay=replay)
    return state

  return warm_start


def from_source_run(config, env, source: OnlineState):
  """A `Method.warm_start`: the warm start of `config.transfer` from the source run's stacked
  state `source` (`transfer.source_dir`), relabelled by `env.relabel` with `transfer.relabel`."""
  relabel = None
  if config.transfer.get("relabel", False):
    env_relabel = getattr(env, "relabel", None)
    if env_relabel is None:
      raise ValueError(f"transfer.relabel: env {config.env.name!r} has no relabel function "
                       "(its tasks cannot recompute rewards of old data)")
    action_size = env.action_size

    def env_action_relabel(observation, agent_action, next_observation, key):
      # A planning agent stores its skill distribution after the env action (make_agent).
      return env_relabel(observation, agent_action[..., :action_size], next_observation, key)
    relabel = env_action_relabel
  return make_warm_start(source, relabel=relabel, key=jax.random.PRNGKey(config.seed + 7919))

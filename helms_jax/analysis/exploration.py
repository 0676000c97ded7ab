"""Zero-shot exploration (HeLMS paper, Table 1): how the policies RL starts from explore.

Each policy is rolled out for `num_episodes` episodes on the same reset keys; per policy:
  * mean ± std over episodes of the episode return under the dense, the staged (and the sparse)
    reward, all from one rollout: `RewardVariantsWrapper` puts the env's
    `reward_variants(state)` of the state after every step into `info['reward_<type>']`, which
    `envs.rollout` collects per step (zeroed on padded steps), so a return is the sum over the
    episode's steps exactly as `Trajectory.reward` sums for an env built with that reward type;
  * state coverage: for each coverage group (the env's `coverage_groups()`, e.g. stacking's arm
    joints, grasp state and object positions), the variance over an episode's time steps of each
    selected observation entry, averaged over the entries, then mean over episodes
    (`state_coverage`).

Episodes: batch b (of `ceil(num_episodes / batch_size)`) uses the rollout key
`jax.random.fold_in(key, b)` for every policy; the last batch's surplus episodes are dropped, so
every batch has `batch_size` envs and each policy function compiles one rollout. Policies that
share a `policy_fn` (and `policy_init`) and differ only in `params` share that compilation.

`exploration.json` (`write_exploration`): `{"rows": [row, ...], **extra}` with rows
`{"method", "dense_return", "dense_return_std", "staged_return", "staged_return_std",
"sparse_return", "sparse_return_std", "joint_variance", "grasp_variance", "object_variance",
"episode_length", "num_episodes"}` (read by `analysis.run_curves.load_exploration`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from typing import Any, Callable, Mapping, Sequence

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from helms_jax.envs import acting
from helms_jax.io import atomic_write_json, json_safe
from helms_jax.envs.base import Env, ObservationGroups, State, Wrapper

__all__ = ["ExplorationPolicy", "RewardVariantsWrapper", "coverage_indices", "episode_coverage",
           "state_coverage", "episode_statistics", "explore", "write_exploration"]

REWARD_TYPES = ("dense", "staged", "sparse")
# Coverage groups reported as `<name>_variance` (others an env defines are reported too).
COVERAGE_NAMES = ("joint", "grasp", "object")


@dataclasses.dataclass(frozen=True)
class ExplorationPolicy:
  """A policy to roll out, in the form `envs.rollout` takes.

  policy_fn: `(params, obs, key) -> action`, or `(params, obs, key, pstate) -> (action, pstate)`
    with `policy_init`; without params (`params=None`) the same without the first argument.
    Hashable (a module-level function or a `functools.partial` of one).
  params: pytree passed as `policy_params` (traced: new params reuse the compiled rollout).
  policy_init: optional `(key) -> pstate` for a policy with memory.
  """
  name: str
  policy_fn: Callable[..., Any]
  params: Any
  policy_init: Callable[[jax.Array], Any] | None = None


class RewardVariantsWrapper(Wrapper):
  """Adds `info['reward_<type>']` for every reward type to the state after each step.

  The values are `env.reward_variants(next_state)` of the (possibly wrapped) env, i.e. the
  reward that step would have had under each type; at reset they are 0 (like `state.reward`).
  Put it outermost, around the time-limited env. The wrapped env must not repeat actions
  (`action_repeat` > 1 sums rewards over repeats, which the last state's rewards cannot give).
  """

  def __init__(self, env: Env):
    super().__init__(env)
    if not callable(getattr(env, "reward_variants", None)):
      raise TypeError(f"{env!r} has no reward_variants(state); exploration needs the rewards of "
                      "every type from one rollout (see Stacking.reward_variants)")
    repeat = int(getattr(env, "action_repeat", 1))
    if repeat != 1:
      raise ValueError(f"RewardVariantsWrapper needs action_repeat == 1, got {repeat}: the "
                       "rewards of repeated physics steps are summed inside the episode wrapper")

  def _with_variants(self, state: State, variants: Mapping[str, jax.Array]) -> State:
    extra = {f"reward_{k}": jnp.asarray(v, jnp.float32) for k, v in variants.items()}
    return state.replace(info={**state.info, **extra})

  def reset(self, rng: jax.Array) -> State:
    state = self.env.reset(rng)
    # Same keys as after a step (the pytree structure must not change); values unused.
    return self._with_variants(
        state, jax.tree.map(jnp.zeros_like, self.env.reward_variants(state)))

  def step(self, state: State, action: jax.Array) -> State:
    nstate = self.env.step(state, action)
    return self._with_variants(nstate, self.env.reward_variants(nstate))


def coverage_indices(observation_groups: ObservationGroups,
                     coverage_groups: Mapping[str, tuple[str, Sequence[int]]]
                     ) -> dict[str, np.ndarray]:
  """Flat observation indices of each coverage group.

  Args:
    observation_groups: the env's observation layout (`env.observation_groups`).
    coverage_groups: name -> (observation group, offsets within that group), e.g.
      `Stacking.coverage_groups()`.
  Returns:
    name -> int array of indices into the flat observation.
  Raises:
    ValueError: a group missing from the layout or an offset outside its group.
  """
  out = {}
  for name, (group, offsets) in coverage_groups.items():
    if group not in observation_groups:
      raise ValueError(f"coverage group {name!r} reads observation group {group!r}, which the "
                       f"observation does not have (groups: {', '.join(observation_groups)})")
    start, stop = observation_groups[group]
    offsets = np.asarray(offsets, np.int64)
    if offsets.size == 0 or offsets.min() < 0 or offsets.max() >= stop - start:
      raise ValueError(f"coverage group {name!r}: offsets {offsets.tolist()} must be non-empty "
                       f"and within observation group {group!r} of size {stop - start}")
    out[name] = start + offsets
  return out


def _observation_mask(valid: np.ndarray) -> np.ndarray:
  """[N, T] step validity -> [N, T+1] observation validity.

  Observation 0 (the reset state) is always part of the episode; observation t+1 (the state
  after step t) is when step t is valid. An episode of L steps thus counts its L+1 states;
  padded observations (which repeat the last state) are excluded.
  """
  valid = np.asarray(valid) > 0
  return np.concatenate([np.ones_like(valid[:, :1]), valid], axis=1)


def episode_coverage(observation: np.ndarray, valid: np.ndarray,
                     indices: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
  """Per-episode coverage: name -> [N] variance over the episode's states, mean over entries.

  Args:
    observation: [N, T+1, obs_dim] (`Trajectory.observation`).
    valid: [N, T] (`Trajectory.valid`); see `_observation_mask` for which states count.
    indices: name -> flat observation indices (`coverage_indices`).
  Returns:
    name -> [N] float64: for each episode, the population variance (ddof 0) over its valid
    states of each selected entry, averaged over the entries.
  """
  observation = np.asarray(observation, np.float64)
  mask = _observation_mask(valid)
  if observation.ndim != 3 or mask.shape != observation.shape[:2]:
    raise ValueError(f"need observation [N, T+1, obs] and valid [N, T], got "
                     f"{observation.shape} and {np.shape(valid)}")
  m = mask[..., None].astype(np.float64)  # [N, T+1, 1]
  count = m.sum(axis=1)  # [N, 1]
  out = {}
  for name, idx in indices.items():
    x = observation[..., np.asarray(idx)]  # [N, T+1, D]
    mean = (m * x).sum(axis=1) / count
    var = (m * (x - mean[:, None]) ** 2).sum(axis=1) / count  # [N, D]
    out[name] = var.mean(axis=-1)
  return out


def state_coverage(observation: np.ndarray, valid: np.ndarray,
                   observation_groups: ObservationGroups,
                   coverage_groups: Mapping[str, tuple[str, Sequence[int]]]
                   ) -> dict[str, float]:
  """State coverage: name -> mean over episodes of `episode_coverage` (see there for shapes).

  `coverage_groups` as in `coverage_indices` (stacking: `Stacking.coverage_groups()`: arm
  joints, grasp state, object positions).
  """
  per_episode = episode_coverage(observation, valid,
                                 coverage_indices(observation_groups, coverage_groups))
  return {name: float(v.mean()) for name, v in per_episode.items()}


def episode_statistics(traj: acting.Trajectory, indices: Mapping[str, np.ndarray]
                       ) -> dict[str, np.ndarray]:
  """Per-episode numbers of a rollout of a `RewardVariantsWrapper` env: [N] arrays
  `<type>_return` (sum of `info['reward_<type>']` over the episode), `<name>_variance`
  (`episode_coverage`) and `episode_length`."""
  valid = np.asarray(traj.valid)
  out = {f"{k[len('reward_'):]}_return": np.asarray(v, np.float64).sum(axis=1)
         for k, v in traj.info.items() if k.startswith("reward_")}
  if not out:
    raise ValueError("the trajectory has no info['reward_<type>'] entries: roll out an env "
                     "wrapped in RewardVariantsWrapper")
  coverage = episode_coverage(np.asarray(traj.observation), valid, indices)
  out.update({f"{name}_variance": v for name, v in coverage.items()})
  out["episode_length"] = (valid > 0).sum(axis=1).astype(np.float64)
  return out


def _summarise(name: str, per_episode: Mapping[str, np.ndarray]) -> dict[str, Any]:
  row: dict[str, Any] = {"method": name}
  for k, v in per_episode.items():
    row[k] = float(np.mean(v))
    if k.endswith("_return"):
      row[f"{k}_std"] = float(np.std(v))
  row["num_episodes"] = int(len(per_episode["episode_length"]))
  return row


def explore(env: Env, policies: Sequence[ExplorationPolicy], *, num_episodes: int,
            num_steps: int, batch_size: int, key: jax.Array,
            coverage_groups: Mapping[str, tuple[str, Sequence[int]]] | None = None
            ) -> list[dict[str, Any]]:
  """Rolls out each policy for `num_episodes` episodes; one row of statistics per policy.

  Args:
    env: an unbatched, non-auto-resetting env with `reward_variants(state)` (e.g.
      `EpisodeWrapper(Stacking(...))`), or one already in a `RewardVariantsWrapper` (reuse the
      same wrapped instance to share compilations across calls).
    policies: the policies, in row order (names must be unique).
    num_episodes: episodes per policy.
    num_steps: maximum episode length T (the env's time limit).
    batch_size: envs per rollout (lowered to `num_episodes` if larger).
    key: PRNG key; batch b uses `jax.random.fold_in(key, b)` for every policy (same resets).
    coverage_groups: name -> (observation group, offsets); default `env.coverage_groups()`.
  Returns:
    rows (see the module docstring): mean (and std over episodes) of the `<type>_return`s,
    `<name>_variance` per coverage group, mean `episode_length`, `num_episodes`.
  """
  names = [p.name for p in policies]
  if not names:
    raise ValueError("explore needs at least one policy")
  if len(set(names)) != len(names):
    raise ValueError(f"policy names must be unique, got {names}")
  if int(num_episodes) <= 0 or int(num_steps) <= 0 or int(batch_size) <= 0:
    raise ValueError(f"num_episodes, num_steps and batch_size must be positive, got "
                     f"{num_episodes}, {num_steps}, {batch_size}")
  wrapped = env if isinstance(env, RewardVariantsWrapper) else RewardVariantsWrapper(env)
  if coverage_groups is None:
    if not callable(getattr(env, "coverage_groups", None)):
      raise TypeError(f"{env!r} has no coverage_groups(); pass coverage_groups=")
    coverage_groups = env.coverage_groups()
  indices = coverage_indices(wrapped.observation_groups, coverage_groups)
  num_episodes, batch_size = int(num_episodes), min(int(batch_size), int(num_episodes))
  num_batches = math.ceil(num_episodes / batch_size)
  rows = []
  for policy in policies:
    start = time.time()
    batches = []
    for b in range(num_batches):
      traj = acting.rollout(wrapped, policy.policy_fn, jax.random.fold_in(key, b), batch_size,
                            int(num_steps), policy_params=policy.params,
                            policy_init=policy.policy_init)
      batches.append(episode_statistics(jax.device_get(traj), indices))
    per_episode = {k: np.concatenate([s[k] for s in batches])[:num_episodes] for k in batches[0]}
    rows.append(_summarise(policy.name, per_episode))
    logging.info("Exploration of %s (%d episodes, %.1f s): %s", policy.name, num_episodes,
                 time.time() - start, json.dumps(rows[-1]))
  return rows


def write_exploration(path: str, rows: Sequence[Mapping[str, Any]],
                      extra: Mapping[str, Any] | None = None) -> None:
  """Writes `{"rows": rows, **extra}` to `path` as JSON, atomically (NaN -> null)."""
  if "rows" in (extra or {}):
    raise ValueError("extra must not contain 'rows'")
  value = {"rows": [dict(r) for r in rows], **dict(extra or {})}
  atomic_write_json(path, json_safe(value))

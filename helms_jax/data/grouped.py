"""Label-grouped window sampling: windows of every behaviour, composites with their subskills.

A dataset whose episodes carry a behaviour label (`episode/task_id`, the index of the episode's
behaviour in `Behaviours.names`) is split into groups of episodes, one per behaviour. Some
behaviours are subskills, the others composites of several subskills (`forward+turn`). The
concurrent-skill CVAE (`agents/concurrent`) learns from batches of
  * windows of training episodes of the subskills (and of the composites with
    `reconstruct_composites`),
  * composite windows, each with one window of every subskill (the composite's membership mask
    selects the ones it joins),
  * fixed held-out windows: start 0 of the first `eval_episodes` episodes of each composite,
    each with the first window of a held-out episode of every subskill.

Windows come from the same `WindowTable` and gather as `WindowSampler`'s (`data/sampler.py`),
so episodes may have any lengths and windows never cross episodes. Only episodes with at least
one window of W steps take part ("usable"). A draw picks an episode of the group uniformly (each
demonstration counts once, whatever its length) and then a start uniformly among that episode's
valid windows; with equal-length episodes this is uniform over the group's windows.

`grouped_sample_fn` returns `(sample_fn(data, key) -> batch, data)` like
`WindowSampler.loop_sample_fn`: `sample_fn` is pure and jittable, and `data` is a pytree of
numpy arrays the offline loop places on its devices (or that `sample_fn` reads on the host:
the same key gives the same batch either way).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from helms_jax.data import format as fmt
from helms_jax.data.sampler import (WindowTable, check_index_range, episode_windows,
                                    gather_windows, window_table)

# Fields the CVAE's windows hold (W steps: W + 1 observations, W actions; never clamped).
_KINDS = {"observation": fmt.OBS, "action": fmt.STEP}
_LOOKAHEAD = 1


class Behaviours(NamedTuple):
  """The behaviour structure of a labelled dataset (label value i is behaviour `names[i]`)."""
  names: tuple[str, ...]
  subskills: tuple[int, ...]  # behaviour ids of the K subskills
  composites: tuple[int, ...]  # behaviour ids of the C composites
  members: np.ndarray  # [C, K] float32, 1 where subskill k is part of composite c

  @property
  def composite_names(self) -> tuple[str, ...]:
    return tuple(self.names[c] for c in self.composites)


def episodes_by_label(dataset, behaviours: Behaviours, window: int, label: str = "task_id"
                      ) -> list[np.ndarray]:
  """Per behaviour i, the ids ``[n_i]`` (ascending) of its usable episodes: `episode/<label>`
  equals i and the episode has at least `window` steps.

  Raises:
    WindowError: the dataset has no `episode/<label>` field, or a label has no name.
  """
  field = f"episode/{label}"
  if field not in dataset.fields:
    raise fmt.WindowError(
        f"label-grouped sampling needs per-episode labels {field!r} in the dataset (written when "
        f"the env reports info[{label!r}], as ant_skills does)")
  labels = np.asarray(dataset.fields[field])
  if labels.size and (labels.min() < 0 or labels.max() >= len(behaviours.names)):
    raise fmt.WindowError(f"dataset {field} {labels.max()} has no name in the behaviours "
                          f"{behaviours.names}")
  _, count = episode_windows(dataset.episode_length, window)
  return [np.flatnonzero((labels == i) & (count > 0)) for i in range(len(behaviours.names))]


def split_episodes(episodes: list[np.ndarray], behaviours: Behaviours, eval_episodes: int,
                   composite_train_episodes: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
  """Per behaviour, (training episode ids, held-out episode ids) of `episodes_by_label`'s lists:
  the first `eval_episodes` of each behaviour are held out; composites keep their next
  `composite_train_episodes` for training (0: all the others).

  Raises:
    WindowError: a behaviour has fewer than eval_episodes + 1 usable episodes.
  """
  train, held = [], []
  for i, (name, ids) in enumerate(zip(behaviours.names, episodes)):
    need = eval_episodes + 1
    if len(ids) < need:
      raise fmt.WindowError(
          f"the dataset has {len(ids)} episodes of behaviour {name!r} (task_id {i}) with a "
          f"window; need at least {need} (eval_episodes={eval_episodes} held out + 1)")
    rest = ids[eval_episodes:]
    if i in behaviours.composites and composite_train_episodes > 0:
      rest = rest[:composite_train_episodes]
    train.append(rest)
    held.append(ids[:eval_episodes])
  return train, held


def window_data(dataset, window: int) -> dict[str, Any]:
  """The numeric arrays, int32 `WindowTable` and per-episode window rows a grouped sampler
  gathers from: {'arrays': {observation, action}, 'table', 'first_window' [E], 'num_starts'
  [E]} (numpy)."""
  check_index_range(dataset.episode_length)
  first, count = episode_windows(dataset.episode_length, window)
  table = window_table(dataset.episode_length, window)
  return {"arrays": {name: np.asarray(dataset.fields[name]) for name in _KINDS},
          "table": WindowTable(*(np.asarray(a, np.int32) for a in table)),
          "first_window": first.astype(np.int32), "num_starts": count.astype(np.int32)}


def first_windows(data: dict[str, Any], episodes, window: int) -> dict[str, jax.Array]:
  """The start-0 windows of `episodes [...]` (pure, jittable): `observation [..., W+1, O]`,
  `action [..., W, A]` (and `gather_windows`' bookkeeping fields)."""
  rows = jnp.asarray(data["first_window"])[episodes]
  return gather_windows(data["arrays"], data["table"], rows, window, _LOOKAHEAD, _KINDS)


def random_windows(data: dict[str, Any], episodes, key: jax.Array, window: int
                   ) -> dict[str, jax.Array]:
  """One window of each of `episodes [...]` at a uniform valid start (pure, jittable): fields
  as `first_windows`."""
  episodes = jnp.asarray(episodes)
  start = jax.random.randint(key, episodes.shape, 0, jnp.asarray(data["num_starts"])[episodes])
  rows = jnp.asarray(data["first_window"])[episodes] + start
  return gather_windows(data["arrays"], data["table"], rows, window, _LOOKAHEAD, _KINDS)


def grouped_sample_fn(dataset, behaviours: Behaviours, window: int, batch_size: int,
                      composite_batch: int, eval_episodes: int, composite_train_episodes: int,
                      label: str = "task_id", reconstruct_composites: bool = True
                      ) -> tuple[Callable[[Any, jax.Array], dict], dict]:
  """`(sample_fn(data, key) -> batch, data)`: the label-grouped batches (module docstring).

  Args:
    dataset: a loaded `Dataset` (or anything with `episode_length [E]` and `fields` holding
      `observation`, `action` and `episode/<label>` [E] ints indexing `behaviours.names`).
    behaviours: the behaviour structure.
    window: T, steps per window.
    batch_size: B; composite_batch: Bc.
    eval_episodes, composite_train_episodes: the split (`split_episodes`).
    reconstruct_composites: whether the `states` windows include the composites' training
      episodes (else subskills only; composites then appear only as `composite_states`).

  Returns:
    sample_fn: pure and jittable; its batch:
      states [B, T+1, O], actions [B, T, A]     windows of training episodes (`all_train`)
      composite_states [Bc, T+1, O], composite [Bc] int32 (index into behaviours.composites),
      subskill_states [Bc, K, T+1, O]           a training window of each of the K subskills
      eval_states [E, T+1, O], eval_composite [E] int32,
      eval_subskill_states [E, K, T+1, O]       the held-out windows (E = C * eval_episodes)
    data: numpy arrays: `window_data`'s, plus `all_train [N]` (the training episodes the
      `states` windows come from: every behaviour's, or the subskills' only),
      `by_behaviour [NB, max_n]` (each behaviour's training episodes, repeated to max_n),
      `counts [NB]`, `eval_episodes [E]`, `eval_composite [E]`, `eval_subskill_episodes [E, K]`.

  Raises:
    WindowError: no labels, unnamed labels, a window longer than every episode, or too few
      usable episodes of a behaviour.
  """
  window = int(window)
  train, held = split_episodes(episodes_by_label(dataset, behaviours, window, label),
                               behaviours, int(eval_episodes), int(composite_train_episodes))
  max_n = max(len(t) for t in train)
  # Fixed held-out windows: each composite's held-out episodes with, per episode, the e-th
  # held-out episode of every subskill.
  eval_ep = np.concatenate([held[c] for c in behaviours.composites])
  eval_c = np.concatenate([np.full(len(held[c]), j) for j, c in enumerate(behaviours.composites)])
  eval_sub = np.stack([np.resize(held[k], len(eval_ep)) for k in behaviours.subskills], axis=1)
  data = {
      **window_data(dataset, window),
      "all_train": np.concatenate(
          train if reconstruct_composites else [train[k] for k in behaviours.subskills]
      ).astype(np.int32),
      "by_behaviour": np.stack([np.resize(t, max_n) for t in train]).astype(np.int32),
      "counts": np.array([len(t) for t in train], np.int32),
      "eval_episodes": eval_ep.astype(np.int32), "eval_composite": eval_c.astype(np.int32),
      "eval_subskill_episodes": eval_sub.astype(np.int32),
  }
  composites = np.asarray(behaviours.composites, np.int32)
  subskills = np.asarray(behaviours.subskills, np.int32)
  bc, num_k = int(composite_batch), len(subskills)

  def pick(data, key, behaviour):
    """A random training episode of each `behaviour [...]`."""
    u = jax.random.uniform(key, behaviour.shape)
    slot = jnp.floor(u * data["counts"][behaviour]).astype(jnp.int32)
    return data["by_behaviour"][behaviour, slot]

  def sample_fn(data, key):
    data = jax.tree_util.tree_map(jnp.asarray, data)  # numpy or device arrays
    keys = jax.random.split(key, 7)
    n_train = data["all_train"].shape[0]
    ep = data["all_train"][jax.random.randint(keys[0], (batch_size,), 0, n_train)]
    composite = jax.random.randint(keys[2], (bc,), 0, len(composites))
    ep_c = pick(data, keys[3], jnp.asarray(composites)[composite])
    ep_k = pick(data, keys[4], jnp.broadcast_to(jnp.asarray(subskills), (bc, num_k)))
    train_windows = random_windows(data, ep, keys[1], window)
    return {
        "states": train_windows["observation"], "actions": train_windows["action"],
        "composite_states": random_windows(data, ep_c, keys[5], window)["observation"],
        "composite": composite,
        "subskill_states": random_windows(data, ep_k, keys[6], window)["observation"],
        "eval_states": first_windows(data, data["eval_episodes"], window)["observation"],
        "eval_composite": data["eval_composite"],
        "eval_subskill_states": first_windows(data, data["eval_subskill_episodes"],
                                              window)["observation"],
    }

  return sample_fn, data


__all__ = ["Behaviours", "episodes_by_label", "first_windows", "grouped_sample_fn",
           "random_windows", "split_episodes", "window_data"]

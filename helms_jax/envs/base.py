"""Environment protocol: brax's `Env`/`State`/`Wrapper`, plus observation groups.

Our environments implement brax's `Env` interface exactly (`reset(rng) -> State`,
`step(state, action) -> State`, `observation_size`, `action_size`, `backend`) and use
brax's `State` (pipeline_state, obs, reward, done, metrics, info), so brax's own trainers
(`brax.training.agents.ppo.train`, `sac.train`) run on them unchanged.

On top of that every helms_jax env exposes `observation_groups: ObservationGroups`, the
named layout of its flat observation vector (e.g. `proprio`, `objects`, `goal`), used for
information asymmetry (a low-level policy sees `proprio` only) and by the dataset code.

Optional env attribute `transition_info_keys: tuple[str, ...]`: keys of `state.info` that
describe the transition just taken (e.g. `success`) rather than the episode's internal
state; `AutoResetWrapper` keeps their finishing-step values visible after an auto-reset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Iterator, Sequence, Union

from brax.envs.base import Env, State, Wrapper
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Env", "State", "Wrapper", "ObservationGroups", "GroupNames"]

GroupNames = Union[str, Sequence[str]]


class ObservationGroups(Mapping):
  """Immutable mapping `name -> (start, stop)`: named slices of a flat observation.

  Slices are half-open `[start, stop)`, non-empty, non-overlapping and lie within
  `[0, obs_size)`; they need not cover the whole vector. Iteration follows `start`
  order. Hashable, so it can be a static argument / attribute of a jitted function.

  Example:
    >>> groups = ObservationGroups.from_sizes(proprio=4, goal=2)
    >>> groups.select(obs, ("goal", "proprio"))   # obs: [..., 6] -> [..., 6]
    >>> groups.size("proprio")                     # 4
  """

  def __init__(self, groups: Mapping[str, tuple[int, int]], obs_size: int | None = None):
    """Validates and stores the layout.

    Args:
      groups: name -> (start, stop) of each group in the flat observation.
      obs_size: length of the flat observation; defaults to the largest `stop`.

    Raises:
      ValueError: empty/negative/overlapping slices, slices beyond `obs_size`, or
        non-string names.
    """
    items = []
    for name, span in dict(groups).items():
      if not isinstance(name, str) or not name:
        raise ValueError(f"observation group names must be non-empty strings, got {name!r}")
      try:
        start, stop = (int(v) for v in span)
      except (TypeError, ValueError) as e:
        raise ValueError(
            f"observation group {name!r} must be a (start, stop) pair of ints, got {span!r}") from e
      if not 0 <= start < stop:
        raise ValueError(
            f"observation group {name!r} has invalid slice [{start}, {stop}): need 0 <= start < stop")
      items.append((name, (start, stop)))
    items.sort(key=lambda kv: kv[1])
    max_stop = max((s for _, (_, s) in items), default=0)
    if obs_size is None:
      obs_size = max_stop
    obs_size = int(obs_size)
    if max_stop > obs_size:
      bad = [n for n, (_, s) in items if s > obs_size]
      raise ValueError(
          f"observation groups {bad} extend beyond the observation size {obs_size}: "
          f"{dict(items)}")
    for (n0, (_, stop0)), (n1, (start1, _)) in zip(items, items[1:]):
      if start1 < stop0:
        raise ValueError(
            f"observation groups {n0!r} {dict(items)[n0]} and {n1!r} {dict(items)[n1]} overlap")
    self._groups = dict(items)
    self._obs_size = obs_size

  @classmethod
  def from_sizes(cls, *pairs: tuple[str, int], **sizes: int) -> "ObservationGroups":
    """Contiguous groups laid out in the given order: `from_sizes(proprio=4, goal=2)`.

    Positional `(name, size)` pairs come first, then keyword ones.
    """
    groups, start = {}, 0
    for name, size in list(pairs) + list(sizes.items()):
      if name in groups:
        raise ValueError(f"duplicate observation group {name!r}")
      if int(size) <= 0:
        raise ValueError(f"observation group {name!r} must have a positive size, got {size}")
      groups[name] = (start, start + int(size))
      start += int(size)
    return cls(groups, obs_size=start)

  # Mapping interface (read-only).
  def __getitem__(self, name: str) -> tuple[int, int]:
    self._check_names((name,))
    return self._groups[name]

  def __iter__(self) -> Iterator[str]:
    return iter(self._groups)

  def __len__(self) -> int:
    return len(self._groups)

  def __hash__(self) -> int:
    return hash((tuple(self._groups.items()), self._obs_size))

  def __eq__(self, other) -> bool:
    if not isinstance(other, ObservationGroups):
      return NotImplemented
    return self._groups == other._groups and self._obs_size == other._obs_size

  def __repr__(self) -> str:
    return f"ObservationGroups({self._groups}, obs_size={self._obs_size})"

  @property
  def obs_size(self) -> int:
    """Length of the flat observation vector this layout describes."""
    return self._obs_size

  def _names(self, names: GroupNames) -> tuple[str, ...]:
    names = (names,) if isinstance(names, str) else tuple(names)
    if not names:
      raise ValueError(f"select at least one observation group; valid: {list(self._groups)}")
    self._check_names(names)
    return names

  def _check_names(self, names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in self._groups]
    if unknown:
      raise KeyError(
          f"unknown observation group(s) {unknown}; valid groups: {list(self._groups)}")

  def indices(self, names: GroupNames) -> np.ndarray:
    """Indices into the flat observation of the groups `names`, in that order: [size]."""
    names = self._names(names)
    return np.concatenate([np.arange(*self._groups[n]) for n in names]).astype(np.int32)

  def size(self, names: GroupNames) -> int:
    """Total length of the groups `names`."""
    return sum(stop - start for start, stop in (self._groups[n] for n in self._names(names)))

  def select(self, obs: jnp.ndarray, names: GroupNames) -> jnp.ndarray:
    """Concatenates the chosen groups: `obs: [..., obs_size] -> [..., size(names)]`.

    Works with any leading batch dims (and with numpy arrays).
    """
    names = self._names(names)
    if obs.shape[-1] != self._obs_size:
      raise ValueError(
          f"observation has last dim {obs.shape[-1]} but the groups describe {self._obs_size}: "
          f"obs.shape={obs.shape}, groups={self._groups}")
    parts = [obs[..., slice(*self._groups[n])] for n in names]
    if len(parts) == 1:
      return parts[0]
    if isinstance(obs, np.ndarray):
      return np.concatenate(parts, axis=-1)
    return jnp.concatenate(parts, axis=-1)

  def subset(self, names: GroupNames) -> "ObservationGroups":
    """The layout of `select(obs, names)`: the chosen groups, contiguous, in that order."""
    names = self._names(names)
    return ObservationGroups.from_sizes(*[(n, self.size(n)) for n in names])


def selected_indices(observation_groups: ObservationGroups | None, names: Sequence[str],
                     observation_size: int, config_key: str) -> np.ndarray:
  """Indices [n] int32 of the flat observation that the config entry `config_key` (a tuple of
  group `names`) selects; all of them when `names` is empty. Errors name the config key."""
  names = tuple(names)
  if not names:
    return np.arange(observation_size, dtype=np.int32)
  if observation_groups is None:
    raise ValueError(f"{config_key}={names} needs the env's observation groups (pass "
                     f"observation_groups)")
  if observation_groups.obs_size != observation_size:
    raise ValueError(f"observation groups describe {observation_groups.obs_size} observations, "
                     f"not {observation_size}")
  unknown = [n for n in names if n not in observation_groups]
  if unknown:
    raise ValueError(f"{config_key}={names}: {unknown} not in the observation groups "
                     f"{list(observation_groups)}")
  return observation_groups.indices(names)


def mjx_put_model(mj_model) -> "mjx.Model":
  """`mjx.put_model(mj_model)` on this process's first device.

  mjx places models and data on `jax.devices()[0]` by default, which in a multi-process run
  belongs to process 0, so the other processes could not build their envs. Single-process runs
  are unchanged (there the first device is the local one).
  """
  from mujoco import mjx  # pylint: disable=import-outside-toplevel  (3 s to import; MJX envs only)
  return mjx.put_model(mj_model, device=jax.local_devices()[0])


def mjx_make_data(model) -> "mjx.Data":
  """`mjx.make_data(model)` on this process's first device (see `mjx_put_model`)."""
  from mujoco import mjx  # pylint: disable=import-outside-toplevel
  return mjx.make_data(model, device=jax.local_devices()[0])

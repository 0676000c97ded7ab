"""Import D4RL-style and Minari-style HDF5 files a user already has locally.

D4RL layout (one flat table of N transitions)::

  observations [N, *obs]  actions [N, *act]  rewards [N]  terminals [N]  timeouts [N]
  optional: next_observations [N, *obs], infos/<name> [N, ...] (nested groups flattened with '/')

Episodes end at rows where ``terminals | timeouts``; rows after the last such row form a final
(unterminated) episode. D4RL stores no final observation per episode, so (``final_obs='next_row'``,
the default) episode k's final observation is the next row's observation, i.e. the observation
table is simply read through row ``end_k + 1``. CAVEAT: when the environment was reset between
episodes (e.g. D4RL MuJoCo locomotion), that next row is the *next episode's initial observation*,
not the true final observation. The last episode of the file has no next row: its last step is
dropped and its last observation used as the final one (an episode left with 0 steps is skipped).
``final_obs='drop_last'`` applies that rule to every episode (always correct, one step shorter);
``final_obs='next_observations'`` uses the file's ``next_observations`` (exact; default when
``final_obs=None`` and the dataset is present).
``discount = 1 - terminal``; ``done`` is True at each episode's last step.

Minari layout (one group per episode)::

  episode_<id>/observations [L+1, *obs]  actions [L, *act]  rewards [L]  terminations [L]
  truncations [L]  optional infos/<name> [L+1 or L, ...]

Episodes are imported in increasing id order. ``discount = 1 - termination``. Infos with L+1 rows
(Minari records the reset info first) are shifted to per-step ``info/<name>[t]`` = the info
returned by step t, i.e. rows 1..L. Dict observations are not supported.
"""

import json
import os
import re
from typing import Any, Mapping

import h5py
import numpy as np

from helms_jax.data import format as fmt
from helms_jax.data.writer import DatasetWriter

D4RL = "d4rl"
MINARI = "minari"
_D4RL_KEYS = ("observations", "actions", "rewards", "terminals", "timeouts")
# D4RL's kitchen generation script writes no `timeouts`: absent, no row is a time-limit end.
_D4RL_REQUIRED = _D4RL_KEYS[:4]
_MINARI_KEYS = ("observations", "actions", "rewards", "terminations", "truncations")
_EPISODE_RE = re.compile(r"^episode_(\d+)$")


def _collect_datasets(group: h5py.Group, prefix: str = "") -> dict[str, h5py.Dataset]:
  out = {}
  for k, v in group.items():
    if isinstance(v, h5py.Dataset):
      out[prefix + k] = v
    elif isinstance(v, h5py.Group):
      out.update(_collect_datasets(v, prefix + k + "/"))
  return out


def detect_layout(f: h5py.File, source: str = "") -> str:
  """Returns "d4rl" or "minari"; raises `LayoutError` naming the keys found otherwise."""
  keys = sorted(f.keys())
  if all(k in f and isinstance(f[k], h5py.Dataset) for k in _D4RL_REQUIRED):
    return D4RL
  if any(_EPISODE_RE.match(k) and isinstance(f[k], h5py.Group) for k in keys):
    return MINARI
  shown = keys[:20] + (["..."] if len(keys) > 20 else [])
  raise fmt.LayoutError(
      f"{source}: unrecognised HDF5 layout; top-level keys are {shown}. Expected D4RL-style "
      f"datasets {list(_D4RL_REQUIRED)} (+ optional 'timeouts') or Minari-style groups 'episode_<id>' containing "
      f"{list(_MINARI_KEYS)}")


def _field_schema(obs, act, infos: Mapping[str, np.ndarray], source: str) -> fmt.Schema:
  for name, arr in [("observations", obs), ("actions", act), *infos.items()]:
    if arr.dtype.kind not in "biuf":
      raise fmt.LayoutError(f"{source}: {name!r} has unsupported dtype {arr.dtype}")
  return fmt.Schema.create(
      observation_shape=obs.shape[1:], action_shape=act.shape[1:], observation_dtype=obs.dtype,
      action_dtype=act.dtype,
      info={k: (v.shape[1:], v.dtype) for k, v in infos.items()})


def _import_d4rl(f: h5py.File, source: str, final_obs: str | None, writer_kwargs) -> DatasetWriter:
  data = {k: f[k][()] for k in _D4RL_REQUIRED}
  n = data["observations"].shape[0]
  data["timeouts"] = f["timeouts"][()] if "timeouts" in f else np.zeros(n, bool)
  for k in _D4RL_KEYS:
    if data[k].shape[:1] != (n,):
      raise fmt.LayoutError(f"{source}: {k!r} has shape {data[k].shape}, expected {n} rows "
                            f"like 'observations'")
  infos = {k[len("infos/"):]: d[()] for k, d in _collect_datasets(f).items()
           if k.startswith("infos/")}
  for k, v in infos.items():
    if v.shape[:1] != (n,):
      raise fmt.LayoutError(f"{source}: 'infos/{k}' has shape {v.shape}, expected {n} rows")
  has_next = "next_observations" in f
  if final_obs is None:
    final_obs = "next_observations" if has_next else "next_row"
  if final_obs not in ("next_row", "drop_last", "next_observations"):
    raise fmt.DatasetError(f"final_obs must be 'next_row', 'drop_last' or 'next_observations', "
                           f"got {final_obs!r}")
  if final_obs == "next_observations" and not has_next:
    raise fmt.LayoutError(f"{source}: final_obs='next_observations' but the file has no "
                          f"'next_observations' dataset")

  terminals = data["terminals"].astype(bool)
  ends_mask = terminals | data["timeouts"].astype(bool)
  ends_mask[-1] = True  # rows after the last terminal/timeout form a final episode
  ends = np.flatnonzero(ends_mask)  # [K] inclusive last row of each episode
  starts = np.concatenate([[0], ends[:-1] + 1])
  lengths = ends - starts + 1
  if final_obs == "drop_last":
    lengths = lengths - 1
  elif final_obs == "next_row":
    lengths[-1] -= 1  # no row after the file's last row
  keep = lengths >= 1
  starts, ends, lengths = starts[keep], ends[keep], lengths[keep]
  if lengths.size == 0:
    raise fmt.DatasetError(f"{source}: no episode with at least one step")
  e = lengths.shape[0]

  # Per-step rows: start_k .. start_k + L_k - 1 of every kept episode; observation rows:
  # start_k .. start_k + L_k (the next row, or, for shortened episodes, the dropped step's obs).
  step_off = np.cumsum(lengths) - lengths
  step_rows = np.arange(int(lengths.sum())) - np.repeat(step_off, lengths) + np.repeat(
      starts, lengths)
  obs_off = step_off + np.arange(e)
  obs_rows = np.arange(int(lengths.sum()) + e) - np.repeat(obs_off, lengths + 1) + np.repeat(
      starts, lengths + 1)
  observation = data["observations"][np.minimum(obs_rows, n - 1)]
  if final_obs == "next_observations":
    observation[obs_off + lengths] = f["next_observations"][()][starts + lengths - 1]
  step_term = terminals[step_rows]
  done = np.zeros(step_rows.shape, bool)
  done[step_off + lengths - 1] = True
  arrays = {
      "observation": observation,
      "action": data["actions"][step_rows],
      "reward": data["rewards"][step_rows].astype(np.float32),
      "discount": 1.0 - step_term.astype(np.float32),
      "done": done,
  }
  for k, v in infos.items():
    arrays["info/" + k] = v[step_rows]
  schema = _field_schema(data["observations"], data["actions"], infos, source)
  writer = DatasetWriter(schema=schema, **writer_kwargs)
  if writer.num_episodes:
    raise fmt.DatasetError(f"{writer.path}: already holds {writer.num_episodes} episodes; import "
                           f"into an empty directory or pass overwrite=True")
  writer.add_concatenated(arrays, lengths)
  return writer


def _import_minari(f: h5py.File, source: str, writer_kwargs) -> DatasetWriter:
  names = sorted((k for k in f.keys() if _EPISODE_RE.match(k)),
                 key=lambda k: int(_EPISODE_RE.match(k).group(1)))
  writer = None
  for name in names:
    g = f[name]
    where = f"{source}:{name}"
    missing = [k for k in _MINARI_KEYS if k not in g]
    if missing:
      raise fmt.LayoutError(f"{where}: missing {missing}; keys found {sorted(g.keys())}")
    if not isinstance(g["observations"], h5py.Dataset):
      raise fmt.LayoutError(f"{where}: dict observations (a group) are not supported")
    obs = g["observations"][()]
    act = g["actions"][()]
    length = act.shape[0]
    if obs.shape[0] != length + 1:
      raise fmt.LayoutError(f"{where}: observations has {obs.shape[0]} rows, expected "
                            f"len(actions)+1 = {length + 1}")
    term = g["terminations"][()].astype(bool)
    trunc = g["truncations"][()].astype(bool)
    infos = {}
    if "infos" in g and isinstance(g["infos"], h5py.Group):
      for k, d in _collect_datasets(g["infos"]).items():
        v = d[()]
        if v.shape[:1] == (length + 1,):
          v = v[1:]
        elif v.shape[:1] != (length,):
          raise fmt.LayoutError(f"{where}: infos/{k} has shape {v.shape}, expected {length} or "
                                f"{length + 1} rows")
        infos[k] = v
    if length == 0:
      continue
    done = term | trunc
    done[:-1] = False  # one done per episode, at its end (the group ends the episode)
    done[-1] = True
    if writer is None:
      schema = _field_schema(obs, act, infos, where)
      writer = DatasetWriter(schema=schema, **writer_kwargs)
      if writer.num_episodes:
        raise fmt.DatasetError(f"{writer.path}: already holds {writer.num_episodes} episodes; "
                               f"import into an empty directory or pass overwrite=True")
    writer.add_episode(
        observation=obs, action=act, reward=g["rewards"][()].astype(np.float32),
        discount=1.0 - term.astype(np.float32), done=done, info=infos)
  if writer is None:
    raise fmt.DatasetError(f"{source}: no episode with at least one step")
  return writer


def import_hdf5(h5_path: str, out_dir: str, *, env_name: str | None = None,
                episodes_per_shard: int = 1000, final_obs: str | None = None,
                env_kwargs: Mapping[str, Any] | None = None, compress: bool = False,
                overwrite: bool = False) -> fmt.Manifest:
  """Converts a D4RL- or Minari-style HDF5 file into a dataset directory.

  Args:
    h5_path: the HDF5 file.
    out_dir: output dataset directory (must be empty or absent unless `overwrite`).
    env_name: recorded in the manifest; defaults to the file's ``env_name``/``env_id`` attribute
      (or ``env_spec``'s id for Minari) when present, else the file's base name.
    episodes_per_shard: episodes per shard.
    final_obs: D4RL only, see the module docstring ("next_row", "drop_last", "next_observations").
    env_kwargs, compress, overwrite: passed to `DatasetWriter`.

  Returns:
    The written `Manifest`.
  """
  h5_path = os.fspath(h5_path)
  if not os.path.exists(h5_path):
    raise fmt.DatasetNotFoundError(f"{h5_path}: HDF5 file not found")
  try:
    f = h5py.File(h5_path, "r")
  except OSError as e:
    raise fmt.LayoutError(f"{h5_path}: cannot open as HDF5 ({e})") from e
  with f:
    layout = detect_layout(f, h5_path)
    if env_name is None:
      env_name = _env_name_from_attrs(f) or os.path.splitext(os.path.basename(h5_path))[0]
    writer_kwargs = dict(
        path=out_dir, env_name=env_name, episodes_per_shard=episodes_per_shard,
        env_kwargs=env_kwargs, compress=compress, overwrite=overwrite,
        generator=f"import_hdf5({os.path.basename(h5_path)!r}, layout={layout!r}"
        + (f", final_obs={final_obs!r}" if layout == D4RL else "") + ")",
        metadata={"source_file": os.path.abspath(h5_path), "source_layout": layout})
    if layout == D4RL:
      writer = _import_d4rl(f, h5_path, final_obs, writer_kwargs)
    else:
      writer = _import_minari(f, h5_path, writer_kwargs)
  writer.close()
  return writer.manifest


def _env_name_from_attrs(f: h5py.File) -> str | None:
  for k in ("env_name", "env_id", "env"):
    if k in f.attrs:
      v = f.attrs[k]
      return v.decode() if isinstance(v, bytes) else str(v)
  if "env_spec" in f.attrs:  # Minari stores a JSON env spec
    try:
      spec = json.loads(f.attrs["env_spec"])
      if isinstance(spec, dict) and "id" in spec:
        return str(spec["id"])
    except (TypeError, ValueError):
      pass
  return None

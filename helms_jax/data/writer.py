"""Atomic, resumable, sharded writer of trajectory datasets (format in `format.py`).

Crash safety: a shard is written to a temp file, fsynced and renamed into place, and only then is
the manifest (itself written atomically) updated to list it. A crash therefore loses at most the
episodes buffered for the unfinished shard; reopening the directory with the same schema removes
temp files and any shard the manifest does not list, and continues after the last listed shard.
`DatasetWriter.num_episodes` tells a generator where to resume.
"""

import dataclasses
import json
import os
from typing import Any, Mapping

import numpy as np

from helms_jax.data import format as fmt


@dataclasses.dataclass
class _Chunk:
  """Episodes in flat (concatenated) form: obs fields [sum(L)+E, ...], step [sum(L), ...],
  episode [E, ...]; lengths [E] int64."""
  fields: dict[str, np.ndarray]
  lengths: np.ndarray

  @property
  def num_episodes(self) -> int:
    return int(self.lengths.shape[0])

  def split(self, schema: fmt.Schema, n: int) -> tuple["_Chunk", "_Chunk"]:
    """First n episodes and the rest (views, no copies)."""
    steps = int(self.lengths[:n].sum())
    cut = {fmt.OBS: steps + n, fmt.STEP: steps, fmt.EPISODE: n}
    head, tail = {}, {}
    for name, arr in self.fields.items():
      c = cut[schema[name].kind]
      head[name], tail[name] = arr[:c], arr[c:]
    return _Chunk(head, self.lengths[:n]), _Chunk(tail, self.lengths[n:])


def _concat_chunks(chunks: list[_Chunk]) -> _Chunk:
  if len(chunks) == 1:
    return chunks[0]
  fields = {k: np.concatenate([c.fields[k] for c in chunks]) for k in chunks[0].fields}
  return _Chunk(fields, np.concatenate([c.lengths for c in chunks]))


def _flatten_kwargs(arrays: Mapping[str, Any]) -> dict[str, Any]:
  """Accepts ``info={...}`` / ``episode={...}`` sub-dicts as well as ``'info/x'`` keys."""
  out = {}
  for k, v in arrays.items():
    if k in ("info", "episode") and isinstance(v, Mapping):
      for kk, vv in v.items():
        out[f"{k}/{kk}"] = vv
    else:
      out[k] = v
  return out


def _coerce(name: str, value: Any, spec: fmt.FieldSpec, where: str) -> np.ndarray:
  """Casts `value` to the field dtype if that is a same-kind cast; raises otherwise."""
  arr = np.asarray(value)
  if spec.dtype == fmt.STR_DTYPE:
    if arr.dtype.kind != "U":
      raise fmt.EpisodeValidationError(f"{where}: field {name!r} must be a string, got {arr.dtype}")
    return arr
  target = np.dtype(spec.dtype)
  if arr.dtype != target and not np.can_cast(arr.dtype, target, casting="same_kind"):
    raise fmt.EpisodeValidationError(
        f"{where}: field {name!r} has dtype {arr.dtype}, which cannot be cast to the schema dtype "
        f"{target} (same-kind casting)")
  return arr.astype(target, copy=False)


def _check_names(given, schema: fmt.Schema, where: str) -> None:
  missing = sorted(set(schema.fields) - set(given))
  unknown = sorted(set(given) - set(schema.fields))
  if missing or unknown:
    raise fmt.EpisodeValidationError(
        f"{where}: fields do not match the schema (missing {missing}, unknown {unknown})")


def _validate_flat(chunk: _Chunk, schema: fmt.Schema, where: str) -> None:
  """Checks shapes of a flat chunk and that `done` is True exactly at each episode's last step."""
  lengths = chunk.lengths
  if lengths.ndim != 1 or lengths.size == 0:
    raise fmt.EpisodeValidationError(f"{where}: lengths must be a non-empty 1-D array")
  if (lengths < 1).any():
    raise fmt.EpisodeValidationError(
        f"{where}: every episode needs at least one step; got lengths {lengths[lengths < 1][:5]}")
  e, steps = lengths.shape[0], int(lengths.sum())
  rows = {fmt.OBS: steps + e, fmt.STEP: steps, fmt.EPISODE: e}
  for name, spec in schema.fields.items():
    arr = chunk.fields[name]
    want = (rows[spec.kind],) + spec.shape
    if arr.shape != want:
      raise fmt.EpisodeValidationError(
          f"{where}: field {name!r} ({spec.kind} field) has shape {arr.shape}, expected {want}")
  done = chunk.fields["done"]
  last = np.cumsum(lengths) - 1
  if not done[last].all() or int(done.sum()) != e:
    bad = np.flatnonzero(~done[last])
    raise fmt.EpisodeValidationError(
        f"{where}: field 'done' must be True at the last step of each episode and False elsewhere"
        + (f" (episode {int(bad[0])} does not end with done=True)" if bad.size else ""))


class DatasetWriter:
  """Writes episodes into shards of `episodes_per_shard` episodes.

  Usage::

    with DatasetWriter(path, schema, env_name="stack", generator="scripted expert v1") as w:
      for i in range(w.num_episodes, total):   # resumes where a previous run stopped
        w.add_episode(observation=obs, action=act, reward=r, discount=d, done=done)

  Args:
    path: dataset directory (created if needed).
    schema: the `Schema`; must equal the existing one when resuming.
    env_name: environment name recorded in the manifest (must match when resuming).
    generator: free-form description of how the data was generated.
    episodes_per_shard: episodes per shard (the last shard written by `close` may be shorter).
    env_kwargs: JSON-serialisable environment kwargs (must match when resuming).
    metadata: extra JSON-serialisable metadata for the manifest.
    compress: use zip compression (`np.savez_compressed`) for shards.
    overwrite: delete an existing dataset in `path` instead of resuming it.
  """

  def __init__(
      self,
      path: str,
      schema: fmt.Schema,
      env_name: str,
      generator: str,
      episodes_per_shard: int = 1000,
      *,
      env_kwargs: Mapping[str, Any] | None = None,
      metadata: Mapping[str, Any] | None = None,
      compress: bool = False,
      overwrite: bool = False,
  ):
    if episodes_per_shard < 1:
      raise fmt.DatasetError(f"episodes_per_shard must be >= 1, got {episodes_per_shard}")
    self.path = os.fspath(path)
    self.schema = schema
    self.episodes_per_shard = int(episodes_per_shard)
    self._compress = compress
    self._pending: list[_Chunk] = []
    self._pending_episodes = 0
    self._closed = False
    try:  # normalise through JSON (tuples -> lists) so resume comparisons are exact
      env_kwargs = json.loads(json.dumps(dict(env_kwargs or {})))
      metadata = json.loads(json.dumps(dict(metadata or {})))
    except TypeError as e:
      raise fmt.DatasetError(f"env_kwargs/metadata must be JSON-serialisable: {e}") from e
    os.makedirs(self.path, exist_ok=True)
    manifest_path = os.path.join(self.path, fmt.MANIFEST_NAME)
    if overwrite:
      self._remove_own_files(keep=())
      if os.path.exists(manifest_path):
        os.remove(manifest_path)
    if os.path.exists(manifest_path):
      m = fmt.read_manifest(self.path)
      if m.schema != schema:
        raise fmt.SchemaMismatchError(
            f"{manifest_path}: existing dataset has a different schema; pass overwrite=True or use "
            f"another directory. Differences (existing vs new): {'; '.join(m.schema.diff(schema))}")
      if m.env_name != env_name or dict(m.env_kwargs) != env_kwargs:
        raise fmt.DatasetError(
            f"{manifest_path}: existing dataset was made for env {m.env_name!r} with kwargs "
            f"{dict(m.env_kwargs)}, not {env_name!r} with {env_kwargs}")
      for s in m.shards:
        if not os.path.exists(os.path.join(self.path, s.file)):
          raise fmt.ShardMissingError(
              f"{os.path.join(self.path, s.file)}: shard listed in the manifest is missing; "
              f"cannot resume")
      self._manifest = m
      self._remove_own_files(keep={s.file for s in m.shards})
    else:
      others = [f for f in os.listdir(self.path) if not self._is_own_file(f)]
      if others:
        raise fmt.DatasetError(
            f"{self.path!r} has no {fmt.MANIFEST_NAME} but is not empty ({sorted(others)[:5]}); "
            f"refusing to write a dataset into it")
      self._remove_own_files(keep=())
      self._manifest = fmt.Manifest(
          schema=schema, env_name=env_name, generator=generator, env_kwargs=env_kwargs,
          created=fmt.now_iso(), metadata=metadata)
      fmt.write_manifest(self.path, self._manifest)

  # -- bookkeeping --------------------------------------------------------------------------------

  @staticmethod
  def _is_own_file(name: str) -> bool:
    return name.startswith(fmt.TMP_PREFIX) or (
        name.startswith(fmt.SHARD_PREFIX) and name.endswith(fmt.SHARD_SUFFIX))

  def _remove_own_files(self, keep) -> None:
    """Removes temp files and shards not in `keep` (left behind by a crash)."""
    for name in os.listdir(self.path):
      if self._is_own_file(name) and name not in keep:
        os.remove(os.path.join(self.path, name))

  @property
  def manifest(self) -> fmt.Manifest:
    """The manifest as last written (complete shards only)."""
    return self._manifest

  @property
  def num_committed_episodes(self) -> int:
    """Episodes in complete shards on disk (what survives a crash)."""
    return self._manifest.num_episodes

  @property
  def num_episodes(self) -> int:
    """Episodes added so far, committed or buffered. Right after opening an existing dataset this
    is the number on disk, i.e. the index a deterministic generator should resume from."""
    return self._manifest.num_episodes + self._pending_episodes

  @property
  def num_steps(self) -> int:
    return self._manifest.num_steps + sum(int(c.lengths.sum()) for c in self._pending)

  # -- adding episodes ----------------------------------------------------------------------------

  def _check_open(self):
    if self._closed:
      raise fmt.DatasetError(f"writer for {self.path!r} is closed")

  def add_episode(self, **arrays) -> None:
    """Adds one episode.

    Args:
      **arrays: every schema field; for an episode of L >= 1 steps: obs-kind fields
        ``[L+1, *shape]`` (e.g. ``observation``), step-kind ``[L, *shape]`` (``action``, ``reward``,
        ``discount``, ``done`` with done True only at the last step, ``info/<name>``), episode-kind
        ``[*shape]`` (``episode/<name>``). ``info={...}`` / ``episode={...}`` dicts are accepted.
        Values are cast to the schema dtype when that is a same-kind cast.
    """
    self._check_open()
    where = f"episode {self.num_episodes}"
    arrays = _flatten_kwargs(arrays)
    _check_names(arrays, self.schema, where)
    fields = {n: _coerce(n, arrays[n], s, where) for n, s in self.schema.fields.items()}
    act = fields["action"]
    if act.ndim == 0:
      raise fmt.EpisodeValidationError(f"{where}: field 'action' must have a time axis")
    length = act.shape[0]
    for name, spec in self.schema.fields.items():
      arr = fields[name]
      if spec.kind == fmt.EPISODE:
        if arr.shape != spec.shape:
          raise fmt.EpisodeValidationError(
              f"{where}: per-episode field {name!r} has shape {arr.shape}, expected {spec.shape}")
        fields[name] = arr[None]
        continue
      want = (length + (spec.kind == fmt.OBS),) + spec.shape
      if arr.shape != want:
        raise fmt.EpisodeValidationError(
            f"{where}: field {name!r} has shape {arr.shape}, expected {want} (L={length} from "
            f"'action'; {spec.kind} fields have {'L+1' if spec.kind == fmt.OBS else 'L'} rows)")
    chunk = _Chunk(fields, np.array([length], np.int64))
    _validate_flat(chunk, self.schema, where)
    self._append(chunk)

  def add_episodes(self, batch: Mapping[str, Any], lengths: Any) -> None:
    """Adds N episodes from a padded batch.

    Args:
      batch: every schema field, padded: obs-kind ``[N, T+1, *shape]``, step-kind ``[N, T, *shape]``,
        episode-kind ``[N, *shape]``. Entries past an episode's length are ignored.
      lengths: ``[N]`` int, 1 <= lengths[i] <= T.
    """
    self._check_open()
    where = f"episodes {self.num_episodes}.."
    batch = _flatten_kwargs(batch)
    _check_names(batch, self.schema, where)
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or lengths.dtype.kind not in "iu":
      raise fmt.EpisodeValidationError(f"{where}: lengths must be a 1-D int array, got "
                                       f"{lengths.dtype} {lengths.shape}")
    lengths = lengths.astype(np.int64)
    fields = {n: _coerce(n, batch[n], s, where) for n, s in self.schema.fields.items()}
    if fields["action"].ndim < 2:
      raise fmt.EpisodeValidationError(f"{where}: field 'action' must be [N, T, ...]")
    n, t = fields["action"].shape[:2]
    if lengths.shape[0] != n:
      raise fmt.EpisodeValidationError(f"{where}: lengths has {lengths.shape[0]} entries, batch N={n}")
    if n == 0:
      return
    if lengths.min() < 1 or lengths.max() > t:
      raise fmt.EpisodeValidationError(f"{where}: lengths must be in [1, T={t}], got range "
                                       f"[{lengths.min()}, {lengths.max()}]")
    step_mask = np.arange(t)[None, :] < lengths[:, None]  # [N, T]
    obs_mask = np.arange(t + 1)[None, :] <= lengths[:, None]  # [N, T+1]
    flat = {}
    for name, spec in self.schema.fields.items():
      arr = fields[name]
      lead = {fmt.OBS: (n, t + 1), fmt.STEP: (n, t), fmt.EPISODE: (n,)}[spec.kind]
      if arr.shape != lead + spec.shape:
        raise fmt.EpisodeValidationError(
            f"{where}: field {name!r} has shape {arr.shape}, expected {lead + spec.shape} "
            f"(N={n}, T={t} from 'action')")
      if spec.kind == fmt.EPISODE:
        flat[name] = arr
      else:
        flat[name] = arr[obs_mask if spec.kind == fmt.OBS else step_mask]  # row-major = concat
    chunk = _Chunk(flat, lengths)
    _validate_flat(chunk, self.schema, where)
    self._append(chunk)

  def add_concatenated(self, arrays: Mapping[str, Any], lengths: Any) -> None:
    """Adds N episodes already in flat (shard) form.

    Args:
      arrays: obs-kind fields ``[sum(L)+N, *shape]``, step-kind ``[sum(L), *shape]``, episode-kind
        ``[N, *shape]`` (episodes concatenated in order).
      lengths: ``[N]`` int episode lengths (>= 1).
    """
    self._check_open()
    where = f"episodes {self.num_episodes}.."
    arrays = _flatten_kwargs(arrays)
    _check_names(arrays, self.schema, where)
    lengths = np.asarray(lengths)
    if lengths.dtype.kind not in "iu":
      raise fmt.EpisodeValidationError(f"{where}: lengths must be ints, got {lengths.dtype}")
    fields = {n: _coerce(n, arrays[n], s, where) for n, s in self.schema.fields.items()}
    chunk = _Chunk(fields, lengths.astype(np.int64).reshape(-1))
    if chunk.num_episodes == 0:
      return
    _validate_flat(chunk, self.schema, where)
    self._append(chunk)

  def _append(self, chunk: _Chunk) -> None:
    self._pending.append(chunk)
    self._pending_episodes += chunk.num_episodes
    while self._pending_episodes >= self.episodes_per_shard:
      head, tail = _concat_chunks(self._pending).split(self.schema, self.episodes_per_shard)
      self._write_shard(head)
      self._pending = [tail] if tail.num_episodes else []
      self._pending_episodes = tail.num_episodes

  # -- writing ------------------------------------------------------------------------------------

  def _write_shard(self, chunk: _Chunk) -> None:
    name = fmt.shard_name(len(self._manifest.shards))
    path = os.path.join(self.path, name)
    arrays = dict(chunk.fields)
    arrays[fmt.EPISODE_LENGTH_KEY] = chunk.lengths
    save = np.savez_compressed if self._compress else np.savez
    fmt.atomic_write(path, lambda f: save(f, **arrays))
    info = fmt.ShardInfo(
        file=name, num_episodes=chunk.num_episodes, num_steps=int(chunk.lengths.sum()),
        sha256=fmt.sha256_file(path), num_bytes=os.path.getsize(path))
    manifest = dataclasses.replace(self._manifest, shards=self._manifest.shards + (info,))
    fmt.write_manifest(self.path, manifest)
    self._manifest = manifest

  def flush(self) -> None:
    """Writes buffered episodes now as a (possibly short) shard."""
    self._check_open()
    if self._pending_episodes:
      self._write_shard(_concat_chunks(self._pending))
      self._pending, self._pending_episodes = [], 0

  def close(self) -> None:
    """Flushes buffered episodes and closes the writer (idempotent)."""
    if not self._closed:
      self.flush()
      self._closed = True

  def __enter__(self) -> "DatasetWriter":
    return self

  def __exit__(self, exc_type, exc, tb) -> None:
    # Buffered episodes were validated when added, so they are safe to write even if the body
    # raised (e.g. a later episode failed validation).
    self.close()

"""Reads and validates a trajectory dataset written by `DatasetWriter`."""

import dataclasses
import os
import zipfile
from typing import Mapping

import numpy as np

from helms_jax.data import format as fmt


@dataclasses.dataclass(frozen=True)
class Dataset:
  """A whole dataset in memory, episodes concatenated.

  Attributes:
    manifest: the `Manifest`.
    fields: field name -> flat array: obs-kind ``[num_steps + E, *shape]``, step-kind
      ``[num_steps, *shape]``, episode-kind ``[E, *shape]``.
    episode_length: ``[E]`` int64.
    step_offsets: ``[E]`` int64, index of each episode's first step in step-kind arrays.
    obs_offsets: ``[E]`` int64, index of each episode's first observation in obs-kind arrays
      (``obs_offsets[e] = step_offsets[e] + e``).
  """
  manifest: fmt.Manifest
  fields: Mapping[str, np.ndarray]
  episode_length: np.ndarray
  step_offsets: np.ndarray
  obs_offsets: np.ndarray

  @property
  def schema(self) -> fmt.Schema:
    return self.manifest.schema

  @property
  def num_episodes(self) -> int:
    return int(self.episode_length.shape[0])

  @property
  def num_steps(self) -> int:
    return int(self.episode_length.sum())

  def __getitem__(self, name: str) -> np.ndarray:
    return self.fields[name]

  def episode(self, i: int) -> dict[str, np.ndarray]:
    """Episode i: obs-kind fields ``[L+1, ...]``, step-kind ``[L, ...]``, episode-kind ``[...]``
    (views into the flat arrays)."""
    n = self.num_episodes
    if not -n <= i < n:
      raise IndexError(f"episode index {i} out of range for {n} episodes")
    i %= n
    length = int(self.episode_length[i])
    s, o = int(self.step_offsets[i]), int(self.obs_offsets[i])
    out = {}
    for name, spec in self.schema.fields.items():
      arr = self.fields[name]
      if spec.kind == fmt.OBS:
        out[name] = arr[o:o + length + 1]
      elif spec.kind == fmt.STEP:
        out[name] = arr[s:s + length]
      else:
        out[name] = arr[i]
    return out


def offsets_from_lengths(episode_length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """``[E]`` lengths -> (step_offsets [E], obs_offsets [E]) as int64."""
  lengths = np.asarray(episode_length, np.int64)
  step_offsets = np.cumsum(lengths) - lengths
  return step_offsets, step_offsets + np.arange(lengths.shape[0], dtype=np.int64)


def _load_shard(directory: str, info: fmt.ShardInfo, schema: fmt.Schema,
                verify: bool) -> dict[str, np.ndarray]:
  path = os.path.join(directory, info.file)
  if not os.path.exists(path):
    raise fmt.ShardMissingError(f"{path}: shard listed in {fmt.MANIFEST_NAME} is missing")
  size = os.path.getsize(path)
  if size != info.num_bytes:
    raise fmt.ShardCorruptError(
        f"{path}: shard has {size} bytes but the manifest says {info.num_bytes} (truncated or "
        f"overwritten)")
  if verify:
    digest = fmt.sha256_file(path)
    if digest != info.sha256:
      raise fmt.ChecksumError(
          f"{path}: sha256 {digest[:16]}... does not match the manifest's {info.sha256[:16]}... "
          f"(corrupted shard)")
  try:
    with np.load(path, allow_pickle=False) as z:
      arrays = {k: z[k] for k in z.files}
  except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
    raise fmt.ShardCorruptError(f"{path}: cannot read shard ({type(e).__name__}: {e})") from e
  expected = set(schema.fields) | {fmt.EPISODE_LENGTH_KEY}
  if set(arrays) != expected:
    raise fmt.SchemaMismatchError(
        f"{path}: shard fields do not match the manifest schema (missing "
        f"{sorted(expected - set(arrays))}, unexpected {sorted(set(arrays) - expected)})")
  lengths = arrays[fmt.EPISODE_LENGTH_KEY]
  if lengths.ndim != 1 or lengths.dtype.kind not in "iu" or (lengths < 1).any():
    raise fmt.ShardCorruptError(f"{path}: invalid {fmt.EPISODE_LENGTH_KEY} array")
  e, steps = int(lengths.shape[0]), int(lengths.sum())
  if e != info.num_episodes or steps != info.num_steps:
    raise fmt.ShardCorruptError(
        f"{path}: shard has {e} episodes / {steps} steps, manifest says {info.num_episodes} / "
        f"{info.num_steps}")
  rows = {fmt.OBS: steps + e, fmt.STEP: steps, fmt.EPISODE: e}
  for name, spec in schema.fields.items():
    arr = arrays[name]
    want = (rows[spec.kind],) + spec.shape
    if not spec.matches_dtype(arr.dtype) or arr.shape != want:
      raise fmt.SchemaMismatchError(
          f"{path}: field {name!r} is {arr.dtype} {arr.shape}, schema says {spec.dtype} {want}")
  arrays[fmt.EPISODE_LENGTH_KEY] = lengths.astype(np.int64)
  return arrays


def load_dataset(path: str, verify: bool = True) -> Dataset:
  """Loads a dataset directory into memory, validating it against its manifest.

  Args:
    path: dataset directory (containing ``manifest.json``).
    verify: check every shard's sha256 (sizes, fields, dtypes and shapes are always checked).

  Raises:
    DatasetNotFoundError: no directory or no manifest.
    FormatVersionError / ManifestError: unknown version / malformed manifest.
    ShardMissingError, ShardCorruptError (ChecksumError), SchemaMismatchError: bad shards; the
      message names the shard file.
  """
  path = os.fspath(path)
  manifest = fmt.read_manifest(path)
  schema = manifest.schema
  parts = [_load_shard(path, s, schema, verify) for s in manifest.shards]
  if parts:
    lengths = np.concatenate([p[fmt.EPISODE_LENGTH_KEY] for p in parts])
    fields = {}
    for name in schema.fields:
      arrs = [p[name] for p in parts]
      fields[name] = arrs[0] if len(arrs) == 1 else np.concatenate(arrs)
  else:
    lengths = np.zeros((0,), np.int64)
    fields = {}
    for name, spec in schema.fields.items():
      fields[name] = np.zeros((0,) + spec.shape, spec.numpy_dtype())
  step_offsets, obs_offsets = offsets_from_lengths(lengths)
  return Dataset(manifest=manifest, fields=fields, episode_length=lengths,
                 step_offsets=step_offsets, obs_offsets=obs_offsets)

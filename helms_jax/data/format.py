"""On-disk trajectory dataset format: schema, manifest, errors, atomic file helpers.

A dataset is a directory::

  <dir>/manifest.json        Manifest (format version, schema, shard list with sha256 + size, totals).
  <dir>/shard_00000.npz      Episodes concatenated along the leading axis (see below).
  <dir>/shard_00001.npz
  ...

Every shard is an uncompressed (or, optionally, zip-compressed) ``.npz`` holding, for E episodes
with lengths L_0..L_{E-1}:

  episode_length   [E] int64
  <obs field>      [sum_e (L_e + 1), *shape]   per-observation fields (``observation``, ``image``)
  <step field>     [sum_e L_e, *shape]         per-step fields (``action``, ``reward``, ``discount``,
                                               ``done``, ``info/<name>``)
  <episode field>  [E, *shape]                 per-episode fields (``episode/<name>``)

Files are written atomically (temp file in the same directory, fsync, ``os.replace``); the
manifest only ever lists complete shards.
"""

import dataclasses
import datetime
import hashlib
import json
import os
from typing import Any, Mapping, Sequence

import numpy as np

from helms_jax.errors import HelmsError
from helms_jax.io import TMP_PREFIX, atomic_write  # pylint: disable=unused-import  (re-exported)

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
SHARD_PREFIX = "shard_"
SHARD_SUFFIX = ".npz"
EPISODE_LENGTH_KEY = "episode_length"

# Field kinds: how the leading axis of an episode's array relates to its length L.
OBS = "obs"  # [L + 1, *shape]
STEP = "step"  # [L, *shape]
EPISODE = "episode"  # [*shape], one value per episode
KINDS = (OBS, STEP, EPISODE)

STR_DTYPE = "str"  # per-episode short strings (stored as numpy unicode arrays)

# Fields every dataset has, with their kinds.
REQUIRED_FIELDS = {
    "observation": OBS,
    "action": STEP,
    "reward": STEP,
    "discount": STEP,
    "done": STEP,
}
INFO_PREFIX = "info/"
EPISODE_PREFIX = "episode/"


# ----------------------------------------------------------------------------------------------
# Errors.


class DatasetError(HelmsError, ValueError):
  """Base class of every error raised by `helms_jax.data`."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
  """The dataset directory or its manifest does not exist."""


class ManifestError(DatasetError):
  """The manifest is unreadable or internally inconsistent."""


class FormatVersionError(DatasetError):
  """The manifest declares a format version this code cannot read."""


class ShardMissingError(DatasetError, FileNotFoundError):
  """A shard listed in the manifest is missing."""


class ShardCorruptError(DatasetError):
  """A shard's size, checksum or content does not match the manifest."""


class ChecksumError(ShardCorruptError):
  """A shard's sha256 does not match the manifest."""


class SchemaMismatchError(DatasetError):
  """A schema differs from the expected one (shard vs manifest, or writer vs existing dataset)."""


class EpisodeValidationError(DatasetError):
  """An episode passed to the writer does not match the schema."""


class WindowError(DatasetError):
  """A window cannot be sampled from the dataset (e.g. longer than every episode)."""


class LayoutError(DatasetError):
  """An HDF5 file has a layout the importer does not recognise."""


# ----------------------------------------------------------------------------------------------
# Schema.


def _canonical_dtype(dtype: Any) -> str:
  if isinstance(dtype, str) and dtype == STR_DTYPE:
    return STR_DTYPE
  dt = np.dtype(dtype)
  if dt.kind == "U":
    return STR_DTYPE
  if dt.kind not in "biuf":
    raise DatasetError(f"unsupported dtype {dt!r}: use bool, int, uint, float or 'str'")
  return dt.name


@dataclasses.dataclass(frozen=True)
class FieldSpec:
  """One field of the schema.

  Attributes:
    kind: "obs" ([L+1, *shape] per episode), "step" ([L, *shape]) or "episode" ([*shape]).
    dtype: numpy dtype name ("float32", "uint8", "bool", ...) or "str" (per-episode fields only).
    shape: the per-observation / per-step / per-episode shape (without the time axis).
  """
  kind: str
  dtype: str
  shape: tuple[int, ...] = ()

  def __post_init__(self):
    if self.kind not in KINDS:
      raise DatasetError(f"field kind must be one of {KINDS}, got {self.kind!r}")
    object.__setattr__(self, "dtype", _canonical_dtype(self.dtype))
    object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
    if any(s < 0 for s in self.shape):
      raise DatasetError(f"negative dimension in shape {self.shape}")
    if self.dtype == STR_DTYPE and (self.kind != EPISODE or self.shape):
      raise DatasetError("'str' dtype is only supported for scalar per-episode fields")

  def matches_dtype(self, dtype: np.dtype) -> bool:
    """Whether an array dtype is exactly this field's stored dtype."""
    if self.dtype == STR_DTYPE:
      return np.dtype(dtype).kind == "U"
    return np.dtype(dtype) == np.dtype(self.dtype)

  def numpy_dtype(self) -> np.dtype:
    return np.dtype(np.str_) if self.dtype == STR_DTYPE else np.dtype(self.dtype)

  def to_json(self) -> dict:
    return {"kind": self.kind, "dtype": self.dtype, "shape": list(self.shape)}

  @classmethod
  def from_json(cls, d: Mapping[str, Any]) -> "FieldSpec":
    return cls(kind=d["kind"], dtype=d["dtype"], shape=tuple(d["shape"]))


@dataclasses.dataclass(frozen=True)
class Schema:
  """Field name -> FieldSpec. Always contains the fields of `REQUIRED_FIELDS`.

  Extra fields are named ``image`` (obs kind), ``info/<name>`` (step kind) or
  ``episode/<name>`` (episode kind); other names are allowed if their kind is given.
  """
  fields: Mapping[str, FieldSpec]

  def __post_init__(self):
    fields = dict(self.fields)
    for name, kind in REQUIRED_FIELDS.items():
      if name not in fields:
        raise DatasetError(f"schema is missing required field {name!r}")
      if fields[name].kind != kind:
        raise DatasetError(f"schema field {name!r} must have kind {kind!r}, got {fields[name].kind!r}")
    for name, spec in fields.items():
      if not name or name == EPISODE_LENGTH_KEY or name.startswith("/") or name.endswith("/"):
        raise DatasetError(f"invalid field name {name!r}")
      if name.startswith(INFO_PREFIX) and spec.kind != STEP:
        raise DatasetError(f"field {name!r} must have kind 'step'")
      if name.startswith(EPISODE_PREFIX) and spec.kind != EPISODE:
        raise DatasetError(f"field {name!r} must have kind 'episode'")
    if fields["done"].dtype != "bool":
      raise DatasetError("schema field 'done' must have dtype bool")
    object.__setattr__(self, "fields", dict(sorted(fields.items())))

  @classmethod
  def create(
      cls,
      observation_shape: Sequence[int],
      action_shape: Sequence[int],
      *,
      observation_dtype: Any = np.float32,
      action_dtype: Any = np.float32,
      reward_dtype: Any = np.float32,
      image_shape: Sequence[int] | None = None,
      info: Mapping[str, tuple[Sequence[int], Any]] | None = None,
      episode: Mapping[str, tuple[Sequence[int], Any]] | None = None,
  ) -> "Schema":
    """Builds the standard schema.

    Args:
      observation_shape: per-observation shape (e.g. ``(obs_dim,)``).
      action_shape: per-step action shape (e.g. ``(act_dim,)``).
      image_shape: ``(H, W, C)`` to add a uint8 ``image`` field [L+1, H, W, C].
      info: ``{name: (shape, dtype)}`` per-step fields stored as ``info/<name>``.
      episode: ``{name: (shape, dtype)}`` per-episode fields stored as ``episode/<name>``
        (use ``((), "str")`` for a short string label).
    """
    f = {
        "observation": FieldSpec(OBS, observation_dtype, tuple(observation_shape)),
        "action": FieldSpec(STEP, action_dtype, tuple(action_shape)),
        "reward": FieldSpec(STEP, reward_dtype, ()),
        "discount": FieldSpec(STEP, reward_dtype, ()),
        "done": FieldSpec(STEP, np.bool_, ()),
    }
    if image_shape is not None:
      f["image"] = FieldSpec(OBS, np.uint8, tuple(image_shape))
    for name, (shape, dtype) in (info or {}).items():
      f[INFO_PREFIX + name] = FieldSpec(STEP, dtype, tuple(shape))
    for name, (shape, dtype) in (episode or {}).items():
      f[EPISODE_PREFIX + name] = FieldSpec(EPISODE, dtype, tuple(shape))
    return cls(f)

  def names(self, kind: str | None = None) -> list[str]:
    return [n for n, s in self.fields.items() if kind is None or s.kind == kind]

  def __getitem__(self, name: str) -> FieldSpec:
    return self.fields[name]

  def __contains__(self, name: str) -> bool:
    return name in self.fields

  def to_json(self) -> dict:
    return {n: s.to_json() for n, s in self.fields.items()}

  @classmethod
  def from_json(cls, d: Mapping[str, Any]) -> "Schema":
    return cls({n: FieldSpec.from_json(s) for n, s in d.items()})

  def diff(self, other: "Schema") -> list[str]:
    """Human-readable differences between two schemas (empty when equal)."""
    out = []
    for n in sorted(set(self.fields) | set(other.fields)):
      a, b = self.fields.get(n), other.fields.get(n)
      if a != b:
        out.append(f"{n}: {a.to_json() if a else 'absent'} vs {b.to_json() if b else 'absent'}")
    return out


# ----------------------------------------------------------------------------------------------
# Manifest.


@dataclasses.dataclass(frozen=True)
class ShardInfo:
  """One complete shard: file name (relative to the dataset dir), counts, sha256 and byte size."""
  file: str
  num_episodes: int
  num_steps: int
  sha256: str
  num_bytes: int


@dataclasses.dataclass(frozen=True)
class Manifest:
  """Contents of ``manifest.json``."""
  schema: Schema
  env_name: str
  generator: str
  shards: tuple[ShardInfo, ...] = ()
  env_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  created: str = ""
  format_version: int = FORMAT_VERSION
  metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)

  @property
  def num_episodes(self) -> int:
    return sum(s.num_episodes for s in self.shards)

  @property
  def num_steps(self) -> int:
    return sum(s.num_steps for s in self.shards)

  def to_json(self) -> dict:
    return {
        "format_version": self.format_version,
        "env_name": self.env_name,
        "env_kwargs": dict(self.env_kwargs),
        "generator": self.generator,
        "created": self.created,
        "metadata": dict(self.metadata),
        "num_episodes": self.num_episodes,
        "num_steps": self.num_steps,
        "schema": self.schema.to_json(),
        "shards": [dataclasses.asdict(s) for s in self.shards],
    }

  @classmethod
  def from_json(cls, d: Mapping[str, Any], source: str = MANIFEST_NAME) -> "Manifest":
    """Parses and checks a manifest dict; `source` names the file in errors."""
    if not isinstance(d, Mapping) or "format_version" not in d:
      raise ManifestError(f"{source}: not a helms_jax dataset manifest (no 'format_version')")
    if d["format_version"] != FORMAT_VERSION:
      raise FormatVersionError(
          f"{source}: unknown format version {d['format_version']!r}; this helms_jax reads version "
          f"{FORMAT_VERSION}")
    try:
      schema = Schema.from_json(d["schema"])
      shards = tuple(ShardInfo(**s) for s in d["shards"])
      m = cls(
          schema=schema, env_name=d["env_name"], generator=d["generator"], shards=shards,
          env_kwargs=d.get("env_kwargs", {}), created=d.get("created", ""),
          format_version=d["format_version"], metadata=d.get("metadata", {}))
    except (KeyError, TypeError) as e:
      raise ManifestError(f"{source}: malformed manifest ({type(e).__name__}: {e})") from e
    except DatasetError as e:
      raise ManifestError(f"{source}: invalid schema: {e}") from e
    if d.get("num_episodes", m.num_episodes) != m.num_episodes or d.get(
        "num_steps", m.num_steps) != m.num_steps:
      raise ManifestError(f"{source}: totals do not match the sum over shards")
    return m


def now_iso() -> str:
  return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def shard_name(index: int) -> str:
  return f"{SHARD_PREFIX}{index:05d}{SHARD_SUFFIX}"


# ----------------------------------------------------------------------------------------------
# Files.


def sha256_file(path: str, chunk_bytes: int = 1 << 22) -> str:
  h = hashlib.sha256()
  with open(path, "rb") as f:
    while chunk := f.read(chunk_bytes):
      h.update(chunk)
  return h.hexdigest()


def write_manifest(directory: str, manifest: Manifest) -> None:
  data = json.dumps(manifest.to_json(), indent=2, sort_keys=True).encode()
  atomic_write(os.path.join(directory, MANIFEST_NAME), lambda f: f.write(data))


def read_manifest(directory: str) -> Manifest:
  """Reads ``<directory>/manifest.json``; errors name the file and suggest `helms-data`."""
  hint = "create the dataset with `helms-data` (launch/data.py) or `helms_jax.data.DatasetWriter`"
  if not os.path.isdir(directory):
    raise DatasetNotFoundError(f"dataset directory {directory!r} does not exist; {hint}")
  path = os.path.join(directory, MANIFEST_NAME)
  if not os.path.exists(path):
    raise DatasetNotFoundError(
        f"{path}: manifest not found, so {directory!r} is not a (complete) dataset; {hint}")
  try:
    with open(path, "rb") as f:
      d = json.loads(f.read().decode())
  except (json.JSONDecodeError, UnicodeDecodeError) as e:
    raise ManifestError(f"{path}: manifest is not valid JSON ({e})") from e
  return Manifest.from_json(d, source=path)

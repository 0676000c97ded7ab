"""Fixed-length window sampling from a `Dataset`, as a pure function of a PRNG key.

A window of length W starting at step t of an episode of length L covers steps t..t+W-1 (valid iff
t + W <= L; windows never cross episode boundaries) and observations t..t+W-1+lookahead, where
observation indices past the episode's final observation (index L) are clamped to it and flagged
with ``obs_mask = 0``. Starts are drawn uniformly over all valid (episode, t) windows.

Two paths give identical batches for the same key:
  * `WindowSampler.sample(key, batch_size)`: indices from the jitted `window_indices`, gathered
    from host numpy arrays (no per-sample Python loop).
  * `WindowSampler.device_sample_fn(batch_size)`: dataset arrays placed on device once; returns a
    jittable ``sample(key) -> batch`` doing the gather with jnp, for use inside a learner's jit.
Because sampling is a pure function of the key, a run that checkpoints its key resumes the exact
data stream. Samplers that choose their windows themselves (`grouped.py`: by episode label) use
the same table: `episode_windows` gives each episode's rows, `gather_windows` gathers given rows.
"""

import functools
from typing import Any, Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from helms_jax.data import format as fmt
from helms_jax.data.reader import Dataset, offsets_from_lengths


class WindowTable(NamedTuple):
  """All valid windows of one length, M = number of valid windows. Every array is ``[M]``.

  Attributes:
    episode: episode index of the window.
    start: step index t of the window's first step within its episode.
    step_start: flat index of the first step in step-kind arrays.
    obs_start: flat index of the first observation in obs-kind arrays.
    obs_last: flat index of the episode's final observation (index L within the episode).
  """
  episode: Any
  start: Any
  step_start: Any
  obs_start: Any
  obs_last: Any


def episode_windows(episode_length: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
  """Per episode, its valid windows' place in the `WindowTable` rows (ordered by episode).

  Args:
    episode_length: ``[E]`` int episode lengths.
    window: W.

  Returns:
    (first ``[E]``, count ``[E]``) int64: episode e's windows are rows first[e] ..
    first[e] + count[e] - 1, with starts 0 .. count[e] - 1 (count = max(L_e - W + 1, 0); an
    episode shorter than W has none, and its `first` is the next episode's).
  """
  count = np.maximum(np.asarray(episode_length, np.int64) - int(window) + 1, 0)
  first, _ = offsets_from_lengths(count)
  return first, count


def valid_window_starts(episode_length: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
  """Enumerates every valid window (vectorised, no per-episode loop).

  Args:
    episode_length: ``[E]`` int episode lengths.
    window: W >= 1.

  Returns:
    (episode ``[M]``, start ``[M]``) int64, ordered by episode then start, with start in
    ``0..L_e - W``.

  Raises:
    WindowError: W < 1, or W longer than every episode (M = 0).
  """
  lengths = np.asarray(episode_length, np.int64)
  if int(window) != window or window < 1:
    raise fmt.WindowError(f"window must be a positive int, got {window!r}")
  first, n_valid = episode_windows(lengths, window)  # [E]
  total = int(n_valid.sum())
  if total == 0:
    longest = int(lengths.max()) if lengths.size else 0
    raise fmt.WindowError(
        f"window length {window} is longer than every episode (longest has {longest} steps, "
        f"{lengths.size} episodes); use window <= {longest}")
  episode = np.repeat(np.arange(lengths.shape[0], dtype=np.int64), n_valid)
  start = np.arange(total, dtype=np.int64) - np.repeat(first, n_valid)
  return episode, start


def check_index_range(episode_length: np.ndarray) -> None:
  """Raises WindowError when flat observation indices of these episodes overflow int32 (the
  index arithmetic of the samplers and of device tables)."""
  lengths = np.asarray(episode_length, np.int64)
  max_index = int(lengths.sum()) + lengths.shape[0]
  if max_index >= np.iinfo(np.int32).max:
    raise fmt.WindowError(
        f"dataset has {max_index} observations; index arithmetic is int32 (enable jax x64 or "
        f"split the dataset)")


def window_table(episode_length: np.ndarray, window: int) -> WindowTable:
  """Builds the `WindowTable` (numpy int64) for windows of length `window`."""
  lengths = np.asarray(episode_length, np.int64)
  episode, start = valid_window_starts(lengths, window)
  step_offsets, obs_offsets = offsets_from_lengths(lengths)
  return WindowTable(
      episode=episode, start=start, step_start=step_offsets[episode] + start,
      obs_start=obs_offsets[episode] + start, obs_last=obs_offsets[episode] + lengths[episode])


def window_indices(table: WindowTable, key: jax.Array, batch_size: int, window: int,
                   lookahead: int = 0, num_windows: jax.Array | None = None
                   ) -> dict[str, jax.Array]:
  """Draws `batch_size` windows uniformly (with replacement) and returns gather indices.

  Pure and jittable (`batch_size`, `window`, `lookahead` static).

  Args:
    table: `WindowTable` with ``[M]`` arrays (numpy or jax).
    key: PRNG key.
    batch_size: B.
    window: W (must be the window the table was built for).
    lookahead: extra observations after the window.
    num_windows: None (draw from every row), or a traced count M' <= M of valid leading rows
      when the table is padded to a common size (data-parallel shards, `ShardedWindowData`).

  Returns:
    `rows_indices` of the B drawn rows (``window [B]``, ``episode [B]``, ``start [B]``,
    ``step_idx [B, W]``, ``obs_idx [B, W+lookahead]``, ``obs_mask [B, W+lookahead]``).
  """
  if num_windows is None:
    num_windows = table.episode.shape[0]
  j = jax.random.randint(key, (batch_size,), 0, num_windows)
  return rows_indices(table, j, window, lookahead)


def rows_indices(table: WindowTable, rows: jax.Array, window: int, lookahead: int = 0
                 ) -> dict[str, jax.Array]:
  """Gather indices of the windows in table rows `rows` (any shape ``[...]``). Pure, jittable.

  Returns:
    dict with ``window [...]`` (= rows), ``episode [...]``, ``start [...]``,
    ``step_idx [..., W]`` (flat step indices), ``obs_idx [..., W+lookahead]`` (flat observation
    indices, clamped to the episode's final observation) and ``obs_mask [..., W+lookahead]``
    float32 (1 = real observation, 0 = clamped).
  """
  step_start = jnp.asarray(table.step_start)[rows]
  obs_start = jnp.asarray(table.obs_start)[rows]
  obs_last = jnp.asarray(table.obs_last)[rows]
  raw = obs_start[..., None] + jnp.arange(window + lookahead)
  return {
      "window": rows,
      "episode": jnp.asarray(table.episode)[rows],
      "start": jnp.asarray(table.start)[rows],
      "step_idx": step_start[..., None] + jnp.arange(window),
      "obs_idx": jnp.minimum(raw, obs_last[..., None]),
      "obs_mask": (raw <= obs_last[..., None]).astype(jnp.float32),
  }


def device_kinds(schema: fmt.Schema) -> dict[str, str]:
  """Field name -> kind of the fields that can live on a device (all but 'str' labels)."""
  return {n: s.kind for n, s in schema.fields.items() if s.dtype != fmt.STR_DTYPE}


def _gather(take: Callable, kinds: Mapping[str, str], arrays: Mapping[str, Any],
            idx: Mapping[str, Any]) -> dict[str, Any]:
  out = {"obs_mask": idx["obs_mask"], "episode_index": idx["episode"],
         "window_start": idx["start"]}
  for name, arr in arrays.items():
    kind = kinds[name]
    if kind == fmt.OBS:
      out[name] = take(arr, idx["obs_idx"])
    elif kind == fmt.STEP:
      out[name] = take(arr, idx["step_idx"])
    else:
      out[name] = take(arr, idx["episode"])
  return out


def _take(arr, idx):
  return jnp.take(arr, idx, axis=0)


def gather_window_batch(arrays: Mapping[str, jax.Array], table: WindowTable, key: jax.Array,
                        batch_size: int, window: int, lookahead: int,
                        kinds: Mapping[str, str], num_windows: jax.Array | None = None
                        ) -> dict[str, jax.Array]:
  """Pure jnp version of `WindowSampler.sample` taking the device arrays as an argument.

  Use this (with `WindowSampler.device_arrays()`) when the dataset should be an explicit argument
  of a jitted step rather than a closed-over constant. `kinds` maps field name -> kind and must be
  static (e.g. bound with functools.partial).
  """
  idx = window_indices(table, key, batch_size, window, lookahead, num_windows)
  return _gather(_take, kinds, arrays, idx)


def gather_windows(arrays: Mapping[str, jax.Array], table: WindowTable, rows: jax.Array,
                   window: int, lookahead: int, kinds: Mapping[str, str]) -> dict[str, jax.Array]:
  """The windows of table rows `rows [...]` chosen by the caller (pure jnp, jittable): the
  fields of `arrays` with leading dims ``[...]`` (obs-kind ``[..., W+lookahead, ...]``,
  step-kind ``[..., W, ...]``), ``obs_mask``, ``episode_index`` and ``window_start``, as in
  `gather_window_batch`."""
  return _gather(_take, kinds, arrays, rows_indices(table, rows, window, lookahead))


class WindowSampler:
  """Samples fixed-length windows from a `Dataset`.

  Args:
    dataset: the loaded `Dataset`.
    window: W, number of steps (actions, rewards, ...) per window.
    lookahead: extra observations per window (observations cover W + lookahead indices).

  Batches (B = batch size) contain ``observation [B, W+lookahead, ...]`` and every other obs-kind
  field (e.g. ``image``), ``obs_mask [B, W+lookahead]`` float32, step-kind fields
  ``[B, W, ...]`` (``action``, ``reward``, ``discount``, ``done``, ``info/<name>``), per-episode
  fields ``[B, ...]`` (``episode/<name>``), ``episode_index [B]`` and ``window_start [B]``.
  """

  def __init__(self, dataset: Dataset, window: int, lookahead: int = 0):
    if int(lookahead) != lookahead or lookahead < 0:
      raise fmt.WindowError(f"lookahead must be a non-negative int, got {lookahead!r}")
    self.dataset = dataset
    self.window = int(window)
    self.lookahead = int(lookahead)
    self.table = window_table(dataset.episode_length, self.window)
    check_index_range(dataset.episode_length)
    self._kinds = {n: s.kind for n, s in dataset.schema.fields.items()}
    self._indices = jax.jit(
        functools.partial(window_indices, window=self.window, lookahead=self.lookahead),
        static_argnames="batch_size")
    # Placed on the default device once (not re-transferred on every `sample` call).
    self._device_table = jax.device_put(WindowTable(*(np.asarray(a, np.int32) for a in self.table)))
    self._device_arrays = None

  @property
  def num_windows(self) -> int:
    """M, the number of valid windows."""
    return int(self.table.episode.shape[0])

  def indices(self, key: jax.Array, batch_size: int) -> dict[str, np.ndarray]:
    """Gather indices (see `window_indices`) as host numpy arrays."""
    idx = self._indices(self._device_table, key, batch_size=batch_size)
    return {k: np.asarray(v) for k, v in idx.items()}

  def sample(self, key: jax.Array, batch_size: int) -> dict[str, np.ndarray]:
    """A batch of windows as host numpy arrays (vectorised fancy indexing)."""
    idx = self.indices(key, batch_size)
    return _gather(lambda a, i: a[i], self._kinds, self.dataset.fields, idx)

  def device_arrays(self) -> tuple[dict[str, jax.Array], WindowTable]:
    """Numeric dataset fields and the window table on the default device (placed once).

    String fields (``'str'`` per-episode labels) cannot live on device and are left out. Without
    ``jax_enable_x64``, 64-bit fields are stored as 32-bit.
    """
    if self._device_arrays is None:
      self._device_arrays = {n: jax.device_put(self.dataset.fields[n])
                             for n in device_kinds(self.dataset.schema)}
    return self._device_arrays, self._device_table

  def loop_sample_fn(self, batch_size: int) -> tuple[Callable[[Any, jax.Array], dict], Any]:
    """`(sample_fn(data, key) -> batch, data)`: the dataset as an explicit argument.

    For training loops that jit their step over `data` (no large constants embedded in the
    trace): `data` is `device_arrays()`; `sample_fn` is pure and jittable.
    """
    sample = functools.partial(gather_window_batch, batch_size=batch_size, window=self.window,
                               lookahead=self.lookahead, kinds=self._kinds)
    return (lambda data, key: sample(data[0], data[1], key)), self.device_arrays()

  def device_sample_fn(self, batch_size: int) -> Callable[[jax.Array], dict[str, jax.Array]]:
    """Returns a jitted, pure ``sample(key) -> batch`` gathering on device.

    The batch equals `sample(key, batch_size)` (minus string fields). It can be called inside
    another jitted function, but there the dataset arrays become closed-over constants of the outer
    trace, which are embedded at compile time (measured: ~5 s extra compile for 2M steps x 17
    floats on CPU). For large datasets pass the arrays as arguments instead:
    ``arrays, table = sampler.device_arrays()`` and call `gather_window_batch` inside the step.
    """
    arrays, table = self.device_arrays()
    fn = jax.jit(functools.partial(
        gather_window_batch, batch_size=batch_size, window=self.window, lookahead=self.lookahead,
        kinds=self._kinds))

    def sample(key: jax.Array) -> dict[str, jax.Array]:
      return fn(arrays, table, key)

    return sample


# ----------------------------------------------------------------------------------------------
# Data-parallel shards: each device (and so each process) holds only its own episodes.


def lookahead_frames(x: jax.Array, obs_mask: jax.Array, lookahead: int) -> jax.Array:
  """Each window step's look-ahead observations, masked and flattened (a high-level encoder's
  input: HeLMS's q(y_t | y_{t-1}, x_{t:t+L}), NPMP's q(z_t | z_{t-1}, x_{t:t+L})).

  Args:
    x: [W + L, D] the window's (selected, normalised) observations.
    obs_mask: [W + L] 1 for observations inside the episode, 0 for clamped ones.
    lookahead: L >= 0.
  Returns:
    [W, (L + 1) * (D + 1)]: for step t the frames t..t+L, each followed by its mask bit (a
    masked frame is zeros).
  """
  lookahead = int(lookahead)
  if lookahead < 0 or x.shape[0] <= lookahead:
    raise ValueError(f"lookahead_frames needs 0 <= L < W + L = {x.shape[0]}, got L = {lookahead}")
  frame = jnp.arange(x.shape[0] - lookahead)[:, None] + jnp.arange(lookahead + 1)[None, :]
  frames, mask = x[frame], obs_mask[frame][..., None].astype(x.dtype)  # [W, L+1, D], [W, L+1, 1]
  feats = jnp.concatenate([frames * mask, mask], axis=-1)
  return feats.reshape(feats.shape[0], -1)


def subset_episodes(dataset: Dataset, episodes: np.ndarray) -> Dataset:
  """The episodes `episodes` ([E'] indices) of `dataset` as a `Dataset` of their own."""
  episodes = np.asarray(episodes, np.int64)
  lengths = dataset.episode_length[episodes]
  step_idx = np.concatenate([np.arange(dataset.step_offsets[e], dataset.step_offsets[e] + n)
                             for e, n in zip(episodes, lengths)])
  obs_idx = np.concatenate([np.arange(dataset.obs_offsets[e], dataset.obs_offsets[e] + n + 1)
                            for e, n in zip(episodes, lengths)])
  rows = {fmt.OBS: obs_idx, fmt.STEP: step_idx, fmt.EPISODE: episodes}
  fields = {name: arr[rows[dataset.schema[name].kind]] for name, arr in dataset.fields.items()}
  step_offsets, obs_offsets = offsets_from_lengths(lengths)
  return Dataset(manifest=dataset.manifest, fields=fields, episode_length=lengths,
                 step_offsets=step_offsets, obs_offsets=obs_offsets)


def shard_episode_indices(num_episodes: int, num_shards: int) -> list[np.ndarray]:
  """Round-robin split of episodes over shards: shard d holds episodes d, d + D, d + 2D, ..."""
  return [np.arange(d, num_episodes, num_shards) for d in range(num_shards)]


class ShardedWindowData(NamedTuple):
  """Window data of S data-parallel shards, padded to common shapes (leading axis [S]).

  arrays: field -> ``[S, rows_max, ...]`` (numeric fields only).
  table: `WindowTable` of ``[S, M_max]`` int32 arrays (rows past a shard's count are padding).
  num_windows: ``[S]`` int32, valid windows per shard.
  shard_index: ``[S]`` int32, the shard's global index d (its sampling key is fold_in(key, d)).
  """
  arrays: dict
  table: WindowTable
  num_windows: Any
  shard_index: Any


def sharded_window_data(dataset: Dataset, window: int, lookahead: int, num_shards: int,
                        shard_ids) -> ShardedWindowData:
  """The shards `shard_ids` (of `num_shards`, episodes split round-robin) as host numpy arrays.

  Shapes are padded to the largest of ALL `num_shards` shards, so every process, building only
  its own shards, agrees on the global shapes.

  Raises:
    WindowError: fewer episodes than shards, or a shard without a valid window.
  """
  if num_shards < 1:
    raise fmt.WindowError(f"num_shards must be >= 1, got {num_shards}")
  if dataset.num_episodes < num_shards:
    raise fmt.WindowError(
        f"dataset has {dataset.num_episodes} episodes, fewer than the {num_shards} data shards "
        f"(one per device): generate more episodes or keep the dataset replicated")
  split = shard_episode_indices(dataset.num_episodes, num_shards)
  lengths = [dataset.episode_length[e] for e in split]
  windows = [int(np.maximum(n - window + 1, 0).sum()) for n in lengths]
  if min(windows) == 0:
    raise fmt.WindowError(f"data shard {int(np.argmin(windows))} of {num_shards} has no window "
                          f"of length {window}: its episodes are all shorter")
  rows_max = {fmt.OBS: max(int(n.sum()) + n.size for n in lengths),
              fmt.STEP: max(int(n.sum()) for n in lengths),
              fmt.EPISODE: max(n.size for n in lengths)}
  m_max = max(windows)
  kinds = device_kinds(dataset.schema)

  def pad(arr, size):
    return np.concatenate([arr, np.zeros((size - arr.shape[0],) + arr.shape[1:], arr.dtype)])

  def one_shard(d):
    part = subset_episodes(dataset, split[d])
    table = window_table(part.episode_length, window)
    return ShardedWindowData(
        arrays={n: pad(part.fields[n], rows_max[k]) for n, k in kinds.items()},
        table=WindowTable(*(pad(np.asarray(a, np.int32), m_max) for a in table)),
        num_windows=np.int32(windows[d]), shard_index=np.int32(d))

  return jax.tree_util.tree_map(lambda *xs: np.stack(xs),
                                *(one_shard(d) for d in shard_ids))


def sharded_sample_fn(dataset: Dataset, batch_size: int, window: int, lookahead: int,
                      num_shards: int) -> Callable[[ShardedWindowData, jax.Array], dict]:
  """`sample(data: ShardedWindowData [D], key) -> batch [batch_size, ...]`, pure and jittable.

  Shard d draws batch_size / D windows from its own episodes with key `fold_in(key, d)`, and
  the batch is the shards' draws in shard order. With `data` split over devices along its
  leading axis, each device samples only from the episodes it holds; the batch depends on D,
  never on how the D shards are grouped into processes.
  """
  if batch_size % num_shards:
    raise fmt.WindowError(f"batch_size={batch_size} is not divisible by the {num_shards} data "
                          "shards (one per device)")
  kinds = device_kinds(dataset.schema)
  per_shard = batch_size // num_shards

  def one_shard(arrays, table, count, shard, key):
    return gather_window_batch(arrays, table, jax.random.fold_in(key, shard), per_shard, window,
                               lookahead, kinds, num_windows=count)

  def sample(data: ShardedWindowData, key: jax.Array) -> dict:
    batch = jax.vmap(one_shard, in_axes=(0, 0, 0, 0, None))(
        data.arrays, data.table, data.num_windows, data.shard_index, key)
    return jax.tree_util.tree_map(lambda x: x.reshape((-1,) + x.shape[2:]), batch)

  return sample

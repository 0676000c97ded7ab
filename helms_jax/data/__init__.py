"""Trajectory datasets: on-disk format, atomic sharded writer, reader, window sampler, HDF5 import.

See `format.py` for the on-disk layout and `sampler.py` for window semantics; `grouped.py`
(imported as `helms_jax.data.grouped`) samples windows grouped by episode label.
"""

from helms_jax.data.format import (
    EPISODE,
    FORMAT_VERSION,
    MANIFEST_NAME,
    OBS,
    STEP,
    ChecksumError,
    DatasetError,
    DatasetNotFoundError,
    EpisodeValidationError,
    FieldSpec,
    FormatVersionError,
    LayoutError,
    Manifest,
    ManifestError,
    Schema,
    SchemaMismatchError,
    ShardCorruptError,
    ShardInfo,
    ShardMissingError,
    WindowError,
    read_manifest,
)
from helms_jax.data.hdf5 import detect_layout, import_hdf5
from helms_jax.data.reader import Dataset, load_dataset, offsets_from_lengths
from helms_jax.data.sampler import (
    ShardedWindowData,
    WindowSampler,
    WindowTable,
    episode_windows,
    gather_window_batch,
    gather_windows,
    sharded_sample_fn,
    sharded_window_data,
    subset_episodes,
    valid_window_starts,
    window_indices,
    window_table,
)
from helms_jax.data.writer import DatasetWriter

__all__ = [
    "EPISODE", "FORMAT_VERSION", "MANIFEST_NAME", "OBS", "STEP",
    "ChecksumError", "DatasetError", "DatasetNotFoundError", "EpisodeValidationError",
    "FieldSpec", "FormatVersionError", "LayoutError", "Manifest", "ManifestError", "Schema",
    "SchemaMismatchError", "ShardCorruptError", "ShardInfo", "ShardMissingError", "WindowError",
    "read_manifest", "detect_layout", "import_hdf5", "Dataset", "load_dataset",
    "offsets_from_lengths", "WindowSampler", "WindowTable", "episode_windows",
    "gather_window_batch", "gather_windows",
    "valid_window_starts", "window_indices", "window_table", "DatasetWriter",
    "ShardedWindowData", "sharded_sample_fn", "sharded_window_data", "subset_episodes",
]

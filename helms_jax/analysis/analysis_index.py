"""The analysis directory every analysis writes and the run report reads.

Format (shared with `helms_jax.analysis.report.write_run_report`)::

  <workdir>/analysis/analysis.json
  <workdir>/analysis/<figure>.png      one file per entry of "figures"

where ``analysis.json`` is::

  {
    "figures": [{"file": "transition_matrix.png", "caption": "Learned skill transition prior"}],
    "metrics": {...any JSON...}
  }

``file`` is a plain file name inside the analysis directory (no directories). Write it with
`write_analysis_index`; the run report copies the figures into ``<workdir>/report/``, shows them
with their captions and stores ``metrics`` in ``report/metrics.json`` under ``"analysis"``.
Figures are written with `analysis.plots.save_figure` (atomic PNG, returns the base name).
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import numpy as np

from helms_jax.io import atomic_write_json

ANALYSIS_DIR = "analysis"  # under the run directory
ANALYSIS_INDEX = "analysis.json"


def _json_default(value: Any) -> Any:
  if isinstance(value, np.generic):
    return value.item()
  if isinstance(value, np.ndarray):
    return value.tolist()
  raise TypeError(f"metrics: {type(value).__name__} is not JSON-serialisable")


def write_analysis_index(analysis_dir: str, figures: Sequence[tuple[str, str]],
                         metrics: Mapping[str, Any]) -> str:
  """Writes `<analysis_dir>/analysis.json` atomically (format in the module docstring).

  Args:
    analysis_dir: usually `<workdir>/analysis`; created if missing.
    figures: (file name in `analysis_dir`, caption) pairs, in display order.
    metrics: any JSON-serialisable mapping (numpy scalars and arrays are converted).

  Returns:
    The path of the written analysis.json.
  """
  entries = []
  for item in figures:
    if len(item) != 2:
      raise ValueError(f"figures: expected (file, caption) pairs, got {item!r}")
    file, caption = item
    if (not isinstance(file, str) or not file or os.path.basename(file) != file
        or file in (".", "..")):
      raise ValueError(f"figures: {file!r} must be a plain file name inside {analysis_dir!r}")
    entries.append({"file": file, "caption": str(caption)})
  os.makedirs(analysis_dir, exist_ok=True)
  path = os.path.join(analysis_dir, ANALYSIS_INDEX)
  atomic_write_json(path, {"figures": entries, "metrics": dict(metrics)}, default=_json_default)
  return path

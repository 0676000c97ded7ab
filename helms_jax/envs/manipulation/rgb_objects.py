"""The RGB-Stacking benchmark's test objects (Lee et al. 2021), as used by HeLMS's object sets.

HeLMS (papers/helms.txt, section 5) transfers to "the other four object sets proposed by (Lee
et al., 2021)": the benchmark's five test triplets (red, green, blue):

  set 1 (r3, s0, b2)   set 2 (r5, g2, b3)   set 3 (r6, g3, b5)   set 4 (s0, g5, b6)
  set 5 (r2, g6, s0)

An object's id is a deformation magnitude (g minor, b average, r major; the rendered colour
comes from its slot in the triplet) and an axis: 2 polygon (regular, sds sides), 3 trapezoid
(shr: shrink along x), 5 parallelogram (an oblique prism, its top shifted along y by
scz tan(shy)), 6 rectangle (box); s0 is the 5 cm seed cube. The meshes are the benchmark's own
files (`assets/rgb_test_triplets/`, Apache-2.0, see NOTICE there: copied from the
dm-robotics-manipulation 0.10.0 wheel, whose pins (dm_control 1.0.31, mujoco 3.3.3) keep it
from installing beside our stack). Each is a closed convex prism of at most 20 vertices in
metres, centred on its bounding box, its z axis the extrusion axis; the file name encodes the
parameters (`parse_parameters`), against which the tests check the geometry.

Boxes (s0 and the rectangles) become MuJoCo boxes, the rest small convex meshes.
"""

from __future__ import annotations

import functools
import os
import re

import numpy as np

__all__ = ["TRIPLETS", "OBJECT_IDS", "mesh_path", "parse_parameters", "read_stl",
           "mesh_vertices", "is_box"]

TRIPLETS = {1: ("r3", "s0", "b2"), 2: ("r5", "g2", "b3"), 3: ("r6", "g3", "b5"),
            4: ("s0", "g5", "b6"), 5: ("r2", "g6", "s0")}
OBJECT_IDS = tuple(sorted({i for t in TRIPLETS.values() for i in t}))
ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets", "rgb_test_triplets")
PARAMETERS = ("sds", "shr", "drf", "hlw", "shx", "shy", "scx", "scy", "scz")
_STL_TRIANGLE = np.dtype([("normal", "<f4", 3), ("vertices", "<f4", (3, 3)), ("attribute", "<u2")])


def mesh_path(object_id: str) -> str:
  """The STL file of `object_id` (e.g. "r3")."""
  if object_id not in OBJECT_IDS:
    raise ValueError(f"unknown RGB test object {object_id!r}; valid: {', '.join(OBJECT_IDS)}")
  names = [f for f in os.listdir(ASSETS) if f.startswith(object_id + "_") and f.endswith(".stl")]
  if len(names) != 1:
    raise FileNotFoundError(f"expected one mesh of {object_id!r} in {ASSETS}, found {names}")
  return os.path.join(ASSETS, names[0])


def parse_parameters(filename: str) -> dict[str, int]:
  """`<id>_sds4_shr75_..._scz71.stl` -> {"sds": 4, "shr": 75, ..., "scz": 71} (degrees, mm)."""
  base = os.path.basename(filename)
  values = dict(re.findall(r"_([a-z]{3})(-?\d+)", base))
  missing = [p for p in PARAMETERS if p not in values]
  if missing:
    raise ValueError(f"{base!r} does not name the RGB object parameters {missing}")
  return {p: int(values[p]) for p in PARAMETERS}


def read_stl(path: str) -> np.ndarray:
  """[T, 3, 3] float64: the triangles of a binary STL file."""
  with open(path, "rb") as f:
    data = f.read()
  if len(data) < 84:
    raise ValueError(f"{path} is too short to be a binary STL file")
  count = int(np.frombuffer(data, "<u4", count=1, offset=80)[0])
  if len(data) != 84 + 50 * count:
    raise ValueError(f"{path}: a binary STL of {count} triangles has {84 + 50 * count} bytes, "
                     f"the file {len(data)} (an ASCII STL, or truncated)")
  triangles = np.frombuffer(data, _STL_TRIANGLE, count=count, offset=84)
  return triangles["vertices"].astype(np.float64)


@functools.lru_cache(maxsize=None)
def mesh_vertices(object_id: str) -> np.ndarray:
  """[V, 3] the distinct vertices (metres, body frame centred on the bounding box)."""
  triangles = read_stl(mesh_path(object_id)).reshape(-1, 3)
  vertices = np.unique(np.round(triangles, 7), axis=0)
  vertices.setflags(write=False)
  return vertices


def is_box(object_id: str) -> bool:
  """Whether the object is an axis-aligned box (s0 and the rectangles): 8 vertices at the
  corners of its bounding box."""
  v = mesh_vertices(object_id)
  half = np.abs(v).max(axis=0)
  return len(v) == 8 and bool(np.allclose(np.abs(v), half, atol=1e-6))

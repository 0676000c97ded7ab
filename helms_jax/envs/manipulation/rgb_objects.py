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
from scipy.spatial import ConvexHull

__all__ = ["TRIPLETS", "OBJECT_IDS", "mesh_path", "parse_parameters", "read_stl",
           "mesh_vertices", "is_box", "centre_of_mass", "resting_vertices"]

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


def is_box(object_id_or_vertices) -> bool:
  """Whether an object (an id, or its vertices [V, 3] centred on their bounding box) is an
  axis-aligned box: 8 vertices at the corners of its bounding box (s0 and the rectangles)."""
  v = (mesh_vertices(object_id_or_vertices) if isinstance(object_id_or_vertices, str)
       else np.asarray(object_id_or_vertices))
  half = np.abs(v).max(axis=0)
  return len(v) == 8 and bool(np.allclose(np.abs(v), half, atol=1e-6))


def centre_of_mass(vertices: np.ndarray) -> np.ndarray:
  """[3] the centroid of the solid convex hull of `vertices` [V, 3] (uniform density)."""
  hull = ConvexHull(vertices)
  inner = vertices[hull.vertices].mean(axis=0)
  a, b, c = (vertices[hull.simplices[:, k]] for k in range(3))
  volumes = np.abs(np.einsum("ij,ij->i", a - inner, np.cross(b - inner, c - inner))) / 6
  return (volumes[:, None] * (a + b + c + inner) / 4).sum(axis=0) / volumes.sum()


def _rotation_to_down(normal: np.ndarray) -> np.ndarray:
  """[3, 3] the rotation taking the unit vector `normal` to -z (the shortest arc)."""
  down = np.array([0.0, 0.0, -1.0])
  axis, cos = np.cross(normal, down), float(np.dot(normal, down))
  if np.linalg.norm(axis) < 1e-9:
    return np.eye(3) if cos > 0 else np.diag([1.0, -1.0, -1.0])  # pi about x
  k = axis / np.linalg.norm(axis)
  skew = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
  sin = np.linalg.norm(axis)
  return np.eye(3) + sin * skew + (1 - cos) * skew @ skew


@functools.lru_cache(maxsize=None)
def resting_vertices(object_id: str) -> np.ndarray:
  """[V, 3] the object's vertices in its resting pose, centred on their bounding box.

  The benchmark drops its objects in random orientations; where they settle is mostly a face
  that holds the centre of mass low. The pose here: among the faces the object can rest on (the
  centre of mass projects inside them), the one with the lowest centre of mass, the prism's own
  base when that is within 0.5 mm of it (a polygon prism would otherwise lie on a side and roll);
  e.g. b6 (32 x 48 x 96 mm) lies on its 48 x 96 face, r6 (29 x 29 x 150) on a long face.
  """
  v = mesh_vertices(object_id)
  com = centre_of_mass(v)
  hull = ConvexHull(v)
  best = base = None  # (height of the centre of mass, rotation) of the lowest face, of the base
  for equation in np.unique(np.round(hull.equations, 9), axis=0):
    normal, offset = equation[:3] / np.linalg.norm(equation[:3]), equation[3]
    face = v[np.abs(v @ normal + offset) < 1e-6]
    rotation = _rotation_to_down(normal)
    face_xy, com_xy = (face @ rotation.T)[:, :2], (com @ rotation.T)[:2]
    edges = ConvexHull(face_xy).equations
    if np.any(edges[:, :2] @ com_xy + edges[:, 2] > -1e-6):
      continue  # the centre of mass is not over this face: it tips
    height = -(float(com @ normal) + offset)
    if best is None or height < best[0] - 1e-9:
      best = (height, rotation)
    if normal[2] < -1 + 1e-9:  # the prism's own base
      base = (height, rotation)
  if base is not None and base[0] <= best[0] + 5e-4:
    best = base
  rested = v @ best[1].T
  rested = rested - (rested.max(axis=0) + rested.min(axis=0)) / 2
  rested.setflags(write=False)
  return rested

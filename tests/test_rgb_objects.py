"""The RGB-Stacking test objects: each shipped mesh against the shape its file name describes
(sides, shrink, shear, scale), with geometry computed independently (hull, shoelace areas)."""

import math
import os

import numpy as np
import pytest
from scipy.spatial import ConvexHull

from helms_jax.envs.manipulation import rgb_objects


def _params(object_id):
  return rgb_objects.parse_parameters(rgb_objects.mesh_path(object_id))


def _shoelace(ring_xy: np.ndarray) -> float:
  """Area of a convex polygon given by its vertices in any order."""
  centre = ring_xy.mean(axis=0)
  order = np.argsort(np.arctan2(*(ring_xy - centre).T[::-1]))
  x, y = ring_xy[order].T
  return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def test_the_five_triplets_are_the_benchmarks():
  assert rgb_objects.TRIPLETS == {1: ("r3", "s0", "b2"), 2: ("r5", "g2", "b3"),
                                  3: ("r6", "g3", "b5"), 4: ("s0", "g5", "b6"),
                                  5: ("r2", "g6", "s0")}
  assert len(rgb_objects.OBJECT_IDS) == 13
  with pytest.raises(ValueError, match="unknown RGB test object"):
    rgb_objects.mesh_path("x9")


@pytest.mark.parametrize("object_id", rgb_objects.OBJECT_IDS)
def test_mesh_is_the_prism_its_name_describes(object_id):
  p = _params(object_id)
  v = rgb_objects.mesh_vertices(object_id) * 1000.0  # mm
  assert p["drf"] == p["hlw"] == p["shx"] == 0  # no draft, hollow or x shear among them
  # A prism: 2 * sides vertices, all of them extreme points of the hull, centred on the bbox.
  assert len(v) == 2 * p["sds"]
  assert len(ConvexHull(v).vertices) == len(v)
  np.testing.assert_allclose((v.max(0) + v.min(0)) / 2, 0.0, atol=1e-3)
  bottom, top = v[v[:, 2] < 0], v[v[:, 2] > 0]
  np.testing.assert_allclose(bottom[:, 2], -p["scz"] / 2, atol=1e-3)
  np.testing.assert_allclose(top[:, 2], p["scz"] / 2, atol=1e-3)
  # The top face is the bottom face shifted by scz tan(shy) along y (zero unless sheared).
  shift = p["scz"] * math.tan(math.radians(p["shy"]))
  np.testing.assert_allclose(np.sort(top[:, 0]), np.sort(bottom[:, 0]), atol=1e-3)
  np.testing.assert_allclose(top[:, 1].mean() - bottom[:, 1].mean(), shift, atol=0.05)
  area = _shoelace(bottom[:, :2])
  hull_volume = ConvexHull(v).volume
  np.testing.assert_allclose(hull_volume, area * p["scz"], rtol=1e-4)  # a prism
  axis = object_id[1]
  if axis in ("0", "6"):  # the seed cube and the rectangles: scx x scy x scz boxes
    assert rgb_objects.is_box(object_id)
    np.testing.assert_allclose(v.max(0) - v.min(0), [p["scx"], p["scy"], p["scz"]], atol=1e-3)
  else:
    assert not rgb_objects.is_box(object_id)
  if axis == "5":  # parallelograms: a scx x scy rectangle, sheared along y
    np.testing.assert_allclose(v.max(0) - v.min(0), [p["scx"], p["scy"] + shift, p["scz"]],
                               atol=0.05)
  if axis == "2":  # regular polygons of area scx * scy
    radii = np.linalg.norm(bottom[:, :2], axis=1)
    np.testing.assert_allclose(radii, radii.mean(), rtol=1e-3)
    np.testing.assert_allclose(area, p["scx"] * p["scy"], rtol=2e-3)
  if axis == "3":  # isosceles trapezoids, parallel sides along y, long side at -x
    xs = np.unique(np.round(bottom[:, 0], 2))
    assert len(xs) == 2
    long_side = np.ptp(bottom[np.isclose(bottom[:, 0], xs[0], atol=0.05), 1])
    short_side = np.ptp(bottom[np.isclose(bottom[:, 0], xs[1], atol=0.05), 1])
    a = p["shr"] / (100 * math.sqrt(2))
    np.testing.assert_allclose(long_side / short_side, (1 + a) / (1 - a), rtol=2e-3)


def test_read_stl_names_a_bad_file(tmp_path):
  path = os.path.join(tmp_path, "x.stl")
  with open(rgb_objects.mesh_path("s0"), "rb") as f:
    data = f.read()
  with open(path, "wb") as f:
    f.write(data[:-10])
  with pytest.raises(ValueError, match="truncated"):
    rgb_objects.read_stl(path)
  with pytest.raises(ValueError, match="parameters"):
    rgb_objects.parse_parameters("s0_sds4.stl")


@pytest.mark.parametrize("object_id", rgb_objects.OBJECT_IDS)
def test_resting_pose_holds_the_centre_of_mass_lowest(object_id):
  """Over 20,000 random orientations, none rests with its centre of mass lower above the
  table than the chosen pose (beyond the 0.5 mm a polygon may give up to stand on its base):
  the lowest potential energy is a rest on a face. The pose is the mesh rotated (distances
  between vertices kept) and centred on its bounding box, with a face flat on the table."""
  rested = rgb_objects.resting_vertices(object_id)
  original = rgb_objects.mesh_vertices(object_id)
  height = rgb_objects.centre_of_mass(rested)[2] - rested[:, 2].min()
  quats = np.random.default_rng(0).normal(size=(20_000, 4))
  quats /= np.linalg.norm(quats, axis=1, keepdims=True)
  w, x, y, z = quats.T
  rotations = np.stack([
      np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
      np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
      np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1)], 1)
  com = rgb_objects.centre_of_mass(original)
  heights = np.einsum("nij,j->ni", rotations, com)[:, 2] - np.einsum(
      "nij,vj->nvi", rotations, original)[..., 2].min(axis=1)
  assert height <= heights.min() + 5e-4
  pairwise = lambda v: np.linalg.norm(v[:, None] - v[None], axis=-1)
  np.testing.assert_allclose(np.sort(pairwise(rested).ravel()),
                             np.sort(pairwise(original).ravel()), atol=1e-9)
  np.testing.assert_allclose((rested.max(0) + rested.min(0)) / 2, 0.0, atol=1e-12)
  assert np.sum(np.isclose(rested[:, 2], rested[:, 2].min(), atol=1e-9)) >= 3  # a face down

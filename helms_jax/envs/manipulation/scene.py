"""The manipulation scene: a gantry arm with a parallel gripper over a table, three coloured objects.

Everything is generated here as MJCF (nothing downloaded). Designed for MJX on CPU as well as
accelerators (see ../shared/NOTES.md and benchmarks/env_throughput.py):
- collisions only through an explicit `<contact><pair>` list (objects–table, objects–fingertips,
  objects–objects): 30 contact slots instead of every geom pair;
- fingertips are spheres (one contact per object) with torsional friction (condim 4) so a
  two-point grasp does not pivot. Known limitation: a held cube creeps down in a still grasp
  (~0.5 mm per control step); `impratio=10` cuts that to 0.04 mm but made placed stacks
  come apart later in the episode (expert end-of-episode success on set 4 fell from 88% to
  19%), so it is not used until that interaction is understood;
- boxes are MuJoCo boxes, other shapes small convex meshes (≤ 12 vertices);
- Newton solver with few iterations (configurable), Euler damping off (joint armature keeps the
  explicit damping stable), arm gravity compensated.

Arm: a Cartesian (gantry) arm — slide joints x, y, z and a wrist yaw hinge — carrying two
fingers on slide joints, all driven by position actuators. The env turns end-effector velocity
commands into actuator targets, i.e. an end-effector velocity controller, which is what the
HeLMS/RGB-stacking agents command at 20 Hz.

Object sets (red, green, blue), in the spirit of RGB-stacking (Lee et al., 2021):
  1 slanted faces     red: box with a slanted top, green: wedge (ridge top), blue: frustum
  2 aspect ratios     red: tall box, green: flat wide box, blue: long bar
  3 sizes             red: small cube, green: medium cube, blue: large cube
  4 plain cubes       three 5 cm cubes (the HeLMS default)
  5 hard shapes       red: hexagonal prism, green: triangular prism, blue: narrow-top frustum
"""

from __future__ import annotations

import dataclasses

import numpy as np

OBJECT_NAMES = ("red", "green", "blue")
OBJECT_RGBA = {"red": "0.85 0.15 0.15 1", "green": "0.15 0.7 0.2 1", "blue": "0.15 0.3 0.85 1"}
OBJECT_SETS = (1, 2, 3, 4, 5)

TABLE_HALF = 0.30  # the table plane spans [-0.3, 0.3]^2 (visual only; the plane is infinite)
WORKSPACE_HALF = 0.16  # objects are placed in [-0.16, 0.16]^2
FINGER_TRAVEL = 0.045  # each finger slides 0 (open) .. 0.045 (closed) towards the centre
FINGER_OPEN_HALF = 0.05  # fingertip centre |y| when open
FINGERTIP_RADIUS = 0.01
FINGER_LENGTH = 0.07  # gripper body origin -> fingertip centre (downwards)
Z_RANGE = (0.07, 0.35)  # gripper body height range; fingertips stay above the table
XY_RANGE = 0.25
YAW_RANGE = 1.6


@dataclasses.dataclass(frozen=True)
class ObjectShape:
  """A convex object, vertices in its body frame (origin at the bounding-box centre).

  `box_half` is set for plain boxes (collided as MuJoCo boxes, cheaper than meshes).
  """
  kind: str
  vertices: np.ndarray  # [V, 3]
  box_half: tuple[float, float, float] | None = None

  @property
  def bottom(self) -> float:
    """Distance from the body origin down to the resting face (z of the centre at rest)."""
    return float(-self.vertices[:, 2].min())

  @property
  def top(self) -> float:
    """Height of the highest point above the body origin."""
    return float(self.vertices[:, 2].max())

  @property
  def half_extents(self) -> np.ndarray:
    return np.abs(self.vertices).max(axis=0)


def _box(hx, hy, hz, kind="box") -> ObjectShape:
  v = np.array([[sx * hx, sy * hy, sz * hz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
  return ObjectShape(kind, v, (hx, hy, hz))


def _slanted_top(hx, hy, z_low, z_high, hz_bottom) -> ObjectShape:
  """Box whose top face slopes from z_low (x=-hx) to z_high (x=+hx); origin at bbox centre."""
  pts = []
  for sx in (-1, 1):
    for sy in (-1, 1):
      pts.append([sx * hx, sy * hy, -hz_bottom])
      pts.append([sx * hx, sy * hy, z_low if sx < 0 else z_high])
  v = np.array(pts)
  v[:, 2] -= (v[:, 2].max() + v[:, 2].min()) / 2
  return ObjectShape("slanted_box", v)


def _wedge(hx, hy, hz) -> ObjectShape:
  """Triangular prism lying on a rectangle, ridge along x at the top (hard to stack on)."""
  v = np.array([[sx * hx, sy * hy, -hz] for sx in (-1, 1) for sy in (-1, 1)]
               + [[sx * hx, 0.0, hz] for sx in (-1, 1)])
  return ObjectShape("wedge", v)


def _frustum(h_bottom, h_top, hz) -> ObjectShape:
  """Square frustum: half-width h_bottom at the base, h_top at the top (slanted sides)."""
  v = np.array([[sx * h_bottom, sy * h_bottom, -hz] for sx in (-1, 1) for sy in (-1, 1)]
               + [[sx * h_top, sy * h_top, hz] for sx in (-1, 1) for sy in (-1, 1)])
  return ObjectShape("frustum", v)


def _prism(n, radius, hz, kind) -> ObjectShape:
  """Regular n-gon prism with a flat face facing ±y (so the gripper can close on it)."""
  angles = np.pi / n + 2 * np.pi * np.arange(n) / n + np.pi / 2
  ring = np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)
  v = np.concatenate([np.c_[ring, np.full(n, -hz)], np.c_[ring, np.full(n, hz)]])
  return ObjectShape(kind, v)


def object_set(index: int) -> tuple[ObjectShape, ObjectShape, ObjectShape]:
  """The (red, green, blue) shapes of object set `index` (1..5)."""
  cube = _box(0.025, 0.025, 0.025, "cube")
  sets = {
      1: (_slanted_top(0.025, 0.025, 0.012, 0.030, 0.025), _wedge(0.025, 0.028, 0.022),
          _frustum(0.032, 0.022, 0.022)),
      2: (_box(0.018, 0.018, 0.04, "tall_box"), _box(0.04, 0.03, 0.015, "flat_box"),
          _box(0.05, 0.02, 0.02, "bar")),
      3: (_box(0.018, 0.018, 0.018, "small_cube"), cube, _box(0.034, 0.034, 0.034, "large_cube")),
      4: (cube, cube, cube),
      5: (_prism(6, 0.03, 0.025, "hexagonal_prism"), _prism(3, 0.034, 0.025, "triangular_prism"),
          _frustum(0.032, 0.012, 0.025)),
  }
  if index not in sets:
    raise ValueError(f"unknown object_set {index!r}; valid object sets: "
                     f"{', '.join(map(str, OBJECT_SETS))}")
  return sets[index]


def _fmt(values) -> str:
  return " ".join(f"{float(x):.5g}" for x in np.ravel(values))


def build_mjcf(object_set_index: int, *, timestep: float = 0.01, solver_iterations: int = 1,
               ls_iterations: int = 4) -> str:
  """The scene's MJCF as a string."""
  shapes = object_set(object_set_index)
  assets, objects, pairs = [], [], []
  for name, shape in zip(OBJECT_NAMES, shapes):
    if shape.box_half is not None:
      geom = f'type="box" size="{_fmt(shape.box_half)}"'
    else:
      assets.append(f'<mesh name="{name}_mesh" vertex="{_fmt(shape.vertices)}"/>')
      geom = f'type="mesh" mesh="{name}_mesh"'
    objects.append(
        f'<body name="{name}" pos="0 0 {shape.bottom:.5g}"><freejoint name="{name}"/>'
        f'<geom name="{name}" {geom} rgba="{OBJECT_RGBA[name]}" density="600" '
        f'friction="0.9 0.01 0.001"/></body>')
    pairs.append(f'<pair geom1="{name}" geom2="table"/>')
    for tip in ("fingertip_left", "fingertip_right"):
      pairs.append(f'<pair geom1="{name}" geom2="{tip}" condim="4" friction="1.5 1.5 0.02 0.001 0.001"/>')
  for i in range(3):
    for j in range(i + 1, 3):
      pairs.append(f'<pair geom1="{OBJECT_NAMES[i]}" geom2="{OBJECT_NAMES[j]}"/>')
  finger_y = FINGER_OPEN_HALF
  return f"""<mujoco model="helms_stacking_set{object_set_index}">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="{timestep}" iterations="{solver_iterations}" ls_iterations="{ls_iterations}">
    <flag eulerdamp="disable"/>
  </option>
  <default><geom contype="0" conaffinity="0"/></default>
  <visual><headlight diffuse="0.6 0.6 0.6" ambient="0.3 0.3 0.3"/></visual>
  <asset>{''.join(assets)}</asset>
  <worldbody>
    <light pos="0 0 1.5" dir="0 0 -1"/>
    <geom name="table" type="plane" size="{TABLE_HALF} {TABLE_HALF} 0.01" rgba="0.8 0.75 0.65 1"/>
    <camera name="front" pos="0 -0.55 0.45" xyaxes="1 0 0 0 0.63 0.77"/>
    <body name="gripper" pos="0 0 0" gravcomp="1">
      <joint name="arm_x" type="slide" axis="1 0 0" range="{-XY_RANGE} {XY_RANGE}" damping="20" armature="0.5"/>
      <joint name="arm_y" type="slide" axis="0 1 0" range="{-XY_RANGE} {XY_RANGE}" damping="20" armature="0.5"/>
      <joint name="arm_z" type="slide" axis="0 0 1" range="{Z_RANGE[0]} {Z_RANGE[1]}" damping="20" armature="0.5"/>
      <joint name="arm_yaw" type="hinge" axis="0 0 1" range="{-YAW_RANGE} {YAW_RANGE}" damping="1" armature="0.02"/>
      <geom name="palm" type="box" size="0.015 0.06 0.01" mass="0.5" rgba="0.3 0.3 0.3 1"/>
      <site name="grip_centre" pos="0 0 {-FINGER_LENGTH}" size="0.005"/>
      <body name="finger_left" pos="0 {finger_y} 0" gravcomp="1">
        <joint name="finger_left" type="slide" axis="0 -1 0" range="0 {FINGER_TRAVEL}" damping="4" armature="0.05"/>
        <geom type="capsule" fromto="0 0 0 0 0 {-FINGER_LENGTH}" size="0.006" mass="0.05" rgba="0.4 0.4 0.4 1"/>
        <geom name="fingertip_left" type="sphere" pos="0 0 {-FINGER_LENGTH}" size="{FINGERTIP_RADIUS}" mass="0.02" rgba="0.2 0.2 0.2 1"/>
      </body>
      <body name="finger_right" pos="0 {-finger_y} 0" gravcomp="1">
        <joint name="finger_right" type="slide" axis="0 1 0" range="0 {FINGER_TRAVEL}" damping="4" armature="0.05"/>
        <geom type="capsule" fromto="0 0 0 0 0 {-FINGER_LENGTH}" size="0.006" mass="0.05" rgba="0.4 0.4 0.4 1"/>
        <geom name="fingertip_right" type="sphere" pos="0 0 {-FINGER_LENGTH}" size="{FINGERTIP_RADIUS}" mass="0.02" rgba="0.2 0.2 0.2 1"/>
      </body>
    </body>
    {''.join(objects)}
  </worldbody>
  <contact>{''.join(pairs)}</contact>
  <actuator>
    <position name="arm_x" joint="arm_x" kp="600" ctrlrange="{-XY_RANGE} {XY_RANGE}"/>
    <position name="arm_y" joint="arm_y" kp="600" ctrlrange="{-XY_RANGE} {XY_RANGE}"/>
    <position name="arm_z" joint="arm_z" kp="600" ctrlrange="{Z_RANGE[0]} {Z_RANGE[1]}"/>
    <position name="arm_yaw" joint="arm_yaw" kp="30" ctrlrange="{-YAW_RANGE} {YAW_RANGE}"/>
    <position name="finger_left" joint="finger_left" kp="80" ctrlrange="0 {FINGER_TRAVEL}"/>
    <position name="finger_right" joint="finger_right" kp="80" ctrlrange="0 {FINGER_TRAVEL}"/>
  </actuator>
</mujoco>"""

"""The manipulation scene: a gantry arm with a parallel gripper over a table, three coloured objects.

Everything is generated here as MJCF (nothing downloaded). Designed for MJX on CPU as well as
accelerators (see ../shared/NOTES.md and benchmarks/env_throughput.py):
- collisions only through an explicit `<contact><pair>` list (objects–table, objects–fingertips,
  objects–objects): 30 contact slots instead of every geom pair;
- fingertips are spheres (one contact per object) with torsional friction (condim 4) so a
  two-point grasp does not pivot. Known limitation: a held cube creeps down in a still grasp
  (~0.5 mm per control step); `impratio=10` cuts that to 0.04 mm but made placed stacks
  come apart later in the episode (expert end-of-episode success on set 4 fell from 88% to
  19%), so it is not used until that interaction is understood. The block-stacking scene
  (`build_blocks_mjcf`) instead stiffens the fingertip contacts alone (`BLOCKS_FINGER_SOLIMP`:
  0.1 mm per step); the stacking scene is unchanged;
- boxes are MuJoCo boxes, other shapes small convex meshes (≤ 12 vertices);
- Newton solver with few iterations (configurable), Euler damping off (joint armature keeps the
  explicit damping stable), arm gravity compensated.

Arm: a Cartesian (gantry) arm — slide joints x, y, z and a wrist yaw hinge — carrying two
fingers on slide joints, all driven by position actuators. The env turns end-effector velocity
commands into actuator targets, i.e. an end-effector velocity controller, which is what the
HeLMS/RGB-stacking agents command at 20 Hz.

Object sets (red, green, blue), family "rgb": the RGB-Stacking benchmark's five test triplets
(Lee et al., 2021; `rgb_objects.py`, its own meshes): 1 (r3, s0, b2), 2 (r5, g2, b3),
3 (r6, g3, b5), 4 (s0, g5, b6), 5 (r2, g6, s0), at 0.2 kg each, the benchmark's mass. The
benchmark drops its objects in random orientations; here each object rests on the face that
holds its centre of mass lowest (`rgb_objects.resting_vertices`: e.g. the 96 mm b6 and the
150 mm r6 lie on a long face), with a random yaw per episode.
Family "simple" (the default until the experiments move to "rgb"), invented in the spirit
of RGB-stacking:
  1 slanted faces     red: box with a slanted top, green: wedge (ridge top), blue: frustum
  2 aspect ratios     red: tall box, green: flat wide box, blue: long bar
  3 sizes             red: small cube, green: medium cube, blue: large cube
  4 plain cubes       three 5 cm cubes (the HeLMS default)
  5 hard shapes       red: hexagonal prism, green: triangular prism, blue: narrow-top frustum

Block stacking (`build_blocks_mjcf`, `blocks.py`): the same arm with N identical set-4 cubes.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from helms_jax.envs.manipulation import rgb_objects

OBJECT_NAMES = ("red", "green", "blue")
OBJECT_RGBA = {"red": "0.85 0.15 0.15 1", "green": "0.15 0.7 0.2 1", "blue": "0.15 0.3 0.85 1"}
OBJECT_SETS = (1, 2, 3, 4, 5)
OBJECT_FAMILIES = ("simple", "rgb")
RGB_OBJECT_MASS = 0.2  # kg, every RGB-Stacking object (dm_robotics MeshProp's default)

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
  mass: float | None = None  # kg; None: density 600 kg/m^3

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


def rgb_shape(object_id: str) -> ObjectShape:
  """An RGB-Stacking test object (`rgb_objects.OBJECT_IDS`) in its resting pose."""
  vertices = np.array(rgb_objects.resting_vertices(object_id))
  box_half = None
  if rgb_objects.is_box(vertices):
    box_half = tuple(float(h) for h in np.abs(vertices).max(axis=0))
  return ObjectShape(object_id, vertices, box_half, mass=RGB_OBJECT_MASS)


def object_set(index: int, family: str = "simple"
               ) -> tuple[ObjectShape, ObjectShape, ObjectShape]:
  """The (red, green, blue) shapes of object set `index` (1..5) of `family`."""
  if family not in OBJECT_FAMILIES:
    raise ValueError(f"unknown object family {family!r}; valid: {', '.join(OBJECT_FAMILIES)}")
  if family == "rgb":
    if index not in rgb_objects.TRIPLETS:
      raise ValueError(f"unknown object_set {index!r}; valid object sets: "
                       f"{', '.join(map(str, OBJECT_SETS))}")
    red, green, blue = (rgb_shape(i) for i in rgb_objects.TRIPLETS[index])
    return red, green, blue
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


def _object_body(name: str, shape: ObjectShape, rgba: str, assets: list[str]) -> str:
  """The MJCF body of one free object (appends its mesh asset, if any, to `assets`)."""
  if shape.box_half is not None:
    geom = f'type="box" size="{_fmt(shape.box_half)}"'
  else:
    assets.append(f'<mesh name="{name}_mesh" vertex="{_fmt(shape.vertices)}"/>')
    geom = f'type="mesh" mesh="{name}_mesh"'
  inertia = 'density="600"' if shape.mass is None else f'mass="{shape.mass:.5g}"'
  return (f'<body name="{name}" pos="0 0 {shape.bottom:.5g}"><freejoint name="{name}"/>'
          f'<geom name="{name}" {geom} rgba="{rgba}" {inertia} '
          f'friction="0.9 0.01 0.001"/></body>')


def _contact_pairs(names: tuple[str, ...], finger_solimp: str | None = None) -> list[str]:
  """Each object with the table and both fingertips, then every object pair (i < j)."""
  pairs = []
  tip_extra = "" if finger_solimp is None else f' solimp="{finger_solimp}"'
  for name in names:
    pairs.append(f'<pair geom1="{name}" geom2="table"/>')
    for tip in ("fingertip_left", "fingertip_right"):
      pairs.append(f'<pair geom1="{name}" geom2="{tip}" condim="4" friction="1.5 1.5 0.02 0.001 0.001"{tip_extra}/>')
  for i in range(len(names)):
    for j in range(i + 1, len(names)):
      pairs.append(f'<pair geom1="{names[i]}" geom2="{names[j]}"/>')
  return pairs


def build_mjcf(object_set_index: int, *, family: str = "simple", timestep: float = 0.01,
               solver_iterations: int = 1, ls_iterations: int = 4) -> str:
  """The scene's MJCF as a string."""
  shapes = object_set(object_set_index, family)
  assets: list[str] = []
  objects = [_object_body(name, shape, OBJECT_RGBA[name], assets)
             for name, shape in zip(OBJECT_NAMES, shapes)]
  return _scene_mjcf(f"helms_stacking_{family}{object_set_index}", assets, objects,
                     _contact_pairs(OBJECT_NAMES), timestep=timestep,
                     solver_iterations=solver_iterations, ls_iterations=ls_iterations)


# Block stacking (`blocks.py`): N identical set-4 cubes, colours cycling through these.
BLOCK_RGBA = ("0.85 0.15 0.15 1", "0.15 0.7 0.2 1", "0.15 0.3 0.85 1", "0.9 0.8 0.15 1",
              "0.75 0.2 0.75 1", "0.15 0.75 0.8 1")
# Fingertip–block contact impedance of the block scene (MuJoCo's default: "0.9 0.95 0.001").
# With the default a held cube creeps down 0.5 mm per control step whatever the solver
# iterations (measured with 1 and 3), and one held 4 mm off-centre pivots about the fingertip
# axis by 19° in 40 steps; a tower needs ~40-step carries and level blocks. With 0.99 the creep
# is 0.1 mm/step and the pivot 6° (same test); grasp, lift, place and release are unchanged.
BLOCKS_FINGER_SOLIMP = "0.99 0.99 0.001"
# Known limitation (block–block contacts keep MuJoCo's default impedance): a hand-built 5-block
# tower (blocks within 3 mm of centred) creeps sideways under MJX's 1-iteration Newton solver
# and topples after 200-300 control steps (2 iterations: 300-400). solimp 0.99
# on the block–block pairs keeps it standing for 600 steps, but the expert's placements then
# fail (5-block towers in 5% of 600-step episodes instead of 100%), so it is not used.
# A taller gantry for towers: carrying a cube over a k-block tower puts the gripper body at
# about 0.05 k + 0.11 m, so the stacking arm's 0.35 m stops at 5-block towers; 0.45 m allows 7.
BLOCKS_Z_MAX = 0.45


def block_names(num_blocks: int) -> tuple[str, ...]:
  return tuple(f"block{i}" for i in range(num_blocks))


def block_shape() -> ObjectShape:
  """The block: object set 4's 5 cm cube."""
  return object_set(4)[0]


def build_blocks_mjcf(num_blocks: int, *, timestep: float = 0.01, solver_iterations: int = 1,
                      ls_iterations: int = 4, z_max: float = BLOCKS_Z_MAX,
                      finger_solimp: str = BLOCKS_FINGER_SOLIMP) -> str:
  """MJCF of the same arm and table with `num_blocks` identical cubes `block0..`.

  Contact pairs: blocks–table, blocks–fingertips (2 each, impedance `finger_solimp`),
  blocks–blocks (N(N-1)/2). The arm's z travel ends at `z_max`.
  """
  if num_blocks < 1:
    raise ValueError(f"num_blocks must be >= 1, got {num_blocks}")
  names = block_names(num_blocks)
  assets: list[str] = []
  objects = [_object_body(name, block_shape(), BLOCK_RGBA[i % len(BLOCK_RGBA)], assets)
             for i, name in enumerate(names)]
  return _scene_mjcf(f"helms_blocks_{num_blocks}", assets, objects,
                     _contact_pairs(names, finger_solimp),
                     timestep=timestep, solver_iterations=solver_iterations,
                     ls_iterations=ls_iterations, z_range=(Z_RANGE[0], z_max))


def _scene_mjcf(model_name: str, assets: list[str], objects: list[str], pairs: list[str], *,
                timestep: float, solver_iterations: int, ls_iterations: int,
                z_range: tuple[float, float] = Z_RANGE) -> str:
  """The arm, table, camera and actuators around the given object bodies and contact pairs."""
  finger_y = FINGER_OPEN_HALF
  return f"""<mujoco model="{model_name}">
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
      <joint name="arm_z" type="slide" axis="0 0 1" range="{z_range[0]} {z_range[1]}" damping="20" armature="0.5"/>
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
    <position name="arm_z" joint="arm_z" kp="600" ctrlrange="{z_range[0]} {z_range[1]}"/>
    <position name="arm_yaw" joint="arm_yaw" kp="30" ctrlrange="{-YAW_RANGE} {YAW_RANGE}"/>
    <position name="finger_left" joint="finger_left" kp="80" ctrlrange="0 {FINGER_TRAVEL}"/>
    <position name="finger_right" joint="finger_right" kp="80" ctrlrange="0 {FINGER_TRAVEL}"/>
  </actuator>
</mujoco>"""

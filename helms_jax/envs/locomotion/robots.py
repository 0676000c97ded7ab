"""The robots of the locomotion tasks: brax's own envs, built with arenas and CPU solver settings.

Nothing here re-implements a robot: `make_ant` returns brax's `Ant` and `make_planar` brax's
`HalfCheetah` / `Walker2d` / `Hopper`, all on the MJX pipeline. Two things are changed:

* Arenas (ant only). brax's ant MJCF (`brax/envs/assets/ant.xml`, read from the installed
  package) gets extra geoms that the ant collides with: `num_pillars` vertical capsules on
  mocap bodies (moved per episode through `mjx.Data.mocap_pos`, see `set_pillars`) and static
  box walls. The augmented model is built the way brax builds its own
  (`mjcf.fuse_bodies` on the robot, `mjcf.load_model`), with brax's MJX solver options for the
  ant copied over, and swapped into the `Ant` instance (`Ant.sys`); brax's `reset`/`step`
  then run on it unchanged. Pillars are added after the robot in `<worldbody>`, so body 0
  (`x.pos[0]`) is still the torso and `q`/`qd` are unchanged (mocap bodies have no dofs).
* Solver settings (planar robots). brax gives hopper/walker2d/halfcheetah MuJoCo's defaults
  (Newton, 4 iterations, 50 line-search steps); under `vmap` every line-search step runs, which
  made them 10-25x slower than the ant on CPU. `PLANAR_SOLVER` holds the settings used instead,
  chosen by the measurements next to it (speed, and no non-finite state in long random runs);
  `tests/test_locomotion.py` re-checks 200 random steps at batch 4 (slow tests).

Ant-arena contacts. In brax's ant only the four foot spheres collide (with the floor); the torso
and legs pass through everything. Arena geoms have contype = conaffinity = 0 and collide only
through explicit `<pair>`s with `ANT_ARENA_COLLIDERS` (the torso sphere, the four lower-leg
capsules and the four foot spheres), so the floor contacts and brax's robot are untouched. The
pairs are frictionless (condim 1: an obstacle pushes, it cannot be climbed by friction), and
MJX keeps only the `ARENA_MAX_CONTACTS` deepest arena contacts per step (`max_contact_points`
applies per condim group; the floor's condim-3 group holds 4 contacts and is unaffected).
MJX collides these pairs analytically (sphere-capsule, capsule-capsule) for pillars and with
its convex routine for walls (sphere-box, capsule-box).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence
import xml.etree.ElementTree as ET

from brax.envs.ant import Ant
from brax.envs.half_cheetah import Halfcheetah
from brax.envs.hopper import Hopper
from brax.envs.walker2d import Walker2d
from brax.io import mjcf
from etils import epath
import jax
import jax.numpy as jnp
from mujoco import mjx
import mujoco

from helms_jax.envs.registry import EnvKwargError

__all__ = [
    "Wall", "ANT_ARENA_COLLIDERS", "ARENA_MAX_CONTACTS", "PILLAR_HEIGHT", "WALL_HEIGHT",
    "PLANAR_FRAMES", "PLANAR_ROBOTS", "PLANAR_SOLVER",
    "ant_arena_model", "check_mjx_backend", "make_ant", "make_planar", "set_pillars",
]

# Ant geoms that collide with arena geoms: the torso, the lower legs and the feet. The upper
# legs are left out (fewer pairs): they end 0.65 m from the root, where the torso (radius 0.25)
# already keeps a pillar (radius 0.4) out.
ANT_ARENA_COLLIDERS = (
    "torso_geom",
    "left_ankle_geom", "right_ankle_geom", "third_ankle_geom", "fourth_ankle_geom",
    "left_foot_geom", "right_foot_geom", "third_foot_geom", "fourth_foot_geom",
)
# The ant touches at most a few arena geoms at once; MJX computes every pair's contact but
# the constraint solver only sees this many (the deepest).
ARENA_MAX_CONTACTS = 8
# Pillars and walls are much taller than the ant (0.75 m): an ant hitting one at 10 m/s pivots
# on its legs and is thrown up to ~3 m (measured), and must not clear it.
PILLAR_HEIGHT = 3.0
WALL_HEIGHT = 3.5
# Where unused/not-yet-placed pillars wait: far from anything the ant can reach.
_PILLAR_PARKING = (1000.0, 1000.0)


@dataclasses.dataclass(frozen=True)
class Wall:
  """A static box wall standing on the floor.

  Attributes:
    center: (x, y) of the wall's centre (m).
    half_size: (half length along x, half width along y) (m).
    height: full height (m).
  """
  center: tuple[float, float]
  half_size: tuple[float, float]
  height: float = WALL_HEIGHT


def _ant_xml_root() -> ET.Element:
  """brax's ant MJCF with joint-less bodies fused, as brax's own loader does."""
  xml = (epath.resource_path("brax") / "envs/assets/ant.xml").read_text()
  return ET.fromstring(mjcf.fuse_bodies(xml))


def ant_arena_model(
    num_pillars: int = 0,
    pillar_radius: float = 0.4,
    pillar_height: float = PILLAR_HEIGHT,
    walls: Sequence[Wall] = (),
) -> mujoco.MjModel:
  """brax's ant MJCF plus `num_pillars` mocap capsules and static box `walls`.

  Pillar k is body `pillar{k}` (mocap), holding a vertical capsule of radius `pillar_radius`
  whose axis runs from z = 0 to z = `pillar_height` above the body origin; bodies start at
  `_PILLAR_PARKING`. Walls are geoms `wall{k}` of the world body. Solver options are the ant
  MJCF's own; `make_ant` replaces them with brax's MJX settings.
  """
  if num_pillars < 0 or pillar_radius <= 0 or pillar_height <= 0:
    raise ValueError(
        f"need num_pillars >= 0, pillar_radius > 0, pillar_height > 0; got {num_pillars}, "
        f"{pillar_radius}, {pillar_height}")
  root = _ant_xml_root()
  world = root.find("worldbody")
  arena = []
  for k in range(num_pillars):
    px, py = _PILLAR_PARKING
    body = ET.SubElement(world, "body", name=f"pillar{k}", mocap="true",
                         pos=f"{px + 10.0 * k} {py} 0")
    ET.SubElement(body, "geom", name=f"pillar{k}", type="capsule", size=f"{pillar_radius}",
                  fromto=f"0 0 0 0 0 {pillar_height}", contype="0", conaffinity="0",
                  rgba="0.7 0.3 0.3 1")
    arena.append(f"pillar{k}")
  for k, wall in enumerate(walls):
    (cx, cy), (hx, hy) = wall.center, wall.half_size
    if hx <= 0 or hy <= 0 or wall.height <= 0:
      raise ValueError(f"wall {k} needs positive sizes, got {wall}")
    ET.SubElement(world, "geom", name=f"wall{k}", type="box",
                  size=f"{hx} {hy} {wall.height / 2}",
                  pos=f"{cx} {cy} {wall.height / 2}", contype="0", conaffinity="0",
                  rgba="0.3 0.3 0.7 1")
    arena.append(f"wall{k}")
  if arena:
    contact = root.find("contact")
    if contact is None:
      contact = ET.SubElement(root, "contact")
    for geom in arena:
      for collider in ANT_ARENA_COLLIDERS:
        ET.SubElement(contact, "pair", geom1=collider, geom2=geom, condim="1")
    # First in <custom>: MJX reads a numeric as `numeric_data[numeric_id]`, which is only
    # right when every numeric before it has one value (the ant's `init_qpos` has 15).
    numeric = ET.Element("numeric", name="max_contact_points", data=str(ARENA_MAX_CONTACTS))
    root.find("custom").insert(0, numeric)
  return mujoco.MjModel.from_xml_string(ET.tostring(root, encoding="unicode"))


def _copy_solver_options(mj: mujoco.MjModel, opt) -> None:
  """Writes the solver fields of a brax `sys.opt` into `mj.opt` (in place)."""
  mj.opt.solver = int(opt.solver)
  mj.opt.iterations = int(opt.iterations)
  mj.opt.ls_iterations = int(opt.ls_iterations)
  mj.opt.disableflags = int(opt.disableflags)


def make_ant(
    num_pillars: int = 0,
    pillar_radius: float = 0.4,
    pillar_height: float = PILLAR_HEIGHT,
    walls: Sequence[Wall] = (),
) -> Ant:
  """brax's `Ant` on MJX, no termination, root (x, y) in the observation, optional arena.

  Observation [29] (brax's, with positions): `q` [15] = root xyz (0:3), root quaternion
  (3:7), 8 hinge angles (7:15); then `qd` [14] = root linear velocity in the world frame
  (15:18), root angular velocity (18:21), 8 hinge velocities (21:29).

  Args:
    num_pillars, pillar_radius, pillar_height, walls: the arena (`ant_arena_model`); with no
      pillars and no walls this is exactly brax's ant.
  Returns:
    the brax env (`terminate_when_unhealthy=False`,
    `exclude_current_positions_from_observation=False`, `backend='mjx'`).
  """
  env = Ant(backend="mjx", terminate_when_unhealthy=False,
            exclude_current_positions_from_observation=False)
  if num_pillars or walls:
    mj = ant_arena_model(num_pillars, pillar_radius, pillar_height, walls)
    _copy_solver_options(mj, env.sys.opt)  # brax's MJX settings for the ant
    env.sys = mjcf.load_model(mj)
  return env


def set_pillars(sys, pipeline_state, xy: jax.Array):
  """Moves the pillars of an arena ant to `xy: [num_pillars, 2]` (pipeline_state from reset).

  Writes `mocap_pos` and recomputes the kinematics so the state is consistent (positions of
  bodies and geoms, brax's `x`); contacts appear at the next step, whose `mjx.step` collides
  with the new positions.
  """
  num = pipeline_state.mocap_pos.shape[0]
  if xy.shape != (num, 2):
    raise ValueError(f"pillar positions must have shape [{num}, 2], got {xy.shape}")
  pos = jnp.concatenate([xy, jnp.zeros((num, 1), xy.dtype)], axis=-1)
  data = mjx.kinematics(sys, pipeline_state.replace(mocap_pos=pos))
  return data.replace(x=data.x.replace(pos=data.xpos[1:], rot=data.xquat[1:]))


# The planar robots by name: brax's class (their tasks are in planar_tasks.py).
PLANAR_ROBOTS = {
    "halfcheetah": Halfcheetah,
    "walker2d": Walker2d,
    "hopper": Hopper,
}

# Solver settings for CPU speed (Newton, MuJoCo's default solver; Euler damping stays on).
# brax's defaults are iterations=4, ls_iterations=50 (mjx's default line search). Measured on
# the 2-core CPU, batch 64, 1000 steps of uniform random actions, 3 seeds (env steps/s | envs
# with a non-finite observation):
#                 default (4, 50)   (1, 4)           (2, 4)           (2, 8)
#   halfcheetah   3.9k | 0/192      17.8k | 2/192    12.4k | 0/192    10.8k | 0/192
#   walker2d      7.5k | 0/192      26.6k | 4/192    20.0k | 0/192    17.3k | 0/192
#   hopper        -                 30.6k | 0/192    ~25k  | 0/768
# (2, 4) also gave no non-finite observation in 768 envs x 1000 steps of uniform or bang-bang
# (+-1) actions for each robot; one iteration (ant's setting) is not stable for these robots.
PLANAR_SOLVER = {
    "halfcheetah": {"iterations": 2, "ls_iterations": 4},
    "walker2d": {"iterations": 2, "ls_iterations": 4},
    "hopper": {"iterations": 2, "ls_iterations": 4},
}


# Physics steps per env step: DMC's control step x the action repeat 2 of the paper's Dreamer
# code (cheetah 0.01 s, walker 0.025 s, hopper 0.02 s; x 2) over brax's physics time steps
# (0.01, 0.002, 0.002 s): 0.02, 0.05 and 0.04 s per env step (brax's own: 5, 4, 4 frames).
PLANAR_FRAMES = {
    "halfcheetah": 2,
    "walker2d": 25,
    "hopper": 20,
}


def make_planar(robot: str, *, solver: dict[str, int] | None = None, **kwargs):
  """brax's planar robot `robot` on MJX with CPU solver settings and the LSP tasks' time step.

  Args:
    robot: a key of `PLANAR_ROBOTS`.
    solver: `{'iterations': .., 'ls_iterations': ..}` overriding `PLANAR_SOLVER[robot]`;
      `{}` keeps brax's defaults.
    **kwargs: passed to the brax class (e.g. `terminate_when_unhealthy=False`; `n_frames`
      overrides `PLANAR_FRAMES[robot]`).
  """
  if robot not in PLANAR_ROBOTS:
    raise ValueError(f"unknown planar robot {robot!r}; valid: {sorted(PLANAR_ROBOTS)}")
  kwargs.setdefault("n_frames", PLANAR_FRAMES[robot])
  env = PLANAR_ROBOTS[robot](backend="mjx", **kwargs)
  solver = PLANAR_SOLVER[robot] if solver is None else solver
  if solver:
    env.sys = env.sys.tree_replace({f"opt.{k}": v for k, v in solver.items()})
  return env


def check_mjx_backend(backend: str) -> None:
  """Raises EnvKwargError unless `backend` is 'mjx' (what every locomotion env runs on)."""
  if backend != "mjx":
    raise EnvKwargError(
        f"the locomotion tasks run on brax's MJX pipeline only (arenas are MJX mocap bodies and "
        f"the solver settings are MJX's); got backend={backend!r}")

"""The SPiRL point-mass maze, simulated in MJX: `make("maze", layout="random" | "large", ...)`.

Physics (`dynamics="default"`): a sphere (radius 0.1, mass 1) on the plane, moved by two slide
joints (x, y) with velocity damping 5 N·s/m and driven by force actuators (gear 15 N at
|action| = 1): top speed 3 cells/s, time constant 0.2 s. `dynamics="d4rl"` is D4RL's maze2d
point instead (`POINT_MASSES`: 4.19 kg, damping 1, gear 100, the velocity clipped to +-5 per
axis before every step): it coasts (time constant 4.2 s), so random actions carry it far.
No gravity (the plane is implicit). Walls are static capsules
(radius 0.05, so 0.1 thick) lying on the cell boundaries at the sphere's height; contacts are
explicit agent–wall pairs only, frictionless (condim 1), and MJX keeps only the 4 nearest
(`max_contact_points`, a sphere in a cell touches at most 3 walls), which makes the constraint
step 1.6× faster than keeping every pair (12.0k vs 7.5k env steps/s, 32 envs, 60 walls).
Sphere–capsule was measured against sphere–box: 7.5k vs 4.5k env steps/s with all pairs.
Timestep 20 ms, 5 substeps: one control step is 0.1 s, so the agent crosses a cell in ~3-4
steps at full speed. A contact starts when the agent touches a wall, so a full-speed impact
sinks in by up to one substep of travel (6 cm) before being pushed out; tunnelling would need
15 cm per substep (7.5 cells/s, 2.5× the top speed). Action [2] in [-1, 1] (clipped): the
force along x and y. `reset` sets only qpos (derived MJX quantities, e.g. contacts, appear
after the first step).

Layouts (`layout.py`): cells of size 1, the maze spans [0, C] × [0, R].
  * `layout="random"`: a new `size`×`size` "walls with doorways" layout (connected, see
    `layout.random_layout`) every episode. The MJX model holds a capsule for every possible
    internal segment (plus four border capsules); `step` moves the episode's absent segments
    100 m below the plane (a traced `geom_pos`; MJX recomputes `geom_xpos` from it), so they
    can never touch the agent.
  * `layout="d4rl_random"`: SPiRL's training-data mazes: a `size`×`size` (default 20) D4RL
    random layout (`d4rl.sample_blocks`: walls of blocks with doorways, ~26 % of the cells
    wall) every episode, drawn from a bank of `num_layouts` of them; the start cell is uniform
    over the free cells. Thousands of possible segments would be too many geoms, so the MJX
    model holds 12 wall slots, which `step` places on the present walls around the agent's cell
    (every wall it can touch within a step; `_slot_positions`).
  * `layout="large"`: the fixed 10×10 `layout.LARGE_MAZE` (four times the area of the default
    random mazes), drawn from the same generator, with only its present walls as geoms
    (collinear segments merged); start cell (1, 2), goal cell (9, 9), 39 moves apart.
  * `layout="d4rl"`: SPiRL's own downstream maze (`d4rl.paper_maze`: D4RL's
    `rand_layout(seed=0, size=40)`, rooms and doorways in a 40×40 grid of unit blocks, as thin
    walls; 358 merged segments), start cell (23, 9), goal cell (7, 17), 34 moves apart.
Episode start: the start cell's centre plus uniform noise in ±`start_noise` per axis; the
start cell is uniform over the grid for random layouts. For random layouts the episode's layout
and goal are a deterministic function of the start position (`MazeSpec.episode_from_start`:
the PRNG key is the float32 bit pattern of the start (x, y), salted) — the start is
drawn from the reset key, so the layout still is too. This lets the planner expert, which sees
only observations, recover the layout and goal from its first observation (the goal is not in
the observation). The goal is the centre of a cell drawn uniformly among those at least
`min_goal_distance` moves from the start cell (BFS over the layout; all cells are reachable).

Observation: groups `position` [2] = (x, y) and `velocity` [2] = (vx, vy); with `image=True`
also group `image` [image_frames × planes × image_size²] (default 1 × 1 × 16 × 16): local
top-down occupancy images centred on the agent's current and previous positions (newest first;
SPiRL stacks two 32 × 32 views), each covering ±1.5 cells (`image_extent`), row-major with row
0 at the top (+y) and column 0 at -x. `info['walls']` (the episode's present segments, stored by
datasets as `episode/walls`) and `local_views` render the views of any stored state. A pixel's
value is the fraction of its width covered by the nearest present wall (thickness 0.1; 1-D
coverage across the wall by the point-to-segment distance), so walls are soft 1-2 pixel lines
that move continuously with the agent. With `image_agent` a second plane per frame draws the
agent, with `image_goal` a further plane the goal (D4RL's target site, seen within the view),
and with `camera_follow` < 1 the view centre trails the agent as D4RL's tracking camera does
(two frames 0.01 s apart barely differ; the trailing camera is what shows the velocity).

Reward: `sparse` (default): 1 on a step ending within `goal_tolerance` of the goal, and `done`
there when `terminate_on_success`; `dense`: minus the Euclidean distance to the goal (walls are
ignored: shaped but deceptive, as in D4RL's maze2d). `info['success']` (float 0/1 per step) is
a transition info key. `state.info` also holds the episode: `goal` [2], `goal_cell` [2],
`h_walls` [R + 1, C], `v_walls` [R, C + 1] (bool), `distance_field` [R, C] (BFS moves to the
goal cell) and `path_distance` (the distance field at the agent's cell). Time limits come from
`EpisodeWrapper`.

Expert (`expert.py`, `experts.expert_for("maze", env, noise_scale)`): BFS distances from the goal
cell; in each step it heads for the centre of the open neighbouring cell with the smallest
distance (directly for the goal in the goal cell) with a velocity-tracking controller, plus
Gaussian action noise.

Measured (2-core CPU, shared; 2026-11, rollouts jitted and vmapped):
  env steps/s, 32 envs, random actions:  random 5×5 13.7k, large 25k, random 5×5 + image 5.6k
  compile of jit(reset + scanned step):  random ~19 s, large ~14 s (wall, quiet machine)
  expert, noise 0.1 (0.3):  random 5×5, 256 episodes, 100-step limit: 100% (100%) success,
                            mean 21.8 (22.0) steps, max 58;
                            large, 64 episodes, 300-step limit: 100% (100%), 157 (159) steps
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from flax import struct
from mujoco import mjx

from helms_jax.envs import base as envs_base
from helms_jax.envs.base import Env, ObservationGroups, State
from helms_jax.envs.maze import d4rl
from helms_jax.envs.maze import layout as maze_layout
from helms_jax.envs.maze.layout import Layout
from helms_jax.envs.registry import EnvKwargError, register

__all__ = ["Maze", "MazeSpec", "PointMass", "POINT_MASSES", "Episode", "occupancy_image",
           "grid_occupancy_image", "disc_image", "lagged_cameras", "camera_history_length",
           "AGENT_RADIUS", "WALL_RADIUS", "IMAGE_EXTENT", "MARKER_RADIUS", "D4RL_CAMERA_FOLLOW"]

AGENT_RADIUS = 0.1
WALL_RADIUS = 0.05  # capsule radius: walls are 0.1 thick
MASS = 1.0
DAMPING = 5.0  # N·s/m on each slide joint
GEAR = 15.0  # N at |action| = 1 (top speed GEAR / DAMPING = 3 cells/s)


@dataclasses.dataclass(frozen=True)
class PointMass:
  """The agent's dynamics: mass (kg), joint damping (N·s/m), actuator gear (N at |action| = 1)
  and `velocity_clip` (cells/s per axis, applied to the velocity before each step, as D4RL's
  `clip_velocity`; None: no clip, the top speed is gear / damping)."""
  mass: float
  damping: float
  gear: float
  velocity_clip: float | None = None

  @property
  def cruise_speed(self) -> float:
    """The speed an expert can hold (cells/s): the clip, or the force-damping balance."""
    return self.velocity_clip if self.velocity_clip is not None else self.gear / self.damping

  def step_reach(self, dt: float) -> float:
    """The most the agent moves in `dt` seconds (cells): a bound for the wall slots."""
    if self.velocity_clip is None:
      return self.gear / self.damping * dt
    return (self.velocity_clip + self.gear / self.mass * dt) * dt


# "default": damped (time constant mass / damping = 0.2 s), top speed 3 cells/s. "d4rl": D4RL's
# maze2d point (pointmaze/maze_model.py, as in SPiRL's fork): a sphere of radius 0.1 and
# density 1000 (4.19 kg), joint damping 1 (a 4.2 s time constant: it coasts), gear 100, the
# velocity clipped to +-5 per axis before every step; D4RL steps it at 0.01 s.
POINT_MASSES = {
    "default": PointMass(mass=MASS, damping=DAMPING, gear=GEAR),
    "d4rl": PointMass(mass=4.0 / 3.0 * np.pi * 0.1 ** 3 * 1000.0, damping=1.0, gear=100.0,
                      velocity_clip=5.0),
}
IMAGE_EXTENT = 1.5  # the image covers ±1.5 cells around the agent
# D4RL's particle is drawn by its site (radius 0.2; the sphere geom itself is transparent).
MARKER_RADIUS = 0.2
# MuJoCo's tracking camera (`mjv_updateCamera`, mjCAMERA_TRACKING) moves its look-at point 0.2
# of the way to the tracked body per render ("smooth tracking of subtree com"); D4RL's
# agent-centric views render once per env step, so the view centre lags a moving agent.
D4RL_CAMERA_FOLLOW = 0.2
_FAR_BELOW = -100.0  # z of removed wall segments
_LAYOUT_SALT = 0x6D617A65  # "maze": xor-ed into the start position bits to make the layout key
LAYOUTS = ("random", "d4rl_random", "large", "d4rl")
RANDOM_LAYOUTS = ("random", "d4rl_random")  # a new layout per episode
REWARDS = ("sparse", "dense")


@struct.dataclass
class Episode:
  """One episode's maze: h_walls [R + 1, C], v_walls [R, C + 1] (bool), goal [2] (x, y),
  goal_cell [2] int32 (row, col), distance_field [R, C] float32 (BFS moves to the goal cell)."""
  h_walls: jax.Array
  v_walls: jax.Array
  goal: jax.Array
  goal_cell: jax.Array
  distance_field: jax.Array

  @property
  def layout(self) -> Layout:
    return Layout(self.h_walls, self.v_walls)


@functools.lru_cache(maxsize=None)
def _fixed_maze(kind: str) -> tuple[Layout, tuple[int, int], tuple[int, int]]:
  """(layout, start cell, goal cell) of a fixed maze: "large" or SPiRL's D4RL maze "d4rl"."""
  if kind == "d4rl":
    return d4rl.paper_maze()
  return maze_layout.parse_ascii(maze_layout.LARGE_MAZE)


def _goal_cell(goal_cell, layout: str) -> tuple[int, int]:
  if layout in RANDOM_LAYOUTS:
    raise EnvKwargError("maze goal_cell applies to the fixed layouts only (random layouts draw "
                        "their goal)")
  rows = _fixed_maze(layout)[0].rows
  try:
    row, col = (int(v) for v in goal_cell)
  except (TypeError, ValueError):
    raise EnvKwargError(f"maze goal_cell must be a (row, col) pair, got {goal_cell!r}") from None
  if not (0 <= row < rows and 0 <= col < rows):
    raise EnvKwargError(f"maze goal_cell {goal_cell!r} is outside the {rows}x{rows} {layout} maze")
  return row, col


@dataclasses.dataclass(frozen=True)
class MazeSpec:
  """Static, hashable description of the episodes of a maze env (shared by env and expert).

  kind: one of `LAYOUTS`; rows, cols: grid size; start_noise: uniform start noise (±, per
  axis); min_goal_distance, max_goal_distance: fewest and most (0: any) moves from the start
  cell to the goal cell (random layouts; if no reachable cell is within them, the farthest
  reachable cells within `max_goal_distance` are used); line_prob,
  door_prob: generator parameters (`layout.random_layout`, kind "random"); num_layouts: the
  size of the bank of D4RL layouts (`d4rl.layout_bank`, kind "d4rl_random").
  """
  kind: str
  rows: int
  cols: int
  start_noise: float
  min_goal_distance: int
  line_prob: float
  door_prob: float
  large_goal: tuple[int, int] | None = None  # goal cell (row, col) of the large maze; None = G
  num_layouts: int = 0
  max_goal_distance: int = 0  # most moves from the start cell to the goal cell; 0: no limit

  def _uniform_start(self, key: jax.Array) -> jax.Array:
    u = jax.random.uniform(key, (3,))
    if self.kind in RANDOM_LAYOUTS:
      flat = jnp.minimum(jnp.floor(u[0] * self.rows * self.cols), self.rows * self.cols - 1)
      cell = jnp.stack([flat // self.cols, flat % self.cols])
    else:
      cell = jnp.asarray(_fixed_maze(self.kind)[1], jnp.int32)
    return maze_layout.cell_centre(cell) + (2.0 * u[1:] - 1.0) * self.start_noise

  def sample_start(self, key: jax.Array) -> jax.Array:
    """[2] start position (x, y): a cell centre (uniform cell for random layouts) plus noise.

    D4RL layouts have wall cells, and the episode's layout derives from the start, so the start
    is redrawn until its cell is free in the layout it selects (~74 % of draws are; capped at
    64 draws, which all fail with probability ~1e-37)."""
    if self.kind != "d4rl_random":
      return self._uniform_start(key)

    def body(carry):
      key, _, it = carry
      key, sub = jax.random.split(key)
      return key, self._uniform_start(sub), it + 1

    def blocked(carry):
      _, start, it = carry
      cell = maze_layout.cell_of(start, self.rows, self.cols)
      wall = jnp.asarray(self._bank())[self._d4rl_draw(start)[0], cell[0], cell[1]]
      return (it < 64) & (wall | (it == 0))

    _, start, _ = jax.lax.while_loop(blocked, body, (key, jnp.zeros(2, jnp.float32), 0))
    return start

  def _bank(self) -> np.ndarray:
    return d4rl.layout_bank(self.rows, self.num_layouts)

  def _d4rl_draw(self, start: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(bank index of the D4RL layout, goal key) of the episode that begins at `start`."""
    layout_key, goal_key = jax.random.split(self._start_key(start))
    return jax.random.randint(layout_key, (), 0, self.num_layouts), goal_key

  @staticmethod
  def _start_key(start: jax.Array) -> jax.Array:
    """The episode key: the float32 bit pattern of the start (x, y), salted."""
    return jax.random.wrap_key_data(
        jax.lax.bitcast_convert_type(jnp.asarray(start, jnp.float32), jnp.uint32)
        ^ jnp.uint32(_LAYOUT_SALT), impl="threefry2x32")

  def episode_from_start(self, start: jax.Array, active: jax.Array | bool = True) -> Episode:
    """The episode (layout, goal, distance field) that begins at `start` [2] (x, y).

    Random layouts: a pure function of the float32 bit pattern of `start` (the threefry key is
    those two 32-bit words, salted), so an observer of the first observation recovers it
    exactly. Large: constant. With `active` False the search loops do not run and the result
    is meaningless (see `layout.bfs_distances`; the expert uses it after its first step).
    """
    start = jnp.asarray(start, jnp.float32)
    if self.kind not in RANDOM_LAYOUTS:
      lay, _, goal_cell = _fixed_maze(self.kind)
      goal_cell = self.large_goal or goal_cell
      lay = Layout(jnp.asarray(lay.h_walls), jnp.asarray(lay.v_walls))
      return self.episode_for(lay, jnp.asarray(goal_cell, jnp.int32), active)
    if self.kind == "d4rl_random":
      index, goal_key = self._d4rl_draw(start)
      lay = d4rl.walls_around(jnp.asarray(self._bank())[index])
      u_goal = jax.random.uniform(goal_key)
    else:
      n = maze_layout.num_uniforms(self.rows, self.cols)
      # one PRNG call for the layout and the goal
      u = jax.random.uniform(self._start_key(start), (n + 1,))
      lay = maze_layout.layout_from_uniforms(u[:n], self.rows, self.cols, self.line_prob,
                                             self.door_prob, active)
      u_goal = u[n]
    from_start = maze_layout.bfs_distances(
        lay, maze_layout.cell_of(start, self.rows, self.cols), active)
    finite = jnp.isfinite(from_start)
    if self.max_goal_distance:
      finite = finite & (from_start <= self.max_goal_distance)
    far = finite & (from_start >= self.min_goal_distance)
    farthest = finite & (from_start == jnp.max(jnp.where(finite, from_start, -1.0)))
    allowed = jnp.where(jnp.any(far), far, farthest).ravel()
    # The goal: the k-th allowed cell (row-major), k uniform.
    count = jnp.cumsum(allowed)
    flat = jnp.argmax(count > jnp.floor(u_goal * count[-1]))
    goal_cell = jnp.stack([flat // self.cols, flat % self.cols]).astype(jnp.int32)
    return self.episode_for(lay, goal_cell, active)

  def episode_for(self, lay: Layout, goal_cell: jax.Array, active: jax.Array | bool = True
                  ) -> Episode:
    """The episode of a given layout and goal cell [2] (row, col); goal at the cell centre."""
    goal_cell = jnp.asarray(goal_cell, jnp.int32)
    return Episode(
        h_walls=jnp.asarray(lay.h_walls, bool), v_walls=jnp.asarray(lay.v_walls, bool),
        goal=maze_layout.cell_centre(goal_cell), goal_cell=goal_cell,
        distance_field=maze_layout.bfs_distances(lay, goal_cell, active))


def occupancy_image(pos: jax.Array, segments: jax.Array, present: jax.Array, size: int = 16,
                    extent: float = IMAGE_EXTENT, half_thickness: float = WALL_RADIUS
                    ) -> jax.Array:
  """Local top-down wall occupancy around `pos`.

  Args:
    pos: [2] (x, y), the image centre.
    segments: [S, 2, 2] wall segments ((x0, y0), (x1, y1)).
    present: [S] bool, which segments exist.
    size: pixels per side; extent: the image covers pos ± extent.
  Returns:
    [size, size] float32 in [0, 1], row 0 at +y, column 0 at -x: per pixel, the largest over
    present walls of the fraction of the pixel's width covered across the wall (a wall of
    thickness 2·half_thickness at point-to-segment distance d from the pixel centre).
  """
  pixel = 2.0 * extent / size
  offsets = (jnp.arange(size, dtype=jnp.float32) + 0.5) * pixel - extent
  xs = pos[0] + offsets  # columns
  ys = pos[1] - offsets  # rows, top first
  points = jnp.stack(jnp.meshgrid(xs, ys, indexing="xy"), axis=-1).reshape(-1, 2)  # [P, 2]
  a, b = segments[:, 0], segments[:, 1]  # [S, 2]
  ab = b - a
  t = jnp.clip(jnp.einsum("psk,sk->ps", points[:, None] - a[None], ab)
               / jnp.sum(ab * ab, -1)[None], 0.0, 1.0)  # [P, S]
  closest = a[None] + t[..., None] * ab[None]
  d = jnp.linalg.norm(points[:, None] - closest, axis=-1)
  cover = jnp.clip(jnp.minimum(d + pixel / 2, half_thickness)
                   - jnp.maximum(d - pixel / 2, -half_thickness), 0.0, None) / pixel
  cover = jnp.where(present[None], cover, 0.0)
  return jnp.max(cover, axis=-1).reshape(size, size)


def grid_occupancy_image(pos: jax.Array, h_walls: jax.Array, v_walls: jax.Array, size: int = 16,
                         extent: float = IMAGE_EXTENT, half_thickness: float = WALL_RADIUS
                         ) -> jax.Array:
  """`occupancy_image` of a grid maze, with a handful of candidate walls per pixel.

  The maze's walls are unit segments on the grid lines (`layout.segment_table`): horizontal
  `h_walls [R + 1, C]` from (j, i) to (j + 1, i), vertical `v_walls [R, C + 1]` from (j, i) to
  (j, i + 1). A wall covers a pixel only within `half_thickness + pixel / 2` of its centre, so
  only the nearest grid line(s) and the segment under the pixel and its two neighbours on that
  line can; the pixel's value is the coverage of the nearest of those (coverage falls with
  distance). Equal to `occupancy_image` over every segment (checked in tests), at O(pixels) work
  instead of O(pixels x segments): 6 candidates per pixel instead of 60 (5 x 5 layouts) or 220
  (the large maze).

  Args:
    pos: [2] (x, y), the image centre. h_walls, v_walls: bool, as above.
    size, extent, half_thickness: as `occupancy_image`.
  Returns:
    [size, size] float32, as `occupancy_image`.
  """
  pixel = 2.0 * extent / size
  reach = half_thickness + pixel / 2  # farther walls cover nothing
  # Lines within `reach` of a pixel: the nearest one, or the three nearest for coarse images.
  line_offsets = jnp.array([0] if reach < 0.5 else [-1, 0, 1])
  segment_offsets = jnp.array([-1, 0, 1])
  offsets = (jnp.arange(size, dtype=jnp.float32) + 0.5) * pixel - extent
  xs = pos[0] + offsets  # columns
  ys = pos[1] - offsets  # rows, top first
  x, y = jnp.meshgrid(xs, ys, indexing="xy")  # [size, size]
  x, y = x[..., None, None], y[..., None, None]  # [size, size, lines, segments]

  def nearest(along, across, walls):
    """Distance to the nearest present segment on the grid lines `across = const` (segments
    along the other axis); `walls [lines, segments]`."""
    num_lines, num_segments = walls.shape
    line = jnp.round(across) + line_offsets[:, None]
    seg = jnp.floor(along) + segment_offsets[None, :]
    valid = (line >= 0) & (line < num_lines) & (seg >= 0) & (seg < num_segments)
    present = valid & walls[jnp.clip(line, 0, num_lines - 1).astype(jnp.int32),
                            jnp.clip(seg, 0, num_segments - 1).astype(jnp.int32)]
    closest = seg + jnp.clip(along - seg, 0.0, 1.0)
    d = jnp.sqrt((along - closest) ** 2 + (across - line) ** 2)
    return jnp.min(jnp.where(present, d, jnp.inf), axis=(-2, -1))

  d = jnp.minimum(nearest(x, y, jnp.asarray(h_walls, bool)),
                  nearest(y, x, jnp.asarray(v_walls, bool).T))  # v_walls.T: [lines, segments]
  cover = jnp.clip(jnp.minimum(d + pixel / 2, half_thickness)
                   - jnp.maximum(d - pixel / 2, -half_thickness), 0.0, None) / pixel
  return cover.astype(jnp.float32)


def disc_image(centre: jax.Array, marker: jax.Array, size: int = 16,
               extent: float = IMAGE_EXTENT, radius: float = MARKER_RADIUS) -> jax.Array:
  """A disc of `radius` at `marker [2]` in the view of `centre [2]` (layout as
  `occupancy_image`): `[size, size]` float32 in [0, 1], per pixel the fraction of its width
  inside the disc along the radial direction (soft edges, so sub-pixel motion shows)."""
  pixel = 2.0 * extent / size
  offsets = (jnp.arange(size, dtype=jnp.float32) + 0.5) * pixel - extent
  x, y = jnp.meshgrid(centre[0] + offsets, centre[1] - offsets, indexing="xy")
  d = jnp.sqrt((x - marker[0]) ** 2 + (y - marker[1]) ** 2)
  return jnp.clip((radius - d) / pixel + 0.5, 0.0, 1.0).astype(jnp.float32)


def lagged_cameras(history: jax.Array, follow: float) -> jax.Array:
  """The view centres of a camera that moves `follow` of the way to the agent per step, from
  the agent's past positions: `history [..., M + 1, 2]` (newest first, the episode's first
  position repeated before its start) -> `[..., 2]`.

  The recursion l_t = l_{t-1} + follow (p_t - l_{t-1}) from l_0 = p_0 (the camera caught up
  at reset) unrolls to l_t = sum_{k<M} follow (1 - follow)^k p_{t-k} + (1 - follow)^M p_{t-M}
  (indices clamped at 0): exact for t <= M, otherwise off by at most (1 - follow)^M times the
  distance moved in the older steps. `camera_history_length(follow)` gives M + 1.
  """
  m = history.shape[-2] - 1
  k = np.arange(m + 1)
  weights = np.where(k < m, follow * (1.0 - follow) ** k, (1.0 - follow) ** m)
  return jnp.einsum("...kd,k->...d", history, jnp.asarray(weights, history.dtype))


def camera_history_length(follow: float, tol: float = 1e-4) -> int:
  """M + 1 past positions for `lagged_cameras` to weigh all but `tol` of the history exactly
  (1 for a camera centred on the agent)."""
  if follow >= 1.0:
    return 1
  return int(np.ceil(np.log(tol) / np.log(1.0 - follow))) + 1


# Wall slots of D4RL random layouts (whose thousands of possible segments would be too many
# geoms): the 12 unit segments an agent inside cell (r, c) can touch, as (line, segment)
# offsets from (r, c): horizontal walls on the lines y = r, r + 1 at columns c - 1 .. c + 1, and
# vertical walls on the lines x = c, c + 1 at rows r - 1 .. r + 1 (the cell's sides and the
# walls meeting its corners; every other wall is >= 1 - AGENT_RADIUS away from the cell).
_SLOT_H = np.array([(dr, dc) for dr in (0, 1) for dc in (-1, 0, 1)], np.int32)
_SLOT_V = np.array([(dc, dr) for dc in (0, 1) for dr in (-1, 0, 1)], np.int32)
_SLOT_SEGMENTS = np.array([[(0.0, 0.0), (1.0, 0.0)]] * len(_SLOT_H)
                          + [[(0.0, 0.0), (0.0, 1.0)]] * len(_SLOT_V), np.float32)


def _slot_positions(lay: Layout, position: jax.Array) -> jax.Array:
  """[12, 3] geom centres of the wall slots around the cell of `position` [2] (x, y): a present
  wall's centre at the agent's height, or `_FAR_BELOW` for absent (or off-grid) ones. A step
  moves the agent < 0.35 cells, and the slots of the cell it starts in cover every wall it can
  touch in the cell it may enter (that cell's sides across the move are among them, its far
  side is >= 0.65 away)."""
  h, v = jnp.asarray(lay.h_walls), jnp.asarray(lay.v_walls)
  rows, cols = v.shape[0], h.shape[1]
  cell = maze_layout.cell_of(position, rows, cols)

  def slots(walls, offsets, line0, seg0, centre):
    line, seg = line0 + offsets[:, 0], seg0 + offsets[:, 1]
    valid = (line >= 0) & (line < walls.shape[0]) & (seg >= 0) & (seg < walls.shape[1])
    present = valid & walls[jnp.clip(line, 0, walls.shape[0] - 1),
                            jnp.clip(seg, 0, walls.shape[1] - 1)]
    xyz = centre(line.astype(jnp.float32), seg.astype(jnp.float32))
    return jnp.where(present[:, None], xyz, xyz.at[:, 2].set(_FAR_BELOW))

  z = jnp.float32(AGENT_RADIUS)
  horizontal = slots(h, _SLOT_H, cell[0], cell[1],  # line y = i, from x = j to j + 1
                     lambda i, j: jnp.stack([j + 0.5, i, jnp.full_like(i, z)], -1))
  vertical = slots(v.T, _SLOT_V, cell[1], cell[0],  # line x = j, from y = i to i + 1
                   lambda j, i: jnp.stack([j, i + 0.5, jnp.full_like(j, z)], -1))
  return jnp.concatenate([horizontal, vertical])


def _capsule(name: str, seg: np.ndarray, rgba: str) -> str:
  (x0, y0), (x1, y1) = seg
  z = AGENT_RADIUS
  return (f'<geom name="{name}" type="capsule" size="{WALL_RADIUS}" '
          f'fromto="{x0} {y0} {z} {x1} {y1} {z}" rgba="{rgba}"/>')


def _mjcf(wall_segments: np.ndarray, timestep: float, max_contact_points: int,
          point_mass: PointMass = POINT_MASSES["default"]) -> str:
  walls = "\n    ".join(_capsule(f"wall{k}", s, "0.4 0.4 0.5 1")
                        for k, s in enumerate(wall_segments))
  pairs = "\n    ".join(f'<pair geom1="agent" geom2="wall{k}" condim="1"/>'
                        for k in range(len(wall_segments)))
  return f"""<mujoco model="maze">
  <option timestep="{timestep}" gravity="0 0 0" iterations="4" ls_iterations="4"/>
  <custom><numeric name="max_contact_points" data="{max_contact_points}"/></custom>
  <default><geom contype="0" conaffinity="0" condim="1"/></default>
  <worldbody>
    {walls}
    <body name="agent" pos="0 0 {AGENT_RADIUS}">
      <joint name="x" type="slide" axis="1 0 0" damping="{point_mass.damping}"/>
      <joint name="y" type="slide" axis="0 1 0" damping="{point_mass.damping}"/>
      <geom name="agent" type="sphere" size="{AGENT_RADIUS}" mass="{point_mass.mass}"
            rgba="0.9 0.3 0.2 1"/>
    </body>
  </worldbody>
  <contact>
    {pairs}
  </contact>
  <actuator>
    <motor joint="x" gear="{point_mass.gear}" ctrlrange="-1 1" ctrllimited="true"/>
    <motor joint="y" gear="{point_mass.gear}" ctrlrange="-1 1" ctrllimited="true"/>
  </actuator>
</mujoco>"""


class Maze(Env):
  """Point-mass maze in MJX with random or fixed layouts (see the module docstring).

  Args:
    layout: "random" (a new walls-with-doorways layout per episode), "d4rl_random" (a new
      D4RL layout per episode, SPiRL's training data), "large" (the fixed 10×10 maze) or
      "d4rl" (SPiRL's 40×40 task maze).
    size: side of the random layouts in cells (default 5 for "random", 20 for "d4rl_random",
      SPiRL's data mazes; random layouts only).
    num_layouts: the bank of D4RL layouts "d4rl_random" draws from (default 1000; seeds
      0 .. num_layouts - 1 of `d4rl.sample_blocks`).
    image: add the local occupancy image (group `image`) to the observation.
    reward: "sparse" or "dense".
    goal_tolerance: success radius around the goal (cells, Euclidean, walls ignored), in
      (0, 5]. Upstream D4RL's maze2d rewards within 0.5 of the goal; the D4RL fork SPiRL runs on
      (kpertsch/d4rl) widened it to 1.0 on 2020-05-19 and to 2.0 on 2021-01-04.
    terminate_on_success: `done` on reaching the goal.
    start_noise: start position noise (± per axis around the start cell's centre), in
      (0, 0.35]; must be positive for random layouts (their layout derives from it).
    min_goal_distance: fewest moves between the start and goal cells (random layouts).
    max_goal_distance: most moves between them (random layouts; default: any reachable cell).
    line_prob, door_prob: random layout generator parameters (`layout.random_layout`).
    goal_cell: (row, col) of the large maze's goal (row 0 at the bottom); None = its `G`, (9, 9).
    image_size: image pixels per side.
    image_extent: each view covers the agent's position ± this (cells), in [0.5, 5]; default
      `IMAGE_EXTENT` (1.5). D4RL's agent-centric camera (SPiRL's views: 5 units above the agent,
      MuJoCo's default 45 degree field of view) covers ± 5 tan(22.5 deg) = ± 2.07.
    image_frames: views in the image group: the current one and the previous steps' (SPiRL
      stacks 2, which shows the velocity); at reset the earlier frames repeat the first.
    timestep, substeps: physics step (s) and physics steps per env step.
    dynamics: the point mass, a key of `POINT_MASSES`: "default" (damped, 3 cells/s) or
      "d4rl" (D4RL's maze2d point: coasting, velocity clipped at 5 cells/s; with
      timestep=0.01, substeps=1 it is SPiRL's maze agent).
    image_agent: each view gets a second plane with the agent drawn as a disc (radius
      `MARKER_RADIUS`); the image group is then [frames, planes (walls, agent[, goal]), size,
      size] (these settings also shape `local_views`, which samplers call on an env without
      `image`).
    image_goal: each view gets a further plane with the goal drawn as a disc (radius
      `MARKER_RADIUS`; D4RL's target site, seen when the goal is within the view).
    camera_follow: in (0, 1]: the fraction of the way the view centre moves to the agent each
      step (1: centred on the agent). D4RL's agent-centric views (SPiRL's) come from MuJoCo's
      tracking camera, `D4RL_CAMERA_FOLLOW` = 0.2 per render and one render per step: the view
      lags a moving agent by (1 - f) / f of its last step (4 steps' motion), so a single view
      shows the velocity as the agent's offset from the centre. Below 1 it needs
      `image_agent` (otherwise nothing in the view shows where the agent is). The view centres
      are `info['cameras'] [image_frames, 2]` (newest first; at reset the camera has caught up).
  """

  transition_info_keys = ("success",)
  # Per-episode info a dataset stores as `episode/<key>` (the walls, so that samplers can
  # render the local views of any stored state: `local_views`).
  episode_info_keys = ("walls",)

  def __init__(self, layout: str = "random", size: int | None = None, image: bool = False,
               reward: str = "sparse", goal_tolerance: float = 0.25,
               terminate_on_success: bool = True, start_noise: float = 0.2,
               min_goal_distance: int = 2, line_prob: float = 0.6, door_prob: float = 0.25,
               image_size: int = 16, timestep: float = 0.02, substeps: int = 5,
               goal_cell: tuple[int, int] | None = None, image_frames: int = 1,
               num_layouts: int | None = None, max_goal_distance: int | None = None,
               image_extent: float = IMAGE_EXTENT, dynamics: str = "default",
               image_agent: bool = False, camera_follow: float = 1.0,
               image_goal: bool = False):
    if dynamics not in POINT_MASSES:
      raise EnvKwargError(f"maze dynamics must be one of {sorted(POINT_MASSES)}, got "
                          f"{dynamics!r}")
    point_mass = POINT_MASSES[dynamics]
    if layout not in LAYOUTS:
      raise EnvKwargError(f"maze layout must be one of {LAYOUTS}, got {layout!r}")
    if reward not in REWARDS:
      raise EnvKwargError(f"maze reward must be one of {REWARDS}, got {reward!r}")
    if layout not in RANDOM_LAYOUTS and size is not None:
      raise EnvKwargError(f"maze size applies to the random layouts {RANDOM_LAYOUTS} only; the "
                          f"{layout} maze is a fixed layout")
    if layout != "d4rl_random" and num_layouts is not None:
      raise EnvKwargError(f"maze num_layouts applies to layout='d4rl_random' only, not {layout!r}")
    smallest = 7 if layout == "d4rl_random" else 2  # a D4RL wall and its 5-wide window
    size = (20 if layout == "d4rl_random" else 5) if size is None else size
    if (isinstance(size, bool) or not isinstance(size, (int, np.integer))
        or not smallest <= size <= 32):
      raise EnvKwargError(f"maze size must be an int in [{smallest}, 32] for layout={layout!r}, "
                          f"got {size!r}")
    num_layouts = 1000 if num_layouts is None else num_layouts
    if (isinstance(num_layouts, bool) or not isinstance(num_layouts, (int, np.integer))
        or num_layouts < 1):
      raise EnvKwargError(f"maze num_layouts must be a positive int, got {num_layouts!r}")
    if not 0 < goal_tolerance <= 5.0:
      raise EnvKwargError(f"maze goal_tolerance must be in (0, 5] cells, got {goal_tolerance}")
    if not 0 <= start_noise <= 0.5 - AGENT_RADIUS - WALL_RADIUS:
      raise EnvKwargError(f"maze start_noise must be in [0, 0.35] (inside the start cell), got "
                          f"{start_noise}")
    if layout in RANDOM_LAYOUTS and start_noise <= 0:
      raise EnvKwargError("maze start_noise must be > 0 for random layouts: each episode's layout "
                          "is drawn from a key derived from the start position")
    if not 0 <= line_prob <= 1 or not 0 <= door_prob <= 1:
      raise EnvKwargError(f"maze line_prob and door_prob must be in [0, 1], got {line_prob}, "
                          f"{door_prob}")
    if int(min_goal_distance) < 1:
      raise EnvKwargError(f"maze min_goal_distance must be >= 1, got {min_goal_distance}")
    if max_goal_distance is not None and (layout not in RANDOM_LAYOUTS
                                          or int(max_goal_distance) < int(min_goal_distance)):
      raise EnvKwargError(f"maze max_goal_distance applies to the random layouts and must be >= "
                          f"min_goal_distance ({min_goal_distance}), got {max_goal_distance!r} "
                          f"for layout={layout!r}")
    if int(image_size) < 2:
      raise EnvKwargError(f"maze image_size must be >= 2, got {image_size}")
    if not 0.5 <= image_extent <= 5.0:
      raise EnvKwargError(f"maze image_extent must be in [0.5, 5] cells, got {image_extent}")
    if int(image_frames) < 1:
      raise EnvKwargError(f"maze image_frames must be >= 1, got {image_frames}")
    if not 0.0 < camera_follow <= 1.0:
      raise EnvKwargError(f"maze camera_follow must be in (0, 1], got {camera_follow}")
    if camera_follow < 1.0 and not image_agent:
      raise EnvKwargError(f"maze camera_follow={camera_follow} < 1 needs image_agent=True: a "
                          f"lagging view without the agent drawn hides where the agent is")
    if timestep <= 0 or int(substeps) < 1:
      raise EnvKwargError(f"maze needs timestep > 0 and substeps >= 1, got {timestep}, {substeps}")
    reach = point_mass.step_reach(timestep * int(substeps))
    if layout == "d4rl_random" and reach > 0.35:
      raise EnvKwargError(
          f"maze layout='d4rl_random' places its wall slots once per step, which needs a step to "
          f"move the agent < 0.35 cells; timestep x substeps = {timestep * substeps} s with "
          f"dynamics={dynamics!r} moves up to {reach:.2f}")
    self.layout_kind = layout
    rows = cols = int(size) if layout in RANDOM_LAYOUTS else _fixed_maze(layout)[0].rows
    self.spec = MazeSpec(kind=layout, rows=rows, cols=cols, start_noise=float(start_noise),
                         min_goal_distance=int(min_goal_distance), line_prob=float(line_prob),
                         door_prob=float(door_prob),
                         large_goal=None if goal_cell is None else _goal_cell(goal_cell, layout),
                         num_layouts=int(num_layouts) if layout == "d4rl_random" else 0,
                         max_goal_distance=int(max_goal_distance or 0))
    self.rows, self.cols = rows, cols
    self.image = bool(image)
    self.image_size = int(image_size)
    self.image_frames = int(image_frames)
    self.image_extent = float(image_extent)
    self.image_agent = bool(image_agent)
    self.image_goal = bool(image_goal)
    # per frame: walls (, agent) (, goal)
    self.image_planes = 1 + int(self.image_agent) + int(self.image_goal)
    self.camera_follow = float(camera_follow)
    self.camera_history = camera_history_length(self.camera_follow)
    self.reward_type = reward
    self.goal_tolerance = float(goal_tolerance)
    self.terminate_on_success = bool(terminate_on_success)
    self.substeps = int(substeps)
    self.control_dt = float(timestep) * self.substeps
    self.point_mass = point_mass
    groups = [("position", 2), ("velocity", 2)] + (
        [("image", self.image_frames * self.image_planes * self.image_size ** 2)]
        if self.image else [])
    self._groups = ObservationGroups.from_sizes(*groups)

    table = maze_layout.segment_table(rows, cols)  # every possible segment, flat order
    if layout == "random":
      border = maze_layout.border_layout(rows, cols)
      internal = ~maze_layout.flat_walls(border)
      self._internal = np.flatnonzero(internal)  # flat indices of the movable segments
      border_runs = maze_layout.merged_wall_segments(border)  # the four sides
      geoms = np.concatenate([border_runs, table[internal]])
      self._first_internal_geom = len(border_runs)
    elif layout == "d4rl_random":
      d4rl.layout_bank(rows, int(num_layouts))  # build it now rather than at the first trace
      geoms = _SLOT_SEGMENTS  # placed each step by `model_for`
    else:
      geoms = maze_layout.merged_wall_segments(_fixed_maze(layout)[0])
    self.mj_model = mujoco.MjModel.from_xml_string(
        _mjcf(geoms, float(timestep), max_contact_points=4, point_mass=point_mass))
    self.mjx_model = envs_base.mjx_put_model(self.mj_model)
    self._wall_geoms = np.array([mujoco.mj_name2id(self.mj_model, mujoco.mjtObj.mjOBJ_GEOM,
                                                   f"wall{k}") for k in range(len(geoms))])

  # -- brax Env interface --------------------------------------------------------------------------

  @property
  def observation_size(self) -> int:
    return self._groups.obs_size

  @property
  def action_size(self) -> int:
    return 2

  @property
  def backend(self) -> str:
    return "mjx"

  @property
  def observation_groups(self) -> ObservationGroups:
    return self._groups

  @property
  def dt(self) -> float:
    return self.control_dt

  # -- helpers -------------------------------------------------------------------------------------

  def model_for(self, episode: Episode, position: jax.Array) -> mjx.Model:
    """The MJX model of an episode with the agent at `position` [2] (x, y): random layouts move
    their absent segments far below; D4RL random layouts put their wall slots on the walls
    around the agent's cell (`_slot_positions`)."""
    if self.layout_kind == "d4rl_random":
      ids = self._wall_geoms
      return self.mjx_model.replace(geom_pos=self.mjx_model.geom_pos.at[ids].set(
          _slot_positions(episode.layout, position)))
    if self.layout_kind != "random":
      return self.mjx_model
    present = maze_layout.flat_walls(episode.layout)[self._internal]  # [n_internal]
    ids = self._wall_geoms[self._first_internal_geom:]
    base = self.mjx_model.geom_pos
    moved = base[ids].at[:, 2].set(_FAR_BELOW)
    geom_pos = base.at[ids].set(jnp.where(present[:, None], base[ids], moved))
    return self.mjx_model.replace(geom_pos=geom_pos)

  def _episode(self, info: dict) -> Episode:
    return Episode(h_walls=info["h_walls"], v_walls=info["v_walls"], goal=info["goal"],
                   goal_cell=info["goal_cell"], distance_field=info["distance_field"])

  def walls_present(self, episode: Episode) -> jax.Array:
    """[S] bool: which grid segments exist in `episode`, in `layout.flat_walls` order
    (S = (R + 1) C + R (C + 1))."""
    return maze_layout.flat_walls(episode.layout)

  def local_views(self, positions: jax.Array, walls: jax.Array, size: int | None = None,
                  cameras: jax.Array | None = None, goal: jax.Array | None = None) -> jax.Array:
    """The image group for the agent at `positions [F, 2]` (newest first) in a maze with walls
    `walls [num segments]` (`info['walls']`, or a dataset's `episode/walls`), seen from view
    centres `cameras [F, 2]` (default: the positions; `info['cameras']`, or `lagged_cameras`
    of the stored positions), with the episode's `goal [2]` (`info['goal']`; needed with
    `image_goal`): `[F * planes * size * size]` float32 (`size` default: `image_size`; planes:
    walls, then the agent with `image_agent`, then the goal with `image_goal`), the
    observation's layout. Pure and vmappable: samplers render the views of stored states with
    it instead of storing images."""
    size = self.image_size if size is None else int(size)
    cameras = positions if cameras is None else cameras
    if self.image_goal and goal is None:
      raise ValueError("maze image_goal: local_views needs the episode's goal [2]")
    rows, cols = self.rows, self.cols
    if walls.shape != ((rows + 1) * cols + rows * (cols + 1),):
      raise ValueError(f"walls must be [{(rows + 1) * cols + rows * (cols + 1)}] bool (the "
                       f"{rows} x {cols} maze's segments, `info['walls']`), got {walls.shape}")
    h_walls = walls[:(rows + 1) * cols].reshape(rows + 1, cols)
    v_walls = walls[(rows + 1) * cols:].reshape(rows, cols + 1)

    def view(position, camera):
      planes = [grid_occupancy_image(camera, h_walls, v_walls, size, self.image_extent)]
      if self.image_agent:
        planes.append(disc_image(camera, position, size, self.image_extent))
      if self.image_goal:
        planes.append(disc_image(camera, goal, size, self.image_extent))
      return jnp.stack(planes)

    return jax.vmap(view)(positions, cameras).reshape(-1).astype(jnp.float32)

  def goal_from_start(self, start: jax.Array) -> jax.Array:
    """[2]: the goal of the episode that begins at `start` [2] (an episode's first position:
    random layouts and their goals are a function of it, `MazeSpec.episode_from_start`)."""
    return self.spec.episode_from_start(start).goal

  def cameras_from_past(self, past: jax.Array) -> jax.Array:
    """The view centres (`info['cameras']`) from the agent's past positions: `past [...,
    camera_history, 2]` (newest first, an episode's first position repeated before it) ->
    `[..., 2]` (`lagged_cameras`)."""
    if past.shape[-2:] != (self.camera_history, 2):
      raise ValueError(f"past positions must be [..., camera_history={self.camera_history}, 2], "
                       f"got {past.shape}")
    return lagged_cameras(past, self.camera_follow)

  def _observation(self, data: mjx.Data, episode: Episode, previous: jax.Array | None = None,
                   cameras: jax.Array | None = None) -> jax.Array:
    """`previous [F - 1, 2]`: the positions of the earlier frames (newest first); `cameras
    [F, 2]`: the frames' view centres (None: the positions)."""
    proprio = jnp.concatenate([data.qpos[:2], data.qvel[:2]])
    if not self.image:
      return proprio.astype(jnp.float32)
    positions = data.qpos[None, :2]
    if self.image_frames > 1:
      positions = jnp.concatenate([positions, previous], axis=0)
    img = self.local_views(positions, self.walls_present(episode), cameras=cameras,
                           goal=episode.goal)
    return jnp.concatenate([proprio, img]).astype(jnp.float32)

  def _evaluate(self, data: mjx.Data, episode: Episode):
    pos = data.qpos[:2]
    dist = jnp.linalg.norm(pos - episode.goal)
    success = (dist <= self.goal_tolerance).astype(jnp.float32)
    reward = success if self.reward_type == "sparse" else -dist
    cell = maze_layout.cell_of(pos, self.rows, self.cols)
    path = episode.distance_field[cell[0], cell[1]]
    return reward.astype(jnp.float32), success, dist, path

  def trajectory_points(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """obs [..., obs_dim] -> (agent [..., 3] (z = 0), no objects [..., 0, 3]) for plots."""
    zero = jnp.zeros(obs.shape[:-1] + (1,), obs.dtype)
    return (jnp.concatenate([obs[..., :2], zero], axis=-1),
            jnp.zeros(obs.shape[:-1] + (0, 3), obs.dtype))

  # -- reset / step --------------------------------------------------------------------------------

  def reset(self, rng: jax.Array) -> State:
    """rng: one key -> State (obs [obs_size]); the episode's maze is in `state.info`."""
    start = self.spec.sample_start(rng)
    return self.state_from(start, self.spec.episode_from_start(start))

  def state_from(self, start: jax.Array, episode: Episode) -> State:
    """A state at rest at `start` [2] (x, y) in `episode`'s maze (`reset` uses it; tests and
    analyses build episodes by hand with `spec.episode_for(layout, goal_cell)`)."""
    start = jnp.asarray(start, jnp.float32)
    model = self.model_for(episode, start)
    # Only qpos (and zero qvel) are set: the observation needs nothing else, and mjx.forward here
    # would compile the collision and constraint pipeline a second time (as much as `step`);
    # derived quantities (xpos, contacts) are computed by the first step.
    data = envs_base.mjx_make_data(model).replace(qpos=start)
    reward, success, dist, path = self._evaluate(data, episode)
    previous = jnp.tile(start[None], (self.image_frames - 1, 1))  # at rest: frames repeat
    info = {"success": success, "goal": episode.goal, "goal_cell": episode.goal_cell,
            "h_walls": episode.h_walls, "v_walls": episode.v_walls,
            "distance_field": episode.distance_field, "path_distance": path,
            "walls": self.walls_present(episode), "previous_positions": previous}
    cameras = None
    if self.camera_follow < 1.0:  # the camera has caught up with the agent at rest
      cameras = info["cameras"] = jnp.tile(start[None], (self.image_frames, 1))
    zero = jnp.zeros((), jnp.float32)
    return State(pipeline_state=data, obs=self._observation(data, episode, previous, cameras),
                 reward=zero, done=zero, metrics={"distance": dist, "success": success},
                 info=info)

  def step(self, state: State, action: jax.Array) -> State:
    """action [2] force in [-1, 1] (clipped)."""
    if action.shape[-1:] != (2,):
      raise ValueError(f"maze action must have shape [2], got {action.shape}")
    episode = self._episode(state.info)
    model = self.model_for(episode, state.pipeline_state.qpos[:2])
    data = state.pipeline_state.replace(ctrl=jnp.clip(action, -1.0, 1.0))
    clip = self.point_mass.velocity_clip
    if clip is not None:  # D4RL's clip_velocity: once per env step, before the physics
      data = data.replace(qvel=jnp.clip(data.qvel, -clip, clip))
    data = jax.lax.fori_loop(0, self.substeps, lambda _, d: mjx.step(model, d), data)
    reward, success, dist, path = self._evaluate(data, episode)
    done = success if self.terminate_on_success else jnp.zeros_like(success)
    # The frames before this step's: the last step's position, then the older ones.
    previous = jnp.concatenate([state.pipeline_state.qpos[None, :2],
                                state.info["previous_positions"]], axis=0)[:self.image_frames - 1]
    info = {**state.info, "success": success, "path_distance": path,
            "previous_positions": previous}
    cameras = None
    if self.camera_follow < 1.0:  # one render per step: the tracking camera moves once
      last = state.info["cameras"][0]
      camera = last + self.camera_follow * (data.qpos[:2] - last)
      cameras = info["cameras"] = jnp.concatenate(
          [camera[None], state.info["cameras"]], axis=0)[:self.image_frames]
    return state.replace(
        pipeline_state=data, obs=self._observation(data, episode, previous, cameras),
        reward=reward, done=done,
        metrics={**state.metrics, "distance": dist, "success": success}, info=info)


register("maze", Maze)

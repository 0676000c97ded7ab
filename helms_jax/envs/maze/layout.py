"""Maze layouts on an R×C grid of unit cells: walls, random generation, BFS distances.

Coordinates: x to the right (columns), y up (rows). Cell (row i, column j) is the square
[j, j + 1] × [i, i + 1] with centre (j + 0.5, i + 0.5); cells are indexed `(row, col)`,
positions `(x, y)`.

A layout is two boolean arrays of cell-boundary wall segments:
  h_walls [R + 1, C]: h_walls[i, j] = the segment of the horizontal line y = i from x = j to j + 1
  v_walls [R, C + 1]: v_walls[i, j] = the segment of the vertical line x = j from y = i to i + 1
Row 0 and R of `h_walls` and columns 0 and C of `v_walls` are the outer border (always present).
The flat segment order (`flat_walls`, `segment_table`) is h_walls row-major, then v_walls
row-major.

Random layouts ("walls with doorways", `random_layout`):
  1. each internal grid line (R - 1 horizontal, C - 1 vertical) is a wall line with probability
     `line_prob`;
  2. along a wall line every unit segment is a doorway (absent) with probability `door_prob`,
     and one uniformly chosen segment of the line always is;
  3. crossing lines can still cut off regions, so the layout is then connected: while the cell
     graph has more than one component, the present internal segment with the highest random
     score among those separating two different components is removed (a random doorway
     joining them; Kruskal-like). Every cell is therefore reachable from every other.
With the defaults (line_prob 0.6, door_prob 0.25; 500 layouts each): 5×5 layouts have 11.7 of
40 internal segments, shortest paths between cells average 4.7 moves (Manhattan 3.2), the
longest 11.9; 10×10: 61 of 180, 11.5 moves (Manhattan 6.6), longest 30.6.
Everything is pure JAX (jit/vmap): loops over cells are `lax.while_loop` relaxation sweeps of
the whole grid at once, never Python loops.

Moves, in the order of the last axis of `open_moves`: +x (east), -x (west), +y (north),
-y (south), as (d_row, d_col) in `MOVES`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

__all__ = [
    "Layout", "MOVES", "border_layout", "open_moves", "neighbour_values", "bfs_distances",
    "components", "connect", "random_layout", "layout_from_uniforms", "num_uniforms",
    "flat_walls", "segment_table", "wall_segments", "merged_wall_segments", "cell_of",
    "cell_centre", "parse_ascii", "to_ascii", "check_layout", "LARGE_MAZE",
]

MOVES = np.array([[0, 1], [0, -1], [1, 0], [-1, 0]], np.int32)  # (d_row, d_col): E, W, N, S


@struct.dataclass
class Layout:
  """Wall segments of an R×C maze (see the module docstring).

  h_walls: [R + 1, C] bool; v_walls: [R, C + 1] bool (jax or numpy arrays).
  """
  h_walls: jax.Array
  v_walls: jax.Array

  @property
  def rows(self) -> int:
    return self.v_walls.shape[-2]

  @property
  def cols(self) -> int:
    return self.h_walls.shape[-1]


def border_layout(rows: int, cols: int) -> Layout:
  """The empty R×C maze: outer border only (numpy arrays)."""
  h = np.zeros((rows + 1, cols), bool)
  v = np.zeros((rows, cols + 1), bool)
  h[0] = h[-1] = True
  v[:, 0] = v[:, -1] = True
  return Layout(h, v)


def open_moves(layout: Layout) -> jax.Array:
  """[R, C, 4] bool: whether the move E, W, N, S (see `MOVES`) out of each cell is open.

  A move is open when the boundary segment it crosses is absent and it stays in the grid.
  """
  h, v = jnp.asarray(layout.h_walls), jnp.asarray(layout.v_walls)
  rows, cols = layout.rows, layout.cols
  col = jnp.arange(cols)[None, :]
  row = jnp.arange(rows)[:, None]
  east = ~v[:, 1:] & (col < cols - 1)
  west = ~v[:, :-1] & (col > 0)
  north = ~h[1:, :] & (row < rows - 1)
  south = ~h[:-1, :] & (row > 0)
  return jnp.stack([east, west, north, south], axis=-1)


def neighbour_values(values: jax.Array, fill) -> jax.Array:
  """[R, C] -> [R, C, 4]: the value of each cell's E, W, N, S neighbour (`fill` off the grid)."""
  pad = jnp.pad(values, 1, constant_values=fill)  # [R + 2, C + 2]
  return jnp.stack([pad[1:-1, 2:], pad[1:-1, :-2], pad[2:, 1:-1], pad[:-2, 1:-1]], axis=-1)


def bfs_distances(layout: Layout, source: jax.Array, active: jax.Array | bool = True
                  ) -> jax.Array:
  """Shortest path lengths (in cells) from the cell `source` to every cell.

  Args:
    layout: R×C walls.
    source: [2] int (row, col).
    active: scalar bool; when False no sweep runs (the result is then meaningless). A caller
      under `vmap` that needs the result only in some steps passes it, since a `lax.cond`
      there runs both branches but a while loop stops once no batch element is active.
  Returns:
    [R, C] float32: number of moves from `source`, `inf` where unreachable. Bellman-Ford
    relaxation sweeps of the whole grid in a `lax.while_loop` until nothing changes (at most
    R·C sweeps). Jittable and vmappable (batch layouts and sources with `jax.vmap`).
  """
  moves = open_moves(layout)
  rows, cols = layout.rows, layout.cols
  source = jnp.asarray(source, jnp.int32)
  dist0 = jnp.full((rows, cols), jnp.inf, jnp.float32).at[source[0], source[1]].set(0.0)

  def sweep(carry):
    dist, _, it = carry
    via = jnp.where(moves, neighbour_values(dist, jnp.inf) + 1.0, jnp.inf)
    new = jnp.minimum(dist, jnp.min(via, axis=-1))
    return new, jnp.any(new != dist), it + 1

  dist, _, _ = jax.lax.while_loop(
      lambda c: c[1] & (c[2] < rows * cols), sweep, (dist0, jnp.asarray(active), jnp.array(0)))
  return dist


def components(layout: Layout, active: jax.Array | bool = True) -> jax.Array:
  """[R, C] int32 connected-component labels: each cell gets the smallest flat index
  (row · C + col) of the cells it is connected to (min-label propagation to a fixed point).
  `active` as in `bfs_distances`."""
  moves = open_moves(layout)
  rows, cols = layout.rows, layout.cols
  big = rows * cols
  labels0 = jnp.arange(big, dtype=jnp.int32).reshape(rows, cols)

  def sweep(carry):
    labels, _ = carry
    via = jnp.where(moves, neighbour_values(labels, big), big)
    new = jnp.minimum(labels, jnp.min(via, axis=-1))
    return new, jnp.any(new != labels)

  labels, _ = jax.lax.while_loop(lambda c: c[1], sweep, (labels0, jnp.asarray(active)))
  return labels


def connect(layout: Layout, priority: jax.Array, active: jax.Array | bool = True) -> Layout:
  """Removes internal wall segments until every cell is reachable (step 3 of the generator).

  Args:
    layout: R×C walls.
    priority: [(R - 1)·C + R·(C - 1)] float, a random score per internal segment (internal
      h_walls row-major, then internal v_walls row-major).
    active: as in `bfs_distances`.
  Each round removes the present internal segment of highest priority among those whose two
  sides lie in different components (Kruskal with random weights), so at most
  (components - 1) rounds run.
  """
  rows, cols = layout.rows, layout.cols
  n_h = (rows - 1) * cols

  def cond(carry):
    _, labels = carry
    return jnp.any(labels != labels[0, 0]) & active

  def body(carry):
    lay, labels = carry
    h_int, v_int = jnp.asarray(lay.h_walls)[1:-1], jnp.asarray(lay.v_walls)[:, 1:-1]
    h_sep = h_int & (labels[:-1] != labels[1:])  # [R - 1, C]: between cells (i, j), (i + 1, j)
    v_sep = v_int & (labels[:, :-1] != labels[:, 1:])  # [R, C - 1]: (i, j), (i, j + 1)
    candidates = jnp.concatenate([h_sep.ravel(), v_sep.ravel()])
    pick = jnp.argmax(jnp.where(candidates, priority, -jnp.inf))
    remove = jnp.zeros_like(candidates).at[pick].set(True)
    lay = _with_internal(lay, h_int & ~remove[:n_h].reshape(rows - 1, cols),
                         v_int & ~remove[n_h:].reshape(rows, cols - 1))
    return lay, components(lay)

  lay = Layout(jnp.asarray(layout.h_walls), jnp.asarray(layout.v_walls))
  lay, _ = jax.lax.while_loop(cond, body, (lay, components(lay, active)))
  return lay


def _with_internal(layout: Layout, h_int: jax.Array, v_int: jax.Array) -> Layout:
  """`layout` with its internal segments replaced (h_int [R - 1, C], v_int [R, C - 1])."""
  h = jnp.asarray(layout.h_walls).at[1:-1].set(h_int)
  v = jnp.asarray(layout.v_walls).at[:, 1:-1].set(v_int)
  return Layout(h, v)


def num_uniforms(rows: int, cols: int) -> int:
  """How many uniform numbers `layout_from_uniforms` consumes for an R×C layout."""
  n_int = (rows - 1) * cols + rows * (cols - 1)
  return 2 * (rows - 1 + cols - 1) + 2 * n_int


def layout_from_uniforms(u: jax.Array, rows: int, cols: int, line_prob: float = 0.6,
                         door_prob: float = 0.25, active: jax.Array | bool = True) -> Layout:
  """`random_layout` driven by `u`: [num_uniforms(rows, cols)] uniform numbers in [0, 1).

  All the generator's randomness comes from one draw (one PRNG call: the XLA program, and its
  compile time, stay small). `active` as in `bfs_distances`.
  """
  n_lines = rows - 1 + cols - 1
  n_h, n_v = (rows - 1) * cols, rows * (cols - 1)
  if u.shape != (num_uniforms(rows, cols),):
    raise ValueError(f"layout_from_uniforms needs {num_uniforms(rows, cols)} numbers, got "
                     f"{u.shape}")
  line_u, forced_u, door_u, priority = jnp.split(
      u, np.cumsum([n_lines, n_lines, n_h + n_v]).tolist())
  is_line = line_u < line_prob
  h_line, v_line = is_line[:rows - 1], is_line[rows - 1:]
  forced_h = jnp.floor(forced_u[:rows - 1] * cols).astype(jnp.int32)  # one doorway per line
  forced_v = jnp.floor(forced_u[rows - 1:] * rows).astype(jnp.int32)
  h_door = ((door_u[:n_h].reshape(rows - 1, cols) < door_prob)
            | (jnp.arange(cols)[None, :] == forced_h[:, None]))
  v_door = ((door_u[n_h:].reshape(cols - 1, rows) < door_prob)
            | (jnp.arange(rows)[None, :] == forced_v[:, None]))
  h_int = h_line[:, None] & ~h_door  # [R - 1, C]
  v_int = (v_line[:, None] & ~v_door).T  # [R, C - 1]
  return connect(_with_internal(border_layout(rows, cols), h_int, v_int), priority, active)


def random_layout(key: jax.Array, rows: int, cols: int, line_prob: float = 0.6,
                  door_prob: float = 0.25) -> Layout:
  """A random connected "walls with doorways" layout (see the module docstring).

  Args:
    key: PRNG key.
    rows, cols: grid size R, C (static, >= 2).
    line_prob: probability that an internal grid line is a wall line.
    door_prob: probability that a segment of a wall line is a doorway (one always is).
  Returns:
    Layout with h_walls [R + 1, C], v_walls [R, C + 1] (jax bool arrays). Vmappable over `key`.
  """
  u = jax.random.uniform(key, (num_uniforms(rows, cols),))
  return layout_from_uniforms(u, rows, cols, line_prob, door_prob)


def flat_walls(layout: Layout):
  """[S] bool, S = (R + 1)·C + R·(C + 1): all segments in the flat order (h then v, row-major).
  numpy in, numpy out; jax in, jax out."""
  xp = jnp if isinstance(layout.h_walls, jax.Array) else np
  return xp.concatenate([xp.ravel(layout.h_walls), xp.ravel(layout.v_walls)])


def segment_table(rows: int, cols: int) -> np.ndarray:
  """[S, 2, 2] float32: end points ((x0, y0), (x1, y1)) of every possible segment, flat order."""
  i, j = np.meshgrid(np.arange(rows + 1), np.arange(cols), indexing="ij")
  h = np.stack([np.stack([j, i], -1), np.stack([j + 1, i], -1)], axis=-2).reshape(-1, 2, 2)
  i, j = np.meshgrid(np.arange(rows), np.arange(cols + 1), indexing="ij")
  v = np.stack([np.stack([j, i], -1), np.stack([j, i + 1], -1)], axis=-2).reshape(-1, 2, 2)
  return np.concatenate([h, v]).astype(np.float32)


def wall_segments(layout: Layout) -> np.ndarray:
  """[S_present, 2, 2] float32: the present wall segments as ((x0, y0), (x1, y1)), for plots.

  Host-side (numpy): pass one unbatched layout (e.g. from `state.info` after `device_get`).
  """
  h, v = np.asarray(layout.h_walls, bool), np.asarray(layout.v_walls, bool)
  if h.ndim != 2 or v.ndim != 2 or h.shape[0] != v.shape[0] + 1 or v.shape[1] != h.shape[1] + 1:
    raise ValueError(f"expected one layout with h_walls [R + 1, C] and v_walls [R, C + 1], got "
                     f"{h.shape} and {v.shape}")
  return segment_table(v.shape[0], h.shape[1])[flat_walls(Layout(h, v))]


def merged_wall_segments(layout: Layout) -> np.ndarray:
  """[M, 2, 2] float32: the present walls with collinear touching segments merged into runs
  (fewer, longer segments for a fixed maze's geoms). Host-side."""
  h, v = np.asarray(layout.h_walls, bool), np.asarray(layout.v_walls, bool)
  runs = []
  for i, line in enumerate(h):  # horizontal line y = i
    for start, stop in _runs(line):
      runs.append(((start, i), (stop, i)))
  for j, line in enumerate(v.T):  # vertical line x = j
    for start, stop in _runs(line):
      runs.append(((j, start), (j, stop)))
  return np.asarray(runs, np.float32).reshape(-1, 2, 2)


def _runs(line: np.ndarray) -> list[tuple[int, int]]:
  """[(start, stop)] of the maximal runs of True in a 1-D bool array."""
  padded = np.concatenate([[False], line, [False]]).astype(np.int8)
  edges = np.flatnonzero(np.diff(padded))
  return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def cell_of(pos: jax.Array, rows: int, cols: int) -> jax.Array:
  """pos [..., 2] (x, y) -> [..., 2] int32 (row, col) of the containing cell (clipped)."""
  row = jnp.clip(jnp.floor(pos[..., 1]), 0, rows - 1)
  col = jnp.clip(jnp.floor(pos[..., 0]), 0, cols - 1)
  return jnp.stack([row, col], axis=-1).astype(jnp.int32)


def cell_centre(cell: jax.Array) -> jax.Array:
  """cell [..., 2] (row, col) -> [..., 2] float32 (x, y) of its centre."""
  cell = jnp.asarray(cell)
  return jnp.stack([cell[..., 1], cell[..., 0]], axis=-1).astype(jnp.float32) + 0.5


def check_layout(layout: Layout) -> None:
  """Host-side validation of a hand-made layout: shapes, bool dtype, full outer border."""
  h, v = np.asarray(layout.h_walls), np.asarray(layout.v_walls)
  if h.ndim != 2 or v.ndim != 2 or h.shape[0] != v.shape[0] + 1 or v.shape[1] != h.shape[1] + 1:
    raise ValueError(f"layout needs h_walls [R + 1, C] and v_walls [R, C + 1], got {h.shape} "
                     f"and {v.shape}")
  if h.dtype != bool or v.dtype != bool:
    raise ValueError(f"layout walls must be bool arrays, got {h.dtype} and {v.dtype}")
  if not (h[0].all() and h[-1].all() and v[:, 0].all() and v[:, -1].all()):
    raise ValueError("layout must have its full outer border (h_walls rows 0 and R, v_walls "
                     "columns 0 and C all True)")


# ASCII: 2R + 1 lines, the top line is the maze's top (y = R). Corners '+' at every 4th column,
# a horizontal segment is '---' between corners, a vertical one '|' at a corner column; cell
# interiors are three characters with 'S' (start) or 'G' (goal) in the middle.


def parse_ascii(text: str) -> tuple[Layout, tuple[int, int] | None, tuple[int, int] | None]:
  """ASCII maze -> (Layout (numpy), start cell (row, col) or None, goal cell or None)."""
  lines = [l.rstrip() for l in text.strip("\n").splitlines()]
  if len(lines) < 3 or len(lines) % 2 == 0:
    raise ValueError(f"an ASCII maze has 2R + 1 >= 3 lines, got {len(lines)}")
  rows = (len(lines) - 1) // 2
  width = max(len(l) for l in lines)
  if (width - 1) % 4:
    raise ValueError(f"an ASCII maze line has 4C + 1 characters, got {width}")
  cols = (width - 1) // 4
  lines = [l.ljust(width) for l in lines]
  h = np.zeros((rows + 1, cols), bool)
  v = np.zeros((rows, cols + 1), bool)
  start = goal = None
  for t, line in enumerate(lines):
    if t % 2 == 0:
      i = rows - t // 2
      for j in range(cols):
        h[i, j] = line[4 * j + 1:4 * j + 4].strip() != ""
    else:
      i = rows - 1 - t // 2
      for j in range(cols + 1):
        v[i, j] = line[4 * j] != " "
      for j in range(cols):
        mark = line[4 * j + 2]
        if mark == "S":
          start = (i, j)
        elif mark == "G":
          goal = (i, j)
  layout = Layout(h, v)
  check_layout(layout)
  return layout, start, goal


def to_ascii(layout: Layout, start=None, goal=None) -> str:
  """Layout (+ optional start/goal cells (row, col)) -> ASCII maze (inverse of `parse_ascii`)."""
  h, v = np.asarray(layout.h_walls, bool), np.asarray(layout.v_walls, bool)
  rows, cols = v.shape[0], h.shape[1]
  out = []
  for i in range(rows, -1, -1):
    out.append("+" + "+".join("---" if h[i, j] else "   " for j in range(cols)) + "+")
    if i > 0:
      r = i - 1
      line = ""
      for j in range(cols):
        mark = "S" if start is not None and tuple(start) == (r, j) else (
            "G" if goal is not None and tuple(goal) == (r, j) else " ")
        line += ("|" if v[r, j] else " ") + f" {mark} "
      out.append(line + ("|" if v[r, cols] else " "))
  return "\n".join(out)


# The fixed large maze (10×10 cells, four times the area of the default 5×5 random layouts).
# Generated once with this module's generator, so it is in the random layouts' distribution:
# `random_layout(jax.random.split(jax.random.PRNGKey(2026), 200)[4], 10, 10)` (line_prob 0.6,
# door_prob 0.25), the layout of those 200 with the longest shortest path between a start in
# the bottom-left and a goal in the top-right 3×3 corner: 39 moves from S (1, 2) to G (9, 9).
LARGE_MAZE = """
+---+---+---+---+---+---+---+---+---+---+
|           |   |                     G |
+---+   +---+   +---+   +---+---+---+---+
|       |   |   |   |   |               |
+   +   +   +   +   +   +   +   +   +   +
|           |   |   |   |               |
+   +   +   +   +   +   +   +   +   +   +
|       |   |   |           |           |
+   +   +   +   +   +   +   +   +   +   +
|       |       |   |       |           |
+---+---+   +   +---+---+   +   +---+---+
|           |           |   |           |
+---+---+   +---+---+   +---+   +---+---+
|                   |   |               |
+   +   +---+---+---+   +   +---+   +---+
|           |   |       |               |
+   +   +---+   +   +   +---+---+---+   +
|       | S     |   |                   |
+   +   +---+   +---+---+---+   +   +   +
|                       |               |
+---+---+---+---+---+---+---+---+---+---+
"""

"""D4RL's random maze layouts, and the maze of SPiRL's downstream task, as thin-wall `Layout`s.

SPiRL's maze task (clvrai/spirl `rl/envs/maze.py` `ACRandMaze0S40Env`) is D4RL's point maze
`maze2d-randMaze0S40-ac-v0`, whose layout is `maze_layouts.rand_layout(seed=0, size=40)` of
D4RL's `pointmaze/maze_layouts.py` (rail-berkeley/d4rl @4aff6f8), with the agent starting at
`START_POS = (10, 24)` and the goal `TARGET_POS = (18, 8)`. That generator is rebuilt here in
numpy from its description (`sample_blocks`); a layout is a square grid of unit blocks, walls
filling whole cells:

  until a fraction `coverage_frac` of the cells is wall: draw an orientation (a uniform number
  < 0.5: vertical) and a length L = max(int((max_len_frac - min_len_frac) size u
  + min_len_frac size), 3) (u uniform), a door offset uniform in 1 .. L - 2, then the wall's
  position from softmax(-temp x) over the positions, x the mean wall occupancy of the L x 5
  (vertical; 5 x L horizontal) window the wall would sit in the middle of; lay the wall, open
  its door cell, and wall the four cells diagonal to the door (a doorway frame).

`numpy.random.default_rng(seed)` makes it reproducible; the draws are made in the reference's
order (orientation, length, door, position).

Blocks become thin walls (`blocks_to_layout`): a segment on every boundary between a free cell
and a wall cell, plus the outer border (D4RL pads the grid with a wall ring). The agent moves in
the same free space (our walls are 0.1 thick capsules on the boundaries, a 5 cm margin on each
side of it). Coordinates: D4RL's position (x, y) indexes its padded character grid as
`[x][y]`, so the block `blocks[i, j]` is our cell (row = j, col = i) (x to the right, y up), and
D4RL's cell (x, y) of the padded grid is our cell (row = y - 1, col = x - 1).
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np
from scipy.signal import convolve2d

from helms_jax.envs.maze.layout import Layout

__all__ = ["sample_blocks", "blocks_to_layout", "walls_around", "layout_bank", "d4rl_cell",
           "paper_maze", "PAPER_SEED", "PAPER_SIZE", "PAPER_START", "PAPER_GOAL"]

PAPER_SEED, PAPER_SIZE = 0, 40  # rand_layout(seed=0, size=40)
PAPER_START, PAPER_GOAL = (10, 24), (18, 8)  # ACRandMaze0S40Env START_POS, TARGET_POS (D4RL x, y)


def _position_probs(blocks: np.ndarray, window: tuple[int, int], temp: float) -> np.ndarray:
  occupancy = convolve2d(blocks, np.ones(window) / (window[0] * window[1]), "valid")
  weights = np.exp(-temp * occupancy)
  return weights / np.sum(weights)


def _draw_position(probs: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
  flat = rng.choice(np.arange(probs.size), p=probs.ravel())
  i, j = np.unravel_index(flat, probs.shape)
  return int(i), int(j)


def _place_wall(blocks: np.ndarray, rng: np.random.Generator, min_len_frac: float,
                max_len_frac: float, temp: float) -> None:
  size = blocks.shape[0]
  vertical = rng.random() < 0.5
  length = int(max((max_len_frac - min_len_frac) * size * rng.random() + min_len_frac * size, 3))
  door = int(rng.choice(np.arange(1, length - 1)))
  if vertical:  # along the first axis
    i, j = _draw_position(_position_probs(blocks, (length, 5), temp), rng)
    a, b = i, j + 2
    blocks[a:a + length, b] = 1
    blocks[a + door, b] = 0
    for da in (-1, 1):
      for db in (-1, 1):
        blocks[a + door + da, b + db] = 1
  else:
    i, j = _draw_position(_position_probs(blocks, (5, length), temp), rng)
    a, b = j, i + 2
    blocks[b, a:a + length] = 1
    blocks[b, a + door] = 0
    for db in (-1, 1):
      for da in (-1, 1):
        blocks[b + db, a + door + da] = 1


def sample_blocks(seed: int | None, size: int = 20, max_len_frac: float = 0.5,
                  min_len_frac: float = 0.3, coverage_frac: float = 0.25,
                  temp: float = 20.0) -> np.ndarray:
  """D4RL's `sample_layout`: a [size, size] float array, 1 = wall block (no outer ring)."""
  if size < 7:
    raise ValueError(f"D4RL layouts need size >= 7 (a wall and its 5-wide window), got {size}")
  rng = np.random.default_rng(seed=seed)
  blocks = np.zeros((size, size))
  while np.mean(blocks) < coverage_frac:
    _place_wall(blocks, rng, min_len_frac, max_len_frac, temp)
  return blocks


def walls_around(wall):
  """Thin walls around the wall cells `wall [R, C]` (bool, our (row, col) orientation), plus the
  outer border: a `Layout` (numpy in, numpy out; jax in, jax out, jittable and vmappable).

  A boundary carries a wall when exactly one side is a wall cell, or it is the border."""
  xp = np if isinstance(wall, np.ndarray) else jnp
  wall = xp.asarray(wall, bool)
  padded = xp.pad(wall, 1, constant_values=True)  # D4RL's wall ring
  h = padded[:-1, 1:-1] != padded[1:, 1:-1]  # [R + 1, C]: between row i - 1 and row i
  v = padded[1:-1, :-1] != padded[1:-1, 1:]  # [R, C + 1]
  # The ring makes a border segment a wall only next to a free cell; the border is always one.
  rows = xp.arange(h.shape[0])[:, None]
  cols = xp.arange(v.shape[1])[None, :]
  h = h | (rows == 0) | (rows == h.shape[0] - 1)
  v = v | (cols == 0) | (cols == v.shape[1] - 1)
  return Layout(h_walls=h, v_walls=v)


def blocks_to_layout(blocks: np.ndarray) -> Layout:
  """Thin walls around the wall blocks of `blocks` [X, Y] (1 = wall; our cell (row=y, col=x)),
  plus the outer border: a numpy `Layout` of Y rows and X columns."""
  return walls_around(np.asarray(blocks, bool).T)


@functools.lru_cache(maxsize=4)
def layout_bank(size: int, count: int) -> np.ndarray:
  """[count, size, size] bool: the wall cells (our (row, col) orientation) of D4RL's random
  layouts `sample_blocks(seed, size)`, seeds 0 .. count - 1 (~1 ms each at size 20).

  SPiRL's training data draws a new such layout per trajectory; the maze env draws one from
  this bank per episode."""
  if count < 1:
    raise ValueError(f"a layout bank needs count >= 1, got {count}")
  return np.stack([sample_blocks(seed, size).T.astype(bool) for seed in range(count)])


def d4rl_cell(position: tuple[float, float]) -> tuple[int, int]:
  """Our cell (row, col) of D4RL's position (x, y) in its padded grid (wall ring at 0)."""
  x, y = position
  return int(round(y)) - 1, int(round(x)) - 1


@functools.lru_cache(maxsize=None)
def paper_maze() -> tuple[Layout, tuple[int, int], tuple[int, int]]:
  """SPiRL's downstream maze: (layout 40 x 40, start cell, goal cell), cells as (row, col)."""
  blocks = sample_blocks(PAPER_SEED, PAPER_SIZE)
  start, goal = d4rl_cell(PAPER_START), d4rl_cell(PAPER_GOAL)
  wall = blocks.T.astype(bool)
  for name, cell in (("start", start), ("goal", goal)):
    if wall[cell]:  # the generator no longer gives the paper's maze (e.g. a numpy change)
      raise RuntimeError(f"the regenerated D4RL maze has a wall at the paper's {name} {cell}")
  return blocks_to_layout(blocks), start, goal

"""Tests for the MJX point-mass maze (helms_jax.envs.maze): layouts, BFS, walls, image, expert.

Budget: one MJX compilation in the default suite. A single jitted rollout of 64 random-layout
envs serves both the planner expert and "drive straight" episodes (the choice is a traced policy
parameter), and records each episode's walls, so the wall tests compare the physics with the
layout the env actually used. Oracles: numpy BFS (collections.deque), a numpy ray walk along the
grid for where a straight drive must stop, supersampled pixel coverage. The large maze and
brax's PPO are slow-marked.
"""

import collections
import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helms_jax import envs
from helms_jax.envs import experts
from helms_jax.envs.maze import d4rl
from helms_jax.envs.maze import env as maze_env
from helms_jax.envs.maze import layout as L

NUM_ENVS = 64
STEP_LIMIT = 100  # 10 s of control at 0.1 s per step; the expert needs ~22 on average


# ---------------------------------------------------------------- oracles

def numpy_bfs(h: np.ndarray, v: np.ndarray, source) -> np.ndarray:
  """Brute-force BFS over cells with a queue, reading walls directly: [R, C], inf unreachable."""
  rows, cols = v.shape[0], h.shape[1]
  dist = np.full((rows, cols), np.inf)
  dist[tuple(source)] = 0
  queue = collections.deque([tuple(source)])
  while queue:
    i, j = queue.popleft()
    steps = [((i, j + 1), not v[i, j + 1]), ((i, j - 1), not v[i, j]),
             ((i + 1, j), not h[i + 1, j]), ((i - 1, j), not h[i, j])]
    for (a, b), free in steps:
      if free and 0 <= a < rows and 0 <= b < cols and dist[a, b] == np.inf:
        dist[a, b] = dist[i, j] + 1
        queue.append((a, b))
  return dist


def wall_ahead(h, v, start, direction):
  """Walks the grid line by line from the start cell along `direction` (0 E, 1 W, 2 N, 3 S):
  (coordinate of the first present wall along that axis, number of absent segments crossed)."""
  col, row = int(np.floor(start[0])), int(np.floor(start[1]))
  if direction == 0:
    line = [j for j in range(col + 1, v.shape[1]) if v[row, j]][0]
    return line, line - col - 1
  if direction == 1:
    line = [j for j in range(col, -1, -1) if v[row, j]][0]
    return line, col - line
  if direction == 2:
    line = [i for i in range(row + 1, h.shape[0]) if h[i, col]][0]
    return line, line - row - 1
  line = [i for i in range(row, -1, -1) if h[i, col]][0]
  return line, row - line


def _episode(lay):
  """An Episode of a hand-made numpy layout (goal and distance field unused: zeros)."""
  rows, cols = lay.v_walls.shape[0], lay.h_walls.shape[1]
  return maze_env.Episode(h_walls=jnp.asarray(lay.h_walls), v_walls=jnp.asarray(lay.v_walls),
                          goal=jnp.zeros(2), goal_cell=jnp.zeros(2, jnp.int32),
                          distance_field=jnp.zeros((rows, cols)))


# ---------------------------------------------------------------- shared rollout

@dataclasses.dataclass(frozen=True)
class DriveOrExpertInit:
  expert_init: object

  def __call__(self, key):
    return self.expert_init(key), jax.random.randint(jax.random.fold_in(key, 1), (), 0, 4)


@dataclasses.dataclass(frozen=True)
class DriveOrExpert:
  """use_expert (traced bool) ? the planner expert : full force along a per-episode axis."""
  expert_policy: object

  def __call__(self, use_expert, obs, key, pstate):
    expert_state, direction = pstate
    action, expert_state = self.expert_policy(obs, key, expert_state)
    move = jnp.asarray(L.MOVES)[direction]
    drive = jnp.stack([move[1], move[0]]).astype(jnp.float32)  # (d_col, d_row) = (x, y)
    return jnp.where(use_expert, action, drive), (expert_state, direction)


def _record_walls(state):
  return {"h": state.info["h_walls"], "v": state.info["v_walls"], "goal": state.info["goal"],
          "goal_cell": state.info["goal_cell"], "field": state.info["distance_field"]}


@pytest.fixture(scope="module")
def random_env():
  return envs.EpisodeWrapper(envs.make("maze", layout="random", size=5), STEP_LIMIT)


@pytest.fixture(scope="module")
def rollouts(random_env):
  """{'expert': Trajectory, 'drive': Trajectory} from one compiled rollout (64 envs)."""
  expert = experts.expert_for("maze", random_env, noise_scale=0.1)
  run = functools.partial(
      envs.rollout, random_env, DriveOrExpert(expert.policy), num_envs=NUM_ENVS,
      num_steps=STEP_LIMIT, policy_init=DriveOrExpertInit(expert.init), record_fn=_record_walls)
  out, times = {}, {}
  for name, key, use_expert in (("expert", 0, True), ("drive", 1, False)):
    t0 = time.time()
    out[name] = jax.device_get(run(jax.random.PRNGKey(key), policy_params=jnp.array(use_expert)))
    times[name] = time.time() - t0
  print(f"maze rollout {NUM_ENVS}x{STEP_LIMIT}: compile+run {times['expert']:.1f}s, "
        f"run {times['drive']:.2f}s")
  return out


# ---------------------------------------------------------------- the planner expert

def test_expert_solves_random_mazes(rollouts):
  traj = rollouts["expert"]
  success = (traj.info["success"] * traj.valid).max(1) > 0
  lengths = np.asarray(envs.episode_lengths(traj))
  print(f"expert on 5x5 random mazes: success {success.mean():.3f} within {STEP_LIMIT} steps, "
        f"mean length of successes {lengths[success].mean():.1f}")
  assert success.mean() >= 0.95
  # A success ends the episode with reward 1 on exactly that step (sparse reward).
  np.testing.assert_array_equal(traj.reward.sum(1)[success], 1.0)
  final = traj.observation[np.arange(NUM_ENVS), lengths, :2]
  goal = traj.recorded["goal"][:, 0]
  np.testing.assert_array_less(np.linalg.norm(final - goal, axis=-1)[success], 0.25)
  # The path distance reported per step is finite (the goal is reachable) and ends at 0.
  valid = traj.valid > 0
  assert np.isfinite(traj.info["path_distance"][valid]).all()
  np.testing.assert_array_equal(traj.info["path_distance"][np.arange(NUM_ENVS), lengths - 1]
                                [success], 0.0)


@pytest.mark.slow
def test_layout_is_recoverable_from_the_first_observation(rollouts):
  """The expert's source of truth: `episode_from_start(first obs)` is the env's episode (the
  default-suite expert test relies on it implicitly: a wrong maze would not be solved)."""
  traj = rollouts["expert"]
  spec = envs.make("maze", layout="random", size=5).spec
  got = jax.device_get(jax.jit(jax.vmap(spec.episode_from_start))(traj.observation[:, 0, :2]))
  np.testing.assert_array_equal(got.h_walls, traj.recorded["h"][:, 0])
  np.testing.assert_array_equal(got.v_walls, traj.recorded["v"][:, 0])
  np.testing.assert_array_equal(got.goal, traj.recorded["goal"][:, 0])
  np.testing.assert_array_equal(traj.observation[:, 0, 2:4], 0.0)  # starts at rest


def test_waypoints_descend_the_path_distance():
  """From every cell of the large maze the expert's waypoint is the centre of a neighbour one
  BFS move closer to the goal, reachable through an absent segment (numpy BFS and walls)."""
  from helms_jax.envs.maze import expert as maze_expert
  lay, _, goal = L.parse_ascii(L.LARGE_MAZE)
  d = numpy_bfs(lay.h_walls, lay.v_walls, goal)  # = the env's BFS (see the reachability test)
  episode = maze_env.Episode(
      h_walls=jnp.asarray(lay.h_walls), v_walls=jnp.asarray(lay.v_walls),
      goal=jnp.array([goal[1] + 0.5, goal[0] + 0.5]), goal_cell=jnp.asarray(goal),
      distance_field=jnp.asarray(d, jnp.float32))
  rows, cols = np.meshgrid(np.arange(10), np.arange(10), indexing="ij")
  pos = np.stack([cols.ravel() + 0.3, rows.ravel() + 0.6], -1).astype(np.float32)  # off-centre
  target, at_goal = jax.jit(jax.vmap(maze_expert.waypoint, in_axes=(None, 0)))(episode, pos)
  for (x, y), t, g in zip(pos, np.asarray(target), np.asarray(at_goal)):
    i, j = int(y), int(x)
    if (i, j) == goal:
      assert g and np.allclose(t, [goal[1] + 0.5, goal[0] + 0.5])
      continue
    ni, nj = int(t[1]), int(t[0])
    np.testing.assert_allclose(t, [nj + 0.5, ni + 0.5])
    assert abs(ni - i) + abs(nj - j) == 1 and d[ni, nj] == d[i, j] - 1
    wall = (lay.v_walls[i, max(j, nj)] if ni == i else lay.h_walls[max(i, ni), j])
    assert not wall


# ---------------------------------------------------------------- walls

def test_walls_block_and_doorways_pass(rollouts):
  """Full force along an axis from a random start: the agent stops at the first present wall
  segment on its line (never beyond), having passed every absent segment (moved-away geoms)
  before it, and is never pushed sideways (no phantom contacts)."""
  traj = rollouts["drive"]
  reach = maze_env.WALL_RADIUS + maze_env.AGENT_RADIUS
  crossed_doorways = 0
  for n in range(NUM_ENVS):
    h, v = traj.recorded["h"][n, 0], traj.recorded["v"][n, 0]
    valid = traj.valid[n] > 0
    path = traj.observation[n, :int(valid.sum()) + 1, :2]  # [t, (x, y)]
    move = traj.action[n, 0]
    direction = {(1, 0): 0, (-1, 0): 1, (0, 1): 2, (0, -1): 3}[tuple(move.astype(int))]
    axis = 0 if direction < 2 else 1
    sign = 1.0 if direction in (0, 2) else -1.0
    line, crossed = wall_ahead(h, v, path[0], direction)
    stop = line - sign * reach  # centre of the agent touching the wall
    # Never through the wall: contacts start once the agent touches, so a full-speed impact
    # sinks in by at most one substep of travel (3 cells/s · 20 ms = 6 cm; the agent's centre
    # stays >= 9 cm from the wall's centre line), then is pushed back out.
    assert sign * (path[:, axis] - stop).max() < 0.065, (n, direction, line, path[:, axis])
    # No sideways motion: contacts are only with segments perpendicular to the motion.
    np.testing.assert_allclose(path[:, 1 - axis], path[0, 1 - axis], atol=1e-3)
    if traj.info["success"][n].max() > 0:
      continue  # drove through the goal: the episode ended early
    # Reached the wall: every absent segment before it let the agent through.
    assert abs(path[-1, axis] - stop) < 0.01, (n, direction, line, path[-1])
    crossed_doorways += crossed
  assert crossed_doorways >= 20  # the check above exercised many removed segments


def test_removed_segments_are_far_from_the_agent():
  """`model_for` moves exactly the episode's absent internal segments far below the plane."""
  env = envs.make("maze", layout="random", size=3)
  lay = L.border_layout(3, 3)
  lay.h_walls[1, 0] = True  # one internal horizontal segment present
  episode = _episode(lay)
  geom_pos = np.asarray(env.model_for(episode, jnp.array([0.5, 0.5])).geom_pos)
  walls = geom_pos[env._wall_geoms]
  present = np.concatenate([np.ones(4, bool), L.flat_walls(lay)[env._internal]])
  np.testing.assert_allclose(walls[present, 2], maze_env.AGENT_RADIUS)
  assert (walls[~present, 2] < -50).all() and (~present).sum() == 11  # 12 internal, 1 present


# ---------------------------------------------------------------- layouts and BFS

def test_goal_always_reachable_and_layouts_connected(rollouts):
  """Over the 128 resets of the shared rollouts: connected layouts with a full border, a goal
  at a cell centre >= min_goal_distance moves from the start, the env's BFS distance field
  equal to brute-force BFS, a new layout per reset, starts near cell centres."""
  starts = np.concatenate([t.observation[:, 0, :2] for t in rollouts.values()])
  rec = {k: np.concatenate([t.recorded[k][:, 0] for t in rollouts.values()])
         for k in ("h", "v", "goal", "goal_cell", "field")}
  distinct = {(h.tobytes(), v.tobytes()) for h, v in zip(rec["h"], rec["v"])}
  assert len(distinct) >= 120
  for n in range(len(starts)):
    h, v, goal_cell = rec["h"][n], rec["v"][n], tuple(rec["goal_cell"][n])
    assert h[0].all() and h[-1].all() and v[:, 0].all() and v[:, -1].all()
    from_start = numpy_bfs(h, v, (int(starts[n, 1]), int(starts[n, 0])))
    assert np.isfinite(from_start).all()  # connected: every cell reachable
    assert from_start[goal_cell] >= 2  # min_goal_distance
    np.testing.assert_allclose(rec["goal"][n], np.array(goal_cell[::-1]) + 0.5)
    np.testing.assert_array_equal(rec["field"][n], numpy_bfs(h, v, goal_cell))
  offset = starts - (np.floor(starts) + 0.5)
  assert np.abs(offset).max() <= 0.2 + 1e-6
  assert len(np.unique(np.floor(starts[:, 1]) * 5 + np.floor(starts[:, 0]))) >= 20


def test_bfs_matches_numpy_on_disconnected_layouts():
  rng = np.random.default_rng(0)
  layouts = []
  for _ in range(6):  # independent random walls: often disconnected (inf distances)
    lay = L.border_layout(4, 6)
    lay.h_walls[1:-1] = rng.random((3, 6)) < 0.5
    lay.v_walls[:, 1:-1] = rng.random((4, 5)) < 0.5
    layouts.append(lay)
  hs = jnp.asarray(np.stack([l.h_walls for l in layouts]))
  vs = jnp.asarray(np.stack([l.v_walls for l in layouts]))
  sources = jnp.asarray(rng.integers(0, [4, 6], size=(6, 2)))

  @jax.jit
  @jax.vmap
  def bfs_and_labels(h, v, source):
    return L.bfs_distances(L.Layout(h, v), source), L.components(L.Layout(h, v))

  got, labels = bfs_and_labels(hs, vs, sources)
  saw_inf = False
  for n, lay in enumerate(layouts):
    want = numpy_bfs(lay.h_walls, lay.v_walls, tuple(np.asarray(sources[n])))
    np.testing.assert_array_equal(np.asarray(got[n]), want)
    saw_inf |= bool(np.isinf(want).any())
    # Same component label exactly where reachable from the source.
    same = np.asarray(labels[n]) == np.asarray(labels[n])[tuple(np.asarray(sources[n]))]
    np.testing.assert_array_equal(same, np.isfinite(want))
  assert saw_inf


def test_ascii_segments_and_large_maze():
  lay, start, goal = L.parse_ascii(L.LARGE_MAZE)
  assert (lay.rows, lay.cols) == (10, 10) and start == (1, 2) and goal == (9, 9)
  assert L.parse_ascii(L.to_ascii(lay, start, goal))[0].h_walls.tolist() == lay.h_walls.tolist()
  d = numpy_bfs(lay.h_walls, lay.v_walls, start)
  assert np.isfinite(d).all() and d[goal] == 39  # far apart (documented)
  segs = L.wall_segments(lay)
  assert segs.shape == (int(lay.h_walls.sum() + lay.v_walls.sum()), 2, 2)
  assert (np.abs(segs[:, 1] - segs[:, 0]).sum(-1) == 1).all()  # unit, axis-aligned
  # Merged runs cover exactly the same unit segments.
  runs = L.merged_wall_segments(lay)
  assert runs.shape[0] < segs.shape[0]
  unit = {tuple(s.ravel()) for s in segs}
  covered = set()
  for (x0, y0), (x1, y1) in runs:
    n = int(abs(x1 - x0) + abs(y1 - y0))
    dx, dy = (x1 - x0) / n, (y1 - y0) / n
    covered |= {(x0 + k * dx, y0 + k * dy, x0 + (k + 1) * dx, y0 + (k + 1) * dy) for k in range(n)}
  assert covered == unit


# ---------------------------------------------------------------- image

@pytest.mark.parametrize("layout,size,extent", [("random", 5, maze_env.IMAGE_EXTENT),
                                                ("large", None, 2.07)])
def test_local_views_equal_the_every_segment_image(layout, size, extent):
  """The observation's views (a few candidate walls per pixel) equal `occupancy_image` over
  every segment of the maze, at random positions inside and around it, for image sizes down to
  the coarse ones where a pixel reaches the next grid line, and for a wider view."""
  env = envs.make("maze", layout=layout, size=size, image=True, image_size=32,
                  image_extent=extent)
  walls = jax.jit(env.reset)(jax.random.PRNGKey(3)).info["walls"]
  assert 0 < int(jnp.sum(walls)) < walls.size  # some segments present, some absent
  table = jnp.asarray(L.segment_table(env.rows, env.cols))
  pos = jnp.asarray(np.random.default_rng(0).uniform(-0.5, env.rows + 0.5, (64, 2)), jnp.float32)
  @functools.partial(jax.jit, static_argnums=0)  # one small compile beats eager vmaps 20x here
  def both(pixels, pos, walls):
    fast = jax.vmap(lambda p: env.local_views(p[None], walls, pixels))(pos)
    brute = jax.vmap(lambda p: maze_env.occupancy_image(p, table, walls, pixels, extent)
                     .reshape(-1))(pos)
    return fast, brute

  for pixels in (2, 4, 32):
    fast, brute = both(pixels, pos, walls)
    assert float(jnp.max(brute)) > 0
    np.testing.assert_allclose(np.asarray(fast), np.asarray(brute), atol=2e-5, err_msg=pixels)
  with pytest.raises(ValueError, match="walls must be"):
    env.local_views(pos[:1], walls[:-1])


def test_occupancy_image_against_wall_band_coverage():
  """The image observation of a hand-made maze: a pixel crossed by exactly one wall band has the
  covered fraction of its area (interval overlap, exact); pixels far from every wall are 0."""
  env = envs.make("maze", layout="random", size=3, image=True)
  assert env.observation_groups.size("image") == 256 and env.observation_size == 260
  lay = L.border_layout(3, 3)
  lay.v_walls[1, 1] = True  # x = 1, y in [1, 2]
  lay.h_walls[2, 2] = True  # y = 2, x in [2, 3]
  pos = np.array([1.37, 1.62], np.float32)
  state = jax.jit(env.state_from)(jnp.asarray(pos), _episode(lay))
  np.testing.assert_array_equal(np.asarray(state.obs[:4]), [*pos, 0.0, 0.0])
  image = np.asarray(state.obs[4:]).reshape(16, 16)
  p, w = 3.0 / 16, maze_env.WALL_RADIUS
  checked = 0
  for r in range(16):
    y0 = pos[1] + 1.5 - (r + 1) * p  # pixel [x0, x0 + p] × [y0, y0 + p]
    for c in range(16):
      x0 = pos[0] - 1.5 + c * p
      near, spans = [], []
      for (ax, ay), (bx, by) in L.wall_segments(lay):
        if ay == by:  # horizontal wall at y = ay: band [ay - w, ay + w]
          lo, hi, along, a, b = y0, y0 + p, (x0, x0 + p), min(ax, bx), max(ax, bx)
          line = ay
        else:
          lo, hi, along, a, b = x0, x0 + p, (y0, y0 + p), min(ay, by), max(ay, by)
          line = ax
        gap_across = max(line - w - hi, lo - (line + w), 0.0)
        gap_along = max(a - along[1], along[0] - b, 0.0)
        if np.hypot(gap_across, gap_along) < w + p:  # the wall comes near this pixel
          near.append(max(0.0, min(hi, line + w) - max(lo, line - w)) / p)
          spans.append(a <= along[0] and along[1] <= b)
      if not near:
        assert image[r, c] == 0.0, (r, c)
      elif len(near) == 1 and spans[0]:
        np.testing.assert_allclose(image[r, c], near[0], atol=1e-5, err_msg=str((r, c)))
        checked += near[0] > 0
  assert checked >= 20


# ---------------------------------------------------------------- construction

def test_make_kwargs_and_errors():
  env = envs.make("maze", layout="large")
  assert (env.rows, env.cols, env.observation_size, env.action_size) == (10, 10, 4, 2)
  assert env.backend == "mjx" and env.dt == pytest.approx(0.1)
  assert env.observation_groups.size(("position", "velocity")) == 4
  assert envs.make("maze", layout="random", size=4).rows == 4
  with pytest.raises(envs.EnvKwargError, match="layout"):
    envs.make("maze", layout="huge")
  with pytest.raises(envs.EnvKwargError, match="size"):
    envs.make("maze", layout="large", size=10)
  with pytest.raises(envs.EnvKwargError, match="size"):
    envs.make("maze", size=1)
  with pytest.raises(envs.EnvKwargError, match="reward"):
    envs.make("maze", reward="shaped")
  with pytest.raises(envs.EnvKwargError, match="start_noise"):
    envs.make("maze", start_noise=0.0)
  with pytest.raises(envs.EnvKwargError, match="goal_tolerance"):
    envs.make("maze", goal_tolerance=0.0)
  with pytest.raises(envs.EnvKwargError, match="image_extent"):
    envs.make("maze", image_extent=0.2)
  with pytest.raises(envs.EnvKwargError, match="sise"):  # typo: the registry names it
    envs.make("maze", sise=5)
  with pytest.raises(ValueError, match="Maze env"):
    experts.expert_for("maze", envs.make("point_reach"))
  # goal_cell moves the large maze's goal (row 0 at the bottom); the distance field follows.
  near = envs.make("maze", layout="large", goal_cell=(9, 0)).spec.episode_from_start(
      jnp.array([2.5, 1.5]))
  np.testing.assert_allclose(near.goal, [0.5, 9.5])
  assert float(near.distance_field[9, 0]) == 0 and float(near.distance_field[1, 2]) == 16
  with pytest.raises(envs.EnvKwargError, match="goal_cell"):
    envs.make("maze", layout="random", goal_cell=(1, 1))
  with pytest.raises(envs.EnvKwargError, match="outside"):
    envs.make("maze", layout="large", goal_cell=(10, 0))


# ---------------------------------------------------------------- D4RL's point mass

def test_d4rl_point_mass_clips_then_coasts():
  """`dynamics="d4rl"` against the closed form of MuJoCo's Euler step with implicit joint
  damping, v' = (v + dt F / m) / (1 + dt c / m): the velocity is clipped to +-5 per axis before
  the step, and with no force it decays by 1 / (1 + dt c / m) per step (a 4.2 s time constant;
  the default point mass loses 1 / (1 + 0.02 * 5) per step)."""
  env = envs.make("maze", layout="d4rl", dynamics="d4rl", timestep=0.01, substeps=1)
  pm = maze_env.POINT_MASSES["d4rl"]
  assert (round(pm.mass, 3), pm.damping, pm.gear, pm.velocity_clip) == (4.189, 1.0, 100.0, 5.0)
  decay = 1.0 / (1.0 + 0.01 * pm.damping / pm.mass)
  step = jax.jit(env.step)
  state = env.reset(jax.random.PRNGKey(0))
  fast = state.replace(pipeline_state=state.pipeline_state.replace(qvel=jnp.array([7.0, -6.0])))
  after = step(fast, jnp.array([0.0, 1.0]))
  np.testing.assert_allclose(after.obs[2:4], [5.0 * decay, (-5.0 + 0.01 * 100.0 / pm.mass) * decay],
                             rtol=1e-4)
  slow = state.replace(pipeline_state=state.pipeline_state.replace(qvel=jnp.array([0.5, 0.0])))
  for _ in range(20):  # 0.1 cells: no wall reached from the start cell's centre
    slow = step(slow, jnp.zeros(2))
  np.testing.assert_allclose(slow.obs[2:4], [0.5 * decay ** 20, 0.0], rtol=1e-4, atol=1e-6)
  with pytest.raises(envs.EnvKwargError, match="dynamics"):
    envs.make("maze", dynamics="d4rI")


@pytest.mark.slow
def test_expert_reaches_goals_with_the_d4rl_point_mass():
  """The planner expert tracks its waypoints with D4RL's coasting point mass too (its force law
  reads the env's dynamics): D4RL random 10 x 10 layouts at 0.01 s per step."""
  env = envs.EpisodeWrapper(
      envs.make("maze", layout="d4rl_random", size=D4RL_SIZE, num_layouts=D4RL_LAYOUTS,
                min_goal_distance=D4RL_MIN_GOAL, max_goal_distance=D4RL_MAX_GOAL,
                dynamics="d4rl", timestep=0.01, substeps=1), 500)
  expert = experts.expert_for("maze", env, noise_scale=0.2)
  traj = jax.device_get(envs.rollout(env, expert.policy, jax.random.PRNGKey(1), 32, 500,
                                     policy_init=expert.init))
  success = (traj.info["success"] * traj.valid).max(1) > 0
  print(f"d4rl point mass: success {success.mean():.2f}, "
        f"mean length {np.asarray(envs.episode_lengths(traj)).mean():.0f}")
  assert success.mean() >= 0.9


# ---------------------------------------------------------------- slow: large maze, brax

@pytest.mark.slow
def test_expert_reaches_goal_in_large_maze():
  env = envs.EpisodeWrapper(envs.make("maze", layout="large"), 300)
  expert = experts.expert_for("maze", env, noise_scale=0.1)
  traj = jax.device_get(envs.rollout(env, expert.policy, jax.random.PRNGKey(0), 16, 300,
                                     policy_init=expert.init))
  success = (traj.info["success"] * traj.valid).max(1) > 0
  lengths = np.asarray(envs.episode_lengths(traj))
  print(f"large maze: success {success.mean():.2f}, mean length {lengths.mean():.1f}")
  assert success.all()
  assert lengths.max() < 39 * 6  # 39 cells at a few steps per cell


@pytest.mark.slow
def test_brax_ppo_runs_on_maze():
  from brax.training.agents.ppo import networks as ppo_networks
  from brax.training.agents.ppo import train as ppo

  _, _, metrics = ppo.train(
      environment=envs.make("maze", reward="dense"), num_timesteps=800, num_envs=8,
      episode_length=50, num_evals=2, unroll_length=10, batch_size=8, num_minibatches=2,
      num_updates_per_batch=1, num_eval_envs=8, seed=0, wrap_env_fn=envs.wrap_for_training,
      network_factory=functools.partial(
          ppo_networks.make_ppo_networks, policy_hidden_layer_sizes=(16,),
          value_hidden_layer_sizes=(16,)))
  for k, v in metrics.items():
    assert np.all(np.isfinite(np.asarray(v))), (k, v)
  assert metrics["eval/episode_reward"] < 0  # dense reward: minus the distance


def test_stacked_views_are_the_current_and_previous_positions_views():
  """image_frames=2: at reset both frames are the start's view; after a step the second frame
  is the view the first frame showed before it; `local_views` renders the same from positions
  and `info['walls']` (what samplers use on stored states)."""
  env = envs.make("maze", layout="random", size=3, image=True, image_size=8, image_frames=2)
  assert env.observation_groups.size("image") == 2 * 64
  lay = L.border_layout(3, 3)
  lay.v_walls[1, 1] = True
  state = jax.jit(env.state_from)(jnp.asarray([1.4, 1.6]), _episode(lay))
  frames = np.asarray(state.obs[4:]).reshape(2, 8, 8)
  np.testing.assert_array_equal(frames[0], frames[1])
  assert frames[0].sum() > 0  # the wall at x = 1 is in view
  after = jax.jit(env.step)(state, jnp.asarray([1.0, -1.0]))
  new = np.asarray(after.obs[4:]).reshape(2, 8, 8)
  np.testing.assert_array_equal(new[1], frames[0])
  assert not np.array_equal(new[0], new[1])  # it moved
  rendered = env.local_views(jnp.stack([after.obs[:2], state.obs[:2]]), after.info["walls"])
  np.testing.assert_allclose(rendered, after.obs[4:], atol=1e-6)


def _block_bfs(blocks, start):
  """BFS over the free blocks of a D4RL grid [X, Y] (4-neighbours, outside = wall), keyed by
  our cell (row = y, col = x)."""
  free = ~np.asarray(blocks, bool)
  dist = np.full(free.shape, np.inf)
  x0, y0 = start[1], start[0]
  dist[x0, y0], queue = 0, [(x0, y0)]
  while queue:
    x, y = queue.pop(0)
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
      u, v = x + dx, y + dy
      if 0 <= u < free.shape[0] and 0 <= v < free.shape[1] and free[u, v] and dist[u, v] == np.inf:
        dist[u, v] = dist[x, y] + 1
        queue.append((u, v))
  return dist.T  # [rows = y, cols = x]


def test_d4rl_blocks_become_thin_walls_with_the_same_paths():
  """Thin walls around random wall blocks: a segment exactly where one side is a block, and
  BFS over the thin-wall layout equals BFS over the free blocks (brute force)."""
  rng = np.random.default_rng(1)
  blocks = (rng.random((7, 5)) < 0.3).astype(float)  # [X = 7, Y = 5]
  blocks[0, 0] = 0
  lay = d4rl.blocks_to_layout(blocks)
  assert (lay.rows, lay.cols) == (5, 7)
  wall = blocks.T.astype(bool)
  for i in range(1, 5):
    for j in range(7):
      assert lay.h_walls[i, j] == (wall[i - 1, j] != wall[i, j])
  for i in range(5):
    for j in range(1, 7):
      assert lay.v_walls[i, j] == (wall[i, j - 1] != wall[i, j])
  assert lay.h_walls[0].all() and lay.h_walls[-1].all() and lay.v_walls[:, 0].all()
  got = numpy_bfs(lay.h_walls, lay.v_walls, (0, 0))
  want = _block_bfs(blocks, (0, 0))
  np.testing.assert_array_equal(got[np.isfinite(want)], want[np.isfinite(want)])


def test_d4rl_generator_and_the_papers_maze():
  """D4RL's sampler: reproducible, covers its fraction with walls; SPiRL's maze (seed 0, size 40)
  has free start and goal cells, 34 moves apart, and the env builds it."""
  a, b = d4rl.sample_blocks(3, 20), d4rl.sample_blocks(3, 20)
  np.testing.assert_array_equal(a, b)
  assert a.shape == (20, 20) and 0.25 <= a.mean() < 0.4
  assert not np.array_equal(a, d4rl.sample_blocks(4, 20))
  lay, start, goal = d4rl.paper_maze()
  assert (lay.rows, lay.cols) == (40, 40) and start == (23, 9) and goal == (7, 17)
  blocks = d4rl.sample_blocks(d4rl.PAPER_SEED, d4rl.PAPER_SIZE)
  assert _block_bfs(blocks, start)[goal] == 34
  env = envs.make("maze", layout="d4rl")
  s = env.reset(jax.random.PRNGKey(0))
  assert np.all(np.abs(np.asarray(s.obs[:2]) - np.array([9.5, 23.5])) <= 0.2 + 1e-6)
  np.testing.assert_array_equal(np.asarray(s.info["goal_cell"]), [7, 17])
  with pytest.raises(ValueError, match="size >= 7"):
    d4rl.sample_blocks(0, 5)


# ---------------------------------------------------------------- D4RL random layouts (slots)

D4RL_SIZE, D4RL_LAYOUTS, D4RL_MIN_GOAL, D4RL_MAX_GOAL = 10, 64, 3, 8


@pytest.fixture(scope="module")
def d4rl_rollouts():
  """{'expert', 'drive'} in D4RL random 10 x 10 layouts (64 of them), one compiled rollout of
  32 envs; the default physics (0.3 cells per step at full speed) strains the wall slots most."""
  env = envs.EpisodeWrapper(
      envs.make("maze", layout="d4rl_random", size=D4RL_SIZE, num_layouts=D4RL_LAYOUTS,
                min_goal_distance=D4RL_MIN_GOAL, max_goal_distance=D4RL_MAX_GOAL), STEP_LIMIT)
  expert = experts.expert_for("maze", env, noise_scale=0.1)
  run = functools.partial(
      envs.rollout, env, DriveOrExpert(expert.policy), num_envs=32, num_steps=STEP_LIMIT,
      policy_init=DriveOrExpertInit(expert.init), record_fn=_record_walls)
  return {name: jax.device_get(run(jax.random.PRNGKey(key), policy_params=jnp.array(use)))
          for name, key, use in (("expert", 2, True), ("drive", 3, False))}


@pytest.mark.slow
def test_d4rl_random_episodes_come_from_the_bank(d4rl_rollouts):
  """Each episode's walls are one of the bank's D4RL layouts, its start cell is free there, its
  goal is reachable within [min, max] moves (brute-force BFS), and several layouts occur."""
  bank = d4rl.layout_bank(D4RL_SIZE, D4RL_LAYOUTS)
  bank_walls = [d4rl.walls_around(w) for w in bank]
  used = set()
  for traj in d4rl_rollouts.values():
    for n in range(traj.observation.shape[0]):
      h, v = traj.recorded["h"][n, 0], traj.recorded["v"][n, 0]
      index = [k for k, w in enumerate(bank_walls)
               if np.array_equal(w.h_walls, h) and np.array_equal(w.v_walls, v)]
      assert index, n
      used.add(index[0])
      start = traj.observation[n, 0, :2]
      cell = (int(start[1]), int(start[0]))
      assert not bank[index[0]][cell], (n, cell)
      goal_cell = tuple(traj.recorded["goal_cell"][n, 0])
      assert D4RL_MIN_GOAL <= numpy_bfs(h, v, cell)[goal_cell] <= D4RL_MAX_GOAL
  assert len(used) >= 20


@pytest.mark.slow
def test_d4rl_random_wall_slots_block_and_doorways_pass(d4rl_rollouts):
  """Full force along an axis: the agent stops at the first present wall on its line, never
  beyond it, having crossed the open boundaries before it (the slots follow the agent); the
  expert, which recovers the layout from its first observation, reaches the goal."""
  traj = d4rl_rollouts["drive"]
  reach = maze_env.WALL_RADIUS + maze_env.AGENT_RADIUS
  crossed_cells = 0
  for n in range(traj.observation.shape[0]):
    h, v = traj.recorded["h"][n, 0], traj.recorded["v"][n, 0]
    path = traj.observation[n, :int((traj.valid[n] > 0).sum()) + 1, :2]
    move = traj.action[n, 0]
    direction = {(1, 0): 0, (-1, 0): 1, (0, 1): 2, (0, -1): 3}[tuple(move.astype(int))]
    axis = 0 if direction < 2 else 1
    sign = 1.0 if direction in (0, 2) else -1.0
    line, crossed = wall_ahead(h, v, path[0], direction)
    stop = line - sign * reach
    assert sign * (path[:, axis] - stop).max() < 0.065, (n, direction, line, path[:, axis])
    np.testing.assert_allclose(path[:, 1 - axis], path[0, 1 - axis], atol=1e-3)
    if traj.info["success"][n].max() > 0:
      continue
    assert abs(path[-1, axis] - stop) < 0.01, (n, direction, line, path[-1])
    crossed_cells += crossed
  assert crossed_cells >= 10
  expert = d4rl_rollouts["expert"]
  assert ((expert.info["success"] * expert.valid).max(1) > 0).mean() >= 0.9


def test_d4rl_random_kwargs():
  env = envs.make("maze", layout="d4rl_random", num_layouts=4)
  assert (env.rows, env.cols, len(env._wall_geoms)) == (20, 20, 12)
  for kwargs, match in ((dict(layout="d4rl_random", size=6), "size"),
                        (dict(layout="random", num_layouts=4), "num_layouts"),
                        (dict(layout="d4rl_random", num_layouts=0), "num_layouts"),
                        (dict(layout="large", max_goal_distance=5), "max_goal_distance"),
                        (dict(layout="random", min_goal_distance=4, max_goal_distance=3),
                         "max_goal_distance"),
                        (dict(layout="d4rl_random", substeps=10), "slots")):
    with pytest.raises(envs.EnvKwargError, match=match):
      envs.make("maze", **kwargs)


@pytest.mark.slow  # ~10 s; the default suite's 15-minute budget
def test_d4rl_random_slots_move_like_every_wall_a_geom():
  """The slot model against a brute-force one: the same D4RL layouts, starts and actions
  stepped in an MJX model holding every possible unit segment as a geom (absent ones far below,
  as the "random" env does; its merged border runs would give one contact where unit segments
  give two, a mm difference that chaos then amplifies) give the same paths. Random actions are
  held for 8 steps, so agents slide along walls and into corners."""
  import mujoco
  from mujoco import mjx
  from helms_jax.envs import base as envs_base
  slots = envs.make("maze", layout="d4rl_random", size=D4RL_SIZE, num_layouts=D4RL_LAYOUTS)
  table = L.segment_table(D4RL_SIZE, D4RL_SIZE)
  model = envs_base.mjx_put_model(mujoco.MjModel.from_xml_string(
      maze_env._mjcf(table, 0.02, max_contact_points=4)))
  wall_ids = np.array([mujoco.mj_name2id(slots.mj_model, mujoco.mjtObj.mjOBJ_GEOM, "wall0")]
                      ) + np.arange(len(table))  # consecutive geoms, as in `_mjcf`
  num_envs, num_steps = 16, 120
  key_start, key_action = jax.random.split(jax.random.PRNGKey(5))
  starts = jax.vmap(slots.spec.sample_start)(jax.random.split(key_start, num_envs))
  actions = jax.random.uniform(key_action, (num_steps // 8, num_envs, 2), minval=-1, maxval=1)
  actions = jnp.repeat(actions, 8, axis=0)

  def brute_force_step(episode, data, action):
    present = L.flat_walls(episode.layout)
    pos = model.geom_pos[wall_ids]
    pos = jnp.where(present[:, None], pos, pos.at[:, 2].set(-100.0))
    m = model.replace(geom_pos=model.geom_pos.at[wall_ids].set(pos))
    data = data.replace(ctrl=jnp.clip(action, -1.0, 1.0))
    return jax.lax.fori_loop(0, slots.substeps, lambda _, d: mjx.step(m, d), data)

  @jax.jit
  def paths(starts, actions):
    episodes = jax.vmap(slots.spec.episode_from_start)(starts)
    state = jax.vmap(slots.state_from)(starts, episodes)
    data = jax.vmap(lambda s: envs_base.mjx_make_data(model).replace(qpos=s))(starts)

    def step(carry, action):
      state, data = carry
      state = jax.vmap(slots.step)(state, action)
      data = jax.vmap(brute_force_step)(episodes, data, action)
      return (state, data), (state.obs[:, :2], data.qpos[:, :2])

    return jax.lax.scan(step, (state, data), actions)[1], episodes

  (got, want), episodes = jax.device_get(paths(starts, actions))
  np.testing.assert_allclose(got, want, atol=1e-4)
  moved = np.linalg.norm(got[-1] - got[0], axis=-1)
  assert np.median(moved) > 1.0  # the agents travelled, through several cells' slots
  # The episodes (the slow tests check more, with the expert): each start's cell is free in its
  # layout, which is one of the bank's, and the goal is reachable in [min, max] moves.
  bank = d4rl.layout_bank(D4RL_SIZE, D4RL_LAYOUTS)
  for n, start in enumerate(np.asarray(starts)):
    index = [k for k, w in enumerate(bank)
             if np.array_equal(d4rl.walls_around(w).h_walls, episodes.h_walls[n])
             and np.array_equal(d4rl.walls_around(w).v_walls, episodes.v_walls[n])]
    cell = (int(start[1]), int(start[0]))
    assert index and not bank[index[0]][cell], n
    distance = numpy_bfs(episodes.h_walls[n], episodes.v_walls[n], cell)[
        tuple(episodes.goal_cell[n])]
    assert slots.spec.min_goal_distance <= distance, n


def test_disc_image_centroid_and_area_are_the_markers():
  """A soft disc's intensity-weighted centroid is its centre and its mass its area (closed form:
  pi r^2), to within a fraction of a pixel, wherever the centre falls between pixel centres."""
  size, extent = 32, 2.0
  pixel = 2 * extent / size
  offsets = (np.arange(size) + 0.5) * pixel - extent
  camera = np.array([3.0, -1.0])
  for marker in ([3.3, -1.2], [3.05, -0.89], [2.5, -0.4]):
    img = np.asarray(maze_env.disc_image(jnp.asarray(camera), jnp.asarray(marker), size, extent))
    x = camera[0] + offsets[None, :]  # columns
    y = camera[1] - offsets[:, None]  # rows, top first
    mass = img.sum()
    np.testing.assert_allclose([(img * x).sum() / mass, (img * y).sum() / mass], marker,
                               atol=0.1 * pixel)
    np.testing.assert_allclose(mass * pixel ** 2, np.pi * maze_env.MARKER_RADIUS ** 2, rtol=0.05)


def test_trailing_camera_follows_the_recursion_and_shows_the_velocity():
  """camera_follow=0.2 (MuJoCo's tracking camera, one render per step): `info['cameras']`
  follows l_t = l_{t-1} + 0.2 (p_t - l_{t-1}) from the start (a NumPy loop over the rolled-out
  positions); `cameras_from_past` gives the same from the past positions; the agent plane puts
  the agent at p_t - l_t from the view centre, which points along the velocity once moving
  (the steady-state lag is (1 - f) / f of a step's motion); bad settings are refused."""
  with pytest.raises(envs.EnvKwargError, match="image_agent"):
    envs.make("maze", image=True, camera_follow=0.2)
  with pytest.raises(envs.EnvKwargError, match="camera_follow"):
    envs.make("maze", image=True, image_agent=True, camera_follow=0.0)
  env = envs.make("maze", layout="random", size=3, image=True, image_size=32, image_frames=2,
                  image_agent=True, camera_follow=maze_env.D4RL_CAMERA_FOLLOW,
                  image_extent=2.07, dynamics="d4rl", timestep=0.01, substeps=1,
                  image_goal=True)
  assert env.observation_groups.size("image") == 2 * 3 * 32 * 32
  episode = _episode(L.border_layout(3, 3)).replace(goal=jnp.asarray([2.5, 1.5]))
  state = jax.jit(env.state_from)(jnp.asarray([0.5, 0.5]), episode)
  step = jax.jit(env.step)
  positions, cameras = [np.asarray(state.obs[:2])], [np.asarray(state.info["cameras"])]
  for _ in range(40):  # to ~(2, 2) at the clipped speed, short of the far walls
    state = step(state, jnp.asarray([1.0, 1.0]))
    positions.append(np.asarray(state.obs[:2]))
    cameras.append(np.asarray(state.info["cameras"]))
  expected = [positions[0].astype(np.float64)]
  for p in positions[1:]:
    expected.append(expected[-1] + 0.2 * (p - expected[-1]))
  np.testing.assert_allclose(np.stack([c[0] for c in cameras]), expected, atol=1e-5)
  np.testing.assert_allclose(np.stack([c[1] for c in cameras[1:]]), expected[:-1], atol=1e-5)
  past = np.stack([positions[max(40 - k, 0)] for k in range(env.camera_history)])
  np.testing.assert_allclose(env.cameras_from_past(jnp.asarray(past)), expected[-1], atol=1e-4)
  # The agent plane of the newest frame: the disc at p - l from the view's centre.
  planes = np.asarray(state.obs[4:]).reshape(2, 3, 32, 32)[0]  # walls, agent, goal
  pixel = 2 * 2.07 / 32
  offsets = (np.arange(32) + 0.5) * pixel - 2.07

  def centroid(plane):
    return np.array([(plane * offsets[None, :]).sum(), (plane * -offsets[:, None]).sum()]
                    ) / plane.sum()

  lag = positions[-1] - expected[-1]
  np.testing.assert_allclose(centroid(planes[1]), lag, atol=0.1 * pixel)
  # The goal plane: the episode's goal where the trailing view puts it.
  np.testing.assert_allclose(centroid(planes[2]), np.array([2.5, 1.5]) - expected[-1],
                             atol=0.1 * pixel)
  last_step = positions[-1] - positions[-2]
  assert np.linalg.norm(lag) > 2 * pixel  # visible: the 0.01 s step itself is a fraction of one
  assert np.dot(lag, last_step) > 0.9 * np.linalg.norm(lag) * np.linalg.norm(last_step)

"""Tests of the LSP locomotion tasks (helms_jax/envs/locomotion).

Each env is compiled once per session (`_runner`: vmapped reset, a set-up of the start state,
and a scanned rollout in one jit; ~15-25 s each on the 2-core CPU), and every test of that env
reuses it. The default suite compiles one env, ant_reach_goal_obstacles, and runs it once
(`goal_rollout`): some envs are thrown at a pillar, the others have their pillars moved away and
serve as reach-goal physics (the reward is AntReachGoal's); ant_walk's reward is checked on the
same transitions through its `relabel`, which shares `reward_terms` with its `step`. Rollouts
of the other names (ant_walk, ant_run, ant_reach_goal, ant_cove, the planar robots and their
solver stability) are `slow`.
Oracles are independent of the env's observation code: velocities and positions come from the
MJX state (`qvel`, `qpos`, `mocap_pos`), rewards from the formulas written out here.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest

from helms_jax import envs
from helms_jax.envs import locomotion
from helms_jax.envs.locomotion import ant_tasks, robots

ANT_NAMES = ("ant_walk", "ant_run", "ant_reach_goal", "ant_reach_goal_obstacles", "ant_cove")
PLANAR_NAMES = ("halfcheetah_run", "walker2d_run", "hopper_hop")
BATCH, STEPS = 8, 20  # ant rollouts: 1 s of ant time
PILLAR_AHEAD = 1.6  # m in front of the root: just clear of the legs at reset
PARKED = 100.0  # m: pillars moved here are out of reach
# Start states are lifted this much: brax's reset noise (+-0.1 m on the root height) can leave
# feet in the floor, and the first step's contact impulses would scramble a push. Lifted, the
# ant flies for a few steps (the first one is ballistic) and lands at ~0.2 s.
LIFT = 0.25


class Traj(NamedTuple):
  """One rollout: leaves [T, B, ...]."""
  obs: jax.Array
  reward: jax.Array
  done: jax.Array
  metrics: dict
  info: dict
  qpos: jax.Array
  qvel: jax.Array
  mocap_pos: jax.Array
  contact_geom: jax.Array  # [T, B, C, 2] the MJX contact slots' geom pairs
  contact_dist: jax.Array  # [T, B, C]


def _prepare(env, state, velocity, goal_frame, teleport, pillars):
  """Sets up one ant start state (unbatched).

  The root gets velocity `velocity [2]`, in the world frame or, with `goal_frame`, in the frame
  (u, u_perp) of the direction u to the goal (+x without a goal); with `teleport` it is moved to
  0.2 m short of the goal (observation updated to match). `pillars`: 0 keeps them, 1 moves
  pillar 0 to PILLAR_AHEAD m along u, 2 moves all of them out of reach. The root is lifted by
  LIFT.
  """
  del env
  ps, obs = state.pipeline_state, state.obs
  goal_rel = obs[ant_tasks._GOAL]  # pylint: disable=protected-access
  dist = jnp.linalg.norm(goal_rel)
  u = jnp.where(dist > 0, goal_rel / jnp.maximum(dist, 1e-6), jnp.array([1.0, 0.0]))
  u = jnp.where(goal_frame > 0, u, jnp.array([1.0, 0.0]))
  perp = jnp.stack([-u[1], u[0]])
  root = ps.qpos[:2]
  goal = root + goal_rel
  new_root = jnp.where(teleport > 0, goal - 0.2 * u, root)
  qpos = ps.qpos.at[:2].set(new_root).at[2].add(LIFT)
  qvel = ps.qvel.at[:2].set(velocity[0] * u + velocity[1] * perp)
  obs = (obs.at[:2].set(new_root).at[2].add(LIFT)
         .at[ant_tasks._GOAL].set(goal - new_root))  # pylint: disable=protected-access
  mocap = ps.mocap_pos
  if mocap.shape[0]:
    ahead = jnp.concatenate([root + PILLAR_AHEAD * u, jnp.zeros(1)])
    parked = mocap.at[:, :2].add(PARKED)
    mocap = jnp.where(pillars == 1, mocap.at[0].set(ahead), jnp.where(pillars == 2, parked, mocap))
  ps = ps.replace(qpos=qpos, q=qpos, qvel=qvel, qd=qvel, mocap_pos=mocap)
  return state.replace(pipeline_state=ps, obs=obs)


@functools.lru_cache(maxsize=None)
def _runner(name: str, batch: int, steps: int):
  """(env, jit(run)) with run(key, velocity [B, 2], goal_frame [B], teleport [B],
  pillars [B], actions [T, B, act]) -> (start state [B], Traj [T, B]) (see `_prepare`)."""
  env = envs.make(name)
  is_ant = isinstance(env, ant_tasks.AntTask)

  def run(key, velocity, goal_frame, teleport, pillars, actions):
    state = jax.vmap(env.reset)(jax.random.split(key, batch))
    if is_ant:
      state = jax.vmap(functools.partial(_prepare, env))(
          state, velocity, goal_frame, teleport, pillars)

    def step(s, a):
      s = jax.vmap(env.step)(s, a)
      ps = s.pipeline_state
      return s, Traj(s.obs, s.reward, s.done, s.metrics, s.info, ps.qpos, ps.qvel, ps.mocap_pos,
                     ps.contact.geom, ps.contact.dist)

    _, traj = jax.lax.scan(step, state, actions)
    return state, traj

  return env, jax.jit(run)


def _run(name, *, velocity=None, goal_frame=None, teleport=None, pillars=None,
         actions=None, seed=0, batch=BATCH, steps=STEPS) -> tuple[Any, Any, Traj]:
  env, run = _runner(name, batch, steps)
  zeros = np.zeros(batch, np.float32)
  velocity = np.zeros((batch, 2), np.float32) if velocity is None else velocity
  if actions is None:
    actions = np.zeros((steps, batch, env.action_size), np.float32)
  state, traj = run(jax.random.PRNGKey(seed), np.asarray(velocity, np.float32),
                    zeros if goal_frame is None else np.asarray(goal_frame, np.float32),
                    zeros if teleport is None else np.asarray(teleport, np.float32),
                    zeros if pillars is None else np.asarray(pillars, np.float32),
                    np.asarray(actions, np.float32))
  return env, state, jax.tree.map(np.asarray, traj)


def _random_actions(key, steps, batch, size):
  return np.asarray(jax.random.uniform(key, (steps, batch, size), minval=-1, maxval=1))


def _check_rollout(env, state, traj, batch, steps):
  """Shapes, groups, finiteness, root_xy and no termination."""
  size = env.observation_size
  assert state.obs.shape == (batch, size)
  assert traj.obs.shape == (steps, batch, size)
  assert env.observation_groups.obs_size == size
  assert np.all(np.isfinite(traj.obs)) and np.all(np.isfinite(traj.reward))
  assert traj.info["root_xy"].shape == (steps, batch, 2)
  np.testing.assert_allclose(traj.info["root_xy"][..., 0], traj.qpos[..., 0], atol=1e-5)
  assert np.all(traj.done == 0)
  if isinstance(env, ant_tasks.AntTask):
    assert set(env.observation_groups) == {"root_xy", "proprio", "goal", "obstacles"}
    assert size == ant_tasks.ANT_ROBOT_OBS + 2 + 2 * ant_tasks.ANT_MAX_OBSTACLES
    np.testing.assert_allclose(traj.obs[..., :2], traj.qpos[..., :2], atol=1e-6)
    np.testing.assert_allclose(traj.obs[..., ant_tasks.ANT_VX], traj.qvel[..., 0], atol=1e-6)
  else:
    assert set(env.observation_groups) == {"proprio"}


def _relabel_all(env, traj_obs_prev, actions, traj_obs, key=None):
  """env.relabel over [T, B] transitions (keys [T, B] or None)."""
  if key is None:
    fn = jax.vmap(jax.vmap(lambda o, a, n: env.relabel(o, a, n, None)))
    return jax.tree.map(np.asarray, jax.jit(fn)(traj_obs_prev, actions, traj_obs))
  fn = jax.vmap(jax.vmap(env.relabel))
  return jax.tree.map(np.asarray, jax.jit(fn)(traj_obs_prev, actions, traj_obs, key))


def _prev_obs(state, traj):
  return np.concatenate([np.asarray(state.obs)[None], traj.obs[:-1]], axis=0)


# ---------------------------------------------------------------------------------------------
# Fast: one compiled rollout of ant_reach_goal_obstacles.

# Envs of the shared rollout. Thrown at pillar 0 (moved PILLAR_AHEAD m towards the goal):
# THROWN at 10 and 6 m/s, RANDOM acts randomly beside it. Pillars out of reach (reach-goal
# physics): TOWARDS / AWAY pushed at 2 m/s along / against the goal direction, AT_GOAL starts
# 0.2 m short of the goal, FORWARD / BACKWARD pushed at 2 m/s along +x / -x.
THROWN, RANDOM = (0, 1), 2
TOWARDS, AWAY, AT_GOAL, FORWARD, BACKWARD = 3, 4, 5, 6, 7
REACH = [TOWARDS, AWAY, AT_GOAL, FORWARD, BACKWARD]


@pytest.fixture(scope="module")
def goal_rollout():
  actions = np.zeros((STEPS, BATCH, 8), np.float32)
  actions[:, RANDOM] = _random_actions(jax.random.PRNGKey(4), STEPS, 1, 8)[:, 0]
  velocity = np.zeros((BATCH, 2), np.float32)
  velocity[list(THROWN), 0] = [10.0, 6.0]
  velocity[[TOWARDS, FORWARD], 0] = 2.0
  velocity[[AWAY, BACKWARD], 0] = -2.0
  goal_frame = np.ones(BATCH)
  goal_frame[[FORWARD, BACKWARD]] = 0
  teleport = np.zeros(BATCH)
  teleport[AT_GOAL] = 1
  pillars = np.full(BATCH, 2.0)
  pillars[[*THROWN, RANDOM]] = 1
  env, state, traj = _run("ant_reach_goal_obstacles", velocity=velocity, goal_frame=goal_frame,
                          teleport=teleport, pillars=pillars, actions=actions, seed=1)
  return env, state, traj, actions


def test_registered_names_and_shared_ant_layout():
  names = set(envs.registered_names())
  assert set(ANT_NAMES + PLANAR_NAMES) <= names
  groups = locomotion.ant_observation_groups()
  assert groups["root_xy"] == (0, 2) and groups["proprio"] == (2, 29)
  assert groups["goal"] == (29, 31) and groups["obstacles"] == (31, 39)
  for name in ANT_NAMES:  # building is cheap; stepping compiles (slow tests / goal_rollout)
    env = envs.make(name)
    assert env.observation_size == 39 and env.observation_groups == groups
    assert env.action_size == 8 and env.backend == "mjx"
  with pytest.raises(envs.EnvKwargError):
    envs.make("ant_walk", backend="generalized")
  with pytest.raises(envs.EnvKwargError, match="goals at least"):
    envs.make("ant_reach_goal_obstacles", goal_distance=(1.0, 2.0))


def test_goal_rollout_shapes_and_obstacle_slots(goal_rollout):
  env, state, traj, _ = goal_rollout
  _check_rollout(env, state, traj, BATCH, STEPS)
  goal = np.asarray(state.info["goal"])  # [B, 2]
  np.testing.assert_allclose(traj.obs[..., 29:31], goal - traj.qpos[..., :2], atol=1e-5)
  # Obstacle slots: pillar centres (as placed at reset) relative to the root.
  placed = np.asarray(state.info["obstacles"])  # [B, K, 2]
  np.testing.assert_allclose(traj.obs[..., 31:39].reshape(STEPS, BATCH, 4, 2),
                             placed[None] - traj.qpos[..., None, :2], atol=1e-5)
  # Every pillar was placed between start and goal, clear of the ant at reset and of the goal.
  start = np.asarray(state.info["root_xy"])
  along = np.einsum("bkd,bd->bk", placed - start[:, None],
                    (goal - start) / np.linalg.norm(goal - start, axis=-1, keepdims=True))
  assert np.all(along > env.start_clearance - 1e-4)
  assert np.all(np.linalg.norm(placed - goal[:, None], axis=-1) > env.goal_clearance - 1e-4)


def test_ant_obstacles_are_physical(goal_rollout):
  env, _, traj, _ = goal_rollout
  envs_ = [*THROWN, RANDOM]
  # The root never enters a pillar (a capsule of radius 0.4 around the vertical segment z in
  # [0, 3] m) although it was thrown at one; the distance is to the segment in 3-D.
  root = traj.qpos[:, envs_]
  horizontal = np.linalg.norm(root[..., None, :2] - traj.mocap_pos[:, envs_, :, :2], axis=-1)
  above = np.maximum(root[..., None, 2] - robots.PILLAR_HEIGHT, 0.0)  # [T, B, 1]: over the top
  gap = np.hypot(horizontal, above)  # [T, B, K]
  assert np.min(gap) > env.obstacle_radius + 0.1, np.min(gap)
  # ... and the throws did hit the pillar ahead: MJX reports an ant geom within 2 cm of it
  # (contacts are seen at the end of each env step, i.e. every 5th physics step, so a bounce
  # within a step shows as a small positive distance).
  pillar0 = mujoco.mj_name2id(env.unwrapped.sys.mj_model, mujoco.mjtObj.mjOBJ_GEOM, "pillar0")
  touching = np.any((traj.contact_geom == pillar0).any(-1) & (traj.contact_dist < 0.02),
                    axis=(0, 2))  # [B]
  assert np.all(touching[list(THROWN)]), touching


def test_ant_reach_goal_progress_and_success(goal_rollout):
  env, state, traj, _ = goal_rollout
  assert isinstance(env, ant_tasks.AntReachGoal)  # the reward of ant_reach_goal
  goal = np.asarray(state.info["goal"])
  # Oracle: progress per second from MJX root positions, + 1 within 0.5 m.
  roots = np.concatenate([np.asarray(state.obs)[None, :, :2], traj.qpos[..., :2]], axis=0)
  dist = np.linalg.norm(goal - roots, axis=-1)  # [T + 1, B]
  success = (dist[1:] < 0.5).astype(np.float32)
  expected = (dist[:-1] - dist[1:]) / 0.05 + success
  np.testing.assert_allclose(traj.reward[:, REACH], expected[:, REACH], rtol=1e-4, atol=2e-4)
  assert traj.reward[0, TOWARDS] > 0.5 and traj.reward[0, AWAY] < -0.5  # progress sign
  assert traj.info["success"][0, AT_GOAL] == 1.0 and traj.metrics["success"][0, AT_GOAL] == 1.0
  np.testing.assert_allclose(traj.reward[:, AT_GOAL],
                             traj.metrics["progress"][:, AT_GOAL] + success[:, AT_GOAL],
                             atol=1e-5)
  assert np.all(traj.info["success"][:, [TOWARDS, AWAY, FORWARD, BACKWARD]] == 0.0)


def test_relabel_goal_kept_and_new(goal_rollout):
  env, state, traj, actions = goal_rollout
  prev = _prev_obs(state, traj)
  # Goal kept: the env's own reward, exactly (obstacle slots kept as stored).
  obs_k, next_k, reward_k = _relabel_all(env, prev, actions, traj.obs)
  np.testing.assert_array_equal(obs_k, prev)
  np.testing.assert_array_equal(next_k, traj.obs)
  np.testing.assert_allclose(reward_k, traj.reward, rtol=1e-6, atol=1e-6)
  # New goal per episode for ant_reach_goal (one key per env, as the LSP replay relabelling
  # does): drawn from its reset distribution (2-5 m around the origin), written into both
  # observations, and the reward from the distance formula.
  reach = ant_tasks.AntReachGoal()
  keys = jnp.broadcast_to(jax.random.split(jax.random.PRNGKey(7), BATCH)[None],
                          (STEPS, BATCH, 2))
  obs_n, next_n, reward_n = _relabel_all(reach, prev, actions, traj.obs, keys)
  new_goal = obs_n[..., :2] + obs_n[..., 29:31]
  np.testing.assert_allclose(next_n[..., :2] + next_n[..., 29:31], new_goal, atol=1e-5)
  np.testing.assert_allclose(new_goal, np.broadcast_to(new_goal[:1], new_goal.shape), atol=1e-5)
  radius = np.linalg.norm(new_goal[0], axis=-1)
  assert np.all((radius >= 2.0 - 1e-4) & (radius <= 5.0 + 1e-4))
  assert np.all(np.linalg.norm(new_goal[0] - np.asarray(state.info["goal"]), axis=-1) > 1e-3)
  np.testing.assert_array_equal(obs_n[..., :29], prev[..., :29])  # robot part untouched
  np.testing.assert_array_equal(next_n[..., 31:], 0.0)  # reach_goal has no obstacles
  d0 = np.linalg.norm(new_goal - prev[..., :2], axis=-1)
  d1 = np.linalg.norm(new_goal - traj.obs[..., :2], axis=-1)
  np.testing.assert_allclose(reward_n, (d0 - d1) / 0.05 + (d1 < 0.5), rtol=1e-4, atol=2e-4)


def _dmc_quadruped_reward(qpos, qvel, target_speed):
  """DMC quadruped walk/run's reward from the MJX root state [..., 7], [..., 6] (oracle: scipy's
  rotation, DMC's tolerance written out): upright * move."""
  from scipy.spatial.transform import Rotation  # pylint: disable=import-outside-toplevel
  quat = qpos[..., 3:7].reshape(-1, 4)
  rot = Rotation.from_quat(quat[:, [1, 2, 3, 0]]).as_matrix()  # scipy: scalar last
  v_body = np.einsum("nji,nj->ni", rot, qvel[..., :3].reshape(-1, 3))  # R^T v
  upright = (1 + rot[:, 2, 2]) / 2
  move = np.clip(1 - 0.5 * np.maximum(target_speed - v_body[:, 0], 0) / target_speed, 0, 1)
  return (upright * move).reshape(qpos.shape[:-1])


def test_ant_walk_reward_from_the_root_state(goal_rollout):
  # ant_walk's reward (its `step` and `relabel` share `reward_terms`; the slow test steps the
  # env itself) on the rollout's physics: DMC quadruped walk's formula from the MJX root
  # orientation and velocity, larger pushed forward than backward, 0.5 for an upright ant at rest.
  _, state, traj, actions = goal_rollout
  walk = ant_tasks.AntWalk()
  assert walk.target_speed == 1.0 and walk.ctrl_cost_weight == 0.0
  _, next_w, reward_w = _relabel_all(walk, _prev_obs(state, traj), actions, traj.obs)
  np.testing.assert_array_equal(next_w[..., 29:], 0.0)  # walk has no goal / obstacles
  expected = _dmc_quadruped_reward(traj.qpos, traj.qvel, 1.0)
  np.testing.assert_allclose(reward_w, expected, rtol=1e-5, atol=1e-6)
  assert reward_w[0, FORWARD] > 0.8 and reward_w[0, BACKWARD] < 0.2
  rest = jnp.zeros(walk.observation_size).at[ant_tasks.ANT_QUAT].set(1.0)  # upright, still
  costly = ant_tasks.AntWalk(ctrl_cost_weight=0.5)
  for env, want in ((walk, 0.5), (costly, 0.5 - 0.5 * 8)):
    _, _, r = env.relabel(rest, jnp.ones(8), rest)
    np.testing.assert_allclose(r, want, rtol=1e-6)


def test_ant_cove_relabel_writes_fixed_goal_and_walls():
  cove = ant_tasks.AntCove()
  obs = np.zeros((3, cove.observation_size), np.float32)
  obs[:, :2] = [[0.0, 0.0], [3.8, 0.1], [4.2, -0.2]]  # start, in the cove, at the goal
  o, n, r = jax.jit(jax.vmap(lambda o, n: cove.relabel(o, np.zeros(8), n, None)))(
      obs[[0, 0, 1]], obs)
  n = np.asarray(n)
  np.testing.assert_allclose(n[:, 29:31], np.array([4.0, 0.0]) - obs[:, :2], atol=1e-6)
  np.testing.assert_allclose(n[0, 31:33], np.array([2.5, 0.0]), atol=1e-6)  # back wall
  np.testing.assert_array_equal(n[:, 37:], 0.0)  # 3 walls in 4 slots
  np.testing.assert_array_equal(np.asarray(r), [0.0, 1.0, 1.0])
  np.testing.assert_allclose(np.asarray(o)[:, 29:31], np.array([4.0, 0.0]) - obs[[0, 0, 1], :2],
                             atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Slow: one more compilation per name.


@pytest.mark.slow
def test_ant_reach_goal_rollout():
  # Env 0 pushed towards the goal, env 1 away; the rest random actions.
  actions = np.array(_random_actions(jax.random.PRNGKey(2), STEPS, BATCH, 8))
  actions[:, :2] = 0.0
  velocity = np.zeros((BATCH, 2), np.float32)
  velocity[:2, 0] = [2.0, -2.0]
  env, state, traj = _run("ant_reach_goal", velocity=velocity, goal_frame=np.ones(BATCH),
                          actions=actions)
  _check_rollout(env, state, traj, BATCH, STEPS)
  goal = np.asarray(state.info["goal"])
  radius = np.linalg.norm(goal, axis=-1)  # around the nominal start (origin)
  assert np.all((radius >= 2.0 - 1e-5) & (radius <= 5.0 + 1e-5))
  np.testing.assert_array_equal(traj.obs[..., 31:], 0.0)
  roots = np.concatenate([np.asarray(state.obs)[None, :, :2], traj.qpos[..., :2]], axis=0)
  dist = np.linalg.norm(goal - roots, axis=-1)
  expected = (dist[:-1] - dist[1:]) / 0.05 + (dist[1:] < 0.5)
  np.testing.assert_allclose(traj.reward, expected, rtol=1e-4, atol=2e-4)
  assert traj.reward[0, 0] > 0.5 and traj.reward[0, 1] < -0.5
  _, _, reward = _relabel_all(env, _prev_obs(state, traj), actions, traj.obs)
  np.testing.assert_allclose(reward, traj.reward, rtol=1e-6, atol=1e-6)


@pytest.mark.slow
def test_ant_walk_rollout_and_reward_from_qvel():
  # Env 0 pushed forward, env 1 backward, env 2 random actions from rest.
  actions = np.zeros((STEPS, BATCH, 8), np.float32)
  actions[:, 2] = _random_actions(jax.random.PRNGKey(3), STEPS, 1, 8)[:, 0]
  velocity = np.zeros((BATCH, 2), np.float32)
  velocity[:2, 0] = [2.0, -2.0]
  env, state, traj = _run("ant_walk", velocity=velocity, actions=actions)
  _check_rollout(env, state, traj, BATCH, STEPS)
  assert env.target_speed == 1.0
  np.testing.assert_array_equal(traj.obs[..., 29:], 0.0)  # goal / obstacle slots unused
  # Oracle: DMC quadruped walk's reward from the MJX root state after each step.
  expected = _dmc_quadruped_reward(traj.qpos, traj.qvel, env.target_speed)
  np.testing.assert_allclose(traj.reward, expected, rtol=1e-5, atol=1e-6)
  assert traj.reward[0, 0] > 0.8 and traj.reward[0, 1] < 0.2  # forward beats backward
  # relabel (no goal: key ignored) reproduces the env's reward.
  _, _, reward = _relabel_all(env, _prev_obs(state, traj), actions, traj.obs)
  np.testing.assert_allclose(reward, traj.reward, rtol=1e-6, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ant_run", "ant_cove"])
def test_other_ant_tasks_rollout(name):
  actions = _random_actions(jax.random.PRNGKey(5), STEPS, BATCH, 8)
  env, state, traj = _run(name, actions=actions)
  _check_rollout(env, state, traj, BATCH, STEPS)
  _, _, reward = _relabel_all(env, _prev_obs(state, traj), actions, traj.obs)
  np.testing.assert_allclose(reward, traj.reward, rtol=1e-6, atol=1e-6)
  if name == "ant_run":
    assert env.target_speed == 3.0
    expected = _dmc_quadruped_reward(traj.qpos, traj.qvel, 3.0)
    np.testing.assert_allclose(traj.reward, expected, rtol=1e-5, atol=1e-6)
  else:
    np.testing.assert_array_equal(traj.reward, 0.0)  # 1 s from the start: far from the goal


@pytest.mark.slow
def test_ant_cove_walls_are_physical():
  # Thrown at the back wall (x = 2.5 +- 0.2) at 10 m/s: the root stays in front of it.
  env, _, traj = _run("ant_cove", velocity=[[10.0, 0.0]] * BATCH)
  assert np.max(traj.qpos[..., 0]) < 2.3 - 0.1


@pytest.mark.slow
@pytest.mark.parametrize("name", PLANAR_NAMES)
def test_planar_tuned_solver_is_stable(name):
  # 200 steps of uniform random actions at batch 4 with the CPU solver settings.
  batch, steps = 4, 200
  env = envs.make(name)
  actions = _random_actions(jax.random.PRNGKey(6), steps, batch, env.action_size)
  env, state, traj = _run(name, actions=actions, batch=batch, steps=steps)
  _check_rollout(env, state, traj, batch, steps)
  vx = traj.obs[..., env.vx_index]
  np.testing.assert_allclose(vx, np.clip(traj.qvel[..., 0], -10, 10), atol=1e-6)
  # DMC's run / hop rewards written out (walker: DMC walker-run's gaussian standing term and
  # upright from the torso's rooty angle, qpos[2]; the torso height is brax's observation[0]);
  # time steps: DMC's control step x 2.
  move = np.clip(vx / env.target_speed, 0, 1)
  height = traj.obs[..., 0]
  if name == "walker2d_run":
    standing = np.exp(-0.5 * (np.maximum(1.2 - height, 0) / 0.6) ** 2 * (-2 * np.log(0.1)))
    stand = (3 * standing + (1 + np.cos(traj.qpos[..., 2])) / 2) / 4
    expected = stand * (5 * move + 1) / 6
  elif name == "hopper_hop":
    expected = np.clip((height - 0.7) / 0.3, 0, 1) * move
  else:
    expected = move
  np.testing.assert_allclose(traj.reward, expected, rtol=1e-5, atol=1e-6)
  assert env.dt == pytest.approx({"halfcheetah_run": 0.02, "walker2d_run": 0.05,
                                  "hopper_hop": 0.04}[name], rel=1e-5)
  _, _, reward = _relabel_all(env, _prev_obs(state, traj), actions, traj.obs)
  np.testing.assert_allclose(reward, traj.reward, rtol=1e-6, atol=1e-6)

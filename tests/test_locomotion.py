"""Tests of the LSP locomotion tasks (helms_jax/envs/locomotion).

Each env is compiled once per session (`_runner`: vmapped reset, a set-up of the start state,
and a scanned rollout in one jit; ~15-25 s each on the 2-core CPU), and every test of that env
reuses it. The default suite compiles ant_reach_goal and ant_reach_goal_obstacles (ant_walk's
reward is checked on ant_reach_goal's physics through its `relabel`, which shares `reward_terms`
with its `step`); rollouts of the other names (ant_walk, ant_run, ant_cove, the planar robots
and their solver stability) are `slow`.
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
from helms_jax.envs.locomotion import tasks

ANT_NAMES = ("ant_walk", "ant_run", "ant_reach_goal", "ant_reach_goal_obstacles", "ant_cove")
PLANAR_NAMES = ("halfcheetah_run", "walker2d_run", "hopper_hop")
BATCH, STEPS = 5, 20  # ant rollouts: 1 s of ant time
PILLAR_AHEAD = 1.6  # m in front of the root: just clear of the legs at reset


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


def _prepare(env, state, velocity, goal_frame, teleport, pillar_ahead):
  """Sets up one ant start state (unbatched).

  The root gets velocity `velocity [2]`, in the world frame or, with `goal_frame`, in the frame
  (u, u_perp) of the direction u to the goal (+x without a goal); with `teleport` it is moved to
  0.2 m short of the goal (observation updated to match); with `pillar_ahead` pillar 0 moves to
  PILLAR_AHEAD m along u.
  """
  del env
  ps, obs = state.pipeline_state, state.obs
  goal_rel = obs[tasks._GOAL]  # pylint: disable=protected-access
  dist = jnp.linalg.norm(goal_rel)
  u = jnp.where(dist > 0, goal_rel / jnp.maximum(dist, 1e-6), jnp.array([1.0, 0.0]))
  u = jnp.where(goal_frame > 0, u, jnp.array([1.0, 0.0]))
  perp = jnp.stack([-u[1], u[0]])
  root = ps.qpos[:2]
  goal = root + goal_rel
  new_root = jnp.where(teleport > 0, goal - 0.2 * u, root)
  qpos = ps.qpos.at[:2].set(new_root)
  qvel = ps.qvel.at[:2].set(velocity[0] * u + velocity[1] * perp)
  obs = obs.at[:2].set(new_root).at[tasks._GOAL].set(goal - new_root)  # pylint: disable=protected-access
  mocap = ps.mocap_pos
  if mocap.shape[0]:
    ahead = jnp.concatenate([root + PILLAR_AHEAD * u, jnp.zeros(1)])
    mocap = jnp.where(pillar_ahead > 0, mocap.at[0].set(ahead), mocap)
  ps = ps.replace(qpos=qpos, q=qpos, qvel=qvel, qd=qvel, mocap_pos=mocap)
  return state.replace(pipeline_state=ps, obs=obs)


@functools.lru_cache(maxsize=None)
def _runner(name: str, batch: int, steps: int):
  """(env, jit(run)) with run(key, velocity [B, 2], goal_frame [B], teleport [B],
  pillar_ahead [B], actions [T, B, act]) -> (start state [B], Traj [T, B]) (see `_prepare`)."""
  env = envs.make(name)
  is_ant = isinstance(env, tasks.AntTask)

  def run(key, velocity, goal_frame, teleport, pillar_ahead, actions):
    state = jax.vmap(env.reset)(jax.random.split(key, batch))
    if is_ant:
      state = jax.vmap(functools.partial(_prepare, env))(
          state, velocity, goal_frame, teleport, pillar_ahead)

    def step(s, a):
      s = jax.vmap(env.step)(s, a)
      ps = s.pipeline_state
      return s, Traj(s.obs, s.reward, s.done, s.metrics, s.info, ps.qpos, ps.qvel, ps.mocap_pos,
                     ps.contact.geom, ps.contact.dist)

    _, traj = jax.lax.scan(step, state, actions)
    return state, traj

  return env, jax.jit(run)


def _run(name, *, velocity=None, goal_frame=None, teleport=None, pillar_ahead=None,
         actions=None, seed=0, batch=BATCH, steps=STEPS) -> tuple[Any, Any, Traj]:
  env, run = _runner(name, batch, steps)
  zeros = np.zeros(batch, np.float32)
  velocity = np.zeros((batch, 2), np.float32) if velocity is None else velocity
  if actions is None:
    actions = np.zeros((steps, batch, env.action_size), np.float32)
  state, traj = run(jax.random.PRNGKey(seed), np.asarray(velocity, np.float32),
                    zeros if goal_frame is None else np.asarray(goal_frame, np.float32),
                    zeros if teleport is None else np.asarray(teleport, np.float32),
                    zeros if pillar_ahead is None else np.asarray(pillar_ahead, np.float32),
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
  if isinstance(env, tasks.AntTask):
    assert set(env.observation_groups) == {"root_xy", "proprio", "goal", "obstacles"}
    assert size == tasks.ANT_ROBOT_OBS + 2 + 2 * tasks.ANT_MAX_OBSTACLES
    np.testing.assert_allclose(traj.obs[..., :2], traj.qpos[..., :2], atol=1e-6)
    np.testing.assert_allclose(traj.obs[..., tasks.ANT_VX], traj.qvel[..., 0], atol=1e-6)
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
# Fast: ant_walk, ant_reach_goal, ant_reach_goal_obstacles.


def test_registered_names_and_shared_ant_layout():
  names = set(envs.registered_names())
  assert set(ANT_NAMES + PLANAR_NAMES) <= names
  groups = locomotion.ant_observation_groups()
  assert groups["root_xy"] == (0, 2) and groups["proprio"] == (2, 29)
  assert groups["goal"] == (29, 31) and groups["obstacles"] == (31, 39)
  with pytest.raises(envs.EnvKwargError):
    envs.make("ant_walk", backend="generalized")
  with pytest.raises(envs.EnvKwargError, match="goals at least"):
    envs.make("ant_reach_goal_obstacles", goal_distance=(1.0, 2.0))


def test_ant_reach_goal_progress_success_and_relabel():
  # Env 0 pushed towards the goal, env 1 away from it, env 2 starts 0.2 m short of the goal,
  # envs 3 and 4 pushed along +x and -x (for the walk reward).
  velocity = [[2.0, 0.0], [-2.0, 0.0], [0.0, 0.0], [2.0, 0.0], [-2.0, 0.0]]
  env, state, traj = _run("ant_reach_goal", velocity=velocity, goal_frame=[1, 1, 1, 0, 0],
                          teleport=[0, 0, 1, 0, 0])
  _check_rollout(env, state, traj, BATCH, STEPS)
  goal = np.asarray(state.info["goal"])  # [B, 2]
  start_dist = np.linalg.norm(goal - np.asarray(state.obs)[:, :2], axis=-1)
  assert np.all((start_dist[[0, 1, 3, 4]] > 1.8) & (start_dist[[0, 1, 3, 4]] < 5.2))
  np.testing.assert_allclose(traj.obs[..., 29:31], goal - traj.qpos[..., :2], atol=1e-5)
  np.testing.assert_array_equal(traj.obs[..., 31:], 0.0)  # no obstacles
  # Oracle: progress per second from MJX root positions, + 1 within 0.5 m.
  roots = np.concatenate([np.asarray(state.obs)[None, :, :2], traj.qpos[..., :2]], axis=0)
  dist = np.linalg.norm(goal - roots, axis=-1)  # [T + 1, B]
  success = (dist[1:] < 0.5).astype(np.float32)
  expected = (dist[:-1] - dist[1:]) / 0.05 + success
  np.testing.assert_allclose(traj.reward, expected, rtol=1e-4, atol=2e-4)
  assert traj.reward[0, 0] > 0.5 and traj.reward[0, 1] < -0.5  # sign of the progress term
  assert traj.info["success"][0, 2] == 1.0 and traj.metrics["success"][0, 2] == 1.0
  assert np.all(traj.info["success"][:, [0, 1, 3, 4]] == 0.0)
  np.testing.assert_allclose(traj.reward[:, 2], traj.metrics["progress"][:, 2] + success[:, 2],
                             atol=1e-5)

  prev = _prev_obs(state, traj)
  actions = np.zeros((STEPS, BATCH, 8), np.float32)
  # Goal kept: the env's own reward, exactly.
  obs_k, next_k, reward_k = _relabel_all(env, prev, actions, traj.obs)
  np.testing.assert_array_equal(obs_k, prev)
  np.testing.assert_array_equal(next_k, traj.obs)
  np.testing.assert_allclose(reward_k, traj.reward, rtol=1e-6, atol=1e-6)
  # New goal per episode (one key per env, as the LSP replay relabelling does).
  keys = jnp.broadcast_to(jax.random.split(jax.random.PRNGKey(7), BATCH)[None],
                          (STEPS, BATCH, 2))
  obs_n, next_n, reward_n = _relabel_all(env, prev, actions, traj.obs, keys)
  new_goal = obs_n[..., :2] + obs_n[..., 29:31]
  np.testing.assert_allclose(next_n[..., :2] + next_n[..., 29:31], new_goal, atol=1e-5)
  np.testing.assert_allclose(new_goal, np.broadcast_to(new_goal[:1], new_goal.shape), atol=1e-5)
  radius = np.linalg.norm(new_goal[0], axis=-1)  # drawn around the nominal start (origin)
  assert np.all((radius >= 2.0 - 1e-4) & (radius <= 5.0 + 1e-4))
  assert np.all(np.linalg.norm(new_goal[0] - goal, axis=-1) > 1e-3)
  np.testing.assert_array_equal(obs_n[..., :29], prev[..., :29])  # robot part untouched
  d0 = np.linalg.norm(new_goal - prev[..., :2], axis=-1)
  d1 = np.linalg.norm(new_goal - traj.obs[..., :2], axis=-1)
  expected_n = (d0 - d1) / 0.05 + (d1 < 0.5)
  np.testing.assert_allclose(reward_n, expected_n, rtol=1e-4, atol=2e-4)

  # ant_walk's reward (its step and relabel share `reward_terms`) on the same physics: the
  # DMC-style formula from the MJX root velocity, larger pushed forward than backward.
  walk = tasks.AntWalk()
  assert walk.target_speed == 1.0
  _, next_w, reward_w = _relabel_all(walk, prev, actions, traj.obs)
  np.testing.assert_array_equal(next_w[..., 29:], 0.0)  # walk has no goal / obstacles
  np.testing.assert_allclose(reward_w, np.minimum(traj.qvel[..., 0] / 1.0, 1.0), atol=1e-6)
  assert reward_w[0, 3] > 0.5 and reward_w[0, 4] < -0.5


def test_ant_cove_relabel_writes_fixed_goal_and_walls():
  cove = tasks.AntCove()
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


def test_ant_obstacles_are_physical():
  # Pillar 0 put 1.6 m ahead towards the goal in every env; envs 0-2 thrown into it at
  # 10, 6 and 3 m/s, envs 3-4 random actions.
  actions = np.zeros((STEPS, BATCH, 8), np.float32)
  actions[:, 3:] = _random_actions(jax.random.PRNGKey(4), STEPS, 2, 8)
  env, state, traj = _run("ant_reach_goal_obstacles",
                          velocity=[[10.0, 0.0], [6.0, 0.0], [3.0, 0.0], [0, 0], [0, 0]],
                          goal_frame=np.ones(BATCH), pillar_ahead=np.ones(BATCH),
                          actions=actions, seed=1)
  _check_rollout(env, state, traj, BATCH, STEPS)
  # Obstacle slots: pillar centres (as placed at reset) relative to the root.
  placed = np.asarray(state.info["obstacles"])  # [B, K, 2]
  np.testing.assert_allclose(traj.obs[..., 31:39].reshape(STEPS, BATCH, 4, 2),
                             placed[None] - traj.qpos[..., None, :2], atol=1e-5)
  # Every pillar was placed between start and goal, clear of the ant at reset and of the goal.
  start = np.asarray(state.obs)[:, :2]
  goal = np.asarray(state.info["goal"])
  along = np.einsum("bkd,bd->bk", placed - start[:, None],
                    (goal - start) / np.linalg.norm(goal - start, axis=-1, keepdims=True))
  assert np.all(along > env.start_clearance - 1e-4)
  assert np.all(np.linalg.norm(placed - goal[:, None], axis=-1) > env.goal_clearance - 1e-4)
  # Physics: the root never enters a pillar (a capsule of radius 0.4 around the vertical segment
  # z in [0, 1] m) although it was thrown at one; a thrown ant may fly over one, so the
  # distance is to the segment in 3-D.
  horizontal = np.linalg.norm(traj.qpos[..., None, :2] - traj.mocap_pos[..., :2], axis=-1)
  above = np.maximum(traj.qpos[..., None, 2] - 1.0, 0.0)  # [T, B, 1]: height over the top
  gap = np.hypot(horizontal, above)  # [T, B, K]
  assert np.min(gap) > env.obstacle_radius + 0.1, np.min(gap)
  # ... and the 10 and 6 m/s throws did hit the pillar ahead: MJX reports an ant geom within
  # 2 cm of it (contacts are seen at the end of each env step, i.e. every 5th physics step, so
  # a bounce within a step shows as a small positive distance).
  pillar0 = mujoco.mj_name2id(env.unwrapped.sys.mj_model, mujoco.mjtObj.mjOBJ_GEOM, "pillar0")
  touching = np.any((traj.contact_geom == pillar0).any(-1) & (traj.contact_dist < 0.02),
                    axis=(0, 2))  # [B]
  assert touching[0] and touching[1], touching
  # Goal kept: relabel reproduces the env's reward (obstacle slots kept as stored).
  obs_k, next_k, reward_k = _relabel_all(env, _prev_obs(state, traj), actions, traj.obs)
  np.testing.assert_allclose(reward_k, traj.reward, rtol=1e-6, atol=1e-6)
  np.testing.assert_array_equal(next_k, traj.obs)


# ---------------------------------------------------------------------------------------------
# Slow: one more compilation per name.


@pytest.mark.slow
def test_ant_walk_rollout_and_reward_from_qvel():
  # Env 0 pushed forward, env 1 backward, env 2 random actions from rest.
  actions = np.zeros((STEPS, BATCH, 8), np.float32)
  actions[:, 2] = _random_actions(jax.random.PRNGKey(3), STEPS, 1, 8)[:, 0]
  env, state, traj = _run("ant_walk", velocity=[[2.0, 0.0], [-2.0, 0.0], [0, 0], [0, 0], [0, 0]],
                          actions=actions)
  _check_rollout(env, state, traj, BATCH, STEPS)
  assert env.target_speed == 1.0
  np.testing.assert_array_equal(traj.obs[..., 29:], 0.0)  # goal / obstacle slots unused
  # Oracle: DMC-style velocity reward from the MJX state's root velocity after each step.
  expected = (np.minimum(traj.qvel[..., 0] / env.target_speed, 1.0)
              - env.ctrl_cost_weight * np.sum(actions ** 2, axis=-1))
  np.testing.assert_allclose(traj.reward, expected, rtol=1e-5, atol=1e-6)
  assert traj.reward[0, 0] > 0.5 and traj.reward[0, 1] < -0.5  # forward beats backward
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
    expected = (np.minimum(traj.qvel[..., 0] / 3.0, 1.0)
                - env.ctrl_cost_weight * np.sum(actions ** 2, axis=-1))
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
  stand = 1.0
  if env.stand_heights is not None:
    fall, up = env.stand_heights
    stand = np.clip((traj.obs[..., 0] - fall) / (up - fall), 0, 1)
  np.testing.assert_allclose(traj.reward, stand * np.minimum(vx / env.target_speed, 1.0),
                             rtol=1e-5, atol=1e-6)
  _, _, reward = _relabel_all(env, _prev_obs(state, traj), actions, traj.obs)
  np.testing.assert_allclose(reward, traj.reward, rtol=1e-6, atol=1e-6)

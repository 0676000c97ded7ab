"""Tests for helms_jax.envs: registry, observation groups, wrappers, point_reach, acting."""

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helms_jax import envs
from helms_jax.envs import registry
from helms_jax.envs.point_mass import PointMassState, PointReach, point_reach_expert
from helms_jax.envs.wrappers import (
    AutoResetWrapper, EpisodeWrapper, SelectObservationWrapper,
    VmapWrapper, wrap_for_training)


def _tree_close(a, b, atol=1e-6):
  la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
  assert jax.tree.structure(a) == jax.tree.structure(b)
  for x, y in zip(la, lb):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol)


def _state_at(env, pos, vel, goal):
  """A point_reach State with the given physical state (reset for the other fields)."""
  s = env.reset(jax.random.PRNGKey(0))
  ps = PointMassState(pos=jnp.asarray(pos, jnp.float32), vel=jnp.asarray(vel, jnp.float32),
                      goal=jnp.asarray(goal, jnp.float32))
  return s.replace(pipeline_state=ps, obs=jnp.concatenate([ps.pos, ps.vel, ps.goal]))


# ---------------------------------------------------------------- registry

def test_registry_make_and_errors():
  env = envs.make("point_reach", reward="sparse")
  assert isinstance(env, PointReach) and env.reward_type == "sparse"
  assert "point_reach" in envs.registered_names()
  with pytest.raises(ValueError, match="point_reach"):  # lists registered names
    envs.make("no_such_env")
  with pytest.raises(ValueError) as e:
    envs.make("point_reach", rewrd="sparse")
  assert "rewrd" in str(e.value) and "goal_tolerance" in str(e.value)
  assert isinstance(e.value, TypeError)


def test_registry_register_and_required_kwargs():
  def factory(size, scale=1.0):
    return PointReach(goal_tolerance=size * scale)
  name = "_test_env_factory"
  try:
    envs.register(name, factory)
    envs.register(name, factory)  # same factory again: no-op
    with pytest.raises(ValueError, match="already registered"):
      envs.register(name, lambda: None)
    assert envs.make(name, size=0.3).goal_tolerance == pytest.approx(0.3)
    with pytest.raises(ValueError, match="size"):
      envs.make(name)
  finally:
    registry._REGISTRY.pop(name, None)


# ---------------------------------------------------------------- observation groups

def test_observation_groups_select_and_size():
  g = envs.ObservationGroups({"goal": (7, 9), "proprio": (0, 4), "objects": (4, 7)}, obs_size=10)
  assert list(g) == ["proprio", "objects", "goal"]
  obs = np.arange(3 * 5 * 10, dtype=np.float32).reshape(3, 5, 10)
  out = g.select(jnp.asarray(obs), ("goal", "proprio"))
  np.testing.assert_array_equal(out, obs[..., [7, 8, 0, 1, 2, 3]])
  np.testing.assert_array_equal(g.select(obs[0, 0], "objects"), obs[0, 0, 4:7])
  assert g.size(("goal", "proprio")) == 6 and g.size("objects") == 3
  sub = g.subset(("goal", "proprio"))
  assert dict(sub) == {"goal": (0, 2), "proprio": (2, 6)} and sub.obs_size == 6
  assert hash(g) == hash(envs.ObservationGroups(dict(g), obs_size=10))
  with pytest.raises(TypeError):
    g["new"] = (0, 1)  # immutable
  # Under jit, with batch dims.
  f = jax.jit(lambda o: g.select(o, ["objects", "goal"]))
  np.testing.assert_array_equal(f(obs), obs[..., 4:9])


def test_observation_groups_validation():
  with pytest.raises(ValueError, match="overlap"):
    envs.ObservationGroups({"a": (0, 3), "b": (2, 5)})
  with pytest.raises(ValueError, match="beyond"):
    envs.ObservationGroups({"a": (0, 3), "b": (3, 7)}, obs_size=6)
  with pytest.raises(ValueError, match="invalid slice"):
    envs.ObservationGroups({"a": (3, 3)})
  g = envs.ObservationGroups.from_sizes(proprio=4, goal=2)
  with pytest.raises(KeyError) as e:
    g.select(jnp.zeros(6), ("proprio", "objects"))
  assert "objects" in str(e.value) and "proprio" in str(e.value) and "goal" in str(e.value)
  with pytest.raises(ValueError, match="last dim 5"):
    g.select(jnp.zeros(5), "goal")


# ---------------------------------------------------------------- point mass

def test_point_mass_physics_against_hand_integration():
  dt, c, f, arena = 0.1, 0.5, 2.0, 1.0
  env = PointReach(dt=dt, damping=c, force_scale=f, arena=arena, goal_tolerance=0.2,
                   terminate_on_success=False)
  pos, vel, goal = np.array([0.95, -0.2]), np.array([0.8, -0.3]), np.array([0.5, 0.5])
  action = np.array([3.0, -0.4])  # x is clipped to 1
  s = env.step(_state_at(env, pos, vel, goal), jnp.asarray(action, jnp.float32))
  u = np.clip(action, -1, 1)
  v = vel + dt * (f * u - c * vel)          # [0.96, -0.365]
  p = pos + dt * v                          # [1.046, -0.2365] -> x hits the wall
  hit = np.abs(p) > arena
  p = np.clip(p, -arena, arena)
  v = np.where(hit, 0.0, v)
  assert hit.tolist() == [True, False]
  np.testing.assert_allclose(s.obs, np.concatenate([p, v, goal]), atol=1e-6)
  np.testing.assert_allclose(s.reward, -np.linalg.norm(p - goal), atol=1e-6)
  assert float(s.done) == 0.0 and float(s.info["success"]) == 0.0
  # Sparse reward and termination on success.
  env2 = PointReach(reward="sparse", goal_tolerance=0.2)
  s2 = env2.step(_state_at(env2, [0.0, 0.0], [0.0, 0.0], [0.05, 0.0]), jnp.zeros(2))
  assert float(s2.reward) == 1.0 and float(s2.done) == 1.0 and float(s2.info["success"]) == 1.0
  s3 = env2.step(_state_at(env2, [0.0, 0.0], [0.0, 0.0], [0.5, 0.0]), jnp.zeros(2))
  assert float(s3.reward) == 0.0 and float(s3.done) == 0.0


def test_point_reach_interface():
  env = envs.make("point_reach")
  s = jax.jit(env.reset)(jax.random.PRNGKey(3))
  assert s.obs.shape == (env.observation_size,) == (6,) and env.action_size == 2
  assert isinstance(env.backend, str)
  assert env.observation_groups.size("proprio") == 4
  np.testing.assert_array_equal(s.obs[2:4], 0.0)
  assert np.all(np.abs(s.obs) <= 1.0)


def test_expert_reaches_goal():
  # Measured: 64/64 episodes (100%) reach the goal with noise_scale=0.1 (mean length ~34,
  # max 52 steps); also 100% at noise 0.3.
  env = envs.make("point_reach")
  policy = functools.partial(point_reach_expert, noise_scale=0.1)
  traj = envs.rollout(env, policy, jax.random.PRNGKey(1), num_envs=64, num_steps=100)
  rate = float(np.mean(np.max(np.asarray(traj.info["success"]), axis=1)))
  assert rate >= 0.9, rate
  # Vmappable over a batch of obs/keys and matches the unbatched call.
  obs = traj.observation[:4, 0]
  keys = jax.random.split(jax.random.PRNGKey(2), 4)
  batched = jax.vmap(point_reach_expert)(obs, keys)
  np.testing.assert_allclose(batched[1], point_reach_expert(obs[1], keys[1]), atol=1e-6)
  assert np.all(np.abs(batched) <= 1.0)


# ---------------------------------------------------------------- wrappers

def test_vmap_wrapper_matches_per_key_reference():
  env = PointReach()
  keys = jax.random.split(jax.random.PRNGKey(0), 2)
  venv = VmapWrapper(env)
  actions = jnp.array([[0.5, -1.0], [2.0, 0.3]])
  bs = venv.step(venv.reset(keys), actions)
  for i in range(2):
    ref = env.step(env.reset(keys[i]), actions[i])
    _tree_close(jax.tree.map(lambda x: x[i], bs), ref)
  # Single key + batch_size splits it.
  s = VmapWrapper(env, batch_size=2).reset(jax.random.PRNGKey(0))
  np.testing.assert_allclose(s.obs, venv.reset(keys).obs)
  with pytest.raises(ValueError, match="batch_size"):
    venv.reset(jax.random.PRNGKey(0))
  with pytest.raises(ValueError, match="3 keys"):
    VmapWrapper(env, batch_size=2).reset(jax.random.split(jax.random.PRNGKey(0), 3))


def test_episode_wrapper_truncation():
  # No success possible (tiny tolerance, far goal): time limit -> truncation.
  env = PointReach(goal_tolerance=1e-4)
  ew = EpisodeWrapper(env, episode_length=3)
  s = ew.reset(jax.random.PRNGKey(0))
  s = s.replace(pipeline_state=s.pipeline_state.replace(goal=jnp.array([0.9, 0.9]),
                                                       pos=jnp.array([-0.9, -0.9])))
  dones, truncs = [], []
  for _ in range(3):
    s = ew.step(s, jnp.zeros(2))
    dones.append(float(s.done)); truncs.append(float(s.info["truncation"]))
  assert dones == [0, 0, 1] and truncs == [0, 0, 1] and int(s.info["steps"]) == 3
  # True termination at the time limit: done but not truncation.
  env2 = PointReach(goal_tolerance=10.0)
  ew2 = EpisodeWrapper(env2, episode_length=1)
  s2 = ew2.step(ew2.reset(jax.random.PRNGKey(0)), jnp.zeros(2))
  assert float(s2.done) == 1.0 and float(s2.info["truncation"]) == 0.0


def test_episode_wrapper_action_repeat_sums_and_stops_at_termination():
  env = PointReach(goal_tolerance=0.05, terminate_on_success=True)
  action = jnp.array([1.0, 0.0])
  start = _state_at(env, [0.0, 0.0], [1.0, 0.0], [0.12, 0.0])
  # Manual reference: step until termination, summing rewards.
  manual, total, n_steps = start, 0.0, 0
  for _ in range(4):
    manual = env.step(manual, action)
    total += float(manual.reward); n_steps += 1
    if float(manual.done):
      break
  assert n_steps == 2  # precondition: terminates on the 2nd of 4 repeats
  ew = EpisodeWrapper(env, episode_length=100, action_repeat=4)
  s = ew.reset(jax.random.PRNGKey(0))
  s = s.replace(pipeline_state=start.pipeline_state, obs=start.obs)
  out = jax.jit(ew.step)(s, action)
  np.testing.assert_allclose(out.reward, total, rtol=1e-6)
  np.testing.assert_allclose(out.obs, manual.obs, atol=1e-6)  # frozen at the terminal state
  assert float(out.done) == 1.0 and float(out.info["truncation"]) == 0.0
  assert int(out.info["steps"]) == 4
  # No termination: sum of all repeats.
  far = _state_at(env, [0.0, 0.0], [0.0, 0.0], [-0.9, 0.9])
  manual, total = far, 0.0
  for _ in range(4):
    manual = env.step(manual, action); total += float(manual.reward)
  out = ew.step(s.replace(pipeline_state=far.pipeline_state, obs=far.obs), action)
  np.testing.assert_allclose(out.reward, total, rtol=1e-6)
  np.testing.assert_allclose(out.obs, manual.obs, atol=1e-6)


def test_auto_reset_fresh_distinct_episodes_and_batched_equivalence():
  env = PointReach(goal_tolerance=1e-4)  # episodes end by the time limit only
  ar = AutoResetWrapper(EpisodeWrapper(env, episode_length=3))
  step, env_step = jax.jit(ar.step), jax.jit(env.step)
  s = ar.reset(jax.random.PRNGKey(7))
  goals, records = [np.asarray(s.obs[4:6])], []
  for t in range(9):
    prev = s
    s = step(s, jnp.array([0.3, -0.2]))
    # The finishing step's reward equals the inner step from the previous state.
    ref = env_step(prev.replace(info={"success": prev.info["success"]}), jnp.array([0.3, -0.2]))
    np.testing.assert_allclose(s.reward, ref.reward, atol=1e-6)
    records.append((float(s.done), float(s.info["truncation"]), int(s.info["steps"])))
    if float(s.done):
      assert not np.allclose(s.obs, ref.obs)  # replaced by a reset obs
      np.testing.assert_array_equal(s.obs[2:4], 0.0)  # reset velocity
      goals.append(np.asarray(s.obs[4:6]))
  assert records == [(0, 0, 1), (0, 0, 2), (1, 1, 3)] * 3
  goals = np.stack(goals)  # 4 episodes: all goals distinct
  assert len({tuple(np.round(g, 6)) for g in goals}) == 4
  # brax-style stack (vmap innermost, batched states) gives the same result per env.
  keys = jax.random.split(jax.random.PRNGKey(1), 3)
  outer = VmapWrapper(AutoResetWrapper(EpisodeWrapper(env, 3)))
  inner = AutoResetWrapper(EpisodeWrapper(VmapWrapper(env), 3))
  so, si = outer.reset(keys), inner.reset(keys)
  for _ in range(4):
    a = jnp.full((3, 2), 0.5)
    so, si = outer.step(so, a), inner.step(si, a)
  _tree_close(so, si)


def test_episode_metrics_match_manual_rollout():
  base = PointReach(terminate_on_success=True, goal_tolerance=0.3)
  env = wrap_for_training(base, episode_length=5, batch_size=4)
  s0 = env.reset(jax.random.PRNGKey(0))
  actions = jax.random.uniform(jax.random.PRNGKey(1), (12, 4, 2), minval=-1, maxval=1)

  def body(s, a):
    ns = env.step(s, a)
    return ns, (ns.reward, ns.done, ns.info["episode_return"], ns.info["episode_length"],
                ns.info["episode_metrics"]["sum_reward"], ns.info["episode_done"])

  _, (rew, done, ep_ret, ep_len, brax_sum, brax_done) = jax.jit(
      lambda s: jax.lax.scan(body, s, actions))(s0)
  rew, done = np.asarray(rew), np.asarray(done)
  assert done.sum() >= 8  # several completed episodes
  for i in range(4):
    acc, n = 0.0, 0
    for t in range(12):
      acc += rew[t, i]; n += 1
      if done[t, i]:
        np.testing.assert_allclose(ep_ret[t, i], acc, rtol=1e-5)
        np.testing.assert_allclose(brax_sum[t, i], acc, rtol=1e-5)
        assert ep_len[t, i] == n and brax_done[t, i] == 1
        acc, n = 0.0, 0
  # The first episode's rewards against the raw env stepped by hand from the same start.
  raw = jax.tree.map(lambda x: x[0], s0)
  raw = raw.replace(info={"success": raw.info["success"]}, metrics={})
  acc, base_step = 0.0, jax.jit(base.step)
  for t in range(5):
    raw = base_step(raw, actions[t, 0])
    acc += float(raw.reward)
    np.testing.assert_allclose(rew[t, 0], raw.reward, atol=1e-6)
    if float(raw.done):
      break
  np.testing.assert_allclose(ep_ret[t, 0], acc, rtol=1e-5)


def test_select_observation_wrapper():
  env = PointReach()
  sel = SelectObservationWrapper(env, "proprio")
  assert sel.observation_size == 4 and dict(sel.observation_groups) == {"proprio": (0, 4)}
  s = sel.reset(jax.random.PRNGKey(0))
  full = env.reset(jax.random.PRNGKey(0)).obs
  np.testing.assert_allclose(s.obs, full[:4]); np.testing.assert_allclose(s.info["full_obs"], full)
  s = sel.step(s, jnp.ones(2))
  ref = env.step(env.reset(jax.random.PRNGKey(0)), jnp.ones(2))
  np.testing.assert_allclose(s.obs, ref.obs[:4]); np.testing.assert_allclose(s.info["full_obs"], ref.obs)
  with pytest.raises(KeyError, match="objects"):
    SelectObservationWrapper(env, ("proprio", "objects"))
  tr = wrap_for_training(env, 10, batch_size=2, observation_groups=("goal",))
  assert tr.observation_size == 2 and tr.reset(jax.random.PRNGKey(0)).obs.shape == (2, 2)


# ---------------------------------------------------------------- acting

def _expert_policy(obs, key):
  return point_reach_expert(obs, key, noise_scale=0.05)


def test_rollout_shapes_valid_mask_and_replay():
  env = PointReach(goal_tolerance=0.25)
  N, T = 8, 25
  traj = envs.rollout(env, _expert_policy, jax.random.PRNGKey(4), N, T)
  assert traj.observation.shape == (N, T + 1, 6) and traj.action.shape == (N, T, 2)
  for x in (traj.reward, traj.discount, traj.done, traj.valid, traj.info["success"]):
    assert x.shape == (N, T)
  done, valid = np.asarray(traj.done), np.asarray(traj.valid)
  lengths = np.asarray(envs.episode_lengths(traj))
  for i in range(N):
    first = np.argmax(done[i]) if done[i].any() else T - 1
    np.testing.assert_array_equal(valid[i], (np.arange(T) <= first).astype(np.float32))
    assert lengths[i] == first + 1
    if done[i].any():
      assert traj.discount[i, first] == 0 and np.all(traj.discount[i, :first] == 1)
  assert 0 < lengths.min() < T and lengths.max() == T  # both kinds of episodes present
  # Replay env 0 by hand from its first observation.
  i = int(np.argmin(lengths))
  o = traj.observation[i, 0]
  s, env_step = _state_at(env, o[:2], o[2:4], o[4:6]), jax.jit(env.step)
  for t in range(lengths[i]):
    s = env_step(s, traj.action[i, t])
    np.testing.assert_allclose(traj.reward[i, t], s.reward, atol=1e-6)
    np.testing.assert_allclose(traj.observation[i, t + 1], s.obs, atol=1e-6)
  assert float(s.done) == 1.0 and np.all(traj.reward[i, lengths[i]:] == 0)
  # Time-limit ends (EpisodeWrapper) keep discount 1; auto-reset envs are rejected.
  tl = envs.rollout(EpisodeWrapper(PointReach(goal_tolerance=1e-4), 5), _expert_policy,
                    jax.random.PRNGKey(0), 2, 8)
  np.testing.assert_array_equal(envs.episode_lengths(tl), [5, 5])
  np.testing.assert_array_equal(tl.discount[:, :5], 1.0)
  with pytest.raises(ValueError, match="auto-resetting"):
    envs.rollout(AutoResetWrapper(EpisodeWrapper(env, 5)), _expert_policy, jax.random.PRNGKey(0), 2, 3)
  # observation_fn keeps part of each observation; the episodes themselves are the same.
  kept = envs.rollout(env, _expert_policy, jax.random.PRNGKey(4), N, T,
                      observation_fn=_first_two)
  assert kept.observation.shape == (N, T + 1, 2)
  np.testing.assert_array_equal(kept.observation, traj.observation[..., :2])
  np.testing.assert_array_equal(kept.action, traj.action)


def _first_two(obs):
  return obs[:2]


# ---------------------------------------------------------------- brax training

@pytest.mark.parametrize("use_our_wrappers", [False, True])
def test_brax_ppo_trains_on_point_reach(use_our_wrappers):
  from brax.training.agents.ppo import networks as ppo_networks
  from brax.training.agents.ppo import train as ppo

  t0 = time.time()
  extra = {"wrap_env_fn": wrap_for_training} if use_our_wrappers else {}
  _, params, metrics = ppo.train(
      environment=envs.make("point_reach"), num_timesteps=2000, num_envs=8,
      episode_length=50, num_evals=2, unroll_length=10, batch_size=8, num_minibatches=2,
      num_updates_per_batch=1, num_eval_envs=8, seed=0,
      network_factory=functools.partial(
          ppo_networks.make_ppo_networks, policy_hidden_layer_sizes=(16,),
          value_hidden_layer_sizes=(16,)),
      **extra)
  elapsed = time.time() - t0
  assert "eval/episode_reward" in metrics
  for k, v in metrics.items():
    assert np.all(np.isfinite(np.asarray(v))), (k, v)
  assert metrics["eval/episode_reward"] < 0  # dense reward is -distance
  assert metrics["eval/avg_episode_length"] <= 50
  print(f"ppo.train (our wrappers={use_our_wrappers}): {elapsed:.1f}s")

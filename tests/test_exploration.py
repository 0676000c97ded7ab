"""Zero-shot exploration analysis (`analysis/exploration.py`, `Stacking.reward_variants`).

Oracles: a numpy loop over episodes for the coverage; returns recomputed from the observations
(point_reach); on stacking the env's own reward (built with reward="staged") and the relations
staged = floor(4 dense) / 4 >= sparse that `tasks._staged_value` implies, with a reaching policy
so that the staged reward is not all zeros; the object entries the env itself reads back
(`trajectory_points`). One stacking compilation: the three stacking policies share one function
(different params), and the direct rollout reuses explore's through the jit cache.
"""

import functools
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helms_jax import envs
from helms_jax.analysis import exploration
from helms_jax.envs import acting
from helms_jax.envs.base import ObservationGroups, Wrapper
from helms_jax.envs.manipulation import stacking


def _scaled_uniform(scale, obs, key, *, action_size):
  """scale * U(-1, 1): scale 0 is the zero-action policy, 1 the uniform random one."""
  del obs
  return scale * jax.random.uniform(key, (action_size,), minval=-1.0, maxval=1.0)


# One object, so every rollout with it hits the same jit cache entry.
REACH_POLICY = functools.partial(_scaled_uniform, action_size=2)

_RED_MINUS_GRIP = stacking.OBSERVATION_GROUPS["objects"][0] + np.arange(7, 10)


def stack_policy(params, obs, key):
  """noise * U(-1, 1) + (gain * (red - grip) as the EE velocity, gripper command `grip`).

  params {noise, gain, grip}: all 0 is the zero-action policy, noise 1 the uniform random one,
  gain > 0 with grip -1 moves the open gripper to the red object (reaching the first stage).
  """
  towards_red = params["gain"] * obs[_RED_MINUS_GRIP]
  direct = jnp.concatenate([towards_red, jnp.zeros(1), params["grip"][None]])
  return params["noise"] * jax.random.uniform(key, (5,), minval=-1.0, maxval=1.0) + direct


def _stack_params(noise=0.0, gain=0.0, grip=0.0):
  return {k: jnp.float32(v) for k, v in dict(noise=noise, gain=gain, grip=grip).items()}


def _brute_force_coverage(obs, lengths, idx):
  per_episode = [np.var(obs[i, :lengths[i] + 1][:, idx].astype(np.float64), axis=0).mean()
                 for i in range(len(lengths))]
  return float(np.mean(per_episode))


def test_state_coverage_matches_brute_force_and_ignores_padding():
  rng = np.random.default_rng(0)
  n, t = 6, 9
  layout = ObservationGroups.from_sizes(("a", 4), ("b", 6))
  groups = {"joint": ("a", (0, 2)), "grasp": ("a", (3,)), "object": ("b", (1, 4, 5))}
  obs = rng.normal(size=(n, t + 1, 10)).astype(np.float32) * rng.uniform(0.1, 3.0, size=10)
  lengths = np.array([1, 9, 4, 7, 2, 9])
  valid = (np.arange(t)[None] < lengths[:, None]).astype(np.float32)
  padded = obs.copy()
  for i, length in enumerate(lengths):
    padded[i, length + 1:] = 1e6  # garbage past the episode's final state
  got = exploration.state_coverage(padded, valid, layout, groups)
  flat = {"joint": [0, 2], "grasp": [3], "object": [5, 8, 9]}
  assert set(got) == set(groups)
  for name, idx in flat.items():
    np.testing.assert_allclose(got[name], _brute_force_coverage(obs, lengths, idx), rtol=1e-6)
  per_episode = exploration.episode_coverage(
      padded, valid, exploration.coverage_indices(layout, groups))
  np.testing.assert_allclose(per_episode["grasp"][0], np.var(obs[0, :2, 3].astype(np.float64)),
                             rtol=1e-6)
  with pytest.raises(ValueError, match="'c'"):
    exploration.coverage_indices(layout, {"joint": ("c", (0,))})
  with pytest.raises(ValueError, match="size 4"):
    exploration.coverage_indices(layout, {"joint": ("a", (4,))})


class _ReachVariants(Wrapper):
  """point_reach with reward variants and coverage groups, for exploring a cheap env."""

  def reward_variants(self, state):
    ps = state.pipeline_state
    dist = jnp.linalg.norm(ps.pos - ps.goal)
    success = (dist < self.env.goal_tolerance).astype(jnp.float32)
    return {"dense": -dist, "staged": 0.5 * success, "sparse": success}

  def coverage_groups(self):
    return {"joint": ("proprio", (0, 1)), "grasp": ("proprio", (2, 3)),
            "object": ("goal", (0, 1))}


def test_explore_point_reach_rows_against_observations(tmp_path):
  num_steps, num_episodes, batch = 60, 5, 2
  env = exploration.RewardVariantsWrapper(_ReachVariants(envs.EpisodeWrapper(
      envs.PointReach(), episode_length=num_steps)))
  key = jax.random.PRNGKey(3)
  policies = [
      exploration.ExplorationPolicy("zero", REACH_POLICY, jnp.float32(0.0)),
      exploration.ExplorationPolicy("random", REACH_POLICY, jnp.float32(1.0)),
      exploration.ExplorationPolicy("expert", envs.point_reach_expert, None),
  ]
  compiled = acting._rollout._cache_size()
  rows = exploration.explore(env, policies, num_episodes=num_episodes, num_steps=num_steps,
                             batch_size=batch, key=key)
  # zero and random share one compilation (params are traced), the expert has its own.
  assert acting._rollout._cache_size() - compiled == 2
  assert [r["method"] for r in rows] == ["zero", "random", "expert"]
  tol = env.goal_tolerance
  for policy, row in zip(policies, rows):
    trajs = [acting.rollout(env, policy.policy_fn, jax.random.fold_in(key, b), batch, num_steps,
                            policy_params=policy.params) for b in range(3)]
    obs = np.concatenate([np.asarray(t.observation) for t in trajs])[:num_episodes]
    valid = np.concatenate([np.asarray(t.valid) for t in trajs])[:num_episodes]
    # The reward of step t is the distance in the state after it: observation t + 1.
    dist = np.linalg.norm(obs[:, 1:, 0:2] - obs[:, 1:, 4:6], axis=-1)
    dense = (-dist * valid).sum(1)
    sparse = ((dist < tol) * valid).sum(1)
    assert row["num_episodes"] == num_episodes
    np.testing.assert_allclose(row["dense_return"], dense.mean(), rtol=1e-5)
    np.testing.assert_allclose(row["dense_return_std"], dense.std(), rtol=1e-4)
    np.testing.assert_allclose(row["sparse_return"], sparse.mean(), atol=1e-6)
    np.testing.assert_allclose(row["staged_return"], 0.5 * sparse.mean(), atol=1e-6)
    np.testing.assert_allclose(row["episode_length"], valid.sum(1).mean())
    lengths = valid.sum(1).astype(int)
    for name, idx in (("joint", [0, 1]), ("grasp", [2, 3]), ("object", [4, 5])):
      np.testing.assert_allclose(row[f"{name}_variance"],
                                 _brute_force_coverage(obs, lengths, idx), rtol=1e-5, atol=1e-12)
    assert row["object_variance"] == 0.0  # the goal never moves
  zero, random, expert = rows
  assert zero["joint_variance"] == 0.0 < random["joint_variance"]
  assert expert["episode_length"] < num_steps  # some episodes end early: padding is excluded
  assert expert["dense_return"] > random["dense_return"]

  path = os.path.join(tmp_path, "exploration.json")
  exploration.write_exploration(path, rows, {"env": {"name": "point_reach"}})
  with open(path) as f:
    written = json.load(f)
  assert written["env"] == {"name": "point_reach"}
  assert [r["method"] for r in written["rows"]] == ["zero", "random", "expert"]
  np.testing.assert_allclose(written["rows"][1]["joint_variance"], random["joint_variance"])
  with pytest.raises(TypeError, match="reward_variants"):
    exploration.explore(envs.PointReach(), policies, num_episodes=1, num_steps=1, batch_size=1,
                        key=key)


@pytest.mark.slow  # one stacking compilation (~1-3 min); the suite's MJX budget is spent
def test_stacking_reward_variants_and_coverage():
  num_steps, n = 30, 4
  base = stacking.Stacking(task="red_on_blue", object_set=4, reward="staged")
  env = exploration.RewardVariantsWrapper(envs.EpisodeWrapper(base, episode_length=num_steps))
  key = jax.random.PRNGKey(0)
  reach_params = _stack_params(gain=20.0, grip=-1.0)
  policies = [exploration.ExplorationPolicy("zero", stack_policy, _stack_params()),
              exploration.ExplorationPolicy("random", stack_policy, _stack_params(noise=1.0)),
              exploration.ExplorationPolicy("reach", stack_policy, reach_params)]
  zero, random, reach = exploration.explore(env, policies, num_episodes=n, num_steps=num_steps,
                                            batch_size=n, key=key)
  # The same static arguments as explore's rollout: a jit cache hit, not a new compilation.
  compiled = acting._rollout._cache_size()
  traj = acting.rollout(env, stack_policy, jax.random.fold_in(key, 0), n, num_steps,
                        policy_params=reach_params)
  assert acting._rollout._cache_size() == compiled
  valid = np.asarray(traj.valid)
  assert valid.all()  # no early ends: every step counts
  reward = np.asarray(traj.reward)
  dense, staged, sparse = (np.asarray(traj.info[f"reward_{k}"]) for k in ("dense", "staged",
                                                                          "sparse"))
  # The staged variant of the state after each step is the env's own (staged) reward, and the
  # reach policy makes it non-trivial (the first stage, 0.25, is reached).
  assert staged.max() >= 0.25
  np.testing.assert_array_equal(staged, reward)
  np.testing.assert_allclose(reach["staged_return"], reward.sum(1).mean(), rtol=1e-6)
  np.testing.assert_allclose(reach["staged_return_std"], reward.sum(1).std(), rtol=1e-5)
  np.testing.assert_allclose(reach["dense_return"], dense.sum(1).mean(), rtol=1e-6)
  # dense = (highest stage reached + 0.9 * progress in [0, 1]) / 4 and staged = stage / 4, so
  # staged = floor(4 dense) / 4; sparse is the goal alone (0 here, nothing is stacked).
  np.testing.assert_array_equal(staged, np.floor(4 * dense) / 4)
  assert (dense >= staged).all() and (staged >= sparse).all() and (dense <= 1.0).all()
  assert (sparse == 0.0).all() and reach["sparse_return"] == 0.0
  assert random["dense_return"] > random["staged_return"] >= 0.0
  assert reach["staged_return"] > max(zero["staged_return"], random["staged_return"])

  # Coverage indices: the objects entries are the object centres the env itself reads back.
  obs = np.asarray(traj.observation)
  idx = exploration.coverage_indices(env.observation_groups, base.coverage_groups())
  _, centres = base.trajectory_points(obs)
  np.testing.assert_array_equal(obs[..., idx["object"]], np.asarray(centres).reshape(
      obs.shape[:-1] + (9,)))
  np.testing.assert_allclose(np.sum(obs[..., idx["joint"][3:]] ** 2, axis=-1), 1.0, atol=1e-5)
  np.testing.assert_array_equal(obs[:, 0, idx["grasp"]], 0.0)  # open and not grasping at reset
  np.testing.assert_allclose(reach["joint_variance"], exploration.state_coverage(
      obs, valid, env.observation_groups, base.coverage_groups())["joint"], rtol=1e-6)
  # Zero actions hold the arm where it is (the target stays at the arm); random ones move it.
  assert zero["joint_variance"] < 1e-3 * random["joint_variance"]
  # Grasp coverage is the grasp sensor alone (proprio 11), not the finger closure.
  np.testing.assert_array_equal(idx["grasp"], [env.observation_groups["proprio"][0] + 11])

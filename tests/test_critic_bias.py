"""The critic-bias check: soft Monte Carlo returns against a forward brute force and closed
forms, the replay's stream order across the wrap, and the statistics of a known critic."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flashbax.buffers.trajectory_buffer import TrajectoryBufferState

from helms_jax.analysis import critic_bias
from helms_jax.training.train_state import OnlineAgent, Transition


def _brute_force(reward, discount, end, penalty, value, gamma):
  """G_t summed forwards from t to the first stop (an end, or the last step) by definition."""
  length = len(reward)
  returns, weights = np.zeros(length), np.zeros(length)
  for t in range(length):
    total, coefficient, k = 0.0, 1.0, t
    while True:
      total += coefficient * (reward[k] - (penalty[k] if k > t else 0.0))
      coefficient *= gamma * discount[k]
      if end[k] or k == length - 1:
        total += coefficient * value[k]
        break
      k += 1
    returns[t], weights[t] = total, coefficient
  return returns, weights


def _stops(end, length):
  """Index of the step each step bootstraps at: its episode's end, or the last step."""
  stops = np.flatnonzero(np.asarray(end) > 0).tolist() + [length - 1]
  return np.array([min(k for k in stops if k >= t) for t in range(length)])


def test_soft_returns_match_the_forward_sum_and_closed_forms():
  rng = np.random.default_rng(0)
  length, gamma = 40, 0.9
  reward, penalty, value = (rng.normal(size=length) for _ in range(3))
  end = (rng.random(length) < 0.15).astype(np.float32)
  discount = np.where((end > 0) & (rng.random(length) < 0.5), 0.0, 1.0)  # some true terminations
  got = critic_bias.soft_returns(*(jnp.asarray(x, jnp.float32) for x in
                                   (reward, discount, end, penalty, value)), gamma)
  want = _brute_force(reward, discount, end, penalty, value, gamma)
  np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(got[1], want[1], rtol=1e-6, atol=1e-7)
  np.testing.assert_allclose(got[2], want[1] * value[_stops(end, length)], rtol=1e-5, atol=1e-6)
  # Constant reward r, no end, the last step bootstrapping V: a geometric sum.
  r, v, t = 2.0, 7.0, np.arange(length)
  ones, zeros = jnp.ones(length), jnp.zeros(length)
  returns, weights, bootstrapped = critic_bias.soft_returns(r * ones, ones, zeros, zeros,
                                                            v * ones, gamma)
  np.testing.assert_allclose(bootstrapped, weights * v, rtol=1e-5)
  m = length - t  # steps to the bootstrap
  np.testing.assert_allclose(returns, r * (1 - gamma ** m) / (1 - gamma) + gamma ** m * v,
                             rtol=1e-5)
  np.testing.assert_allclose(weights, gamma ** m, rtol=1e-5)
  # A true termination at the last step: pure Monte Carlo, no bootstrap.
  returns, weights, _ = critic_bias.soft_returns(r * ones, ones.at[-1].set(0.0), zeros, zeros,
                                                 v * ones, gamma)
  np.testing.assert_allclose(returns, r * (1 - gamma ** m) / (1 - gamma), rtol=1e-5)
  assert float(jnp.max(weights)) == 0.0
  with pytest.raises(ValueError, match="one length"):
    critic_bias.soft_returns(ones, ones, zeros, zeros, ones[:3], gamma)


def _replay(rewards, index, full):
  """A one-seed buffer state: streams [1, N, T] with the given rewards, nothing ending."""
  rewards = jnp.asarray(rewards, jnp.float32)[None]
  zeros = jnp.zeros_like(rewards)
  experience = Transition(observation=rewards[..., None], agent_action=zeros[..., None],
                          reward=rewards, discount=jnp.ones_like(rewards), end=zeros,
                          next_observation=rewards[..., None])
  return TrajectoryBufferState(experience=experience, current_index=jnp.asarray([index]),
                               is_full=jnp.asarray([full]))


def test_newest_steps_follow_the_write_index_across_the_wrap():
  # Written in time order 0, 1, 2, ...; a full buffer of 6 holding times 4..9 wraps at index 4.
  stored = np.array([[6, 7, 8, 9, 4, 5], [16, 17, 18, 19, 14, 15]])
  newest = critic_bias.newest_steps(_replay(stored, 4, True), 5)
  np.testing.assert_array_equal(newest.reward[0], [[5, 6, 7, 8, 9], [15, 16, 17, 18, 19]])
  # Not full: only what was written (3 steps), however many are asked for.
  newest = critic_bias.newest_steps(_replay(stored, 3, False), 5)
  np.testing.assert_array_equal(newest.reward[0], [[6, 7, 8], [16, 17, 18]])
  with pytest.raises(ValueError, match="empty"):
    critic_bias.newest_steps(_replay(stored, 0, False), 5)


def test_a_critic_that_overestimates_by_a_constant_shows_that_bias():
  """Constant reward r and no ends: the true soft Q (penalty p) is (r - gamma p) / (1 - gamma).
  A critic answering Q* + b everywhere (value Q* + b - p) is biased by b (1 - weight) on each
  state: its own overestimate enters the bootstrap with the bootstrap weight."""
  gamma, r, p, b, length = 0.95, 1.5, 0.2, 30.0, 200
  q_true = (r - gamma * p) / (1 - gamma)

  def evaluate(agent_state, obs, action, key):
    del agent_state, action, key
    ones = jnp.ones(obs.shape[:1])
    return dict(q=(q_true + b) * ones, value=(q_true + b - p) * ones, penalty=p * ones)

  agent = OnlineAgent(init=None, act=None, update=None, agent_action_spec=None,
                      evaluate=evaluate)
  experience = jax.tree.map(lambda x: x[0], critic_bias.newest_steps(
      _replay(np.full((3, length), r), 0, True), length))
  stats = critic_bias.critic_bias(agent, None, experience, gamma, jax.random.PRNGKey(0))
  weights = gamma ** (length - np.arange(length))
  np.testing.assert_allclose(stats["bias"], b * np.mean(1 - weights), rtol=1e-4)
  np.testing.assert_allclose(stats["bootstrap_weight"], np.mean(weights), rtol=1e-4)
  early = weights <= critic_bias.EARLY_WEIGHT
  assert int(stats["early_count"]) == 3 * early.sum() and int(stats["count"]) == 3 * length
  np.testing.assert_allclose(stats["early_bias"], b * np.mean(1 - weights[early]), rtol=1e-4)
  # Without the bootstrapped term the returns are the geometric sums of the soft reward.
  m = length - np.arange(length)
  monte_carlo = r * (1 - gamma ** m) / (1 - gamma) - p * gamma * (1 - gamma ** (m - 1)) / (1 - gamma)
  np.testing.assert_allclose(stats["early_monte_carlo"], np.mean(monte_carlo[early]), rtol=1e-4)
  # One level everywhere: no correlation with the returns, and no action preferred.
  np.testing.assert_allclose([stats["correlation"], stats["policy_action_gap"]], 0.0, atol=1e-5)
  no_critic = agent._replace(evaluate=None)
  with pytest.raises(ValueError, match="no critic"):
    critic_bias.critic_bias(no_critic, None, experience, gamma, jax.random.PRNGKey(0))


def test_correlation_and_policy_action_gap_of_critics_that_read_the_return():
  """Episodes of 10 steps ending in true terminations: G is pure Monte Carlo (the brute force).
  A critic scoring 2 G - 1 + 3 a ranks states exactly as G does (correlation 1 on the stored
  a = 0; -1 when it scores -G), and its policy's action a = 0.5 is valued 1.5 above them."""
  rng = np.random.default_rng(1)
  envs, length, gamma = 2, 30, 0.9
  reward = rng.normal(size=(envs, length)).astype(np.float32)
  end = np.tile((np.arange(length) % 10 == 9).astype(np.float32), (envs, 1))
  discount = 1.0 - end
  zeros = np.zeros(length)
  returns = np.stack([_brute_force(reward[i], discount[i], end[i], zeros, zeros, gamma)[0]
                      for i in range(envs)]).astype(np.float32)
  experience = Transition(observation=jnp.asarray(returns)[..., None],
                          agent_action=jnp.zeros((envs, length, 1)), reward=jnp.asarray(reward),
                          discount=jnp.asarray(discount), end=jnp.asarray(end),
                          next_observation=jnp.zeros((envs, length, 1)))

  def critic(sign):
    def evaluate(agent_state, obs, action, key):
      del agent_state, key
      q = sign * 2.0 * obs[:, 0] - 1.0
      return dict(q=q + 3.0 * action[:, 0], value=q + 3.0 * 0.5, penalty=jnp.zeros_like(q))
    return OnlineAgent(init=None, act=None, update=None, agent_action_spec=None,
                       evaluate=evaluate)

  for sign in (1.0, -1.0):
    stats = critic_bias.critic_bias(critic(sign), None, experience, gamma, jax.random.PRNGKey(0))
    np.testing.assert_allclose(stats["returns"], returns.mean(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats["correlation"], sign, atol=1e-5)
    np.testing.assert_allclose(stats["policy_action_gap"], 1.5, atol=1e-5)

"""The online actor-learner loop and MPO over its action spaces, on bandit-like toy envs.

Checks against things that must hold: brute-force n-step returns, a continuous bandit whose
optimum is known, a categorical bandit whose best arm is known, a KL weight so large that the
policy stays at its prior, exact resume of a killed run, and clear errors for bad loop configs.
"""

from __future__ import annotations

import json
import types

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from helms_jax import configs
from helms_jax.agents import mpo, spaces
from helms_jax.envs.base import Env, State
from helms_jax.losses.returns import n_step_bootstrap
from helms_jax.training.checkpoint import Checkpointer
from helms_jax.training import online_loop
from helms_jax.training.online_loop import (OnlineConfig, Transition, make_online_fns, over_seeds,
                                            train_online)

TARGET = np.array([0.5, -0.3], np.float32)


class ContinuousBandit(Env):
  """One-step episodes; observation = [1, 0]; reward = 1 - |a - TARGET|^2 (optimum at TARGET)."""

  def reset(self, rng):
    del rng
    z = jnp.zeros(())
    return State(pipeline_state=None, obs=jnp.array([1.0, 0.0]), reward=z, done=z,
                 metrics={}, info={"truncation": z})

  def step(self, state, action):
    reward = 1.0 - jnp.sum(jnp.square(action - TARGET))
    return state.replace(reward=reward, done=jnp.ones(()))

  @property
  def observation_size(self):
    return 2

  @property
  def action_size(self):
    return 2

  @property
  def backend(self):
    return "none"


ARM_REWARDS = np.array([0.1, 0.3, 1.0, 0.0], np.float32)  # arm 2 is best


def categorical_space(obs_size: int = 2) -> spaces.ActionSpace:
  """A K = 4 categorical policy whose arms decode to env actions (arm index on axis 0)."""
  import flax.linen as nn  # pylint: disable=import-outside-toplevel

  net = nn.Dense(4, kernel_init=nn.initializers.zeros)
  return spaces.ActionSpace(
      kind="categorical", size=4,
      init_policy=lambda key: net.init(key, jnp.zeros((1, obs_size))),
      policy=lambda params, frozen, obs: net.apply(params, obs),
      decode=lambda frozen, obs, u, key, det: jnp.stack(
          [u.astype(jnp.float32), jnp.zeros_like(u, jnp.float32)], axis=-1),
      prior=lambda frozen, obs: jnp.zeros(obs.shape[:-1] + (4,)))


class ArmBandit(ContinuousBandit):
  def step(self, state, action):
    return state.replace(reward=jnp.asarray(ARM_REWARDS)[action[0].astype(jnp.int32)],
                         done=jnp.ones(()))


def agent_config(**overrides) -> ml_collections.ConfigDict:
  c = mpo.default_config()
  c.critic_hidden = (32, 32)
  c.num_samples = 8
  c.policy_learning_rate = 3e-3
  c.critic_learning_rate = 3e-3
  c.target_update_period = 20
  # Looser trust regions than Acme's, and duals that start inside them, so a toy problem moves
  # in a few hundred updates.
  c.epsilon_mean, c.epsilon_stddev, c.epsilon_categorical = 0.05, 1e-3, 0.05
  c.init_log_alpha_mean, c.init_log_alpha_stddev = 1.0, 10.0
  c.update(overrides)
  return c


LOOP = OnlineConfig(num_envs=16, unroll_length=2, updates_per_iteration=2, batch_size=32,
                    sequence_length=2, replay_capacity=1024, min_replay_steps=64,
                    env_steps=16 * 2 * 8 * 25, iterations_per_call=8, checkpoint_every_calls=5)


def run_loop(agent, env, config=LOOP, num_seeds=2):
  init, call = make_online_fns(agent, env, config)
  state = jax.jit(jax.vmap(init))(jnp.stack([jax.random.PRNGKey(s) for s in range(num_seeds)]))
  call = jax.jit(jax.vmap(call))
  history = []
  for _ in range(config.env_steps // config.env_steps_per_call):
    state, stats, _ = call(state)
    history.append(jax.device_get(stats))
  return state, history


def test_n_step_bootstrap_matches_brute_force():
  rng = np.random.default_rng(0)
  b, n, gamma = 64, 5, 0.9
  rewards = rng.normal(size=(b, n)).astype(np.float32)
  ends = (rng.random((b, n)) < 0.25).astype(np.float32)
  discounts = np.where(ends * (rng.random((b, n)) < 0.5), 0.0, 1.0).astype(np.float32)
  partial, coef, last = jax.device_get(n_step_bootstrap(rewards, discounts, ends, gamma))
  for i in range(b):
    g, c = 0.0, 1.0
    for k in range(n):
      g += c * rewards[i, k]
      c *= gamma * discounts[i, k]
      if ends[i, k] or k == n - 1:
        break
    np.testing.assert_allclose(partial[i], g, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(coef[i], c, rtol=1e-5, atol=1e-7)
    assert last[i] == k


def test_mpo_learns_continuous_bandit():
  space_agent = mpo.make_agent(agent_config(), _raw_space(), observation_size=2)
  state, history = run_loop(space_agent, ContinuousBandit())
  first, last = history[0]["episode_return"], history[-1]["episode_return"]
  mean = jax.vmap(lambda s: space_agent.act(s, jnp.array([[1.0, 0.0]]), jax.random.PRNGKey(0),
                                            True)[1][0])(state.agent)
  # Both seeds move their deterministic action to the optimum and their return up.
  np.testing.assert_allclose(np.asarray(mean), np.tile(TARGET, (2, 1)), atol=0.15)
  assert np.all(last > first + 0.1), (first, last)
  assert np.all(np.asarray(history[-1]["episodes"]) == LOOP.env_steps_per_call)


def _raw_space():
  from helms_jax.agents.helms import downstream  # pylint: disable=import-outside-toplevel
  return downstream.raw_action_space(2, 2, (32, 32))


def test_categorical_mpo_finds_best_arm_and_huge_eta_keeps_prior():
  learned = mpo.make_agent(agent_config(), categorical_space(), observation_size=2)
  state, _ = run_loop(learned, ArmBandit())
  probs = jax.nn.softmax(jax.vmap(lambda p: categorical_space().policy(
      p, (), jnp.array([[1.0, 0.0]])))(state.agent.policy), axis=-1)[:, 0]
  assert np.all(np.asarray(probs)[:, 2] > 0.6), probs
  # eta_y -> infinity: KL(pi || uniform) dominates, the policy stays uniform.
  held = mpo.make_agent(agent_config(eta_y=1e4), categorical_space(), observation_size=2)
  state, _ = run_loop(held, ArmBandit())
  probs = jax.nn.softmax(jax.vmap(lambda p: categorical_space().policy(
      p, (), jnp.array([[1.0, 0.0]])))(state.agent.policy), axis=-1)[:, 0]
  np.testing.assert_allclose(np.asarray(probs), 0.25, atol=0.03)


def test_kl_enters_the_critics_return():
  """With kl_in_return the critic's target is the task target minus eta times the target
  policy's KL to the prior at every later state of the n-step sequence, each discounted like
  the reward it follows (gamma KL(x_1) + gamma^2 KL(x_2) for two steps), none after a
  termination; closed form on a state-independent categorical policy against a fixed prior."""
  logits = jnp.log(jnp.array([0.1, 0.2, 0.3, 0.4]))
  prior_logits = jnp.zeros(4)
  space = spaces.ActionSpace(
      kind="categorical", size=4, init_policy=lambda key: {"logits": logits},
      policy=lambda params, frozen, obs: jnp.broadcast_to(params["logits"], obs.shape[:-1] + (4,)),
      decode=lambda frozen, obs, u, key, det: u,
      prior=lambda frozen, obs: jnp.broadcast_to(prior_logits, obs.shape[:-1] + (4,)))
  p = jax.nn.softmax(logits)
  kl = float(jnp.sum(p * (jnp.log(p) - jax.nn.log_softmax(prior_logits))))
  eta, gamma = 0.7, 0.9
  rng = np.random.default_rng(0)
  obs = rng.normal(size=(1, 2, 2)).astype(np.float32)

  def target(kl_in_return, discount, end):
    agent = mpo.make_agent(agent_config(eta_y=eta, discount=gamma, kl_in_return=kl_in_return),
                           space, observation_size=2)
    state = agent.init(jax.random.PRNGKey(0))
    batch = Transition(observation=obs, agent_action=np.zeros((1, 2), np.int32),
                       reward=np.array([[1.0, 2.0]], np.float32),
                       discount=np.array([discount], np.float32),
                       end=np.array([end], np.float32), next_observation=obs + 1.0)
    return float(agent.update(state, batch, jax.random.PRNGKey(1))[1]["target_mean"])

  for discount, end, want in (([1.0, 1.0], [0.0, 0.0], gamma * kl + gamma ** 2 * kl),
                              ([1.0, 1.0], [1.0, 0.0], gamma * kl),  # time limit after step 0
                              ([0.0, 1.0], [1.0, 0.0], 0.0)):  # termination after step 0
    np.testing.assert_allclose(target(False, discount, end) - target(True, discount, end),
                               eta * want, rtol=1e-5, atol=1e-6)


def test_train_online_resumes_exactly(tmp_path):
  agent = mpo.make_agent(agent_config(), categorical_space(), observation_size=2)
  config = OnlineConfig(**{**LOOP.__dict__, "env_steps": LOOP.env_steps_per_call * 4,
                           "checkpoint_every_calls": 2})
  full = train_online(agent, ArmBandit(), config, workdir=str(tmp_path / "full"), seeds=(0, 1),
                      run_info={"label": "toy"})
  # A run stopped after 2 calls (its checkpoint at 2 calls), then relaunched to 4 calls.
  half = OnlineConfig(**{**config.__dict__, "env_steps": LOOP.env_steps_per_call * 2})
  train_online(agent, ArmBandit(), half, workdir=str(tmp_path / "split"), seeds=(0, 1),
               run_info={"label": "toy", "commit": "first", "command": "run 1"})
  resumed = train_online(agent, ArmBandit(), config, workdir=str(tmp_path / "split"),
                         seeds=(0, 1), run_info={"label": "toy", "commit": "second",
                                                 "command": "run 2"})
  jax.tree.map(np.testing.assert_array_equal, jax.device_get(full.agent),
               jax.device_get(resumed.agent))
  rows = [json.loads(l) for l in open(tmp_path / "split" / "transfer" / "curves.jsonl")]
  assert [r["env_steps"] for r in rows] == [LOOP.env_steps_per_call * i for i in (1, 2, 3, 4)]
  assert len(rows[0]["metrics"]["episode_return"]) == 2  # one value per seed
  info = json.load(open(tmp_path / "full" / "transfer" / "run.json"))
  assert info["seeds"] == [0, 1] and info["label"] == "toy"
  assert Checkpointer(str(tmp_path / "split" / "transfer" / "checkpoints")).latest_step() == \
      config.env_steps
  # The resumed record cites the commit that started it and lists both segments; launching the
  # finished run again (today's commit) trains nothing and adds no segment.
  segments = [{"from_env_steps": 0, "commit": "first", "command": "run 1"},
              {"from_env_steps": LOOP.env_steps_per_call * 2, "commit": "second",
               "command": "run 2"}]
  split_info = tmp_path / "split" / "transfer" / "run.json"
  info = json.load(open(split_info))
  assert (info["commit"], info["command"], info["segments"]) == ("first", "run 1", segments)
  train_online(agent, ArmBandit(), config, workdir=str(tmp_path / "split"), seeds=(0, 1),
               run_info={"label": "toy", "commit": "third", "command": "run 3"})
  info = json.load(open(split_info))
  assert (info["commit"], info["segments"]) == ("first", segments)


@pytest.mark.parametrize("field,value,message", [
    ("env_steps", 1000, "multiple of"),
    ("replay_capacity", 16, "steps per env"),
    ("num_envs", 0, "must be positive"),
])
def test_bad_loop_config_is_named(field, value, message):
  config = OnlineConfig(**{**LOOP.__dict__, field: value})
  with pytest.raises(ValueError, match=message):
    config.validate()


def test_eta_without_prior_is_an_error():
  with pytest.raises(ValueError, match="need a prior"):
    mpo.make_agent(agent_config(eta_z=0.1), _raw_space(), observation_size=2)


class PixelBandit(ContinuousBandit):
  """The optimum (+-TARGET) is drawn per episode and shown only in the image's brightness; the
  state (which the critic sees) carries it as a sign. Observation groups: proprio (a constant)."""
  image, image_size = True, 8

  def reset(self, rng):
    sign = jnp.where(jax.random.bernoulli(rng), 1.0, -1.0)
    z = jnp.zeros(())
    image = jnp.full((8, 8, 4), jnp.where(sign > 0, 255, 0), jnp.uint8)
    return State(pipeline_state=None, obs=jnp.array([1.0, sign]), reward=z, done=z, metrics={},
                 info={"truncation": z, "image": image})

  def step(self, state, action):
    reward = 1.0 - jnp.sum(jnp.square(action - state.obs[1] * TARGET))
    return state.replace(reward=reward, done=jnp.ones(()))

  @property
  def observation_groups(self):
    from helms_jax.envs.base import ObservationGroups  # pylint: disable=import-outside-toplevel
    return ObservationGroups.from_sizes(("proprio", 1), ("goal", 1))


@pytest.mark.slow  # ~40 s of compilation each: suite budget; run with `pytest -m slow`
@pytest.mark.parametrize("pixel_critic", [False, True], ids=["asymmetric", "pixel_critic"])
def test_mpo_learns_from_pixels(pixel_critic):
  """The policy sees only pixels + proprio; the optimum differs per episode and is visible only
  in the image, so matching it in both cases means the pixel path carries the information. The
  asymmetric critic reads the state's sign; the pixel critic (MPO from pixels) has only the
  image too, so there the critic must learn Q from pixels as well."""
  from helms_jax.agents.helms import downstream  # pylint: disable=import-outside-toplevel
  env = PixelBandit()
  space = downstream.pixel_mixture_space(env, 1, 2, (32, 32), decode=lambda f, o, u, k, d: u,
                                         prior=None, pixel_critic=pixel_critic)
  agent = mpo.make_agent(agent_config(), space, observation_size=2)
  state, history = run_loop(agent, env, num_seeds=1)
  for sign in (1.0, -1.0):
    obs = {"state": jnp.array([[1.0, sign]]),
           "image": jnp.full((1, 8, 8, 4), 255 if sign > 0 else 0, jnp.uint8)}
    action = agent.act(jax.tree.map(lambda x: x[0], state.agent), obs, jax.random.PRNGKey(0),
                       True)[1][0]
    np.testing.assert_allclose(np.asarray(action), sign * TARGET, atol=0.2)
  assert history[-1]["episode_return"][0] > history[0]["episode_return"][0] + 0.1


def test_pixel_critic_reads_the_image_and_proprio_only():
  """Q changes with the image and with the proprio entry, never with the rest of the state."""
  from helms_jax.networks import PixelContinuousCritic  # pylint: disable=import-outside-toplevel
  critic = PixelContinuousCritic((16,), proprio=(0, 1))
  rng = np.random.default_rng(0)
  image = jnp.asarray(rng.integers(0, 256, (3, 8, 8, 4)), jnp.uint8)
  state, u = jnp.asarray(rng.normal(size=(3, 2)), jnp.float32), jnp.ones((3, 2))
  params = critic.init(jax.random.PRNGKey(0), {"image": image, "state": state}, u)
  q = lambda image, state: critic.apply(params, {"image": image, "state": state}, u)
  base = q(image, state)
  np.testing.assert_array_equal(q(image, state.at[:, 1].add(5.0)), base)
  assert np.all(np.asarray(q(image, state.at[:, 0].add(5.0))) != np.asarray(base))
  assert np.all(np.asarray(q(255 - image, state)) != np.asarray(base))
  with pytest.raises(ValueError, match="continuous action spaces only"):
    mpo.make_agent(agent_config(), categorical_space()._replace(
        critic=lambda hidden: critic), observation_size=2)


def test_checkpoint_round_trips_zero_size_arrays(tmp_path):
  """MJX states hold zero-size arrays (mjx.Data.act without activations), which orbax refuses
  to save; the Checkpointer stores stand-ins and restores the target's empty arrays."""
  state = {"x": jnp.arange(3.0), "act": jnp.zeros((4, 0)), "n": jnp.ones((2,), jnp.int32)}
  checkpointer = Checkpointer(str(tmp_path))
  checkpointer.save(1, state, force=True)
  checkpointer.close()
  restored = Checkpointer(str(tmp_path)).restore(1, jax.tree.map(jnp.zeros_like, state))
  assert restored["act"].shape == (4, 0)
  np.testing.assert_array_equal(restored["x"], state["x"])
  np.testing.assert_array_equal(restored["n"], state["n"])


class CountingBandit(ArmBandit):
  """ArmBandit episodes of 3 steps; metrics['steps'] counts the episode's steps."""

  def reset(self, rng):
    state = super().reset(rng)
    return state.replace(metrics={"steps": jnp.zeros(())})

  def step(self, state, action):
    state = super().step(state, action)
    steps = state.metrics["steps"] + 1
    return state.replace(done=(steps >= 3).astype(jnp.float32), metrics={"steps": steps})


def test_final_metrics_are_read_at_each_episodes_last_step():
  """final/steps is the episode length (3) in every call; a metric the env lacks is named."""
  agent = mpo.make_agent(agent_config(), categorical_space(), observation_size=2)
  config = OnlineConfig(**{**LOOP.__dict__, "updates_per_iteration": 0, "unroll_length": 3,
                           "iterations_per_call": 2, "env_steps": 16 * 3 * 2 * 2,
                           "final_metrics": ("steps",)})
  _, history = run_loop(agent, CountingBandit(), config, num_seeds=1)
  for stats in history:
    assert float(stats["episodes"][0]) == 32  # 16 envs x 2 episodes of 3 steps per call
    np.testing.assert_array_equal(stats["final/steps"], 3.0)
  missing = OnlineConfig(**{**config.__dict__, "final_metrics": ("height",)})
  init, call = make_online_fns(agent, CountingBandit(), missing)
  with pytest.raises(configs.ConfigError, match="'height'.*metrics: steps"):
    jax.eval_shape(call, init(jax.random.PRNGKey(0)))


class TimeLimitedBandit(CountingBandit):
  """CountingBandit's 3-step episodes, each ended by its time limit (info['truncation'] 1)."""

  def step(self, state, action):
    state = super().step(state, action)
    return state.replace(info={"truncation": state.done})


class Chain(ContinuousBandit):
  """10-step episodes ended by their time limit; obs = [1, t / 10]; the bandit's reward."""

  def reset(self, rng):
    state = super().reset(rng)
    return state.replace(obs=jnp.array([1.0, 0.0]))

  def step(self, state, action):
    t = state.obs[1] * 10 + 1
    done = (t >= 10).astype(jnp.float32)
    return state.replace(obs=jnp.array([1.0, t / 10]), done=done, info={"truncation": done},
                         reward=1.0 - jnp.sum(jnp.square(action - TARGET)))


def assert_critic_matches_chain_returns(agent) -> None:
  """Trains `agent` (discount 0.9) on the finite-horizon chain and checks its Q of the replayed
  steps (newest 200 per env) against the discounted sum of what followed
  (`analysis.critic_bias`, no bootstrap term): within 5 % of a near-optimal return."""
  from helms_jax.analysis import critic_bias  # pylint: disable=import-outside-toplevel
  loop = OnlineConfig(num_envs=16, unroll_length=2, updates_per_iteration=4, batch_size=64,
                      sequence_length=1, replay_capacity=4096, min_replay_steps=64,
                      env_steps=16 * 2 * 8 * 100, iterations_per_call=8,
                      bootstrap_time_limits=False)
  state, _ = run_loop(agent, Chain(), loop, num_seeds=1)
  experience = jax.tree.map(lambda x: x[0], critic_bias.newest_steps(state.replay, 200))
  stats = critic_bias.critic_bias(agent, jax.tree.map(lambda x: x[0], state.agent), experience,
                                  0.9, jax.random.PRNGKey(0))
  assert float(stats["bootstrap_weight"]) == 0.0
  assert float(stats["returns"]) > 3.0  # near-optimal: at most sum_{k<10} 0.9^k = 6.5
  assert abs(float(stats["bias"])) < 0.05 * float(stats["returns"]), stats


@pytest.mark.slow
def test_mpo_critic_agrees_with_the_monte_carlo_returns_of_a_finite_horizon_chain():
  """As SAC's (test_sac): MPO's Q matches the chain's Monte Carlo returns."""
  assert_critic_matches_chain_returns(
      mpo.make_agent(agent_config(discount=0.9), _raw_space(), observation_size=2))


@pytest.mark.parametrize("bootstrap", [True, False])
def test_time_limit_ends_bootstrap_unless_told_not_to(bootstrap):
  """Stored discounts: 1 inside episodes; at a time-limit end 1 (bootstrapped) by default and 0
  (a termination, as spirl's sampler treats it) with bootstrap_time_limits=False."""
  agent = mpo.make_agent(agent_config(), categorical_space(), observation_size=2)
  config = OnlineConfig(**{**LOOP.__dict__, "updates_per_iteration": 0, "unroll_length": 3,
                           "iterations_per_call": 2, "env_steps": 16 * 3 * 2,
                           "bootstrap_time_limits": bootstrap})
  state, _ = run_loop(agent, TimeLimitedBandit(), config, num_seeds=1)
  stored = jax.tree.map(lambda x: np.asarray(x)[0, :, :6], state.replay.experience)
  np.testing.assert_array_equal(stored.end, np.tile([0, 0, 1], (16, 2)))
  np.testing.assert_array_equal(stored.discount,
                                np.tile([1, 1, 1 if bootstrap else 0], (16, 2)))
  with pytest.raises(configs.ConfigError, match="bootstrap_time_limits must be True or False"):
    OnlineConfig(**{**config.__dict__, "bootstrap_time_limits": "no"}).validate()


def test_seeds_in_sequence_computes_what_the_vmapped_seeds_compute():
  """lax.map over the seeds (seeds_in_sequence) against vmap: the same states and stats."""
  agent = mpo.make_agent(agent_config(), categorical_space(), observation_size=2)
  config = OnlineConfig(**{**LOOP.__dict__, "env_steps": LOOP.env_steps_per_call * 2})
  init, call = make_online_fns(agent, ArmBandit(), config)
  keys = jnp.stack([jax.random.PRNGKey(s) for s in range(2)])
  results = []
  for in_sequence in (False, True):
    run = jax.jit(over_seeds(call, OnlineConfig(**{**config.__dict__,
                                                   "seeds_in_sequence": in_sequence})))
    state, stats = jax.jit(jax.vmap(init))(keys), []
    for _ in range(2):
      state, s, _ = run(state)
      stats.append(s)
    results.append((state, stats))
  (vmapped, vstats), (mapped, mstats) = results
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5),
               (vmapped.agent, vstats), (mapped.agent, mstats))
  # The seeds differ (a map that repeated one seed would also agree with itself).
  first = jax.tree.leaves(mapped.agent)[0]
  assert not np.allclose(first[0], first[1])


class RandomLengthBandit(ArmBandit):
  """ArmBandit episodes of a random length (1-8 steps, drawn at reset), so envs and seeds end
  their episodes at different steps; the observation counts down the steps left."""

  def reset(self, rng):
    state = super().reset(rng)
    left = jax.random.randint(rng, (), 1, 9).astype(jnp.float32)
    return state.replace(obs=jnp.stack([jnp.ones(()), left]), info={**state.info, "left": left})

  def step(self, state, action):
    state = super().step(state, action)
    left = state.info["left"] - 1
    return state.replace(obs=jnp.stack([jnp.ones(()), left]), done=(left <= 0).astype(jnp.float32),
                         info={**state.info, "left": left})


def test_reset_over_the_seed_axis_computes_what_per_seed_resets_compute():
  """The loop's reset cond taken over the vmapped seed axis (one branch for the population)
  against the per-seed predicate (a select under vmap): the same states, replay and stats, bit
  for bit, with episodes ending at different steps in different envs and seeds; and the cond
  is still a branch in the vmapped program (a `cond` primitive), where per seed it is not."""
  agent = mpo.make_agent(agent_config(), categorical_space(), observation_size=2)
  config = OnlineConfig(num_envs=2, unroll_length=4, updates_per_iteration=1, batch_size=8,
                        sequence_length=2, replay_capacity=256, min_replay_steps=8,
                        iterations_per_call=3, env_steps=2 * 4 * 3 * 3)
  keys = jnp.stack([jax.random.PRNGKey(s) for s in range(3)])
  results, conds = [], []
  for axis in (None, online_loop.SEED_AXIS):
    init, call = make_online_fns(agent, RandomLengthBandit(), config, seed_axis=axis)
    batched = over_seeds(call, config)
    state = jax.jit(jax.vmap(init))(keys)
    conds.append(str(jax.make_jaxpr(batched)(state)).count("cond["))
    run, stats = jax.jit(batched), []
    for _ in range(3):
      state, s, _ = run(state)
      stats.append(s)
    results.append((state, stats))
  (per_seed, per_seed_stats), (population, population_stats) = results
  jax.tree.map(np.testing.assert_array_equal, (per_seed, per_seed_stats),
               (population, population_stats))
  episodes = np.stack([s["episodes"] for s in population_stats])  # [calls, seeds]
  assert episodes.min() > 0 and len(np.unique(episodes)) > 1  # ends, unevenly spread
  assert conds[1] == conds[0] + 1


def test_learning_waits_for_stored_transitions_not_for_env_steps():
  """The learner starts once the replay holds `min_replay_steps` transitions: a fresh run waits
  for them (the first call of 8 env steps learns nothing, min 16), a run whose replay arrives
  filled (a warm start's relabelled source replay, env_steps 0) learns on its first call."""
  agent = mpo.make_agent(agent_config(), categorical_space(), observation_size=2)
  config = OnlineConfig(num_envs=2, unroll_length=4, updates_per_iteration=1, batch_size=8,
                        sequence_length=2, replay_capacity=64, min_replay_steps=16,
                        iterations_per_call=1, env_steps=64)
  init, call = make_online_fns(agent, RandomLengthBandit(), config)
  fresh = jax.jit(init)(jax.random.PRNGKey(0))
  run = jax.jit(call)
  after_fresh, _, _ = run(fresh)
  assert int(after_fresh.updates) == 0 and int(after_fresh.env_steps) == 8
  filled = fresh
  for _ in range(4):  # a source run's 32 env steps: 16 per stream, replay half full
    filled, _, _ = run(filled)
  assert int(filled.updates) > 0
  warm = fresh.replace(replay=filled.replay)  # env_steps 0, updates 0, the replay filled
  after_warm, _, _ = run(warm)
  assert int(after_warm.updates) == 1 and int(after_warm.env_steps) == 8


def _tiny_spaces(obs_size: int, k: int = 3, d: int = 2):
  """(mixture, categorical) action spaces on random Dense layers whose output depends on obs: a
  mixture of K diagonal Gaussians over [D] with its prior on frozen weights, K arms."""
  import flax.linen as nn  # pylint: disable=import-outside-toplevel

  mix_net, cat_net = nn.Dense(k + 2 * k * d), nn.Dense(k)

  def split(out):
    logits, means, stds = jnp.split(out, [k, k + k * d], axis=-1)
    shape = out.shape[:-1] + (k, d)
    return logits, means.reshape(shape), jax.nn.softplus(stds.reshape(shape)) + 0.1

  mixture = spaces.ActionSpace(
      kind="mixture", size=d, init_policy=lambda key: mix_net.init(key, jnp.zeros((1, obs_size))),
      policy=lambda params, frozen, obs: split(mix_net.apply(params, obs)),
      decode=lambda frozen, obs, z, key, det: jnp.tanh(z + obs[..., :d]),
      prior=lambda frozen, obs: split(mix_net.apply(frozen, obs)),
      frozen=mix_net.init(jax.random.PRNGKey(5), jnp.zeros((1, obs_size))))
  categorical = spaces.ActionSpace(
      kind="categorical", size=k,
      init_policy=lambda key: cat_net.init(key, jnp.zeros((1, obs_size))),
      policy=lambda params, frozen, obs: cat_net.apply(params, obs),
      decode=lambda frozen, obs, y, key, det: jnp.zeros(obs.shape[:-1] + (d,)) + y[..., None],
      prior=lambda frozen, obs: cat_net.apply(frozen, obs),
      frozen=cat_net.init(jax.random.PRNGKey(7), jnp.zeros((1, obs_size))))
  return mixture, categorical


def test_policy_improvement_at_the_bootstrap_state():
  """policy_states="next" (Acme's TF learner): the E- and M-step run at each sequence's n-step
  bootstrap state x_n on the target critic's Q of the actions the critic's V(x_n) drew.
  Categorical (exact E-step, no draws): the policy and duals equal "first"'s on the batch whose
  first states are those x_n; with either kind the critic equals "first"'s on the same batch
  (the same draws for V(x_n))."""
  b, n, obs_size = 6, 3, 4
  rng = np.random.default_rng(0)
  mixture, categorical = _tiny_spaces(obs_size)
  obs = jnp.asarray(rng.normal(size=(b, n, obs_size)), jnp.float32)
  end = np.zeros((b, n), np.float32)
  end[1, 0] = end[4, 1] = 1.0  # sequences that end early bootstrap (or not) before x_n
  discount = np.where(end > 0, 0.0, 1.0).astype(np.float32)
  discount[4, 1] = 1.0  # a time-limit end: bootstrapped from its next observation
  batch = Transition(observation=obs, agent_action=None,
                     reward=jnp.asarray(rng.normal(size=(b, n)), jnp.float32),
                     discount=jnp.asarray(discount), end=jnp.asarray(end),
                     next_observation=jnp.asarray(rng.normal(size=(b, n, obs_size)), jnp.float32))
  last = np.asarray(n_step_bootstrap(batch.reward, batch.discount, batch.end, 0.99)[2])
  np.testing.assert_array_equal(last, [2, 0, 2, 2, 1, 2])
  bootstrap = batch.next_observation[np.arange(b), last]
  at_bootstrap = batch.replace(observation=batch.observation.at[:, 0].set(bootstrap))
  actions = {"mixture": jnp.asarray(rng.normal(size=(b, n, 2)), jnp.float32),
             "categorical": jnp.asarray(rng.integers(0, 3, size=(b, n)), jnp.int32)}

  compiled = {}

  def updated(space, policy_states, batch):
    if (space.kind, policy_states) not in compiled:
      agent = mpo.make_agent(agent_config(eta_y=0.1, eta_z=0.1, policy_states=policy_states),
                             space, obs_size)
      compiled[space.kind, policy_states] = (agent.init(jax.random.PRNGKey(0)),
                                             jax.jit(agent.update))
    state, update = compiled[space.kind, policy_states]
    return update(state, batch, jax.random.PRNGKey(1))[0]

  for kind, space in (("mixture", mixture), ("categorical", categorical)):
    with_actions = batch.replace(agent_action=actions[kind])
    nxt = updated(space, "next", with_actions)
    first = updated(space, "first", with_actions)
    for got, want in zip(jax.tree.leaves(nxt.critic), jax.tree.leaves(first.critic)):
      np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=kind)
    moved = [not np.allclose(a, b) for a, b in zip(jax.tree.leaves(nxt.policy),
                                                    jax.tree.leaves(first.policy))]
    assert any(moved), f"{kind}: improving at x_n changed nothing"
    if kind == "categorical":
      reference = updated(space, "first", at_bootstrap.replace(agent_action=actions[kind]))
      for part in ("policy", "duals", "policy_opt", "dual_opt"):
        for got, want in zip(jax.tree.leaves(getattr(nxt, part)),
                             jax.tree.leaves(getattr(reference, part))):
          np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=part)
  with pytest.raises(ValueError, match="policy_states='last'.*first, all, next"):
    mpo.make_agent(agent_config(policy_states="last"), categorical, obs_size)


def test_mixture_prior_cached_in_the_replay_learns_as_the_prior_itself():
  """`spaces.with_cached_prior` on a mixture space (HeLMS-mix's (logits, means, stds) prior):
  MPO with the KL in the critic's return and in the policy loss gives the same update metrics,
  parameters and actions when it reads the prior stored at observation time as when it
  evaluates the prior in the update."""
  k, d, obs_size = 3, 2, 4
  rng = np.random.default_rng(0)
  plain, _ = _tiny_spaces(obs_size, k, d)
  cached = spaces.with_cached_prior(plain, obs_size)
  config = agent_config(eta_y=0.3, eta_z=0.2, kl_in_return=True, policy_states="all")
  agents = [mpo.make_agent(config, s, obs_size) for s in (plain, cached)]
  states = [jax.jit(a.init)(jax.random.PRNGKey(0)) for a in agents]
  obs = jnp.asarray(rng.normal(size=(6, 3, obs_size)), jnp.float32)
  batch = Transition(observation=obs, agent_action=jnp.asarray(rng.normal(size=(6, 3, d)),
                                                               jnp.float32),
                     reward=jnp.asarray(rng.normal(size=(6, 3)), jnp.float32),
                     discount=jnp.ones((6, 3)), end=jnp.zeros((6, 3)),
                     next_observation=obs + 0.5)
  observe = jax.vmap(jax.vmap(lambda x: cached.observe(types.SimpleNamespace(obs=x))))
  stored = batch.replace(observation=observe(batch.observation),
                         next_observation=observe(batch.next_observation))
  assert set(stored.observation) == {"state", "prior"}
  assert [x.shape for x in stored.observation["prior"]] == [(6, 3, k), (6, 3, k, d),
                                                            (6, 3, k, d)]
  (new_plain, m_plain), (new_cached, m_cached) = (
      jax.jit(a.update)(s, b, jax.random.PRNGKey(1))
      for a, s, b in zip(agents, states, (batch, stored)))
  assert float(m_plain["kl_z_to_prior"]) > 0 and set(m_plain) == set(m_cached)
  for key in m_plain:
    np.testing.assert_allclose(m_cached[key], m_plain[key], rtol=1e-5, atol=1e-6, err_msg=key)
  for got, want in zip(jax.tree.leaves(new_cached), jax.tree.leaves(new_plain)):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  acts = [a.act(s, o, jax.random.PRNGKey(2)) for a, s, o in
          zip(agents, (new_plain, new_cached), (obs[:, 0], jax.tree.map(lambda x: x[:, 0],
                                                                         stored.observation)))]
  for got, want in zip(acts[1], acts[0]):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  with pytest.raises(ValueError, match="tuple of arrays"):
    spaces.with_cached_prior(plain._replace(prior=lambda frozen, obs: [obs]), obs_size)

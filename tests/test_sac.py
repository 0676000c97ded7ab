"""Prior-regularised SAC (SPiRL) and its loss kernels, against independent references.

Oracles: the sign of the temperature dual, a brute-force Jacobian of the squashing, the analytic
KL against a many-sample Monte-Carlo estimate, a policy initialised from its prior (KL exactly 0),
a continuous bandit with a known optimum, a huge fixed alpha that pins the policy to a prior away
from that optimum, and the omega schedule of behaviour actions drawn from the prior.
"""

from __future__ import annotations

import types

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from helms_jax.agents import sac, spaces
from helms_jax.agents.spaces import ActionSpace
from helms_jax.losses import sac as sac_lib
from helms_jax.networks import GaussianParams
from helms_jax.training.online_loop import OnlineConfig, Transition
from tests import test_online
from tests.test_online import TARGET, ContinuousBandit

D = 2


class GaussianNet(nn.Module):
  """obs [B, O] -> (mean, std) [B, D] (linear: enough for the bandit, cheap to compile)."""

  @nn.compact
  def __call__(self, obs):
    return GaussianParams(D)(obs)


def identity_decode(frozen, obs, a, key, deterministic):
  del frozen, obs, key, deterministic
  return a


def constant_prior(frozen, obs):
  """N(frozen["mean"], diag frozen["std"]^2) at every state: [B] batch, event [D]."""
  shape = obs.shape[:-1] + (D,)
  return distrax.MultivariateNormalDiag(jnp.broadcast_to(frozen["mean"], shape),
                                        jnp.broadcast_to(frozen["std"], shape))


def network_space(prior_mean=None, prior_std=None, obs_size: int = 2) -> ActionSpace:
  """A learned MLP policy; a constant Gaussian prior (None: no prior)."""
  net = GaussianNet()
  frozen = ()
  if prior_mean is not None:
    frozen = {"mean": jnp.asarray(prior_mean, jnp.float32),
              "std": jnp.asarray(prior_std, jnp.float32)}
  return ActionSpace(
      kind="gaussian", size=D, init_policy=lambda key: net.init(key, jnp.zeros((1, obs_size))),
      policy=lambda params, frozen, obs: net.apply(params, obs), decode=identity_decode,
      prior=None if prior_mean is None else constant_prior, frozen=frozen)


def sac_config(**overrides) -> ml_collections.ConfigDict:
  c = sac.default_config()
  c.critic_hidden = (32,)
  c.policy_learning_rate = 1e-2
  c.critic_learning_rate = 3e-3
  c.alpha_learning_rate = 3e-2
  c.action_bound = 1.0  # raw bandit actions; TARGET lies inside (-1, 1)
  c.update(overrides)
  return c


LOOP = OnlineConfig(num_envs=16, unroll_length=2, updates_per_iteration=4, batch_size=32,
                    sequence_length=2, replay_capacity=1024, min_replay_steps=64,
                    env_steps=16 * 2 * 8 * 25, iterations_per_call=8)


def run_loop(agent):
  return test_online.run_loop(agent, ContinuousBandit(), LOOP)


BANDIT_OBS = jnp.array([[1.0, 0.0]])


def policy_at_bandit(agent_state, space):
  """(mean, std) [S, D] of each seed's policy at the bandit's observation."""
  mean, std = jax.vmap(lambda p: space.policy(p, (), BANDIT_OBS))(agent_state.policy)
  return np.asarray(mean[:, 0]), np.asarray(std[:, 0])


# --- 1. the temperature dual ------------------------------------------------------------------

def test_alpha_loss_dual_direction():
  """Divergence above the target raises alpha after one gradient step; below lowers it."""
  log_alpha = jnp.asarray(0.3)
  for divergence, sign in ((jnp.full((8,), 3.0), 1.0), (jnp.full((8,), 0.2), -1.0)):
    grad = jax.grad(sac_lib.alpha_loss)(log_alpha, divergence, 1.0)
    np.testing.assert_allclose(grad, np.exp(0.3) * (1.0 - float(divergence[0])), rtol=1e-6)
    opt = optax.adam(1e-2)
    step, _ = opt.update(grad, opt.init(log_alpha), log_alpha)
    assert np.sign(float(optax.apply_updates(log_alpha, step) - log_alpha)) == sign
  # No gradient reaches the divergence: the dual only moves alpha.
  np.testing.assert_array_equal(
      jax.grad(sac_lib.alpha_loss, argnums=1)(log_alpha, jnp.ones(4), 1.0), 0.0)


def _stub_space(prior: bool) -> ActionSpace:
  """A state-independent policy {'mean', 'log_std'}; prior N(0, I) (or none)."""
  return ActionSpace(
      kind="gaussian", size=D,
      init_policy=lambda key: {"mean": jnp.zeros(D), "log_std": jnp.zeros(D)},
      policy=lambda p, frozen, obs: (jnp.broadcast_to(p["mean"], obs.shape[:-1] + (D,)),
                                     jnp.broadcast_to(jnp.exp(p["log_std"]),
                                                      obs.shape[:-1] + (D,))),
      decode=identity_decode, prior=constant_prior if prior else None,
      frozen={"mean": jnp.zeros(D), "std": jnp.ones(D)} if prior else ())


def _random_batch(seed, b=16, n=2, obs_size=3):
  rng = np.random.default_rng(seed)
  obs = rng.normal(size=(b, n, obs_size)).astype(np.float32)
  return Transition(observation=obs,
                    agent_action=rng.uniform(-1, 1, (b, n, D)).astype(np.float32),
                    reward=rng.normal(size=(b, n)).astype(np.float32),
                    discount=np.ones((b, n), np.float32), end=np.zeros((b, n), np.float32),
                    next_observation=obs + 0.1)


@pytest.mark.parametrize("regularizer", ["prior", "entropy"])
def test_update_moves_alpha_towards_the_target(regularizer):
  """Through a real update: a policy far from the prior (KL 9 > delta 1) or with a tiny std
  (log pi >> D) raises alpha; the prior itself (KL 0) or a broad policy lowers it; a fixed
  alpha does not move."""
  space = _stub_space(prior=regularizer == "prior")
  agent = sac.make_agent(sac_config(regularizer=regularizer, critic_hidden=(8,)), space, 3)
  update = jax.jit(agent.update)
  state = jax.jit(agent.init)(jax.random.PRNGKey(0))
  # Twin critics are one module with stacked parameters.
  assert all(x.shape[0] == 2 for x in jax.tree.leaves(state.critics))
  batch = _random_batch(1)
  if regularizer == "prior":
    above = {"mean": jnp.full(D, 3.0), "log_std": jnp.zeros(D)}  # KL = 9 > 1
    below = {"mean": jnp.zeros(D), "log_std": jnp.zeros(D)}  # KL = 0 < 1
  else:
    above = {"mean": jnp.zeros(D), "log_std": jnp.full(D, -4.0)}  # log pi ~ 6.2 > D
    below = {"mean": jnp.zeros(D), "log_std": jnp.full(D, 0.0)}  # log pi ~ -1.2 < D
  for policy, sign in ((above, 1.0), (below, -1.0)):
    new, metrics = update(state.replace(policy=policy), batch, jax.random.PRNGKey(2))
    assert np.sign(float(new.log_alpha - state.log_alpha)) == sign, metrics
    assert (float(metrics["divergence"]) > 2.0) == (sign > 0), metrics
  fixed = sac.make_agent(sac_config(regularizer=regularizer, critic_hidden=(8,),
                                    fixed_alpha=0.5), space, 3)
  fixed_state = jax.jit(fixed.init)(jax.random.PRNGKey(0)).replace(policy=above)
  new, metrics = jax.jit(fixed.update)(fixed_state, batch, jax.random.PRNGKey(2))
  np.testing.assert_allclose(float(metrics["alpha"]), 0.5, rtol=1e-6)
  assert float(new.log_alpha) == float(fixed_state.log_alpha)


def test_policy_gradient_is_the_regularised_objective_at_the_new_alpha():
  """The update's policy gradient (read from Adam's first moment, mu = 0.1 g after one step)
  against closed forms: a nearly deterministic policy (std e^-12, so a = tanh(mean) for every
  sample) far from a N(0, I) prior gets alpha_new * dKL/dtheta (per-dimension mean KL:
  d/dmean = mean / D, d/dlog_std = (std^2 - 1) / D) plus the critics' pull on the action,
  -mean_b d min_i q_i(s_b, tanh(mean)) / dmean, taken by autodiff of the critic network;
  alpha_new is the temperature after this update's dual step (SPiRL's order)."""
  space = _stub_space(prior=True)
  agent = sac.make_agent(sac_config(critic_hidden=(8,)), space, 3)
  state = jax.jit(agent.init)(jax.random.PRNGKey(0))
  mean, log_std = jnp.array([0.7, -0.4]), jnp.full(D, -12.0)
  state = state.replace(policy={"mean": mean, "log_std": log_std})
  batch = _random_batch(3)
  new, metrics = jax.jit(agent.update)(state, batch, jax.random.PRNGKey(4))
  gradient = jax.tree.map(lambda mu: mu / 0.1, new.policy_opt[0].mu)
  alpha_new = float(metrics["alpha"])
  assert alpha_new != float(jnp.exp(state.log_alpha))  # the dual step moved it

  critic = sac.ContinuousCritic((8,))
  obs = jnp.asarray(batch.observation[:, 0])

  def mean_min_q(m):
    a = jnp.broadcast_to(jnp.tanh(m), (obs.shape[0], D))
    q = jax.vmap(critic.apply, in_axes=(0, None, None))(state.critics, obs, a)
    return jnp.mean(jnp.min(q, axis=0))

  std2 = jnp.exp(2 * log_std)
  want_mean = alpha_new * mean / D - jax.grad(mean_min_q)(mean)
  want_log_std = alpha_new * (std2 - 1.0) / D
  np.testing.assert_allclose(gradient["mean"], want_mean, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(gradient["log_std"], want_log_std, rtol=1e-4, atol=1e-6)


def _state_prior(frozen, obs):
  """A prior that depends on the state: N(obs W, diag exp(obs V)^2)."""
  return distrax.MultivariateNormalDiag(obs @ frozen["w"], jnp.exp(obs @ frozen["v"]))


def _assert_same_update_and_actions(agents, states, batch, stored):
  """agents[0] on the flat `batch` and agents[1] on its `stored` form (the same transitions as
  the second agent's `observe` keeps them): equal update metrics, parameters and actions."""
  (new_plain, m_plain), (new_other, m_other) = (
      jax.jit(a.update)(s, b, jax.random.PRNGKey(1))
      for a, s, b in zip(agents, states, (batch, stored)))
  for key in ("divergence", "alpha", "q_mean", "target_mean", "policy_loss"):
    np.testing.assert_allclose(m_other[key], m_plain[key], rtol=1e-5, atol=1e-6)
  for got, want in zip(jax.tree.leaves(new_other), jax.tree.leaves(new_plain)):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  act_plain = agents[0].act(new_plain, batch.observation[:, 0], jax.random.PRNGKey(2))
  act_other = agents[1].act(new_other, jax.tree.map(lambda x: x[:, 0], stored.observation),
                            jax.random.PRNGKey(2))
  np.testing.assert_allclose(act_other[1], act_plain[1], rtol=1e-5, atol=1e-6)


def test_cached_prior_updates_and_acts_as_the_prior_itself():
  """`spaces.with_cached_prior`: the prior read from the stored observation gives the same
  actions, update metrics and parameters as the prior evaluated in the update."""
  rng = np.random.default_rng(0)
  obs_size = 3
  frozen = {"w": jnp.asarray(rng.normal(size=(obs_size, D)), jnp.float32),
            "v": jnp.asarray(0.3 * rng.normal(size=(obs_size, D)), jnp.float32)}
  plain = network_space(obs_size=obs_size)._replace(prior=_state_prior, frozen=frozen)
  cached = spaces.with_cached_prior(plain, obs_size)
  config = sac_config(critic_hidden=(8,))
  agents = [sac.make_agent(config, s, obs_size) for s in (plain, cached)]
  states = [jax.jit(a.init)(jax.random.PRNGKey(0)) for a in agents]
  batch = _random_batch(5, obs_size=obs_size)
  observe = jax.vmap(jax.vmap(lambda x: cached.observe(types.SimpleNamespace(obs=x))))
  stored = batch.replace(observation=observe(batch.observation),
                          next_observation=observe(batch.next_observation))
  assert set(stored.observation) == {"state", "prior_loc", "prior_scale"}
  _assert_same_update_and_actions(agents, states, batch, stored)
  with pytest.raises(ValueError, match="needs a space with a prior"):
    spaces.with_cached_prior(network_space(), 2)
  mixture = lambda frozen, obs: distrax.MixtureSameFamily(
      distrax.Categorical(logits=jnp.zeros(obs.shape[:-1] + (2,))),
      distrax.MultivariateNormalDiag(jnp.zeros(obs.shape[:-1] + (2, D)),
                                     jnp.ones(obs.shape[:-1] + (2, D))))
  with pytest.raises(ValueError, match="Gaussian"):
    spaces.with_cached_prior(plain._replace(prior=mixture), obs_size)  # a distribution, not a tuple


def test_uint8_views_store_a_quarter_and_learn_as_the_float_views():
  """`spaces.with_uint8_views` (then `with_cached_prior`, as SPiRL's image runs): views already
  on the 1/255 grid come back exactly, so updates, metrics and actions equal the plain space's;
  arbitrary views in [0, 1] come back within 1/510; the stored views are uint8; bad ranges are
  refused."""
  rng = np.random.default_rng(1)
  obs_size, views = 6, (2, 5)  # state, 3 view entries, one more state entry
  frozen = {"w": jnp.asarray(rng.normal(size=(obs_size, D)), jnp.float32),
            "v": jnp.asarray(0.3 * rng.normal(size=(obs_size, D)), jnp.float32)}
  plain = network_space(obs_size=obs_size)._replace(prior=_state_prior, frozen=frozen)
  compact = spaces.with_cached_prior(spaces.with_uint8_views(plain, obs_size, views), obs_size)
  config = sac_config(critic_hidden=(8,))
  agents = [sac.make_agent(config, s, obs_size) for s in (plain, compact)]
  states = [jax.jit(a.init)(jax.random.PRNGKey(0)) for a in agents]
  batch = _random_batch(5, obs_size=obs_size)

  def on_grid(x):
    return jnp.asarray(x).at[..., 2:5].set(rng.integers(0, 256, x[..., 2:5].shape) / 255.0)

  batch = batch.replace(observation=on_grid(batch.observation),
                        next_observation=on_grid(batch.next_observation))
  observe = jax.vmap(jax.vmap(lambda x: compact.observe(types.SimpleNamespace(obs=x))))
  stored = batch.replace(observation=observe(batch.observation),
                         next_observation=observe(batch.next_observation))
  assert stored.observation["state"]["views"].dtype == jnp.uint8
  assert stored.observation["state"]["state"].shape[-1] == obs_size - 3
  _assert_same_update_and_actions(agents, states, batch, stored)
  # Off the grid: the rebuilt views are within half a level of the env's.
  seen = []
  probe = spaces.with_uint8_views(plain._replace(
      critic_input=lambda obs: seen.append(obs) or obs), obs_size, views)
  x = jnp.asarray(rng.uniform(0, 1, (64, obs_size)), jnp.float32)
  probe.critic_input(probe.observe(types.SimpleNamespace(obs=x)))
  np.testing.assert_allclose(seen[0][:, [0, 1, 5]], x[:, [0, 1, 5]])
  assert float(jnp.max(jnp.abs(seen[0][:, 2:5] - x[:, 2:5]))) <= 1 / 510 + 1e-7
  with pytest.raises(ValueError, match="not a range"):
    spaces.with_uint8_views(plain, obs_size, (4, 7))


# --- 2. the squashing Jacobian ----------------------------------------------------------------


@pytest.mark.parametrize("per_dimension", [True, False])
def test_divergence_is_the_per_dimension_mean_of_the_kl(per_dimension):
  """SPiRL's code averages the analytic KL over the latent dimensions (its delta is per
  dimension): the logged d(s) of N((1, 2), I) against N(0, I) is (1 + 4) / 2 / D, or the
  total (1 + 4) / 2 when summed."""
  space = _stub_space(prior=True)
  agent = sac.make_agent(sac_config(critic_hidden=(8,), divergence_per_dimension=per_dimension),
                         space, 3)
  state = jax.jit(agent.init)(jax.random.PRNGKey(0))
  policy = {"mean": jnp.array([1.0, 2.0]), "log_std": jnp.zeros(D)}
  _, metrics = jax.jit(agent.update)(state.replace(policy=policy), _random_batch(3),
                                     jax.random.PRNGKey(1))
  total = (1.0 + 4.0) / 2
  np.testing.assert_allclose(float(metrics["divergence"]), total / D if per_dimension else total,
                             rtol=1e-5)

@pytest.mark.parametrize("bound", [1.0, 2.0])
def test_squash_log_det_matches_brute_force_jacobian(bound):
  u = jnp.clip(2.0 * jax.random.normal(jax.random.PRNGKey(0), (32, 4)), -5.0, 5.0)
  brute = jax.vmap(lambda x: jnp.linalg.slogdet(
      jax.jacfwd(lambda v: sac_lib.squash(v, bound))(x))[1])(u)
  np.testing.assert_allclose(sac_lib.squash_log_det(u, bound), brute, rtol=1e-4, atol=1e-4)
  # The stable form stays finite where 1 - tanh^2 underflows: log(bound) + log 4 - 2|u|.
  far = sac_lib.squash_log_det(jnp.array([[60.0], [-60.0]]), bound)
  np.testing.assert_allclose(far, np.log(bound) + np.log(4.0) - 120.0, rtol=1e-6)


# --- 3. analytic vs sampled KL ----------------------------------------------------------------

def test_agent_kl_analytic_matches_monte_carlo():
  b, d, n = 6, 3, 50_000

  @jax.jit
  def estimates(key):
    keys = jax.random.split(key, 6)
    mean = jax.random.normal(keys[0], (b, d))
    std = jnp.exp(0.3 * jax.random.normal(keys[1], (b, d)))
    loc = 0.5 * jax.random.normal(keys[2], (b, d))
    scale = jnp.exp(0.3 * jax.random.normal(keys[3], (b, d)))
    prior = distrax.MultivariateNormalDiag(loc, scale)
    analytic = sac.policy_divergence("prior", mean, std, mean, prior, None, 2.0,
                                     method="analytic")
    sampled = sac.policy_divergence("prior", mean, std, mean, prior, keys[4], 2.0, n,
                                    method="sample")
    # The same prior as a one-component mixture takes the sampled route under "auto".
    mixture = distrax.MixtureSameFamily(distrax.Categorical(logits=jnp.zeros((b, 1))),
                                        distrax.MultivariateNormalDiag(loc[:, None],
                                                                       scale[:, None]))
    auto = sac.policy_divergence("prior", mean, std, mean, mixture, keys[4], 2.0, n)
    # Monte-Carlo standard error from independent per-sample log ratios (numpy-free oracle:
    # the closed-form Gaussian densities written out).
    z = mean + std * jax.random.normal(keys[5], (n, b, d))
    log_n = lambda x, m, s: jnp.sum(-0.5 * ((x - m) / s) ** 2 - jnp.log(s), -1)
    ratio = log_n(z, mean, std) - log_n(z, loc, scale)
    return analytic, sampled, auto, jnp.std(ratio, axis=0) / jnp.sqrt(n)

  analytic, sampled, auto, se = jax.device_get(estimates(jax.random.PRNGKey(3)))
  assert np.all(np.abs(sampled - analytic) < 5 * se + 1e-5), (sampled, analytic, se)
  np.testing.assert_allclose(auto, sampled, rtol=1e-4, atol=1e-4)


# --- 4. a policy initialised from the prior ---------------------------------------------------

def test_prior_initialised_policy_has_zero_kl_and_acts_like_the_prior():
  net = GaussianNet()
  obs_size, bound = 3, 2.0
  prior_params = net.init(jax.random.PRNGKey(7), jnp.zeros((1, obs_size)))
  space = ActionSpace(
      kind="gaussian", size=D, init_policy=lambda key: prior_params,  # copies the prior
      policy=lambda params, frozen, obs: net.apply(params, obs), decode=identity_decode,
      prior=lambda frozen, obs: distrax.MultivariateNormalDiag(*net.apply(frozen, obs)),
      frozen=prior_params)
  agent = sac.make_agent(sac_config(critic_hidden=(8,), action_bound=bound), space, obs_size)
  state = jax.jit(agent.init)(jax.random.PRNGKey(0))
  batch = _random_batch(1)
  _, metrics = jax.jit(agent.update)(state, batch, jax.random.PRNGKey(2))
  assert abs(float(metrics["divergence"])) < 1e-6
  # Behaviour actions at one state vs independent draws of bound * tanh(u), u ~ prior.
  n = 20_000
  obs = jnp.tile(jax.random.normal(jax.random.PRNGKey(8), (1, obs_size)), (n, 1))
  actions, env_actions = jax.jit(agent.act)(state, obs, jax.random.PRNGKey(9))
  np.testing.assert_array_equal(actions, env_actions)
  reference = bound * jnp.tanh(space.prior(prior_params, obs).sample(seed=jax.random.PRNGKey(10)))
  se = np.sqrt(np.var(np.asarray(reference), axis=0) * 2 / n)
  np.testing.assert_array_less(np.abs(np.mean(actions, 0) - np.mean(reference, 0)), 5 * se)
  np.testing.assert_allclose(np.std(actions, 0), np.std(reference, 0), rtol=0.05)


# --- 5./6. learning on the continuous bandit --------------------------------------------------

def test_sac_learns_continuous_bandit_with_entropy():
  space = network_space()
  agent = sac.make_agent(sac_config(), space, observation_size=2)  # "auto" -> entropy
  state, history = run_loop(agent)
  mean, _ = policy_at_bandit(state.agent, space)
  np.testing.assert_allclose(np.tanh(mean), np.tile(TARGET, (2, 1)), atol=0.1)
  assert np.all(np.asarray(history[-1]["episode_return"]) > 0.9), history[-1]
  assert np.all(np.asarray(history[-1]["episode_return"]) >
                np.asarray(history[0]["episode_return"]) + 0.2)


def test_sac_learns_with_broad_prior_and_huge_alpha_keeps_the_prior():
  # A broad prior N(0, I): the optimum is reachable within the KL budget (delta = 5, SPiRL's
  # kitchen value; the loop shares one compilation with the pinned run below).
  space = network_space(np.zeros(D), np.ones(D))
  agent = sac.make_agent(sac_config(target_divergence=5.0), space, observation_size=2)
  state, history = run_loop(agent)
  mean, _ = policy_at_bandit(state.agent, space)
  np.testing.assert_allclose(np.tanh(mean), np.tile(TARGET, (2, 1)), atol=0.1)
  assert np.all(np.asarray(history[-1]["episode_return"]) > 0.9), history[-1]
  # alpha = 1e3, fixed: the policy stays at a prior centred away from the optimum.
  prior_mean, prior_std = np.array([-1.0, 0.8]), np.array([0.2, 0.2])
  space = network_space(prior_mean, prior_std)
  agent = sac.make_agent(sac_config(target_divergence=5.0, fixed_alpha=1e3), space,
                         observation_size=2)
  state, history = run_loop(agent)
  mean, std = policy_at_bandit(state.agent, space)
  np.testing.assert_allclose(mean, np.tile(prior_mean, (2, 1)), atol=0.05)
  np.testing.assert_allclose(std, np.tile(prior_std, (2, 1)), atol=0.05)
  assert np.linalg.norm(np.tanh(prior_mean) - TARGET) > 1.0  # far from the optimum
  assert np.all(np.asarray(history[-1]["episode_return"]) < 0.0), history[-1]
  np.testing.assert_allclose(history[-1]["learner/alpha"], 1e3, rtol=1e-5)


# --- 7. the omega schedule of prior samples ---------------------------------------------------

def test_prior_sampling_schedule():
  """omega_0 = 1 decaying over 100 updates: at 0 updates every action is a prior sample (the
  prior sits at u = 3, far from the fresh policy), at 50 about half, at 100 none."""
  space = network_space(np.full(D, 3.0), np.full(D, 1e-3))
  agent = sac.make_agent(sac_config(prior_sampling_start=1.0, prior_sampling_decay_updates=100),
                         space, observation_size=2)
  state = jax.jit(agent.init)(jax.random.PRNGKey(0))
  n = 4000
  obs = jnp.tile(BANDIT_OBS, (n, 1))
  act = jax.jit(agent.act)
  prior_action = np.tanh(3.0)

  def prior_fraction(updates):
    a, _ = act(state.replace(updates=jnp.asarray(updates, jnp.int32)), obs,
               jax.random.PRNGKey(updates))
    return np.mean(np.all(np.abs(np.asarray(a) - prior_action) < 1e-4, axis=-1)), a

  fraction, _ = prior_fraction(0)
  assert fraction == 1.0
  fraction, _ = prior_fraction(50)
  assert abs(fraction - 0.5) < 0.05, fraction
  fraction, a = prior_fraction(100)
  assert fraction == 0.0
  mean, std = (np.asarray(x[0]) for x in space.policy(state.policy, (), BANDIT_OBS))
  reference = np.tanh(mean + std * np.random.default_rng(0).normal(size=(n, D)))
  np.testing.assert_allclose(np.mean(np.asarray(a), 0), np.mean(reference, 0), atol=0.05)
  np.testing.assert_allclose(np.std(np.asarray(a), 0), np.std(reference, 0), atol=0.05)
  # Deterministic acting never samples the prior.
  a, _ = jax.jit(agent.act, static_argnums=3)(state, obs[:2], jax.random.PRNGKey(0), True)
  np.testing.assert_allclose(a, np.tile(np.tanh(mean), (2, 1)), atol=1e-6)


# --- configuration errors ---------------------------------------------------------------------

@pytest.mark.parametrize("overrides,space_has_prior,message", [
    (dict(regularizer="prior"), False, "transfer.agent.regularizer"),
    (dict(regularizer="kl"), True, "transfer.agent.regularizer"),
    (dict(tau=0.0), True, "transfer.agent.tau"),
    (dict(prior_sampling_start=0.5), False, "transfer.agent.prior_sampling_start"),
    (dict(prior_sampling_start=0.5, prior_sampling_decay_updates=0), True,
     "transfer.agent.prior_sampling_decay_updates"),
    (dict(fixed_alpha=-1.0), True, "transfer.agent.fixed_alpha"),
    (dict(kl_samples=0), True, "transfer.agent.kl_samples"),
])
def test_bad_config_is_named(overrides, space_has_prior, message):
  space = network_space(np.zeros(D), np.ones(D)) if space_has_prior else network_space()
  with pytest.raises(ValueError, match=message):
    sac.make_agent(sac_config(**overrides), space, observation_size=2)


def test_other_space_kinds_are_refused():
  space = network_space()._replace(kind="mixture")
  with pytest.raises(ValueError, match="kind 'gaussian'"):
    sac.make_agent(sac_config(), space, observation_size=2)


@pytest.mark.slow
def test_critic_agrees_with_the_monte_carlo_returns_of_a_finite_horizon_chain():
  """With the time limit ending the return, SAC's soft Q matches the chain's Monte Carlo
  returns (`test_online.assert_critic_matches_chain_returns`)."""
  test_online.assert_critic_matches_chain_returns(sac.make_agent(
      sac_config(discount=0.9, critic_hidden=(64, 64)), network_space(), observation_size=2))

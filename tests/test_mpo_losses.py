"""`losses.mpo` and `losses.kl` against independent oracles: numpy softmaxes and brute-force
sums, a grid search over the temperature dual, Monte Carlo KLs, and trust regions that must hold
after optimising an M-step to convergence (and must not hold without their duals)."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import stats

from helms_jax.losses import kl as kl_lib
from helms_jax.losses import mpo

# ------------------------------------------------------------------------------------ helpers


def _optimiser(loss_fn, learning_rates, num_steps):
  """A jitted `run(params, *args) -> params`: Adam on `loss_fn(*params, *args)` as one scan.

  params: a tuple of pytrees (groups), each with its own cosine-decayed learning rate. `args`
  are traced, so one compilation serves every call with same-shaped arguments (tests compare a
  constrained and an unconstrained run through the same compiled optimiser).
  """
  opts = [optax.adam(optax.cosine_decay_schedule(lr, num_steps, alpha=0.01))
          for lr in learning_rates]

  @jax.jit
  def run(params, *args):
    def step(carry, _):
      params, states = carry
      grads = jax.grad(lambda p: loss_fn(*p, *args))(params)
      updates, states = zip(*[opt.update(g, s, p)
                              for opt, g, s, p in zip(opts, grads, states, params)])
      params = tuple(optax.apply_updates(p, u) for p, u in zip(params, updates))
      return (params, tuple(states)), None

    states = tuple(opt.init(p) for opt, p in zip(opts, params))
    (params, _), _ = jax.lax.scan(step, (tuple(params), states), None, length=num_steps)
    return params

  return run


def _maybe_frozen(duals, train_duals):
  """duals whose gradient is scaled by `train_duals` (0: frozen, Adam then leaves them as is)."""
  return jax.tree.map(lambda x: train_duals * x + (1.0 - train_duals) * jax.lax.stop_gradient(x),
                      duals)


def _np_softmax(x, axis):
  x = x - x.max(axis=axis, keepdims=True)
  e = np.exp(x)
  return e / e.sum(axis=axis, keepdims=True)


FROZEN_OFF = -30.0  # a log-dual whose softplus is ~1e-13: that trust region is switched off


def _frozen_duals(action_dim, value=FROZEN_OFF, per_dim=True, k=None):
  return mpo.init_duals(action_dim, per_dim_constraining=per_dim, num_components=k,
                        init_log_temperature=0.0,
                        init_log_alpha_mean=value, init_log_alpha_stddev=value,
                        init_log_alpha_categorical=value)


# ------------------------------------------------------------------------------------ E-step


class EStepTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_weights_and_loss_match_numpy(self):
    rng = np.random.default_rng(0)
    q = rng.normal(size=(7, 3)) * 3.0
    log_temperature, epsilon = 0.3, 0.1
    loss, weights, temperature = self.variant(
        lambda q, t: mpo.temperature_loss_and_weights(q, t, epsilon))(
            jnp.asarray(q, jnp.float32), jnp.float32(log_temperature))
    eta = np.log1p(np.exp(log_temperature)) + 1e-8
    np.testing.assert_allclose(temperature, eta, rtol=1e-6)
    np.testing.assert_allclose(weights, _np_softmax(q / eta, axis=0), rtol=1e-5, atol=1e-7)
    expected = eta * (epsilon + np.mean(np.log(np.mean(np.exp(q / eta), axis=0))))
    np.testing.assert_allclose(loss, expected, rtol=1e-5)

  def test_temperature_duals_minimisers(self):
    """Gradient descent on the sample-based dual of a 2-action toy problem finds the grid-search
    minimiser, and there KL(q || target) = epsilon; the exact categorical dual's optimum also has
    mean KL(q || target) = epsilon. (The two duals are minimised as one separable sum: one
    compilation.)"""
    q = np.array([[0.0], [1.0]])  # [N=2, B=1]
    epsilon = 0.1

    def dual(eta):  # float64 numpy oracle over a grid of eta [G] -> [G]
      log_mean_exp = np.log(np.mean(np.exp(q / eta[:, None, None]), axis=1))  # [G, B]
      return eta * (epsilon + np.mean(log_mean_exp, axis=-1))

    grid = np.linspace(0.05, 5.0, 200_001)
    eta_grid = grid[np.argmin(dual(grid))]
    assert 0.1 < eta_grid < 4.9  # an interior minimum

    rng = np.random.default_rng(2)
    q_cat = jnp.asarray(rng.normal(size=(3, 4)) * 2.0, jnp.float32)
    target_logits = jnp.asarray(rng.normal(size=(3, 4)), jnp.float32)

    def loss_fn(log_temperature, log_temperature_cat):
      sampled = mpo.temperature_loss_and_weights(jnp.asarray(q, jnp.float32), log_temperature,
                                                 epsilon)[0]
      exact = mpo.categorical_estep(q_cat, target_logits, log_temperature_cat, epsilon)[0]
      return sampled + exact

    @jax.jit
    def optimum():
      log_temperature, log_temperature_cat = _optimiser(loss_fn, (0.05, 0.05), 2000)(
          (jnp.float32(0.0), jnp.float32(0.0)))
      _, weights, eta = mpo.temperature_loss_and_weights(jnp.asarray(q, jnp.float32),
                                                         log_temperature, epsilon)
      _, weights_cat, _ = mpo.categorical_estep(q_cat, target_logits, log_temperature_cat,
                                                epsilon)
      kl_cat = kl_lib.categorical_kl(jnp.log(weights_cat), target_logits)
      return eta, weights, mpo.nonparametric_kl(weights), kl_cat

    eta, weights, nonparametric_kl, kl_cat = optimum()
    np.testing.assert_allclose(eta, eta_grid, rtol=2e-3)
    # Stationarity of the dual: the KL of the weights from uniform (the target) is epsilon.
    w = np.asarray(weights, np.float64)
    kl_from_uniform = np.sum(w * np.log(w * q.shape[0]), axis=0)
    np.testing.assert_allclose(np.mean(kl_from_uniform), epsilon, rtol=1e-2)
    np.testing.assert_allclose(nonparametric_kl, kl_from_uniform, atol=1e-5)
    # The exact E-step: mean over states of KL(q || target) = epsilon.
    np.testing.assert_allclose(np.mean(kl_cat), epsilon, rtol=1e-2)

  @chex.variants(with_jit=True)
  def test_categorical_estep_matches_brute_force(self):
    rng = np.random.default_rng(1)
    b, k = 4, 5
    q = rng.normal(size=(b, k)) * 2.0
    target_logits = rng.normal(size=(b, k))
    log_temperature, epsilon = -0.2, 0.1
    loss, weights, eta = self.variant(
        lambda q, l, t: mpo.categorical_estep(q, l, t, epsilon))(
            jnp.asarray(q, jnp.float32), jnp.asarray(target_logits, jnp.float32),
            jnp.float32(log_temperature))
    eta = float(eta)
    expected_w = np.zeros((b, k))
    expected_loss = 0.0
    for i in range(b):  # explicit sums over states and actions
      prior = np.exp(target_logits[i]) / np.exp(target_logits[i]).sum()
      unnormalised = np.array([prior[j] * np.exp(q[i, j] / eta) for j in range(k)])
      expected_w[i] = unnormalised / unnormalised.sum()
      expected_loss += eta * (epsilon + np.log(unnormalised.sum())) / b
    np.testing.assert_allclose(weights, expected_w, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-5)

  def test_estep_shape_errors(self):
    with pytest.raises(ValueError, match=r"\[N, B\]"):
      mpo.temperature_loss_and_weights(jnp.zeros(3), 0.0, 0.1)
    with pytest.raises(ValueError, match="scalar"):
      mpo.temperature_loss_and_weights(jnp.zeros((3, 2)), jnp.zeros(1), 0.1)
    with pytest.raises(ValueError, match=r"\[B, K\]"):
      mpo.categorical_estep(jnp.zeros((3, 2)), jnp.zeros((3, 4)), 0.0, 0.1)


# ------------------------------------------------------------------------------------ KL


class KLTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_categorical_kl(self):
    rng = np.random.default_rng(3)
    p, q = rng.normal(size=(2, 3, 5)) * 2.0, rng.normal(size=(2, 3, 5))
    kl = self.variant(kl_lib.categorical_kl)(jnp.asarray(p, jnp.float32),
                                             jnp.asarray(q, jnp.float32))
    pp, qq = _np_softmax(p, -1), _np_softmax(q, -1)
    np.testing.assert_allclose(kl, np.sum(pp * np.log(pp / qq), axis=-1), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(kl_lib.categorical_kl(jnp.asarray(p), jnp.asarray(p)), 0.0,
                               atol=1e-6)
    # Underflowing probabilities (huge logit gaps) give a finite KL and finite gradients.
    p_big = jnp.array([0.0, -1e4, 0.0])
    value, grads = self.variant(jax.value_and_grad(kl_lib.categorical_kl, argnums=(0, 1)))(
        p_big, jnp.zeros(3))
    assert np.isfinite(value)
    assert all(np.all(np.isfinite(g)) for g in grads)

  def test_gaussian_kl_monte_carlo_and_log_prob(self):
    rng = np.random.default_rng(4)
    mean_p, mean_q = rng.normal(size=3), rng.normal(size=3)
    std_p, std_q = rng.uniform(0.5, 2.0, size=3), rng.uniform(0.5, 2.0, size=3)
    kl = kl_lib.gaussian_kl(*(jnp.asarray(x, jnp.float32) for x in (mean_p, std_p, mean_q, std_q)))
    assert kl.shape == (3,)
    x = mean_p + std_p * rng.normal(size=(400_000, 3))
    mc = np.mean(stats.norm.logpdf(x, mean_p, std_p) - stats.norm.logpdf(x, mean_q, std_q), axis=0)
    np.testing.assert_allclose(kl, mc, atol=0.02)
    xs = jnp.asarray(x[:6], jnp.float32)
    np.testing.assert_allclose(
        kl_lib.diag_gaussian_log_prob(xs, jnp.asarray(mean_p, jnp.float32),
                                      jnp.asarray(std_p, jnp.float32)),
        stats.norm.logpdf(x[:6], mean_p, std_p).sum(-1), rtol=1e-5)

  @chex.variants(with_jit=True)  # op-by-op dispatch of every primitive costs seconds
  def test_mixture_log_prob_brute_force(self):
    rng = np.random.default_rng(5)
    n, b, k, d = 4, 3, 5, 2
    x = rng.normal(size=(n, b, d)) * 2.0
    logits, means = rng.normal(size=(b, k)), rng.normal(size=(b, k, d))
    stds = rng.uniform(0.3, 1.5, size=(b, k, d))
    got = self.variant(kl_lib.mixture_log_prob)(*(jnp.asarray(a, jnp.float32)
                                                   for a in (x, logits, means, stds)))
    assert got.shape == (n, b)
    expected = np.zeros((n, b))
    w = _np_softmax(logits, -1)
    for i in range(n):
      for j in range(b):
        density = sum(w[j, c] * np.prod(stats.norm.pdf(x[i, j], means[j, c], stds[j, c]))
                      for c in range(k))
        expected[i, j] = np.log(density)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)

  def test_mixture_kl_to_prior(self):
    rng = np.random.default_rng(6)
    batch, k, d = (2, 3), 4, 2
    f = lambda a: jnp.asarray(a, jnp.float32)
    pi = (f(rng.normal(size=batch + (k,))), f(rng.normal(size=batch + (k, d))),
          f(rng.uniform(0.5, 1.5, size=batch + (k, d))))
    prior = (f(rng.normal(size=batch + (k,))), f(rng.normal(size=batch + (k, d))),
             f(rng.uniform(0.5, 1.5, size=batch + (k, d))))
    kl_to_prior = jax.jit(kl_lib.mixture_kl_to_prior)
    kl_y, kl_z = kl_to_prior(*pi, *prior)
    assert kl_y.shape == batch and kl_z.shape == batch
    zero_y, zero_z = kl_to_prior(*pi, *pi)
    np.testing.assert_allclose(zero_y, 0.0, atol=1e-6)
    np.testing.assert_allclose(zero_z, 0.0, atol=1e-6)
    # kl_z by explicit sums: equation 5 counts every component in full, not weighted by pi(y);
    # the bound kl_y + kl_z is above a Monte Carlo estimate of the true KL.
    pi_np = [np.asarray(a, np.float64)[0, 0] for a in pi]
    prior_np = [np.asarray(a, np.float64)[0, 0] for a in prior]
    w = _np_softmax(pi_np[0], -1)
    expected_z = sum(np.sum(np.log(prior_np[2][c] / pi_np[2][c]) + (
        pi_np[2][c] ** 2 + (pi_np[1][c] - prior_np[1][c]) ** 2) / (2 * prior_np[2][c] ** 2) - 0.5)
                     for c in range(k))
    np.testing.assert_allclose(kl_z[0, 0], expected_z, rtol=1e-4)
    # So kl_z does not depend on the policy's weights: no gradient reaches pi(y) through it.
    grad_logits = jax.grad(lambda l: jnp.sum(kl_to_prior(l, *pi[1:], *prior)[1]))(pi[0])
    np.testing.assert_array_equal(grad_logits, 0.0)
    comp = rng.choice(k, p=w, size=100_000)
    x = pi_np[1][comp] + pi_np[2][comp] * rng.normal(size=(100_000, d))

    def np_mixture_log_prob(x, logits, means, stds):  # [S, D] -> [S]
      density = np.prod(stats.norm.pdf(x[:, None], means, stds), axis=-1)  # [S, K]
      return np.log(density @ _np_softmax(logits, -1))

    true_kl = np.mean(np_mixture_log_prob(x, *pi_np) - np_mixture_log_prob(x, *prior_np))
    assert 0.0 < true_kl <= kl_y[0, 0] + kl_z[0, 0] + 0.01

  def test_kl_shape_errors(self):
    with pytest.raises(ValueError, match="equal"):
      kl_lib.categorical_kl(jnp.zeros(3), jnp.zeros(4))
    with pytest.raises(ValueError, match="logits"):
      kl_lib.mixture_log_prob(jnp.zeros(2), jnp.zeros(3), jnp.zeros((4, 2)), jnp.ones((4, 2)))
    with pytest.raises(ValueError, match="D = 2"):
      kl_lib.mixture_log_prob(jnp.zeros(3), jnp.zeros(4), jnp.zeros((4, 2)), jnp.ones((4, 2)))


# ------------------------------------------------------------------------------------ M-step
# A fixed toy batch: samples of the target policy, reweighted so that the weighted MLE is far
# from the target. Optimising the M-step to convergence must end on the trust-region boundary
# (KL <= eps up to the primal-dual oscillation), while with the duals frozen at ~0 the policy
# goes to the weighted MLE, whose KL from the target is many times eps.

B, N, D, K = 3, 32, 2, 3
STEPS = 2000
# Acme trains with 1e-4 / 1e-2 over ~1e6 steps. Here the alphas must travel from 10 to 20-40
# (softplus is linear up there) within 2000 steps; with a dual rate of 5e-2 the std constraint
# was still at 2x eps at the end, with 0.3 every constraint ends within 0.4 % of its eps.
POLICY_LR, DUAL_LR = 1e-2, 0.3
TOLERANCE = 1.5  # KL <= 1.5 eps: slack for the primal-dual iterates orbiting the boundary


def _gaussian_problem():
  rng = np.random.default_rng(7)
  target_mean = rng.normal(size=(B, D)).astype(np.float32)
  target_std = rng.uniform(0.5, 1.0, size=(B, D)).astype(np.float32)
  actions = target_mean + target_std * rng.normal(size=(N, B, D)).astype(np.float32)
  score = np.sum((actions - target_mean) / target_std, axis=-1)  # favour one direction
  weights = _np_softmax(3.0 * score, axis=0).astype(np.float32)
  return tuple(map(jnp.asarray, (target_mean, target_std, actions, weights)))


def _mixture_problem():
  rng = np.random.default_rng(8)
  logits = rng.normal(size=(B, K)).astype(np.float32)
  means = 2.0 * rng.normal(size=(B, K, D)).astype(np.float32)
  stds = rng.uniform(0.5, 1.0, size=(B, K, D)).astype(np.float32)
  comp = np.stack([rng.choice(K, p=_np_softmax(logits[b], -1), size=N) for b in range(B)], 1)
  pick = np.take_along_axis(means[None], comp[..., None, None], axis=2)[:, :, 0]
  pick_std = np.take_along_axis(stds[None], comp[..., None, None], axis=2)[:, :, 0]
  actions = (pick + pick_std * rng.normal(size=(N, B, D))).astype(np.float32)
  weights = _np_softmax(2.0 * actions.sum(-1), axis=0).astype(np.float32)
  return tuple(map(jnp.asarray, (logits, means, stds, actions, weights)))


GAUSS_CONFIG = mpo.MPOConfig(epsilon_mean=0.0025, epsilon_stddev=0.001, per_dim_constraining=False)
MIX_CONFIG = mpo.MPOConfig(epsilon_mean=0.005, epsilon_stddev=0.002, epsilon_categorical=0.005)
CAT_CONFIG = mpo.MPOConfig(epsilon_categorical=0.0025)


class MStepConstraintTest(chex.TestCase):

  def test_gaussian_trust_region(self):
    # One constraint on the KL summed over D here; one per dimension in the mixture test (with
    # K = 1 the mixture M-step is this one, see MixtureReducesToGaussianTest).
    config = GAUSS_CONFIG
    target_mean, target_std, actions, weights = _gaussian_problem()
    params0 = (target_mean, jnp.log(target_std))

    def loss_fn(params, duals, train_duals):
      mean, log_std = params
      return mpo.gaussian_mstep(mean, jnp.exp(log_std), target_mean, target_std, actions,
                                weights, _maybe_frozen(duals, train_duals), config)[0]

    @jax.jit
    def kls(params):  # independent of gaussian_mstep: batch means of the summed KLs
      mean, log_std = params
      kl_mean = kl_lib.gaussian_kl(target_mean, target_std, mean, target_std).sum(-1)
      kl_std = kl_lib.gaussian_kl(target_mean, target_std, target_mean, jnp.exp(log_std)).sum(-1)
      return jnp.mean(kl_mean), jnp.mean(kl_std)

    duals = mpo.init_duals(D, per_dim_constraining=False, init_log_alpha_stddev=10.0)
    run = _optimiser(loss_fn, (POLICY_LR, DUAL_LR), STEPS)
    params, _ = run((params0, duals), 1.0)
    kl_mean, kl_std = kls(params)
    assert kl_mean <= TOLERANCE * config.epsilon_mean, kl_mean
    assert kl_std <= TOLERANCE * config.epsilon_stddev, kl_std
    assert kl_mean >= 0.5 * config.epsilon_mean, kl_mean  # the constraint is active
    metrics = jax.jit(lambda p: mpo.gaussian_mstep(p[0], jnp.exp(p[1]), target_mean, target_std,
                                                   actions, weights, duals, config)[1])(params)
    np.testing.assert_allclose(metrics["kl_mean_rel"], kl_mean / config.epsilon_mean, rtol=1e-4)

    free, _ = run((params0, _frozen_duals(D, per_dim=False)), 0.0)
    kl_mean, kl_std = kls(free)
    assert kl_mean > 20 * config.epsilon_mean, kl_mean
    assert kl_std > 20 * config.epsilon_stddev, kl_std
    # The unconstrained optimum is the weighted MLE (closed form for the mean part).
    mle = jnp.sum(weights[..., None] * actions, axis=0)
    np.testing.assert_allclose(free[0], mle, atol=1e-2)

  def test_categorical_trust_region(self):
    rng = np.random.default_rng(9)
    target_logits = jnp.asarray(rng.normal(size=(B, 4)), jnp.float32)
    q = jnp.asarray(rng.normal(size=(B, 4)) * 3.0, jnp.float32)
    _, weights, _ = mpo.categorical_estep(q, target_logits, jnp.float32(-1.0), 0.1)
    config = CAT_CONFIG

    def loss_fn(logits, duals, train_duals):
      return mpo.categorical_mstep(logits, target_logits, weights,
                                   _maybe_frozen(duals, train_duals), config)[0]

    run = _optimiser(loss_fn, (POLICY_LR, DUAL_LR), STEPS)
    mean_kl = jax.jit(lambda logits: jnp.mean(kl_lib.categorical_kl(target_logits, logits)))
    logits, _ = run((target_logits, mpo.init_duals(1)), 1.0)
    kl = mean_kl(logits)
    assert kl <= TOLERANCE * config.epsilon_categorical, kl
    assert kl >= 0.5 * config.epsilon_categorical, kl

    free, _ = run((target_logits, _frozen_duals(1)), 0.0)
    assert mean_kl(free) > 20 * config.epsilon_categorical
    # Unconstrained, the cross-entropy's minimiser is the E-step distribution itself.
    np.testing.assert_allclose(jax.nn.softmax(free), weights, atol=2e-2)

  def test_mixture_trust_region(self):
    logits, means, stds, actions, weights = _mixture_problem()
    config = MIX_CONFIG
    params0 = (logits, means, jnp.log(stds))

    @jax.jit
    def kls(params):  # independent of mixture_mstep: batch means per component and dimension
      on_logits, on_means, on_log_stds = params
      kl_cat = jnp.mean(kl_lib.categorical_kl(logits, on_logits))
      kl_mean = jnp.mean(kl_lib.gaussian_kl(means, stds, on_means, stds), 0)
      kl_std = jnp.mean(kl_lib.gaussian_kl(means, stds, means, jnp.exp(on_log_stds)), 0)
      return kl_cat, kl_mean, kl_std  # [], [K, D], [K, D]

    duals = mpo.init_duals(D, num_components=K, init_log_alpha_stddev=10.0)
    params, _ = _mixture_optimiser()((params0, duals), 1.0, 0.0)
    kl_cat, kl_mean, kl_std = kls(params)
    assert kl_cat <= TOLERANCE * config.epsilon_categorical, kl_cat
    # Every component holds its own region, the rarely picked ones included (RHPO): a
    # target-weighted sum would let a component of weight w move ~1/w times further.
    assert np.all(kl_mean <= TOLERANCE * config.epsilon_mean), kl_mean
    assert np.all(kl_std <= TOLERANCE * config.epsilon_stddev), kl_std
    assert np.max(kl_mean) >= 0.5 * config.epsilon_mean, kl_mean  # the constraint is active

    free, _ = _mixture_optimiser()((params0, _frozen_duals(D, k=K)), 0.0, 0.0)
    kl_cat, kl_mean, kl_std = kls(free)
    assert kl_cat > 10 * config.epsilon_categorical, kl_cat
    assert np.max(kl_mean) > 10 * config.epsilon_mean, kl_mean
    assert np.max(kl_std) > 10 * config.epsilon_stddev, kl_std

  def test_kl_to_prior_with_huge_eta_keeps_the_prior(self):
    """loss = mixture M-step (trust regions off) + eta * (kl_y + kl_z) to a prior = target."""
    logits, means, stds, _, _ = _mixture_problem()
    params0 = (logits, means, jnp.log(stds))

    def distance_moved(eta):
      params, _ = _mixture_optimiser()((params0, _frozen_duals(D, k=K)), 0.0, eta)
      return max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(params, params0))

    assert distance_moved(1e4) < 1e-2
    assert distance_moved(0.0) > 0.5


@functools.cache
def _mixture_optimiser():
  """`run((params, duals), train_duals, eta)` on the mixture problem, compiled once for both
  tests above: loss = mixture_mstep + eta * (kl_y + kl_z) to a prior equal to the target."""
  logits, means, stds, actions, weights = _mixture_problem()
  target = (logits, means, stds)

  def loss_fn(params, duals, train_duals, eta):
    policy = (params[0], params[1], jnp.exp(params[2]))
    loss, _ = mpo.mixture_mstep(policy, target, actions, weights,
                                _maybe_frozen(duals, train_duals), MIX_CONFIG)
    kl_y, kl_z = kl_lib.mixture_kl_to_prior(*policy, *target)
    return loss + eta * jnp.mean(kl_y + kl_z)

  run = _optimiser(loss_fn, (POLICY_LR, DUAL_LR), STEPS)
  return lambda params, train_duals, eta: run(params, jnp.float32(train_duals), jnp.float32(eta))


# ------------------------------------------------------------------------------------ K = 1


class MixtureReducesToGaussianTest(chex.TestCase):

  def test_k1_mixture_equals_gaussian(self):
    """Same loss up to the two trivial categorical terms, same gradients, per_dim on and off.

    Jitted only (one compilation for everything): op-by-op dispatch costs ~20 s here."""
    rng = np.random.default_rng(10)
    f = lambda *shape: jnp.asarray(rng.normal(size=shape), jnp.float32)
    online_mean, target_mean = f(B, D), f(B, D)
    online_std, target_std = jnp.exp(0.3 * f(B, D)), jnp.exp(0.3 * f(B, D))
    actions = target_mean + target_std * f(N, B, D)
    weights = jax.nn.softmax(f(N, B), axis=0)
    logits = jnp.zeros((B, 1))
    configs = {per_dim: mpo.MPOConfig(per_dim_constraining=per_dim) for per_dim in (True, False)}
    all_duals = {per_dim: mpo.init_duals(D, per_dim_constraining=per_dim, init_log_alpha_mean=0.5,
                                         init_log_alpha_stddev=-0.5) for per_dim in (True, False)}

    def gaussian(mean, std, duals, config):
      return mpo.gaussian_mstep(mean, std, target_mean, target_std, actions, weights, duals,
                                config)

    def mixture(mean, std, duals, config):  # the same duals, one component: a leading axis
      duals = duals.replace(log_alpha_mean=duals.log_alpha_mean[None],
                            log_alpha_stddev=duals.log_alpha_stddev[None])
      return mpo.mixture_mstep((logits, mean[:, None], std[:, None]),
                               (logits, target_mean[:, None], target_std[:, None]), actions,
                               weights, duals, config)

    @jax.jit
    def evaluate(mean, std, all_duals):
      out = {}
      for per_dim, config in configs.items():  # two static configurations, not a data loop
        for name, fn in (("gaussian", gaussian), ("mixture", mixture)):
          out[name, per_dim] = jax.value_and_grad(fn, argnums=(0, 1, 2), has_aux=True)(
              mean, std, all_duals[per_dim], config)
      return out

    out = evaluate(online_mean, online_std, all_duals)
    expected_nll = -jnp.mean(jnp.sum(
        weights * kl_lib.diag_gaussian_log_prob(actions, target_mean, target_std), axis=0))
    for per_dim, config in configs.items():
      (loss_g, metrics_g), grads_g = out["gaussian", per_dim]
      (loss_m, metrics_m), grads_m = out["mixture", per_dim]
      # The trivial categorical terms: NLL under the target Gaussian, alpha_cat * (eps_cat - 0).
      np.testing.assert_allclose(metrics_m["loss_policy_categorical"], expected_nll, rtol=1e-5)
      trivial = (metrics_m["loss_policy_categorical"] + config.epsilon_categorical *
                 mpo.dual_value(all_duals[per_dim].log_alpha_categorical))
      np.testing.assert_allclose(loss_m - trivial, loss_g, rtol=1e-5, atol=1e-5)
      for key in ("kl_mean", "kl_stddev", "loss_policy_mean", "loss_policy_stddev"):
        np.testing.assert_allclose(metrics_m[key], metrics_g[key], rtol=1e-5, atol=1e-7)
      np.testing.assert_allclose(metrics_m["kl_categorical"], 0.0, atol=1e-7)
      for a, b in zip(grads_m[:2], grads_g[:2]):  # policy gradients
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
      for name in ("log_alpha_mean", "log_alpha_stddev", "log_temperature"):
        np.testing.assert_allclose(getattr(grads_m[2], name), getattr(grads_g[2], name),
                                   rtol=1e-5, atol=1e-7)

  def test_mstep_shape_errors(self):
    duals = mpo.init_duals(D)
    z, o = jnp.zeros((B, D)), jnp.ones((B, D))
    with pytest.raises(ValueError, match=r"actions must be \[N, B, D\]"):
      mpo.gaussian_mstep(z, o, z, o, jnp.zeros((N, B, D + 1)), jnp.ones((N, B)), duals,
                         mpo.MPOConfig())
    with pytest.raises(ValueError, match="per_dim_constraining"):
      mpo.gaussian_mstep(z, o, z, o, jnp.zeros((N, B, D)), jnp.ones((N, B)),
                         mpo.init_duals(D, per_dim_constraining=False), mpo.MPOConfig())
    with pytest.raises(ValueError, match="logits"):
      mix = (jnp.zeros((B, K + 1)), jnp.zeros((B, K, D)), jnp.ones((B, K, D)))
      mpo.mixture_mstep(mix, mix, jnp.zeros((N, B, D)), jnp.ones((N, B)), duals, mpo.MPOConfig())
    with pytest.raises(ValueError, match="epsilon_mean"):
      mpo.MPOConfig(epsilon_mean=0.0)
    mix = (jnp.zeros((B, K)), jnp.zeros((B, K, D)), jnp.ones((B, K, D)))
    with pytest.raises(ValueError, match=r"must be \[3, 2\] .* K = 3 components.*num_components"):
      mpo.mixture_mstep(mix, mix, jnp.zeros((N, B, D)), jnp.ones((N, B)), duals, mpo.MPOConfig())
    with pytest.raises(AssertionError, match="online means must be floating point"):
      ints = (mix[0], mix[1].astype(jnp.int32), mix[2])
      mpo.mixture_mstep(ints, mix, jnp.zeros((N, B, D)), jnp.ones((N, B)),
                        mpo.init_duals(D, num_components=K), mpo.MPOConfig())

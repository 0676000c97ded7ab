"""The closed-form entropy of a sum of independent Gaussians against a Monte Carlo estimate."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from helms_jax.losses import concurrent


def test_sum_entropy_matches_monte_carlo():
  means = jnp.array([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5], [-0.3, 0.2, 0.1]])  # K = 3, D = 3
  stds = jnp.array([[0.3, 1.0, 0.5], [0.7, 0.2, 0.4], [0.1, 0.6, 1.5]])
  samples = means + stds * jax.random.normal(jax.random.PRNGKey(0), (200_000,) + means.shape)
  v = np.asarray(jnp.sum(samples, axis=1))  # [N, D] samples of the sum
  mean, std = concurrent.sum_of_gaussians(means, stds)
  np.testing.assert_allclose(v.mean(0), mean, atol=0.01)
  np.testing.assert_allclose(v.std(0), std, rtol=0.01)
  # Monte Carlo entropy: -E[log p(V)] under the sum's own (Gaussian) density.
  log_p = -0.5 * np.sum(((v - np.asarray(mean)) / np.asarray(std)) ** 2
                        + np.log(2 * np.pi * np.asarray(std) ** 2), axis=-1)
  assert float(concurrent.sum_entropy(stds)) == pytest.approx(-log_p.mean(), abs=0.01)


def test_sum_of_gaussians_names_bad_shapes():
  with pytest.raises(ValueError, match=r"\[..., K, D\]"):
    concurrent.sum_of_gaussians(jnp.zeros((3,)), jnp.ones((3,)))


def test_sum_entropy_matches_a_nearest_neighbour_estimate():
  """Kozachenko-Leonenko k-NN entropy of samples of the sum (no Gaussian assumption)."""
  from scipy.spatial import cKDTree
  from scipy.special import digamma, gammaln
  stds = jnp.array([[0.3, 1.0, 0.5], [0.7, 0.2, 0.4], [0.1, 0.6, 1.5]])
  n, d, k = 20_000, 3, 4
  v = np.asarray(jnp.sum(stds * jax.random.normal(jax.random.PRNGKey(1), (n,) + stds.shape), 1))
  dist = cKDTree(v).query(v, k=k + 1)[0][:, k]  # the k-th neighbour (index 0 is the point)
  log_unit_ball = d / 2 * np.log(np.pi) - gammaln(d / 2 + 1)
  estimate = digamma(n) - digamma(k) + log_unit_ball + d * np.mean(np.log(dist))
  assert float(concurrent.sum_entropy(stds)) == pytest.approx(estimate, abs=0.05)


# ---- Equation 6 on jointly Gaussian (V, tau~) with a known mutual information. ----------------
# V ~ N(0, sv^2 I_d), tau~ = V + N(0, sn^2 I_d): I(V; tau~) = d/2 log(1 + sv^2 / sn^2), and the
# exact posterior is p(V | tau~) = N(r tau~, sp^2 I) with r = sv^2 / (sv^2 + sn^2),
# sp^2 = sv^2 sn^2 / (sv^2 + sn^2).
_D, _SV, _SN = 3, 1.5, 0.7


def _joint_samples(n, seed=0):
  kv, kn = jax.random.split(jax.random.PRNGKey(seed))
  v = _SV * jax.random.normal(kv, (n, _D))
  return v, v + _SN * jax.random.normal(kn, (n, _D))


def _true_mi():
  return 0.5 * _D * np.log(1 + _SV ** 2 / _SN ** 2)


def _log_q(v, tau, ratio, std):
  return concurrent.diag_gaussian_log_prob(v, ratio * tau, jnp.full_like(tau, std))


def test_mi_estimate_with_the_exact_posterior_recovers_the_known_mi():
  v, tau = _joint_samples(200_000)
  r = _SV ** 2 / (_SV ** 2 + _SN ** 2)
  sp = np.sqrt(_SV ** 2 * _SN ** 2 / (_SV ** 2 + _SN ** 2))
  h_v = concurrent.gaussian_entropy(jnp.full((_D,), _SV))
  estimate = concurrent.variational_mi_estimate(h_v, _log_q(v, tau, r, sp))
  assert float(estimate) == pytest.approx(_true_mi(), abs=0.02)
  # Any other Q is a strictly lower bound (Barber-Agakov): here a too-wide, biased one.
  worse = concurrent.variational_mi_estimate(h_v, _log_q(v, tau, 0.5 * r, 2 * sp))
  assert float(worse) < _true_mi() - 0.3


def test_fitting_q_by_maximising_the_estimate_reaches_the_known_mi():
  """The variational form (eq. 4): a learned Q(V | tau~) = N(a tau~, s^2) trained on the
  estimate converges to the posterior, and the estimate to the MI."""
  v, tau = _joint_samples(20_000, seed=1)
  h_v = concurrent.gaussian_entropy(jnp.full((_D,), _SV))
  loss = lambda p: -concurrent.variational_mi_estimate(h_v, _log_q(v, tau, p[0], jnp.exp(p[1])))
  params, opt = jnp.array([0.0, 0.0]), optax.adam(0.05)

  @jax.jit
  def step(params, opt_state):
    updates, opt_state = opt.update(jax.grad(loss)(params), opt_state)
    return optax.apply_updates(params, updates), opt_state

  opt_state = opt.init(params)
  for _ in range(600):
    params, opt_state = step(params, opt_state)
  assert float(params[0]) == pytest.approx(_SV ** 2 / (_SV ** 2 + _SN ** 2), abs=0.02)
  assert float(-loss(params)) == pytest.approx(_true_mi(), abs=0.05)


def test_masked_sum_adds_only_the_members():
  means = jnp.arange(12.0).reshape(2, 3, 2)  # [N=2, K=3, D=2]
  stds = jnp.ones((2, 3, 2)) * jnp.array([1.0, 2.0, 3.0])[:, None]
  members = jnp.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
  mean, std = concurrent.masked_sum_of_gaussians(means, stds, members)
  np.testing.assert_allclose(mean, [[0 + 2, 1 + 3], [6 + 10, 7 + 11]])
  np.testing.assert_allclose(std, np.sqrt([[5, 5], [10, 10]]), rtol=1e-6)
  with pytest.raises(ValueError, match="members must be"):
    concurrent.masked_sum_of_gaussians(means, stds, members[:, :2])


def test_trajectory_elbo_matches_its_terms():
  key = jax.random.PRNGKey(3)
  ks = jax.random.split(key, 6)
  s_mean, s_next = jax.random.normal(ks[0], (4, 2)), jax.random.normal(ks[1], (4, 2))
  a_mean, acts = jax.random.normal(ks[2], (4, 3)), jax.random.normal(ks[3], (4, 3))
  z_mean, z_std = jax.random.normal(ks[4], (2,)), jnp.array([0.5, 2.0])
  out = concurrent.trajectory_elbo(jnp.zeros((4, 2, 1)), s_mean[..., None], jnp.ones((4, 2, 1)),
                                   s_next, a_mean, 0.5 * jnp.ones((4, 3)), acts, z_mean, z_std,
                                   beta=0.3)
  gauss = lambda x, m, s: np.sum(-0.5 * ((x - m) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi))
  kl = 0.5 * np.sum(z_mean ** 2 + z_std ** 2 - 1 - 2 * np.log(z_std))
  expected = gauss(s_next, s_mean, 1.0) + gauss(acts, a_mean, 0.5) - 0.3 * kl
  assert float(out["elbo"]) == pytest.approx(float(expected), rel=1e-5)
  assert float(out["kl"]) == pytest.approx(float(kl), rel=1e-5)


def test_subskill_estimate_matches_its_closed_form_on_gaussians():
  """Equation 6 with z_{n,i} ~ q(z | tau~): its expectation is H(V) - M H(q(z | tau~)) (Gaussian
  entropies in closed form), here for composites of 2 and 3 of K = 3 subskills."""
  n, k, d = 50_000, 3, 4
  rng = np.random.default_rng(0)
  sub_stds = jnp.asarray(rng.uniform(0.3, 1.5, (k, d)), jnp.float32)
  q_mean = jnp.asarray(rng.normal(size=d), jnp.float32)
  q_std = jnp.asarray(rng.uniform(0.2, 0.8, d), jnp.float32)
  members = jnp.asarray(np.where(np.arange(n)[:, None] % 2, [1, 1, 0], [1, 1, 1]), jnp.float32)
  _, v_std = concurrent.masked_sum_of_gaussians(jnp.zeros((n, k, d)),
                                                jnp.broadcast_to(sub_stds, (n, k, d)), members)
  h_v = concurrent.gaussian_entropy(v_std)  # [N]
  z = q_mean + q_std * jax.random.normal(jax.random.PRNGKey(0), (n, k, d))
  log_q = concurrent.diag_gaussian_log_prob(z, q_mean, q_std)  # [N, K]
  estimate = concurrent.subskill_mi_estimate(h_v, log_q, members)
  h_q = 0.5 * np.sum(np.log(2 * np.pi * np.e * np.asarray(q_std) ** 2))
  h_v2 = 0.5 * np.sum(np.log(2 * np.pi * np.e * np.sum(np.asarray(sub_stds[:2]) ** 2, 0)))
  h_v3 = 0.5 * np.sum(np.log(2 * np.pi * np.e * np.sum(np.asarray(sub_stds) ** 2, 0)))
  closed = 0.5 * (h_v3 - 3 * h_q) + 0.5 * (h_v2 - 2 * h_q)
  assert float(estimate) == pytest.approx(closed, abs=0.03)
  with pytest.raises(ValueError, match="members"):
    concurrent.subskill_mi_estimate(h_v, log_q, members[:, :2])


def test_state_mixture_density_matches_a_brute_force_sum():
  rng = np.random.default_rng(2)
  x = rng.normal(size=(5, 3))
  logits, means = rng.normal(size=(5, 3, 4)), rng.normal(size=(5, 3, 4))
  stds = rng.uniform(0.2, 1.5, size=(5, 3, 4))
  got = concurrent.state_mixture_log_prob(*(jnp.asarray(a, jnp.float32)
                                            for a in (x, logits, means, stds)))
  w = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
  dens = np.exp(-0.5 * ((x[..., None] - means) / stds) ** 2) / (stds * np.sqrt(2 * np.pi))
  want = np.log((w * dens).sum(-1)).sum(-1)
  np.testing.assert_allclose(got, want, rtol=1e-5)

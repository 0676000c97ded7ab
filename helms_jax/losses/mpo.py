"""MPO loss kernels: E-step temperature dual, decoupled M-steps with trust-region duals.

Maximum a-posteriori Policy Optimisation (Abdolmaleki et al., 2018; arXiv:1806.06920 and
1812.02256), following the construction of Acme's JAX losses (`acme/jax/losses/mpo.py`,
`acme/agents/jax/mpo/categorical_mpo.py`), plus the RHPO mixture M-step (Wulfmeier et al.,
2020; arXiv:1906.11228) used by HeLMS transfer (Rao et al., 2022).

  E-step   q(a | x) ∝ pi_target(a | x) exp(Q(x, a) / eta), with eta the minimiser of the dual
           g(eta) = eta * epsilon + eta * E_x log E_{pi_target} exp(Q / eta), so that
           E_x KL(q || pi_target) = epsilon at the optimum. With N actions sampled from the target
           the weights are a softmax over samples (`temperature_loss_and_weights`); with K
           discrete actions the expectation is exact (`categorical_estep`).
  M-step   maximise E_q log pi_online(a | x) subject to KL(pi_target || pi_online) <= eps, as a
           Lagrangian with dual alpha: the policy sees `stop_gradient(alpha) * KL` and the dual
           sees `alpha * (eps - stop_gradient(KL))`. For Gaussians the mean and the std are
           updated by separate losses (the other parameter taken from the target), each with its
           own constraint, optionally per action dimension (`gaussian_mstep`). `categorical_mstep`
           constrains the categorical KL; `mixture_mstep` (RHPO) decouples a mixture of Gaussians
           into the weights, the component means and the component stds.

Dual variables are unconstrained "log" parameters mapped by `softplus(x) + 1e-8` (Acme's
parametrisation, not exp, despite the name). They live in `MPODuals`, are trained by the
caller's optimiser together with the policy parameters, and every loss here already contains
the dual losses for its own duals: the full objective of one MPO update is simply

  loss = estep_loss + mstep_loss,

differentiated jointly w.r.t. (policy params, duals). The stop-gradients inside make each term
train only what it should: the E-step loss trains only `log_temperature`; the M-step's policy
terms train only the online policy; its dual terms train only the alphas. There is no separate
"total duals loss".

Shapes: N sampled actions per state, B states, D action dimensions, K discrete actions or
mixture components. Everything is pure `jnp` (jit/vmap/grad friendly).
"""

from __future__ import annotations

import dataclasses

import distrax
import flax
import jax
import jax.numpy as jnp

from helms_jax import checks
from helms_jax.losses import kl as kl_lib

DUAL_FLOAT_EPSILON = 1e-8  # softplus(x) + this: duals never reach 0
MIN_LOG_DUAL = -18.0  # Acme's floor for the log-parametrised duals (see clip_duals)


@flax.struct.dataclass
class MPODuals:
  """Trainable Lagrange multipliers, softplus-parametrised (`dual = softplus(x) + 1e-8`).

  Attributes:
    log_temperature: [] the E-step temperature eta.
    log_alpha_mean: [D] (per-dimension constraining) or [] the Gaussian mean trust region; a
      mixture of K Gaussians has one per component, [K, D] or [K] (RHPO).
    log_alpha_stddev: [D] or [] the Gaussian std trust region ([K, D] or [K] for a mixture).
    log_alpha_categorical: [] the categorical (or mixture-weights) trust region.
  """
  log_temperature: jax.Array
  log_alpha_mean: jax.Array
  log_alpha_stddev: jax.Array
  log_alpha_categorical: jax.Array


def _alpha_shape(action_dim: int, per_dim: bool, num_components: int | None) -> tuple:
  """The mean / std alphas' shape: [D] or [] for a Gaussian, [K, D] or [K] for a mixture."""
  shape = (action_dim,) if per_dim else ()
  return shape if num_components is None else (num_components,) + shape


def init_duals(action_dim: int, *, per_dim_constraining: bool = True,
               num_components: int | None = None, init_log_temperature: float = 10.0,
               init_log_alpha_mean: float = 10.0,
               init_log_alpha_stddev: float = 1000.0,
               init_log_alpha_categorical: float = 3.0,
               dtype=jnp.float32) -> MPODuals:
  """Initial duals with Acme's defaults.

  Acme's `GaussianPolicyLossConfig`: log-temperature 10, log-alpha-mean 10, log-alpha-stddev
  1000 (softplus(1000) = 1000: the std starts pinned to the target and is released only as the
  dual decays); `CategoricalPolicyLossConfig`: log-alpha 3 (its log-temperature default is 3
  too; pass `init_log_temperature=3.` for a purely categorical learner to match it).

  Args:
    action_dim: D, the Gaussian action dimension (ignored unless per_dim_constraining; pass 1
      for a purely categorical policy).
    per_dim_constraining: alphas of shape [D] (one constraint per dimension) rather than [].
    num_components: K for a mixture policy (`mixture_mstep`): mean/std alphas [K, D] (or [K]),
      one trust region per component as RHPO (Acme's `RHPO.init_params`); None for a Gaussian.
  Returns:
    MPODuals with the shapes documented there.
  """
  if per_dim_constraining and action_dim < 1:
    raise ValueError(f"action_dim must be >= 1, got {action_dim}")
  if num_components is not None and num_components < 1:
    raise ValueError(f"num_components must be >= 1 or None, got {num_components}")
  alpha_shape = _alpha_shape(action_dim, per_dim_constraining, num_components)
  return MPODuals(
      log_temperature=jnp.full((), init_log_temperature, dtype),
      log_alpha_mean=jnp.full(alpha_shape, init_log_alpha_mean, dtype),
      log_alpha_stddev=jnp.full(alpha_shape, init_log_alpha_stddev, dtype),
      log_alpha_categorical=jnp.full((), init_log_alpha_categorical, dtype))


def clip_duals(duals: MPODuals, min_value: float = MIN_LOG_DUAL) -> MPODuals:
  """Floors every log-dual at `min_value` (Acme clips after each optimiser step).

  Below about -18 softplus's gradient (a sigmoid) vanishes and a dual could never recover.
  """
  return jax.tree.map(lambda x: jnp.maximum(x, min_value), duals)


def dual_value(log_dual: jax.Array) -> jax.Array:
  """softplus(log_dual) + 1e-8, the positive dual variable of a log-parametrised one."""
  return jax.nn.softplus(log_dual) + DUAL_FLOAT_EPSILON


@dataclasses.dataclass(frozen=True)
class MPOConfig:
  """Trust-region sizes (Acme's defaults).

  Attributes:
    epsilon: E-step bound on E_x KL(q || pi_target) (the temperature's constraint).
    epsilon_mean: M-step bound on the KL of the mean part (per dimension if per_dim_constraining).
    epsilon_stddev: M-step bound on the KL of the std part.
    epsilon_categorical: M-step bound on the categorical KL (Acme's `epsilon_policy`); for a
      mixture, on the KL of the mixture weights.
    num_samples: N, actions sampled per state for the E-step (used by callers).
    per_dim_constraining: one mean/std constraint per action dimension (Acme's default) instead
      of one on the KL summed over dimensions.
  """
  epsilon: float = 0.1
  epsilon_mean: float = 0.0025
  epsilon_stddev: float = 1e-6
  epsilon_categorical: float = 0.0025
  num_samples: int = 20
  per_dim_constraining: bool = True

  def __post_init__(self):
    for name in ("epsilon", "epsilon_mean", "epsilon_stddev", "epsilon_categorical"):
      if not getattr(self, name) > 0:
        raise ValueError(f"MPOConfig.{name} must be > 0, got {getattr(self, name)}")
    if self.num_samples < 1:
      raise ValueError(f"MPOConfig.num_samples must be >= 1, got {self.num_samples}")


# ----------------------------------------------------------------------------------- E-step


def _check_scalar(name: str, x):
  if jnp.shape(x) != ():
    raise ValueError(f"{name} must be a scalar [], got shape {jnp.shape(x)}")


def temperature_loss_and_weights(q_values: jax.Array, log_temperature: jax.Array,
                                 epsilon: float) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Sample-based E-step: nonparametric weights and the temperature dual.

  The N actions per state are assumed drawn from the target policy, so the nonparametric policy
  q ∝ pi_target exp(Q / eta) puts weight softmax_N(Q / eta) on each sample.

  Args:
    q_values: [N, B] Q(x_b, a_nb) (stop-gradiented here).
    log_temperature: [] softplus-parametrised eta.
    epsilon: bound on E_x KL(q || pi_target).
  Returns:
    loss: [] `eta * (epsilon + mean_B(logsumexp_N(Q / eta) - log N))`, the dual g(eta); its
      gradient reaches only `log_temperature`.
    weights: [N, B] softmax over N of Q / eta (stop-gradiented; columns sum to 1).
    temperature: [] eta.
  """
  if jnp.ndim(q_values) != 2:
    raise ValueError(f"q_values must be [N, B], got shape {jnp.shape(q_values)}")
  _check_scalar("log_temperature", log_temperature)
  checks.assert_floating("temperature_loss_and_weights", q_values=q_values)
  temperature = dual_value(log_temperature)
  tempered = jax.lax.stop_gradient(q_values) / temperature
  weights = jax.lax.stop_gradient(jax.nn.softmax(tempered, axis=0))
  log_mean_exp = jax.nn.logsumexp(tempered, axis=0) - jnp.log(q_values.shape[0])
  loss = temperature * (epsilon + jnp.mean(log_mean_exp))
  return loss, weights, temperature


def nonparametric_kl(weights: jax.Array) -> jax.Array:
  """KL(q || pi_target) estimated from sample weights (a diagnostic, as Acme's).

  Args:
    weights: [N, B] normalised over N (from `temperature_loss_and_weights`).
  Returns:
    [B] `sum_n w_n log(N w_n)`, the KL of the weights from uniform over the N samples.
  """
  if jnp.ndim(weights) != 2:
    raise ValueError(f"weights must be [N, B], got shape {jnp.shape(weights)}")
  checks.assert_floating("nonparametric_kl", weights=weights)
  uniform = distrax.Categorical(logits=jnp.zeros_like(weights.T))
  return distrax.Categorical(probs=weights.T).kl_divergence(uniform)


def categorical_estep(q_values: jax.Array, target_logits: jax.Array, log_temperature: jax.Array,
                      epsilon: float) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Exact E-step over all K discrete actions.

  Args:
    q_values: [B, K] Q(x_b, k) for every action (stop-gradiented here).
    target_logits: [B, K] the target policy (stop-gradiented here).
    log_temperature: [] softplus-parametrised eta.
    epsilon: bound on E_x KL(q || pi_target).
  Returns:
    loss: [] `eta * (epsilon + mean_B log sum_k pi_target(k) exp(Q_k / eta))`; its gradient
      reaches only `log_temperature`.
    weights: [B, K] q(k | x) ∝ pi_target(k | x) exp(Q_k / eta), normalised over K
      (stop-gradiented).
    temperature: [] eta.
  """
  if jnp.ndim(q_values) != 2 or jnp.shape(q_values) != jnp.shape(target_logits):
    raise ValueError(f"q_values and target_logits must both be [B, K], got "
                     f"{jnp.shape(q_values)} and {jnp.shape(target_logits)}")
  _check_scalar("log_temperature", log_temperature)
  checks.assert_floating("categorical_estep", q_values=q_values, target_logits=target_logits)
  temperature = dual_value(log_temperature)
  log_target = jax.nn.log_softmax(jax.lax.stop_gradient(target_logits), axis=-1)
  unnormalised = log_target + jax.lax.stop_gradient(q_values) / temperature  # [B, K]
  log_normaliser = jax.nn.logsumexp(unnormalised, axis=-1)  # [B]
  weights = jax.lax.stop_gradient(jnp.exp(unnormalised - log_normaliser[:, None]))
  loss = temperature * (epsilon + jnp.mean(log_normaliser))
  return loss, weights, temperature


# ----------------------------------------------------------------------------------- M-step


def _kl_penalty_and_dual_loss(kl: jax.Array, log_alpha: jax.Array,
                              epsilon: float) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
  """Lagrangian terms of one trust region `mean_B KL <= epsilon` (per trailing unit).

  Args:
    kl: [B] or [B, D] KL(target || online).
    log_alpha: [] or [D] (matching kl's trailing shape).
  Returns:
    (penalty [] = sum stopgrad(alpha) * mean_B kl, dual_loss [] = sum alpha * (eps - stopgrad(
    mean_B kl)), mean_kl [] or [D], alpha [] or [D]).
  """
  mean_kl = jnp.mean(kl, axis=0)
  alpha = dual_value(log_alpha)
  penalty = jnp.sum(jax.lax.stop_gradient(alpha) * mean_kl)
  dual_loss = jnp.sum(alpha * (epsilon - jax.lax.stop_gradient(mean_kl)))
  return penalty, dual_loss, mean_kl, alpha


def _weighted_nll(log_prob: jax.Array, weights: jax.Array) -> jax.Array:
  """`mean_B(-sum_N w * log_prob)` for log_prob, weights [N, B]."""
  return jnp.mean(-jnp.sum(weights * log_prob, axis=0))


def _check_alphas(duals: MPODuals, d: int, per_dim: bool, k: int | None = None):
  expected = _alpha_shape(d, per_dim, k)
  builder = f"init_duals(D, per_dim_constraining={per_dim}" + (
      ")" if k is None else ", num_components=K)")
  for name in ("log_alpha_mean", "log_alpha_stddev"):
    shape = jnp.shape(getattr(duals, name))
    if shape != expected:
      raise ValueError(f"duals.{name} must be {list(expected)} with per_dim_constraining="
                       f"{per_dim}, D = {d}" + ("" if k is None else f", K = {k} components") +
                       f", got {list(shape)} ({builder} builds matching duals)")


def _check_samples(actions, weights, b: int, d: int):
  if jnp.ndim(actions) != 3 or jnp.shape(actions)[1:] != (b, d):
    raise ValueError(f"actions must be [N, B, D] with B, D = {b}, {d}, got {jnp.shape(actions)}")
  if jnp.shape(weights) != jnp.shape(actions)[:2]:
    raise ValueError(f"weights must be [N, B] = {jnp.shape(actions)[:2]}, got "
                     f"{jnp.shape(weights)}")


def _mean_std_constraints(kl_mean, kl_stddev, duals, config, metrics):
  """Shared Lagrangian of the decoupled mean/std trust regions; kl_* [B, D] per dimension (a
  Gaussian) or [B, K, D] (a mixture: one region per component), summed over D unless
  `config.per_dim_constraining`."""
  if not config.per_dim_constraining:
    kl_mean, kl_stddev = jnp.sum(kl_mean, axis=-1), jnp.sum(kl_stddev, axis=-1)
  pen_mean, dual_mean, mkl_mean, alpha_mean = _kl_penalty_and_dual_loss(
      kl_mean, duals.log_alpha_mean, config.epsilon_mean)
  pen_std, dual_std, mkl_std, alpha_std = _kl_penalty_and_dual_loss(
      kl_stddev, duals.log_alpha_stddev, config.epsilon_stddev)
  metrics.update(
      kl_mean=jnp.sum(mkl_mean), kl_stddev=jnp.sum(mkl_std),
      kl_mean_rel=jnp.max(mkl_mean) / config.epsilon_mean,
      kl_stddev_rel=jnp.max(mkl_std) / config.epsilon_stddev,
      alpha_mean=jnp.mean(alpha_mean), alpha_stddev=jnp.mean(alpha_std),
      loss_alpha_mean=dual_mean, loss_alpha_stddev=dual_std)
  return pen_mean + pen_std, dual_mean + dual_std


def gaussian_mstep(online_mean: jax.Array, online_std: jax.Array, target_mean: jax.Array,
                   target_std: jax.Array, actions: jax.Array, weights: jax.Array,
                   duals: MPODuals, config: MPOConfig) -> tuple[jax.Array, dict]:
  """Decoupled M-step of a diagonal Gaussian policy (Acme's MPO loss without action penalty).

  The online policy is split into N(online_mean, target_std) (trains the mean) and
  N(target_mean, online_std) (trains the std); each part maximises the weighted log-likelihood
  of the samples under its own trust region KL(target || part) <= epsilon_mean / epsilon_stddev,
  per dimension if `config.per_dim_constraining` (else on the KL summed over D).

  An autoregressive policy (e.g. a latent z then an action a given z, u = (z, a)) passes its
  parameters per sample, [N, B, D]: each sample's density is then evaluated under the
  parameters its own prefix gives, and the trust-region KLs are the KLs of the conditionals
  averaged over the target's samples (a Monte Carlo estimate of the chain rule's expectation).

  Args:
    online_mean, online_std: [B, D] (or [N, B, D] per sample) the policy being trained.
    target_mean, target_std: the target policy, same shape (stop-gradiented here).
    actions: [N, B, D] samples from the target policy.
    weights: [N, B] E-step weights, normalised over N (stop-gradiented here).
    duals: uses log_alpha_mean and log_alpha_stddev, [D] if per_dim_constraining else [].
    config: epsilon_mean, epsilon_stddev, per_dim_constraining.
  Returns:
    loss: [] weighted NLL (mean + std parts) + stopgrad(alpha) * KL penalties + the alpha dual
      losses alpha * (eps - stopgrad(KL)). Add the E-step loss for the temperature.
    metrics: scalars loss_policy_mean, loss_policy_stddev, loss_policy, loss_kl_penalty,
      loss_alpha, loss_alpha_mean, loss_alpha_stddev, kl_mean / kl_stddev (batch mean of the KL
      summed over D), kl_mean_rel / kl_stddev_rel (largest constrained KL / its epsilon: <= 1
      when the constraints hold), alpha_mean / alpha_stddev (averaged over D), online_std_min /
      online_std_max (batch means).
  """
  kl_lib._check_same_shape(online_mean=online_mean, online_std=online_std,
                           target_mean=target_mean, target_std=target_std)
  if jnp.ndim(online_mean) not in (2, 3):
    raise ValueError(f"online_mean must be [B, D] or [N, B, D], got shape "
                     f"{jnp.shape(online_mean)}")
  b, d = online_mean.shape[-2:]
  _check_samples(actions, weights, b, d)
  per_sample = jnp.ndim(online_mean) == 3
  if per_sample and online_mean.shape[0] != actions.shape[0]:
    raise ValueError(f"per-sample parameters [N, B, D] need N = {actions.shape[0]} (the "
                     f"samples'), got {online_mean.shape}")
  _check_alphas(duals, d, config.per_dim_constraining)
  checks.assert_floating("gaussian_mstep", online_mean=online_mean, online_std=online_std,
                         target_mean=target_mean, target_std=target_std, actions=actions,
                         weights=weights)
  target_mean, target_std, actions, weights = jax.lax.stop_gradient(
      (target_mean, target_std, actions, weights))

  log_prob_mean = kl_lib.diag_gaussian_log_prob(actions, online_mean, target_std)  # [N, B]
  log_prob_std = kl_lib.diag_gaussian_log_prob(actions, target_mean, online_std)
  loss_policy_mean = _weighted_nll(log_prob_mean, weights)
  loss_policy_std = _weighted_nll(log_prob_std, weights)
  kl_mean = kl_lib.gaussian_kl(target_mean, target_std, online_mean, target_std)  # [(N,) B, D]
  kl_std = kl_lib.gaussian_kl(target_mean, target_std, target_mean, online_std)
  if per_sample:
    kl_mean, kl_std = jnp.mean(kl_mean, axis=0), jnp.mean(kl_std, axis=0)

  metrics = {}
  penalty, dual_loss = _mean_std_constraints(kl_mean, kl_std, duals, config, metrics)
  loss_policy = loss_policy_mean + loss_policy_std
  loss = loss_policy + penalty + dual_loss
  metrics.update(
      loss_policy_mean=loss_policy_mean, loss_policy_stddev=loss_policy_std,
      loss_policy=loss_policy, loss_kl_penalty=penalty, loss_alpha=dual_loss,
      online_std_min=jnp.mean(jnp.min(online_std, axis=-1)),
      online_std_max=jnp.mean(jnp.max(online_std, axis=-1)))
  return loss, metrics


def categorical_mstep(online_logits: jax.Array, target_logits: jax.Array, weights: jax.Array,
                      duals: MPODuals, config: MPOConfig) -> tuple[jax.Array, dict]:
  """M-step of a categorical policy (Acme's categorical MPO).

  Args:
    online_logits: [B, K] the policy being trained.
    target_logits: [B, K] the target policy (stop-gradiented here).
    weights: [B, K] E-step distribution q(k | x) (from `categorical_estep`; stop-gradiented).
    duals: uses log_alpha_categorical [].
    config: epsilon_categorical.
  Returns:
    loss: [] weighted cross-entropy `mean_B(-sum_k w_k log pi_online(k))` +
      stopgrad(alpha) * mean_B KL(target || online) + alpha * (eps_categorical - stopgrad(KL)).
      Add the E-step loss for the temperature.
    metrics: scalars loss_policy, loss_kl_penalty, loss_alpha, kl_categorical,
      kl_categorical_rel (KL / epsilon_categorical), alpha_categorical, entropy_online.
  """
  if jnp.ndim(online_logits) != 2:
    raise ValueError(f"online_logits must be [B, K], got shape {jnp.shape(online_logits)}")
  kl_lib._check_same_shape(online_logits=online_logits, target_logits=target_logits,
                           weights=weights)
  _check_scalar("duals.log_alpha_categorical", duals.log_alpha_categorical)
  checks.assert_floating("categorical_mstep", online_logits=online_logits,
                         target_logits=target_logits, weights=weights)
  target_logits, weights = jax.lax.stop_gradient((target_logits, weights))
  log_online = jax.nn.log_softmax(online_logits, axis=-1)
  loss_policy = jnp.mean(-jnp.sum(weights * log_online, axis=-1))
  kl = kl_lib.categorical_kl(target_logits, online_logits)  # [B]
  penalty, dual_loss, mean_kl, alpha = _kl_penalty_and_dual_loss(
      kl, duals.log_alpha_categorical, config.epsilon_categorical)
  loss = loss_policy + penalty + dual_loss
  metrics = dict(
      loss_policy=loss_policy, loss_kl_penalty=penalty, loss_alpha=dual_loss,
      kl_categorical=mean_kl, kl_categorical_rel=mean_kl / config.epsilon_categorical,
      alpha_categorical=alpha,
      entropy_online=jnp.mean(distrax.Categorical(logits=online_logits).entropy()))
  return loss, metrics


_MIXTURE = ("logits", "means", "stds")


def mixture_mstep(online: tuple[jax.Array, jax.Array, jax.Array],
                  target: tuple[jax.Array, jax.Array, jax.Array], actions: jax.Array,
                  weights: jax.Array, duals: MPODuals,
                  config: MPOConfig) -> tuple[jax.Array, dict]:
  """Decoupled M-step of a mixture of K diagonal Gaussians (RHPO).

  The online mixture is split into three mixtures, each training one group of parameters with
  the others taken from the target:
    (a) online weights, target means, target stds      -> trust region KL(target w || online w)
                                                           <= epsilon_categorical;
    (b) target weights, online means, target stds      -> for every component k,
                                                           E_x KL(N_k^target ||
                                                           N(online mean_k, target std_k))
                                                           <= epsilon_mean;
    (c) target weights, target means, online stds      -> for every component k,
                                                           E_x KL(N_k^target ||
                                                           N(target mean_k, online std_k))
                                                           <= epsilon_stddev;
  (b) and (c) per action dimension if `config.per_dim_constraining`: K x D constraints with
  their own duals, each component's unweighted by how often the target picks it (Acme's RHPO
  loss; a target-weighted sum would leave a rarely picked component free to drift). Each part
  maximises the weighted log-likelihood of the samples (mixture density, logsumexp over
  components). With K = 1 this is `gaussian_mstep` (its duals with a leading axis of 1) plus two
  terms without policy gradient: (a)'s NLL (constant log-weights) and the categorical dual loss
  alpha_categorical * epsilon_categorical (the KL is 0).

  Args:
    online: (logits [B, K], means [B, K, D], stds [B, K, D]) the policy being trained.
    target: the same for the target policy (stop-gradiented here).
    actions: [N, B, D] samples from the target mixture.
    weights: [N, B] E-step weights, normalised over N (stop-gradiented here).
    duals: uses log_alpha_categorical [], log_alpha_mean and log_alpha_stddev ([K, D] if
      per_dim_constraining else [K]; `init_duals(D, num_components=K)`).
    config: epsilon_categorical, epsilon_mean, epsilon_stddev, per_dim_constraining.
  Returns:
    loss: [] the three weighted NLLs + stopgrad(alpha) * KL penalties + the three alpha dual
      losses. Add the E-step loss for the temperature.
    metrics: those of `gaussian_mstep` (loss_policy_mean / loss_policy_stddev are (b) / (c)),
      plus loss_policy_categorical ((a)), loss_alpha_categorical, kl_categorical,
      kl_categorical_rel, alpha_categorical.
  """
  if len(online) != 3 or len(target) != 3:
    raise ValueError("online and target must be (logits, means, stds) tuples")
  k, d = kl_lib._check_mixture("online ", *online)
  kl_lib._check_mixture("target ", *target)
  for name, a, b_ in zip(_MIXTURE, online, target):
    if jnp.shape(a) != jnp.shape(b_):
      raise ValueError(f"online and target {name} must have equal shapes, got {jnp.shape(a)} "
                       f"and {jnp.shape(b_)}")
  if jnp.ndim(online[0]) != 2:
    raise ValueError(f"logits must be [B, K], got shape {jnp.shape(online[0])}")
  b = online[0].shape[0]
  _check_samples(actions, weights, b, d)
  _check_alphas(duals, d, config.per_dim_constraining, k)
  _check_scalar("duals.log_alpha_categorical", duals.log_alpha_categorical)
  checks.assert_floating("mixture_mstep", **{f"online {n}": a for n, a in zip(_MIXTURE, online)},
                         **{f"target {n}": a for n, a in zip(_MIXTURE, target)},
                         actions=actions, weights=weights)
  on_logits, on_means, on_stds = online
  tg_logits, tg_means, tg_stds, actions, weights = jax.lax.stop_gradient(
      (*target, actions, weights))

  def nll(logits, means, stds):
    return _weighted_nll(kl_lib.mixture_log_prob(actions, logits, means, stds), weights)

  loss_policy_cat = nll(on_logits, tg_means, tg_stds)
  loss_policy_mean = nll(tg_logits, on_means, tg_stds)
  loss_policy_std = nll(tg_logits, tg_means, on_stds)

  kl_cat = kl_lib.categorical_kl(tg_logits, on_logits)  # [B]
  # RHPO (Acme's `RHPO` loss): every component under its own trust region, unweighted by how
  # often the target picks it, so a rarely chosen component cannot drift unconstrained.
  kl_mean = kl_lib.gaussian_kl(tg_means, tg_stds, on_means, tg_stds)  # [B, K, D]
  kl_std = kl_lib.gaussian_kl(tg_means, tg_stds, tg_means, on_stds)

  metrics = {}
  penalty, dual_loss = _mean_std_constraints(kl_mean, kl_std, duals, config, metrics)
  pen_cat, dual_cat, mean_kl_cat, alpha_cat = _kl_penalty_and_dual_loss(
      kl_cat, duals.log_alpha_categorical, config.epsilon_categorical)
  loss_policy = loss_policy_cat + loss_policy_mean + loss_policy_std
  penalty, dual_loss = penalty + pen_cat, dual_loss + dual_cat
  loss = loss_policy + penalty + dual_loss
  metrics.update(
      loss_policy_categorical=loss_policy_cat, loss_policy_mean=loss_policy_mean,
      loss_policy_stddev=loss_policy_std, loss_policy=loss_policy, loss_kl_penalty=penalty,
      loss_alpha=dual_loss, loss_alpha_categorical=dual_cat, kl_categorical=mean_kl_cat,
      kl_categorical_rel=mean_kl_cat / config.epsilon_categorical, alpha_categorical=alpha_cat,
      online_std_min=jnp.mean(jnp.min(on_stds, axis=(-2, -1))),
      online_std_max=jnp.mean(jnp.max(on_stds, axis=(-2, -1))))
  return loss, metrics

"""Skill VAE and skill-prior loss kernels (SPiRL, Pertsch et al. 2020, equations 1-2).

A skill is z ~ q(z | a_{0:H-1}) (diagonal Gaussian); the decoder reconstructs the H actions; a
state-conditioned prior p(z | s_0) is fit to the (stop-gradient) posterior:

  reconstruction  0.5 sum_{t, a} (a - a_hat)^2        unit-variance Gaussian NLL, no constant
  kl              KL(q(z | a) || N(0, I))              analytic, summed over Z
  prior           KL(stop_gradient(q) || p(z | s_0))  analytic for a diagonal-Gaussian prior,
                                                       Monte-Carlo (samples of q) otherwise

Every kernel returns one value per sequence (`[...]`, leading batch dimensions kept), summed over
time / action / latent dimensions; the learner chooses how to normalise and weight them.

`kl_to_prior` is also the KL regulariser of an RL policy in skill space towards the learned prior
(SPiRL's SAC): analytic when the prior is a `distrax.MultivariateNormalDiag`, else a
reparameterised Monte-Carlo estimate, so gradients reach the policy's mean and std either way.
"""

from __future__ import annotations

import distrax
import jax
import jax.numpy as jnp

from helms_jax.losses.kl import diag_gaussian_log_prob, gaussian_kl, kl_to_standard_normal  # pylint: disable=unused-import

KL_METHODS = ("auto", "analytic", "sample")


def reconstruction_loss(predicted: jax.Array, target: jax.Array) -> jax.Array:
  """Unit-variance Gaussian reconstruction NLL without its constant: `0.5 sum (a - a_hat)^2`.

  Args:
    predicted: [..., H, A] decoded actions (the decoder's means).
    target: [..., H, A] the data's actions.
  Returns:
    [...] summed over H and A.
  """
  # Hand-written: distrax.Normal(predicted, 1).log_prob would add 0.5 log(2 pi) per element.
  if predicted.shape != target.shape or predicted.ndim < 2:
    raise ValueError(f"predicted and target actions must both be [..., H, A], got "
                     f"{predicted.shape} and {target.shape}")
  return 0.5 * jnp.sum(jnp.square(predicted - target), axis=(-2, -1))


def _diagonal_gaussian(distribution) -> tuple[jax.Array, jax.Array] | None:
  """(loc, scale_diag) of a diagonal-Gaussian distrax distribution, None for other families."""
  if isinstance(distribution, distrax.MultivariateNormalDiag):
    return distribution.loc, distribution.scale_diag
  return None


def kl_to_prior(policy_mean: jax.Array, policy_std: jax.Array,
                prior_distribution: distrax.Distribution, key: jax.Array | None = None,
                num_samples: int = 1, *, method: str = "auto") -> jax.Array:
  """KL(N(policy_mean, diag policy_std^2) || prior_distribution).

  Args:
    policy_mean, policy_std: [..., Z] a diagonal Gaussian (std > 0).
    prior_distribution: a distrax distribution with event shape [Z] whose batch shape
      broadcasts against [...] (e.g. the learned skill prior at the same states, or a
      `MixtureSameFamily` of diagonal Gaussians).
    key: PRNG key, needed for the Monte-Carlo estimate (unused when analytic).
    num_samples: N, samples of the policy per KL for the Monte-Carlo estimate.
    method: "auto" = analytic for a `distrax.MultivariateNormalDiag` prior, sampled otherwise;
      "analytic" (refused for other priors); "sample" forces the estimate (for checks).
  Returns:
    [...] (the broadcast batch shape). The sampled estimate is
    `mean_n [log pi(z_n) - log p(z_n)]` with reparameterised `z_n = mean + std * eps_n`:
    unbiased, differentiable in the policy's mean and std and in the prior's parameters; a
    single estimate may be negative.
  """
  if policy_mean.shape != policy_std.shape or policy_mean.ndim < 1:
    raise ValueError(f"policy_mean and policy_std must both be [..., Z], got "
                     f"{policy_mean.shape} and {policy_std.shape}")
  if method not in KL_METHODS:
    raise ValueError(f"method={method!r}; valid: {', '.join(KL_METHODS)}")
  z_dim = policy_mean.shape[-1]
  if tuple(prior_distribution.event_shape) != (z_dim,):
    raise ValueError(f"prior event shape {tuple(prior_distribution.event_shape)} does not match "
                     f"the policy's latent size [{z_dim}]")
  gaussian = _diagonal_gaussian(prior_distribution)
  if method == "analytic" and gaussian is None:
    raise ValueError(f"no analytic KL to a {type(prior_distribution).__name__} prior; use "
                     f"method='auto' or 'sample'")
  if gaussian is not None and method != "sample":
    # Per-dim distrax.Normal KLs: MultivariateNormalDiag's KL loses precision near KL = 0.
    loc, scale = gaussian
    mean, std, loc, scale = jnp.broadcast_arrays(policy_mean, policy_std, loc, scale)
    return jnp.sum(gaussian_kl(mean, std, loc, scale), axis=-1)
  if key is None:
    raise ValueError(f"kl_to_prior needs a key for the Monte-Carlo KL to a "
                     f"{type(prior_distribution).__name__} prior")
  if int(num_samples) != num_samples or num_samples < 1:
    raise ValueError(f"num_samples must be a positive int, got {num_samples!r}")
  eps = jax.random.normal(key, (int(num_samples),) + policy_mean.shape, policy_mean.dtype)
  z = policy_mean + policy_std * eps  # [N, ..., Z]
  log_ratio = (diag_gaussian_log_prob(z, policy_mean, policy_std)
               - prior_distribution.log_prob(z))  # [N, ...]
  return jnp.mean(log_ratio, axis=0)


def prior_loss(posterior_mean: jax.Array, posterior_std: jax.Array,
               prior_distribution: distrax.Distribution, key: jax.Array | None = None,
               num_samples: int = 1) -> jax.Array:
  """SPiRL's prior objective KL(stop_gradient(q(z | a)) || p(z | s_0)).

  The posterior is a fixed target: gradients reach only the prior's parameters, so fitting the
  prior never pulls the skill embedding towards it.

  Args:
    posterior_mean, posterior_std: [..., Z] the encoder's q(z | a_{0:H-1}).
    prior_distribution: p(z | s_0), event shape [Z], batch shape broadcasting against [...].
    key, num_samples: for the Monte-Carlo estimate of a non-Gaussian (mixture) prior.
  Returns:
    [...] the KL (analytic for a diagonal Gaussian prior, else estimated from samples of q).
  """
  return kl_to_prior(jax.lax.stop_gradient(posterior_mean),
                     jax.lax.stop_gradient(posterior_std), prior_distribution, key, num_samples)

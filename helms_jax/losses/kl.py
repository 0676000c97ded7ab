"""Closed-form KL divergences and log-densities of the policy families used by MPO and HeLMS.

Families: categorical (given by logits), diagonal Gaussian (mean, std) and a mixture of K
diagonal Gaussians (logits [..., K], means [..., K, D], stds [..., K, D]). The closed forms are
distrax's (`Categorical`, `Normal`, `MixtureSameFamily`); this module keeps the array-level
signatures, shape checks and the HeLMS bound distrax does not have. All functions broadcast over
leading batch dimensions and are jit/vmap/grad friendly.

`mixture_kl_to_prior` is the HeLMS regulariser (equation 5 of Rao et al., 2022): the KL of the
weights and the KL of every matched component, each counted in full (the paper's
sum_y KL(pi(z | y, x) || pi_0(z | y, x)), not weighted by pi(y | x)), so a skill the high level
rarely picks is held to its prior as firmly as a frequent one and no gradient reaches pi(y) through
this term. The KL between two mixtures has no closed form; the sum bounds it from above,

  KL(pi || p) <= KL(pi(y) || p(y)) + sum_y pi(y) KL(pi(z | y) || p(z | y))
              <= KL(pi(y) || p(y)) + sum_y KL(pi(z | y) || p(z | y)).
"""

from __future__ import annotations

import distrax
import jax
import jax.numpy as jnp


def _check_same_shape(**arrays):
  shapes = {name: jnp.shape(a) for name, a in arrays.items()}
  if len(set(shapes.values())) != 1:
    listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
    raise ValueError(f"shapes must be equal: {listed}")


def _check_mixture(prefix: str, logits, means, stds):
  """Validates one mixture: logits [..., K], means/stds [..., K, D]; returns (K, D)."""
  logits, means, stds = jnp.shape(logits), jnp.shape(means), jnp.shape(stds)
  if len(means) < 2 or means != stds:
    raise ValueError(f"{prefix}means and {prefix}stds must both be [..., K, D], got {means} "
                     f"and {stds}")
  if len(logits) < 1 or logits != means[:-1]:
    raise ValueError(f"{prefix}logits must be [..., K] = {means[:-1]} to match {prefix}means "
                     f"{means}, got {logits}")
  return means[-2], means[-1]


def categorical_kl(p_logits: jax.Array, q_logits: jax.Array) -> jax.Array:
  """KL(p || q) of categoricals given by (unnormalised, finite) logits.

  Args:
    p_logits: [..., K].
    q_logits: [..., K].
  Returns:
    [...] `sum_k p_k (log p_k - log q_k)`, distrax's (log-softmax, no log of 0; classes with
    p_k = 0 after underflow contribute exactly 0).
  """
  _check_same_shape(p_logits=p_logits, q_logits=q_logits)
  return distrax.Categorical(logits=p_logits).kl_divergence(distrax.Categorical(logits=q_logits))


def gaussian_kl(mean_p: jax.Array, std_p: jax.Array, mean_q: jax.Array,
                std_q: jax.Array) -> jax.Array:
  """Per-dimension KL(N(mean_p, std_p^2) || N(mean_q, std_q^2)) of diagonal Gaussians.

  Args:
    mean_p, std_p, mean_q, std_q: [..., D] (std > 0).
  Returns:
    [..., D], not summed over D (sum it for the KL of the diagonal Gaussians): per dimension
    `log(std_q / std_p) + (std_p^2 + (mean_p - mean_q)^2) / (2 std_q^2) - 1/2`.
  """
  _check_same_shape(mean_p=mean_p, std_p=std_p, mean_q=mean_q, std_q=std_q)
  return distrax.Normal(mean_p, std_p).kl_divergence(distrax.Normal(mean_q, std_q))


def kl_to_standard_normal(mean: jax.Array, std: jax.Array) -> jax.Array:
  """KL(N(mean, diag std^2) || N(0, I)), the VAE regulariser of HeLMS's z and SPiRL's skills.

  Args:
    mean, std: [..., Z] (std > 0).
  Returns:
    [...] summed over Z.
  """
  if mean.shape != std.shape:
    raise ValueError(f"mean and std must have equal shapes, got {mean.shape} and {std.shape}")
  standard = distrax.Normal(jnp.zeros_like(mean), jnp.ones_like(std))
  return jnp.sum(distrax.Normal(mean, std).kl_divergence(standard), axis=-1)


def diag_gaussian_log_prob(x: jax.Array, mean: jax.Array, std: jax.Array) -> jax.Array:
  """log N(x; mean, diag(std^2)), summed over the last dimension.

  Args:
    x: [..., D]; broadcasts against mean/std (e.g. actions [N, B, D] with mean [B, D]).
    mean, std: [..., D].
  Returns:
    [...] (the broadcast batch shape).
  """
  if mean.shape != std.shape:
    raise ValueError(f"mean and std must have equal shapes, got {mean.shape} and {std.shape}")
  if x.shape[-1:] != mean.shape[-1:]:
    raise ValueError(f"x [..., D] must have D = {mean.shape[-1]} like mean, got {x.shape}")
  # Normal summed over D: MultivariateNormalDiag.log_prob goes through a bijector (more ops).
  return jnp.sum(distrax.Normal(mean, std).log_prob(x), axis=-1)


def mixture_log_prob(x: jax.Array, logits: jax.Array, means: jax.Array,
                     stds: jax.Array) -> jax.Array:
  """log sum_k softmax(logits)_k N(x; means_k, diag(stds_k^2)), via logsumexp.

  Args:
    x: [..., D]; its batch dimensions broadcast against the mixture's (e.g. actions [N, B, D]
      with a mixture of batch [B]).
    logits: [..., K] mixture weights (unnormalised).
    means, stds: [..., K, D].
  Returns:
    [...] (the broadcast batch shape).
  """
  _, d = _check_mixture("", logits, means, stds)
  if x.shape[-1:] != (d,):
    raise ValueError(f"x [..., D] must have D = {d} like means {means.shape}, got {x.shape}")
  components = distrax.Independent(distrax.Normal(means, stds), reinterpreted_batch_ndims=1)
  return distrax.MixtureSameFamily(distrax.Categorical(logits=logits), components).log_prob(x)


def mixture_kl_to_prior(logits: jax.Array, means: jax.Array, stds: jax.Array,
                        prior_logits: jax.Array, prior_means: jax.Array,
                        prior_stds: jax.Array) -> tuple[jax.Array, jax.Array]:
  """The two terms of the HeLMS bound on KL(mixture policy || mixture prior) (equation 5).

  Components are matched by index (component y of the policy against component y of the prior).

  Args:
    logits, prior_logits: [..., K].
    means, stds, prior_means, prior_stds: [..., K, D].
  Returns:
    kl_y: [...] KL(pi(y) || p(y)).
    kl_z: [...] sum_y KL(N(means_y, stds_y) || N(prior_means_y, prior_stds_y)) over all K
      components, unweighted (equation 5), the Gaussian KL summed over D.
    Their sum upper-bounds the KL between the two mixtures; both are 0 when policy == prior.
  """
  # Hand-written: distrax has no KL between mixtures (it has no closed form); equation 5's terms.
  _check_mixture("", logits, means, stds)
  _check_mixture("prior_", prior_logits, prior_means, prior_stds)
  _check_same_shape(means=means, prior_means=prior_means)
  kl_y = categorical_kl(logits, prior_logits)
  kl_components = jnp.sum(gaussian_kl(means, stds, prior_means, prior_stds), axis=-1)  # [..., K]
  kl_z = jnp.sum(kl_components, axis=-1)
  return kl_y, kl_z

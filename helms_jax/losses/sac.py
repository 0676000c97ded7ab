"""Soft actor-critic loss kernels with a divergence regulariser (SAC; SPiRL's prior-regularised SAC).

The policy is a diagonal Gaussian over a pre-squash variable u; the agent acts with the squashed
a = bound * tanh(u). A divergence d(s) regularises the policy:
  entropy  d(s) = log pi(a | s) (the squashed action's log-density, `squashed_log_prob`): SAC
  prior    d(s) = KL(pi(u | s) || p(u | s)) on the pre-squash u: SPiRL (Pertsch et al. 2020,
           Algorithm 1), computed by `losses.skill_vae.kl_to_prior`
and the temperature alpha enforces `E[d(s)] <= target` through its dual (`alpha_loss`); for the
entropy regulariser the target is -target_entropy. Losses, with Q on the squashed action:

  critic  0.5 mean_i mean_B (Q_i(s, a) - y)^2,
          y = R^(n) + gamma^n' (min_i Q'_i(s', a') - alpha d(s')),  a' ~ pi(. | s')
  policy  mean_B (alpha d(s) - min_i Q_i(s, bound tanh(u))),  u reparameterised
  alpha   alpha mean_B stop_gradient(target - d(s))

The n-step part (R^(n), gamma^n', the bootstrap index) comes from `losses.returns.n_step_bootstrap`;
as in SPiRL, only the bootstrap state's divergence enters the target (intermediate steps of an
n-step target carry the plain reward). All kernels are pure `jnp`.
"""

from __future__ import annotations

import math

import distrax
import jax
import jax.numpy as jnp

from helms_jax.losses.kl import diag_gaussian_log_prob


def squash(u: jax.Array, bound: float) -> jax.Array:
  """The action a = bound * tanh(u): `[..., D] -> [..., D]` in (-bound, bound)."""
  return bound * jnp.tanh(u)


def squash_log_det(u: jax.Array, bound: float) -> jax.Array:
  """log |det d squash(u) / du| of `a = bound * tanh(u)`, summed over D: `[..., D] -> [...]`.

  Per dimension `log(bound) + log(1 - tanh(u)^2) = log(bound) + 2 (log 2 - u - softplus(-2u))`,
  the stable form (no log of a vanishing 1 - tanh^2). `log(bound)` counts once per dimension
  (SPiRL's `Policy._tanh_squash_output` adds it once in total, which offsets log pi by
  (D - 1) log(bound); the Jacobian has it D times). The tanh part is distrax's `Tanh` bijector.
  """
  per_dim = math.log(bound) + distrax.Tanh().forward_log_det_jacobian(u)
  return jnp.sum(per_dim, axis=-1)


def squashed_log_prob(u: jax.Array, mean: jax.Array, std: jax.Array, bound: float) -> jax.Array:
  """log pi(a) of a = bound * tanh(u), u ~ N(mean, diag std^2): `[..., D] -> [...]`.

  `u` broadcasts against `mean`/`std` (e.g. u [N, B, D] with mean [B, D]).
  """
  return diag_gaussian_log_prob(u, mean, std) - squash_log_det(u, bound)


def soft_target(partial_return: jax.Array, bootstrap_coefficient: jax.Array,
                next_q: jax.Array, next_divergence: jax.Array, alpha: jax.Array) -> jax.Array:
  """The soft n-step critic target, gradient-free.

  Args:
    partial_return, bootstrap_coefficient: [B] from `losses.returns.n_step_bootstrap`.
    next_q: [C, B] the C target critics at the bootstrap state s' and a' ~ pi(. | s').
    next_divergence: [B] d(s') (KL to the prior, or log pi(a' | s')).
    alpha: [] the temperature.
  Returns:
    [B] `partial + coefficient * (min_i next_q_i - alpha * next_divergence)`, stop-gradient.
  """
  value = jnp.min(next_q, axis=0) - alpha * next_divergence
  return jax.lax.stop_gradient(partial_return + bootstrap_coefficient * value)


def alpha_loss(log_alpha: jax.Array, divergence: jax.Array, target: jax.Array | float
               ) -> jax.Array:
  """The dual of `E[divergence] <= target` in the temperature alpha = exp(log_alpha).

  Args:
    log_alpha: [] the trained parameter.
    divergence: [B] d(s) of the current policy (its gradient is stopped here).
    target: [] or float: the target divergence (SPiRL's delta), or -target_entropy with
      d = log pi.
  Returns:
    [] `exp(log_alpha) * mean(stop_gradient(target - divergence))`. Its gradient in log_alpha is
    `alpha * (target - mean d)`: a descent step raises alpha when the divergence exceeds the
    target and lowers it when below (SPiRL's `ActionPriorSACAgent._compute_alpha_loss`; for
    the entropy it is SAC's `-alpha (log pi + target_entropy)`).
  """
  gap = jax.lax.stop_gradient(target - divergence)
  return jnp.exp(log_alpha) * jnp.mean(gap)


def policy_loss(alpha: jax.Array, divergence: jax.Array, q: jax.Array) -> jax.Array:
  """The regularised policy objective to minimise.

  Args:
    alpha: [] the temperature (gradient stopped).
    divergence: [B] d(s) with gradient to the policy (reparameterised).
    q: [C, B] the critics at (s, bound * tanh(u)), u reparameterised (gradient to the policy only
      through the action: the caller stops the critics' parameters).
  Returns:
    [] `mean(alpha * divergence - min_i q_i)`.
  """
  return jnp.mean(jax.lax.stop_gradient(alpha) * divergence - jnp.min(q, axis=0))


def critic_loss(q: jax.Array, target: jax.Array) -> jax.Array:
  """`0.5 * mean_{i, B} (q_i - target)^2`: `q [C, B], target [B] -> []` (target stop-gradient)."""
  return 0.5 * jnp.mean(jnp.square(q - jax.lax.stop_gradient(target)[None]))

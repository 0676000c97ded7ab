"""The HeLMS mixture ELBO (equation 3 of Rao et al., 2022) and its forward filters.

The model: a categorical skill `y_t` following a Markov chain, a continuous latent `z_t | y_t`
and an action `a_t | z_t, x_t`. With the factorised posterior
`q(y_{0:T}, z_{1:T}) = q(y_0) prod_t q(y_t | y_{t-1}, x_t) q(z_t | y_t, x_t)`, the evidence lower
bound on `log p(a_{1:T} | x_{1:T})` is

  ELBO = sum_t  E_{q(y_t | x_{1:t})} [ E_{q(z_t | y_t, x_t)} log p(a_t | z_t, x_t)
                                       - beta_z KL(q(z_t | y_t, x_t) || p(z_t | y_t)) ]
              - beta_y E_{q(y_{t-1} | x_{1:t-1})} KL(q(y_t | y_{t-1}, x_t) || p(y_t | y_{t-1}))

where the "cumulative component probability" q(y_t | x_{1:t}) is the marginal of the posterior
chain, obtained by forward filtering

  q(y_t | x_{1:t}) = sum_{y_{t-1}} q(y_t | y_{t-1}, x_t) q(y_{t-1} | x_{1:t-1}),

i.e. the row vector `q(y_0) Q_1 Q_2 ... Q_t` for the stochastic matrices `Q_t[i, j] =
q(y_t = j | y_{t-1} = i, x_t)`. Two filters compute it:

  * `"sequential"`: a `lax.scan` in log space (logsumexp), O(T K^2) work, depth T.
  * `"associative"`: a `lax.associative_scan` over the matrix products (probability space: a
    product of stochastic matrices is stochastic, so it neither underflows nor overflows as a
    whole), O(T K^3) work, depth O(log T). Faster for long sequences on parallel hardware.

Masking: a step with `mask = 0` (padding) contributes nothing to the ELBO and leaves the skill
distribution unchanged (its transition is replaced by the identity), so trailing padding gives
exactly the ELBO of the unpadded sequence.

Everything here is per sequence; batch with `jax.vmap`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from helms_jax import checks

FILTER_METHODS = ("sequential", "associative")


class ElboTerms(NamedTuple):
  """Per-step terms of the mixture ELBO (masked steps are zero).

  Attributes:
    elbo: [] sum over t of `reconstruction - beta_z kl_z - beta_y kl_y` (masked).
    reconstruction: [T] `E_{q(y_t)} action_log_prob[t, y_t]`.
    kl_z: [T] `E_{q(y_t)} kl_z[t, y_t]` (unweighted by beta_z).
    kl_y: [T] `E_{q(y_{t-1})} KL(q(y_t | y_{t-1}) || p(y_t | y_{t-1}))` (unweighted by beta_y).
    filtered: [T, K] q(y_t | x_{1:t}) for t = 1..T.
    previous: [T, K] q(y_{t-1} | x_{1:t-1}) for t = 1..T (row 0 is q(y_0)).
  """
  elbo: jax.Array
  reconstruction: jax.Array
  kl_z: jax.Array
  kl_y: jax.Array
  filtered: jax.Array
  previous: jax.Array


def _check_inputs(log_q_trans, log_p_trans, action_log_prob, kl_z, log_q_init, mask, beta_y,
                  beta_z):
  """Raises ValueError naming the argument whose shape disagrees with `log_q_trans: [T, K, K]`;
  then chex checks (trace time only) of what those leave open: floating dtypes, scalar betas."""
  if log_q_trans.ndim != 3 or log_q_trans.shape[1] != log_q_trans.shape[2]:
    raise ValueError(f"log_q_trans must be [T, K, K], got shape {log_q_trans.shape} "
                     "(use jax.vmap for a batch)")
  t, k, _ = log_q_trans.shape
  expected = {"action_log_prob": (t, k), "kl_z": (t, k)}
  for name, arr in (("action_log_prob", action_log_prob), ("kl_z", kl_z)):
    if arr.shape != expected[name]:
      raise ValueError(f"{name} must be [T, K] = {expected[name]} to match log_q_trans "
                       f"{log_q_trans.shape}, got {arr.shape}")
  if log_p_trans.shape not in ((k, k), (t, k, k)):
    raise ValueError(f"log_p_trans must be [K, K] = {(k, k)} or [T, K, K] = {(t, k, k)}, "
                     f"got {log_p_trans.shape}")
  if log_q_init is not None and log_q_init.shape != (k,):
    raise ValueError(f"log_q_init must be [K] = {(k,)}, got {log_q_init.shape}")
  if mask is not None and mask.shape != (t,):
    raise ValueError(f"mask must be [T] = {(t,)}, got {mask.shape}")
  checks.assert_floating("mixture_elbo", log_q_trans=log_q_trans, log_p_trans=log_p_trans,
                         action_log_prob=action_log_prob, kl_z=kl_z, log_q_init=log_q_init)
  checks.assert_scalar("mixture_elbo", beta_y=beta_y, beta_z=beta_z)


def _masked_transitions(log_q_trans: jax.Array, mask: jax.Array | None) -> jax.Array:
  """Replaces the transitions of masked steps by the identity (log space)."""
  if mask is None:
    return log_q_trans
  k = log_q_trans.shape[-1]
  log_eye = jnp.where(jnp.eye(k, dtype=bool), 0.0, -jnp.inf).astype(log_q_trans.dtype)
  return jnp.where(mask[:, None, None] > 0, log_q_trans, log_eye)


# Below this K a broadcast multiply-and-sum beats a batched matmul of tiny matrices (it fuses into
# one elementwise loop; measured 7-11x faster at K=5 on CPU, equal at K=10, 7x slower at K=32).
_SMALL_K = 8


def _small_matmul(a: jax.Array, b: jax.Array) -> jax.Array:
  return jnp.sum(a[..., :, :, None] * b[..., None, :, :], axis=-2)


def _matmul_for(k: int):
  return _small_matmul if k <= _SMALL_K else jnp.matmul


def forward_filter(log_q_trans: jax.Array, log_q_init: jax.Array | None = None,
                   mask: jax.Array | None = None, method: str = "sequential") -> jax.Array:
  """q(y_t | x_{1:t}) for t = 1..T.

  Args:
    log_q_trans: [T, K, K], `[t, i, j] = log q(y_t = j | y_{t-1} = i, x_t)`; rows normalised.
    log_q_init: [K] log q(y_0); uniform when None.
    mask: [T], 1 = valid step; masked steps keep the distribution unchanged.
    method: "sequential" (lax.scan, log space) or "associative" (lax.associative_scan).

  Returns:
    [T, K] filtered probabilities (rows sum to 1).
  """
  if method not in FILTER_METHODS:
    raise ValueError(f"unknown filter method {method!r}; valid: {', '.join(FILTER_METHODS)}")
  k = log_q_trans.shape[-1]
  if log_q_init is None:
    log_q_init = jnp.full((k,), -jnp.log(k), log_q_trans.dtype)
  log_trans = _masked_transitions(log_q_trans, mask)
  if method == "sequential":
    def step(log_prev, log_t):  # log_prev: [K], log_t: [K, K]
      log_next = jax.nn.logsumexp(log_prev[:, None] + log_t, axis=0)
      return log_next, log_next

    _, log_filtered = jax.lax.scan(step, log_q_init, log_trans)
    return jnp.exp(log_filtered)
  # Prefix products Q_1 ... Q_t of stochastic matrices, then q(y_0) times each prefix.
  prefix = jax.lax.associative_scan(_matmul_for(k), jnp.exp(log_trans))  # [T, K, K]
  return jnp.einsum("i,tij->tj", jnp.exp(log_q_init), prefix)


def _expected_categorical_kl(log_q: jax.Array, log_p: jax.Array) -> jax.Array:
  """Row-wise KL(q || p) of `[..., K, K]` log-probabilities -> `[..., K]`.

  Zero-probability entries of q contribute 0 with a finite gradient even when log p = -inf
  (the double-`where` keeps NaNs out of the unselected branch's gradient).
  """
  # Hand-written: distrax's Categorical KL re-normalises the rows (2.5-3x slower ELBO update).
  q = jnp.exp(log_q)
  positive = q > 0
  safe_q = jnp.where(positive, log_q, 0.0)
  safe_p = jnp.where(positive, log_p, 0.0)
  return jnp.sum(jnp.where(positive, q * (safe_q - safe_p), 0.0), axis=-1)


def mixture_elbo_terms(log_q_trans: jax.Array, log_p_trans: jax.Array,
                       action_log_prob: jax.Array, kl_z: jax.Array, *, beta_y: float = 1.0,
                       beta_z: float = 1.0, log_q_init: jax.Array | None = None,
                       mask: jax.Array | None = None,
                       filter_method: str = "sequential") -> ElboTerms:
  """`mixture_elbo` with every per-step term returned (for metrics); same arguments."""
  _check_inputs(log_q_trans, log_p_trans, action_log_prob, kl_z, log_q_init, mask, beta_y, beta_z)
  t, k, _ = log_q_trans.shape
  dtype = log_q_trans.dtype
  if log_q_init is None:
    log_q_init = jnp.full((k,), -jnp.log(k), dtype)
  step_mask = jnp.ones((t,), dtype) if mask is None else mask.astype(dtype)
  filtered = forward_filter(log_q_trans, log_q_init, mask, filter_method)  # [T, K]
  previous = jnp.concatenate([jnp.exp(log_q_init)[None], filtered[:-1]], axis=0)  # [T, K]
  log_p = jnp.broadcast_to(log_p_trans, (t, k, k))
  kl_rows = _expected_categorical_kl(log_q_trans, log_p)  # [T, K] per previous skill
  kl_y = jnp.sum(previous * kl_rows, axis=-1) * step_mask
  reconstruction = jnp.sum(filtered * action_log_prob, axis=-1) * step_mask
  kl_z_step = jnp.sum(filtered * kl_z, axis=-1) * step_mask
  elbo = jnp.sum(reconstruction - beta_z * kl_z_step - beta_y * kl_y)
  return ElboTerms(elbo=elbo, reconstruction=reconstruction, kl_z=kl_z_step, kl_y=kl_y,
                   filtered=filtered, previous=previous)


def mixture_elbo(log_q_trans: jax.Array, log_p_trans: jax.Array, action_log_prob: jax.Array,
                 kl_z: jax.Array, *, beta_y: float = 1.0, beta_z: float = 1.0,
                 log_q_init: jax.Array | None = None, mask: jax.Array | None = None,
                 filter_method: str = "sequential") -> tuple[jax.Array, jax.Array]:
  """The HeLMS mixture ELBO of one sequence (equation 3), summed over time.

  Args:
    log_q_trans: [T, K, K], `[t, i, j] = log q(y_t = j | y_{t-1} = i, x_t)` (t = 1..T stored at
      index 0..T-1); each row a normalised log distribution.
    log_p_trans: [K, K] or [T, K, K], `log p(y_t = j | y_{t-1} = i)`.
    action_log_prob: [T, K], `log p(a_t | z~_t^(k), x_t)` with z~ sampled from component k.
    kl_z: [T, K], `KL(q(z_t | y_t = k, x_t) || p(z_t | y_t = k))`.
    beta_y: weight of the categorical KL.
    beta_z: weight of the continuous KL.
    log_q_init: [K], `log p(y_0)` (= q(y_0)); uniform when None.
    mask: [T], 1 = valid step (padded steps contribute nothing), all valid when None.
    filter_method: "sequential" (lax.scan) or "associative" (lax.associative_scan); equal
      results, see the module docstring.

  Returns:
    (elbo [], filtered [T, K] = q(y_t | x_{1:t})). Differentiable in every input; jittable;
    batch with `jax.vmap`.
  """
  terms = mixture_elbo_terms(log_q_trans, log_p_trans, action_log_prob, kl_z, beta_y=beta_y,
                             beta_z=beta_z, log_q_init=log_q_init, mask=mask,
                             filter_method=filter_method)
  return terms.elbo, terms.filtered

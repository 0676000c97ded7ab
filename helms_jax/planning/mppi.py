"""Model-predictive path integral (MPPI) update: a soft, reward-weighted alternative to CEM.

    result = mppi(objective, key, init_mean, init_std, num_samples=16, num_iters=4,
                  temperature=1.0)

Each iteration draws `num_samples` plans from N(mean, std²), scores them in one batched call of
`objective`, and moves the mean (and std) to the softmax(score / temperature)-weighted moments of
the samples (Williams et al. 2017; the iterated form of TD-MPC). As the temperature goes to zero
this is CEM with one elite; as it grows, the plain sample mean. Same contract and result as
`planning.cem`, so an agent switches planners by config.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from helms_jax.planning.cem import CEMResult, iterate_gaussian


def mppi(objective: Callable[[jax.Array], jax.Array], key: jax.Array, init_mean: jax.Array,
         init_std: jax.Array, *, num_samples: int, num_iters: int, temperature: float = 1.0,
         min_std: float = 0.0) -> CEMResult:
  """Maximises `objective` ([N, *shape] -> [N], higher is better) by iterated MPPI updates.

  Args:
    objective: batched score of N plans.
    key: PRNG key.
    init_mean, init_std: [*shape] the initial diagonal Gaussian.
    num_samples: N plans per iteration; num_iters: iterations (>= 1).
    temperature: > 0, the softness of the score weighting.
    min_std: floor of the refitted std.
  Returns:
    CEMResult (mean, std of the final distribution; the best sample drawn and its score).
  """
  if not temperature > 0:
    raise ValueError(f"temperature must be > 0, got {temperature}")

  def refit(samples, scores):  # the softmax(score / temperature)-weighted moments
    weights = jax.nn.softmax(scores / temperature).reshape(
        scores.shape + (1,) * (samples.ndim - 1))
    mean = jnp.sum(weights * samples, axis=0)
    return mean, jnp.sqrt(jnp.sum(weights * jnp.square(samples - mean), axis=0))

  return iterate_gaussian(objective, key, init_mean, init_std, num_samples=num_samples,
                          num_iters=num_iters, min_std=min_std, refit=refit)

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

from helms_jax.planning.cem import CEMResult


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
  init_mean, init_std = jnp.asarray(init_mean), jnp.asarray(init_std)
  if init_mean.shape != init_std.shape:
    raise ValueError(f"init_mean {init_mean.shape} and init_std {init_std.shape} must match")
  if num_samples < 1 or num_iters < 1:
    raise ValueError(f"need num_samples >= 1 and num_iters >= 1, got {num_samples}, {num_iters}")
  if not temperature > 0:
    raise ValueError(f"temperature must be > 0, got {temperature}")
  shape = init_mean.shape

  def iteration(carry, key):
    mean, std, best_sample, best_score = carry
    samples = mean + std * jax.random.normal(key, (num_samples,) + shape, mean.dtype)
    scores = objective(samples)
    if scores.shape != (num_samples,):
      raise ValueError(f"objective must map [N, *shape] to [N], got {scores.shape} for "
                       f"N={num_samples}")
    weights = jax.nn.softmax(scores / temperature).reshape((num_samples,) + (1,) * len(shape))
    new_mean = jnp.sum(weights * samples, axis=0)
    new_std = jnp.sqrt(jnp.sum(weights * jnp.square(samples - new_mean), axis=0))
    new_std = jnp.maximum(new_std, min_std)
    top = jnp.argmax(scores)
    better = scores[top] > best_score
    best_sample = jnp.where(better, samples[top], best_sample)
    best_score = jnp.where(better, scores[top], best_score)
    return (new_mean, new_std, best_sample, best_score), None

  init = (init_mean, init_std, init_mean, jnp.asarray(-jnp.inf, init_mean.dtype))
  (mean, std, best_sample, best_score), _ = jax.lax.scan(
      iteration, init, jax.random.split(key, num_iters))
  return CEMResult(mean=mean, std=std, best_sample=best_sample, best_score=best_score)

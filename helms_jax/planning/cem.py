"""Cross-entropy method: maximise a batched objective over a continuous plan.

    result = cem(objective, key, init_mean, init_std, num_samples=16, num_elites=4, num_iters=4)

Each iteration draws `num_samples` plans from N(mean, std²) (diagonal), scores them all in one
call of `objective` ([N, *shape] -> [N]; higher is better), and refits mean and std to the
`num_elites` best. Iterations are a `lax.scan`, the population one batched objective call, so
the planner is one compiled function; a batch of planning problems (start states) is a `vmap`
over it. The best plan seen in any iteration is returned beside the final distribution.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from helms_jax import checks


class CEMResult(NamedTuple):
  """mean, std: [*shape] final sampling distribution; best_sample: [*shape] the highest-scoring
  plan drawn; best_score: [] its objective value."""
  mean: jax.Array
  std: jax.Array
  best_sample: jax.Array
  best_score: jax.Array


def cem(objective: Callable[[jax.Array], jax.Array], key: jax.Array, init_mean: jax.Array,
        init_std: jax.Array, *, num_samples: int, num_elites: int, num_iters: int,
        min_std: float = 0.0) -> CEMResult:
  """Maximises `objective` by the cross-entropy method (module doc).

  Args:
    objective: `[N, *shape] -> [N]`, higher is better (traced once per compilation).
    key: PRNG key.
    init_mean, init_std: [*shape] the initial diagonal Gaussian (std > 0).
    num_samples: N plans per iteration; num_elites: M <= N refit the distribution.
    num_iters: iterations (>= 1).
    min_std: floor of the refitted std (an entropy floor: keeps exploring around the mean).
  Returns:
    CEMResult.
  """
  if not 1 <= num_elites <= num_samples:
    raise ValueError(f"need 1 <= num_elites <= num_samples, got {num_elites}, {num_samples}")

  def refit(samples, scores):  # the elites' moments
    elites = samples[jax.lax.top_k(scores, num_elites)[1]]
    return jnp.mean(elites, axis=0), jnp.std(elites, axis=0)

  return iterate_gaussian(objective, key, init_mean, init_std, num_samples=num_samples,
                          num_iters=num_iters, min_std=min_std, refit=refit)


def iterate_gaussian(objective: Callable[[jax.Array], jax.Array], key: jax.Array,
                     init_mean: jax.Array, init_std: jax.Array, *, num_samples: int,
                     num_iters: int, min_std: float,
                     refit: Callable[[jax.Array, jax.Array], tuple[jax.Array, jax.Array]]
                     ) -> CEMResult:
  """The sampling-based optimiser CEM and MPPI share: each iteration draws `num_samples` plans
  from N(mean, std^2), scores them in one `objective` call, and moves to
  `refit(samples [N, *shape], scores [N]) -> (mean, std)` (std floored at `min_std`),
  remembering the best plan drawn. Iterations are a `lax.scan`.
  """
  init_mean, init_std = jnp.asarray(init_mean), jnp.asarray(init_std)
  if init_mean.shape != init_std.shape:
    raise ValueError(f"init_mean {init_mean.shape} and init_std {init_std.shape} must match")
  if num_samples < 1 or num_iters < 1:
    raise ValueError(f"need num_samples >= 1 and num_iters >= 1, got {num_samples}, {num_iters}")
  checks.assert_floating("cem/mppi", init_mean=init_mean, init_std=init_std)
  shape = init_mean.shape

  def iteration(carry, key):
    mean, std, best_sample, best_score = carry
    samples = mean + std * jax.random.normal(key, (num_samples,) + shape, mean.dtype)
    scores = objective(samples)
    if scores.shape != (num_samples,):
      raise ValueError(f"objective must map [N, *shape] to [N], got {scores.shape} for "
                       f"N={num_samples}")
    new_mean, new_std = refit(samples, scores)
    top = jnp.argmax(scores)
    better = scores[top] > best_score
    best_sample = jnp.where(better, samples[top], best_sample)
    best_score = jnp.where(better, scores[top], best_score)
    return (new_mean, jnp.maximum(new_std, min_std), best_sample, best_score), None

  init = (init_mean, init_std, init_mean, jnp.asarray(-jnp.inf, init_mean.dtype))
  (mean, std, best_sample, best_score), _ = jax.lax.scan(
      iteration, init, jax.random.split(key, num_iters))
  return CEMResult(mean=mean, std=std, best_sample=best_sample, best_score=best_score)

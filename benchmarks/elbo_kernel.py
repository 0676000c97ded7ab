"""The mixture-ELBO kernel: associative-scan filter vs sequential-scan filter.

Both compute `losses.mixture_elbo` (value and gradient w.r.t. every input) for a batch of
sequences under one `jit(vmap(...))`; only `filter_method` differs. The associative filter does
O(T K^3) work in O(log T) depth (matrix products), the sequential one O(T K^2) work in depth T,
so which wins depends on T, K and how much parallel hardware there is: on a 2-core CPU the
sequential filter is expected to win at large K, the associative one at long T and small K.

  python benchmarks/elbo_kernel.py --quick
Last line: `elbo_kernel ratio: <geometric mean over the grid of associative / sequential
throughput>` (>1 means the associative filter is faster).
"""

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from helms_jax import losses  # pylint: disable=wrong-import-position


def make_inputs(key, batch, t, k):
  keys = jax.random.split(key, 5)
  log_q = jax.nn.log_softmax(2 * jax.random.normal(keys[0], (batch, t, k, k)))
  log_p = jax.nn.log_softmax(jax.random.normal(keys[1], (k, k)))
  action_log_prob = jax.random.normal(keys[2], (batch, t, k))
  kl_z = jnp.abs(jax.random.normal(keys[3], (batch, t, k)))
  mask = (jax.random.uniform(keys[4], (batch, t)) < 0.95).astype(jnp.float32)
  return log_q, log_p, action_log_prob, kl_z, mask


def make_step(method):
  def loss(log_q, log_p, alp, kl_z, mask):
    elbo = jax.vmap(lambda q, a, z, m: losses.mixture_elbo(
        q, log_p, a, z, mask=m, filter_method=method)[0])(log_q, alp, kl_z, mask)
    return jnp.mean(elbo)
  return jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2, 3)))


def time_fn(fn, args, min_time):
  jax.block_until_ready(fn(*args))  # compile
  calls, start = 0, time.perf_counter()
  while True:
    jax.block_until_ready(fn(*args))
    calls += 1
    elapsed = time.perf_counter() - start
    if elapsed >= min_time and calls >= 3:
      return elapsed / calls


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--quick", action="store_true")
  parser.add_argument("--batch", type=int, default=64)
  args = parser.parse_args()
  min_time = 0.3 if args.quick else 2.0
  print(f"devices: {jax.devices()}  batch {args.batch}  (ELBO value + gradients, ms per call)")
  print(f"{'T':>5} {'K':>4} {'sequential':>12} {'associative':>12} {'assoc/seq':>10} "
        f"{'max |diff|':>11}")
  ratios = []
  steps = {m: make_step(m) for m in losses.FILTER_METHODS}
  for t in (16, 64, 256):
    for k in (5, 10, 32):
      inputs = make_inputs(jax.random.PRNGKey(t * 100 + k), args.batch, t, k)
      times, values = {}, {}
      for method, step in steps.items():
        times[method] = time_fn(step, inputs, min_time)
        values[method] = step(*inputs)[0]
      ratio = times["sequential"] / times["associative"]
      ratios.append(ratio)
      diff = abs(float(values["sequential"]) - float(values["associative"]))
      print(f"{t:5d} {k:4d} {1e3 * times['sequential']:12.3f} {1e3 * times['associative']:12.3f} "
            f"{ratio:10.2f} {diff:11.2e}")
  print(f"elbo_kernel ratio: {float(np.exp(np.mean(np.log(ratios)))):.3f}")


if __name__ == "__main__":
  main()

"""HeLMS learner throughput: K mid-level skills as one vmapped network vs a Python loop.

Ours: `HelmsModel`, whose K mid-level skill networks have stacked weights evaluated with
`nn.vmap` (one batched matmul per layer). Baseline (same run, same learner, same batch): the same
model with the K skill networks as K separate submodules called in a Python loop and stacked —
the straightforward way to write a mixture. Both are full jitted learner updates (forward-
filtered ELBO, gradients, Adam) in a `lax.scan` of updates.

Also prints the compiled update's memory (XLA memory analysis: arguments + temporaries) at
batch 256 x T 64 x K 10 (`--memory`, on by default without --quick).

  python benchmarks/helms_learner.py --quick
Last line: `helms_learner ratio: <ours / baseline updates per second at K=10>`.
"""

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from helms_jax.agents.helms import offline  # pylint: disable=wrong-import-position
from helms_jax.agents.helms.model import HelmsModel  # pylint: disable=wrong-import-position
from helms_jax.envs.manipulation.stacking import OBSERVATION_GROUPS  # pylint: disable=wrong-import-position
from helms_jax.networks import GaussianComponent  # pylint: disable=wrong-import-position

OBS, ACT, LOOKAHEAD = OBSERVATION_GROUPS.obs_size, 5, 5


class LoopHelmsModel(HelmsModel):
  """The baseline: one submodule per skill, called in a Python loop."""

  def setup(self):
    super().setup()
    self.skill_nets = [GaussianComponent(self.latent_size, tuple(self.mid_level_hidden),
                                         init_scale=0.5) for _ in range(self.num_skills)]

  def mid_level(self, x_ml):
    outs = [net(x_ml) for net in self.skill_nets]
    return jnp.stack([m for m, _ in outs], axis=-2), jnp.stack([s for _, s in outs], axis=-2)


def make_update(model_cls, k, hidden):
  cfg = offline.default_config()
  cfg.num_skills = k
  cfg.high_level_hidden = cfg.mid_level_hidden = cfg.low_level_hidden = (hidden, hidden)
  learner = offline.make_learner(cfg, OBS, ACT, observation_groups=OBSERVATION_GROUPS,
                                 lookahead=LOOKAHEAD, model_cls=model_cls)
  return learner


def make_batch(b, w):
  keys = jax.random.split(jax.random.PRNGKey(0), 2)
  return {"observation": jax.random.normal(keys[0], (b, w + LOOKAHEAD, OBS)),
          "obs_mask": jnp.ones((b, w + LOOKAHEAD)),
          "action": jax.random.uniform(keys[1], (b, w, ACT), minval=-1, maxval=1)}


def updates_per_second(learner, batch, num_updates, chunk=10):
  @jax.jit
  def run(state, key):
    return jax.lax.scan(lambda s, k: learner.update(s, batch, k), state,
                        jax.random.split(key, chunk))
  state = learner.init(jax.random.PRNGKey(0))
  t0 = time.perf_counter()
  state, _ = run(state, jax.random.PRNGKey(1))
  jax.block_until_ready(state)
  compile_s = time.perf_counter() - t0
  start = time.perf_counter()
  for i in range(max(num_updates // chunk, 1)):
    state, _ = run(state, jax.random.PRNGKey(i + 2))
  jax.block_until_ready(state)
  return max(num_updates // chunk, 1) * chunk / (time.perf_counter() - start), compile_s


def memory_report(b, w, k, hidden):
  learner = make_update(HelmsModel, k, hidden)
  state = learner.init(jax.random.PRNGKey(0))
  batch = make_batch(b, w)
  compiled = jax.jit(learner.update).lower(state, batch, jax.random.PRNGKey(0)).compile()
  analysis = compiled.memory_analysis()
  if analysis is None:
    print("memory analysis unavailable on this backend")
    return
  mib = lambda x: x / 2**20
  print(f"memory of one update at batch {b} x T {w} x K {k} (hidden {hidden}): arguments "
        f"{mib(analysis.argument_size_in_bytes):.1f} MiB, temporaries "
        f"{mib(analysis.temp_size_in_bytes):.1f} MiB, outputs "
        f"{mib(analysis.output_size_in_bytes):.1f} MiB; peak ≈ "
        f"{mib(analysis.argument_size_in_bytes + analysis.temp_size_in_bytes + analysis.output_size_in_bytes):.1f} MiB")


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--quick", action="store_true")
  parser.add_argument("--memory", action="store_true")
  parser.add_argument("--hidden", type=int, default=128)
  args = parser.parse_args()
  num_updates = 40 if args.quick else 200
  b, w = (32, 16) if args.quick else (64, 16)
  print(f"devices: {jax.devices()}; batch {b} x T {w}, lookahead {LOOKAHEAD}, hidden "
        f"{args.hidden}; updates/s (compile s)")
  print(f"{'K':>4} {'vmapped':>16} {'python loop':>16} {'ratio':>7}")
  ratio_k10 = None
  for k in (5, 10) if args.quick else (5, 10, 20):
    batch = make_batch(b, w)
    ours, ours_c = updates_per_second(make_update(HelmsModel, k, args.hidden), batch, num_updates)
    base, base_c = updates_per_second(make_update(LoopHelmsModel, k, args.hidden), batch,
                                      num_updates)
    print(f"{k:4d} {ours:9.1f} ({ours_c:4.1f}) {base:9.1f} ({base_c:4.1f}) {ours / base:7.2f}")
    if k == 10:
      ratio_k10 = ours / base
  if args.memory or not args.quick:
    memory_report(256, 64, 10, args.hidden)
  print(f"helms_learner ratio: {ratio_k10:.3f}")


if __name__ == "__main__":
  main()

"""Mixed precision: each learner's updates/s with bfloat16 products against float32, same run.

Ours: the update traced inside `training.precision.compute("bfloat16")` (every flax Dense /
Conv multiplies in bfloat16, float32 elsewhere). Baseline: the same update in float32. Both as
`--chunk` updates under one `jit` (a `lax.scan`, as the training loops run them) on one fixed
synthetic batch of the experiment's shapes, timed in interleaved rounds after a warm-up call.

Learners and sizes (the full experiments'):
  helms       HeLMS offline (helms_stacking: K = 5, 128-unit levels, batch 64 x (16 + 5))
  spirl       SPiRL skill VAE + prior (kitchen-like: obs 60, act 9, H 10, LSTM 128, batch 128)
  mpo         MPO on raw stacking actions (256 x 256 policy and critic, batch 128 x 5)
  sac         SAC over SPiRL skills (6 x 128 policy, twin 256 x 256 critics, batch 256 x 1)
  lsp         LSP world model + imagination (lsp_locomotion: batch 16 x 50)

  python benchmarks/precision.py --quick
Last line: `precision ratio: <geometric mean over learners of bfloat16 / float32 updates/s>`.
"""

import argparse
import math
import os
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from helms_jax.agents import lsp, mpo, sac  # pylint: disable=wrong-import-position
from helms_jax.agents.helms import downstream, offline as helms_offline  # pylint: disable=wrong-import-position
from helms_jax.agents.spirl import offline as spirl_offline  # pylint: disable=wrong-import-position
from helms_jax.envs.base import ObservationGroups  # pylint: disable=wrong-import-position
from helms_jax.training import precision  # pylint: disable=wrong-import-position
from helms_jax.training.train_state import Transition  # pylint: disable=wrong-import-position


def _transitions(batch: int, length: int, obs: int, action_shape, action_dtype=jnp.float32):
  keys = jax.random.split(jax.random.PRNGKey(0), 3)
  return Transition(
      observation=jax.random.normal(keys[0], (batch, length, obs)),
      agent_action=(jax.random.uniform(keys[1], (batch, length) + action_shape, minval=-1,
                                       maxval=1).astype(action_dtype)),
      reward=jax.random.normal(keys[2], (batch, length)), discount=jnp.ones((batch, length)),
      end=jnp.zeros((batch, length)), next_observation=jax.random.normal(keys[0],
                                                                         (batch, length, obs)))


def helms_problem():
  obs, act, lookahead, window = 58, 4, 5, 16
  groups = ObservationGroups({"proprio": (0, 20), "objects": (20, 58)})
  config = helms_offline.default_config()
  config.num_skills, config.latent_size = 5, 8
  config.high_level_hidden = config.mid_level_hidden = config.low_level_hidden = (128, 128)
  learner = helms_offline.make_learner(config, obs, act, observation_groups=groups,
                                       lookahead=lookahead)
  keys = jax.random.split(jax.random.PRNGKey(0), 2)
  batch = {"observation": jax.random.normal(keys[0], (64, window + lookahead, obs)),
           "obs_mask": jnp.ones((64, window + lookahead)),
           "action": jax.random.uniform(keys[1], (64, window, act), minval=-1, maxval=1)}
  return learner.init, learner.update, batch


def spirl_problem():
  config = spirl_offline.default_config()
  config.horizon = 10
  learner = spirl_offline.make_learner(config, 60, 9)
  keys = jax.random.split(jax.random.PRNGKey(0), 2)
  batch = {"observation": jax.random.normal(keys[0], (128, 10, 60)),
           "obs_mask": jnp.ones((128, 10)),
           "action": jax.random.uniform(keys[1], (128, 10, 9), minval=-1, maxval=1)}
  return learner.init, learner.update, batch


def mpo_problem():
  obs, act = 58, 4
  space = downstream.raw_action_space(obs, act, (256, 256))
  config = mpo.default_config()
  agent = mpo.make_agent(config, space, obs)
  return agent.init, agent.update, _transitions(128, 5, obs, (act,))


def sac_problem():
  obs, z = 6, 10
  prior_config = spirl_offline.default_config()
  network = spirl_offline.make_prior_network(prior_config)
  space = downstream.ActionSpace(
      kind="gaussian", size=z,
      init_policy=lambda key: network.init(key, jnp.zeros((1, obs)))["params"],
      policy=lambda params, frozen, o: (lambda d: (d.loc, d.scale_diag))(
          network.apply({"params": params}, o)),
      decode=lambda frozen, o, a, key, det: a, prior=None)
  agent = sac.make_agent(sac.default_config(), space, obs)
  return agent.init, agent.update, _transitions(256, 2, obs, (z,))


def lsp_problem():
  from experiments import lsp_locomotion  # pylint: disable=import-outside-toplevel
  transfer = lsp_locomotion.get_config("lsp").transfer
  obs, act = 39, 8
  agent = lsp.make_agent(transfer.agent, (obs,), act)
  return agent.init, agent.update, _transitions(transfer.loop.batch_size,
                                                transfer.loop.sequence_length, obs, (act,))


PROBLEMS = {"helms": helms_problem, "spirl": spirl_problem, "mpo": mpo_problem,
            "sac": sac_problem, "lsp": lsp_problem}


def chunk_fn(update, batch, chunk: int, policy: str):
  def run(state, key):
    return jax.lax.scan(lambda s, k: update(s, batch, k), state, jax.random.split(key, chunk))
  return jax.jit(precision.traced_in(policy, run))


def measure(name: str, chunk: int, rounds: int, seconds: float):
  init, update, batch = PROBLEMS[name]()
  runs, states, compile_s = {}, {}, {}
  for policy in precision.POLICIES:
    runs[policy] = chunk_fn(update, batch, chunk, policy)
    t0 = time.perf_counter()
    states[policy], _ = runs[policy](init(jax.random.PRNGKey(0)), jax.random.PRNGKey(1))
    jax.block_until_ready(states[policy])
    compile_s[policy] = time.perf_counter() - t0
  rates = {p: [] for p in precision.POLICIES}
  for r in range(rounds):
    for policy in (precision.POLICIES if r % 2 == 0 else precision.POLICIES[::-1]):
      done, t0 = 0, time.perf_counter()
      while done == 0 or time.perf_counter() - t0 < seconds:
        states[policy], _ = runs[policy](states[policy], jax.random.PRNGKey(r + done))
        jax.block_until_ready(states[policy])
        done += chunk
      rates[policy].append(done / (time.perf_counter() - t0))
  return {p: statistics.median(v) for p, v in rates.items()}, compile_s


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--quick", action="store_true")
  parser.add_argument("--only", default=",".join(PROBLEMS))
  parser.add_argument("--chunk", type=int, default=5)
  args = parser.parse_args()
  rounds, seconds = (3, 1.0) if args.quick else (7, 3.0)
  print(f"{'learner':8s} {'float32 /s':>11s} {'bfloat16 /s':>12s} {'ratio':>7s}  compile f32 / bf16 (s)")
  ratios = []
  for name in args.only.split(","):
    rates, compile_s = measure(name, args.chunk, rounds, seconds)
    ratio = rates["bfloat16"] / rates["float32"]
    ratios.append(ratio)
    print(f"{name:8s} {rates['float32']:11.2f} {rates['bfloat16']:12.2f} {ratio:7.2f}  "
          f"{compile_s['float32']:.1f} / {compile_s['bfloat16']:.1f}", flush=True)
  print(f"machine: {os.cpu_count()} cpus, {jax.devices()[0].platform}, jax {jax.__version__}; "
        f"medians of {rounds} interleaved rounds of >= {seconds} s, chunks of {args.chunk}")
  print(f"precision ratio: {math.exp(np.mean(np.log(ratios))):.3f}")


if __name__ == "__main__":
  main()

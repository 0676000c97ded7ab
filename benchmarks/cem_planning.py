"""LSP's skill-space CEM planning (vmapped) vs a loop over the population; world-model training
steps/s.

Planning: the plan is a sequence of ceil(H / K) skills z [Z]; its score is the lambda-return of
the imagined task reward of the LSP agent's world model (`agents.lsp.Networks.plan_objective`:
RSSM prior rolled H steps with the skill-conditioned actor's mean action, value bootstrap).
Sizes are LSP's defaults (deterministic 200, stochastic 30, hidden 400, actor 4 x 400, Z 3,
K 10). Weights are random (the cost, not the plan, is measured).
  ours:     `Networks.plan`: `planning.cem` (each population one batched imagination,
            iterations a scan) vmapped over a batch of start states, one jitted call;
  baseline: the same CEM with the population scored by a Python loop over its G samples, each
            a jitted single-plan imagination for all start states at once.
Training: steps/s of the whole LSP update (world model on [B, T] sequences + behaviour in
imagination + skill predictor) at Dreamer's sizes (batch 50 x 50) and at the CPU budget of
experiments/lsp_locomotion.py; figures only (no baseline exists in this process).

  python benchmarks/cem_planning.py --quick
Last line: `cem_planning ratio: <ours / baseline plans per second>`.

Measured 2026-11-30 (2-core Xeon CPU, no GPU, jax 0.9.2, --quick, quiet machine): planning
66.4 vs 23.7 plans/s, ratio 2.80; LSP updates 0.27/s at Dreamer v1's sizes (3.7 s each) and
10.7/s at the lsp_locomotion CPU budget. The >= 10x planning target is not met on this CPU: both sides batch
the start states, so the baseline's G = 16 dispatches per iteration cost little next to the
imagination's matrix products, which two cores run no faster batched.
"""

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from helms_jax.agents import lsp  # pylint: disable=wrong-import-position
from helms_jax.training.train_state import Transition  # pylint: disable=wrong-import-position

OBS, ACT = 40, 8  # ant-sized observation and action


def _rate(fn, repeats):
  jax.block_until_ready(fn())  # compile
  t0 = time.perf_counter()
  for _ in range(repeats):
    jax.block_until_ready(fn())
  return repeats / (time.perf_counter() - t0)


def planning_rates(args, repeats):
  config = lsp.default_config()
  config.update(plan_horizon=args.horizon, plan_samples=args.samples, plan_elites=args.elites,
                plan_iters=args.iters, plan_min_std=0.0)
  nets = lsp.Networks(config, (OBS,), ACT)
  params = nets.init(jax.random.PRNGKey(0))
  beliefs = jax.tree.map(lambda x: jax.random.normal(jax.random.PRNGKey(1), (args.batch,) +
                                                     x.shape), nets.cell.initial_state())
  key = jax.random.PRNGKey(2)
  ours = jax.jit(nets.plan)
  ours_rate = args.batch * _rate(lambda: ours(params, beliefs, key), repeats)

  shape = (nets.plan_skills, nets.skill_size)

  @jax.jit
  def single(plans):  # [batch, J, Z] -> [batch]: one population member for every start state
    return jax.vmap(lambda s, p: nets.plan_objective(params, s, key)(p[None])[0])(beliefs, plans)

  def baseline():
    rng = np.random.default_rng(0)
    mean, std = np.zeros((args.batch,) + shape), np.ones((args.batch,) + shape)
    for _ in range(args.iters):
      samples = mean[None] + std[None] * rng.normal(size=(args.samples,) + mean.shape)
      scores = np.stack([np.asarray(single(jnp.asarray(samples[g], jnp.float32)))
                         for g in range(args.samples)])  # [G, batch]
      top = np.argsort(-scores, axis=0)[:args.elites]  # [M, batch]
      elites = np.take_along_axis(samples, top[..., None, None], axis=0)
      mean, std = elites.mean(0), elites.std(0)
    return jnp.asarray(mean)

  base_rate = args.batch * _rate(baseline, repeats)
  return ours_rate, base_rate


def update_rate(config, batch, length, repeats):
  agent = lsp.make_agent(config, (OBS,), ACT)
  state = agent.init(jax.random.PRNGKey(0))
  data = Transition(observation=jax.random.normal(jax.random.PRNGKey(1), (batch, length, OBS)),
                    agent_action=jnp.zeros((batch, length) + agent.agent_action_spec.shape),
                    reward=jnp.zeros((batch, length)),
                    discount=jnp.ones((batch, length)), end=jnp.zeros((batch, length)),
                    next_observation=jnp.zeros((batch, length, OBS)))
  update = jax.jit(agent.update)
  return _rate(lambda: update(state, data, jax.random.PRNGKey(3))[1], repeats)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--quick", action="store_true")
  parser.add_argument("--batch", type=int, default=8, help="start states planned for at once")
  parser.add_argument("--samples", type=int, default=16)
  parser.add_argument("--elites", type=int, default=4)
  parser.add_argument("--iters", type=int, default=4)
  parser.add_argument("--horizon", type=int, default=10)
  args = parser.parse_args()
  repeats = 3 if args.quick else 10
  ours_rate, base_rate = planning_rates(args, repeats)

  from experiments import lsp_locomotion  # pylint: disable=import-outside-toplevel
  paper = lsp.default_config()
  cpu = lsp_locomotion.get_config("lsp").transfer
  paper_rate = update_rate(paper, 50, 50, 1 if args.quick else 3)
  cpu_rate = update_rate(cpu.agent, cpu.loop.batch_size, cpu.loop.sequence_length, repeats)
  print(f"{'planner':46s} plans/s")
  print(f"{'ours: vmapped CEM, batched population':46s} {ours_rate:10.1f}")
  print(f"{'baseline: loop over the population':46s} {base_rate:10.1f}")
  print(f"(batch {args.batch} start states, G={args.samples}, M={args.elites}, "
        f"{args.iters} iterations, H={args.horizon}, K=10, Z=3; {jax.devices()[0].platform})")
  print(f"{'LSP update (world model + imagination)':46s} steps/s")
  print(f"{'  Dreamer v1 sizes, batch 50 x 50':46s} {paper_rate:10.2f}")
  print(f"{'  lsp_locomotion CPU budget, batch %d x %d' % (cpu.loop.batch_size, cpu.loop.sequence_length):46s} {cpu_rate:10.2f}")
  print(f"cem_planning ratio: {ours_rate / base_rate:.2f}")


if __name__ == "__main__":
  main()

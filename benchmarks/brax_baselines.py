"""The trainers a user would pick instead: brax's own `sac.train` / `ppo.train` against our online
loop, on our MJX stacking env, same run.

SAC, matched: 32 envs, batch 128, one update per 32 env steps (replay ratio 4 samples per env
step), 256 x 256 policy and twin critics, one-step TD targets, replay capacity 100k, learning
after a prefill of 3,200 steps. The networks are the same too: brax's are built with our
activation (elu) and our critic's layer norm on every hidden layer (`q_network_layer_norm`;
brax's default critic has none, and the norms are a sizeable share of a critic pass on this
CPU), so the ratio compares the trainers, not the architectures. brax:
`sac.train(environment=envs.make("stacking", ...), episode_length=150, num_envs=32,
batch_size=128, grad_updates_per_step=1, num_evals=3, ...)`;
its env steps/s is the `training/sps` it reports for the second training epoch (the first
includes compilation). Ours: `training.online_loop` with `agents.sac` over raw actions,
`OnlineConfig(num_envs=32, unroll_length=8, updates_per_iteration=8, batch_size=128,
sequence_length=1)` (the same ratio, in chunks), timed over calls after the first. Time to the
first training step: from the call that starts training to the end of the first chunk / epoch,
minus that chunk's steady-state time (i.e. compilation plus prefill).

Differences that remain: brax's auto-reset restores each env's first state (no new random
reset); ours draws a fresh reset for envs whose episode ended. brax samples transitions uniformly;
ours samples [B, 1] sequences from a trajectory buffer. Neither normalises observations.

PPO: brax's `ppo.train` (32 envs, unroll 10, batch 32 x 4 minibatches, 4 epochs per batch)
beside our MPO loop at the stacking transfer experiments' settings (4 updates of [128, 5] per
320 env steps): printed for context only, different algorithms.

Measured 2026-12-06, quiet 2-core AMD EPYC (other load 0.00 cores), --quick, networks matched
as above: ours 2,070 env steps/s vs brax 2,139 (0.97; first training step after 64.6 s vs
151.7 s). With brax's default critic (relu, no layer norm) on 2026-12-05: 2,946 vs 3,653 (0.81),
on a machine whose raw env ran ~1.5x faster that day. At matched networks the two trainers are
level: in both, the env step and the learner's products are nearly all of the time (our loop's
acting and replay cost ~5 us of ~290 us per env step, `rl_throughput`), so the issue's >= 1.5x
would need less work per update than brax's SAC does, not less overhead.

  python benchmarks/brax_baselines.py --quick     # 2 x 6,400 env steps per trainer
Last line: `brax_baselines ratio: <our SAC loop env steps/s / brax sac.train env steps/s>`.
"""

import argparse
import functools
import os
import platform
import sys
import time
import warnings

import jax
from flax import linen

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from brax.training.agents.ppo import networks as ppo_networks  # pylint: disable=wrong-import-position
from brax.training.agents.ppo import train as ppo_train  # pylint: disable=wrong-import-position
from brax.training.agents.sac import networks as sac_networks  # pylint: disable=wrong-import-position
from brax.training.agents.sac import train as sac_train  # pylint: disable=wrong-import-position

from helms_jax import envs  # pylint: disable=wrong-import-position
from helms_jax.agents import mpo, sac  # pylint: disable=wrong-import-position
from helms_jax.agents.helms import downstream  # pylint: disable=wrong-import-position
from helms_jax.training import online_loop  # pylint: disable=wrong-import-position

NUM_ENVS, BATCH, EPISODE, HIDDEN, PREFILL = 32, 128, 150, (256, 256), 3200
ENV_KWARGS = dict(task="red_on_blue", object_set=4, reward="staged")


def brax_run(train_fn, epoch_steps: int, **kwargs):
  """(env steps/s of the second epoch, time to the first training step) of a brax trainer."""
  rows = []
  start = time.time()
  train_fn(environment=envs.make("stacking", **ENV_KWARGS), episode_length=EPISODE,
           num_evals=3, progress_fn=lambda step, metrics: rows.append(
               (step, time.time(), dict(metrics))), **kwargs)
  trained = [r for r in rows if r[0] > 0]
  sps = float(trained[-1][2]["training/sps"])
  first_epoch_end = trained[0][1]
  first_step = first_epoch_end - start - epoch_steps / sps
  return sps, first_step


def brax_sac(epoch_steps: int):
  return brax_run(
      sac_train.train, epoch_steps, num_timesteps=PREFILL + 2 * epoch_steps, num_envs=NUM_ENVS,
      batch_size=BATCH, grad_updates_per_step=1, min_replay_size=PREFILL,
      max_replay_size=100_000, num_eval_envs=NUM_ENVS, learning_rate=3e-4, discounting=0.99,
      network_factory=functools.partial(sac_networks.make_sac_networks,
                                        hidden_layer_sizes=HIDDEN, activation=linen.elu,
                                        q_network_layer_norm=True))


def brax_ppo(epoch_steps: int):
  return brax_run(
      ppo_train.train, epoch_steps, num_timesteps=2 * epoch_steps, num_envs=NUM_ENVS,
      unroll_length=10, batch_size=32, num_minibatches=4, num_updates_per_batch=4,
      num_eval_envs=NUM_ENVS, learning_rate=3e-4, discounting=0.99,
      network_factory=functools.partial(ppo_networks.make_ppo_networks,
                                        policy_hidden_layer_sizes=HIDDEN,
                                        value_hidden_layer_sizes=HIDDEN))


def our_loop(agent, env, config: online_loop.OnlineConfig, calls: int):
  """(env steps/s after the prefill, time to the first training step) of our loop: calls until
  learning has started (the first one compiles), then `calls` timed calls."""
  init, call = online_loop.make_online_fns(agent, env, config)
  run = jax.jit(call, donate_argnums=0)
  start = time.time()
  state = jax.jit(init)(jax.random.PRNGKey(0))
  while int(state.updates) == 0:
    state, _, _ = run(state)
  jax.block_until_ready(state)
  first = time.time() - start
  t0 = time.time()
  for _ in range(calls):
    state, _, _ = run(state)
  jax.block_until_ready(state)
  sps = calls * config.env_steps_per_call / (time.time() - t0)
  return sps, first - config.env_steps_per_call / sps


def our_sac(env, epoch_steps: int):
  config = online_loop.OnlineConfig(
      num_envs=NUM_ENVS, unroll_length=8, updates_per_iteration=8, batch_size=BATCH,
      sequence_length=1, replay_capacity=100_000, min_replay_steps=PREFILL,
      iterations_per_call=5, env_steps=NUM_ENVS * 8 * 5)
  agent_config = sac.default_config()
  agent_config.critic_hidden = HIDDEN
  agent_config.discount = 0.99
  space = downstream.raw_action_space(env.observation_size, env.action_size, HIDDEN)
  space = space._replace(kind="gaussian", policy=_gaussian_policy(space))
  agent = sac.make_agent(agent_config, space, env.observation_size)
  return our_loop(agent, env, config, max(1, epoch_steps // config.env_steps_per_call))


def _gaussian_policy(space):
  """The raw space's policy as SAC's (mean, std) of a pre-squash Gaussian."""
  def policy(params, frozen, obs):
    _, means, stds = space.policy(params, frozen, obs)
    return means[..., 0, :], stds[..., 0, :]
  return policy


def our_mpo(env, epoch_steps: int):
  config = online_loop.OnlineConfig(
      num_envs=NUM_ENVS, unroll_length=10, updates_per_iteration=4, batch_size=BATCH,
      sequence_length=5, replay_capacity=100_000, min_replay_steps=PREFILL, iterations_per_call=2,
      env_steps=NUM_ENVS * 10 * 2)
  space = downstream.raw_action_space(env.observation_size, env.action_size, HIDDEN)
  agent_config = mpo.default_config()
  agent_config.critic_hidden = HIDDEN
  agent = mpo.make_agent(agent_config, space, env.observation_size)
  return our_loop(agent, env, config, max(1, epoch_steps // config.env_steps_per_call))


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--quick", action="store_true")
  parser.add_argument("--no_ppo", action="store_true")
  args = parser.parse_args()
  warnings.filterwarnings("ignore")
  epoch_steps = 6_400 if args.quick else 32_000
  env = envs.EpisodeWrapper(envs.make("stacking", **ENV_KWARGS), episode_length=EPISODE)
  print(f"machine: {os.cpu_count()} cpus ({platform.machine()}), jax {jax.__version__}, "
        f"load average {os.getloadavg()[0]:.2f}; stacking env, {NUM_ENVS} envs, episodes of "
        f"{EPISODE}; {epoch_steps} timed env steps per trainer", flush=True)
  rows = []
  rows.append(("ours: SAC loop (1 update of 128 per 32 env steps)",) + our_sac(env, epoch_steps))
  print(rows[-1], flush=True)
  rows.append(("brax: sac.train (the same)",) + brax_sac(epoch_steps))
  print(rows[-1], flush=True)
  if not args.no_ppo:
    rows.append(("ours: MPO loop (4 updates of 128 x 5 per 320)",) + our_mpo(env, epoch_steps))
    print(rows[-1], flush=True)
    rows.append(("brax: ppo.train (context, other algorithm)",) + brax_ppo(epoch_steps))
    print(rows[-1], flush=True)
  print()
  print(f"{'trainer':52s} {'env steps/s':>12s} {'to first step (s)':>18s}")
  for name, sps, first in rows:
    print(f"{name:52s} {sps:12,.0f} {first:18.1f}")
  print(f"brax_baselines ratio: {rows[0][1] / rows[1][1]:.3f}")


if __name__ == "__main__":
  main()

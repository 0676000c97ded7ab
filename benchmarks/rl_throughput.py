"""Online RL throughput: the fused actor-learner loop vs the raw env, and the fused MPO learner vs
a per-step host loop.

Part 1, env steps/s. Ours: `training.online_loop.make_online_fns` with the MPO agent
(`agents.mpo`) on raw actions (`agents.helms.downstream.raw_action_space`), the jitted `call`: per
iteration `unroll_length` steps of `num_envs` envs under the behaviour policy (with on-device
auto-reset), the insert into the flashbax buffer and `updates_per_iteration` MPO updates, so the
figure includes acting, replay and learning at the configured replay ratio. Baseline (same run):
the env alone, a jitted `lax.scan` of the vmapped `env.step` with uniform random actions, same
env (same `EpisodeWrapper`), same number of envs and steps per call, no resets. Also printed:
the loop with `updates_per_iteration = 0` (acting + replay insert only), which splits the loop's
cost into env, acting/replay and learner.
Also the HeLMS transfer loops (`--methods`, default mpo,helms_cat,helms_mix,helms_mix_next):
MPO over HeLMS-cat / HeLMS-mix spaces of random (untrained) K = 5 skills at the experiments'
sizes (acting decodes every action through the frozen skills); helms_mix reads its frozen prior
from the replay as the transfer experiments do (`transfer.cache_prior`), helms_mix_uncached
evaluates it in every update; helms_mix_next improves the policy at the n-step bootstrap state
(`policy_states="next"`, Acme's TF MPO learner), whose target critic pass on the N sampled
actions the critic's V(x_n) already made.
With `--seeds S` (default 3, the experiments' population) the acting + replay loop is also timed
over S vmapped seeds both ways: the reset branch's predicate per seed (under vmap the branch
becomes a select that resets every env on every step) and over the seed axis (`seed_axis`, what
`train_online` uses on one device).

Measured 2026-12-05, quiet 2-core AMD EPYC, --quick (stacking, 8 updates of [128, 5] per 320
env steps, the transfer experiments' replay ratio 3.2):
  raw env                        6,101 env steps/s   1.000
  loop, no updates               5,763               0.945
  loop + MPO (raw actions)       2,506               0.411
  loop + HeLMS-cat               4,155               0.681
  loop + HeLMS-mix               1,976               0.324
So acting + replay cost ~10 us per env step next to the env's 164 us; the learner is the rest:
MPO on raw actions ~7 ms per update, HeLMS-cat ~2 ms (a categorical E-step is exact, no
sampling), HeLMS-mix ~11 ms (20 samples from a 5-component mixture, the K mid-level networks in
the policy). HeLMS-cat meets the issue's >= 0.5x, HeLMS-mix does not at this replay ratio.
Measured 2026-12-06, quiet (other load 0.00 cores; this day's machine ran the raw env at 3,487
env steps/s), --quick: MPO 0.450, HeLMS-cat 0.681, HeLMS-mix 0.326 and with
`policy_states="next"` 0.395 of the raw env (1,137 -> 1,377 env steps/s; its learner's share per
env step 588 -> 434 us, 1.35x; XLA cost analysis 1,353 -> 927 MFLOP per update).
Keeping HeLMS-mix's frozen prior in the replay cut its update from 1.69 to 1.50 GFLOP (XLA cost
analysis; raw-action MPO: 1.05) and the loop by ~3 % (965 vs 938 env steps/s, same run, machine
busy, load ~5): most of the update is the critic at 2 x 20 sampled actions per state (~0.85
GFLOP of two 256-unit layers), the same for every MPO loop, so HeLMS-mix reaching 0.5x the raw
env would take fewer samples or a faster matmul, not less prior work.

Part 2, learner updates/s at the same batch and networks. Ours: `chunk` MPO updates as a
`lax.scan` under one `jit`, each on [B, n] sequences sampled from the on-device flashbax buffer
(as the loop's learn step). Baseline: `jax.jit(agent.update)` called once per update from
Python, the [B, n] sequences gathered with numpy from a host replay array of the same content
and transferred each step. Two baseline rows: without a host round trip per step (the stronger
baseline; the part-2 ratio uses it) and with one (`float(loss)` every step, as a naive loop that
logs every step; the `offline_learner` baseline).

Compile time is excluded (a first call per entry, its time printed). Entries of a part are then
timed in `--repeats` interleaved rounds (order rotated; calls shorter than 0.3 s repeated back
to back) and each figure is the median over rounds: the load of a shared machine drifts.
Networks and sizes are the stacking transfer experiments' (`experiments/helms_stacking.py`):
MPO 256 x 256, 20 action samples, 32 envs x 10 steps, 8 updates of [128, 5] per iteration.

  python benchmarks/rl_throughput.py --quick   # the same on stacking, 2 iterations per timed
                                               # call, 3 rounds: ~8 min, mostly compiling
  python benchmarks/rl_throughput.py           # 10 iterations per call, 5 rounds
Last line: `rl_throughput ratio: <loop env steps/s / raw env steps/s>` (part 1).
"""

import argparse
import dataclasses
import os
import platform
import sys
import time
import warnings
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from helms_jax import envs  # pylint: disable=wrong-import-position
from helms_jax.agents import mpo  # pylint: disable=wrong-import-position
from helms_jax.agents.helms import downstream as transfer  # pylint: disable=wrong-import-position
from helms_jax.agents.helms import offline as helms_offline  # pylint: disable=wrong-import-position
from helms_jax.agents.records import OfflineSkills  # pylint: disable=wrong-import-position
from helms_jax.training import devices, online_loop  # pylint: disable=wrong-import-position

# Env name -> (make kwargs, episode length): the transfer experiments' settings.
ENVS = {
    "point_reach": ({}, 100),
    "stacking": ({"task": "red_on_blue", "object_set": 4, "reward": "staged"}, 150),
}


class Timed:
  """A benchmark entry: `call()` runs one unit of work worth `units` env steps or updates and
  returns a pytree to wait on; `check(num_calls)` (optional) validates the state afterwards."""

  def __init__(self, name: str, call: Callable[[], Any], units: int,
               check: Callable[[int], None] | None = None):
    self.name, self.call, self.units, self.check = name, call, units, check
    self.first, self.times, self.reps, self.calls = float("nan"), [], 1, 0

  def run(self) -> float:
    """Seconds for `reps` back-to-back calls (dispatched asynchronously, waited on once)."""
    t0 = time.perf_counter()
    for _ in range(self.reps):
      out = self.call()
    jax.block_until_ready(out)
    self.calls += self.reps
    return time.perf_counter() - t0

  @property
  def rate(self) -> float:
    return self.units * self.reps / float(np.median(self.times))


def measure(entries: list[Timed], repeats: int, unit: str, min_seconds: float = 0.3) -> None:
  """First call of each (compile; printed), a calibration call (calls this short are repeated
  back to back up to `min_seconds`: a millisecond timing on a loaded machine is noise), then
  `repeats` rounds calling each entry once, the order rotated every round: the machine's load
  drifts, and interleaving spreads it over all entries. Rates are medians over the rounds."""
  for e in entries:
    e.first = e.run()
    print(f"  {e.name}: first call {e.first:.1f}s", flush=True)
    e.reps = max(1, int(np.ceil(min_seconds / e.run())))
  for r in range(repeats):
    for i in range(len(entries)):
      e = entries[(i + r) % len(entries)]
      e.times.append(e.run())
  for e in entries:
    if e.check is not None:
      e.check(e.calls)
    per = e.units * e.reps
    print(f"  {e.name}: {e.rate:,.1f} {unit}/s (median of {repeats} x {e.reps} calls; range "
          f"{per / max(e.times):,.1f}-{per / min(e.times):,.1f})", flush=True)


# ----------------------------------------------------------------------------------------------
# Part 1: env steps/s.

def raw_env_entry(env, config: online_loop.OnlineConfig) -> Timed:
  """jit(scan(vmap(env.step))) with random actions, no policy, no replay, no resets."""
  n_env, steps = config.num_envs, config.unroll_length * config.iterations_per_call
  step_batch = jax.vmap(env.step)

  def rollout(state, key):
    def body(s, k):
      a = jax.random.uniform(k, (n_env, env.action_size), minval=-1.0, maxval=1.0)
      s = step_batch(s, a)
      return s, s.reward
    state, rewards = jax.lax.scan(body, state, jax.random.split(key, steps))
    return state, jnp.sum(rewards)

  run = jax.jit(rollout, donate_argnums=0)
  carry = {"state": jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.PRNGKey(0), n_env)),
           "key": jax.random.PRNGKey(1)}

  def call():
    carry["key"], key = jax.random.split(carry["key"])
    carry["state"], total = run(carry["state"], key)
    return total

  return Timed("raw env: jit(scan(vmap(step)))", call, config.env_steps_per_call)


def loop_entry(name: str, agent, env, config: online_loop.OnlineConfig, seeds: int | None = None,
               seed_axis: str | None = None) -> Timed:
  """The jitted online-loop `call`: one seed, or with `seeds` that many vmapped (as the
  experiments run it, `over_seeds`; units are then env steps summed over the seeds), the reset
  branch's predicate per seed (`seed_axis` None: a select under vmap) or over the seed axis.
  Checks every iteration after the first call learned."""
  init, call_fn = online_loop.make_online_fns(agent, env, config, seed_axis=seed_axis)
  if seeds is None:
    run = jax.jit(call_fn, donate_argnums=0)
    carry = {"state": jax.jit(init)(jax.random.PRNGKey(0))}
  else:
    run = jax.jit(online_loop.over_seeds(call_fn, config), donate_argnums=0)
    keys = jnp.stack([jax.random.PRNGKey(s) for s in range(seeds)])
    carry = {"state": jax.jit(jax.vmap(init))(keys)}

  def call():
    carry["state"], stats, _ = run(carry["state"])
    return stats

  def check(num_calls: int):
    updates = np.asarray(carry["state"].updates)  # [] or [S]
    expected = num_calls * config.iterations_per_call * config.updates_per_iteration
    if np.any(updates != expected):
      raise RuntimeError(f"the loop ran {updates} updates, expected {expected}: learning did not "
                         f"start with the first call (min_replay_steps too large)")

  return Timed(name, call, (seeds or 1) * config.env_steps_per_call, check)


# ----------------------------------------------------------------------------------------------
# Part 2: learner updates/s.

def fill_replay(env, agent, config: online_loop.OnlineConfig, steps_per_env: int, seed: int = 0):
  """Random transitions [N, T, ...] as numpy (the same content goes into both buffers)."""
  rng = np.random.default_rng(seed)
  n, t, obs = config.num_envs, steps_per_env, env.observation_size
  spec = agent.agent_action_spec
  end = rng.random((n, t)) < 0.01
  return online_loop.Transition(
      observation=rng.normal(size=(n, t, obs)).astype(np.float32),
      agent_action=rng.uniform(-1, 1, size=(n, t) + spec.shape).astype(spec.dtype),
      reward=rng.normal(size=(n, t)).astype(np.float32),
      discount=np.where(end & (rng.random((n, t)) < 0.5), 0.0, 1.0).astype(np.float32),
      end=end.astype(np.float32),
      next_observation=rng.normal(size=(n, t, obs)).astype(np.float32))


def fused_entry(agent, config, data, chunk: int) -> Timed:
  """`chunk` updates as a lax.scan in one jit, [B, n] sampled from the device flashbax buffer."""
  replay = online_loop.make_replay(config)
  example = jax.tree.map(lambda x: jnp.asarray(x[0, 0]), data)
  replay_state = jax.jit(replay.add)(jax.jit(replay.init)(example), data)

  def updates(agent_state, replay_state, key):
    def one(a, k):
      sample_key, update_key = jax.random.split(k)
      batch = replay.sample(replay_state, sample_key).experience
      return agent.update(a, batch, update_key)
    return jax.lax.scan(one, agent_state, jax.random.split(key, chunk))

  run = jax.jit(updates, donate_argnums=0)
  carry = {"agent": jax.jit(agent.init)(jax.random.PRNGKey(0)), "key": jax.random.PRNGKey(1)}

  def call():
    carry["key"], key = jax.random.split(carry["key"])
    carry["agent"], metrics = run(carry["agent"], replay_state, key)
    return metrics

  return Timed("fused: scan of updates, device replay", call, chunk)


class HostReplay:
  """A numpy replay of [N, T] streams; samples [B, n] contiguous sequences (uniform env, start)."""

  def __init__(self, data, batch_size: int, sequence_length: int, seed: int = 0):
    self.data, self.b, self.n = data, batch_size, sequence_length
    self.num_envs, self.length = data.reward.shape
    self.rng = np.random.default_rng(seed)

  def sample(self):
    env = self.rng.integers(self.num_envs, size=(self.b, 1))
    time_ = self.rng.integers(self.length - self.n + 1, size=(self.b, 1)) + np.arange(self.n)
    return jax.tree.map(lambda x: x[env, time_], self.data)


def unfused_entry(agent, config, data, chunk: int, update, sync_every_step: bool) -> Timed:
  """`chunk` calls of the jitted `agent.update` from Python, host sampling + a transfer each."""
  host = HostReplay(data, config.batch_size, config.sequence_length)
  carry = {"agent": jax.jit(agent.init)(jax.random.PRNGKey(0)), "key": jax.random.PRNGKey(1)}

  def call():
    for _ in range(chunk):
      carry["key"], key = jax.random.split(carry["key"])
      carry["agent"], metrics = update(carry["agent"], jax.device_put(host.sample()), key)
      if sync_every_step:
        float(metrics["critic_loss"])  # a host round trip per step (logging every step)
    return carry["agent"]

  name = "  + float(loss) every update" if sync_every_step else "jit per update, host replay"
  return Timed(name, call, chunk)


# ----------------------------------------------------------------------------------------------

def helms_agent(method: str, env, agent_config):
  """MPO over a HeLMS transfer space (helms_cat / helms_mix) of random K = 5 skills at the
  stacking experiments' sizes (what acting and learning cost does not depend on training)."""
  config = helms_offline.default_config()
  config.num_skills, config.latent_size = 5, 8
  config.high_level_hidden = config.mid_level_hidden = config.low_level_hidden = (128, 128)
  learner = helms_offline.make_learner(config, env.observation_size, env.action_size,
                                       observation_groups=env.observation_groups, lookahead=5)
  skills = OfflineSkills(config=config, learner=learner,
                         params=learner.init(jax.random.PRNGKey(0)).params)
  run_config = ml_collections.ConfigDict({"transfer": transfer.default_config()})
  run_config.transfer.method = method.removesuffix("_uncached").removesuffix("_next")
  # As the transfer experiments run HeLMS-mix: its frozen prior read from the replay;
  # "helms_mix_uncached" evaluates it in every update (the loop before the cache).
  run_config.transfer.cache_prior = method in ("helms_mix", "helms_mix_next")
  if method.endswith("_next"):  # the E-step at x_n on the critic target's draws (one pass)
    agent_config = ml_collections.ConfigDict(agent_config.to_dict())
    agent_config.policy_states = "next"
  space = {"helms_cat": transfer.helms_cat_space,
           "helms_mix": transfer.helms_mix_space}[run_config.transfer.method](
               run_config, env, skills)
  return mpo.make_agent(agent_config, space, env.observation_size)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--quick", action="store_true")
  parser.add_argument("--env", default="stacking", choices=sorted(ENVS))
  parser.add_argument("--methods", default="mpo,helms_cat,helms_mix,helms_mix_next",
                      help="loops to time on the env: mpo (raw actions) and the HeLMS transfer "
                           "methods over random (untrained) K = 5 skills of the experiments' "
                           "sizes (helms_mix_next: MPO's policy_states='next', one target "
                           "critic pass per update; helms_mix_uncached: its prior evaluated in "
                           "every update)")
  parser.add_argument("--num_envs", type=int, default=32)
  parser.add_argument("--unroll_length", type=int, default=10)
  parser.add_argument("--iterations_per_call", type=int, default=None,
                      help="default 2 with --quick (shorter timed calls), else 10 (the config's)")
  parser.add_argument("--updates_per_iteration", type=int, default=8)
  parser.add_argument("--batch_size", type=int, default=128)
  parser.add_argument("--sequence_length", type=int, default=5)
  parser.add_argument("--hidden", type=int, nargs="+", default=[256, 256],
                      help="policy and critic hidden sizes")
  parser.add_argument("--num_samples", type=int, default=20, help="MPO action samples per state")
  parser.add_argument("--chunk", type=int, default=None, help="updates per timed learner call")
  parser.add_argument("--repeats", type=int, default=None)
  parser.add_argument("--seeds", type=int, default=3,
                      help="also time the acting + replay loop over this many vmapped seeds (the "
                           "experiments' population), its reset branch per seed vs over the seed "
                           "axis; < 2 skips it (two compilations fewer)")
  parser.add_argument("--no_breakdown", action="store_true",
                      help="skip the acting + replay only loop (one compilation fewer)")
  parser.add_argument("--cache_dir", default="",
                      help="persistent compilation cache (repeat runs skip compiling); off by "
                           "default, so 'first call' is compile time")
  args = parser.parse_args()
  warnings.filterwarnings("ignore", message="Setting max_size dynamically")  # flashbax, harmless
  env_name = args.env
  repeats = args.repeats or (3 if args.quick else 5)
  chunk = args.chunk or (8 if args.quick else 40)
  iterations = args.iterations_per_call or (2 if args.quick else 10)
  if args.cache_dir:
    devices.enable_compilation_cache(args.cache_dir)

  kwargs, episode_length = ENVS[env_name]
  env = envs.EpisodeWrapper(envs.make(env_name, **kwargs), episode_length=episode_length)
  # The helms_stacking transfer loop's sizes; learning from the first iteration on.
  config = online_loop.OnlineConfig(
      num_envs=args.num_envs, unroll_length=args.unroll_length,
      iterations_per_call=iterations,
      updates_per_iteration=args.updates_per_iteration, batch_size=args.batch_size,
      sequence_length=args.sequence_length, replay_capacity=100_000,
      min_replay_steps=args.num_envs * max(args.unroll_length, args.sequence_length),
      env_steps=args.num_envs * args.unroll_length * iterations)
  agent_config = mpo.default_config()
  agent_config.critic_hidden, agent_config.num_samples = tuple(args.hidden), args.num_samples
  space = transfer.raw_action_space(env.observation_size, env.action_size, tuple(args.hidden))
  agent = mpo.make_agent(agent_config, space, env.observation_size)
  ratio = (config.updates_per_iteration * config.batch_size /
           (config.unroll_length * config.num_envs))
  print(f"machine: {os.cpu_count()} cpus ({platform.machine()}), jax {jax.__version__}, "
        f"backend {jax.default_backend()}, devices {jax.devices()}, "
        f"load average {os.getloadavg()[0]:.2f}", flush=True)
  print(f"env {env_name} (obs {env.observation_size}, act {env.action_size}, episode "
        f"{episode_length}); {config.num_envs} envs x {config.unroll_length} steps x "
        f"{config.iterations_per_call} iterations = {config.env_steps_per_call} env steps per call",
        flush=True)
  print(f"MPO on raw actions: hidden {tuple(args.hidden)}, {args.num_samples} action samples; "
        f"{config.updates_per_iteration} updates of [{config.batch_size}, "
        f"{config.sequence_length}] per iteration = replay ratio {ratio:.2f} sampled sequences "
        f"per env step ({1000 * config.updates_per_iteration / (config.unroll_length * config.num_envs):.1f} "
        f"updates per 1000 env steps)", flush=True)

  # Part 1.
  print("part 1: env steps/s", flush=True)
  part1 = [raw_env_entry(env, config)]
  if not args.no_breakdown:
    part1.append(loop_entry("loop, act + replay, no updates", agent, env,
                            dataclasses.replace(config, updates_per_iteration=0)))
  methods = args.methods.split(",")
  for method in methods:
    method_agent = agent if method == "mpo" else helms_agent(method, env, agent_config)
    part1.append(loop_entry(f"loop, act + replay + {method} ({ratio:.2f})", method_agent, env,
                            config))
  if args.seeds > 1:
    acting = dataclasses.replace(config, updates_per_iteration=0)
    for label, axis in (("reset per seed", None), ("reset over seeds", online_loop.SEED_AXIS)):
      part1.append(loop_entry(f"{args.seeds} seeds, act + replay, {label}", agent, env, acting,
                              seeds=args.seeds, seed_axis=axis))
  measure(part1, repeats, "env steps")
  rows1 = [(e.name, e.rate, e.first) for e in part1]
  loop_sps = rows1[1 + (not args.no_breakdown)][1]  # the first method's loop (mpo by default)

  # Part 2.
  print("part 2: learner updates/s", flush=True)
  data = fill_replay(env, agent, config, steps_per_env=config.replay_capacity // config.num_envs)
  update = jax.jit(agent.update)  # shared by both baseline rows (one compilation)
  part2 = [fused_entry(agent, config, data, chunk),
           unfused_entry(agent, config, data, chunk, update, sync_every_step=False),
           unfused_entry(agent, config, data, chunk, update, sync_every_step=True)]
  measure(part2, repeats, "updates")
  rows2 = [(e.name, e.rate, e.first) for e in part2]
  fused, base, base_sync = (e.rate for e in part2)

  raw_sps = rows1[0][1]
  print()
  print(f"{'part 1: env steps/s':<44}{'env steps/s':>14}{'vs raw env':>12}{'first call s':>14}")
  for name, rate, first in rows1:
    print(f"{name:<44}{rate:>14,.0f}{rate / raw_sps:>12.3f}{first:>14.1f}")
  no_updates = rows1[1][1] if not args.no_breakdown else None
  print(f"  loop cost per env step: env {1e6 / raw_sps:.2f} us, acting + replay "
        + (f"{1e6 / no_updates - 1e6 / raw_sps:.2f} us, " if no_updates else "- (skipped), ")
        + f"learner {1e6 / loop_sps - 1e6 / (no_updates or raw_sps):.2f} us"
        f" ({config.updates_per_iteration} updates per {config.unroll_length * config.num_envs} "
        f"env steps)")
  if args.seeds > 1:
    per_seed, over_seeds = rows1[-2][1], rows1[-1][1]
    print(f"  {args.seeds} seeds: env steps summed over the seeds ('vs raw env' is against one "
          f"seed's {config.num_envs} envs); reset over the seed axis / per seed: "
          f"{over_seeds / per_seed:.2f}")
  print()
  print(f"{'part 2: MPO learner, batch ' + str(config.batch_size) + ' x ' + str(config.sequence_length):<44}"
        f"{'updates/s':>14}{'vs base':>12}{'first call s':>14}")
  for i, (name, rate, first) in enumerate(rows2):
    first = "(shared)" if i == 2 else f"{first:.1f}"  # compiled by the row above
    print(f"{name:<44}{rate:>14.1f}{rate / base:>12.3f}{first:>14}")
  print(f"part 2 ratio (fused / jit per update, no per-step sync): {fused / base:.2f}; "
        f"with a per-step sync: {fused / base_sync:.2f}")
  print(f"rl_throughput ratio: {loop_sps / raw_sps:.3f}")


if __name__ == "__main__":
  main()

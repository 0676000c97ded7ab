"""Data-parallel scaling: HeLMS learner samples/s at 1, 2, 4 devices as efficiency vs linear.

Ours: the HeLMS offline learner's fused chunk (`training.offline_loop.make_chunk_fn`) jitted
exactly as `train_offline` runs it (state and dataset replicated, batch sharded over the `data`
mesh axis, XLA's gradient all-reduce) on N forced CPU devices. Baseline (same script): the same
chunk on 1 device, scaled linearly. Weak scaling: the per-device batch is fixed, the global batch
is per-device batch x N. Efficiency = samples/s at N / (N x samples/s at 1).

Forced devices must be set before jax is imported, so the main process runs this script once per
N in a subprocess with `XLA_FLAGS=--xla_force_host_platform_device_count=N` and a hidden
`--worker=N` flag that prints one JSON line; the parent prints the table. Forced CPU devices share
the machine's cores, so on a C-core machine efficiency above C devices is bounded by about C/N.

  python benchmarks/scaling.py --quick
  python benchmarks/scaling.py --devices=1,2,4,8
Last line: `scaling ratio: <efficiency at the largest device count>`.

Measured 2026-11-30 (2-core CPU, no GPU, jax 0.9.2, quiet machine, --quick: per-device batch 32,
20 updates per call, best of 5; HeLMS K 5, hidden 64x2, window 16 + lookahead 5):
  devices  global batch  updates/s  samples/s  speed-up  efficiency
        1            32      160.3       5130      1.00        1.00
        2            64      104.6       6697      1.31        0.65
        4           128       51.4       6576      1.28        0.32
scaling ratio 0.32 (N=4, bound ~0.5 here); 0.65 at N=2. The 1-device baseline already uses both
cores through XLA's intra-op threads (pinned to one core with `taskset -c 0` it does 3950
samples/s), so the 2-device run gets 6697 of a two-core ceiling of about 2 x 3950 = 7900 (85%);
at 4 devices the two cores are saturated and samples/s stays flat. The figure to read on a
multi-core or accelerator host is the efficiency at N up to the core/accelerator count.

`--processes=P` (default 2) also runs each device count as P processes connected by
jax.distributed over localhost (the multi-host code path, gloo collectives over TCP). Same
machine, quiet, --quick (2026-11-30, after commit ba2afd4): 2 devices as 2 processes x 1: 3342 samples/s,
0.48 of one process with 2 devices; 4 devices as 2 x 2: 2276 samples/s, 0.34 of one process.
Gloo's TCP all-reduce of the gradient (~10 ms per update here) dominates an update of ~9 ms:
on CPU the multi-process path buys capacity (more hosts), not speed on one host; on GPU/TPU
hosts the collectives are NCCL / ICI instead.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time

SIZES = dict(window=16, lookahead=5, hidden=64, num_skills=5, latent_size=8, act=5,
             dataset_steps=20000)


def worker(n, per_device_batch, chunk_len, repeats):
  """Runs in a subprocess with N forced CPU devices; returns the measurements as a dict."""
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  from helms_jax.training import distributed  # pylint: disable=import-outside-toplevel
  distributed.initialize()  # a multi-process worker (JAX_* variables); else a no-op
  import jax  # pylint: disable=import-outside-toplevel
  import jax.numpy as jnp  # pylint: disable=import-outside-toplevel

  # pylint: disable=import-outside-toplevel
  from helms_jax.agents.helms import offline
  from helms_jax.envs.manipulation.stacking import OBSERVATION_GROUPS
  from helms_jax.training import devices
  from helms_jax.training.offline_loop import init_loop_state, make_chunk_fn
  # pylint: enable=import-outside-toplevel

  if len(jax.devices()) != n:
    raise RuntimeError(f"asked for {n} forced devices, got {len(jax.devices())}")
  obs_size, act = OBSERVATION_GROUPS.obs_size, SIZES["act"]
  window, lookahead = SIZES["window"], SIZES["lookahead"]
  batch = per_device_batch * n

  cfg = offline.default_config()
  cfg.num_skills, cfg.latent_size = SIZES["num_skills"], SIZES["latent_size"]
  hidden = (SIZES["hidden"], SIZES["hidden"])
  cfg.high_level_hidden = cfg.mid_level_hidden = cfg.low_level_hidden = hidden
  learner = offline.make_learner(cfg, obs_size, act, observation_groups=OBSERVATION_GROUPS,
                                 lookahead=lookahead)

  def sample_fn(data, key):
    start = jax.random.randint(key, (batch,), 0, data["obs"].shape[0] - window - lookahead)
    obs_idx = start[:, None] + jnp.arange(window + lookahead)
    return {"observation": data["obs"][obs_idx], "obs_mask": jnp.ones((batch, window + lookahead)),
            "action": data["act"][obs_idx[:, :window]]}

  keys = jax.random.split(jax.random.PRNGKey(0), 2)
  data = {"obs": jax.random.normal(keys[0], (SIZES["dataset_steps"], obs_size)),
          "act": jax.random.uniform(keys[1], (SIZES["dataset_steps"], act), minval=-1, maxval=1)}

  # As train_offline: replicated state and data, batch sharded over the mesh.
  mesh = devices.make_mesh()
  replicated, batch_sharding = devices.replicated(mesh), devices.batch_sharded(mesh)
  state = devices.put_global(init_loop_state(learner, 0), replicated)
  data = devices.put_global(jax.device_get(data), replicated)
  chunk = jax.jit(make_chunk_fn(learner, sample_fn, chunk_len, batch_sharding),
                  in_shardings=(replicated, replicated),
                  out_shardings=(replicated, replicated, replicated))

  t0 = time.perf_counter()
  state, _, _ = chunk(state, data)
  jax.block_until_ready(state)
  first_call = time.perf_counter() - t0
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    state, metrics, _ = chunk(state, data)
    jax.block_until_ready((state, metrics))
    times.append(time.perf_counter() - t0)
  updates_per_s = chunk_len / min(times)
  result = {"devices": n, "processes": jax.process_count(), "global_batch": batch,
            "updates_per_s": updates_per_s, "samples_per_s": updates_per_s * batch,
            "first_call_s": first_call, "jax": jax.__version__, "backend": jax.default_backend(),
            "loss_finite": bool(jnp.isfinite(metrics["loss"])) if "loss" in metrics else None}
  distributed.shutdown()
  return result


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def run_worker_subprocess(n, args, processes=1):
  """N devices as `processes` processes of N / processes forced CPU devices each (connected by
  jax.distributed over localhost, gloo collectives); returns process 0's measurements."""
  env = dict(os.environ)
  flag = f"--xla_force_host_platform_device_count={n // processes}"
  env["XLA_FLAGS"] = f"{env['XLA_FLAGS']} {flag}" if env.get("XLA_FLAGS") else flag
  env.setdefault("JAX_PLATFORMS", "cpu")
  for name in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
    env.pop(name, None)
  if processes > 1:
    env.update(JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{_free_port()}",
               JAX_NUM_PROCESSES=str(processes))
  cmd = [sys.executable, os.path.abspath(__file__), f"--worker={n}",
         f"--per_device_batch={args.per_device_batch}", f"--chunk={args.chunk}",
         f"--repeats={args.repeats}"] + (["--quick"] if args.quick else [])
  procs = [subprocess.Popen(cmd, env=dict(env, JAX_PROCESS_ID=str(i)) if processes > 1 else env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
           for i in range(processes)]
  outputs = [proc.communicate() for proc in procs]
  for proc, (_, err) in zip(procs, outputs):
    if proc.returncode != 0:
      sys.stderr.write(err[-3000:])
      raise SystemExit(f"worker for {n} devices in {processes} processes failed "
                       f"(exit {proc.returncode})")
  lines = [l for l in outputs[0][0].splitlines() if l.startswith("{")]
  return json.loads(lines[-1])


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="fewer updates (about a minute)")
  parser.add_argument("--devices", default="1,2,4", help="comma-separated device counts")
  parser.add_argument("--per_device_batch", type=int, default=32)
  parser.add_argument("--chunk", type=int, default=None, help="updates per timed jitted call")
  parser.add_argument("--repeats", type=int, default=None, help="timed calls (best is kept)")
  parser.add_argument("--processes", type=int, default=2,
                      help="also run each device count >= P as P processes (multi-host path "
                           "over localhost); 1 to skip")
  parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.chunk is None:
    args.chunk = 20 if args.quick else 50
  if args.repeats is None:
    args.repeats = 5 if args.quick else 7

  if args.worker is not None:
    print(json.dumps(worker(args.worker, args.per_device_batch, args.chunk, args.repeats)))
    return

  counts = sorted({int(c) for c in args.devices.split(",") if c.strip()})
  if 1 not in counts:
    counts = [1] + counts  # the baseline
  results = {n: run_worker_subprocess(n, args) for n in counts}
  multi = {}
  if args.processes > 1:
    multi = {n: run_worker_subprocess(n, args, args.processes) for n in counts
             if n >= args.processes and n % args.processes == 0}
  base = results[1]["samples_per_s"]
  first = results[1]
  print(f"machine: {os.cpu_count()} cpus (os.cpu_count()), jax {first['jax']}, backend "
        f"{first['backend']}")
  print(f"HeLMS learner, K {SIZES['num_skills']}, hidden {SIZES['hidden']}x2, window "
        f"{SIZES['window']} + lookahead {SIZES['lookahead']}, per-device batch "
        f"{args.per_device_batch}, {args.chunk} updates per call, best of {args.repeats}")
  print(f"{'devices':>8}{'global batch':>14}{'updates/s':>12}{'samples/s':>12}"
        f"{'speed-up':>10}{'efficiency':>12}{'first call (s)':>16}")
  for n in counts:
    r = results[n]
    speedup = r["samples_per_s"] / base
    print(f"{n:>8}{r['global_batch']:>14}{r['updates_per_s']:>12.1f}{r['samples_per_s']:>12.0f}"
          f"{speedup:>10.2f}{speedup / n:>12.2f}{r['first_call_s']:>16.2f}")
  if multi:
    print(f"the same devices as {args.processes} processes (jax.distributed on localhost, gloo "
          "all-reduce between processes):")
    for n, r in multi.items():
      speedup = r["samples_per_s"] / base
      print(f"{n:>8}{r['global_batch']:>14}{r['updates_per_s']:>12.1f}"
            f"{r['samples_per_s']:>12.0f}{speedup:>10.2f}{speedup / n:>12.2f}"
            f"{r['first_call_s']:>16.2f}   ({args.processes} processes x "
            f"{n // args.processes}; vs 1 process: "
            f"{r['samples_per_s'] / results[n]['samples_per_s']:.2f})")
  cpus = os.cpu_count() or 1
  print(f"note: forced CPU devices share this machine's {cpus} cores, so efficiency above {cpus} "
        f"devices is bounded by about {cpus}/N (e.g. {min(1.0, cpus / counts[-1]):.2f} at "
        f"N={counts[-1]}); on one core per device (or accelerators) the bound is 1.")
  largest = counts[-1]
  print(f"scaling ratio: {results[largest]['samples_per_s'] / (largest * base):.3f}")


if __name__ == "__main__":
  main()

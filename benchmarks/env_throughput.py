"""Stacking env throughput: vectorised MJX env steps vs C MuJoCo single-threaded, same MJCF.

Ours: `make("stacking", object_set=4)`; `jit` of a `lax.scan` over `num_steps` of `vmap(env.step)`
with uniform random actions in [-1, 1]^5, at several batch sizes. Each env step is `env.substeps`
physics steps plus observation/reward.
Baseline (same run): C MuJoCo (`mujoco.mj_step` in a Python loop, one thread) stepping the same
`env.mj_model`, `env.substeps` physics steps per env step, with the env's own action -> ctrl
mapping (end-effector velocity targets, finger target) done in numpy, from the env's initial
state distribution. The C rate is the best of several repeats of >= `--c_seconds` each (short C
runs are noisy on a shared machine).

Also printed: the same env with the RGB-Stacking test-triplet meshes (`objects="rgb"`, the
HeLMS experiments' objects, same object set) at the largest batch, MJX and C MuJoCo, beside the
simple objects (their rate relative to them); the cost of rendering a `--image_size` image
(`vision.Camera.render`, vmapped over the largest batch) in env steps, compile time of the
first call per batch size, MJX contact slots (fixed, one per explicit pair and contact point)
vs the C contact count actually active (mean/max over the run).

  python benchmarks/env_throughput.py --quick   # batch 64 only: one compile (~1 min when the
                                                # machine is idle; 3-4 min under load)
  python benchmarks/env_throughput.py           # adds batch 256
Last line: `env_throughput ratio: <MJX env steps/s at the largest batch / C env steps/s>`.
"""

import argparse
import os
import sys
import time

import jax
import mujoco
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from helms_jax import envs  # pylint: disable=wrong-import-position
from helms_jax.envs.manipulation import scene, stacking  # pylint: disable=wrong-import-position


def make_mjx_rollout(env, batch_size: int, num_steps: int):
  """jit(reset + scan of vmapped step); returns (compiled fn, compile seconds).

  fn(key) -> (final states, rewards [num_steps, batch_size]).
  """

  def rollout(key):
    k_reset, k_act = jax.random.split(key)
    state = jax.vmap(env.reset)(jax.random.split(k_reset, batch_size))

    def body(s, k):
      a = jax.random.uniform(k, (batch_size, env.action_size), minval=-1.0, maxval=1.0)
      s = jax.vmap(env.step)(s, a)
      return s, s.reward

    return jax.lax.scan(body, state, jax.random.split(k_act, num_steps))

  t0 = time.perf_counter()
  compiled = jax.jit(rollout).lower(jax.random.PRNGKey(0)).compile()
  return compiled, time.perf_counter() - t0


def time_mjx(compiled, repeats: int, *args, key_arg: bool = True):
  """(best wall time of `repeats` calls after one warm-up call, last output)."""
  call = (lambda r: compiled(jax.random.PRNGKey(r))) if key_arg else (lambda r: compiled(*args))
  out = jax.block_until_ready(call(1))
  best = np.inf
  for r in range(repeats):
    t0 = time.perf_counter()
    out = jax.block_until_ready(call(2 + r))
    best = min(best, time.perf_counter() - t0)
  return best, out


def time_render(env, states, size: int, repeats: int):
  """(seconds per image, compile s) of `vision.Camera.render` vmapped over `states`."""
  from helms_jax.envs.manipulation import vision  # pylint: disable=import-outside-toplevel
  camera = vision.Camera.for_model(env.mj_model, size)
  render = jax.vmap(lambda d: camera.render(env.mjx_model, d))  # model closed over (static)
  data = states.pipeline_state
  t0 = time.perf_counter()
  compiled = jax.jit(render).lower(data).compile()
  compile_s = time.perf_counter() - t0
  wall, _ = time_mjx(compiled, repeats, data, key_arg=False)
  return wall / states.obs.shape[0], compile_s


class CStepper:
  """C MuJoCo on `env.mj_model` with the env's action -> ctrl mapping (numpy copy of `env.step`)."""

  def __init__(self, env, seed: int = 0):
    self.env, self.m = env, env.mj_model
    self.d = mujoco.MjData(self.m)
    self.rng = np.random.default_rng(seed)
    self.lo, self.hi = self.m.actuator_ctrlrange[:, 0], self.m.actuator_ctrlrange[:, 1]
    self.initial = jax.jit(jax.vmap(env.initial_qpos))
    self.ncon = []
    self.reset()

  def reset(self):
    qpos = np.asarray(self.initial(jax.random.split(
        jax.random.PRNGKey(int(self.rng.integers(1 << 30))), 1))[0], np.float64)
    mujoco.mj_resetData(self.m, self.d)
    self.d.qpos[:] = qpos
    self.d.ctrl[:] = np.concatenate([qpos[self.env._arm_qpos], np.zeros(2)])  # pylint: disable=protected-access
    mujoco.mj_forward(self.m, self.d)

  def step(self, action):
    env, d = self.env, self.d
    arm_qpos = d.qpos[env._arm_qpos]  # pylint: disable=protected-access
    delta = np.concatenate([action[:3] * stacking.MAX_SPEED,
                            action[3:4] * stacking.MAX_YAW_SPEED]) * env.control_dt
    arm_target = np.clip(d.ctrl[:4] + delta, arm_qpos - 0.05, arm_qpos + 0.05)
    finger = (action[4] + 1.0) / 2.0 * scene.FINGER_TRAVEL
    d.ctrl[:] = np.clip(np.concatenate([arm_target, [finger, finger]]), self.lo, self.hi)
    for _ in range(env.substeps):
      mujoco.mj_step(self.m, d)
    self.ncon.append(d.ncon)

  def steps_per_second(self, min_seconds: float, repeats: int, episode_length: int = 100) -> float:
    """Best env steps/s over `repeats` runs of >= min_seconds (episodes of `episode_length`)."""
    best = 0.0
    for _ in range(repeats):
      actions = self.rng.uniform(-1, 1, (episode_length, 5))
      n, t0 = 0, time.perf_counter()
      while True:
        self.reset()
        for a in actions:
          self.step(a)
        n += episode_length
        elapsed = time.perf_counter() - t0
        if elapsed >= min_seconds:
          break
      best = max(best, n / elapsed)
    return best


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--quick", action="store_true")
  parser.add_argument("--c_seconds", type=float, default=0.5)
  parser.add_argument("--object_set", type=int, default=4)
  parser.add_argument("--image_size", type=int, default=32)
  args = parser.parse_args()
  batches = (64,) if args.quick else (1, 64, 256)
  num_steps = 50 if args.quick else 100
  repeats = 2 if args.quick else 3

  env = envs.make("stacking", object_set=args.object_set)
  print(f"stacking object_set={args.object_set}: substeps={env.substeps}, "
        f"timestep={env.mj_model.opt.timestep}, iterations={env.mj_model.opt.iterations}, "
        f"ls_iterations={env.mj_model.opt.ls_iterations}, devices={jax.devices()}")

  c = CStepper(env)
  c_rate = c.steps_per_second(args.c_seconds, repeats=5)
  c_ncon = np.asarray(c.ncon)

  rows = []
  for b in batches:
    compiled, compile_s = make_mjx_rollout(env, b, num_steps)
    wall, (final_states, _) = time_mjx(compiled, repeats)
    rows.append((b, compile_s, b * num_steps / wall))
    print(f"  batch {b}: compile {compile_s:.1f}s, {b * num_steps / wall:,.0f} env steps/s",
          flush=True)

  render_s, render_compile_s = time_render(env, final_states, args.image_size, repeats)

  # The HeLMS experiments' objects (RGB-Stacking meshes) at the largest batch, MJX and C.
  rgb_env = envs.make("stacking", object_set=args.object_set, objects="rgb")
  rgb_c_rate = CStepper(rgb_env).steps_per_second(args.c_seconds, repeats=5)
  rgb_compiled, rgb_compile_s = make_mjx_rollout(rgb_env, batches[-1], num_steps)
  rgb_rate = batches[-1] * num_steps / time_mjx(rgb_compiled, repeats)[0]

  slots = jax.jit(env.reset)(jax.random.PRNGKey(0)).pipeline_state._impl.contact.dist.shape[0]  # pylint: disable=protected-access
  print()
  print(f"{'backend':<28}{'batch':>6}{'env steps/s':>14}{'phys steps/s':>14}{'vs C':>8}"
        f"{'compile s':>11}")
  print(f"{'C MuJoCo (1 thread)':<28}{1:>6}{c_rate:>14,.0f}{c_rate * env.substeps:>14,.0f}"
        f"{1.0:>8.2f}{'-':>11}")
  for b, compile_s, rate in rows:
    print(f"{'MJX jit(scan(vmap(step)))':<28}{b:>6}{rate:>14,.0f}{rate * env.substeps:>14,.0f}"
          f"{rate / c_rate:>8.2f}{compile_s:>11.1f}")
  print(f"{'C MuJoCo, RGB meshes':<28}{1:>6}{rgb_c_rate:>14,.0f}"
        f"{rgb_c_rate * rgb_env.substeps:>14,.0f}{rgb_c_rate / c_rate:>8.2f}{'-':>11}")
  print(f"{'MJX, RGB meshes':<28}{batches[-1]:>6}{rgb_rate:>14,.0f}"
        f"{rgb_rate * rgb_env.substeps:>14,.0f}{rgb_rate / c_rate:>8.2f}{rgb_compile_s:>11.1f}")
  print(f"RGB meshes vs simple objects (object set {args.object_set}): MJX "
        f"{rgb_rate / rows[-1][2]:.2f}x, C {rgb_c_rate / c_rate:.2f}x the simple objects' rate")
  print(f"contacts: MJX {slots} slots every step; C active contacts mean "
        f"{c_ncon.mean():.1f}, max {c_ncon.max()} (over {c_ncon.size} env steps)")
  step_s = 1.0 / rows[-1][2]  # seconds per env step (per env) at the largest batch
  print(f"render {args.image_size}x{args.image_size} (vision.Camera, vmapped over batch "
        f"{batches[-1]}): {render_s * 1e3:.2f} ms per image = {render_s / step_s:.2f} env steps "
        f"(one env step: {step_s * 1e3:.2f} ms per env at this batch); compile {render_compile_s:.1f}s")
  print(f"env_throughput ratio: {rows[-1][2] / c_rate:.3f}")


if __name__ == "__main__":
  main()

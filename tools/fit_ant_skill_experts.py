"""Fits the CPG parameters of the `ant_skills` experts (`SKILL_PARAMS` in
`helms_jax/envs/locomotion/skills.py`) by CEM, and prints them.

    python tools/fit_ant_skill_experts.py        # or, from the repository root:
    python -m tools.fit_ant_skill_experts

The search: CEM (`helms_jax.planning.cem`) over each behaviour's 25 CPG numbers (the expert of
`skills.py`: `skills.cpg_action` tracked by PD, with the expert's per-episode jitter and action
noise), started from hand-designed seeds (`designed_means`: a trot, an in-place turn, a
raised-leg stance), all five behaviours' populations in one jitted, vmapped rollout, each
sample scored by the mean env reward (the behaviour's quality score) over 2 episodes of 64
steps, with the expert's default jitter and noise (0.1) on. `SKILL_PARAMS` are the final CEM
means (they measured better than the best single samples, which were scored by 2 lucky
episodes). Defaults (the run that gave `SKILL_PARAMS`): seed 0, 96 samples, 10 elites, 40
iterations per behaviour: 5 x 96 x 2 episodes x 64 steps per iteration; ~140-185 s on the
2-core CPU including ~20 s of compilation; a rerun gave bit-identical rows.
"""

import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from helms_jax.envs.locomotion import skills  # pylint: disable=wrong-import-position
from helms_jax.planning.cem import cem  # pylint: disable=wrong-import-position


def designed_means() -> np.ndarray:
  """Hand-designed CPG gaits [5, 25] that seed the search (phases in units of pi).

  Geometry: legs 1..4 point at 45, 135, 225, 315 deg; a positive hip angle turns a leg
  counter-clockwise, which moves the feet of legs 1, 2 backwards (-x) and of legs 3, 4
  forwards. A leg pushes (stance) while its ankle is "down" (foot low, body weight on it).
  forward: a trot (diagonal pairs 1+3 and 2+4 half a cycle apart), each foot down while it
    moves backwards: hip phases (0, 1, 1, 0), ankle phases (0.5, 1.5, 0.5, 1.5).
  turn: every foot down while it moves clockwise (the body turns counter-clockwise): hip
    phases (1, 0, 1, 0), ankle phases (0.5, 1.5, 0.5, 1.5).
  raise_leg: leg 1's ankle at its highest (down0 -> 0.53 rad, no oscillation), the other legs
    still.
  forward+turn: the trot, with the hips biased clockwise (offsets -0.15 rad).
  forward+raise_leg: the trot with leg 1 raised as in raise_leg.
  (In both raise behaviours `skills.cpg_action` overrides leg 1's oscillation and ankle anyway.)
  As measured before the search (noise 0.1, 64 steps): the trot seed swayed sideways
  (v_f 0.04 m/s, |v_l| 0.75 m/s), the turn seed turned at 1.4 rad/s but tipped over in some
  episodes; CEM turns them into the gaits of skills.py's docstring.
  """
  m = np.zeros((skills.NUM_BEHAVIOURS, skills.NUM_PARAMS), np.float32)
  m[:, 0] = np.arctanh((2.0 - 1.75) / 1.25)  # 2 Hz
  trot_hip, trot_ankle = [0.0, 1.0, 1.0, 0.0], [0.5, 1.5, 0.5, 1.5]
  for b in (0, 3, 4):
    m[b, 9:13], m[b, 21:25] = trot_hip, trot_ankle
  m[1, 9:13], m[1, 21:25] = [1.0, 0.0, 1.0, 0.0], trot_ankle
  m[3, 1:5] = np.arctanh(-0.15 / 0.5)
  for b in (2, 4):
    m[b, 13], m[b, 17] = -2.0, -3.0  # leg 1: ankle down0 = 0.53 rad, amplitude ~0
  m[2, 5:9] = -3.0  # raise_leg: no hip oscillation
  m[2, 17:21] = -3.0
  return m


def search_parameters(seed: int = 0, num_samples: int = 96, num_elites: int = 10,
                      num_iters: int = 40, num_steps: int = 64, episodes_per_sample: int = 2,
                      noise_scale: float = 0.1, init_std: float = 0.8, min_std: float = 0.05,
                      init_mean: np.ndarray | None = None):
  """CEM over each behaviour's CPG parameters (all behaviours in one jitted vmapped search).

  Each sample is scored by `episodes_per_sample` episodes of `num_steps` steps (random reset,
  jitter and action noise as the expert has): the mean env reward over the steps after
  `skills.SETTLE_STEPS`.
  init_mean: [5, 25] where CEM starts (default: `designed_means()`).
  Returns (best params [5, 25] — the best sample seen per behaviour, best scores [5],
  final CEM means [5, 25]).
  """
  env = skills.AntSkills()

  def episode(params, task_id, key):
    k_reset, k_jit, k_noise = jax.random.split(key, 3)
    state = env.reset_with_behaviour(k_reset, task_id)
    jitter = skills.draw_jitter(k_jit)

    def body(state, xs):
      t, k = xs
      action = skills.noisy_action(skills.cpg_action(params, state.obs, t, *jitter, task_id), k,
                                   noise_scale)
      state = env.step(state, action)
      return state, state.reward

    ts = jnp.arange(num_steps, dtype=jnp.int32)
    _, rewards = jax.lax.scan(body, state, (ts, jax.random.split(k_noise, num_steps)))
    return jnp.mean(rewards[skills.SETTLE_STEPS:])

  def search(task_id, key, mean):
    k_cem, k_eval = jax.random.split(key)

    def objective(samples):  # [N, 25] -> [N]
      # fresh episode keys per CEM iteration, derived from the samples (the objective gets
      # no key): a hash of the sample values
      bits = jax.lax.bitcast_convert_type(samples.sum(-1), jnp.uint32)
      keys = jax.vmap(lambda b: jax.random.split(jax.random.fold_in(k_eval, b),
                                                 episodes_per_sample))(bits)
      per_episode = jax.vmap(episode, in_axes=(None, None, 0))
      return jnp.mean(jax.vmap(per_episode, in_axes=(0, None, 0))(samples, task_id, keys), -1)

    return cem(objective, k_cem, mean, jnp.full_like(mean, init_std), num_samples=num_samples,
               num_elites=num_elites, num_iters=num_iters, min_std=min_std)

  ids = jnp.arange(skills.NUM_BEHAVIOURS, dtype=jnp.int32)
  keys = jax.random.split(jax.random.PRNGKey(seed), skills.NUM_BEHAVIOURS)
  means = jnp.asarray(designed_means() if init_mean is None else init_mean, jnp.float32)
  result = jax.jit(jax.vmap(search))(ids, keys, means)
  return result.best_sample, result.best_score, result.mean


def main():
  start = time.time()
  _, score, mean = jax.device_get(search_parameters())
  np.set_printoptions(precision=3, suppress=True, linewidth=120, floatmode="fixed")
  print(f"search took {time.time() - start:.0f} s; best scores {score}")
  rows = ",\n".join("    [" + ", ".join(f"{v:.5f}" for v in r) + "]" for r in mean)
  print("SKILL_PARAMS = np.array([\n" + rows + ",\n], np.float32)")


if __name__ == "__main__":
  main()

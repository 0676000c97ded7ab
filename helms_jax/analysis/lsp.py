"""LSP analysis: 2-D root trajectories of different skills from one start state (LSP Figure 6).

From one reset state, each of M skills is held fixed for T steps and executed by the learned
low-level policy (its mean action, the belief filtered by the world model as when acting); the
root's (x, y) (`state.info['root_xy']`, which every locomotion env provides) is drawn per skill.
The spread of the skills' end points (mean pairwise distance) and their mean displacement
summarise how distinguishable the skills are (the MI reward's purpose; compare LSP with LSP
without MI).
"""

from __future__ import annotations

import os
from typing import Any

import jax
import jax.numpy as jnp
import matplotlib
import ml_collections

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from helms_jax import runs
from helms_jax.agents import lsp
from helms_jax.analysis.analysis_index import ANALYSIS_DIR, write_analysis_index
from helms_jax.analysis.plots import save_figure
from helms_jax.envs.base import Env


def skill_trajectories(env: Env, nets, params, skills: jax.Array, num_steps: int,
                       key: jax.Array) -> jax.Array:
  """Root positions [M, T + 1, 2] of `skills [M, Z]` each held for `num_steps` steps from the
  same reset state (`nets`: `agents.lsp.Networks`, `params`: one seed's agent params). Pure:
  jit it, and vmap it over seeds' params."""
  if "root_xy" not in jax.eval_shape(env.reset, key).info:
    raise ValueError("skill trajectories need state.info['root_xy'] (the locomotion envs)")
  num = skills.shape[0]
  reset_key, run_key = jax.random.split(key)
  start = jax.tree.map(lambda x: jnp.broadcast_to(x, (num,) + x.shape), env.reset(reset_key))
  step_env = jax.vmap(env.step)

  def step(carry, k):
    state, belief, prev_action = carry
    belief = nets.posterior(params, belief, prev_action, state.obs, k)
    mean, _ = nets.actor.apply(params["actor"], belief.features, skills)
    action = jnp.tanh(mean)
    state = step_env(state, action)
    return (state, belief, action), state.info["root_xy"]

  init = (start, nets.cell.initial_state((num,)), jnp.zeros((num, env.action_size)))
  _, path = jax.lax.scan(step, init, jax.random.split(run_key, num_steps))
  path = jnp.concatenate([start.info["root_xy"][None], path], axis=0)
  return jnp.swapaxes(path, 0, 1)


def trajectory_metrics(paths: np.ndarray) -> dict[str, float]:
  """`paths [M, T + 1, 2]` -> end-point spread (mean pairwise distance of the M end points) and
  mean displacement from the start."""
  ends = paths[:, -1]
  pairwise = np.linalg.norm(ends[:, None] - ends[None], axis=-1)
  m = len(ends)
  spread = float(pairwise.sum() / (m * (m - 1))) if m > 1 else 0.0
  displacement = float(np.mean(np.linalg.norm(ends - paths[:, 0], axis=-1)))
  return {"end_spread": spread, "mean_displacement": displacement}


def plot_trajectories(paths: np.ndarray, skills: np.ndarray, path: str, title: str) -> str:
  fig, ax = plt.subplots(figsize=(4.5, 4.5))
  colors = plt.cm.viridis(np.linspace(0, 1, len(paths)))
  for p, z, c in zip(paths, skills, colors):
    ax.plot(p[:, 0], p[:, 1], color=c, lw=1.5,
            label="z=(" + ", ".join(f"{v:+.1f}" for v in z) + ")")
    ax.plot(p[-1, 0], p[-1, 1], "o", color=c, ms=4)
  ax.plot(paths[0, 0, 0], paths[0, 0, 1], "k*", ms=10, label="start")
  ax.set_xlabel("x (m)")
  ax.set_ylabel("y (m)")
  ax.set_aspect("equal", adjustable="datalim")
  ax.set_title(title, fontsize=9)
  ax.legend(fontsize=5, loc="best")
  return save_figure(fig, path)


def analyze(config, workdir: str, env: Env, nets, params_per_seed, *, num_skills: int = 8,
            num_steps: int = 100, seed: int = 0) -> dict[str, Any]:
  """Writes `<workdir>/analysis/` (skill_trajectories.png, analysis.json) for seed 0's agent
  and the metrics of every seed; returns the metrics. Skills: `num_skills` points of
  [-1, 1]^Z from a fixed key (the same for every run, so runs compare on the same skills)."""
  out_dir = os.path.join(workdir, ANALYSIS_DIR)
  os.makedirs(out_dir, exist_ok=True)
  key = jax.random.PRNGKey(seed)
  skills = jax.random.uniform(jax.random.PRNGKey(1234), (num_skills, nets.skill_size),
                              minval=-1.0, maxval=1.0)
  # One compilation for every seed: the rollout is vmapped over the stacked params.
  all_paths = np.asarray(jax.jit(jax.vmap(
      lambda params: skill_trajectories(env, nets, params, skills, num_steps, key)))(
          params_per_seed))  # [S, M, T + 1, 2]
  per_seed = [trajectory_metrics(paths) for paths in all_paths]
  first = all_paths[0]
  figure = plot_trajectories(first, np.asarray(skills), os.path.join(out_dir,
                             "skill_trajectories.png"),
                             f"{config.transfer.label}: {num_skills} skills x {num_steps} steps")
  metrics = {"skill_trajectories": {
      "num_skills": num_skills, "num_steps": num_steps,
      "per_seed": per_seed,
      **{k: float(np.mean([m[k] for m in per_seed])) for k in per_seed[0]}}}
  np.save(os.path.join(out_dir, "skill_paths_seed0.npy"), first)
  write_analysis_index(
      out_dir, [(figure, "Root (x, y) of the ant for different skills held fixed from one start "
                 "state (seed 0's final agent, mean actions)")], metrics)
  return metrics


def analyze_run(config, workdir: str) -> dict[str, Any] | None:
  """The LSP methods' analysis (`agents/lsp/__init__.py`): skill root trajectories of every
  seed of the finished online run (None for Dreamer, which has no skills)."""
  if not config.transfer.agent.skill_size:
    return None
  _, state, env = runs.load_online_run(workdir)
  if jax.process_index() != 0:
    return None
  a = config.get("analysis", ml_collections.ConfigDict())
  nets = lsp.Networks(config.transfer.agent, (env.observation_size,), env.action_size)
  return analyze(config, workdir, env, nets, state.agent.params,
                 num_skills=a.get("num_skills", 8), num_steps=a.get("skill_steps", 100),
                 seed=config.seed)

"""HeLMS skill analysis (Figure 3 of Rao et al., 2022) from a trained run directory.

`analyze(config, workdir)` writes `<workdir>/analysis/` (format: `analysis.analysis_index`):
  * transition_matrix.png  the learned prior p(y_t | y_{t-1}) (Figure 3b);
  * skill_usage.png        posterior skill usage q(y_t | x_{1:t}) over dataset windows (3c);
  * skill_trajectories.png each discrete skill held fixed for whole episodes through the mid
                           and low level (3a): gripper and object paths per skill;
  * skill_frames.png       image strips of those episodes, where the env can render
                           (`config.analysis.image_frames > 0`, stacking's `mjx.ray` camera);
  * analysis.json          metrics: usage, usage entropy, segment length, switch rate on the
                           dataset; per-skill return / success / gripper travel of the fixed-skill
                           rollouts; the transition matrix.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from helms_jax import data as data_lib
from helms_jax import envs, runs
from helms_jax.agents.helms import offline
from helms_jax.analysis import skills
from helms_jax.analysis.analysis_index import ANALYSIS_DIR, write_analysis_index
from helms_jax.envs.manipulation import vision


def _fixed_skill_policy(policy_params, obs, key, *, functions, deterministic):
  """Rollout policy: `policy_params = {'params': ..., 'skill': int []}` (skill is traced)."""
  return offline.skill_action(functions, policy_params["params"], obs, key,
                              policy_params["skill"], deterministic)


def _record_qpos(state):
  return state.pipeline_state.qpos


def _can_render(env) -> bool:
  base = env.unwrapped
  return hasattr(base, "state_from_qpos") and hasattr(base, "mj_model")


def render_frames(env, qpos: np.ndarray, size: int) -> np.ndarray:
  """Renders joint configurations with the env's camera: qpos [..., nq] -> uint8 [..., S, S, 4]."""
  base = env.unwrapped
  camera = vision.Camera.for_model(base.mj_model, size)
  flat = jnp.asarray(qpos).reshape(-1, qpos.shape[-1])

  @jax.jit
  def render(q):
    return jax.vmap(lambda x: camera.render(base.mjx_model, base.state_from_qpos(x).pipeline_state))(q)

  return np.asarray(render(flat)).reshape(qpos.shape[:-1] + (size, size, 4))


def dataset_skill_posterior(functions, params, dataset, window: int, lookahead: int,
                            num_windows: int, key: jax.Array) -> np.ndarray:
  """q(y_t | x_{1:t}) on `num_windows` random dataset windows: [num_windows, window, K]."""
  sampler = data_lib.WindowSampler(dataset, window, lookahead)
  batch = sampler.sample(key, num_windows)
  batch = {k: jnp.asarray(batch[k]) for k in ("observation", "obs_mask", "action")}
  return np.asarray(jax.jit(functools.partial(offline.infer_skills, functions))(params, batch))


def analyze(config: ml_collections.ConfigDict, workdir: str, env, params, functions,
            dataset) -> dict[str, Any]:
  """Writes the analysis of a trained HeLMS model; returns its metrics.

  Args:
    config: the run config (`env`, `train.lookahead`, `analysis` sections are read).
    workdir: the run directory; output goes to `<workdir>/analysis/`.
    env: the configured env with its time limit (`runs.make_env(config)`), unbatched.
    params: the learner's parameters (`state.params`).
    functions: `offline.HelmsFunctions` for those parameters.
    dataset: the loaded training dataset.
  """
  cfg = config.analysis
  out_dir = os.path.join(workdir, ANALYSIS_DIR)
  os.makedirs(out_dir, exist_ok=True)
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 0xA7A1)
  k = functions.num_skills
  figures, metrics = [], {}

  # Dataset: the transition prior and posterior skill usage.
  prior = np.exp(np.asarray(functions.log_transition_prior(params)))
  metrics["transition_prior"] = prior.round(4).tolist()
  metrics["prior_diagonal_mass"] = float(np.trace(prior) / k)
  figures.append((skills.plot_transition_matrix(prior, os.path.join(out_dir,
                                                                    "transition_matrix.png")),
                  "Learned skill transition prior p(y_t | y_{t-1}) (rows: previous skill)."))
  window = int(min(cfg.posterior_window, int(np.min(dataset.episode_length))))
  posterior = dataset_skill_posterior(functions, params, dataset, window, functions.lookahead,
                                      cfg.num_windows, key)
  stats = skills.skill_statistics(posterior, np.ones(posterior.shape[:2], bool))
  metrics["dataset"] = stats
  figures.append((skills.plot_skill_usage(np.asarray(stats["usage"]),
                                          os.path.join(out_dir, "skill_usage.png")),
                  f"Posterior skill usage q(y_t | x_1:t) over {cfg.num_windows} dataset windows "
                  f"of {window} steps (usage entropy {stats['usage_entropy']:.2f} nats, mean "
                  f"segment {stats['mean_segment_length']:.1f} steps)."))

  # Each skill held fixed for whole episodes.
  policy = functools.partial(_fixed_skill_policy, functions=functions,
                             deterministic=bool(cfg.deterministic))
  renderable = _can_render(env) and cfg.image_frames > 0
  rollout_key = jax.random.fold_in(key, 1)  # same initial states for every skill
  trajectories = []
  for skill in range(k):  # K calls of one compiled rollout (the skill is a traced argument)
    traj = jax.device_get(envs.rollout(
        env, policy, rollout_key, cfg.episodes_per_skill, config.env.episode_length,
        policy_params={"params": params, "skill": jnp.asarray(skill, jnp.int32)},
        record_fn=_record_qpos if renderable else None))
    trajectories.append(traj)
  valid = np.stack([np.asarray(t.valid) > 0 for t in trajectories])  # [K, N, T]
  per_skill = []
  points = getattr(env.unwrapped, "trajectory_points", None)
  grip_list, obj_list = [], []
  for skill, traj in enumerate(trajectories):
    v = np.asarray(traj.valid)
    returns = (np.asarray(traj.reward) * v).sum(1)
    row = {"skill": skill, "return_mean": float(returns.mean()),
           "episodes": int(v.shape[0])}
    if "success" in traj.info:
      row["success_rate"] = float(((np.asarray(traj.info["success"]) * v).max(1) > 0).mean())
    if points is not None:
      grip, objects = (np.asarray(a) for a in points(jnp.asarray(traj.observation[:, :-1])))
      grip_list.append(grip)
      obj_list.append(objects)
      step = np.linalg.norm(np.diff(grip, axis=1), axis=-1) * v[:, 1:]
      row["gripper_travel_m"] = float(step.sum(1).mean())
      row["gripper_height_mean_m"] = float((grip[..., 2] * v).sum() / v.sum())
      moved = np.linalg.norm(objects[:, -1] - objects[:, 0], axis=-1)  # [N, O]
      row["object_displacement_m"] = moved.mean(0).round(4).tolist()
    per_skill.append(row)
  metrics["fixed_skill_rollouts"] = per_skill
  if grip_list:
    figures.append((skills.plot_skill_trajectories(
        np.stack(grip_list), np.stack(obj_list), valid,
        os.path.join(out_dir, "skill_trajectories.png")),
        f"Each skill held fixed for {cfg.episodes_per_skill} episodes of "
        f"{config.env.episode_length} steps from the same initial states: gripper (black) and "
        f"object paths (colours in the legend), top and side views."))
  if renderable:
    horizon = int(valid[0, 0].sum())
    frames_at = np.linspace(0, horizon - 1, cfg.image_frames).astype(int)
    qpos = np.stack([np.asarray(t.recorded)[0, frames_at] for t in trajectories])  # [K, F, nq]
    images = render_frames(env, qpos, cfg.image_size)
    figures.append((skills.plot_image_strips(images, os.path.join(out_dir, "skill_frames.png"),
                                             frame_labels=[f"t={t}" for t in frames_at]),
                    "First episode of each fixed skill, camera frames over time."))
  write_analysis_index(out_dir, figures, metrics)
  logging.info("Skill analysis written to %s", out_dir)
  return metrics


def analyze_run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any] | None:
  """The HeLMS record's analysis (`agents/helms/__init__.py`): restores the run's newest
  checkpoint and dataset, then `analyze` (process 0 writes; the others return None)."""
  run = runs.load_offline_run_for_analysis(config, workdir)
  if jax.process_index() != 0:
    return None
  return analyze(config, workdir, run.env, run.params, run.learner.model, run.dataset)

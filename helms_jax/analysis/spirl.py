"""SPiRL analyses: exploration maps (SPiRL Figure 5) and their coverage numbers.

Rollouts in the maze from three untrained, data-driven explorers, each a stateful policy for
`envs.rollout`:
  - "skill prior":   every H steps z ~ p(z | s) (the learned prior), decoded for H steps;
  - "uniform skills": every H steps z ~ U[-b, b]^Z (b = the downstream policy's skill bound),
                      decoded the same way: the skill space without the prior;
  - "flat prior":    a ~ p(a | s) every step (a single-step action prior, the BC learner).
The positions they visit are drawn as 2-D histograms over the maze walls, and summarised as
the fraction of maze cells an episode visits (mean over episodes) and the union over episodes.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np
from absl import logging

from helms_jax import envs, runs
from helms_jax.agents.baselines import bc as bc_lib
from helms_jax.agents.spirl import downstream, offline
from helms_jax.analysis.analysis_index import ANALYSIS_DIR, write_analysis_index
from helms_jax.analysis.plots import save_figure
from helms_jax.envs.maze import layout as maze_layout


@dataclasses.dataclass(frozen=True)
class SkillSequencePolicy:
  """Executes a new skill every `horizon` steps: `z = sample_skill(params, obs, key)`, decoded by
  `decoder` (`agents.spirl.SkillDecoder`). Hashable, so `envs.rollout` reuses its compilation for
  new params. `init(key) -> pstate` (a finished skill: the first call draws z);
  `__call__(params, obs [O], key, pstate) -> (action [A], pstate)`.
  """
  decoder: Any
  sample_skill: Callable[[Any, jax.Array, jax.Array], jax.Array]
  horizon: int
  z_dim: int

  def init(self, key: jax.Array):
    del key
    dstate = self.decoder.init(None, jnp.zeros((self.z_dim,)), None)
    return dict(dstate, step=jnp.asarray(self.horizon, jnp.int32))

  def __call__(self, params, obs: jax.Array, key: jax.Array, pstate):
    fresh = self.decoder.init(params, self.sample_skill(params, obs, key), obs)
    new_skill = pstate["step"] >= self.horizon
    dstate = jax.tree.map(lambda a, b: jnp.where(new_skill, a, b), fresh, pstate)
    return self.decoder.step(params, dstate, obs)


@dataclasses.dataclass(frozen=True)
class PriorSkill:
  """z ~ p(z | s): `prior_fn(params, obs) -> distribution`."""
  prior_fn: Callable[[Any, jax.Array], Any]

  def __call__(self, params, obs, key):
    return self.prior_fn(params, obs).sample(seed=key)


@dataclasses.dataclass(frozen=True)
class UniformSkill:
  """z ~ U[-bound, bound]^size, whatever the state."""
  size: int
  bound: float

  def __call__(self, params, obs, key):
    del params, obs
    return jax.random.uniform(key, (self.size,), minval=-self.bound, maxval=self.bound)


@dataclasses.dataclass(frozen=True)
class Explorer:
  """One exploration-map row: a label, a (hashable) policy for `envs.rollout`, its params and
  `policy_init` (None for stateless `policy(params, obs, key)` policies)."""
  label: str
  policy: Callable[..., Any]
  params: Any
  policy_init: Callable[[jax.Array], Any] | None = None


def cell_coverage(positions: np.ndarray, valid: np.ndarray, extent: Sequence[float],
                  cell_size: float = 1.0) -> dict[str, float]:
  """Fraction of the maze's cells visited.

  Args:
    positions: [E, T, 2] x-y positions of E episodes.
    valid: [E, T] 1 where the step is part of the episode.
    extent: (x_min, x_max, y_min, y_max) of the maze (a whole number of cells).
    cell_size: cell edge length.

  Returns:
    {"cells": number of cells, "cells_visited_mean": mean over episodes of the fraction of cells
     an episode visits, "cells_visited_total": fraction visited by any episode}.
  """
  positions, valid = np.asarray(positions), np.asarray(valid) > 0
  if positions.ndim != 3 or positions.shape[-1] != 2 or valid.shape != positions.shape[:2]:
    raise ValueError(f"positions must be [E, T, 2] and valid [E, T]; got {positions.shape} "
                     f"and {valid.shape}")
  x0, x1, y0, y1 = extent
  nx, ny = int(round((x1 - x0) / cell_size)), int(round((y1 - y0) / cell_size))
  if nx <= 0 or ny <= 0:
    raise ValueError(f"extent {extent} holds no cells of size {cell_size}")
  ix = np.clip(np.floor((positions[..., 0] - x0) / cell_size).astype(int), 0, nx - 1)
  iy = np.clip(np.floor((positions[..., 1] - y0) / cell_size).astype(int), 0, ny - 1)
  cell = ix * ny + iy  # [E, T]
  visited = np.zeros((positions.shape[0], nx * ny), bool)
  episode = np.broadcast_to(np.arange(positions.shape[0])[:, None], cell.shape)
  visited[episode[valid], cell[valid]] = True
  return {"cells": nx * ny, "cells_visited_mean": float(visited.mean(axis=1).mean()),
          "cells_visited_total": float(visited.any(axis=0).mean())}


def plot_exploration_maps(positions: Sequence[np.ndarray], valid: Sequence[np.ndarray],
                          labels: Sequence[str], walls: np.ndarray, path: str,
                          start=None, goal=None, bins_per_cell: int = 4) -> str:
  """One panel per explorer: log-scaled 2-D histogram of visited positions over the walls.

  Args:
    positions / valid: per explorer, [E, T, 2] and [E, T].
    walls: [S, 2, 2] wall segments (end points).
    start, goal: optional [2] points to mark.
  """
  walls = np.asarray(walls, np.float64)
  lo, hi = walls.reshape(-1, 2).min(0), walls.reshape(-1, 2).max(0)
  edges = [np.linspace(lo[d], hi[d], int(round((hi[d] - lo[d]) * bins_per_cell)) + 1)
           for d in range(2)]
  fig, axes = plt.subplots(1, len(labels), figsize=(4 * len(labels), 4), squeeze=False)
  for ax, pos, ok, label in zip(axes[0], positions, valid, labels):
    pts = np.asarray(pos)[np.asarray(ok) > 0]
    hist, _, _ = np.histogram2d(pts[:, 0], pts[:, 1], bins=edges)
    ax.imshow(np.log1p(hist.T), origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]),
              cmap="viridis", interpolation="nearest")
    for (x0, y0), (x1, y1) in walls:
      ax.plot([x0, x1], [y0, y1], color="white", linewidth=2)
    if start is not None:
      ax.plot(*np.asarray(start)[:2], marker="o", color="orange", markersize=8, ls="",
              label="start")
    if goal is not None:
      ax.plot(*np.asarray(goal)[:2], marker="*", color="red", markersize=12, ls="", label="goal")
    ax.set_title(label)
    ax.set_xticks([])
    ax.set_yticks([])
  handles, _ = axes[0, 0].get_legend_handles_labels()
  fig.legend(handles=handles, loc="lower center", ncol=max(1, len(handles)), fontsize=8,
             frameon=False, title="walls: white lines; colour: log(1 + visits) per bin",
             title_fontsize=8)
  fig.tight_layout(rect=(0, 0.14, 1, 1))
  save_figure(fig, path, dpi=80)
  return path


def reach_by_distance(positions: np.ndarray, valid: np.ndarray, distance: np.ndarray
                      ) -> dict[str, Any]:
  """How far along the maze's paths the episodes get.

  Args:
    positions: [E, T, 2] x-y positions (cells of size 1, the maze spanning [0, C] x [0, R]).
    valid: [E, T] 1 where the step is part of the episode.
    distance: [R, C] moves from the start cell to each cell (`layout.bfs_distances`).
  Returns:
    {"farthest_mean", "farthest_max": over episodes of the largest path distance an episode
     visits, "reached_at_least": [D + 1] fraction of episodes that visit a cell at least d
     moves from the start, d = 0 .. D (the largest finite distance)}.
  """
  positions, valid = np.asarray(positions), np.asarray(valid) > 0
  distance = np.asarray(distance, np.float64)
  rows, cols = distance.shape
  cell = np.asarray(maze_layout.cell_of(positions, rows, cols))  # [E, T, 2] (row, col)
  d = np.where(valid, distance[cell[..., 0], cell[..., 1]], -np.inf)
  farthest = d.max(axis=1)  # [E]
  top = int(np.max(distance[np.isfinite(distance)]))
  return {"farthest_mean": float(farthest.mean()), "farthest_max": float(farthest.max()),
          "reached_at_least": [float(np.mean(farthest >= k)) for k in range(top + 1)]}


def plot_reach(reach: Sequence[dict[str, Any]], labels: Sequence[str], goal_distance: float,
               path: str) -> str:
  """Fraction of rollouts that get at least d moves from the start, per explorer."""
  fig, ax = plt.subplots(figsize=(5, 3.2))
  for r, label in zip(reach, labels):
    ax.plot(np.arange(len(r["reached_at_least"])), r["reached_at_least"], label=label)
  ax.axvline(goal_distance, color="red", linestyle="--", label="goal")
  ax.set_xlabel("path distance from the start (moves)")
  ax.set_ylabel("fraction of rollouts reaching it")
  ax.legend(fontsize=8)
  fig.tight_layout()
  save_figure(fig, path, dpi=80)
  return path


def _position(obs: jax.Array) -> jax.Array:
  """The maze observation's (x, y): all the maps need of an observation."""
  return obs[:2]


def explore_maze(env, explorers: Sequence[Explorer], *, num_episodes: int, num_steps: int,
                 key: jax.Array) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
  """Rolls out each explorer for `num_episodes` episodes from the env's start; returns per
  explorer (positions [E, T+1, 2], valid [E, T+1], reached the goal [E] bool) with
  positions = observation[..., :2]."""
  out = []
  for explorer in explorers:
    traj = jax.device_get(envs.rollout(env, explorer.policy, key, num_episodes, num_steps,
                                       policy_params=explorer.params,
                                       policy_init=explorer.policy_init,
                                       observation_fn=_position))  # not every view
    obs = np.asarray(traj.observation)
    valid = np.concatenate([np.ones_like(traj.valid[:, :1]), np.asarray(traj.valid)], axis=1)
    success = (np.asarray(traj.info["success"]) * np.asarray(traj.valid)).max(axis=1) > 0
    out.append((obs, valid, success))
  return out


def _flat_prior_action(params, obs, key, *, network, state):
  """a ~ p(a | s) of a BC Gaussian policy on the state entries `state`, clipped to [-1, 1]."""
  return jnp.clip(network.apply(params, jnp.take(obs, state, axis=-1)).sample(seed=key),
                  -1.0, 1.0)


def explorers(learner_config, env, params, *, skill_bound: float,
              bc: tuple[Any, Any] | None = None) -> list[Explorer]:
  """The Figure-5 explorers of a SPiRL checkpoint `params` on `env` (same observation layout):
  prior-sampled skills, uniformly sampled skills in [-skill_bound, skill_bound]^Z, and, when
  `bc = (bc_config, bc_params)` is given, the flat action prior."""
  groups = env.observation_groups
  decoder = offline.make_skill_decoder(learner_config, env.observation_size, env.action_size,
                                       groups)
  prior_fn = offline.make_skill_prior(learner_config, env.observation_size, groups)
  h, z = int(learner_config.horizon), int(learner_config.z_dim)
  rows = []
  for label, sampler in (("skill prior", PriorSkill(prior_fn)),
                         ("uniform skills", UniformSkill(z, float(skill_bound)))):
    policy = SkillSequencePolicy(decoder, sampler, h, z)
    rows.append(Explorer(label, policy, params, policy.init))
  if bc is not None:
    bc_config, bc_params = bc
    network = bc_lib.GaussianPolicy(env.action_size, tuple(bc_config.hidden_sizes))
    rows.append(Explorer("flat prior", functools.partial(
        _flat_prior_action, network=network, state=downstream.state_indices(env)), bc_params))
  return rows


def analyze(config, workdir: str, env, params, bc: tuple[Any, Any] | None = None
            ) -> dict[str, Any]:
  """Exploration maps (SPiRL Figure 5) of a trained SPiRL model into `<workdir>/analysis/`.

  Rolls out `config.analysis.exploration.num_rollouts` episodes of `num_steps` low-level steps
  per explorer (see `explorers`) in `env` (the downstream maze), from its start, with no task
  policy; writes `exploration_maps.png` and `analysis.json` (per explorer: the fraction of cells
  visited per episode and by any episode, and of episodes that reach the goal). Returns them.
  """
  cfg = config.analysis.exploration
  key = jax.random.PRNGKey(config.seed)
  rows = explorers(config.learner, env, params, skill_bound=cfg.get("skill_bound", 2.0), bc=bc)
  results = explore_maze(env, rows, num_episodes=int(cfg.num_rollouts),
                         num_steps=int(cfg.num_steps), key=key)
  first = jax.device_get(env.reset(jax.random.split(key)[0]))  # the layout (fixed or episode's)
  layout = maze_layout.Layout(first.info["h_walls"], first.info["v_walls"])
  walls = maze_layout.wall_segments(layout)
  lo, hi = walls.reshape(-1, 2).min(0), walls.reshape(-1, 2).max(0)
  start_cell = maze_layout.cell_of(jnp.asarray(first.obs)[:2], layout.rows, layout.cols)
  distance = np.asarray(jax.jit(maze_layout.bfs_distances)(layout, start_cell))
  goal_cell = np.asarray(first.info["goal_cell"])
  goal_distance = float(distance[goal_cell[0], goal_cell[1]])
  metrics, reach = {}, []
  for row, (pos, valid, success) in zip(rows, results):
    reach.append(reach_by_distance(pos, valid, distance))
    metrics[row.label] = {**cell_coverage(pos, valid, (lo[0], hi[0], lo[1], hi[1])),
                          "goal_reached": float(np.mean(success)),
                          "goal_distance": goal_distance, **reach[-1]}
  out_dir = os.path.join(workdir, ANALYSIS_DIR)
  plot_reach(reach, [r.label for r in rows], goal_distance, os.path.join(out_dir, "reach.png"))
  plot_exploration_maps([r[0] for r in results], [r[1] for r in results],
                        [r.label for r in rows], walls,
                        os.path.join(out_dir, "exploration_maps.png"),
                        start=np.asarray(first.obs)[:2], goal=first.info.get("goal"))
  caption = (f"Exploration maps (SPiRL Fig. 5): positions visited in {cfg.num_rollouts} rollouts "
             f"of {cfg.num_steps} steps from the start (orange) with no task policy; goal red.")
  reach_caption = (f"How far the same rollouts get: the fraction that visit a cell at least d "
                   f"moves (BFS over the layout) from the start; the goal is {goal_distance:g} "
                   f"moves away.")
  write_analysis_index(out_dir, [("exploration_maps.png", caption), ("reach.png", reach_caption)],
                       {"exploration": metrics})
  return metrics


def analyze_run(config, workdir: str) -> dict[str, Any] | None:
  """The SPiRL record's analysis (`agents/spirl/__init__.py`): Figure 5 on the downstream env
  (the transfer task when the config has one) when `analysis.exploration` is configured, with
  the BC flat prior of `analysis.exploration.flat_prior_dir` if given."""
  if "exploration" not in config.analysis:
    logging.info("No SPiRL exploration maps: the config has no analysis.exploration section")
    return None
  env = runs.make_transfer_env(config) if "transfer" in config else runs.make_env(config)
  state, _ = runs.restore_learner_state(config, workdir, runs.make_learner(config, env))
  flat_dir = config.analysis.exploration.get("flat_prior_dir", "")
  bc = runs.load_offline_run(flat_dir) if flat_dir else None
  if jax.process_index() != 0:
    return None
  return analyze(config, workdir, env, state.learner.params, bc=bc)

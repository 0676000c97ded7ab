"""Concurrent-skill CVAE analysis: the latent picture and Figure 3 (generation MSE over training).

`analyze` (one run, every seed of its population; `analyze_run` is the pipeline's entry) writes to
`<workdir>/analysis/`:
  latent.png        seed 0's embeddings (posterior means) of the first demonstrations of every
                    behaviour (the learner's held-out episodes, then training ones),
                    projected on the first two principal components of all of them, with the
                    sums mu(tau_a) + mu(tau_b) of random demonstrations of each composite's
                    subskills ("x"): a composite's cloud should sit on its sums' cloud.
  analysis.json     (`analysis_index.write_analysis_index`, shown by the run report)
                    metrics: per composite and seed: `centroid_gap` = |mean_c - mean of its
                    sums|^2 / Z, `relative_gap` = centroid_gap over the mean squared distance
                    (/ Z) between the centroids of all behaviours (scale-free: regularisers
                    shrink the space),
                    `spread` = the composite cloud's mean squared distance to its own centroid,
                    `gap_ratio` = centroid_gap / the same gap to the other composites' sums;
                    the last logged held-out MSE per composite (`final_mse`); and, for envs
                    with `reset_with_behaviour` (ant_skills), `closed_loop`: the action
                    decoder acting in the simulator from the composite's own embeddings and
                    from sums of its subskills' embeddings (mean action, one episode per
                    demonstration and seed): the env's quality score of the composite and
                    forward speed / yaw rate / front-left foot height, mean ± std over seeds,
                    next to the expert's quality score in the dataset.
`compare_objectives(run_dirs, out_dir)` (`helms-report --runs=...` on concurrent runs) writes
Figure 3: per composite, held-out MSE over training for each run (objective), mean ± std over
the population's seeds, `figure3.png`, and `metrics.json` (final MSE and gap ratio mean ± std
per objective and composite).
"""

from __future__ import annotations

import json
import os
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from helms_jax import io, runs
from helms_jax.agents.concurrent import offline as concurrent
from helms_jax.analysis import html_pages, statistics
from helms_jax.analysis.analysis_index import ANALYSIS_DIR, ANALYSIS_INDEX, write_analysis_index
from helms_jax.analysis.plots import save_figure
from helms_jax.data import grouped
from helms_jax.data.sampler import valid_window_starts
from helms_jax.training.metric_writers import read_jsonl

# Held-out MSE metrics the learner logs per composite (`agents/concurrent/offline.py`).
METRIC_PREFIXES = ("mse", "mse_sum", "mse_prior")


def _episodes_by_behaviour(dataset, behaviours, window: int, per_behaviour: int
                           ) -> list[np.ndarray]:
  """Per behaviour, `[n, window + 1, O]` observation windows (start 0) of its first usable
  episodes (`data.grouped`: the learner's held-out episodes come first)."""
  data = grouped.window_data(dataset, window)
  return [np.asarray(grouped.first_windows(data, ids[:per_behaviour], window)["observation"])
          for ids in grouped.episodes_by_label(dataset, behaviours, window)]


def embeddings(functions, params, observations: jax.Array) -> jax.Array:
  """Posterior means [S, N, Z] of `observations [N, T+1, O]` under population params [S, ...]."""
  def one(p):
    x = concurrent.modelled_states(functions, p, observations)
    mean, _, _ = functions.encoder.apply({"params": p["encoder"]}, x)
    return mean
  return jax.jit(jax.vmap(one))(params)


def latent_statistics(means: Sequence[np.ndarray], behaviours, key: np.random.Generator,
                      num_sums: int = 64) -> tuple[dict[str, Any], dict[int, np.ndarray]]:
  """For one seed: `means[b] [n_b, Z]` -> (per-composite statistics, sums {composite id:
  [num_sums, Z]} of random demonstrations of its subskills)."""
  sums = {}
  for c, cid in enumerate(behaviours.composites):
    parts = [behaviours.subskills[k] for k in np.flatnonzero(behaviours.members[c])]
    sums[cid] = sum(means[p][key.integers(len(means[p]), size=num_sums)] for p in parts)
  z_dim = means[0].shape[-1]
  centroids = np.stack([m.mean(0) for m in means])  # [NB, Z]
  pairwise = np.sum((centroids[:, None] - centroids[None]) ** 2, -1) / z_dim
  scale = float(pairwise[np.triu_indices(len(means), 1)].mean())  # the latent space's size
  out = {}
  for cid in behaviours.composites:
    centroid = centroids[cid]
    dist = {other: float(np.sum((centroid - s.mean(0)) ** 2) / z_dim) for other, s in sums.items()}
    others = [d for o, d in dist.items() if o != cid]
    out[behaviours.names[cid]] = {
        "centroid_gap": dist[cid],
        "relative_gap": dist[cid] / scale,
        "spread": float(np.mean(np.sum((means[cid] - centroid) ** 2, -1)) / z_dim),
        "gap_ratio": dist[cid] / float(np.mean(others)) if others else float("nan"),
    }
  return out, sums


def plot_latent(means: Sequence[np.ndarray], sums: dict[int, np.ndarray], behaviours, path: str,
                title: str) -> str:
  """The latent picture of one seed (module docstring)."""
  everything = np.concatenate(list(means) + list(sums.values()))
  centre = everything.mean(0)
  _, _, vt = np.linalg.svd(everything - centre, full_matrices=False)
  project = lambda x: (x - centre) @ vt[:2].T
  fig, ax = plt.subplots(figsize=(6.5, 5))
  colours = plt.get_cmap("tab10")
  for i, name in enumerate(behaviours.names):
    p = project(means[i])
    composite = i in behaviours.composites
    ax.scatter(p[:, 0], p[:, 1], s=30 if composite else 12, color=colours(i),
               marker="o" if composite else ".", alpha=0.8, label=f"{name} (demos)")
    if composite:
      q = project(sums[i])
      ax.scatter(q[:, 0], q[:, 1], s=22, color=colours(i), marker="x", alpha=0.7,
                 label=f"sum of {' + '.join(name.split('+'))}")
  ax.set_xlabel("PC 1")
  ax.set_ylabel("PC 2")
  ax.set_title(title, fontsize=9)
  ax.legend(fontsize=7, loc="best")
  return save_figure(fig, path)


def final_metrics(workdir: str, prefix: str = "mse/", last_fraction: float = 0.1
                  ) -> dict[str, list[float]]:
  """Per `prefix<name>` metric of `metrics.jsonl`: per seed, the mean over the last
  `last_fraction` of logged points."""
  return {name: _final_per_seed(values, last_fraction).tolist()
          for name, (_, values) in metric_curves(workdir, prefix).items()}


def _final_per_seed(values: np.ndarray, last_fraction: float) -> np.ndarray:
  """`values [P, S]` -> [S]: each seed's mean over the last points
  (`statistics.final_window_size`)."""
  k = statistics.final_window_size(len(values), last_fraction)
  return statistics.seed_statistics(values[-k:].T)[0]


def metric_curves(workdir: str, prefix: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """`{name: (steps [P], values [P, S])}` of the metrics `prefix<name>` in `metrics.jsonl`."""
  rows = read_jsonl(os.path.join(workdir, "metrics.jsonl"))
  if not rows:
    raise ValueError(f"{workdir}/metrics.jsonl has no logged points: train the run first")
  by_step = {int(r["step"]): r for r in rows}  # a resumed run may repeat a step: last wins
  steps = np.array(sorted(by_step))
  names = sorted(k[len(prefix):] for k in rows[-1] if k.startswith(prefix))
  out = {}
  for name in names:
    values = [np.atleast_1d(np.asarray(by_step[s].get(prefix + name, np.nan), np.float64))
              for s in steps]
    out[name] = (steps, np.stack(values))
  return out


def analyze(config, workdir: str, env, params, dataset, functions=None) -> dict[str, Any]:
  """The run's latent picture and statistics (module docstring); `params`: population [S, ...]
  (or one seed's params, treated as S = 1); `functions`: the learner's model functions
  (`Learner.model`; built from the config when None)."""
  learner = config.learner
  if np.ndim(jax.tree_util.tree_leaves(params["normalizer"])[0]) == 1:
    params = jax.tree_util.tree_map(lambda x: x[None], params)
  if functions is None:
    functions = concurrent.make_functions(learner, env.observation_size, env.action_size,
                                          getattr(env, "observation_groups", None))
  behaviours = functions.behaviours
  windows = _episodes_by_behaviour(dataset, behaviours, int(learner.window),
                                   int(config.analysis.get("episodes_per_behaviour", 32)))
  for name, w in zip(behaviours.names, windows):
    if len(w) == 0:
      raise ValueError(f"the dataset has no episode of behaviour {name!r}")
  counts = [len(w) for w in windows]
  all_means = np.asarray(embeddings(functions, params, jnp.asarray(np.concatenate(windows))))
  split = np.cumsum(counts)[:-1]
  rng = np.random.default_rng(config.seed)
  per_seed, seed0_sums = [], None
  for s in range(all_means.shape[0]):
    means = np.split(all_means[s], split)
    stats, sums = latent_statistics(means, behaviours, rng)
    per_seed.append(stats)
    if s == 0:
      seed0_means, seed0_sums = means, sums
  out_dir = os.path.join(workdir, ANALYSIS_DIR)
  figure = plot_latent(seed0_means, seed0_sums, behaviours, os.path.join(out_dir, "latent.png"),
                       f"{config.experiment} ({config.variant}), seed 0: embeddings and "
                       "subskill sums")
  closed = None
  base = env  # the (wrapped) env whose own class resets into a chosen behaviour
  while not hasattr(type(base), "reset_with_behaviour") and hasattr(base, "env"):
    base = base.env
  if hasattr(type(base), "reset_with_behaviour"):
    closed = _closed_loop_table(
        functions, params, base, dataset, behaviours, windows, all_means, split,
        int(config.env.episode_length), jax.random.fold_in(jax.random.PRNGKey(config.seed), 7))
  result = {
      "objective": learner.objective,
      "closed_loop": closed,
      "composites": {
          name: {key: [seed[name][key] for seed in per_seed]
                 for key in ("centroid_gap", "relative_gap", "spread", "gap_ratio")}
          for name in behaviours.composite_names},
      "final_mse": final_metrics(workdir),
  }
  write_analysis_index(out_dir, [(figure, (
      "Posterior means of demonstrations (dots; composites larger) and sums of the subskills' "
      "embeddings (x), seed 0, first two principal components"))], result)
  return result


CLOSED_LOOP_METRICS = ("forward_velocity_avg", "yaw_rate_avg", "foot_height")


def closed_loop(functions, params, env, z: jax.Array, task_id: jax.Array, key: jax.Array,
                num_steps: int, skip: int = 5) -> dict[str, jax.Array]:
  """The action decoder acting in the simulator: per seed and embedding, one episode of
  `num_steps` steps with the mean action pi(s_t, z).

  Args:
    functions, params: the learner's functions and population params [S, ...].
    env: an env with `reset_with_behaviour(key, task_id)` (`ant_skills`; its reward is that
      behaviour's quality score and its metrics hold `CLOSED_LOOP_METRICS`).
    z: [S, N, Z] embeddings; task_id: [N] behaviour the reward scores; key: one key (the N
      episodes share start states across seeds).
  Returns:
    {'quality', *CLOSED_LOOP_METRICS}: [S, N] means over the steps after the first `skip`.
  """
  keys = jax.random.split(key, task_id.shape[0])

  def episode(p, zz, tid, k):
    state = env.reset_with_behaviour(k, tid)

    def step(state, _):
      x = concurrent.modelled_states(functions, p, state.obs)
      mean, _ = functions.action_decoder.apply({"params": p["action_decoder"]}, x, zz)
      state = env.step(state, jnp.clip(mean, -1.0, 1.0))
      return state, (state.reward, *(state.metrics[m] for m in CLOSED_LOOP_METRICS))

    _, out = jax.lax.scan(step, state, None, length=num_steps)
    return {name: jnp.mean(v[skip:]) for name, v in zip(("quality",) + CLOSED_LOOP_METRICS, out)}

  per_seed = jax.vmap(episode, in_axes=(None, 0, 0, 0))
  return jax.jit(jax.vmap(per_seed, in_axes=(0, 0, None, None)))(params, z, task_id, keys)


def _closed_loop_table(functions, params, env, dataset, behaviours, windows, all_means, split,
                       num_steps: int, key: jax.Array) -> dict[str, Any]:
  """Per composite: the decoder conditioned on its demonstrations' own embeddings and on sums
  of its subskills' embeddings (the first demonstrations of each), against the dataset's
  expert episodes of that composite (the same quality score, from the stored rewards)."""
  means = [np.split(all_means[s], split) for s in range(all_means.shape[0])]
  n = min(len(windows[c]) for c in behaviours.composites)
  n = min([n] + [len(windows[k]) for k in behaviours.subskills])
  z, task_id = [], []
  for c, cid in enumerate(behaviours.composites):
    parts = [behaviours.subskills[k] for k in np.flatnonzero(behaviours.members[c])]
    z.append(np.stack([m[cid][:n] for m in means]))  # own: [S, n, Z]
    z.append(np.stack([sum(m[p][:n] for p in parts) for m in means]))  # sum of subskills
    task_id += [cid] * (2 * n)
  out = jax.device_get(closed_loop(functions, params, env, jnp.asarray(np.concatenate(z, 1)),
                                   jnp.asarray(task_id, jnp.int32), key, num_steps))
  rewards = np.asarray(dataset.fields["reward"])  # [num_steps], episodes of any lengths
  step_episode, step_t = valid_window_starts(dataset.episode_length, 1)  # each step's place
  task = np.asarray(dataset.fields["episode/task_id"])[step_episode]
  table = {}
  for c, cid in enumerate(behaviours.composites):
    rows = {}
    for j, source in enumerate(("own_embedding", "subskill_sum")):
      sl = slice((2 * c + j) * n, (2 * c + j + 1) * n)
      rows[source] = {k: _mean_std(np.mean(v[:, sl], axis=1)) for k, v in out.items()}
    rows["expert_quality"] = float(rewards[(task == cid) & (step_t >= 5)].mean())
    table[behaviours.names[cid]] = rows
  return table


def _mean_std(values) -> dict[str, float]:
  """Per-seed values [S] -> their mean ± sample std (ddof 1, NaN with one seed) over the seeds
  that have one, and that count."""
  mean, std, count = statistics.seed_statistics(np.asarray(values, np.float64)[None], ddof=1)
  return {"mean": float(mean[0]), "std": float(std[0]), "n": int(count[0])}


def compare_objectives(run_dirs: Sequence[str], out_dir: str, last_fraction: float = 0.1
                       ) -> str:
  """Figure 3 over concurrent runs (e.g. one per objective), each labelled by its directory's
  name: writes `figure3.png` (top row: held-out MSE from the demonstration's own embedding per
  composite; bottom row, when logged: from the sum of its subskills' embeddings), `metrics.json`
  and `index.html` into `out_dir`; returns the index path."""
  runs = []
  for d in run_dirs:
    with open(os.path.join(d, "config.json")) as f:
      cfg = json.load(f)
    if cfg["learner"]["name"] != "concurrent":
      raise ValueError(f"{d} is a {cfg['learner']['name']!r} run, not a concurrent CVAE run")
    analysis_path = os.path.join(d, ANALYSIS_DIR, ANALYSIS_INDEX)
    latent = None
    if os.path.exists(analysis_path):
      with open(analysis_path) as f:
        latent = json.load(f)["metrics"]
    curves = {prefix: metric_curves(d, prefix + "/") for prefix in METRIC_PREFIXES}
    runs.append((os.path.basename(os.path.normpath(d)), cfg["learner"], curves, latent))
  composites = sorted(runs[0][2]["mse"])
  panels = [p for p in ("mse", "mse_sum") if all(run[2][p] for run in runs)]
  fig, axes = plt.subplots(len(panels), len(composites),
                           figsize=(5 * len(composites), 3.6 * len(panels)), squeeze=False)
  table = {}
  for label, learner, curves, latent in runs:
    row = table.setdefault(label, {"objective": learner["objective"],
                                   "mi_weight": learner.get("mi_weight")})
    for prefix in METRIC_PREFIXES:
      for name, (_, values) in curves[prefix].items():
        row[f"final_{prefix}/{name}"] = _mean_std(_final_per_seed(values, last_fraction))
    if latent is not None:
      for name in composites:
        for key in ("gap_ratio", "relative_gap"):
          if key in latent["composites"][name]:
            row[f"{key}/{name}"] = _mean_std(latent["composites"][name][key])
  for r, prefix in enumerate(panels):
    for ax, name in zip(axes[r], composites):
      for label, _, curves, _ in runs:
        steps, values = curves[prefix][name]
        mean, std, _ = statistics.seed_statistics(values)
        ax.plot(steps, mean, label=f"{label} ({values.shape[1]} seeds)")
        ax.fill_between(steps, mean - std, mean + std, alpha=0.2)
      ax.set_yscale("log")
      ax.set_xlabel("updates")
      ax.set_ylabel("held-out state MSE (normalised)")
      source = "own embedding" if prefix == "mse" else "sum of subskill embeddings"
      ax.set_title(f"{name}: rollout from {source}", fontsize=10)
      ax.legend(fontsize=7)
  fig.tight_layout()
  os.makedirs(out_dir, exist_ok=True)
  save_figure(fig, os.path.join(out_dir, "figure3.png"))
  io.atomic_write_json(os.path.join(out_dir, "metrics.json"),
                       io.json_safe({"last_fraction": last_fraction, "runs": table}),
                       sort_keys=False)
  columns = [f"final_{p}/{c}" for p in METRIC_PREFIXES for c in composites] + [
      f"{k}/{c}" for k in ("relative_gap", "gap_ratio") for c in composites]
  cell = lambda row, k: html_pages.pm(row[k]["mean"], row[k]["std"]) if k in row else "–"
  rows = [[label, row["objective"]] + [cell(row, k) for k in columns]
          for label, row in table.items()]
  index = os.path.join(out_dir, "index.html")
  io.atomic_write_text(index, html_pages.page("Concurrent-skill CVAE: objectives", [
      "<h1>Concurrent-skill CVAE: objectives</h1><img src='figure3.png'>",
      f"<p>Final values: per seed the mean over the last {last_fraction:.0%} of logged points, "
      "then mean ± std over seeds.</p>",
      html_pages.html_table(["run", "objective"] + columns, rows)]))
  return index


def analyze_run(config, workdir: str) -> dict[str, Any] | None:
  """The concurrent CVAE record's analysis (`agents/concurrent/__init__.py`): the latent
  picture and held-out curves of every seed of the run's population (`analyze`)."""
  run = runs.load_offline_run_for_analysis(config, workdir)
  if jax.process_index() != 0:
    return None
  return analyze(config, workdir, run.env, run.params, run.dataset, run.learner.model)

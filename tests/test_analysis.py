"""Skill analyses (statistics, purity, figures) and the analysis section of the run report."""

import collections
import json
import logging
import math
import os

import sys

import numpy as np
import pytest

from helms_jax.analysis import analysis_index, report, skills

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _one_hot(labels, k, on=1.0):
  """labels [N, T] -> [N, T, K] with `on` at the label and the rest spread evenly."""
  off = (1.0 - on) / (k - 1) if k > 1 else 0.0
  out = np.full(np.shape(labels) + (k,), off)
  np.put_along_axis(out, np.asarray(labels)[..., None], on, axis=-1)
  return out


def _loop_segments(argmax, valid):
  """Oracle: walks each sequence step by step; returns (run lengths, #pairs, #switches)."""
  runs, pairs, switches = [], 0, 0
  for seq, mask in zip(argmax, valid):
    current = None  # length of the open run
    for t, (skill, ok) in enumerate(zip(seq, mask)):
      if not ok:
        if current:
          runs.append(current)
        current = None
        continue
      if current is not None:
        pairs += 1
        if skill == seq[t - 1]:
          current += 1
          continue
        switches += 1
        runs.append(current)
      current = 1
    if current:
      runs.append(current)
  return runs, pairs, switches


# ----------------------------------------------------------------------------------------------
# skill_statistics


def test_skill_statistics_hand_computed():
  # Sequence 0: skills 0 0 1 1 1, all valid: runs [2, 3], 4 pairs, 1 switch.
  # Sequence 1: skills 2 2 * 2 2, step 2 invalid: runs [2, 2] (the gap cuts the run), 2 pairs,
  # no switch. Totals: 9 valid steps, 4 runs, 6 pairs, 1 switch.
  labels = np.array([[0, 0, 1, 1, 1], [2, 2, 0, 2, 2]])
  valid = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 1, 1]])
  filtered = _one_hot(labels, 3, on=0.8)
  filtered[1, 2] = np.nan  # garbage at an invalid step must not matter
  stats = skills.skill_statistics(filtered, valid)

  np.testing.assert_allclose(stats["argmax_usage"], [2 / 9, 3 / 9, 4 / 9])
  expected_usage = 0.1 + 0.7 * np.array([2, 3, 4]) / 9  # 0.8 on the argmax, 0.1 elsewhere
  np.testing.assert_allclose(stats["usage"], expected_usage)
  assert math.isclose(sum(stats["usage"]), 1.0)
  entropy = -sum(u * math.log(u) for u in expected_usage)
  assert math.isclose(stats["usage_entropy"], entropy)
  assert math.isclose(stats["usage_entropy_normalised"], entropy / math.log(3))
  assert math.isclose(stats["mean_segment_length"], 9 / 4)
  assert math.isclose(stats["switch_rate"], 1 / 6)
  assert stats["num_valid_steps"] == 9 and stats["num_skills"] == 3
  json.dumps(stats)  # JSON-serialisable as is


def test_skill_statistics_matches_a_step_by_step_oracle():
  rng = np.random.default_rng(0)
  for _ in range(20):
    n, t, k = rng.integers(1, 4), rng.integers(1, 9), rng.integers(1, 4)
    filtered = rng.dirichlet(np.ones(k), size=(n, t))
    valid = rng.random((n, t)) < 0.75
    valid[0, 0] = True
    stats = skills.skill_statistics(filtered, valid)
    runs, pairs, switches = _loop_segments(filtered.argmax(-1), valid)
    assert math.isclose(stats["mean_segment_length"], np.mean(runs))
    assert math.isclose(stats["switch_rate"], switches / pairs if pairs else 0.0)
    mean = filtered[valid].mean(0)
    np.testing.assert_allclose(stats["usage"], mean / mean.sum())


def test_skill_statistics_edge_cases_and_errors():
  stats = skills.skill_statistics(np.ones((2, 3, 1)), np.ones((2, 3)))  # K == 1
  assert stats["usage"] == [1.0] and stats["usage_entropy"] == 0.0
  assert stats["usage_entropy_normalised"] == 0.0 and stats["mean_segment_length"] == 3.0
  uniform = skills.skill_statistics(np.full((1, 1, 4), 0.25), np.ones((1, 1)))  # T == 1
  assert math.isclose(uniform["usage_entropy_normalised"], 1.0)
  assert uniform["switch_rate"] == 0.0 and uniform["mean_segment_length"] == 1.0
  with pytest.raises(ValueError, match="filtered"):
    skills.skill_statistics(np.ones((2, 3)), np.ones((2, 3)))
  with pytest.raises(ValueError, match=r"valid.*\[2, 3\]"):
    skills.skill_statistics(np.ones((2, 3, 2)), np.ones((3, 2)))
  with pytest.raises(ValueError, match="no valid step"):
    skills.skill_statistics(np.ones((2, 3, 2)), np.zeros((2, 3)))


# ----------------------------------------------------------------------------------------------
# clustering_purity / contingency


def _brute_force_purity(assigned, truth):
  total = 0
  for cluster in set(assigned):
    members = [c for a, c in zip(assigned, truth) if a == cluster]
    total += collections.Counter(members).most_common(1)[0][1]
  return total / len(assigned)


def test_clustering_purity_hand_examples():
  truth = np.array([0, 0, 1, 1, 2, 2])
  assert skills.clustering_purity(np.array([2, 2, 0, 0, 1, 1]), truth) == 1.0  # relabelled
  assert skills.clustering_purity(np.array([0, 0, 0, 0, 0, 0]), truth) == pytest.approx(1 / 3)
  # Clusters {0: truth 0,0,1}, {1: truth 1,1}, {2: truth 0} -> (2 + 2 + 1) / 6.
  mixed_assigned, mixed_truth = np.array([0, 0, 0, 1, 1, 2]), np.array([0, 0, 1, 1, 1, 0])
  assert skills.clustering_purity(mixed_assigned, mixed_truth) == pytest.approx(5 / 6)
  np.testing.assert_array_equal(
      skills.contingency(mixed_assigned, mixed_truth, 4, 2), [[2, 1], [0, 2], [1, 0], [0, 0]])


def test_clustering_purity_matches_brute_force():
  rng = np.random.default_rng(1)
  for _ in range(20):
    m = rng.integers(1, 30)
    assigned, truth = rng.integers(0, 5, m), rng.integers(0, 4, m)
    assert skills.clustering_purity(assigned, truth) == pytest.approx(
        _brute_force_purity(assigned.tolist(), truth.tolist()))
    counts = skills.contingency(assigned, truth, 5, 4)
    assert counts.shape == (5, 4) and counts.sum() == m


def test_purity_errors():
  with pytest.raises(ValueError, match="truth"):
    skills.clustering_purity(np.array([0, 1]), np.array([0, 1, 1]))
  with pytest.raises(ValueError, match="assigned"):
    skills.contingency(np.array([0, 3]), np.array([0, 1]), 3, 2)
  with pytest.raises(ValueError, match="assigned"):
    skills.clustering_purity(np.zeros((2, 2), int), np.zeros((2, 2), int))


# ----------------------------------------------------------------------------------------------
# Figures


def _assert_png(directory, name):
  path = os.path.join(directory, name)
  with open(path, "rb") as f:
    assert f.read(8) == PNG_MAGIC
  assert os.path.getsize(path) > 1000
  assert not [f for f in os.listdir(directory) if f.startswith(".tmp-")]  # no temp left over


def test_plots_write_pngs(tmp_path):
  d = str(tmp_path)
  k, n, t, o = 3, 2, 6, 3
  rng = np.random.default_rng(0)
  matrix = rng.dirichlet(np.ones(k), size=k)
  assert skills.plot_transition_matrix(matrix, f"{d}/tm.png") == "tm.png"
  assert skills.plot_skill_usage(matrix[0], f"{d}/usage.png") == "usage.png"
  grip = rng.normal(size=(k, n, t, 3)).cumsum(axis=2)
  objects = rng.normal(size=(k, n, t, o, 3)).cumsum(axis=2)
  valid = np.ones((k, n, t), bool)
  valid[0, 1, 4:] = False  # a shorter rollout
  valid[2] = False  # a skill with nothing to draw
  assert skills.plot_skill_trajectories(grip, objects, valid, f"{d}/traj.png") == "traj.png"
  assert skills.plot_skill_trajectories(grip, None, valid, f"{d}/grip.png") == "grip.png"
  images = rng.integers(0, 256, size=(k, 4, 16, 20, 4), dtype=np.uint8)
  assert skills.plot_image_strips(images, f"{d}/strips.png", ["a", "b", "c", "d"]) == "strips.png"
  assert skills.plot_image_strips(images[..., :3], f"{d}/strips3.png") == "strips3.png"
  for name in ("tm.png", "usage.png", "traj.png", "grip.png", "strips.png", "strips3.png"):
    _assert_png(d, name)


def test_skill_trajectories_wrap_into_rows_and_name_the_colours(tmp_path, monkeypatch):
  figures, save = [], skills.save_figure

  def keep(fig, path, dpi=None):
    figures.append((fig.get_size_inches().copy(), [ax.get_visible() and ax.axison
                                                   for ax in fig.axes],
                    [t.get_text() for legend in fig.legends for t in legend.get_texts()]))
    return save(fig, path, dpi)

  monkeypatch.setattr(skills, "save_figure", keep)
  k, n, t, o = 5, 1, 4, 3
  rng = np.random.default_rng(1)
  skills.plot_skill_trajectories(rng.normal(size=(k, n, t, 3)), rng.normal(size=(k, n, t, o, 3)),
                                 np.ones((k, n, t), bool), str(tmp_path / "traj.png"),
                                 max_columns=4)
  size, shown, legend = figures[0]
  # 5 skills in at most 4 columns: two rows of skills (3 + 2), each a top over a side view;
  # the sixth place is left empty, and the figure is no wider than 4 columns.
  assert len(shown) == 4 * 3 and sum(shown) == 2 * k
  assert size[0] <= 2.8 * 4 + 0.4
  assert legend == ["gripper", "red object", "green object", "blue object", "start", "end"]


def test_plots_reject_wrong_shapes(tmp_path):
  d = str(tmp_path)
  with pytest.raises(ValueError, match=r"matrix: expected shape \[K, K\], got \[2, 3\]"):
    skills.plot_transition_matrix(np.ones((2, 3)), f"{d}/a.png")
  with pytest.raises(ValueError, match="usage"):
    skills.plot_skill_usage(np.ones((2, 2)), f"{d}/a.png")
  with pytest.raises(ValueError, match="grip_pos"):
    skills.plot_skill_trajectories(np.ones((2, 1, 4, 2)), None, np.ones((2, 1, 4)), f"{d}/a.png")
  with pytest.raises(ValueError, match="valid"):
    skills.plot_skill_trajectories(np.ones((2, 1, 4, 3)), None, np.ones((2, 4)), f"{d}/a.png")
  with pytest.raises(ValueError, match="object_pos"):
    skills.plot_skill_trajectories(np.ones((2, 1, 4, 3)), np.ones((2, 1, 5, 3, 3)),
                                   np.ones((2, 1, 4)), f"{d}/a.png")
  with pytest.raises(ValueError, match="images"):
    skills.plot_image_strips(np.zeros((2, 3, 8, 8, 1), np.uint8), f"{d}/a.png")
  with pytest.raises(ValueError, match="frame_labels"):
    skills.plot_image_strips(np.zeros((2, 3, 8, 8, 3), np.uint8), f"{d}/a.png", ["x"])
  assert not os.listdir(d)  # nothing written on error


# ----------------------------------------------------------------------------------------------
# The run report's analysis section


def _workdir_with_metrics(tmp_path):
  workdir = str(tmp_path / "run")
  os.makedirs(workdir)
  with open(os.path.join(workdir, "metrics.jsonl"), "w") as f:
    for step, loss in ((10, 1.0), (20, 0.5)):
      f.write(json.dumps({"step": step, "time": 0.1 * step, "loss": loss}) + "\n")
  return workdir


def test_report_includes_analysis(tmp_path, caplog):
  workdir = _workdir_with_metrics(tmp_path)
  analysis_dir = os.path.join(workdir, analysis_index.ANALYSIS_DIR)
  figure = skills.plot_transition_matrix(np.eye(2), os.path.join(analysis_dir, "transition.png"))
  metrics = {"purity": 0.75, "usage": [0.5, 0.5], "nested": {"a": 1, "deeper": {"b": 0.123456789}},
             "rollouts": [{"skill": 0, "return_mean": 2.0}, {"skill": 1, "return_mean": 0.066412}],
             "matrix": [[0.1, 0.9], [0.25, 0.75]]}
  analysis_index.write_analysis_index(
      analysis_dir, [(figure, "Learned transition prior <K=2>"), ("missing.png", "gone")],
      {**metrics, "count": np.int64(3)})
  with open(os.path.join(analysis_dir, analysis_index.ANALYSIS_INDEX)) as f:
    index = json.load(f)
  assert index["figures"][0] == {"file": "transition.png",
                                 "caption": "Learned transition prior <K=2>"}
  assert index["metrics"]["count"] == 3

  with caplog.at_level(logging.WARNING):
    out_dir = report.write_run_report(workdir)
  assert any("missing.png" in r.getMessage() for r in caplog.records)
  with open(os.path.join(out_dir, "index.html")) as f:
    page = f.read()
  assert "<h2>Analysis</h2>" in page
  assert "Learned transition prior &lt;K=2&gt;" in page  # caption shown, escaped
  assert page.index("curve_loss.png") < page.index("Analysis") < page.index("<h2>Config")
  assert "missing.png" not in page and "purity" in page
  # The metrics are tables (nested dicts nested tables, a list of dicts one row per item, a
  # matrix a grid), never JSON text; numbers to 3 significant figures.
  section = page[page.index("<h3>Analysis metrics</h3>"):page.index("<h2>Config")]
  assert "{" not in section and "&quot;" not in section and "0.123456789" not in section
  assert "<th>nested</th><td><table><tr><th>a</th><td>1</td></tr><tr><th>deeper</th><td><table>" \
         "<tr><th>b</th><td>0.123</td>" in section
  assert "<tr><th>return_mean</th><th>skill</th></tr><tr><td>2</td><td>0</td></tr>" \
         "<tr><td>0.0664</td><td>1</td></tr>" in section  # (analysis.json sorts the keys)
  assert "<tr><th>1</th><td>0.25</td><td>0.75</td></tr>" in section
  with open(os.path.join(analysis_dir, "transition.png"), "rb") as a, \
       open(os.path.join(out_dir, "transition.png"), "rb") as b:
    assert a.read() == b.read()
  with open(os.path.join(out_dir, "metrics.json")) as f:
    summary = json.load(f)
  assert summary["analysis"] == {**metrics, "count": 3}
  assert summary["final_train_metrics"]["loss"] == 0.5
  assert not [f for f in os.listdir(out_dir) if f.startswith(".tmp-")]


def test_report_without_analysis_is_unchanged(tmp_path):
  out_dir = report.write_run_report(_workdir_with_metrics(tmp_path))
  with open(os.path.join(out_dir, "metrics.json")) as f:
    assert "analysis" not in json.load(f)
  with open(os.path.join(out_dir, "index.html")) as f:
    assert "Analysis" not in f.read()


def test_write_analysis_index_rejects_paths(tmp_path):
  with pytest.raises(ValueError, match="plain file name"):
    analysis_index.write_analysis_index(str(tmp_path), [("../x.png", "c")], {})


def test_run_report_summary_names_the_run_and_its_numbers(tmp_path):
  workdir = _workdir_with_metrics(tmp_path)
  with open(os.path.join(workdir, "metrics.jsonl"), "a") as f:  # a diagnostic and a rate
    f.write(json.dumps({"step": 30, "time": 3.0, "loss": 0.25, "kl_y": 0.1,
                        "steps_per_sec": 123.456}) + "\n")
  config = {"experiment": "helms_stacking", "variant": "tiny", "seed": 0,
            "env": {"name": "stacking", "kwargs": {"task": "red_on_blue"}},
            "learner": {"name": "helms"}, "train": {"num_steps": 30},
            "data": {"dir": os.path.join(workdir, "data")},
            "compilation_cache_dir": os.path.dirname(sys.executable)}
  with open(os.path.join(workdir, "config.json"), "w") as f:
    json.dump(config, f)
  evaluation = {"checkpoint_step": 30, "num_episodes": 8,
                "policy": {"return_mean": 0.0, "return_std": 0.0, "success_rate": 0.0},
                "expert": {"return_mean": 19.5123, "return_std": 3.151, "success_rate": 0.5},
                "random": {"return_mean": 0.066412, "return_std": 0.07793, "success_rate": 0.0}}
  with open(os.path.join(workdir, "eval.json"), "w") as f:
    json.dump(evaluation, f)
  analysis_index.write_analysis_index(  # a HeLMS analysis: 2 of 4 skills above 1/(2K) = 0.125
      os.path.join(workdir, "analysis"), [],
      {"dataset": {"usage": [0.5, 0.4, 0.1, 0.0], "mean_segment_length": 5.47,
                   "usage_entropy_normalised": 0.75}, "prior_diagonal_mass": 0.502})
  with open(os.path.join(report.write_run_report(workdir), "index.html")) as f:
    page = f.read()
  summary = page[page.index('<div class="summary">'):page.index("</div>")]
  assert "Experiment helms_stacking (tiny) on the stacking env (task red_on_blue)" in summary
  assert "Offline learner HeLMS trained for 30 updates" in summary  # the record's label
  assert ("The offline HeLMS policy (acting from the learnt model, before any RL) scores a mean "
          "return of 0 against the expert baseline&#x27;s 19.5 and the random baseline&#x27;s "
          "0.0664") in summary
  assert ("4 skills; 2 of them used on the dataset (each on more than 1/(2K) of its steps); a "
          "skill is held 5.47 steps on average; usage entropy 0.75 of its maximum") in summary
  assert "keeps the current skill with probability 0.502" in summary
  assert "loss went from 1 (update 10) to 0.25 (update 30); lower is better." in summary
  assert "19.5 ± 3.15" in page and "0.0664 ± 0.0779" in page  # the evaluation table
  # No path of this machine: the run directory is a placeholder, the interpreter's is gone.
  assert str(tmp_path) not in page and os.path.dirname(sys.executable) not in page
  assert "&lt;workdir&gt;/data" in page
  # The learning signal is shown, diagnostics and throughput folded away, the rate in words.
  details = page.index("<details><summary>Diagnostics")
  assert page.index("curve_loss.png") < details < page.index("curve_kl_y.png")
  assert page.index("curve_steps_per_sec.png") > details
  assert "<b>Throughput:</b> 123 updates/s" in page

"""Learning curves over seeds, final performance and comparison reports (no JAX compilation)."""

import json
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from helms_jax.analysis import compare, html_pages, metric_info, plots, report, run_curves
from helms_jax.analysis import statistics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _null(values):
  return [None if v is None or not np.isfinite(v) else float(v) for v in values]


def _write_run(workdir, label, returns, success=None, steps=None, seeds=None, variant="default",
               extra_lines=(), target=None):
  """A fake transfer run: returns/success [P, S] (NaN -> null) at `steps` [P]."""
  returns = np.asarray(returns, float)
  num_points, num_seeds = returns.shape
  steps = list(range(100, 100 * (num_points + 1), 100)) if steps is None else steps
  seeds = list(range(num_seeds)) if seeds is None else seeds
  out = os.path.join(workdir, "transfer")
  os.makedirs(out, exist_ok=True)
  with open(os.path.join(out, "run.json"), "w") as f:
    json.dump({"label": label, "experiment": "transfer_test", "variant": variant, "seeds": seeds,
               "env": {"name": "point_reach"}, "env_steps_per_seed": target or steps[-1],
               "command": f"helms-transfer --workdir={workdir}", "commit": "abc123"}, f)
  with open(os.path.join(out, "curves.jsonl"), "w") as f:
    for p, step in enumerate(steps):
      metrics = {"episode_return": _null(returns[p]), "episodes": [3] * num_seeds}
      if success is not None:
        metrics["success"] = _null(np.asarray(success, float)[p])
      f.write(json.dumps({"env_steps": step, "updates": 2 * step, "wall_time": 1000.0 + p,
                          "metrics": metrics}) + "\n")
    for line in extra_lines:
      f.write(line)
  return workdir


def _oracle_final(values, k):
  """Per seed: plain Python mean over the finite values of the last k points."""
  per_seed = []
  for s in range(values.shape[1]):
    xs = [values[p, s] for p in range(len(values) - k, len(values)) if math.isfinite(values[p, s])]
    per_seed.append(sum(xs) / len(xs) if xs else math.nan)
  finite = [v for v in per_seed if math.isfinite(v)]
  mean = sum(finite) / len(finite)
  std = math.sqrt(sum((v - mean) ** 2 for v in finite) / (len(finite) - 1))  # sample std
  return per_seed, mean, std


def _strict_json(path):
  def reject(constant):
    raise ValueError(f"non-standard JSON constant {constant}")
  with open(path) as f:
    return json.loads(f.read(), parse_constant=reject)


def test_load_run_keeps_last_line_per_env_steps_and_nan(tmp_path):
  returns = np.array([[1.0, np.nan], [2.0, 3.0], [4.0, 5.0]])
  # A resume after 200 steps rewrites 200 and 300, then continues; the writer is cut mid-line.
  resumed = [
      json.dumps({"env_steps": 200, "updates": 7, "wall_time": 5.0,
                  "metrics": {"episode_return": [20.0, None], "loss": [0.5, 0.25]}}) + "\n",
      json.dumps({"env_steps": 300, "updates": 8, "wall_time": 6.0,
                  "metrics": {"episode_return": [30.0, 31.0]}}) + "\n",
      json.dumps({"env_steps": 400, "updates": 9, "wall_time": 7.0,
                  "metrics": {"episode_return": [40.0, 41.0], "success": [True, False]}}) + "\n",
      '{"env_steps": 500, "metr']
  workdir = _write_run(str(tmp_path / "run"), "HeLMS-cat", returns, extra_lines=resumed)
  run = run_curves.load_run(workdir)
  assert run.label == "HeLMS-cat" and run.seeds == [0, 1] and run.run_dir == workdir
  np.testing.assert_array_equal(run.env_steps, [100, 200, 300, 400])
  np.testing.assert_array_equal(run.updates, [200, 7, 8, 9])
  np.testing.assert_array_equal(run.metrics["episode_return"],
                                [[1.0, np.nan], [20.0, np.nan], [30.0, 31.0], [40.0, 41.0]])
  # Metrics absent from a line are NaN there; booleans are numbers.
  np.testing.assert_array_equal(run.metrics["loss"],
                                [[np.nan] * 2, [0.5, 0.25], [np.nan] * 2, [np.nan] * 2])
  np.testing.assert_array_equal(run.metrics["success"][-1], [1.0, 0.0])
  np.testing.assert_array_equal(run.metrics["episodes"][:, 0], [3, np.nan, np.nan, np.nan])
  # The transfer directory itself is accepted too; the workdir is its parent.
  assert run_curves.load_run(os.path.join(workdir, "transfer")).run_dir == workdir


def test_final_performance_table_matches_an_oracle(tmp_path):
  rng = np.random.default_rng(0)
  values = rng.normal(size=(30, 4)).cumsum(axis=0)
  values[rng.random(values.shape) < 0.2] = np.nan
  values[-3:, 2] = np.nan  # seed 2 has nothing in the last 10 %
  run = run_curves.load_run(_write_run(str(tmp_path / "a"), "MPO", values, seeds=[3, 5, 7, 9]))
  for fraction, k in ((0.1, 3), (0.25, 8), (1.0, 30), (0.01, 1)):
    (row,) = statistics.final_performance_table([run], "episode_return", last_fraction=fraction)
    per_seed, mean, std = _oracle_final(values, k)
    assert row["num_points"] == k and row["from_env_steps"] == 100 * (30 - k + 1)
    np.testing.assert_allclose(row["per_seed"], per_seed, rtol=1e-12)
    assert row["mean"] == pytest.approx(mean, rel=1e-12)
    assert row["std"] == pytest.approx(std, rel=1e-12)
    assert row["seeds"] == [3, 5, 7, 9] and row["env_steps"] == 3000
  (row,) = statistics.final_performance_table([run], "episode_return")
  assert row["seeds_with_data"] == 3 and math.isnan(row["per_seed"][2])
  assert statistics.final_performance_table([run], "success") == []  # runs without it are left out
  with pytest.raises(ValueError, match="last_fraction"):
    statistics.final_performance_table([run], "episode_return", last_fraction=0.0)


def test_final_performance_skips_points_where_no_seed_has_a_value(tmp_path):
  """Transfer logs alternate between intervals with finished episodes and intervals without
  (all seeds NaN): the last-10% window counts only points with data."""
  values = np.full((10, 2), np.nan)
  values[0::2] = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [9.0, 10.0]]
  run = run_curves.load_run(_write_run(str(tmp_path / "a"), "HeLMS-cat", values))
  (row,) = statistics.final_performance_table([run], "episode_return", last_fraction=0.4)
  # 5 points with data, ceil(0.4 * 5) = 2 of them: env steps 700 and 900.
  assert row["num_points"] == 2 and row["from_env_steps"] == 700 and row["env_steps"] == 1000
  np.testing.assert_allclose(row["per_seed"], [8.0, 9.0])
  assert row["mean"] == pytest.approx(8.5) and row["std"] == pytest.approx(math.sqrt(0.5))


def test_smooth_and_seed_statistics_ignore_nan():
  rng = np.random.default_rng(1)
  values = rng.normal(size=(12, 3))
  values[rng.random(values.shape) < 0.3] = np.nan
  values[:4, 1] = np.nan
  for window in (1, 3, 5, 20):
    out = statistics.smooth(values, window)
    for p in range(12):
      for s in range(3):
        xs = [values[q, s] for q in range(max(0, p - window + 1), p + 1)
              if np.isfinite(values[q, s])]
        expected = sum(xs) / len(xs) if xs else np.nan
        np.testing.assert_allclose(out[p, s], expected, rtol=1e-12)
  mean, std, count = statistics.seed_statistics(values)
  for p in range(12):
    xs = values[p][np.isfinite(values[p])]
    assert count[p] == len(xs)
    if len(xs):
      assert mean[p] == pytest.approx(np.mean(xs)) and std[p] == pytest.approx(np.std(xs))
    else:
      assert np.isnan(mean[p]) and np.isnan(std[p])
  _, sample_std, _ = statistics.seed_statistics(values, ddof=1)
  for p in range(12):
    xs = values[p][np.isfinite(values[p])]
    if len(xs) > 1:  # the sample std, by hand
      assert sample_std[p] == pytest.approx(math.sqrt(np.sum((xs - xs.mean()) ** 2) / (len(xs) - 1)))
    else:  # undefined with one seed: NaN, not 0
      assert np.isnan(sample_std[p])


def test_errors_name_the_path(tmp_path):
  missing = str(tmp_path / "nope")
  with pytest.raises(ValueError, match="nope: run directory does not exist"):
    run_curves.load_run(missing)
  empty = tmp_path / "empty"
  empty.mkdir()
  with pytest.raises(ValueError, match=f"{empty}/transfer/curves.jsonl: missing"):
    run_curves.load_run(str(empty))

  workdir = _write_run(str(tmp_path / "run"), "MPO", np.ones((3, 2)))
  transfer = os.path.join(workdir, "transfer")
  os.rename(os.path.join(transfer, "run.json"), os.path.join(transfer, "run.bak"))
  with pytest.raises(ValueError, match=f"{transfer}/run.json: missing"):
    run_curves.load_run(workdir)
  with open(os.path.join(transfer, "run.json"), "w") as f:
    f.write("{not json")
  with pytest.raises(ValueError, match=f"{transfer}/run.json: unreadable"):
    run_curves.load_run(workdir)
  os.replace(os.path.join(transfer, "run.bak"), os.path.join(transfer, "run.json"))

  path = os.path.join(transfer, "curves.jsonl")
  with open(path) as f:
    lines = f.readlines()
  cases = [
      (lines[:1] + ["garbage\n"] + lines[1:], f"{path}:2: not a JSON line"),
      (lines + ['{"env_steps": 400, "metrics": {"episode_return": [1.0]}}\n'],
       f"{path}:4: metric 'episode_return' has 1 values, expected one per seed \\(2\\)"),
      (lines + ['{"env_steps": 400, "metrics": {"success": ["yes", 1]}}\n'],
       f"{path}:4: metric 'success' has a non-numeric value"),
      (lines + ['{"env_steps": "400", "metrics": {}}\n'], f"{path}:4: 'env_steps'"),
  ]
  for content, message in cases:
    with open(path, "w") as f:
      f.writelines(content)
    with pytest.raises(ValueError, match=message):
      run_curves.load_run(workdir)

  bad = tmp_path / "exploration.json"
  bad.write_text('{"rows": 3}')
  with pytest.raises(ValueError, match=f"{bad}: expected an object with 'rows'"):
    run_curves.load_exploration(str(bad))


def test_expand_run_dirs(tmp_path):
  a = _write_run(str(tmp_path / "runs" / "cat"), "HeLMS-cat", np.ones((2, 1)))
  b = _write_run(str(tmp_path / "runs" / "mpo"), "MPO", np.ones((2, 1)))
  os.makedirs(tmp_path / "runs" / "skills")  # matched by the glob, no curves: skipped
  pattern = str(tmp_path / "runs" / "*")
  assert run_curves.expand_run_dirs(pattern) == [a, b]
  assert run_curves.expand_run_dirs(f"{b}, {pattern}") == [b, a]  # order kept, no repeats
  with pytest.raises(ValueError, match="matches no run directory"):
    run_curves.expand_run_dirs(str(tmp_path / "other*"))


def test_run_names_disambiguate_repeated_labels_by_what_every_record_has(tmp_path):
  """Labels that repeat get the variant, or, where a record has none (a run restored from
  published curves), the run directory's name; never "None". Unique labels stay bare."""
  def load(name, label, variant):
    return run_curves.load_run(_write_run(str(tmp_path / name), label, np.ones((2, 1)),
                                          variant=variant))
  state, image, sac = (load("spirl_state", "SPiRL", "spirl,state"),
                       load("spirl", "SPiRL", "spirl,image"), load("sac", "SAC", "sac"))
  assert run_curves.run_names([image, state, sac]) == [
      "SPiRL (spirl,image)", "SPiRL (spirl,state)", "SAC"]
  image.info["variant"] = None  # as a restored record has it
  assert run_curves.run_names([image, state, sac]) == [
      "SPiRL (spirl)", "SPiRL (spirl_state)", "SAC"]
  assert run_curves.run_names([sac, sac]) == [f"SAC ({sac.run_dir}) #1",
                                              f"SAC ({sac.run_dir}) #2"]


def _three_runs(tmp_path):
  rng = np.random.default_rng(2)
  returns = [rng.normal(loc, 1.0, size=(20, 3)) for loc in (5.0, 2.0, 1.0)]
  success = [(rng.random((20, 3)) < q).astype(float) for q in (0.8, 0.3, 0.1)]
  returns[0][:5] = np.nan  # no episode finished at first
  dirs = [_write_run(str(tmp_path / "cat"), "HeLMS-cat", returns[0], success[0]),
          _write_run(str(tmp_path / "cat_nokl"), "HeLMS-cat", returns[1], success[1],
                     variant="helms_cat,no_kl", target=4000),
          _write_run(str(tmp_path / "mpo"), "MPO", returns[2])]  # no success logged
  return dirs, returns, success


def test_comparison_report(tmp_path):
  dirs, returns, success = _three_runs(tmp_path)
  rows = [{"method": "HeLMS-cat", "dense_return": 3.0, "dense_return_std": 0.5,
           "staged_return": 1.0, "staged_return_std": 0.25, "joint_variance": 0.1,
           "grasp_variance": 0.2, "object_variance": 0.3, "num_episodes": 16}]
  with open(os.path.join(dirs[0], "exploration.json"), "w") as f:
    json.dump({"rows": rows}, f)
  out = str(tmp_path / "comparison")
  index = compare.write_comparison_report(dirs, out, title="Transfer <test>")
  assert index == os.path.join(out, "index.html")
  for name in ("curve_episode_return.png", "curve_success.png"):
    with open(os.path.join(out, name), "rb") as f:
      assert f.read(8) == PNG_MAGIC
  summary = _strict_json(os.path.join(out, "metrics.json"))  # NaN written as null
  names = [r["name"] for r in summary["runs"]]
  assert names == ["HeLMS-cat (default)", "HeLMS-cat (helms_cat,no_kl)", "MPO"]
  table = summary["final_performance"]["episode_return"]
  for row, values in zip(table, returns):
    per_seed, mean, std = _oracle_final(values, 2)
    assert row["mean"] == pytest.approx(mean) and row["std"] == pytest.approx(std)
    np.testing.assert_allclose(row["per_seed"], per_seed)
  assert [r["name"] for r in summary["final_performance"]["success"]] == names[:2]
  assert summary["final_performance"]["success"][1]["mean"] == pytest.approx(
      _oracle_final(success[1], 2)[1])
  # Paths relative to the runs' common directory: the file names no directory of this machine.
  assert summary["exploration"] == [{**rows[0], "source": "<runs>/cat"}]
  assert [r["run_dir"] for r in summary["runs"]] == ["<runs>/cat", "<runs>/cat_nokl",
                                                     "<runs>/mpo"]
  with open(os.path.join(out, "metrics.json")) as f:
    assert str(tmp_path) not in f.read()
  assert summary["runs"][0]["info"]["commit"] == "abc123"
  with open(index) as f:
    page = f.read()
  assert "Transfer &lt;test&gt;" in page and "<h2>Exploration</h2>" in page
  assert "3 ± 0.5" in page and "2,000 / 4,000" in page  # counts exact, with separators
  assert page.index("curve_episode_return.png") < page.index("Final episode_return")
  assert not [f for f in os.listdir(out) if f.startswith(".tmp")]

  with pytest.raises(ValueError, match="curves.jsonl: missing"):
    compare.write_comparison_report(dirs + [str(tmp_path)], str(tmp_path / "c2"))


def test_run_report_has_transfer_section(tmp_path):
  workdir = str(tmp_path / "run")
  os.makedirs(workdir)
  with open(os.path.join(workdir, "metrics.jsonl"), "w") as f:
    f.write(json.dumps({"step": 10, "time": 1.0, "loss": 0.5}) + "\n")
  values = np.arange(20.0).reshape(10, 2)
  _write_run(workdir, "HeLMS-mix", values, success=values > 10)
  with open(os.path.join(workdir, "exploration.json"), "w") as f:
    json.dump({"rows": [{"method": "HeLMS-mix", "dense_return": 1.5, "dense_return_std": 0.1,
                         "num_episodes": 8}]}, f)
  out_dir = report.write_run_report(workdir)
  with open(os.path.join(out_dir, "index.html")) as f:
    page = f.read()
  assert "<h2>Transfer: HeLMS-mix</h2>" in page and "<h2>Exploration</h2>" in page
  assert page.index("curve_loss.png") < page.index("<h2>Transfer") < page.index("<h2>Config")
  for name in ("transfer_curve_episode_return.png", "transfer_curve_success.png"):
    assert name in page
    with open(os.path.join(out_dir, name), "rb") as f:
      assert f.read(8) == PNG_MAGIC
  with open(os.path.join(out_dir, "metrics.json")) as f:
    summary = json.load(f)
  final = summary["transfer"]["final_performance"]["episode_return"]
  assert final["per_seed"] == [18.0, 19.0] and final["mean"] == 18.5
  assert final["std"] == pytest.approx(math.sqrt(0.5))  # the sample std of 18 and 19
  assert summary["transfer"]["final_performance"]["success"]["mean"] == 1.0
  assert summary["exploration"][0]["dense_return"] == 1.5
  assert summary["final_train_metrics"]["loss"] == 0.5

  # Broken curves do not stop the report: a note and a warning instead.
  with open(os.path.join(workdir, "transfer", "run.json"), "w") as f:
    f.write("[]")
  out_dir = report.write_run_report(workdir)
  with open(os.path.join(out_dir, "index.html")) as f:
    assert "run.json: not a JSON object" in f.read()
  with open(os.path.join(out_dir, "metrics.json")) as f:
    assert "transfer" not in json.load(f)


def test_launcher_compares_runs(tmp_path):
  dirs, _, _ = _three_runs(tmp_path)
  out = str(tmp_path / "cmp")
  command = [sys.executable, "-m", "launch.report", f"--runs={dirs[2]},{tmp_path}/cat*",
             f"--out={out}", "--smoothing=3"]
  result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
  assert result.returncode == 0, result.stderr
  assert "Comparison of 3 runs" in result.stdout
  summary = _strict_json(os.path.join(out, "metrics.json"))
  assert [r["label"] for r in summary["runs"]] == ["MPO", "HeLMS-cat", "HeLMS-cat"]
  assert summary["smoothing"] == 3


# ----------------------------------------------------------------------------------------------
# What the reports show: numbers, bands, paths, the summary.


@pytest.mark.parametrize("value, text", [
    (0.066412, "0.0664"), (55.123, "55.1"), (1234.5, "1,230"), (123456.7, "123,000"),
    (1234567.0, "1.23e+06"), (0.00012345, "1.23e-04"), (999.7, "1,000"), (-3.1512, "-3.15"),
    (1.0, "1"), (0.0, "0"), (np.float32(0.5), "0.5"), (float("nan"), "–"), (None, "–"),
    # Integers are counts: exact, with thousands separators.
    (1234567, "1,234,567"), (np.int64(3), "3")])
def test_report_numbers_have_three_significant_figures(value, text):
  assert html_pages.fmt(value) == text


def test_mean_and_std_are_formatted_alike():
  assert html_pages.pm(0.066412, 0.077934) == "0.0664 ± 0.0779"
  assert html_pages.pm(55.123, 3.1512) == "55.1 ± 3.15"
  assert html_pages.pm(2.0, None) == html_pages.pm(2.0, float("nan")) == "2"


def test_metric_names_say_direction_bounds_and_group():
  assert metric_info.direction("episode_return") == metric_info.direction("elbo") == "higher"
  assert metric_info.direction("loss") == metric_info.direction("action_mse") == "lower"
  assert metric_info.direction("learner/critic_loss") is None  # a learner's internals
  assert metric_info.direction("mse/forward+turn") == "lower"  # a metric family by its head
  assert metric_info.bounds("success") == metric_info.bounds("success_rate") == (0.0, 1.0)
  assert metric_info.bounds("learner/prior_sampling_prob") == (0.0, 1.0)
  assert metric_info.bounds("log_prob") is None and metric_info.bounds("episode_return") is None
  assert metric_info.group("steps_per_sec") == metric_info.THROUGHPUT
  assert metric_info.unit("steps_per_sec") == "updates/s"
  assert metric_info.order(["steps_per_sec", "kl_y", "action_mse", "loss", "success"]) == [
      "success", "loss", "action_mse", "kl_y", "steps_per_sec"]


def _bands(fig):
  """The y values of every shaded band of a figure."""
  ys = [p.vertices[:, 1] for ax in fig.axes for c in ax.collections for p in c.get_paths()]
  return np.concatenate(ys) if ys else np.zeros(0)


def test_bands_of_unit_interval_metrics_stay_in_it(tmp_path, monkeypatch):
  bands, save = {}, plots.save_figure

  def keep_bands(fig, path, dpi=None):
    bands[os.path.basename(path)] = _bands(fig)
    return save(fig, path, dpi)

  monkeypatch.setattr(plots, "save_figure", keep_bands)
  # One seed in three succeeds (mean 1/3, std 0.47): mean ± std leaves [0, 1] on both sides
  # at some point; the return's band (same values, unbounded) is left alone.
  success = np.array([[0, 0, 1], [1, 1, 0], [0, 0, 1], [1, 1, 0]], float)
  run = run_curves.load_run(_write_run(str(tmp_path / "run"), "A", success, success))
  plots.plot_learning_curves([run], "success", str(tmp_path / "s.png"))
  plots.plot_learning_curves([run], "episode_return", str(tmp_path / "r.png"))
  assert bands["s.png"].min() == 0.0 and bands["s.png"].max() == 1.0
  assert bands["r.png"].min() < 0.0 and bands["r.png"].max() > 1.0
  # Offline metrics logged per seed (lists) in the run report's training curves.
  rows = [{"step": 10 * (i + 1), "success_rate": list(s), "loss": list(-s)}
          for i, s in enumerate(success)]
  report.plot_curves(rows, ["success_rate", "loss"], str(tmp_path))
  assert bands["curve_success_rate.png"].min() == 0.0
  assert bands["curve_success_rate.png"].max() == 1.0
  assert bands["curve_loss.png"].min() < -1.0


def test_comparison_report_says_what_ran_without_machine_paths(tmp_path):
  dirs, _, _ = _three_runs(tmp_path)
  entry_point = os.path.join(os.path.dirname(sys.executable), "helms-transfer")
  for d in dirs:
    path = os.path.join(d, "transfer", "run.json")
    with open(path) as f:
      info = json.load(f)
    info["command"] = (f"{entry_point} --config=experiments/transfer_test.py --workdir={d} "
                       f"--config.transfer.skills_dir={tmp_path}/skills")
    with open(path, "w") as f:
      json.dump(info, f)
  index = compare.write_comparison_report(dirs, str(tmp_path / "cmp"))
  with open(index) as f:
    page = f.read()
  assert str(tmp_path) not in page and sys.executable not in page
  assert os.path.dirname(sys.executable) not in page
  assert ("helms-transfer --config=experiments/transfer_test.py --workdir=&lt;runs&gt;/cat "
          "--config.transfer.skills_dir=&lt;runs&gt;/skills") in page
  assert "<th>label</th>" not in page  # the run's name already is its label
  summary = page[page.index('<div class="summary">'):page.index("</div>")]
  assert page.index('<div class="summary">') < page.index("<h2>Runs</h2>")
  rows = _strict_json(os.path.join(tmp_path, "cmp", "metrics.json"))["final_performance"]
  for row in rows["episode_return"]:  # every run's final return, as in the tables
    assert f"{row['name']} {html_pages.pm(row['mean'], row['std'])}" in summary
  assert "3 runs of transfer_test" in summary and "higher is better" in summary
  # The run stopped at 2,000 of its 4,000 env steps: its "final" numbers say so, per metric.
  assert summary.count("(unfinished: at 2,000 of 4,000 env steps)") == 2
  assert not re.search(r"\.\d{6,}", page)  # no raw floats: 3 significant figures at most


def test_scrubbing_paths_is_idempotent():
  roots = html_pages.path_roots(("/data/runs", "<runs>"))
  command = ("helms-transfer --workdir=/data/runs/cat --config.transfer.skills_dir=/elsewhere/"
             "skills/default --config=experiments/x.py:a,b")
  once = html_pages.display_command(command, roots)
  assert once == ("helms-transfer --workdir=<runs>/cat --config.transfer.skills_dir=…/default "
                  "--config=experiments/x.py:a,b")
  assert html_pages.display_command(once, roots) == once  # a restored record, published again
  assert html_pages.scrub_paths(once, roots) == once
  assert html_pages.scrub_paths("see /data/runs/mpo", roots) == "see <runs>/mpo"


def test_curve_panels_keep_a_method_colour_and_its_mean_in_every_panel(tmp_path, monkeypatch):
  figures, save = {}, plots.save_figure

  def keep(fig, path, dpi=None):
    figures[os.path.basename(path)] = [
        {line.get_label(): (line.get_color(), line.get_ydata()) for line in ax.get_lines()}
        for ax in fig.axes]
    return save(fig, path, dpi)

  monkeypatch.setattr(plots, "save_figure", keep)
  a = np.array([[1.0, 3.0], [2.0, 4.0]])
  runs = {name: run_curves.load_run(_write_run(str(tmp_path / name), name, values))
          for name, values in (("A", a), ("B", a + 10), ("B2", a + 20))}
  # B comes second in one panel and first in the other: its colour must not follow the order.
  panels = {"dense": {"A": runs["A"], "B": runs["B"]}, "sparse": {"B": runs["B2"]}}
  plots.plot_curve_panels(panels, "episode_return", str(tmp_path / "f.png"))
  dense, sparse = figures["f.png"]
  assert dense["B (2 seeds)"][0] == sparse["B (2 seeds)"][0] != dense["A (2 seeds)"][0]
  np.testing.assert_allclose(dense["A (2 seeds)"][1], [2.0, 3.0])  # the mean over seeds
  np.testing.assert_allclose(sparse["B (2 seeds)"][1], [22.0, 23.0])
  with pytest.raises(ValueError, match="success"):
    plots.plot_curve_panels(panels, "success", str(tmp_path / "g.png"))
  with pytest.raises(ValueError, match="no run"):
    plots.plot_curve_panels({}, "episode_return", str(tmp_path / "h.png"))

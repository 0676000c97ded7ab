"""The reproduction protocol's files: curves.csv rows, window statistics, claims.json, its table."""

import json
import os
from unittest import mock

import numpy as np
import pytest

from helms_jax.analysis import compare, plots, reproduction, run_curves
from tests.test_curves import _write_run


def _runs(tmp_path):
  # method a: seeds 0, 1, 2 at steps 100..1000; seed 2 misses a point (null).
  steps = list(range(100, 1100, 100))
  a = np.tile(np.arange(10, dtype=float)[:, None], (1, 3)) + np.array([0.0, 1.0, 2.0])
  a[9, 2] = np.nan
  b = np.zeros((10, 3))
  return {"a": _write_run(str(tmp_path / "a"), "A", a, success=a / 20, steps=steps),
          "b": _write_run(str(tmp_path / "b"), "B", b, success=b, steps=steps)}, a


def _a_beats_b():
  return reproduction.Claim(
      id="a_beats_b", text="A beats B.", source="Fig. 1", metric="success",
      methods=("a", "b"), paper={"a": 1.0, "b": 0.0}, criterion="a > b",
      predicate=lambda s: "reproduced" if s["a"]["mean"] > s["b"]["mean"] else "not reproduced")


def test_rows_csv_and_window_statistics_against_hand_computed_values(tmp_path):
  runs, a = _runs(tmp_path)
  rows = reproduction.curves_rows(runs)
  # Every finite point of every seed: 2 methods x 3 seeds x 10 points x 3 metrics, minus the
  # two NaN values of method a's seed 2 at the last point.
  assert len(rows) == 2 * 3 * 10 * 3 - 2
  path = str(tmp_path / "curves.csv")
  reproduction.write_curves_csv(path, rows)
  assert open(path).readline().strip() == "method,seed,env_steps,metric,value"
  assert sorted(reproduction.read_curves_csv(path)) == sorted(rows)

  window = reproduction.last_fraction_window(rows, 0.1)
  assert window == (900, 1000)
  stats = reproduction.window_statistics(rows, "a", "episode_return", window)
  per_seed = [np.mean(a[8:10, 0]), np.mean(a[8:10, 1]), a[8, 2]]  # seed 2: only step 900
  assert stats["seeds"] == 3
  np.testing.assert_allclose(stats["mean"], np.mean(per_seed))
  np.testing.assert_allclose(stats["std"], np.std(per_seed, ddof=1))


def test_claims_verdict_file_and_table(tmp_path):
  runs, _ = _runs(tmp_path)
  rows = reproduction.curves_rows(runs)
  claim = reproduction.Claim(
      id="a_beats_b", text="A beats B.", source="Fig. 1", metric="success",
      methods=("a", "b"), paper={"a": 1.0, "b": 0.0}, criterion="a >= 0.3 and b <= 0.1",
      predicate=lambda s: ("reproduced" if s["a"]["mean"] >= 0.3 and s["b"]["mean"] <= 0.1
                           else "not reproduced"))
  entry = reproduction.evaluate_claim(claim, rows)
  assert entry["verdict"] == "reproduced" and entry["window"] == [900, 1000]
  assert entry["initial_window"] == [0, 100]
  # Without a written `why`, the numbers the verdict rests on (a: mean of per-seed window means).
  a_mean = np.mean([np.mean([8, 9]) / 20, np.mean([9, 10]) / 20, 10 / 20])
  assert f"a {a_mean:.3g}" in entry["why"] and "b 0 +- 0 (3 seeds)" in entry["why"]
  assert entry["why"].endswith("a >= 0.3 and b <= 0.1: reproduced.")
  missing = reproduction.Claim(**{**claim.__dict__, "methods": ("a", "c")})
  missing_entry = reproduction.evaluate_claim(missing, rows)
  assert missing_entry["verdict"] == "not reproduced"  # c never ran
  assert "No success points of c in env steps 900-1,000" in missing_entry["why"]
  # A claim none of whose methods has run yet (an experiment's later task) waits for them.
  unrun = reproduction.evaluate_claim(
      reproduction.Claim(**{**claim.__dict__, "methods": ("c", "d")}), rows)
  assert unrun["verdict"] == "not reproduced" and unrun["window"] == [0, 0]
  # A method beside the criterion is reported but neither seen by the predicate nor waited for.
  seen = []
  beside = reproduction.Claim(**{**claim.__dict__, "methods": ("a",), "beside": ("b", "c"),
                                 "predicate": lambda s: seen.append(set(s)) or "reproduced"})
  beside_entry = reproduction.evaluate_claim(beside, rows)
  assert beside_entry["verdict"] == "reproduced" and seen == [{"a"}]
  assert beside_entry["beside"] == ["b", "c"] and beside_entry["methods"]["b"]["seeds"] == 3
  assert beside_entry["methods"]["c"]["seeds"] == 0
  assert "b (beside): 0 ± 0 (3 seeds)" in reproduction.claims_html(
      {"claims": [beside_entry], "paper": "Toy", "env_steps_per_seed": 1000,
       "paper_env_steps_per_seed": None, "machine": "m"})
  # A predicate that compares with the start gets the initial window's statistics too.
  given = []
  learns = reproduction.Claim(**{**claim.__dict__, "compares_initial": True, "predicate": (
      lambda s, first: given.append(first) or "reproduced")})
  assert reproduction.evaluate_claim(learns, rows)["verdict"] == "reproduced"
  assert set(given[0]) == {"a", "b"}
  # Method a's success at steps <= 100 (the first 10 %): seed k's first point, (0 + k) / 20.
  np.testing.assert_allclose(given[0]["a"]["mean"], np.mean([0, 1, 2]) / 20)
  with pytest.raises(ValueError, match="both in methods and beside"):
    reproduction.Claim(**{**claim.__dict__, "beside": ("b",)})
  written = reproduction.Claim(**{**claim.__dict__, "why": "Because."})
  assert reproduction.evaluate_claim(written, rows)["why"] == "Because."
  out = reproduction.write_claims(
      str(tmp_path / "claims.json"), experiment="toy", paper="Toy (Fig. 1)", command="cmd",
      commit="abc", machine="2-core CPU", wall_time_s=1.0, env_steps_per_seed=1000,
      paper_env_steps_per_seed=1000, claims=[entry])
  assert json.load(open(tmp_path / "claims.json")) == json.loads(json.dumps(out))
  index = compare.write_comparison_report(list(runs.values()), str(tmp_path / "report"),
                                          claims_path=str(tmp_path / "claims.json"))
  page = open(index).read()
  assert page.index("Paper vs ours") < page.index("Learning curves")
  assert "a_beats_b" in page and "reproduced" in page
  # The summary gives the verdicts in words, ours against the paper's numbers.
  summary = page[page.index('<div class="summary">'):page.index("</div>")]
  assert (f"1 of 1 claims reproduced. a_beats_b (reproduced, success): a {a_mean:.3g} (paper 1), "
          "b 0 (paper 0).") in summary
  assert "c: nothing in the window (not run, or unfinished)" in reproduction.claims_html(
      {**out, "claims": [missing_entry]})


def test_publish_writes_the_protocol_files(tmp_path):
  runs, _ = _runs(tmp_path)
  claim = _a_beats_b()
  out_dir = tmp_path / "out"
  out_dir.mkdir()
  out = reproduction.publish(str(out_dir), runs, [claim], metrics=("success",),
                             experiment="toy", paper="Toy", command="cmd", title="Toy",
                             paper_env_steps_per_seed=1000)
  rows = reproduction.read_curves_csv(str(out_dir / "curves.csv"))
  assert sorted(rows) == sorted(reproduction.curves_rows(runs, metrics=("success",)))
  assert json.loads(json.dumps(out["claims"][0])) == json.loads(
      json.dumps(reproduction.evaluate_claim(claim, rows)))
  assert out["env_steps_per_seed"] == 1000 and out["commit"] == "abc123"  # from run.json
  assert out["method_commits"] == {m: [{"from_env_steps": 0, "commit": "abc123"}] for m in runs}
  # A run resumed at another commit names both, each from where it trained on.
  info_path = os.path.join(runs["b"], "transfer", "run.json")
  info = json.load(open(info_path))
  info["segments"] = [{"from_env_steps": 0, "commit": "abc123", "command": "x"},
                      {"from_env_steps": 500, "commit": "def4567890", "command": "x"}]
  json.dump(info, open(info_path, "w"))
  out = reproduction.publish(str(out_dir), runs, [claim], metrics=("success",),
                             experiment="toy", paper="Toy", command="cmd", title="Toy",
                             paper_env_steps_per_seed=1000)
  assert out["commit"] == "abc123" and out["method_commits"]["b"] == [
      {"from_env_steps": 0, "commit": "abc123"}, {"from_env_steps": 500, "commit": "def4567890"}]
  assert "b abc123, def4567 (from 500 env steps)" in reproduction.claims_html(out)
  assert json.load(open(out_dir / "claims.json"))["claims"][0]["verdict"] == "reproduced"
  assert "a_beats_b" in open(out_dir / "report" / "index.html").read()
  # One report per group (a method of a group that has not run yet is left out of it).
  reproduction.publish(str(out_dir), runs, [claim], metrics=("success",), experiment="toy",
                       paper="Toy", command="cmd", title="Toy", paper_env_steps_per_seed=1000,
                       report_groups={"first": ["a"], "second": ["b", "not_run_yet"]})
  for group, run in (("first", "a"), ("second", "b")):
    listed = json.load(open(out_dir / "report" / group / "metrics.json"))["runs"]
    assert [os.path.basename(r["run_dir"]) for r in listed] == [run]
    assert "a_beats_b" in open(out_dir / "report" / group / "index.html").read()
  # The paper's layout: a panel per entry; a panel whose runs have not run yet is left out.
  drawn = []
  with mock.patch.object(plots, "plot_curve_panels",
                         side_effect=lambda panels, metric, path, **_: drawn.append(
                             (list(panels), [len(p) for p in panels.values()], metric,
                              os.path.relpath(path, out_dir)))):
    reproduction.publish(str(out_dir), runs, [claim], metrics=("success",), experiment="toy",
                         paper="Toy", command="cmd", title="Toy", paper_env_steps_per_seed=1000,
                         figure_panels={"left": ["a", "b"], "right": ["not_run_yet"]},
                         figure_stem="figure9")
  assert drawn == [(["left"], [2], "success", os.path.join("report", "figure9_success.png"))]
  # No run at all (a wrong runs dir): refused, the published files untouched.
  before = {f: open(out_dir / f).read() for f in ("curves.csv", "claims.json")}
  with pytest.raises(ValueError, match="no runs to publish"):
    reproduction.publish(str(out_dir), {}, [claim], metrics=("success",), experiment="toy",
                         paper="Toy", command="cmd", title="Toy", paper_env_steps_per_seed=1000)
  assert {f: open(out_dir / f).read() for f in before} == before


def test_a_lost_run_restored_from_curves_csv_publishes_the_same_rows_and_verdict(tmp_path):
  runs, _ = _runs(tmp_path)  # method a's seed 2 misses its last point: a hole to carry over
  claim = _a_beats_b()
  kwargs = dict(metrics=("success", "episode_return"), experiment="toy", paper="Toy",
                command="cmd", title="Toy", paper_env_steps_per_seed=1000)
  first = tmp_path / "first"
  first.mkdir()
  before = reproduction.publish(str(first), runs, [claim], **kwargs)
  # Method a's runs directory is lost; its record comes back from the committed curves.csv.
  new_runs = tmp_path / "new_runs"
  reproduction.restore_run(str(first / "curves.csv"), "a", str(new_runs / "a"), commit="old1",
                           label="A")
  second = tmp_path / "second"
  second.mkdir()
  after = reproduction.publish(str(second), {"a": str(new_runs / "a"), "b": runs["b"]}, [claim],
                               **kwargs)
  assert (open(second / "curves.csv").read() == open(first / "curves.csv").read())
  assert after["claims"] == before["claims"]
  assert after["commit"] == "abc123"  # the live run's commit, not the restored one's
  assert after["restored"] == {"a": {"commit": "old1", "from": "curves.csv"}}
  assert "restored" not in before
  page = open(second / "report" / "index.html").read()
  assert "a: restored from the published curves.csv" in page and "commit old1" in page
  assert "restored from" not in open(first / "report" / "index.html").read()
  assert run_curves.load_run(str(new_runs / "a")).label == "A"
  # Restoring again over a restored record is fine; over a live run's record it is refused.
  reproduction.restore_run(str(first / "curves.csv"), "a", str(new_runs / "a"), commit="old1")
  with pytest.raises(ValueError, match="live run"):
    reproduction.restore_run(str(first / "curves.csv"), "b", runs["b"], commit="old1")
  # From the published directory: a's label from its report, its commit carried on; b is live.
  again = tmp_path / "again"
  done = reproduction.restore_published_runs(str(second), {"a": str(again / "a")})
  assert done == {"a": str(again / "a")}
  info = json.load(open(again / "a" / "transfer" / "run.json"))
  assert info["commit"] == "old1" and info["label"] == "A"
  assert reproduction.restore_published_runs(str(second), {"b": runs["b"]}) == {}  # live
  # A run that never was restored comes back at the commit its own record names in the report,
  # not claims.json's (the first live run's): here b ran at a later commit than a.
  info_b = json.load(open(os.path.join(runs["b"], "transfer", "run.json")))
  info_b["commit"] = "later2"
  json.dump(info_b, open(os.path.join(runs["b"], "transfer", "run.json"), "w"))
  third = tmp_path / "third"
  third.mkdir()
  reproduction.publish(str(third), runs, [claim], **kwargs)
  assert json.load(open(third / "claims.json"))["commit"] == "abc123"
  reproduction.restore_published_runs(
      str(third), {m: str(tmp_path / "lost" / m) for m in ("a", "b")})
  lost = [json.load(open(tmp_path / "lost" / m / "transfer" / "run.json")) for m in ("a", "b")]
  assert [i["commit"] for i in lost] == ["abc123", "later2"]
  # The rest of each run's record (variant, ...) is carried, so the report names it as before.
  assert [i["variant"] for i in lost] == [info_b["variant"]] * 2
  with pytest.raises(ValueError, match="no rows of method 'c'"):
    reproduction.restore_run(str(first / "curves.csv"), "c", str(new_runs / "c"), commit="x")


def test_a_predicate_must_give_a_known_verdict(tmp_path):
  runs, _ = _runs(tmp_path)
  rows = reproduction.curves_rows(runs)
  claim = reproduction.Claim(id="x", text="", source="", metric="success", methods=("a",),
                             paper={}, criterion="", predicate=lambda s: "yes")
  with pytest.raises(ValueError, match="not one of"):
    reproduction.evaluate_claim(claim, rows)


def _offline_run(run_dir, seed, values, scalar):
  """A `helms-train` workdir of a 2-seed population: `values` [P, 2] of metric `mse/x` at updates
  100, 200, ...; a shared scalar `steps_per_sec`; the first point written twice (a resume)."""
  os.makedirs(run_dir)
  with open(os.path.join(run_dir, "config.json"), "w") as f:
    json.dump({"seed": seed, "experiment": "toy", "variant": "v", "env": {"name": "e"},
               "learner": {"objective": "original"}, "train": {"num_seeds": 2, "num_steps": 300}},
              f)
  with open(os.path.join(run_dir, "metrics.jsonl"), "w") as f:
    f.write(json.dumps({"step": 100, "mse/x": [99.0, 99.0], "steps_per_sec": 1.0}) + "\n")
    for p, row in enumerate(values):
      f.write(json.dumps({"step": 100 * (p + 1), "mse/x": list(row), "steps_per_sec": scalar})
              + "\n")
  return run_dir


def test_offline_runs_give_rows_against_updates_and_a_comparison_page(tmp_path):
  values = np.array([[3.0, 4.0], [2.0, 3.5], [1.0, 1.5]])
  runs = {"original": _offline_run(str(tmp_path / "o"), 0, values, 7.0),
          "other": _offline_run(str(tmp_path / "r"), 10, values + 1.0, 7.0)}
  run = run_curves.load_run(runs["original"])
  assert run.step_unit == "updates" and run.seeds == [0, 1] and run.label == "original"
  np.testing.assert_array_equal(run.env_steps, [100, 200, 300])
  np.testing.assert_array_equal(run.metrics["mse/x"], values)  # the resumed point: last wins
  assert "steps_per_sec" not in run.metrics  # one shared value for two seeds: left out
  rows = reproduction.curves_rows(runs)
  assert len(rows) == 2 * 2 * 3
  assert ("other", 11, 300, "mse/x", 2.5) in rows
  stats = reproduction.window_statistics(rows, "original", "mse/x", (300, 300))
  np.testing.assert_allclose([stats["mean"], stats["std"]], [1.25, np.std([1.0, 1.5], ddof=1)])
  out = tmp_path / "report"
  compare.write_comparison_report(list(runs.values()), str(out))  # offline: learning metrics
  page = open(out / "index.html").read()
  assert "updates per seed" in page and "env steps per seed" not in page
  assert (out / "curve_mse_x.png").is_file()


def test_steps_to_threshold_against_a_brute_force_scan():
  rng = np.random.default_rng(0)
  rows, expected = [], {}
  steps = [1000 * (i + 1) for i in range(12)]
  for method in ("a", "b"):
    for seed in range(3):
      values = rng.normal(0.0, 1.0, len(steps)).cumsum()
      rows += [(method, seed, s, "episode_return", float(v)) for s, v in zip(steps, values)]
      rows.append((method, seed, 500, "success", 1.0))  # another metric: ignored
      first = None  # brute force: every window of 3 points ending at i (fewer at the start)
      for i in range(len(steps)):
        window = values[max(0, i - 2):i + 1]
        if sum(window) / len(window) >= 1.5:
          first = steps[i]
          break
      expected[(method, seed)] = first
  derived = reproduction.steps_to_threshold(rows, "episode_return", 1.5, smoothing=3)
  assert {r[3] for r in derived} == {"env_steps_to_episode_return_1.5"}
  for method, seed, last, _, value in derived:
    assert last == steps[-1]
    first = expected[(method, seed)]
    assert value == (first if first is not None else steps[-1] + 1)
  for method in ("a", "b"):
    assert reproduction.reached_threshold(derived, method) == {
        seed: expected[(method, seed)] is not None for seed in range(3)}
  assert any(v is None for v in expected.values()) and any(v is not None for v in expected.values())
  with pytest.raises(ValueError, match="smoothing"):
    reproduction.steps_to_threshold(rows, "episode_return", 1.5, smoothing=0)


def test_finished_runs_restores_named_runs_into_their_own_directories(tmp_path):
  runs, _ = _runs(tmp_path)
  claim = _a_beats_b()
  out = tmp_path / "out"
  out.mkdir()
  info_b = json.load(open(os.path.join(runs["b"], "transfer", "run.json")))
  info_b["commit"] = "b_commit"  # b ran later than a (claims.json names a's commit)
  json.dump(info_b, open(os.path.join(runs["b"], "transfer", "run.json"), "w"))
  first = reproduction.publish(  # reports per group: each run's record in report/<group>/
      str(out), runs, [claim], metrics=("success", "episode_return"), experiment="toy",
      paper="Toy", command="cmd", title="Toy", paper_env_steps_per_seed=1000,
      report_groups={"first": ["a"], "second": ["b"]})
  assert first["commit"] == "abc123"
  # A new machine: a's and b's directories are gone (restored where the experiment keeps them,
  # not under one runs dir); c has not run.
  new = {"a": str(tmp_path / "new" / "sub" / "a"), "b": str(tmp_path / "new" / "b"),
         "c": str(tmp_path / "new" / "c")}
  assert reproduction.finished_runs(str(out), new) == {}  # nothing restored unless asked
  assert reproduction.finished_runs(str(out), new, "a, b") == {"a": new["a"], "b": new["b"]}
  infos = [json.load(open(os.path.join(new[m], "transfer", "run.json"))) for m in ("a", "b")]
  assert [i["commit"] for i in infos] == ["abc123", "b_commit"]  # b's from report/second/
  assert infos[1]["variant"] == info_b["variant"]
  again = reproduction.publish(
      str(out), {"a": new["a"], "b": new["b"]}, [claim], metrics=("success", "episode_return"),
      experiment="toy", paper="Toy", command="cmd", title="Toy", paper_env_steps_per_seed=1000)
  assert again["claims"] == first["claims"]
  assert again["restored"]["b"] == {"commit": "b_commit", "from": "curves.csv"}
  with pytest.raises(ValueError, match=r"unknown runs to restore: \['d'\]"):
    reproduction.finished_runs(str(out), new, ["d"])
  # No restore asked: no published files needed (a first run).
  assert reproduction.finished_runs(str(tmp_path / "nothing"), {"c": new["c"]}) == {}

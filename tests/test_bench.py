"""helms-bench: discovery, ratio parsing, error rows and the markdown/JSON table, on tiny fake
benchmark scripts (the real benchmarks are not run here)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from launch import bench

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FAKES = {
    "good.py": '''
        """Good: fused thing vs naive thing.

        More text.
        """
        import sys
        print("table row")
        print("quick" if "--quick" in sys.argv else "full")
        print("good ratio: 2.5")
        ''',
    "broken.py": '''
        """Broken: raises."""
        print("starting")
        raise RuntimeError("boom in broken")
        ''',
    "silent.py": '''
        """Silent: prints no ratio, a summary
        wrapped over two lines.

        Details.
        """
        print("a table but no ratio line")
        ''',
    "slow.py": '''
        """Slow: sleeps past the timeout."""
        import time
        time.sleep(60)
        print("slow ratio: 1.0")
        ''',
    "_helper.py": '''
        """Not a benchmark."""
        ''',
}


@pytest.fixture
def fake_checkout(tmp_path):
  bench_dir = tmp_path / "checkout" / "benchmarks"
  bench_dir.mkdir(parents=True)
  for name, text in FAKES.items():
    (bench_dir / name).write_text(textwrap.dedent(text).lstrip())
  return bench_dir


def test_parse_ratio():
  assert bench.parse_ratio("x\nfoo ratio: 1.25\n\n") == ("foo", 1.25)
  assert bench.parse_ratio("foo ratio: 3e-1") == ("foo", 0.3)
  assert bench.parse_ratio("foo ratio: 1.25\nsomething after") is None
  assert bench.parse_ratio("foo ratio: fast") is None
  assert bench.parse_ratio("") is None


def test_find_and_docstrings(fake_checkout):
  names = [bench.benchmark_name(p) for p in bench.find_benchmarks(str(fake_checkout))]
  assert names == ["broken", "good", "silent", "slow"]
  assert bench.first_doc_line(str(fake_checkout / "good.py")) == "Good: fused thing vs naive thing."
  assert bench.first_doc_line(str(fake_checkout / "silent.py")) == (
      "Silent: prints no ratio, a summary wrapped over two lines.")
  only = bench.find_benchmarks(str(fake_checkout), ["silent", "good"])
  assert [bench.benchmark_name(p) for p in only] == ["good", "silent"]
  with pytest.raises(ValueError, match="unknown benchmark.*nope"):
    bench.find_benchmarks(str(fake_checkout), ["nope"])
  with pytest.raises(FileNotFoundError, match="--benchmarks_dir"):
    bench.find_benchmarks(str(fake_checkout / "missing"))


def test_run_all_rows_and_table(fake_checkout, tmp_path):
  out = str(tmp_path / "out" / "bench")
  rows = bench.run_all(str(fake_checkout), out, quick=True, timeout=3.0, log=lambda _: None)
  by_name = {r["name"]: r for r in rows}
  assert by_name["good"]["status"] == "ok" and by_name["good"]["ratio"] == 2.5
  assert "quick" in by_name["good"]["stdout_tail"]  # --quick passed through
  assert by_name["broken"]["status"] == "failed"
  assert "boom in broken" in by_name["broken"]["stderr_tail"]
  assert by_name["silent"]["status"] == "no ratio line" and by_name["silent"]["ratio"] is None
  assert by_name["slow"]["status"] == "timeout" and by_name["slow"]["wall_s"] < 20

  with open(out + ".json") as f:
    payload = json.load(f)
  assert [r["name"] for r in payload["benchmarks"]] == ["broken", "good", "silent", "slow"]
  assert payload["benchmarks"][1]["meaning"] == "Good: fused thing vs naive thing."
  machine = payload["machine"]
  assert machine["quick"] is True and machine["cpu_count"] == os.cpu_count()
  assert "python" in machine and "date_utc" in machine and "load_average_at_start" in machine
  assert not any(os.path.basename(p).endswith(".tmp") for p in os.listdir(tmp_path / "out"))

  with open(out + ".md") as f:
    md = f.read()
  assert "| good | 2.5 | ok |" in md
  assert all("other_cpu_cores" in r for r in payload["benchmarks"])
  assert "| broken | — | failed |" in md
  assert "| silent | — | no ratio line |" in md
  assert "| slow | — | timeout |" in md
  assert "boom in broken" in md  # the error section holds the stderr tail


def test_command_line(fake_checkout, tmp_path):
  out = str(tmp_path / "cli")
  proc = subprocess.run(
      [sys.executable, "-m", "launch.bench", f"--benchmarks_dir={fake_checkout}",
       f"--out={out}", "--only=good,silent", "--timeout=20"],
      cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
  assert proc.returncode == 1, proc.stderr  # silent has no ratio: exit 1 after writing the table
  with open(out + ".json") as f:
    payload = json.load(f)
  assert {r["name"]: r["status"] for r in payload["benchmarks"]} == {"good": "ok",
                                                                    "silent": "no ratio line"}
  assert payload["machine"]["quick"] is False
  assert payload["benchmarks"][0]["stdout_tail"].splitlines()[1] == "full"

  missing = subprocess.run(
      [sys.executable, "-m", "launch.bench", f"--benchmarks_dir={tmp_path / 'nowhere'}",
       f"--out={out}"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
  assert missing.returncode != 0 and "source" in missing.stderr

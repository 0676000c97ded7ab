"""The shell glue the stacking result scripts share (docs/results/exploration_stacking/
skills_of.sh): each transfer method's skills, the HeLMS learner flags, and the one transfer
command line the scripts run (scripts that share a run must issue it identically, or the second
one clashes with the first's recorded config)."""

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKILLS_OF = os.path.join(ROOT, "docs", "results", "exploration_stacking", "skills_of.sh")


def bash(script: str, helms_learner: str = "") -> subprocess.CompletedProcess:
  """Runs `script` after sourcing skills_of.sh, with helms-transfer stubbed to echo its args."""
  stub = 'helms-transfer() { printf "%s\\n" "$@"; }\n'
  return subprocess.run(["bash", "-c", f"set -eu; source {SKILLS_OF}; {stub}{script}"],
                        capture_output=True, text=True, timeout=30,
                        env={**os.environ, "HELMS_LEARNER": helms_learner})


def test_each_method_reads_its_own_skills():
  got = bash("for m in helms_cat helms_mix npmp_kl hier_bc bc_mpo mpo discrete_only "
             "continuous_only; do skills_of R $m; done").stdout.split()
  assert got == ["R/skills/default", "R/skills/default", "R/skills/npmp", "R/skills/hier_bc",
                 "R/skills/bc", "R/skills/default", "R/skills/discrete_only",
                 "R/skills/continuous_only"]


def test_learner_flags_only_for_the_helms_models():
  for method in ("helms_cat", "helms_mix", "discrete_only", "continuous_only"):
    got = bash(f"learner_flags {method}", "beta_y=1.0 prior_init_stay=2.0").stdout.split()
    assert got == ["--config.learner.beta_y=1.0", "--config.learner.prior_init_stay=2.0"]
  for method in ("npmp_kl", "hier_bc", "bc_mpo", "mpo"):
    assert bash(f"learner_flags {method}", "beta_y=1.0").stdout == ""
  bad = bash("learner_flags helms_cat", "beta_y")
  assert bad.returncode != 0 and "got 'beta_y'" in bad.stderr


def test_run_transfer_is_one_command_line():
  got = bash("run_transfer R cfg.py:helms_mix,set3 helms_mix W 3200 --config.x=1",
             "beta_y=1.0").stdout.split("\n")[:-1]
  assert got == ["--config=cfg.py:helms_mix,set3", "--workdir=W",
                 "--config.transfer.skills_dir=R/skills/default", "--config.learner.beta_y=1.0",
                 "--config.transfer.loop.env_steps=3200",
                 "--config.transfer.loop.replay_capacity=1000000", "--config.x=1"]
  mpo = bash("run_transfer R cfg.py:mpo mpo W 3200", "beta_y=1.0").stdout.split()
  assert "--config.learner.beta_y=1.0" not in mpo
  assert "--config.transfer.skills_dir=R/skills/default" in mpo

"""Config loading and override validation (in-process and through a real entry point)."""

import os
import subprocess
import sys

import pytest

from helms_jax import configs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "experiments", "helms_stacking.py")


def test_every_experiment_has_a_tiny_variant_that_locks():
  names = [f for f in os.listdir(os.path.join(ROOT, "experiments"))
           if f.endswith(".py") and not f.startswith("_")]
  assert names
  for name in names:
    config = configs.load_config(os.path.join(ROOT, "experiments", name) + ":tiny")
    config.lock()
    with pytest.raises(AttributeError):
      config.not_a_key = 1  # locked: new keys are refused


def test_unknown_variant_names_valid_ones():
  with pytest.raises(ValueError, match="valid: default, tiny"):
    configs.load_config(CONFIG + ":huge")


def test_unknown_key_suggests_closest():
  config = configs.load_config(CONFIG + ":tiny")
  with pytest.raises(configs.ConfigError) as error:
    configs.check_override_keys(config, ["train.batch_size", "train.learnig_rate",
                                         "learner.learnin_rate"])
  message = str(error.value)
  assert "train.learnig_rate" in message and "learner.learnin_rate" in message
  assert "'learner.learning_rate'" in message  # the closest valid key, found for both
  assert "train.batch_size" not in message.replace("'train.batch_size'", "")


def test_valid_keys_pass_and_nested_paths_are_listed():
  config = configs.load_config(CONFIG + ":tiny")
  configs.check_override_keys(config, ["seed", "train.batch_size", "env.kwargs.reward"])
  assert "env.kwargs.reward" in configs.flat_keys(config)


def test_argv_parsing():
  argv = ["--workdir=/x", "--config=a.py:tiny", "--config.train.batch_size=8", "--config.seed", "3"]
  assert configs.override_keys_from_argv(argv) == ["train.batch_size", "seed"]
  assert configs.config_path_from_argv(argv, None) == "a.py:tiny"
  assert configs.config_path_from_argv(["--workdir=/x"], "d.py") == "d.py"


def test_config_diff():
  assert configs.diff({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 3, "d": 4}}) == ["b.c", "b.d"]


def test_entry_point_rejects_typo_with_suggestion(tmp_path):
  result = subprocess.run(
      [sys.executable, "-m", "launch.train", f"--config={CONFIG}:tiny",
       "--config.train.batch_sise=8", f"--workdir={tmp_path}"],
      cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert result.returncode != 0
  assert "unknown config key 'train.batch_sise'" in result.stderr
  assert "train.batch_size" in result.stderr
  assert "Traceback" not in result.stderr


def test_a_later_stage_section_may_be_added_to_an_existing_workdir(tmp_path):
  """Transfer from skills trained before the config had a transfer section is allowed; changing a
  transfer hyperparameter of a transfer run that has saved state is not."""
  import json  # pylint: disable=import-outside-toplevel
  from helms_jax import pipeline  # pylint: disable=import-outside-toplevel
  config = configs.load_config(CONFIG + ":tiny")
  config.compilation_cache_dir = "none"
  old = configs.to_dict(config)
  del old["transfer"]
  (tmp_path / "config.json").write_text(json.dumps(old))
  pipeline.prepare_workdir(config, str(tmp_path))  # accepted, and now recorded
  (tmp_path / "transfer" / "checkpoints" / "320").mkdir(parents=True)  # the transfer ran
  config.transfer.agent.eta_y = 0.5
  with pytest.raises(configs.ConfigError, match="transfer.agent.eta_y"):
    pipeline.prepare_workdir(config, str(tmp_path))


def test_kl_regularisers_of_the_transfer_methods_and_the_kl_ablation():
  """HeLMS-mix holds its components at eta_z = 1 with the KL on the policy update only (its
  heavy tail would swamp a sparse reward in the critic); HeLMS-cat and NPMP + KL keep theirs in
  the return; the KL ablation's arms change eta_z alone."""
  path = lambda name: os.path.join(ROOT, "experiments", name)
  agent = lambda name, variant: configs.load_config(f"{path(name)}:{variant}").transfer.agent
  mix = agent("transfer_reward_sparsity.py", "helms_mix,sparse")
  assert (mix.eta_y, mix.eta_z, mix.kl_in_return) == (0.01, 1.0, False)
  cat = agent("transfer_reward_sparsity.py", "helms_cat,sparse")
  assert (cat.eta_y, cat.eta_z, cat.kl_in_return) == (0.01, 0.0, True)
  npmp = agent("transfer_object_generalization.py", "npmp_kl,set3")
  assert (npmp.eta_z, npmp.kl_in_return) == (0.01, True)
  for arm, eta_z in (("eta_z_0", 0.0), ("eta_z_0.01", 0.01), ("eta_z_0.1", 0.1), ("both", 1.0)):
    ablated = agent("transfer_ablations.py", f"{arm},set3")
    assert (ablated.eta_z, ablated.eta_y, ablated.kl_in_return) == (eta_z, 0.01, False), arm

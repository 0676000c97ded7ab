"""The HeLMS result scripts' claim criteria (docs/results/*/make_results.py), on hand-made window
statistics: the verdict each criterion must give, and which methods it waits for."""

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def script(experiment: str):
  path = os.path.join(ROOT, "docs", "results", experiment, "make_results.py")
  spec = importlib.util.spec_from_file_location(f"make_results_{experiment}", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def stat(mean, std=0.0):
  return {"mean": mean, "std": std, "seeds": 3}


@pytest.mark.parametrize("helms, npmp, level", [
    (stat(100.0, 1.0), stat(95.0, 1.0), True),     # within 10 % of the larger
    (stat(100.0, 1.0), stat(80.0, 1.0), False),    # 20 % apart, stds small
    (stat(100.0, 25.0), stat(80.0, 5.0), True),    # 20 % apart, within a seed std
    (stat(0.0, 0.0), stat(0.0, 0.0), True),
])
def test_object_generalisation_level_is_within_ten_percent_or_a_seed_std(helms, npmp, level):
  og = script("transfer_object_generalization")
  assert og.holds("level", helms, npmp) is level
  assert og.holds("ahead", stat(2.0), stat(1.0)) and not og.holds("behind", stat(2.0), stat(1.0))


def test_object_generalisation_verdict_does_not_wait_for_the_beside_baselines():
  og = script("transfer_object_generalization")
  claim = og.claim("set5")
  assert set(claim.beside) == {"bc_mpo_set5", "hier_bc_set5"}
  assert not set(claim.beside) & set(claim.methods)
  stats = {"helms_cat_set5": stat(50.0, 8.0), "helms_mix_set5": stat(40.0, 8.0),
           "npmp_kl_set5": stat(45.0, 2.0), "mpo_set5": stat(1.0)}
  assert claim.predicate(stats) == "reproduced"
  stats["mpo_set5"] = stat(60.0)  # MPO above HeLMS: only the NPMP+KL half holds
  assert claim.predicate(stats) == "partial"


def test_vision_needs_the_asymmetric_actor_critic_to_learn():
  vision = script("transfer_vision")
  final = {"helms_mix": stat(20.0), "asymmetric_ac": stat(10.0, 2.0), "mpo_pixels": stat(1.0)}
  learnt = {"asymmetric_ac": stat(5.0)}      # 10 > 5 + 2 x 2
  flat = {"asymmetric_ac": stat(9.0)}        # 10 < 9 + 2 x 2: it did not learn at this budget
  assert vision.helms_beats_asymmetric(final, learnt) == "reproduced"
  assert vision.helms_beats_asymmetric(final, flat) == "partial"
  final["helms_mix"] = stat(9.0)
  assert vision.helms_beats_asymmetric(final, learnt) == "not reproduced"


def test_ablation_claims_report_npmp_and_the_full_mixture_beside():
  ablations = script("transfer_ablations")
  claims = {c.id: c for c in ablations.claims()}
  assert set(claims["ablation_set4"].methods) == {"discrete_only_set4", "continuous_only_set4"}
  assert set(claims["ablation_set4"].beside) == {"helms_cat_set4", "helms_mix_set4",
                                                 "npmp_kl_set4"}
  assert "helms_cat_set3" in claims["ablation_set3"].methods
  assert claims["kl_regularisation_matters"].beside == ["eta_z_0.01_set3"]
  runs = ablations.run_dirs("runs")
  assert runs["npmp_kl_set3"].endswith(os.path.join("objects", "npmp_kl_set3"))
  assert runs["npmp_kl_set4"].endswith(os.path.join("sparsity", "npmp_kl_staged"))

"""brax and our envs: every env is found through brax's registry, and brax's own PPO trainer runs
on the MJX stacking env unchanged (tiny budget, finite metrics).

Cost: ppo.train compiles the env step at least twice (the training unroll and the evaluation
rollout), each a few minutes of XLA compilation of the MJX step on a 2-core CPU. Measured on the
shared (loaded) 2-core machine, 2026-11-22: 535 s with brax's own wrappers, 649 s with
`wrap_for_training` (both at once) — far over the ~150 s budget of the default suite, hence `slow`
(run with `python -m pytest -m slow tests/test_brax_stacking.py`).
"""

import functools
import time

import numpy as np
import pytest

from helms_jax import envs
from helms_jax.envs.wrappers import wrap_for_training

EPISODE_LENGTH = 20


def _tiny_ppo(env, **extra):
  """brax's ppo.train on `env` at a tiny budget: (params, metrics)."""
  from brax.training.agents.ppo import networks as ppo_networks  # pylint: disable=import-outside-toplevel
  from brax.training.agents.ppo import train as ppo  # pylint: disable=import-outside-toplevel
  _, params, metrics = ppo.train(
      environment=env, num_timesteps=2000, num_envs=4, episode_length=EPISODE_LENGTH,
      num_evals=1, unroll_length=5, batch_size=4, num_minibatches=2, num_updates_per_batch=1,
      num_eval_envs=4, seed=0,
      network_factory=functools.partial(
          ppo_networks.make_ppo_networks, policy_hidden_layer_sizes=(16,),
          value_hidden_layer_sizes=(16,)),
      **extra)
  return params, metrics


@pytest.mark.slow
@pytest.mark.parametrize("use_our_wrappers", [False, True])
def test_brax_ppo_trains_on_stacking(use_our_wrappers):
  env = envs.make("stacking", task="red_on_blue", object_set=4, reward="staged")
  extra = {"wrap_env_fn": wrap_for_training} if use_our_wrappers else {}
  t0 = time.time()
  params, metrics = _tiny_ppo(env, **extra)
  elapsed = time.time() - t0
  print(f"ppo.train on stacking (our wrappers={use_our_wrappers}): {elapsed:.1f}s")
  assert params is not None
  assert "eval/episode_reward" in metrics
  for k, v in metrics.items():
    assert np.all(np.isfinite(np.asarray(v))), (k, v)
  # Staged reward is in [0, 1] per step, so an episode's return is bounded by its length.
  assert 0.0 <= float(metrics["eval/episode_reward"]) <= EPISODE_LENGTH
  assert 0 < float(metrics["eval/avg_episode_length"]) <= EPISODE_LENGTH


def test_brax_finds_our_envs_by_name():
  """Every env is registered with brax's registry too; brax's own names stay brax's."""
  import brax.envs  # pylint: disable=import-outside-toplevel
  from helms_jax.envs.point_mass import PointReach  # pylint: disable=import-outside-toplevel
  env = brax.envs.get_environment("point_reach", reward="sparse")
  assert isinstance(env, PointReach) and env.reward_type == "sparse"
  assert set(envs.registered_names()) <= set(brax.envs._envs)  # pylint: disable=protected-access
  assert brax.envs.get_environment("ant").__class__.__module__.startswith("brax.")
  # Playground-style settings: a ConfigDict of the env's defaults, edited, keywords on top.
  config = envs.default_config("point_reach")
  assert config.reward == "dense" and config.dt == 0.05
  config.reward, config.dt = "sparse", 0.1
  env = brax.envs.get_environment("point_reach", config=config, damping=2.0)
  assert (env.reward_type, env.dt, env.damping) == ("sparse", 0.1, 2.0)
  config.not_a_setting = 1
  with pytest.raises(envs.EnvKwargError, match="not_a_setting"):
    envs.make("point_reach", config=config)


@pytest.mark.slow  # ~10 s of PPO compilation
def test_brax_ppo_trains_on_an_env_found_through_brax():
  import brax.envs  # pylint: disable=import-outside-toplevel
  params, metrics = _tiny_ppo(brax.envs.get_environment("point_reach"))
  assert params is not None
  assert all(np.all(np.isfinite(np.asarray(v))) for v in metrics.values())

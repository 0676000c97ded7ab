"""Stage 3, evaluation: the trained policy rolled out beside the baselines of `eval.baselines`.

`evaluate(config, workdir)` writes `<workdir>/eval.json` (per policy: mean/std return, success
rate, mean episode length) for learners with a policy.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

import jax
import ml_collections
import numpy as np
from absl import logging

from helms_jax import configs, envs, runs
from helms_jax.envs import experts
from helms_jax.io import atomic_write_json
from helms_jax.pipeline.stage import stage
from helms_jax.pipeline.workdir import prepare_workdir


def _episode_stats(traj) -> dict[str, float]:
  valid = np.asarray(traj.valid)
  returns = (np.asarray(traj.reward) * valid).sum(axis=1)
  success = (np.asarray(traj.info["success"]) * valid).max(axis=1) > 0
  return {"return_mean": float(returns.mean()), "return_std": float(returns.std()),
          "success_rate": float(success.mean()), "length_mean": float(valid.sum(axis=1).mean())}


def _random_action(obs, key, *, action_size):
  del obs
  return jax.random.uniform(key, (action_size,), minval=-1.0, maxval=1.0)


@stage
def evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any] | None:
  """Rolls out the trained policy and the baselines of `config.eval.baselines` (the scripted
  expert, a uniform random policy; each costs one more compiled rollout).

  Writes `eval.json` with, for each, mean/std return, success rate and mean episode length over
  `config.eval.num_episodes` episodes (the expert and random rows put the policy's in context).
  """
  with configs.values_checked_by_builders():
    env = runs.make_env(config)
    learner = runs.make_learner(config, env)
  if learner.policy is None:
    logging.info("Learner %r has no policy to roll out: no evaluation", config.learner.name)
    return None
  state, step = runs.restore_learner_state(config, workdir, learner)
  prepare_workdir(config, workdir)
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 0xE7A1)
  n, horizon = config.eval.num_episodes, config.env.episode_length
  # The policy `helms_jax.load_policy` returns for this run (runs.learner_policy).
  policy = runs.learner_policy(learner, config.eval.deterministic)
  results = {
      "policy": _episode_stats(envs.rollout(env, policy, key, n, horizon,
                                            policy_params=state.learner.params,
                                            policy_init=policy.policy_init)),
  }
  if "expert" in config.eval.baselines:
    expert = experts.expert_for(config.env.name, env, noise_scale=config.data.expert_noise)
    results["expert"] = _episode_stats(envs.rollout(env, expert.policy, key, n, horizon,
                                                    policy_init=expert.init))
  if "random" in config.eval.baselines:
    results["random"] = _episode_stats(envs.rollout(
        env, functools.partial(_random_action, action_size=env.action_size), key, n, horizon))
  out = {"checkpoint_step": step, "num_episodes": n, "env": config.env.name, **results}
  if jax.process_index() == 0:
    atomic_write_json(os.path.join(workdir, "eval.json"), out)
  logging.info("Evaluation at step %d: %s", step, json.dumps(results))
  return out

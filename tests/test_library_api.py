"""The library-facing API: `progress_fn` of the training stages and `helms_jax.load_policy`.

One tiny BC run on point_reach (offline) and one tiny transfer run of a toy online method with
memory (defined here) serve every test; the README's load_policy example runs as it is written.
"""

from __future__ import annotations

import json
import math
import os
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import helms_jax
from helms_jax import configs, envs, methods, pipeline, runs
from helms_jax.agents.baselines import bc
from helms_jax.agents.helms import downstream
from helms_jax.agents.records import Method
from helms_jax.training.checkpoint import CheckpointNotFoundError
from helms_jax.training.metric_writers import read_jsonl
from helms_jax.training.train_state import OnlineAgent

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PERIOD = 2  # the toy agent's decision period


def _tiny_config():
  config = configs.load_config(f"{ROOT}/experiments/bc_point_reach.py:tiny")
  config.compilation_cache_dir = "none"
  config.data.num_episodes = 32
  config.train.num_steps, config.train.log_every, config.train.checkpoint_every = 100, 50, 100
  config.eval.num_episodes, config.eval.baselines = 8, ()
  return config


def _as_logged(metrics):
  """A progress_fn's metrics as metrics.jsonl spells them (JSON has no NaN / inf)."""
  return {k: str(v) if isinstance(v, float) and not math.isfinite(v) else v
          for k, v in metrics.items()}


def _check_progress(calls, metrics_path):
  rows = read_jsonl(metrics_path)
  steps = [step for step, _ in calls]
  assert steps == sorted(set(steps)) and steps == [row["step"] for row in rows]
  for (_, metrics), row in zip(calls, rows):
    assert _as_logged(metrics) == {k: v for k, v in row.items() if k not in ("step", "time")}


@pytest.fixture(scope="module")
def bc_run(tmp_path_factory):
  """(config, workdir, progress_fn calls) of a tiny BC run: data, 100 updates, logged at 50."""
  workdir = str(tmp_path_factory.mktemp("bc") / "run")
  config = _tiny_config()
  pipeline.generate_data(config, workdir)
  calls = []
  pipeline.train(config, workdir, progress_fn=lambda step, m: calls.append((step, m)))
  return config, workdir, calls


def make_held_agent(config, env, skills):
  """A toy online method with memory: actor state `t` (steps since the episode start) and the
  loop's `phase`; env action [scale + 0.01 t, 0.1 phase] with `scale` ~ U[0, 1) per seed."""
  del config, skills

  def act(state, obs, key, deterministic, actor, phase):
    del key, deterministic
    t = actor["t"].astype(jnp.float32)
    action = jnp.stack([state["scale"] + 0.01 * t,
                        jnp.broadcast_to(0.1 * phase, t.shape)], axis=-1)
    return action, action, {"t": actor["t"] + 1}

  agent = OnlineAgent(
      init=lambda key: {"scale": jax.random.uniform(key)}, act=act,
      update=lambda state, batch, key: (state, {"loss": jnp.zeros(())}),
      agent_action_spec=jax.ShapeDtypeStruct((env.action_size,), jnp.float32),
      actor_init=lambda key, n: {"t": jnp.zeros((n,), jnp.int32)}, decision_period=PERIOD)
  return agent, env


HELD = Method(name="toy_held_action", label="Toy (held action)", make_agent=make_held_agent)


@pytest.fixture(scope="module")
def transfer_run(tmp_path_factory):
  """(config, workdir, progress_fn calls) of a tiny transfer run of the toy agent, seeds (0, 1)."""
  methods.register_method(HELD)
  workdir = str(tmp_path_factory.mktemp("held") / "run")
  config = _tiny_config()
  config.env.episode_length = 10
  config.transfer = downstream.default_config()
  config.transfer.method, config.transfer.seeds = HELD.name, (0, 1)
  config.transfer.loop.update(dict(
      num_envs=4, unroll_length=4, iterations_per_call=2, updates_per_iteration=1, batch_size=4,
      sequence_length=2, replay_capacity=200, min_replay_steps=8, env_steps=4 * 4 * 2 * 3,
      log_every_calls=1, checkpoint_every_calls=3))
  calls = []
  try:
    pipeline.transfer(config, workdir, progress_fn=lambda step, m: calls.append((step, m)))
    yield config, workdir, calls
  finally:
    methods._METHODS.pop(HELD.name)  # pylint: disable=protected-access


def test_progress_fn_gets_every_logged_row(bc_run, transfer_run):
  _, workdir, calls = bc_run
  assert [step for step, _ in calls] == [50, 100] and "loss" in calls[0][1]
  _check_progress(calls, os.path.join(workdir, "metrics.jsonl"))
  config, workdir, calls = transfer_run
  assert [step for step, _ in calls] == [32, 64, 96] and "episode_return" in calls[0][1]
  _check_progress(calls, os.path.join(workdir, "transfer", "metrics.jsonl"))


def test_offline_policy_acts_as_the_learner_and_the_evaluation(bc_run):
  config, workdir, _ = bc_run
  policy_fn, params = helms_jax.load_policy(workdir)
  assert policy_fn.policy_init is None and policy_fn.env.episode_length == 50
  # Independently: BC's own policy with the checkpoint's params.
  env = runs.make_env(config)
  learner = bc.make_learner(config.learner, env.observation_size, env.action_size)
  state, _ = runs.restore_learner_state(config, workdir, learner)
  jax.tree.map(np.testing.assert_array_equal, params, state.learner.params)
  obs = jax.random.normal(jax.random.PRNGKey(1), (16, env.observation_size))
  keys = jax.random.split(jax.random.PRNGKey(2), 16)
  actions = {}
  for deterministic in (True, False):
    policy_fn, params = helms_jax.load_policy(workdir, deterministic, source="offline")
    expected = jax.vmap(lambda o, k, d=deterministic: learner.policy(
        state.learner.params, o, k, deterministic=d))(obs, keys)
    actions[deterministic] = jax.jit(jax.vmap(policy_fn, in_axes=(None, 0, 0)))(params, obs, keys)
    np.testing.assert_allclose(actions[deterministic], expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(jax.jit(policy_fn)(params, obs[3], keys[3]), expected[3],
                               rtol=1e-6, atol=1e-6)
  assert not np.allclose(actions[True], actions[False])  # the mean, and samples around it
  # The evaluation stage's rollout of the same episodes gives the same returns.
  evaluation = pipeline.evaluate(config, workdir)
  policy_fn, params = helms_jax.load_policy(workdir)
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 0xE7A1)
  traj = envs.rollout(policy_fn.env, policy_fn, key, config.eval.num_episodes,
                      config.env.episode_length, policy_params=params)
  returns = (np.asarray(traj.reward) * np.asarray(traj.valid)).sum(axis=1)
  np.testing.assert_allclose(returns.mean(), evaluation["policy"]["return_mean"], rtol=1e-6)


def test_transferred_agent_with_memory_rolls_out_one_seed(transfer_run):
  config, workdir, _ = transfer_run
  _, stacked, _ = runs.load_online_run(workdir)
  for seed_index in (0, 1):
    policy_fn, params = helms_jax.load_policy(workdir, seed_index=seed_index)
    scale = float(stacked.agent["scale"][seed_index])
    assert float(params["scale"]) == scale
    # Memory across steps (t) and the decision phase, from each episode's start.
    traj = envs.rollout(policy_fn.env, policy_fn, jax.random.PRNGKey(0), 3, 12,
                        policy_params=params, policy_init=policy_fn.policy_init)
    t = np.arange(config.env.episode_length)
    expected = np.stack([scale + 0.01 * t, 0.1 * (t % PERIOD)], axis=-1)
    np.testing.assert_allclose(traj.action[:, :len(t)],
                               np.broadcast_to(expected, (3,) + expected.shape), rtol=1e-6,
                               atol=1e-6)
  assert float(stacked.agent["scale"][0]) != float(stacked.agent["scale"][1])
  # The step function alone, under jit and vmap.
  keys = jax.random.split(jax.random.PRNGKey(3), 5)
  pstate = jax.vmap(policy_fn.policy_init)(keys)
  obs = jnp.zeros((5, policy_fn.env.observation_size))
  step = jax.jit(jax.vmap(policy_fn, in_axes=(None, 0, 0, 0)))
  action, pstate = step(params, obs, keys, pstate)
  action, pstate = step(params, obs, keys, pstate)
  np.testing.assert_allclose(action, np.tile([scale + 0.01, 0.1], (5, 1)), rtol=1e-6)
  assert pstate["phase"].tolist() == [0] * 5  # period 2: a new decision next step
  with pytest.raises(runs.PolicyLoadError, match=r"seeds \[0, 1\]"):
    helms_jax.load_policy(workdir, seed_index=2)
  with pytest.raises(CheckpointNotFoundError, match="helms-train"):
    helms_jax.load_policy(workdir, source="offline")


def test_a_workdir_without_a_run_or_checkpoints_is_named(tmp_path, bc_run):
  with pytest.raises(runs.NotARunError, match="config.json not found"):
    helms_jax.load_policy(str(tmp_path))
  config, workdir, _ = bc_run
  untrained = tmp_path / "untrained"
  untrained.mkdir()
  (untrained / "config.json").write_text(json.dumps(config.to_dict()))
  with pytest.raises(CheckpointNotFoundError, match="no trained policy yet"):
    helms_jax.load_policy(str(untrained))
  with pytest.raises(runs.PolicyLoadError, match="no transfer section"):
    helms_jax.load_policy(workdir, source="transfer")


def test_the_readme_example_runs(bc_run, tmp_path, monkeypatch):
  with open(os.path.join(ROOT, "README.md")) as f:
    readme = f.read()
  block = re.search(r"<!-- load_policy example.*?```python\n(.*?)```", readme, re.S)
  assert block is not None, "README.md lost its load_policy example"
  # The example's workdir, runs/bc_tiny, is the tiny BC run here.
  monkeypatch.chdir(tmp_path)
  os.makedirs("runs")
  os.symlink(bc_run[1], os.path.join("runs", "bc_tiny"))
  namespace = {}
  exec(compile(block.group(1), "README.md", "exec"), namespace)  # pylint: disable=exec-used
  traj = namespace["traj"]
  assert traj.action.shape == (4, 50, 2) and np.all(np.isfinite(traj.reward))

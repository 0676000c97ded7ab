"""Method records: a method written outside `helms_jax/` runs through every stage.

The toy offline learner fits the mean action of the data (its optimum is the dataset's mean
action, an independent closed form); the toy online method acts with that mean; both are
registered from this file, not from the library, and the tiny pipeline runs them end to end: data,
offline training, evaluation, the record's analysis, transfer under the record's label, report.
"""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from helms_jax import configs, data as data_lib, methods, pipeline
from helms_jax.agents.helms import downstream
from helms_jax.agents.records import Method, OfflineLearner, OfflineSkills
from helms_jax.training.train_state import (Learner, OnlineAgent, TrainState,
                                            apply_gradients)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_mean_action_learner(config, observation_size, action_size, **unused) -> Learner:
  """Learns `mean [A]` minimising E||a - mean||^2 over the data by SGD; acts with it everywhere
  (with step size lr the iterate averages the last ~1 / (2 lr) batch means)."""
  del observation_size, unused
  optimizer = optax.sgd(config.learning_rate)

  def init(key):
    del key
    return TrainState.create({"mean": jnp.zeros(action_size)}, optimizer)

  def update(state, batch, key):
    del key
    action = batch["action"].reshape(-1, action_size)
    loss_fn = lambda p: jnp.mean(jnp.sum(jnp.square(action - p["mean"]), axis=-1))
    loss, grads = jax.value_and_grad(loss_fn)(state.params)
    state, grad_norm = apply_gradients(state, grads, optimizer)
    return state, {"loss": loss, "grad_norm": grad_norm}

  def policy(params, obs, key, deterministic=True):
    del key, deterministic
    return jnp.broadcast_to(params["mean"], obs.shape[:-1] + (action_size,))

  return Learner(init=init, update=update, policy=policy)


def analyze_mean_action(config, workdir):
  """The toy learner's analysis: its learned mean, in `<workdir>/analysis/mean.json`."""
  from helms_jax import runs  # pylint: disable=import-outside-toplevel
  env = runs.make_env(config)
  state, _ = runs.restore_learner_state(config, workdir, runs.make_learner(config, env))
  out = {"mean": np.asarray(state.learner.params["mean"]).tolist()}
  os.makedirs(os.path.join(workdir, "analysis"), exist_ok=True)
  with open(os.path.join(workdir, "analysis", "mean.json"), "w") as f:
    json.dump(out, f)
  return out


def make_mean_action_agent(config, env, skills: OfflineSkills):
  """The toy online method: acts with the offline mean (no learning; its loss is 0)."""
  del config
  mean = jnp.asarray(skills.params["mean"])

  def act(state, obs, key, deterministic):
    del state, key, deterministic
    action = jnp.broadcast_to(mean, (obs.shape[0], env.action_size))
    return action, action

  def update(state, batch, key):
    del batch, key
    return state, {"loss": jnp.zeros(())}

  agent = OnlineAgent(init=lambda key: {"unused": jnp.zeros(())}, act=act, update=update,
                      agent_action_spec=jax.ShapeDtypeStruct((env.action_size,), jnp.float32))
  return agent, env


TOY_LEARNER = OfflineLearner(name="toy_mean_action", label="Toy mean action",
                             make_learner=make_mean_action_learner,
                             analysis="tests.test_methods:analyze_mean_action")
TOY_METHOD = Method(name="toy_replay_mean", label="Toy (mean action)",
                    offline_learner="toy_mean_action", make_agent=make_mean_action_agent)


@pytest.fixture
def registered():
  methods.register_learner(TOY_LEARNER)
  methods.register_method(TOY_METHOD)
  yield
  methods._LEARNERS.pop(TOY_LEARNER.name)  # pylint: disable=protected-access
  methods._METHODS.pop(TOY_METHOD.name)  # pylint: disable=protected-access


def _toy_config(tmp_path) -> ml_collections.ConfigDict:
  config = configs.load_config(f"{ROOT}/experiments/bc_point_reach.py:tiny")
  config.compilation_cache_dir = "none"
  config.learner = ml_collections.ConfigDict({"name": TOY_LEARNER.name, "learning_rate": 0.05})
  config.train.num_steps, config.train.batch_size = 400, 512
  config.eval.baselines = ("random",)
  config.transfer = downstream.default_config()
  t = config.transfer
  t.method, t.seeds = TOY_METHOD.name, (0, 1)
  t.loop.update(dict(num_envs=4, unroll_length=5, iterations_per_call=2, updates_per_iteration=1,
                     batch_size=4, sequence_length=2, replay_capacity=200, min_replay_steps=8,
                     env_steps=4 * 5 * 2 * 5, checkpoint_every_calls=5))
  return config


def test_a_method_registered_outside_the_library_runs_every_stage(tmp_path, registered):
  del registered
  workdir = str(tmp_path / "run")
  config = _toy_config(tmp_path)
  report = pipeline.run_pipeline(config, workdir)

  dataset = data_lib.load_dataset(os.path.join(workdir, "data"))
  expected = np.asarray(dataset.fields["action"]).reshape(-1, 2).mean(axis=0)
  with open(os.path.join(workdir, "analysis", "mean.json")) as f:
    learned = np.asarray(json.load(f)["mean"])
  np.testing.assert_allclose(learned, expected, atol=0.02)  # the closed-form optimum
  with open(os.path.join(workdir, "eval.json")) as f:
    assert set(json.load(f)) >= {"policy", "random"}
  with open(os.path.join(workdir, "transfer", "run.json")) as f:
    run = json.load(f)
  assert run["label"] == "Toy (mean action)" and run["method"] == TOY_METHOD.name
  with open(os.path.join(workdir, "transfer", "curves.jsonl")) as f:
    rows = [json.loads(line) for line in f]
  assert rows[-1]["env_steps"] == config.transfer.loop.env_steps
  assert os.path.exists(os.path.join(report, "index.html"))


def test_unknown_names_list_the_registered_ones(tmp_path, registered):
  del registered
  config = _toy_config(tmp_path)
  config.transfer.method = "toy_replay_mea"
  with pytest.raises(configs.ConfigError, match="toy_replay_mean"):
    pipeline.check_config(config)
  with pytest.raises(ValueError, match="already registered"):
    methods.register_method(Method(name="mpo", label="other", make_agent=lambda *a: None))

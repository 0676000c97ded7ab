"""SPiRL skill VAE + skill prior: loss kernels, recurrent networks, learner, stateful policy."""

import functools

import distrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helms_jax import data as data_lib, envs, methods
from helms_jax.agents.spirl import model as spirl_model, offline
from helms_jax.losses import skill_vae
from helms_jax.networks.recurrent import LSTM, BidirectionalLSTM
from helms_jax.training.metric_writers import read_jsonl
from helms_jax.training.offline_loop import LoopConfig, train_offline

H, OBS, ACT = 6, 6, 2  # point_reach sizes, so the policy can act in it
NUM_PATTERNS, EPISODES_PER_PATTERN = 4, 4


def action_patterns() -> np.ndarray:
  """Four distinct H-step action sequences `[4, H, 2]`: constant, circle, ramp, wave."""
  t = np.arange(H) / H
  return np.stack([
      np.stack([np.full(H, 0.8), np.full(H, -0.5)], -1),
      np.stack([np.sin(2 * np.pi * t), np.cos(2 * np.pi * t)], -1),
      np.stack([-1.0 + 2.0 * t, np.full(H, 0.3)], -1),
      np.stack([np.full(H, -0.6), 0.9 * np.sin(4 * np.pi * t + 1.0)], -1),
  ]).astype(np.float32)


def pattern_observations(rng: np.random.Generator, pattern: np.ndarray,
                         informative: bool = True) -> np.ndarray:
  """`[N, H + 1, 6]`: dims 0-3 a noisy one-hot of the episode's pattern (so s_0 tells the prior
  which skill the data does there; noise only when not `informative`), dim 4 the time t / H (a
  clock, so a closed-loop decoder knows where in the skill it is), dim 5 noise."""
  n = pattern.shape[0]
  obs = 0.1 * rng.normal(size=(n, H + 1, OBS))
  if informative:
    obs[np.arange(n), :, pattern] += 1.0
  obs[..., 4] = np.arange(H + 1) / H
  return obs.astype(np.float32)


def small_config(**overrides):
  config = offline.default_config()
  config.update(dict(horizon=H, z_dim=4, lstm_size=32, prior_hidden=(32, 32),
                     decoder_hidden=(64, 64), learning_rate=3e-3))
  config.update(overrides)
  return config


def make_dataset(path, informative: bool = True):
  """16 episodes of exactly H steps (so each is exactly one window), 4 per action pattern."""
  rng = np.random.default_rng(0)
  pattern = np.repeat(np.arange(NUM_PATTERNS), EPISODES_PER_PATTERN)
  n = pattern.shape[0]
  done = np.zeros((n, H), bool)
  done[:, -1] = True
  schema = data_lib.Schema.create((OBS,), (ACT,))
  with data_lib.DatasetWriter(path, schema, env_name="synthetic", generator="test") as writer:
    writer.add_episodes({
        "observation": pattern_observations(rng, pattern, informative),
        "action": action_patterns()[pattern],
        "reward": np.zeros((n, H), np.float32), "discount": np.ones((n, H), np.float32),
        "done": done}, np.full(n, H))
  return data_lib.load_dataset(path)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
  return make_dataset(str(tmp_path_factory.mktemp("spirl_data") / "d"))


def observation_stats(dataset):
  obs = dataset.fields["observation"]
  return obs.mean(0), obs.std(0)


def train(dataset, workdir, config, num_steps):
  learner = methods.make_learner(config, OBS, ACT, observation_stats=observation_stats(dataset))
  sampler = data_lib.WindowSampler(dataset, H)
  sample_fn, data = sampler.loop_sample_fn(32)
  loop = LoopConfig(num_steps=num_steps, batch_size=32, updates_per_call=num_steps // 2,
                    log_every=num_steps // 2, checkpoint_every=num_steps, tensorboard=False)
  state = train_offline(learner, sample_fn, data, workdir=str(workdir), seed=0, loop=loop)
  return learner, state.learner.params


def reconstruction_mse(config, params, dataset) -> tuple[float, float]:
  """(MSE of decode(encode mean) over the dataset's windows, variance of its actions)."""
  functions, _ = offline.make_spirl(config, OBS, ACT)
  n = dataset.num_episodes
  actions = dataset.fields["action"].reshape(n, H, ACT)
  obs = dataset.fields["observation"].reshape(n, H + 1, OBS)[:, :H]
  decoded = jax.jit(lambda p, a, o: functions.decode(p, functions.encode(p, a, o)[0], o))(
      params, jnp.asarray(actions), jnp.asarray(obs))
  return float(jnp.mean(jnp.square(decoded - actions))), float(actions.var())


@pytest.fixture(scope="module")
def trained_open_loop(dataset, tmp_path_factory):
  config, workdir = small_config(), tmp_path_factory.mktemp("spirl_run")
  learner, params = train(dataset, workdir, config, 1000)
  return config, learner, params, workdir


# ------------------------------------------------------------------------------------------------
# Learner: reconstruction, prior, policy.


def test_open_loop_vae_reconstructs_training_sequences(trained_open_loop, dataset):
  config, _, params, _ = trained_open_loop
  mse, variance = reconstruction_mse(config, params, dataset)
  assert mse < 0.02 * variance, (mse, variance)


def test_train_offline_logs_spirl_metrics(trained_open_loop):
  rows = read_jsonl(str(trained_open_loop[3] / "metrics.jsonl"))
  assert [r["step"] for r in rows] == [500, 1000]
  for key in ("loss", "reconstruction", "kl", "prior_kl", "action_mse", "grad_norm"):
    assert np.isfinite(rows[-1][key]), key
  assert rows[-1]["reconstruction"] < rows[0]["reconstruction"]


def test_deterministic_prior_policy_replays_the_skill_of_the_state(trained_open_loop):
  """s_0 identifies the pattern, so the prior's mean at s_0 is that pattern's skill and the
  policy (prior mean -> decoder, H steps) replays it; it re-plans exactly every H steps."""
  config, learner, params, _ = trained_open_loop
  functions, _ = offline.make_spirl(config, OBS, ACT)
  obs0 = jnp.asarray(pattern_observations(np.random.default_rng(2), np.arange(NUM_PATTERNS))[:, 0])
  steps = 2 * H + 1

  @jax.jit
  def act(params, obs, key, deterministic):
    def one_env(o, k):
      def body(pstate, k_t):
        action, pstate = learner.policy(params, o, k_t, pstate, deterministic=deterministic)
        return pstate, (action, pstate["z"])
      return jax.lax.scan(body, learner.policy_init(k), jax.random.split(k, steps))[1]
    return jax.vmap(one_env)(obs, jax.random.split(key, obs.shape[0]))

  actions, z = act(params, obs0, jax.random.PRNGKey(0), deterministic=True)
  assert actions.shape == (NUM_PATTERNS, steps, ACT)
  err = jnp.mean(jnp.square(actions[:, :H] - action_patterns()))
  assert err < 0.05 * action_patterns().var(), err
  np.testing.assert_allclose(actions[:, H:2 * H], actions[:, :H], atol=1e-5)  # same obs, same z

  actions, z = act(params, obs0, jax.random.PRNGKey(1), deterministic=False)
  z = np.asarray(z)  # [N, T, Z]: a new skill at t = 0, H, 2H only
  changes = np.any(z[:, 1:] != z[:, :-1], axis=-1)  # [N, T-1], True where z(t+1) != z(t)
  expected = np.zeros(steps - 1, bool)
  expected[[H - 1, 2 * H - 1]] = True
  np.testing.assert_array_equal(changes, np.broadcast_to(expected, changes.shape))
  # Open loop: the H actions of a skill are the decoder's sequence for that z.
  np.testing.assert_allclose(actions[:, H:2 * H], functions.decode(params, jnp.asarray(z[:, H])),
                             atol=1e-5)


@pytest.mark.slow
def test_policy_acts_in_env_rollout(trained_open_loop):
  _, learner, params, _ = trained_open_loop
  env = envs.make("point_reach")
  policy = functools.partial(_stateful_action, policy=learner.policy)
  traj = envs.rollout(env, policy, jax.random.PRNGKey(0), 3, 2 * H, policy_params=params,
                      policy_init=learner.policy_init)
  assert traj.action.shape == (3, 2 * H, ACT)
  assert np.all(np.isfinite(traj.action))


def _stateful_action(params, obs, key, pstate, *, policy):
  return policy(params, obs, key, pstate, deterministic=False)


# ------------------------------------------------------------------------------------------------
# Loss kernels.


def _batch(batch_size=4, window=H, lookahead=0, act=ACT, obs=OBS, seed=0):
  rng = np.random.default_rng(seed)
  return {"observation": jnp.asarray(rng.normal(size=(batch_size, window + lookahead, obs)),
                                     jnp.float32),
          "obs_mask": jnp.ones((batch_size, window + lookahead)),
          "action": jnp.asarray(rng.uniform(-1, 1, size=(batch_size, window, act)), jnp.float32)}


@pytest.mark.parametrize("head", ["gaussian", pytest.param("mixture", marks=pytest.mark.slow)])
def test_prior_loss_gradient_reaches_only_the_prior(head):
  config = small_config(prior_head=head, decoder="closed_loop", num_components=3)
  functions, init_params = offline.make_spirl(config, OBS, ACT)
  params = init_params(jax.random.PRNGKey(0))
  batch, key = _batch(lookahead=1), jax.random.PRNGKey(1)

  @jax.jit
  def prior_kl_and_grad(params):
    return jax.value_and_grad(
        lambda p: jnp.mean(functions.window_terms(p, batch, key)["prior_kl"]))(params)

  value, grads = prior_kl_and_grad(params)
  # (The frozen normaliser's statistics feed the prior too; the optimiser never updates them.)
  for name in ("encoder", "decoder"):
    for leaf in jax.tree_util.tree_leaves(grads[name]):
      assert np.all(np.asarray(leaf) == 0.0), name  # exactly zero, not merely small
  assert all(np.any(np.asarray(leaf) != 0.0) for leaf in jax.tree_util.tree_leaves(grads["prior"]))
  # Not vacuous: the prior loss does depend on the encoder's parameters (through q), only its
  # gradient is stopped.
  moved = dict(params, encoder=jax.tree_util.tree_map(lambda x: x * 1.5 + 0.1, params["encoder"]))
  assert abs(float(prior_kl_and_grad(moved)[0]) - float(value)) > 1e-3


def _gaussian_case(z=3):
  rng = np.random.default_rng(3)
  mean = jnp.asarray(rng.normal(size=(5, z)), jnp.float32)
  std = jnp.asarray(rng.uniform(0.3, 1.5, size=(5, z)), jnp.float32)
  prior_mean = jnp.asarray(rng.normal(size=(5, z)), jnp.float32)
  prior_std = jnp.asarray(rng.uniform(0.5, 2.0, size=(5, z)), jnp.float32)
  return mean, std, prior_mean, prior_std


def _sampled_kl(mean, std, prior, key, num=20000):
  """`num` single-sample estimates per KL ([num, 5]): their mean and standard error."""
  estimates = jax.vmap(lambda k: skill_vae.kl_to_prior(mean, std, prior, k, 1, method="sample"))(
      jax.random.split(key, num))
  return jnp.mean(estimates, 0), jnp.std(estimates, 0) / np.sqrt(num)


def test_kl_to_prior_analytic_matches_monte_carlo():
  mean, std, prior_mean, prior_std = _gaussian_case()

  @jax.jit
  def kls(mean, std, prior_mean, prior_std):
    prior = distrax.MultivariateNormalDiag(prior_mean, prior_std)
    standard = distrax.MultivariateNormalDiag(jnp.zeros(3), jnp.ones(3))
    return (skill_vae.kl_to_prior(mean, std, prior),
            _sampled_kl(mean, std, prior, jax.random.PRNGKey(0)),
            skill_vae.kl_to_prior(mean, std, standard),
            skill_vae.kl_to_standard_normal(mean, std))

  analytic, (estimate, se), to_standard, vae_kl = kls(mean, std, prior_mean, prior_std)
  assert analytic.shape == (5,)
  # Independent closed form, per dimension: log(s2/s1) + (s1^2 + (m1-m2)^2) / (2 s2^2) - 1/2.
  by_hand = np.sum(np.log(prior_std / std) + (std**2 + (mean - prior_mean)**2)
                   / (2 * prior_std**2) - 0.5, axis=-1)
  np.testing.assert_allclose(analytic, by_hand, rtol=1e-5)
  assert np.all(np.abs(estimate - analytic) < 4 * se + 1e-4), (estimate, analytic, se)
  # With a standard-normal prior it is the VAE's KL term.
  np.testing.assert_allclose(to_standard, vae_kl, rtol=1e-5)


def test_mixture_prior_with_one_component_equals_gaussian():
  gauss_net = offline.make_prior_network(small_config(prior_head="gaussian"))
  mix_net = offline.make_prior_network(small_config(prior_head="mixture", num_components=1))
  gauss_params = gauss_net.init(jax.random.PRNGKey(0), jnp.zeros((1, OBS)))["params"]
  head = gauss_params["head"]
  mix_params = {"torso": gauss_params["torso"], "means": head["mean"], "scales": head["scale"],
                "logits": {"kernel": jnp.ones((32, 1)), "bias": jnp.full((1,), 3.0)}}
  obs = jnp.asarray(np.random.default_rng(4).normal(size=(5, OBS)), jnp.float32)

  @jax.jit
  def compare(gauss_params, mix_params, obs):
    gauss = gauss_net.apply({"params": gauss_params}, obs)
    mix = mix_net.apply({"params": mix_params}, obs)
    mean, std = gauss.mean() + 0.3, gauss.stddev() * 1.2
    key = jax.random.PRNGKey(5)
    return {"mix_sampled": skill_vae.kl_to_prior(mean, std, mix, key, 64),
            "gauss_sampled": skill_vae.kl_to_prior(mean, std, gauss, key, 64, method="sample"),
            "prior_loss": skill_vae.prior_loss(mean, std, mix, key, 64),
            "estimate": _sampled_kl(mean, std, mix, jax.random.PRNGKey(6)),
            "analytic": skill_vae.kl_to_prior(mean, std, gauss),
            "mix_point": spirl_model.prior_point(mix), "gauss_mean": gauss.mean(),
            "event_shape": jnp.zeros(mix.event_shape)}

  out = compare(gauss_params, mix_params, obs)
  assert out["event_shape"].shape == (4,)
  # Same samples: the mixture's sampled KL is the Gaussian's sampled KL.
  np.testing.assert_allclose(out["mix_sampled"], out["gauss_sampled"], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(out["prior_loss"], out["mix_sampled"], rtol=1e-6)
  # And the estimate agrees with the analytic Gaussian KL.
  estimate, se = out["estimate"]
  assert np.all(np.abs(estimate - out["analytic"]) < 4 * se + 1e-4), (estimate, out, se)
  np.testing.assert_allclose(out["mix_point"], out["gauss_mean"], rtol=1e-6)


def test_kl_to_prior_errors():
  mean, std, prior_mean, prior_std = _gaussian_case()
  mix = distrax.MixtureSameFamily(distrax.Categorical(logits=jnp.zeros((5, 2))),
                                  distrax.MultivariateNormalDiag(jnp.zeros((5, 2, 3)),
                                                                 jnp.ones((5, 2, 3))))
  with pytest.raises(ValueError, match="needs a key"):
    skill_vae.kl_to_prior(mean, std, mix)
  with pytest.raises(ValueError, match="no analytic KL"):
    skill_vae.kl_to_prior(mean, std, mix, jax.random.PRNGKey(0), method="analytic")
  with pytest.raises(ValueError, match=r"event shape \(4,\) does not match"):
    skill_vae.kl_to_prior(mean, std, distrax.MultivariateNormalDiag(jnp.zeros(4), jnp.ones(4)))
  with pytest.raises(ValueError, match="must both be"):
    skill_vae.kl_to_prior(mean, std[:, :2], distrax.MultivariateNormalDiag(prior_mean, prior_std))


# ------------------------------------------------------------------------------------------------
# Validation and shapes.


def test_window_or_action_size_mismatch_is_a_clear_error():
  learner = methods.make_learner(small_config(), OBS, ACT)
  state = jax.eval_shape(learner.init, jax.random.PRNGKey(0))  # shapes only: nothing compiles
  key = jax.random.PRNGKey(1)
  with pytest.raises(ValueError, match=r"H=6.*learner.horizon = train.window.*\(4, 7, 2\)"):
    jax.eval_shape(learner.update, state, _batch(window=H + 1), key)
  with pytest.raises(ValueError, match=r"A=2.*got \(4, 6, 3\)"):
    jax.eval_shape(learner.update, state, _batch(act=3), key)
  with pytest.raises(ValueError, match=r"observations \[\.\.\., 6\]"):
    jax.eval_shape(learner.update, state, _batch(obs=5), key)
  _, metrics = jax.eval_shape(learner.update, state, _batch(lookahead=2), key)  # look-ahead: fine
  assert {"loss", "reconstruction", "kl", "prior_kl", "action_mse"} <= set(metrics)
  for key_name, value in (("decoder", "lstm"), ("prior_head", "flow"), ("horizon", 0)):
    with pytest.raises(ValueError, match=f"learner.{key_name}"):
      methods.make_learner(small_config(**{key_name: value}), OBS, ACT)
  with pytest.raises(ValueError, match="observation_stats"):
    methods.make_learner(small_config(), OBS, ACT, observation_stats=(np.zeros(3), np.ones(3)))


def test_public_helpers_closed_loop_decoder_and_mixture_prior():
  config = small_config(decoder="closed_loop", prior_head="mixture", num_components=3)
  functions, init_params = offline.make_spirl(config, OBS, ACT)
  params = init_params(jax.random.PRNGKey(0))
  prior_fn = offline.make_skill_prior(config, OBS)
  decoder = offline.make_skill_decoder(config, OBS, ACT)
  network = offline.make_prior_network(config)
  obs = jnp.asarray(np.random.default_rng(5).normal(size=(H, OBS)), jnp.float32)

  @jax.jit
  def run(params, obs):
    prior = prior_fn(params, obs[0])
    z = prior.sample(seed=jax.random.PRNGKey(1))
    mean, std = functions.encode(params, jnp.zeros((H, ACT)), obs)

    def step(dstate, o):  # closed loop: each step reads its own state
      action, dstate = decoder.step(params, dstate, o)
      return dstate, action

    dstate, stepped = jax.lax.scan(step, decoder.init(params, z, obs[0]), obs)
    same = network.apply({"params": offline.prior_params(params)},
                         offline.normalize_observation(params, obs[0]))
    return {"z": z, "mean": mean, "std": std, "decoded": functions.decode(params, z, obs),
            "stepped": stepped, "steps": dstate["step"], "log_prob": prior.log_prob(z),
            "network_log_prob": same.log_prob(z), "is_mixture": isinstance(
                prior, distrax.MixtureSameFamily) and prior.event_shape == (4,)}

  out = run(params, obs)
  assert out["is_mixture"] and out["z"].shape == (4,)
  assert out["mean"].shape == out["std"].shape == (4,) and np.all(np.asarray(out["std"]) > 0)
  assert out["decoded"].shape == (H, ACT)
  np.testing.assert_allclose(out["stepped"], out["decoded"], rtol=1e-5, atol=1e-6)
  assert int(out["steps"]) == H
  np.testing.assert_allclose(out["network_log_prob"], out["log_prob"], rtol=1e-6)
  with pytest.raises(ValueError, match="closed-loop decoder"):
    jax.eval_shape(functions.decode, params, out["z"], None)


# ------------------------------------------------------------------------------------------------
# Recurrent networks.


def test_lstm_stepwise_equals_sequence_and_seq_lengths():
  x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 5, 3)), jnp.float32)
  lstm = LSTM(8)
  params = lstm.init(jax.random.PRNGKey(0), x)

  @jax.jit
  def run(params, x):
    outputs, carry = lstm.apply(params, x)

    def step(carry, x_t):  # one step at a time: T = 1 calls continuing from the carry
      out, carry = lstm.apply(params, x_t[:, None], initial_carry=carry)
      return carry, out[:, 0]

    _, stepped = jax.lax.scan(step, lstm.zero_carry((2,)), jnp.swapaxes(x, 0, 1))
    _, padded_carry = lstm.apply(params, x, seq_lengths=jnp.array([3, 5]))
    _, short_carry = lstm.apply(params, x[:1, :3])
    return outputs, carry, jnp.swapaxes(stepped, 0, 1), padded_carry, short_carry

  outputs, (c, h), stepped, (_, h_padded), (_, h_short) = run(params, x)
  assert outputs.shape == (2, 5, 8) and c.shape == h.shape == (2, 8)
  np.testing.assert_allclose(outputs[:, -1], h, rtol=1e-6)
  np.testing.assert_allclose(stepped, outputs, rtol=1e-5, atol=1e-6)
  # Padded sequences: the final state is the state after the last valid step.
  np.testing.assert_allclose(h_padded[0], h_short[0], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(h_padded[1], h[1], rtol=1e-5, atol=1e-6)


def test_bidirectional_lstm_is_forward_and_reversed_backward():
  x = jnp.asarray(np.random.default_rng(1).normal(size=(2, 5, 3)), jnp.float32)
  bi, lstm = BidirectionalLSTM(8), LSTM(8)
  params = bi.init(jax.random.PRNGKey(0), x)["params"]

  @jax.jit
  def run(params, x):
    outputs, carries = bi.apply({"params": params}, x)
    fwd = lstm.apply({"params": {"cell": params["forward_cell"]}}, x)
    bwd = lstm.apply({"params": {"cell": params["backward_cell"]}}, x[:, ::-1])
    unbatched, _ = bi.apply({"params": params}, x[0])
    return outputs, carries, fwd, bwd, unbatched

  outputs, (fwd_carry, bwd_carry), (fwd, (_, fwd_h)), (bwd, (_, bwd_h)), unbatched = run(params, x)
  assert outputs.shape == (2, 5, 16)
  np.testing.assert_allclose(outputs[..., :8], fwd, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(outputs[..., 8:], bwd[:, ::-1], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(fwd_carry[1], fwd_h, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(bwd_carry[1], bwd_h, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(unbatched, outputs[0], rtol=1e-5, atol=1e-6)
  with pytest.raises(ValueError, match=r"\[\.\.\., T, D\]"):
    jax.eval_shape(lambda p, v: bi.apply({"params": p}, v), params, x[0, 0])


# ------------------------------------------------------------------------------------------------
# Slow: the closed-loop decoder with a mixture prior.


@pytest.mark.slow
def test_closed_loop_vae_with_mixture_prior_reconstructs(tmp_path):
  """States say nothing about the pattern (only the clock): the skill must carry it, and the
  prior at s_0 is the four-cluster marginal of q, which the mixture fits."""
  dataset = make_dataset(str(tmp_path / "d"), informative=False)
  config = small_config(decoder="closed_loop", prior_head="mixture", num_components=4)
  _, params = train(dataset, tmp_path / "run", config, 1000)
  mse, variance = reconstruction_mse(config, params, dataset)
  assert mse < 0.02 * variance, (mse, variance)
  rows = read_jsonl(str(tmp_path / "run" / "metrics.jsonl"))
  assert rows[-1]["prior_kl"] < 0.6 * rows[0]["prior_kl"], rows


def _maze_view_dataset(path, env, lengths, resets=None):
  """A maze dataset of random positions (and walls) per episode, for the view samplers:
  (dataset, the episodes' observations and walls as written). With `resets` (env states, one
  per episode) each episode starts at its reset's position in its maze's walls."""
  rng = np.random.default_rng(0)
  walls_size = jax.eval_shape(env.reset, jax.random.PRNGKey(0)).info["walls"].shape
  schema = data_lib.Schema.create((4,), (2,), episode={"walls": (walls_size, np.bool_)})
  episodes = {
      "observation": [np.concatenate([rng.uniform(0.2, 2.8, (n + 1, 2)),
                                      rng.normal(size=(n + 1, 2))], -1).astype(np.float32)
                      for n in lengths],
      "action": [rng.uniform(-1, 1, (n, 2)).astype(np.float32) for n in lengths],
      "walls": [rng.random(walls_size) < 0.5 for _ in lengths]}
  for i, state in enumerate(resets or ()):
    episodes["observation"][i][0, :2] = np.asarray(state.obs[:2])
    episodes["walls"][i] = np.asarray(state.info["walls"])
  with data_lib.DatasetWriter(str(path), schema, env_name="maze", generator="test",
                              episodes_per_shard=3) as writer:
    for i, n in enumerate(lengths):
      done = np.zeros(n, bool)
      done[-1] = True
      writer.add_episodes({"observation": episodes["observation"][i][None],
                           "action": episodes["action"][i][None],
                           "reward": np.zeros((1, n), np.float32),
                           "discount": np.ones((1, n), np.float32), "done": done[None],
                           "episode/walls": episodes["walls"][i][None]}, np.array([n]))
  return data_lib.load_dataset(str(path)), episodes


def _view_sampler_config(planes=1):
  import ml_collections  # pylint: disable=import-outside-toplevel
  config = ml_collections.ConfigDict({"learner": small_config(horizon=4), "train": {
      "window": 4, "lookahead": 0, "batch_size": 16}})
  config.learner.prior_groups = ("image",)
  config.learner.prior_image_frames, config.learner.prior_image_size = 2, 4
  config.learner.prior_image_planes = planes
  config.learner.z_dim = 3
  return config


def test_image_prior_sampler_renders_the_stored_states_views(tmp_path):
  """The paper's maze prior reads stacked local views that the dataset does not store: the
  sampler renders them from the window's first position, the one before it (the first again at
  an episode's start) and the episode's walls; checked against the env's renderer per window,
  and a learner update on such batches trains the conv prior."""
  from helms_jax import envs as envs_lib  # pylint: disable=import-outside-toplevel
  env = envs_lib.make("maze", layout="random", size=3)
  dataset, episodes = _maze_view_dataset(tmp_path / "d", env, np.array([12, 15, 11]))
  config = _view_sampler_config()
  sample, data = offline.make_run_sampler(config, dataset, env)
  batch = jax.jit(sample)(data, jax.random.PRNGKey(1))
  assert batch["prior_image"].shape == (16, 2 * 16)
  # The env's renderer, compiled once for the 16 windows (eagerly it dispatches op by op).
  local_views = jax.jit(env.local_views, static_argnums=2)
  for b in range(16):
    e, t = int(batch["episode_index"][b]), int(batch["window_start"][b])
    obs = episodes["observation"][e]
    positions = jnp.asarray(np.stack([obs[t, :2], obs[max(t - 1, 0), :2]]))
    expected = local_views(positions, jnp.asarray(episodes["walls"][e]), 4)
    np.testing.assert_allclose(batch["prior_image"][b], expected, atol=1e-6)
  learner = offline.make_learner(config.learner, 4, 2)
  assert learner.policy is None  # its prior reads the env's views, not the data's states
  state = learner.init(jax.random.PRNGKey(2))
  assert "conv_0" in state.params["prior"]
  state, metrics = jax.jit(learner.update)(state, batch, jax.random.PRNGKey(3))
  assert np.isfinite(float(metrics["loss"]))


def test_image_prior_sampler_places_the_trailing_camera(tmp_path):
  """With D4RL's trailing camera (`camera_follow` < 1) the views are centred where the env's
  step-by-step recursion l_t = l_{t-1} + f (p_t - l_{t-1}), l_0 = p_0 puts the camera, computed
  here by a Python loop over each episode from its start (one episode longer than the sampler's
  history, so its truncation is exercised), with the agent drawn in each view's second plane
  and the goal in its third: the goal the env itself drew for the episode at reset."""
  from helms_jax import envs as envs_lib  # pylint: disable=import-outside-toplevel
  follow = 0.5
  env = envs_lib.make("maze", layout="random", size=3, image_agent=True, camera_follow=follow,
                      image_goal=True)
  assert env.camera_history < 30
  resets = [jax.jit(env.reset)(jax.random.PRNGKey(i)) for i in range(3)]
  dataset, episodes = _maze_view_dataset(tmp_path / "d", env, np.array([12, 40, 11]), resets)
  with pytest.raises(ValueError, match="prior_image_planes"):
    offline.make_run_sampler(_view_sampler_config(planes=2), dataset, env)
  sample, data = offline.make_run_sampler(_view_sampler_config(planes=3), dataset, env)
  batch = jax.jit(sample)(data, jax.random.PRNGKey(1))
  assert batch["prior_image"].shape == (16, 2 * 3 * 16)
  late = 0
  local_views = jax.jit(env.local_views, static_argnums=2)  # compiled once for the 16 windows
  for b in range(16):
    e, t = int(batch["episode_index"][b]), int(batch["window_start"][b])
    positions = episodes["observation"][e][:, :2].astype(np.float64)
    cameras = [positions[0]]
    for p in positions[1:]:
      cameras.append(cameras[-1] + follow * (p - cameras[-1]))
    frames = [t, max(t - 1, 0)]
    expected = local_views(jnp.asarray(positions[frames], jnp.float32),
                           jnp.asarray(episodes["walls"][e]), 4,
                           jnp.asarray(np.stack([cameras[f] for f in frames]), jnp.float32),
                           resets[e].info["goal"])
    np.testing.assert_allclose(batch["prior_image"][b], expected, atol=1e-3)
    late += t >= env.camera_history
  assert late > 0  # some windows start past the exact history
  goal_plane = np.asarray(batch["prior_image"]).reshape(16, 2, 3, 16)[:, :, 2]
  assert np.any(goal_plane.sum(-1) > 0)  # the goal is in view somewhere: the check is not empty


"""The concurrent-skill CVAE learner: equation 1, plus the subskill MI regulariser (eqs. 4-7).

Composition: `model` (encoder, WaveNet state decoder, action decoder, generation) +
`losses.concurrent` (ELBO, summed-subskill Gaussian, closed-form H(V), MI estimate) +
`training.train_state.gradient_learner`. The objective (`learner.objective`):

  original          loss = -ELBO
  variational       loss = -ELBO - mi_weight * I_hat,  Q = auxiliary encoder Q_psi (eq. 4)
  non_variational   loss = -ELBO - mi_weight * I_hat,  q_phi's entropy bound (eq. 5)

(ELBO summed over the window's T steps, batch mean: the paper's per-trajectory objective, so
mi_weight is its lambda on that scale)

with H(V) in closed form (eq. 7) from one demonstration of each of the composite's subskills
(V = the sum of their embeddings), and for each composite demonstration in the batch
z_c ~ q(z | tau_c) (reparameterised), tau~ = the state decoder's rollout from tau_c's first
state conditioned on z_c (reparameterised noise). Variational: I_hat = H(V) + mean log
Q_psi(V | tau~) at V drawn from the subskill sum (eq. 4's L_I). Non-variational: I_hat = H(V) +
mean sum_i log q_phi(z_i | tau~), one z_i ~ q_phi(z | tau~) per member subskill (eq. 5 / 6, as
Appendix A derives it; `losses/concurrent.py` states how we read q_phi(z_i | tau~)). The
original objective logs the non-variational estimate without training on it. Gradients of
I_hat flow through tau~ into z_c and into the state decoder's parameters (the paper trains
encoder, state decoder and action decoder together on the regularised objective);
`learner.mi_trains_decoder=False` is the ablation that trains the decoder by equation 1 alone.
See `losses/concurrent.py` for the equations.

Behaviours are named in `learner.behaviours` in the order of the dataset's `episode/task_id`;
a name with '+' is a composite of the subskills it joins (`forward+turn` = forward and turn).

Batches (`make_sampler` = `data.grouped.grouped_sample_fn`, episodes of any lengths; per seed;
raw observations, the learner selects `learner.state_groups` and normalises them with dataset
statistics stored in `params['normalizer']`, `modelled_states`):
  states [B, T+1, O], actions [B, T, A]        windows of training episodes of the subskills
                                               (and composites: `reconstruct_composites`)
  composite_states [Bc, T+1, O], composite [Bc] (index into the composites),
  subskill_states [Bc, K, T+1, O]              one window of each subskill (K = all subskills;
                                               the composite's membership mask selects)
  eval_states [E, T+1, O], eval_composite [E], eval_subskill_states [E, K, T+1, O]
                                               fixed held-out episodes, for the metrics
Metrics: loss, elbo/T, state_nll/T, action_nll/T, kl, mi (the objective's I_hat; for the
original objective the eq. 6 estimate, not trained), h_v, log_q (its second term), grad_norm,
and per composite c on the held-out episodes: `mse/<c>` (mean squared error, in normalised units,
between the state decoder's mean rollout from z = the posterior mean of the demonstration and
the demonstrated states, over all T steps and state dims; Figure 3 of the paper), `mse_sum/<c>`
(the same from z = the sum of the posterior means of held-out demonstrations of its subskills:
zero-shot composition), `mse_prior/<c>` (from z = 0: what the embedding adds), `gap/<c>`
(||mu(tau_c) - sum_k mu(tau_k)||^2 / Z) and `gap_ratio/<c>` (gap over the same distance to the
other composites' subskill sums; < 1: the composite sits nearer its own sum).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from helms_jax.agents.concurrent import model as cvae
from helms_jax.data import grouped
from helms_jax.data.grouped import Behaviours
from helms_jax.envs.base import selected_indices
from helms_jax.losses import concurrent as losses
from helms_jax.losses.kl import diag_gaussian_log_prob
from helms_jax.training import normalizer as normalizer_lib
from helms_jax.training.train_state import Learner, gradient_learner

OBJECTIVES = ("original", "variational", "non_variational")


def default_config() -> ml_collections.ConfigDict:
  """CPU-sized defaults (the paper's sizes are not given in the issue)."""
  return ml_collections.ConfigDict(dict(
      name="concurrent",
      objective="non_variational",
      window=32,  # T, steps per demonstration window (train.window must equal it)
      behaviours=("forward", "turn", "raise_leg", "forward+turn", "forward+raise_leg"),
      state_groups=(),  # observation groups the CVAE models (all when empty)
      z_dim=8,
      encoder_hidden=64,
      attention_size=64,
      auxiliary_hidden=32,  # Q_psi (variational objective only)
      wavenet_channels=64,
      state_mixture_components=5,  # Gaussians per state dimension at the WaveNet's output
      dilations=(1, 2, 4, 8),
      kernel_size=2,
      action_hidden=(128, 128),
      beta=1.0,
      mi_weight=1.0,
      # Whether the MI term's gradient also trains the state decoder's parameters (the paper's
      # objective: on). Off is an ablation: the regulariser then moves the embeddings (z_c
      # through tau~, the subskills' V) and Q only.
      mi_trains_decoder=True,
      generation_noise=1.0,  # std multiplier of tau~'s reparameterised noise (0: mean rollout)
      composite_batch=16,  # composite demonstrations per update for the regulariser
      # Equation 1's windows: subskills only, as the paper ("we train ... VAEs on the
      # subskills"; the composites enter through tau~, generated from their embedding, and the
      # evaluation). True adds the composites' training episodes to the reconstruction data.
      reconstruct_composites=False,
      learning_rate=1e-3,
      max_grad_norm=10.0,
      min_obs_std=1e-2,
      # Data split (make_sampler): held-out episodes per behaviour for the metrics, and the
      # number of training episodes per composite (0: all that are not held out).
      eval_episodes=8,
      composite_train_episodes=0,
  ))


def parse_behaviours(names) -> Behaviours:
  """`('a', 'b', 'a+b')` -> Behaviours; errors name unknown or malformed entries."""
  names = tuple(str(n) for n in names)
  if len(set(names)) != len(names) or not names:
    raise ValueError(f"learner.behaviours must be distinct names, got {names}")
  subskills = tuple(i for i, n in enumerate(names) if "+" not in n)
  composites = tuple(i for i, n in enumerate(names) if "+" in n)
  if not subskills or not composites:
    raise ValueError(f"learner.behaviours needs subskills and composites ('a+b'), got {names}")
  members = np.zeros((len(composites), len(subskills)), np.float32)
  for c, i in enumerate(composites):
    parts = names[i].split("+")
    for part in parts:
      if part not in names or "+" in part:
        raise ValueError(f"composite {names[i]!r} names {part!r}, which is not a subskill of "
                         f"learner.behaviours {names}")
      members[c, subskills.index(names.index(part))] = 1.0
    if len(set(parts)) < 2:
      raise ValueError(f"composite {names[i]!r} must join at least two distinct subskills")
  return Behaviours(names, subskills, composites, members)


class Functions(NamedTuple):
  encoder: cvae.TrajectoryEncoder
  state_decoder: cvae.StateDecoder
  action_decoder: cvae.ActionDecoder
  auxiliary: cvae.TrajectoryEncoder | None
  state_indices: np.ndarray  # [S] observation entries the CVAE models
  behaviours: Behaviours


def make_functions(config, observation_size: int, action_size: int,
                   observation_groups=None) -> Functions:
  if config.objective not in OBJECTIVES:
    raise ValueError(f"learner.objective={config.objective!r}; valid: {', '.join(OBJECTIVES)}")
  indices = selected_indices(observation_groups, config.state_groups, observation_size,
                             "learner.state_groups")
  encoder = cvae.TrajectoryEncoder(config.z_dim, config.encoder_hidden, config.attention_size)
  auxiliary = (cvae.TrajectoryEncoder(config.z_dim, config.auxiliary_hidden,
                                      config.auxiliary_hidden)
               if config.objective == "variational" else None)
  return Functions(
      encoder=encoder,
      state_decoder=cvae.StateDecoder(len(indices), config.wavenet_channels,
                                      tuple(config.dilations), config.kernel_size,
                                      num_components=int(config.state_mixture_components)),
      action_decoder=cvae.ActionDecoder(action_size, tuple(config.action_hidden)),
      auxiliary=auxiliary, state_indices=indices,
      behaviours=parse_behaviours(config.behaviours))


def init_params(functions: Functions, key: jax.Array, window: int, action_size: int,
                observation_stats, observation_size: int, min_obs_std: float):
  s = len(functions.state_indices)
  states, z = jnp.zeros((window + 1, s)), jnp.zeros((functions.encoder.z_dim,))
  keys = jax.random.split(key, 4)
  stats = None
  if observation_stats is not None:
    stats = tuple(np.asarray(a)[functions.state_indices] for a in observation_stats)
  params = {
      "encoder": functions.encoder.init(keys[0], states)["params"],
      "state_decoder": functions.state_decoder.init(keys[1], states[:-1], z)["params"],
      "action_decoder": functions.action_decoder.init(keys[2], states[:-1], z)["params"],
      "normalizer": normalizer_lib.observation_normalizer(stats, s, min_obs_std),
  }
  if functions.auxiliary is not None:
    params["auxiliary"] = functions.auxiliary.init(keys[3], states)["params"]
  return params


def modelled_states(functions: Functions, params, observations: jax.Array) -> jax.Array:
  """Raw observations `[..., O]` -> the normalised states the CVAE models `[..., S]`
  (`learner.state_groups` selected, then the dataset-statistics normaliser in `params`)."""
  x = jnp.take(observations, jnp.asarray(functions.state_indices), axis=-1)
  return normalizer_lib.normalize(params["normalizer"], x)


def _encode(module, params, states):
  return module.apply({"params": params}, states)


def _generate(functions: Functions, params, states: jax.Array, z: jax.Array,
              noise: jax.Array) -> jax.Array:
  """Batched tau~: `states [N, T+1, S]` (first states used), `z [N, Z]`, `noise [N, T, S]`."""
  return jax.vmap(lambda s0, zz, eps: cvae.generate(
      functions.state_decoder, {"params": params["state_decoder"]}, s0, zz, eps))(
          states[:, 0], z, noise)


def _per_composite(values: jax.Array, index: jax.Array, num: int) -> jax.Array:
  """Mean of `values [N]` per composite `index [N]` -> [num] (NaN where none)."""
  onehot = jax.nn.one_hot(index, num)
  return (values @ onehot) / jnp.sum(onehot, axis=0)


def _encode_all(functions: Functions, params, groups: dict[str, jax.Array]):
  """One encoder pass over several groups of windows `{name: [..., T+1, S]}` (one BiLSTM
  compilation and one bigger batch instead of one per group) -> {name: (mean, std)}."""
  flat = {k: v.reshape((-1,) + v.shape[-2:]) for k, v in groups.items()}
  mean, std, _ = _encode(functions.encoder, params["encoder"],
                         jnp.concatenate(list(flat.values()), axis=0))
  out, start = {}, 0
  for k, v in groups.items():
    n = flat[k].shape[0]
    shape = v.shape[:-2] + mean.shape[-1:]
    out[k] = (mean[start:start + n].reshape(shape), std[start:start + n].reshape(shape))
    start += n
  return out


def eval_metrics(functions: Functions, params, eval_states: jax.Array,
                 eval_composite: jax.Array, composite_mean: jax.Array,
                 subskill_mean: jax.Array) -> dict[str, jax.Array]:
  """The held-out metrics of the module docstring (no gradients flow).

  Args:
    eval_states: [E, T+1, S] normalised held-out composite windows; eval_composite: [E].
    composite_mean: [E, Z] their posterior means; subskill_mean: [E, K, Z] those of held-out
      windows of every subskill.
  """
  params, composite_mean, subskill_mean = jax.lax.stop_gradient(
      (params, composite_mean, subskill_mean))
  b = functions.behaviours
  num_c = len(b.composites)
  sums = jnp.einsum("ck,ekz->ecz", jnp.asarray(b.members), subskill_mean)  # [E, C, Z] every sum
  own_sum = sums[jnp.arange(sums.shape[0]), eval_composite]  # [E, Z]
  # Mean rollouts, in one batch, from the demonstration's own embedding, from its subskills' sum
  # (zero-shot composition) and from z = 0 (the prior's mean: what the embedding decides).
  targets = jnp.concatenate([eval_states] * 3)  # [3E, T+1, S]
  z = jnp.concatenate([composite_mean, own_sum, jnp.zeros_like(own_sum)])
  generated = _generate(functions, params, targets, z, jnp.zeros(targets[:, 1:].shape))
  errors = jnp.mean(jnp.square(generated[:, 1:] - targets[:, 1:]), axis=(1, 2))  # [3E]
  mse, mse_sum, mse_prior = jnp.split(errors, 3)
  dist = jnp.mean(jnp.square(composite_mean[:, None] - sums), axis=-1)  # [E, C]
  own = jax.nn.one_hot(eval_composite, num_c)
  gap = jnp.sum(dist * own, axis=-1)
  other = jnp.sum(dist * (1 - own), axis=-1) / max(num_c - 1, 1)
  out = {}
  for name, values in (("mse", mse), ("mse_sum", mse_sum), ("mse_prior", mse_prior),
                       ("gap", gap), ("gap_ratio", gap / other)):
    per = _per_composite(values, eval_composite, num_c)
    for c, cname in enumerate(b.composite_names):
      out[f"{name}/{cname}"] = per[c]
  return out


def batch_loss(functions: Functions, config, params, batch, key):
  """The objective's loss (module docstring) and metrics for one seed's batch."""
  b = functions.behaviours
  keys = jax.random.split(key, 5)
  states = {name: modelled_states(functions, params, batch[name])
            for name in ("states", "composite_states", "subskill_states", "eval_states",
                         "eval_subskill_states")}
  posterior = _encode_all(functions, params, states)

  # Equation 1 on windows of every behaviour.
  x = states["states"]  # [B, T+1, S]
  t = x.shape[1] - 1
  mean, std = posterior["states"]
  z = mean + std * jax.random.normal(keys[0], mean.shape)
  s_dist = functions.state_decoder.apply({"params": params["state_decoder"]}, x[:, :-1], z)
  a_mean, a_std = functions.action_decoder.apply({"params": params["action_decoder"]},
                                                 x[:, :-1], z)
  terms = jax.vmap(lambda *a: losses.trajectory_elbo(*a, beta=config.beta))(
      *s_dist, x[:, 1:], a_mean, a_std, batch["actions"], mean, std)
  terms = jax.tree_util.tree_map(jnp.mean, terms)
  loss = -terms["elbo"]  # per trajectory, summed over its T steps (equations 1, 4, 5)

  # The regulariser: tau~ from the composite demonstrations' embeddings, V from subskills'.
  xc = states["composite_states"]  # [Bc, T+1, S]
  c_mean, c_std = posterior["composite_states"]
  z_c = c_mean + c_std * jax.random.normal(keys[1], c_mean.shape)
  noise = config.generation_noise * jax.random.normal(keys[2], xc[:, 1:].shape)
  decoder_params = params if config.mi_trains_decoder else {
      **params, "state_decoder": jax.lax.stop_gradient(params["state_decoder"])}
  generated = _generate(functions, decoder_params, xc, z_c, noise)
  sub_mean, sub_std = posterior["subskill_states"]  # [Bc, K, Z]
  members = jnp.asarray(b.members)[batch["composite"]]  # [Bc, K]
  v_mean, v_std = losses.masked_sum_of_gaussians(sub_mean, sub_std, members)
  h_v = losses.gaussian_entropy(v_std)
  if functions.auxiliary is not None:  # eq. 4: Q_psi(V | tau~) at V from the subskill sum
    v = v_mean + v_std * jax.random.normal(keys[3], v_mean.shape)
    q_mean, q_std, _ = _encode(functions.auxiliary, params["auxiliary"], generated)
    log_q = diag_gaussian_log_prob(v, q_mean, q_std)  # [Bc]
    mi = losses.variational_mi_estimate(h_v, log_q)
  else:  # eq. 5 / 6: one z_i ~ q_phi(z | tau~) per member subskill, scored under it
    q_mean, q_std, _ = _encode(functions.encoder, params["encoder"], generated)  # [Bc, Z]
    eps = jax.random.normal(keys[3], members.shape + q_mean.shape[-1:])  # [Bc, K, Z]
    z_i = q_mean[:, None] + q_std[:, None] * eps
    log_q_i = diag_gaussian_log_prob(z_i, q_mean[:, None], q_std[:, None])  # [Bc, K]
    log_q = jnp.sum(members * log_q_i, axis=-1)
    mi = losses.subskill_mi_estimate(h_v, log_q_i, members.astype(log_q_i.dtype))
  if config.objective != "original":
    loss = loss - config.mi_weight * mi

  metrics = {"loss": loss, "elbo": terms["elbo"] / t, "state_nll": -terms["state_log_prob"] / t,
             "action_nll": -terms["action_log_prob"] / t, "kl": terms["kl"], "mi": mi,
             "h_v": jnp.mean(h_v), "log_q": jnp.mean(log_q),
             **eval_metrics(functions, params, states["eval_states"], batch["eval_composite"],
                            posterior["eval_states"][0], posterior["eval_subskill_states"][0])}
  return loss, metrics


def make_learner(config: ml_collections.ConfigDict, observation_size: int, action_size: int, *,
                 observation_groups=None, observation_stats=None, **unused) -> Learner:
  """The CVAE learner (`Learner` protocol; no policy: the CVAE imitates from an embedding).

  Args:
    config: `default_config()` keys.
    observation_size, action_size: O and A of the dataset.
    observation_groups: the env's groups (for `learner.state_groups`).
    observation_stats: (mean [O], std [O]) of the dataset's observations.
  """
  del unused
  window = int(config.window)
  if window < 2:
    raise ValueError(f"the concurrent CVAE needs learner.window >= 2 steps, got {window}")
  functions = make_functions(config, observation_size, action_size, observation_groups)
  init, update = gradient_learner(
      lambda key: init_params(functions, key, int(window), action_size, observation_stats,
                              observation_size, config.min_obs_std),
      lambda p, batch, key: batch_loss(functions, config, p, batch, key),
      normalizer_lib.clipped_adam(config))

  return Learner(init=init, update=update, model=functions)


def make_sampler(config: ml_collections.ConfigDict, dataset, batch_size: int):
  """`(sample_fn(data, key) -> batch, data)` for the learner's batches (module docstring), of
  windows of `config.window` steps: `data.grouped.grouped_sample_fn` with the learner's
  behaviours and split.

  `dataset`: a loaded dataset (`helms_jax.data.load_dataset`) with `episode/task_id` indexing
  `config.behaviours` (episodes of any lengths; those shorter than the window are left out).
  """
  return grouped.grouped_sample_fn(
      dataset, parse_behaviours(config.behaviours), int(config.window), batch_size,
      int(config.composite_batch), int(config.eval_episodes),
      int(config.composite_train_episodes),
      reconstruct_composites=bool(config.reconstruct_composites))


def make_run_sampler(config: ml_collections.ConfigDict, dataset, env=None):
  """The `OfflineLearner.make_sampler` of a run config: `make_sampler` with the run's batch
  size, after checking that the loop's window is the learner's (`env` is not needed)."""
  del env
  if config.train.window != config.learner.window:
    raise ValueError(f"train.window={config.train.window} must equal "
                     f"learner.window={config.learner.window}")
  return make_sampler(config.learner, dataset, config.train.batch_size)


__all__ = ["OBJECTIVES", "Behaviours", "Functions", "batch_loss", "default_config",
           "eval_metrics", "make_functions", "make_learner", "make_run_sampler", "make_sampler",
           "modelled_states", "parse_behaviours"]

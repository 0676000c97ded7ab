"""SPiRL offline learning: the skill VAE and the learned skill prior, trained together.

Composition: `model` (encoder, decoder, prior networks) + `losses.skill_vae` (kernels) +
`training.train_state.gradient_learner`. Batches are dataset windows of H = `learner.horizon`
steps (`train.window` must equal it; `train.lookahead` observations past the window are
ignored): `observation [B, H + L, O]`, `action [B, H, A]`. Windows never cross an episode and
hold H real steps, so no masking is needed. Per window:

  z ~ q(z | a_{0:H-1} [, s_{0:H-1}])     reparameterised sample of the encoder's Gaussian
  a_hat_{0:H-1} = decoder(z [, s_t])      open-loop LSTM or closed-loop MLP
  prior p(z | s_0)                         at the window's first observation

  loss = reconstruction / (H A) + beta * kl / Z + prior_kl

with the per-window sums of `losses.skill_vae` (reconstruction = 0.5 sum (a - a_hat)^2,
kl = KL(q || N(0, I)), prior_kl = KL(stop_gradient(q) || p)). Dividing the first two by their
element counts is the reference implementation's normalisation (it averages both over
elements), so its beta (1e-2 for maze and kitchen) means the same here. The prior loss reaches
only the prior's parameters (stop-gradient on q), so its scale does not trade off against the
VAE's terms.

Observations are normalised by dataset statistics stored in `params['normalizer']` (constants
the optimiser never changes), so a checkpoint is self-contained. Parameters:
`{'encoder', 'decoder', 'prior', 'normalizer': {'mean', 'std'}}`.

Public helpers for downstream RL (SPiRL's SAC in skill space) and analyses:
  `make_skill_prior(config, O, groups) -> prior_fn(params, obs [O]) -> distrax` (event [Z]);
  `make_skill_decoder(config, O, A, groups) -> SkillDecoder(init, step)` executes a skill step
  by step (`groups`: the env's ObservationGroups, needed with `learner.prior_groups`);
  `make_prior_network(config)`, `prior_params(params)`, `prior_input(params, obs, indices)` with
  `indices = prior_input_indices(config, O, observation_groups)`: the prior as a linen module on
  the normalised observation entries it sees (`learner.prior_groups`), so a policy of the same
  architecture starts from the prior's weights:
    network = make_prior_network(config)
    dist = network.apply({"params": prior_params(params)}, prior_input(params, obs, indices))
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import distrax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from helms_jax import data as data_lib
from helms_jax.agents.spirl import model as spirl_model
from helms_jax.data.reader import offsets_from_lengths
from helms_jax.envs.base import selected_indices
from helms_jax.losses import skill_vae
from helms_jax.training import normalizer as normalizer_lib
from helms_jax.training.train_state import Learner, gradient_learner

ENCODER_INPUTS = ("auto", "actions", "actions_and_states")
OPTIMIZERS = ("adam", "radam")


def default_config() -> ml_collections.ConfigDict:
  """Defaults of the SPiRL reference implementation (maze / kitchen), see the module doc."""
  return ml_collections.ConfigDict(dict(
      name="spirl",
      horizon=10,               # H: skill length = train.window
      z_dim=10,
      lstm_size=128,            # encoder LSTM and open-loop decoder LSTM
      encoder_inputs="auto",    # auto: actions (open loop), actions + states (closed loop)
      decoder="open_loop",      # open_loop | closed_loop
      decoder_hidden=(128, 128),  # closed-loop decoder MLP
      prior_hidden=(128,) * 6,
      prior_head="gaussian",    # gaussian | mixture
      num_components=5,         # mixture prior components
      prior_samples=1,          # samples of q per window for a mixture prior's KL estimate
      # Observation groups the prior (and a downstream policy of its shape) sees; () = all.
      # E.g. ("velocity", "image") in the maze: skills transfer to layouts of another size only
      # if the prior does not condition on the absolute position.
      prior_groups=(),
      # Stacked local views the prior also sees (the paper's maze state: two 32 x 32 top-down
      # views), rendered from the stored states by the sampler (`make_run_sampler`) and read
      # from the env's `image` group downstream; 0 frames = none. With them, `prior_groups`
      # names the state groups beside the image (("image",) or (): the image alone).
      prior_image_frames=0,
      prior_image_size=32,
      prior_image_planes=1,     # planes per view (the env's: walls[, agent][, goal])
      beta=1e-2,
      learning_rate=1e-3,
      optimizer="adam",         # adam | radam (the reference uses RAdam)
      max_grad_norm=0.0,        # 0 = no clipping (the reference does not clip)
      min_scale=1e-3,           # lower bound of the encoder's and prior's standard deviations
      min_observation_std=1e-2,
  ))


def check_config(config: ml_collections.ConfigDict) -> None:
  """Raises ValueError naming the offending `learner.*` key."""
  for key, valid in (("decoder", spirl_model.DECODERS), ("prior_head", spirl_model.PRIOR_HEADS),
                     ("encoder_inputs", ENCODER_INPUTS), ("optimizer", OPTIMIZERS)):
    if config[key] not in valid:
      raise ValueError(f"learner.{key}={config[key]!r}; valid: {', '.join(valid)}")
  for key in ("horizon", "z_dim", "lstm_size", "num_components", "prior_samples"):
    if int(config[key]) != config[key] or config[key] < 1:
      raise ValueError(f"learner.{key} must be a positive int, got {config[key]!r}")
  groups = config.prior_groups
  if isinstance(groups, str) or not all(isinstance(g, str) for g in groups):
    raise ValueError(f"learner.prior_groups must be a tuple of observation group names, got "
                     f"{groups!r}")
  if config.beta < 0 or config.max_grad_norm < 0:
    raise ValueError(f"learner.beta and learner.max_grad_norm must be >= 0, got {config.beta}, "
                     f"{config.max_grad_norm}")


def _encoder_sees_states(config) -> bool:
  if config.encoder_inputs == "auto":
    return config.decoder == "closed_loop"
  return config.encoder_inputs == "actions_and_states"


def normalize_observation(params, obs: jax.Array) -> jax.Array:
  """`obs [..., O] -> [..., O]`: (obs - mean) / std with the stored dataset statistics, clipped
  to +-10 (an out-of-distribution state cannot blow up the networks)."""
  return normalizer_lib.normalize(params["normalizer"], obs)


def image_shape(config: ml_collections.ConfigDict) -> tuple[int, ...]:
  """(frames x planes, size, size) of the prior's image input (its conv's input channels
  first), () without one."""
  frames = int(config.get("prior_image_frames", 0))
  size = int(config.get("prior_image_size", 32))
  planes = int(config.get("prior_image_planes", 1))
  return (frames * planes, size, size) if frames else ()


def prior_input_indices(config: ml_collections.ConfigDict, observation_size: int,
                        observation_groups=None) -> np.ndarray:
  """Indices of the state entries the prior sees (`learner.prior_groups`; all when empty). With
  an image input, the groups besides "image", and none when those are empty."""
  groups = tuple(config.prior_groups)
  if image_shape(config):
    groups = tuple(g for g in groups if g != "image")
    if not groups:
      return np.zeros((0,), np.int32)
  return selected_indices(observation_groups, groups, observation_size, "learner.prior_groups")


def prior_input(params, obs: jax.Array, indices: np.ndarray) -> jax.Array:
  """`obs [..., O] -> [..., I]`: the normalised observation entries the prior sees (the state
  part: the first entries of `obs`, as many as the normaliser's)."""
  size = params["normalizer"]["mean"].shape[-1]
  return jnp.take(normalize_observation(params, obs[..., :size]), jnp.asarray(indices), axis=-1)


def make_prior_inputs(config: ml_collections.ConfigDict, observation_size: int,
                      observation_groups=None) -> tuple[Callable[[Any, jax.Array], jax.Array],
                                                        int]:
  """`(inputs(params, obs [..., O]) -> [..., I], I)`: what the prior (and a policy of its
  shape) reads from an observation of an env with these groups: the normalised state entries,
  then the env's `image` group when the prior sees an image (raw, in [0, 1])."""
  indices = prior_input_indices(config, observation_size, observation_groups)
  shape = image_shape(config)
  if not shape:
    return (lambda params, obs: prior_input(params, obs, indices)), len(indices)
  if observation_groups is None or "image" not in observation_groups:
    raise ValueError("learner.prior_image_frames > 0: the env must observe the image group "
                     "(e.g. maze image=True with the same image_size and image_frames)")
  lo, hi = observation_groups["image"]
  if hi - lo != int(np.prod(shape)):
    raise ValueError(f"the env's image group has {hi - lo} entries, the prior expects "
                     f"{shape} = {int(np.prod(shape))} (learner.prior_image_frames / _size / "
                     f"_planes)")

  def inputs(params, obs):
    return jnp.concatenate([prior_input(params, obs, indices), obs[..., lo:hi]], axis=-1)

  return inputs, len(indices) + hi - lo


def state_layout(config: ml_collections.ConfigDict, observation_size: int, observation_groups):
  """`(size, groups)` of the states the learner models: an env's observation without its
  `image` group when the prior reads views (they are rendered, not stored), else unchanged."""
  if not image_shape(config) or observation_groups is None or "image" not in observation_groups:
    return observation_size, observation_groups
  lo, hi = observation_groups["image"]
  if hi != observation_size:
    raise ValueError("the image group must come last in the observation")
  names = [name for name in observation_groups if name != "image"]
  return lo, observation_groups.subset(names)


def make_prior_network(config: ml_collections.ConfigDict) -> spirl_model.SkillPriorNetwork:
  """The skill prior as a linen module: its inputs (`make_prior_inputs`) -> distribution over
  [..., Z]. Its parameters in a SPiRL checkpoint are `prior_params(params)`."""
  return spirl_model.SkillPriorNetwork(
      z_dim=config.z_dim, hidden_sizes=tuple(config.prior_hidden), head=config.prior_head,
      num_components=config.num_components, min_scale=config.min_scale,
      image_shape=image_shape(config))


def prior_params(params) -> Any:
  """The prior network's linen params (`make_prior_network(config).apply({'params': ...})`)."""
  return params["prior"]


class SkillDecoder(NamedTuple):
  """Executes one skill in one env, step by step (vmap for many envs).

  init(params, z [Z], obs [O]) -> dstate: start skill z at observation obs;
  step(params, dstate, obs [O]) -> (action [A], dstate): the skill's next action.
  `dstate = {'z': [Z], 'step': [] int32 (actions taken), 'carry': LSTM (c, h) [lstm_size] each
  (open loop only)}`. The skill is trained for `horizon` steps; callers start a new one then
  (stepping on is defined but outside the training distribution). Actions are the decoder's
  means (unit-variance reconstruction noise is not sampled).
  """
  init: Callable[[Any, jax.Array, jax.Array], Any]
  step: Callable[[Any, Any, jax.Array], tuple[jax.Array, Any]]


class SpirlFunctions(NamedTuple):
  """The model as pure functions of the learner's `params`.

  horizon: H; z_dim: Z
  encode(params, actions [..., H, A], obs [..., H, O] | None) -> (mean, std) [..., Z]
    (obs are raw observations s_0..s_{H-1}, needed when the encoder sees states)
  decode(params, z [..., Z], obs_seq [..., H, O] | None) -> actions [..., H, A]
    (closed loop: a_t from s_t of the given states; open loop ignores them)
  prior(params, obs [..., O]) -> distrax distribution over [..., Z]
  decoder: SkillDecoder
  window_terms(params, batch, key) -> dict of [B] arrays (reconstruction, kl, prior_kl,
    action_mse) for a batch of windows (batch as in the module doc)
  """
  horizon: int
  z_dim: int
  encode: Callable
  decode: Callable
  prior: Callable
  decoder: SkillDecoder
  window_terms: Callable


def make_spirl(config: ml_collections.ConfigDict, observation_size: int, action_size: int,
               observation_stats: tuple[np.ndarray, np.ndarray] | None = None,
               observation_groups=None) -> tuple[SpirlFunctions, Callable[[jax.Array], Any]]:
  """Builds the model functions and the params initialiser.

  Args:
    config: the learner config (`default_config()` keys).
    observation_size, action_size: O and A.
    observation_stats: (mean [O], std [O]) of the dataset's observations; identity if None.
    observation_groups: the env's `ObservationGroups` (needed with `learner.prior_groups`).
      With an image prior the env's `image` group is left out: the learner models the states,
      and its prior reads the views separately (`make_prior_inputs`).

  Returns:
    (functions: SpirlFunctions, init_params: key -> params).
  """
  check_config(config)
  observation_size, observation_groups = state_layout(config, observation_size,
                                                      observation_groups)
  if observation_size < 1 or action_size < 1:
    raise ValueError(f"observation_size and action_size must be positive, got "
                     f"{observation_size}, {action_size}")
  normalizer = normalizer_lib.observation_normalizer(observation_stats, observation_size,
                                                    config.min_observation_std)
  h, z_dim = int(config.horizon), int(config.z_dim)
  with_states = _encoder_sees_states(config)
  closed_loop = config.decoder == "closed_loop"
  encoder = spirl_model.SkillEncoder(z_dim, config.lstm_size, min_scale=config.min_scale)
  if closed_loop:
    decoder_net = spirl_model.ClosedLoopDecoder(action_size, tuple(config.decoder_hidden))
  else:
    decoder_net = spirl_model.OpenLoopDecoder(action_size, config.lstm_size, h)
  prior_net = make_prior_network(config)
  prior_idx = prior_input_indices(config, observation_size, observation_groups)
  image_pixels = int(np.prod(image_shape(config))) if image_shape(config) else 0

  def check_obs(obs, what):
    if obs is None or obs.shape[-1] != observation_size:
      got = None if obs is None else obs.shape
      raise ValueError(f"SPiRL {what} needs observations [..., {observation_size}], got {got}")

  def check_actions(actions):
    if actions.ndim < 2 or actions.shape[-2:] != (h, action_size):
      raise ValueError(
          f"SPiRL expects action windows [..., H={h}, A={action_size}] (learner.horizon = "
          f"train.window), got {actions.shape}")

  def encode_normalized(params, actions, x):
    inputs = jnp.concatenate([actions, x], axis=-1) if with_states else actions
    return encoder.apply({"params": params["encoder"]}, inputs)

  def decode_normalized(params, z, x):
    if closed_loop:
      return decoder_net.apply({"params": params["decoder"]}, z[..., None, :], x)
    return decoder_net.apply({"params": params["decoder"]}, z)

  def encode(params, actions, obs=None):
    check_actions(actions)
    x = None
    if with_states:
      check_obs(obs, "encoder (encoder_inputs with states)")
      if obs.shape[-2] != h:
        raise ValueError(f"encoder states must be [..., H={h}, O], got {obs.shape}")
      x = normalize_observation(params, obs)
    return encode_normalized(params, actions, x)

  def decode(params, z, obs_seq=None):
    if z.shape[-1] != z_dim:
      raise ValueError(f"z must be [..., Z={z_dim}], got {z.shape}")
    x = None
    if closed_loop:
      check_obs(obs_seq, "closed-loop decoder")
      if obs_seq.ndim < 2 or obs_seq.shape[-2] != h:
        raise ValueError(f"the closed-loop decoder decodes from given states obs_seq "
                         f"[..., H={h}, O], got {obs_seq.shape}")
      x = normalize_observation(params, obs_seq)
    return decode_normalized(params, z, x)

  def prior(params, obs):
    check_obs(obs, "prior")
    if image_pixels:
      raise ValueError("a prior with an image input reads env observations: use "
                       "make_skill_prior with the env's observation groups")
    return prior_net.apply({"params": params["prior"]}, prior_input(params, obs, prior_idx))

  def decoder_init(params, z, obs):
    del params, obs  # the skill starts from z alone (closed loop reads obs at each step)
    dstate = {"z": z, "step": jnp.zeros((), jnp.int32)}
    if not closed_loop:
      dstate["carry"] = decoder_net.zero_carry(z.shape[:-1])
    return dstate

  def decoder_step(params, dstate, obs):
    z = dstate["z"]
    new = {"z": z, "step": dstate["step"] + 1}
    if closed_loop:
      action = decoder_net.apply({"params": params["decoder"]}, z,
                                 normalize_observation(params, obs))
    else:
      action, new["carry"] = decoder_net.apply({"params": params["decoder"]}, z, dstate["carry"],
                                               method="step")
    return action, new

  def window_terms(params, batch, key):
    actions, obs = batch["action"], batch["observation"]
    check_actions(actions)
    check_obs(obs, "learner")
    if obs.ndim != actions.ndim or obs.shape[-2] < h:
      raise ValueError(f"SPiRL windows need observations [B, H + lookahead, O] with H={h}, got "
                       f"{obs.shape} for actions {actions.shape}")
    x = normalize_observation(params, obs[..., :h, :])  # [B, H, O]
    z_key, prior_key = jax.random.split(key)
    mean, std = encode_normalized(params, actions, x if with_states else None)
    z = mean + std * jax.random.normal(z_key, mean.shape)
    predicted = decode_normalized(params, z, x if closed_loop else None)  # [B, H, A]
    prior_in = jnp.take(x[..., 0, :], jnp.asarray(prior_idx), axis=-1)
    if image_pixels:  # the views at s_0, rendered by the sampler (`make_run_sampler`)
      if "prior_image" not in batch:
        raise ValueError("learner.prior_image_frames > 0 needs batch['prior_image'] [B, "
                         f"{image_pixels}]: sample with agents.spirl.offline.make_run_sampler")
      prior_in = jnp.concatenate([prior_in, batch["prior_image"]], axis=-1)
    p = prior_net.apply({"params": params["prior"]}, prior_in)  # p(z | s_0), batch [B]
    return {
        "reconstruction": skill_vae.reconstruction_loss(predicted, actions),
        "kl": skill_vae.kl_to_standard_normal(mean, std),
        "prior_kl": skill_vae.prior_loss(mean, std, p, prior_key, config.prior_samples),
        "action_mse": jnp.mean(jnp.square(predicted - actions), axis=(-2, -1)),
    }

  def init_params(key):
    k_enc, k_dec, k_prior = jax.random.split(key, 3)
    enc_in = action_size + (observation_size if with_states else 0)
    z = jnp.zeros((1, z_dim))
    if closed_loop:
      dec_vars = decoder_net.init(k_dec, z, jnp.zeros((1, observation_size)))
    else:
      dec_vars = decoder_net.init(k_dec, z)
    return {
        "encoder": encoder.init(k_enc, jnp.zeros((1, h, enc_in)))["params"],
        "decoder": dec_vars["params"],
        "prior": prior_net.init(k_prior, jnp.zeros((1, len(prior_idx) + image_pixels))
                                )["params"],
        "normalizer": jax.tree.map(jnp.asarray, normalizer),
    }

  functions = SpirlFunctions(
      horizon=h, z_dim=z_dim, encode=encode, decode=decode, prior=prior,
      decoder=SkillDecoder(init=decoder_init, step=decoder_step), window_terms=window_terms)
  return functions, init_params


def make_skill_prior(config: ml_collections.ConfigDict, observation_size: int,
                     observation_groups=None) -> Callable[[Any, jax.Array], distrax.Distribution]:
  """`prior_fn(params, obs [O]) -> p(z | obs)`, a `MultivariateNormalDiag` or `MixtureSameFamily`
  with event shape [Z] in the unsquashed skill space (also batched: obs [..., O]).
  `observation_groups`: the env's, needed with `learner.prior_groups`."""
  check_config(config)
  network = make_prior_network(config)
  inputs, _ = make_prior_inputs(config, observation_size, observation_groups)

  def prior_fn(params, obs):
    if obs.shape[-1] != observation_size:
      raise ValueError(f"the skill prior needs observations [..., {observation_size}], got "
                       f"{obs.shape}")
    return network.apply({"params": prior_params(params)}, inputs(params, obs))

  return prior_fn


def make_skill_decoder(config: ml_collections.ConfigDict, observation_size: int,
                       action_size: int, observation_groups=None) -> SkillDecoder:
  """The step-by-step skill decoder (`SkillDecoder`) of a SPiRL model with this config."""
  functions, _ = make_spirl(config, observation_size, action_size,
                            observation_groups=observation_groups)
  return functions.decoder


def _optimizer(config) -> optax.GradientTransformation:
  """Adam (or RAdam) on the networks; the normaliser's statistics get zero updates."""
  opt = (optax.radam if config.optimizer == "radam" else optax.adam)(config.learning_rate)
  if config.max_grad_norm > 0:
    opt = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), opt)
  return normalizer_lib.freeze_normalizer(opt)


def batch_loss(functions: SpirlFunctions, config, params, batch, key):
  """The learner's loss (module doc) and its metrics, means over the batch's windows."""
  terms = {k: jnp.mean(v) for k, v in functions.window_terms(params, batch, key).items()}
  action_size = batch["action"].shape[-1]
  loss = (terms["reconstruction"] / (functions.horizon * action_size)
          + config.beta * terms["kl"] / functions.z_dim + terms["prior_kl"])
  return loss, terms


def make_learner(config: ml_collections.ConfigDict, observation_size: int, action_size: int, *,
                 observation_groups=None, observation_stats=None, lookahead: int = 0,
                 **unused) -> Learner:
  """The SPiRL skill-VAE + skill-prior learner (`Learner` protocol).

  Args:
    config: `default_config()` keys; `train.window` must be `config.horizon`.
    observation_size, action_size: O and A.
    observation_groups: the env's groups; the prior sees `config.prior_groups` of them (all when
      empty), the encoder and decoder the whole observation.
    observation_stats: (mean [O], std [O]) of the dataset's observations (normalisation).
    lookahead: `train.lookahead`; extra observations past the window are ignored.

  `update(state, batch, key)`: one optimiser step on the loss of the module doc; metrics loss,
  reconstruction, kl, prior_kl (per-window sums, batch means), action_mse, grad_norm.
  `policy` (stateful; `policy_init(key)` marks the skill as finished): whenever the current
  skill has run H steps, z ~ p(z | obs) (deterministic: the prior's mean, or its most probable
  component's mean) and the decoder executes it for the next H steps. This is the skill prior
  acting alone, what downstream RL starts from, not a task policy.
  """
  del unused
  if int(lookahead) != lookahead or lookahead < 0:
    raise ValueError(f"lookahead must be a non-negative int, got {lookahead!r}")
  functions, init_params = make_spirl(config, observation_size, action_size, observation_stats,
                                      observation_groups)
  optimizer = _optimizer(config)
  h = functions.horizon

  init, update = gradient_learner(
      init_params, lambda p, batch, key: batch_loss(functions, config, p, batch, key), optimizer)

  def policy_init(key):
    del key
    dstate = functions.decoder.init(None, jnp.zeros((functions.z_dim,)), None)
    return dict(dstate, step=jnp.asarray(h, jnp.int32))  # "finished": the first call draws z

  def policy(params, obs, key, pstate, deterministic=False):
    p = functions.prior(params, obs)
    # `where`, not `if`: `deterministic` may also be a traced bool (one compilation for both).
    z = jnp.where(deterministic, spirl_model.prior_point(p), p.sample(seed=key))
    fresh = functions.decoder.init(params, z, obs)
    new_skill = pstate["step"] >= h
    dstate = jax.tree_util.tree_map(lambda a, b: jnp.where(new_skill, a, b), fresh, pstate)
    return functions.decoder.step(params, dstate, obs)

  if image_shape(config):  # its prior reads views of the env, not the data's compact states
    return Learner(init=init, update=update, model=functions)
  return Learner(init=init, update=update, policy=policy, policy_init=policy_init,
                 model=functions)


def make_run_sampler(config: ml_collections.ConfigDict, dataset, env):
  """The `OfflineLearner.make_sampler` of SPiRL: windows of `train.window` steps; with an image
  prior, also `prior_image [B, F * P * S * S]` (P planes per view): the stacked local views at
  each window's first step (frames newest first; before an episode's start the first frame
  repeats, as the env resets), rendered from the stored positions and the episode's walls
  (`episode/walls`) by the env's `local_views` (the maze), so the dataset stores no images. A
  trailing camera (the maze's `camera_follow` < 1) is placed by the env's `cameras_from_past`
  over each frame's past positions in its episode, where the env's recursion would have placed
  it. With the maze's `image_goal` each episode's goal is recomputed once from its first
  position (the maze's episodes are a function of it: `goal_from_start`)."""
  sampler = data_lib.WindowSampler(dataset, config.train.window, config.train.lookahead)
  sample_fn, data = sampler.loop_sample_fn(config.train.batch_size)
  shape = image_shape(config.learner)
  if not shape:
    return sample_fn, data
  frames, size = int(config.learner.prior_image_frames), int(config.learner.prior_image_size)
  if "episode/walls" not in dataset.fields or not hasattr(env, "local_views"):
    raise ValueError("learner.prior_image_frames > 0 needs an env that renders local views "
                     "(maze) and a dataset with episode/walls (generate it with this code)")
  planes = getattr(env, "image_planes", 1)
  if planes != int(config.learner.prior_image_planes):
    raise ValueError(f"learner.prior_image_planes={config.learner.prior_image_planes}, but the "
                     f"env draws {planes} plane(s) per view (env.kwargs image_agent, "
                     f"image_goal)")
  history = int(getattr(env, "camera_history", 1))  # past positions per view centre
  obs_offsets = jnp.asarray(offsets_from_lengths(np.asarray(dataset.episode_length) + 1)[0],
                            jnp.int32)
  render = jax.vmap(lambda positions, walls, cameras, goal: env.local_views(
      positions, walls, size, cameras, goal))
  goals = jnp.zeros((len(obs_offsets), 2), jnp.float32)
  if getattr(env, "image_goal", False):  # the maze derives each episode's goal from its start
    starts = data[0]["observation"][obs_offsets][:, :2]
    goals = jax.jit(lambda s: jax.lax.map(env.goal_from_start, s, batch_size=1024))(starts)

  def sample(data, key):
    window_data, offsets, goals = data  # (arrays, window table), episode starts, goals
    batch = sample_fn(window_data, key)
    back = jnp.arange(frames)[:, None] + jnp.arange(history)[None, :]  # [F, M + 1]
    steps = jnp.maximum(batch["window_start"][:, None, None] - back, 0)  # [B, F, M + 1]
    flat = offsets[batch["episode_index"]][:, None, None] + steps
    past = window_data[0]["observation"][flat][..., :2]  # [B, F, M + 1, 2]
    cameras = env.cameras_from_past(past) if history > 1 else past[..., 0, :]
    return {**batch, "prior_image": render(past[..., 0, :], batch["episode/walls"], cameras,
                                           goals[batch["episode_index"]])}

  return sample, (data, obs_offsets, goals)

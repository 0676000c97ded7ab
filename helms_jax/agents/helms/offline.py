"""HeLMS offline learning: the hierarchical mixture model fit by the forward-filtered ELBO.

Composition: `model.HelmsModel` (networks) + `losses.mixture_elbo_terms` (the loss kernel) +
`training.train_state.gradient_learner`. Batches are dataset windows (`data.WindowSampler` with
`lookahead` = the high level's look-ahead): `observation [B, W + L, obs]`, `obs_mask [B, W + L]`,
`action [B, W, act]`.

Information asymmetry is configured by observation-group names (`envs.ObservationGroups`): the
high level sees `high_level_groups` at steps t..t+L, the mid level `mid_level_groups` at t, the
low level `low_level_groups` at t. Observations are normalised by dataset statistics stored in
the parameters (`params['normalizer']`, never trained), so a checkpoint is self-contained.

Component modes (`config.components`):
  mixture          K skills, each a Gaussian over z (the HeLMS model);
  discrete_only    zero-variance components: z is the component mean, no KL on z;
  continuous_only  one component (K = 1): the NPMP+KL skill space used as a baseline.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from helms_jax import losses
from helms_jax.agents.helms.model import COMPONENT_MODES, HelmsModel
from helms_jax.data.sampler import lookahead_frames
from helms_jax.losses.kl import kl_to_standard_normal
from helms_jax.envs.base import ObservationGroups, selected_indices
from helms_jax.training import normalizer as normalizer_lib
from helms_jax.training.train_state import Learner, gradient_learner



def default_config() -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(dict(
      name="helms",
      num_skills=5,
      latent_size=8,
      components="mixture",
      beta_y=0.1,
      beta_z=0.01,
      high_level_hidden=(256, 256),
      mid_level_hidden=(256, 256),
      low_level_hidden=(256, 256),
      high_level_groups=("proprio", "objects"),
      mid_level_groups=("proprio", "objects"),
      low_level_groups=("proprio",),
      # The transition prior starts uniform: the paper reports temporal consistency emerging
      # "without explicit encouragement". A positive value biases it towards staying in a skill
      # (logit bonus; 2.0 gives K = 5 a 0.65 stay probability before training), an option kept
      # for comparison.
      prior_init_stay=0.0,
      filter_method="sequential",
      learning_rate=3e-4,
      max_grad_norm=10.0,
      min_observation_std=1e-2,
  ))


def check_config(config: ml_collections.ConfigDict) -> None:
  if config.components not in COMPONENT_MODES:
    raise ValueError(f"learner.components={config.components!r}; valid: "
                     f"{', '.join(COMPONENT_MODES)}")
  if config.components == "continuous_only" and config.num_skills != 1:
    raise ValueError(f"learner.components='continuous_only' is the single-component (NPMP+KL) "
                     f"model: set learner.num_skills=1 (got {config.num_skills})")
  if config.num_skills < 1 or config.latent_size < 1:
    raise ValueError(f"learner.num_skills and learner.latent_size must be >= 1, got "
                     f"{config.num_skills}, {config.latent_size}")
  if config.filter_method not in losses.FILTER_METHODS:
    raise ValueError(f"learner.filter_method={config.filter_method!r}; valid: "
                     f"{', '.join(losses.FILTER_METHODS)}")


class HelmsFunctions(NamedTuple):
  """The model as pure functions of `params` (the learner's `state.params`).

  num_skills: K; lookahead: L (future observations the high level sees)
  normalize(params, obs [..., obs]) -> [..., obs] (dataset statistics, clipped to +-10)
  log_q_trans(params, obs [W + L, obs], obs_mask [W + L]) -> [W, K, K]
  components(params, obs [..., obs]) -> (mean, scale) [..., K, Z] (scale 0 for discrete_only)
  action_distribution(params, z [..., Z], obs [..., obs]) -> distrax over [..., A]
  log_transition_prior(params) -> [K, K]
  elbo_terms(params, window, key) -> (losses.ElboTerms, action_mse [])  (one window)
  """
  model: HelmsModel
  num_skills: int
  lookahead: int
  normalize: Any
  log_q_trans: Any
  components: Any
  action_distribution: Any
  log_transition_prior: Any
  elbo_terms: Any


def make_helms(config: ml_collections.ConfigDict, observation_size: int, action_size: int,
               observation_groups: ObservationGroups | None,
               observation_stats: tuple[np.ndarray, np.ndarray] | None = None,
               lookahead: int = 1, model_cls: type[HelmsModel] = HelmsModel):
  """Builds the model functions and the params initialiser.

  Args:
    config: the learner config (`default_config()` keys).
    observation_size, action_size: flat sizes.
    observation_groups: the env's groups; the config's `*_groups` names select from them.
    observation_stats: (mean [obs], std [obs]) of the dataset's observations; identity if None.
    lookahead: L, future observations the high level sees (`train.lookahead` of the sampler).
    model_cls: `HelmsModel` or a subclass with the same methods (e.g. another mid level).

  Returns:
    (functions: HelmsFunctions, init_params: key -> params).
  """
  check_config(config)
  hl_idx, ml_idx, ll_idx = (
      selected_indices(observation_groups, config[f"{level}_groups"], observation_size,
                       f"learner.{level}_groups")
      for level in ("high_level", "mid_level", "low_level"))
  normalizer = normalizer_lib.observation_normalizer(observation_stats, observation_size,
                                                    config.min_observation_std)
  k, discrete = config.num_skills, config.components == "discrete_only"
  model = model_cls(num_skills=k, latent_size=config.latent_size, action_size=action_size,
                     high_level_hidden=tuple(config.high_level_hidden),
                     mid_level_hidden=tuple(config.mid_level_hidden),
                     low_level_hidden=tuple(config.low_level_hidden),
                     prior_init_stay=config.prior_init_stay)

  def normalize(params, obs):
    return normalizer_lib.normalize(params["normalizer"], obs)

  lookahead = int(lookahead)
  if lookahead < 0:
    raise ValueError(f"lookahead must be >= 0, got {lookahead}")

  def high_level_inputs(params, obs, obs_mask):
    """Look-ahead frames t..t+L of the high-level groups, masked, flattened: [W, (L+1)(D+1)]."""
    return lookahead_frames(normalize(params, obs)[:, hl_idx], obs_mask, lookahead)

  def log_q_trans(params, obs, obs_mask):
    x_hl = high_level_inputs(params, obs, obs_mask)
    return model.apply({"params": params["model"]}, x_hl, method="high_level")

  def components(params, obs):
    mean, scale = model.apply({"params": params["model"]}, normalize(params, obs)[..., ml_idx],
                              method="mid_level")
    if discrete:
      scale = jnp.zeros_like(scale)
    return mean, scale

  def action_distribution(params, z, obs):
    return model.apply({"params": params["model"]}, z, normalize(params, obs)[..., ll_idx],
                       method="low_level")

  def log_transition_prior(params):
    return model.apply({"params": params["model"]}, method="log_transition_prior")

  def elbo_terms(params, window, key):
    """One window: observation [W+L, obs], obs_mask [W+L], action [W, A]."""
    action = window["action"]
    w = action.shape[0]
    if window["observation"].shape[0] != w + lookahead:
      raise ValueError(
          f"HeLMS expects windows with W + lookahead = {w} + {lookahead} observations (sampler "
          f"lookahead = learner lookahead), got observation {window['observation'].shape}")
    obs_now = window["observation"][:w]
    log_q = log_q_trans(params, window["observation"], window["obs_mask"])  # [W, K, K]
    mean, scale = components(params, obs_now)  # [W, K, Z]
    z = mean + scale * jax.random.normal(key, mean.shape)
    dist = action_distribution(params, z, obs_now[:, None, :])  # over [W, K, A]
    action_log_prob = dist.log_prob(action[:, None, :])  # [W, K]
    kl_z = (jnp.zeros(mean.shape[:-1]) if discrete else kl_to_standard_normal(mean, scale))
    terms = losses.mixture_elbo_terms(
        log_q, log_transition_prior(params), action_log_prob, kl_z, beta_y=config.beta_y,
        beta_z=config.beta_z, filter_method=config.filter_method)
    # Squared error of the posterior-weighted component means (an interpretable fit metric).
    mixture_mean = jnp.einsum("wk,wka->wa", terms.filtered, dist.mean())
    return terms, jnp.mean(jnp.square(mixture_mean - action))

  def init_params(key):
    x_hl = jnp.zeros((1, (lookahead + 1) * (len(hl_idx) + 1)))
    variables = model.init(key, x_hl, jnp.zeros((1, len(ml_idx))), jnp.zeros((1, len(ll_idx))))
    return {"model": variables["params"],
            "normalizer": jax.tree.map(jnp.asarray, normalizer)}

  functions = HelmsFunctions(
      model=model, num_skills=k, lookahead=lookahead, normalize=normalize,
      log_q_trans=log_q_trans, components=components, action_distribution=action_distribution,
      log_transition_prior=log_transition_prior, elbo_terms=elbo_terms)
  return functions, init_params


def _entropy(p: jax.Array) -> jax.Array:
  return -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0), axis=-1)


def batch_loss(functions: HelmsFunctions, params, batch, key):
  """Negative ELBO per step, averaged over the batch; and metrics. Batch as in the module doc."""
  b, w = batch["action"].shape[:2]
  windows = {"observation": batch["observation"], "obs_mask": batch["obs_mask"],
             "action": batch["action"]}
  terms, action_mse = jax.vmap(functions.elbo_terms, in_axes=(None, 0, 0))(
      params, windows, jax.random.split(key, b))
  elbo_per_step = jnp.mean(terms.elbo) / w
  usage = jnp.mean(terms.filtered, axis=(0, 1))  # [K]
  log_p = functions.log_transition_prior(params)
  k = functions.num_skills
  metrics = {
      "elbo": elbo_per_step,
      "reconstruction": jnp.mean(terms.reconstruction),
      "kl_y": jnp.mean(terms.kl_y),
      "kl_z": jnp.mean(terms.kl_z),
      "action_mse": jnp.mean(action_mse),
      "skill_usage_entropy": _entropy(usage),
      "posterior_entropy": jnp.mean(_entropy(terms.filtered)),
      "prior_diagonal_mass": jnp.trace(jnp.exp(log_p)) / k,
  }
  return -elbo_per_step, metrics


def make_learner(config: ml_collections.ConfigDict, observation_size: int, action_size: int, *,
                 observation_groups: ObservationGroups | None = None,
                 observation_stats=None, lookahead: int = 1,
                 model_cls: type[HelmsModel] = HelmsModel) -> Learner:
  """The HeLMS offline learner (`Learner` protocol; arguments as in `make_helms`).

  `update(state, batch, key)`: one Adam step on the negative ELBO per step.
  `policy` (stateful, `policy_init(key)` draws y_0 uniformly): each step draws
  y_t ~ p(y_t | y_{t-1}) from the learned prior, z_t from skill y_t's mid-level component and
  the action from the low level; deterministic = argmax skill, means. This is the offline
  skill prior acting alone (what transfer starts from), not a task policy.
  """
  functions, init_params = make_helms(config, observation_size, action_size, observation_groups,
                                      observation_stats, lookahead, model_cls)
  # Adam on the model; the normaliser's dataset statistics are constants (zero updates).
  init, update = gradient_learner(
      init_params, lambda p, batch, key: batch_loss(functions, p, batch, key),
      normalizer_lib.clipped_adam(config))

  def policy_init(key):
    return {"skill": jax.random.randint(key, (), 0, functions.num_skills)}

  def policy(params, obs, key, pstate, deterministic=False):
    skill_key, action_key = jax.random.split(key)
    logits = functions.log_transition_prior(params)[pstate["skill"]]
    skill = (jnp.argmax(logits) if deterministic else
             jax.random.categorical(skill_key, logits)).astype(jnp.int32)
    action = skill_action(functions, params, obs, action_key, skill, deterministic)
    return action, {"skill": skill}

  return Learner(init=init, update=update, policy=policy, policy_init=policy_init,
                 model=functions)


def skill_action(functions: HelmsFunctions, params, obs: jax.Array, key: jax.Array,
                 skill: jax.Array, deterministic: bool = False) -> jax.Array:
  """Action of skill `skill` (int []) through mid and low level: obs [obs] -> action [A]."""
  z_key, a_key = jax.random.split(key)
  mean, scale = functions.components(params, obs)  # [K, Z]
  z = mean[skill] if deterministic else (
      mean[skill] + scale[skill] * jax.random.normal(z_key, mean.shape[-1:]))
  dist = functions.action_distribution(params, z, obs)
  return dist.mean() if deterministic else dist.sample(seed=a_key)


def infer_skills(functions: HelmsFunctions, params, batch) -> jax.Array:
  """q(y_t | x_{1:t}) for a batch of windows: `[B, W, K]` (the posterior's skill marginals)."""
  def one(obs, obs_mask):
    return losses.forward_filter(functions.log_q_trans(params, obs, obs_mask))

  return jax.vmap(one)(batch["observation"], batch["obs_mask"])

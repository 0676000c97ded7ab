"""HeLMS downstream: the action spaces that MPO (`agents.mpo`) learns in on a new task, built from
offline skills, and the paper's MPO-based baselines; one `Method` record each (`METHODS` in
`agents/helms/__init__.py`).

  mpo        MPO from scratch on the env's actions (Gaussian policy).
  bc_mpo     the same policy initialised from an offline BC checkpoint, then MPO.
  helms_cat  HeLMS-cat: a new categorical pi(y | x) over the K frozen skills; the action is the
             frozen low level on z ~ q(z | y, x) from the frozen mid level; KL to a uniform prior
             (equation 4, eta_y), or to the offline prior's stationary marginal.
  helms_mix  HeLMS-mix: a mixture pi(z | x) = sum_y pi(y | x) pi(z | y, x) whose components start
             as the offline q(z | y, x) and are KL-regularised to them (equation 5, eta_y, eta_z);
             actions through the frozen low level. With a continuous-only skill model (K = 1) it
             is the paper's continuous-only ablation (NPMP + KL itself is `agents/npmp`).
             With `transfer.vision`, its weights and components read camera pixels +
             proprioception (new networks) while the KL still targets the state-based skills.
  asymmetric_ac  the vision baseline: a Gaussian policy on pixels + proprioception, the critic
             on the full state (needs `transfer.vision`).
  mpo_pixels MPO from pixels: the same policy, and a critic on pixels + proprioception too (its
             own image encoder; needs `transfer.vision`).
  hier_bc    hierarchical BC (`agents.baselines.hier_bc`) fine-tuned as a whole: MPO on the joint
             (z, a) of its latent Gaussian high level and its low level, both initialised from
             the checkpoint and both trained (no KL regulariser).

Vision (`transfer.vision=True`, env kwarg `image=True`): the agent observes
`{"state": obs, "image": info['image']}`; policies read `image` and the `proprio` group, the
critic (except mpo_pixels'), priors and the frozen low level read `state`.

Each method's `make_agent(config, env, skills)` builds its space from the restored offline
checkpoint (`agents.records.OfflineSkills`; None for the methods that learn from scratch) and
returns MPO over it.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from helms_jax.agents import mpo, spaces
from helms_jax.agents.baselines.bc import GaussianPolicy
from helms_jax.agents.records import OfflineSkills
from helms_jax.agents.spaces import ActionSpace
from helms_jax.networks import GaussianComponents, ImageEncoder, MLP, PixelContinuousCritic
from helms_jax.training.normalizer import check_observation_size
from helms_jax.training.online_loop import OnlineConfig

CATEGORICAL_PRIORS = ("uniform", "stationary")


class SkillWeights(nn.Module):
  """pi(y | x): `obs [B, O] -> logits [B, K]`; the last layer starts at zero (uniform policy)."""
  hidden_sizes: tuple[int, ...]
  num_skills: int

  @nn.compact
  def __call__(self, x):
    x = MLP(self.hidden_sizes, activate_final=True, layer_norm=True)(x)
    return nn.Dense(self.num_skills, kernel_init=nn.initializers.zeros)(x)


def raw_action_space(observation_size: int, action_size: int, hidden_sizes,
                     init_params: Any = None) -> ActionSpace:
  """A Gaussian policy on env actions (the BC network, so BC parameters load unchanged)."""
  network = GaussianPolicy(action_size, tuple(hidden_sizes))

  def init_policy(key):
    if init_params is not None:
      return init_params
    return network.init(key, jnp.zeros((1, observation_size)))

  def policy(params, frozen, obs):
    del frozen
    dist = network.apply(params, obs)
    mean, std = dist.mean(), dist.stddev()
    return jnp.zeros(mean.shape[:-1] + (1,)), mean[..., None, :], std[..., None, :]

  def decode(frozen, obs, u, key, deterministic):
    del frozen, obs, key, deterministic
    return u  # envs clip to their action range

  return ActionSpace(kind="mixture", size=action_size, init_policy=init_policy, policy=policy,
                     decode=decode, prior=None)


class PixelMixturePolicy(nn.Module):
  """Camera image + proprioception -> a mixture of K diagonal Gaussians over [E].

  `image [B, H, W, C], proprio [B, P] -> (logits [B, K], means [B, K, E], stds [B, K, E])`;
  K = 1 is a Gaussian (logits fixed at 0).
  """
  num_components: int
  event_size: int
  hidden_sizes: tuple[int, ...]

  @nn.compact
  def __call__(self, image, proprio):
    x = jnp.concatenate([ImageEncoder(name="encoder")(image), proprio], axis=-1)
    means, stds = GaussianComponents(self.num_components, self.event_size, self.hidden_sizes,
                                     init_scale=0.5, name="components")(x)
    if self.num_components == 1:
      logits = jnp.zeros(means.shape[:-1])
    else:
      logits = SkillWeights(self.hidden_sizes, self.num_components, name="weights")(x)
    return logits, means, stds


def vision_observation(env):
  """(observe, observation_spec) of a vision agent on `env` (built with `image=True`)."""
  size = getattr(env, "image_size", None)
  base = env
  while size is None and hasattr(base, "env"):
    base = base.env
    size = getattr(base, "image_size", None)
  if not getattr(base, "image", False):
    raise ValueError("transfer.vision needs an env that renders images: set "
                     "transfer.env_kwargs.image=True (stacking)")
  spec = {"state": jax.ShapeDtypeStruct((env.observation_size,), jnp.float32),
          "image": jax.ShapeDtypeStruct((size, size, 4), jnp.uint8)}
  return (lambda state: {"state": state.obs, "image": state.info["image"]}), spec


def pixel_mixture_space(env, num_components: int, event_size: int, hidden_sizes,
                        decode, prior, frozen=(), pixel_critic: bool = False) -> ActionSpace:
  """A mixture policy on pixels + proprio; the critic (and `prior`, `decode`) see the state, or
  with `pixel_critic` the critic sees pixels + proprio as the policy does."""
  observe, spec = vision_observation(env)
  lo, hi = env.observation_groups["proprio"]
  network = PixelMixturePolicy(num_components, event_size, tuple(hidden_sizes))

  def init_policy(key):
    return network.init(key, jnp.zeros((1,) + spec["image"].shape, jnp.uint8),
                        jnp.zeros((1, hi - lo)))

  def policy(params, frozen, obs):
    del frozen
    means_logits = network.apply(params, obs["image"], obs["state"][..., lo:hi])
    logits, means, stds = means_logits
    return logits, means, stds

  if pixel_critic:
    critic_input = lambda obs: obs
    critic = lambda hidden: PixelContinuousCritic(tuple(hidden), (lo, hi))
  else:
    critic_input, critic = (lambda obs: obs["state"]), None
  return ActionSpace(kind="mixture", size=event_size, init_policy=init_policy, policy=policy,
                     decode=decode, prior=prior, frozen=frozen, observe=observe,
                     observation_spec=spec, critic_input=critic_input, critic=critic)


def _low_level_action(functions, params, obs, z, key, sample: bool):
  dist = functions.action_distribution(params, z, obs)
  return dist.sample(seed=key) if sample else dist.mean()


def helms_categorical_space(transfer: ml_collections.ConfigDict, functions, params
                            ) -> ActionSpace:
  """HeLMS-cat: u = y in [0, K); z ~ q(z | y, x) (frozen mid level), a from the frozen low level."""
  k = functions.num_skills
  weights = SkillWeights(tuple(transfer.policy_hidden), k)
  if transfer.categorical_prior not in CATEGORICAL_PRIORS:
    raise ValueError(f"transfer.categorical_prior={transfer.categorical_prior!r}; valid: "
                     f"{CATEGORICAL_PRIORS}")
  sample_z, sample_a = bool(transfer.sample_latent), bool(transfer.sample_low_level)

  def init_policy(key):
    return weights.init(key, jnp.zeros((1, params["normalizer"]["mean"].shape[-1])))

  def policy(policy_params, frozen, obs):
    return weights.apply(policy_params, functions.normalize(frozen, obs))

  def decode(frozen, obs, y, key, deterministic):
    z_key, a_key = jax.random.split(key)
    mean, scale = functions.components(frozen, obs)  # [N, K, Z]
    pick = lambda x: jnp.take_along_axis(x, y[:, None, None], axis=1)[:, 0]
    z = pick(mean)
    if sample_z and not deterministic:
      z = z + pick(scale) * jax.random.normal(z_key, z.shape)
    return _low_level_action(functions, frozen, obs, z, a_key, sample_a and not deterministic)

  def prior(frozen, obs):
    if transfer.categorical_prior == "uniform":
      return jnp.zeros(obs.shape[:-1] + (k,))
    # The stationary distribution of the learned transition prior (a skill-usage prior).
    trans = jnp.exp(functions.log_transition_prior(frozen))
    stationary = jnp.linalg.matrix_power(trans.T, 64) @ jnp.full((k,), 1.0 / k)
    return jnp.broadcast_to(jnp.log(stationary + 1e-8), obs.shape[:-1] + (k,))

  return ActionSpace(kind="categorical", size=k, init_policy=init_policy, policy=policy,
                     decode=decode, prior=prior, frozen=params)


def helms_mixture_space(transfer: ml_collections.ConfigDict, learner: ml_collections.ConfigDict,
                        functions, params) -> ActionSpace:
  """HeLMS-mix: u = z; components start as (and are regularised to) the offline q(z | y, x)."""
  if learner.components == "discrete_only":
    raise ValueError("transfer.method='helms_mix' needs Gaussian skill components; the offline "
                     "model is discrete_only (zero-variance z): use helms_cat")
  k = functions.num_skills
  weights = SkillWeights(tuple(transfer.policy_hidden), k)
  sample_a = bool(transfer.sample_low_level)
  min_std = float(transfer.min_latent_std)

  def with_mid(frozen, mid):
    return {**frozen, "model": {**frozen["model"], "mid": mid}}

  def init_policy(key):
    obs_size = params["normalizer"]["mean"].shape[-1]
    return {"mid": params["model"]["mid"],  # the offline skills, copied (then trained)
            "weights": weights.init(key, jnp.zeros((1, obs_size)))}

  def policy(policy_params, frozen, obs):
    means, stds = functions.components(with_mid(frozen, policy_params["mid"]), obs)
    logits = weights.apply(policy_params["weights"], functions.normalize(frozen, obs))
    return logits, means, jnp.maximum(stds, min_std)

  def decode(frozen, obs, z, key, deterministic):
    return _low_level_action(functions, frozen, obs, z, key, sample_a and not deterministic)

  def prior(frozen, obs):
    means, stds = functions.components(frozen, obs)
    return jnp.zeros(obs.shape[:-1] + (k,)), means, jnp.maximum(stds, min_std)

  return ActionSpace(kind="mixture", size=learner.latent_size, init_policy=init_policy,
                     policy=policy, decode=decode, prior=prior, frozen=params)


def hier_bc_space(config: ml_collections.ConfigDict, env, skills: OfflineSkills) -> ActionSpace:
  """Hierarchical BC fine-tuned: pi(z | x) and p(a | z, x) from the checkpoint, all trained."""
  _no_vision(config)
  check_observation_size(skills.params, env.observation_size)
  functions, params = skills.learner.model, skills.params
  z_size = functions.latent_size

  def with_model(frozen, model):
    return {**frozen, "model": model}

  def init_policy(key):
    del key
    return params["model"]  # the whole offline model, copied (then trained)

  def policy(policy_params, frozen, obs):
    return functions.latent(with_model(frozen, policy_params), obs)

  def low_level(policy_params, frozen, obs, z):
    dist = functions.action_distribution(with_model(frozen, policy_params), z, obs)
    return dist.mean(), dist.stddev()

  def decode(frozen, obs, u, key, deterministic):
    del frozen, obs, key, deterministic
    return u[..., z_size:]  # envs clip to their action range

  return ActionSpace(kind="latent_gaussian", size=z_size + env.action_size,
                     init_policy=init_policy, policy=policy, decode=decode, prior=None,
                     frozen={"normalizer": params["normalizer"]}, low_level=low_level)


def _no_vision(config: ml_collections.ConfigDict) -> None:
  if config.transfer.get("vision", False):
    raise ValueError(f"transfer.vision supports methods 'asymmetric_ac', 'mpo_pixels' and "
                     f"'helms_mix', not "
                     f"{config.transfer.method!r}")


def mpo_space(config: ml_collections.ConfigDict, env, skills: None) -> ActionSpace:
  """MPO from scratch: a Gaussian policy on the env's actions."""
  del skills
  _no_vision(config)
  return raw_action_space(env.observation_size, env.action_size, config.transfer.policy_hidden)


def bc_mpo_space(config: ml_collections.ConfigDict, env, skills: OfflineSkills) -> ActionSpace:
  """BC + MPO: the same policy, initialised from the BC checkpoint."""
  _no_vision(config)
  return raw_action_space(env.observation_size, env.action_size, skills.config.hidden_sizes,
                          init_params=skills.params)


def helms_cat_space(config: ml_collections.ConfigDict, env, skills: OfflineSkills
                    ) -> ActionSpace:
  """HeLMS-cat over the frozen skills of the checkpoint."""
  _no_vision(config)
  check_observation_size(skills.params, env.observation_size)
  return helms_categorical_space(config.transfer, skills.learner.model, skills.params)


def helms_mix_space(config: ml_collections.ConfigDict, env, skills: OfflineSkills
                    ) -> ActionSpace:
  """HeLMS-mix (NPMP + KL with K = 1; from pixels with `transfer.vision`). With
  `transfer.cache_prior` (state-based only) the frozen prior's components are stored with each
  observation (`spaces.with_cached_prior`): same learning, fewer network passes per update."""
  check_observation_size(skills.params, env.observation_size)
  functions = skills.learner.model
  if config.transfer.get("vision", False):
    return helms_mixture_vision_space(env, config.transfer, skills.config, functions,
                                      skills.params)
  space = helms_mixture_space(config.transfer, skills.config, functions, skills.params)
  if config.transfer.get("cache_prior", False):  # the frozen q(z | y, x) kept in the replay
    space = spaces.with_cached_prior(space, env.observation_size)
  return space


def _pixel_gaussian_space(method: str, pixel_critic: bool):
  """A Gaussian policy on pixels + proprio over the env's actions, its critic on the state
  (`asymmetric_ac`) or on pixels + proprio too (`mpo_pixels`): `(config, env, None) -> space`."""

  def make_space(config: ml_collections.ConfigDict, env, skills: None) -> ActionSpace:
    del skills
    if not config.transfer.get("vision", False):
      raise ValueError(f"transfer.method={method!r} learns from pixels: set "
                       f"transfer.vision=True (and transfer.env_kwargs.image=True)")
    return pixel_mixture_space(env, 1, env.action_size, config.transfer.policy_hidden,
                               decode=lambda frozen, obs, u, key, det: u, prior=None,
                               pixel_critic=pixel_critic)

  return make_space


# The vision baselines: the asymmetric actor-critic (state critic) and MPO from pixels.
asymmetric_ac_space = _pixel_gaussian_space("asymmetric_ac", pixel_critic=False)
mpo_pixels_space = _pixel_gaussian_space("mpo_pixels", pixel_critic=True)


def mpo_agent(make_space):
  """A `Method.make_agent`: MPO (`config.transfer.agent`) over the space `make_space` builds."""

  def make_agent(config: ml_collections.ConfigDict, env, skills: OfflineSkills | None):
    space = make_space(config, env, skills)
    return mpo.make_agent(config.transfer.agent, space, env.observation_size), env

  return make_agent


def helms_mixture_vision_space(env, transfer, learner, functions, params) -> ActionSpace:
  """HeLMS-mix from pixels: new pixel networks for pi(y|x) and pi(z|y,x), KL-regularised to the
  state-based offline skills q(z|y,x_state); actions through the frozen (proprio) low level."""
  state_space = helms_mixture_space(transfer, learner, functions, params)
  return pixel_mixture_space(
      env, functions.num_skills, learner.latent_size, transfer.policy_hidden,
      decode=lambda frozen, obs, z, key, det: state_space.decode(frozen, obs["state"], z, key,
                                                                 det),
      prior=lambda frozen, obs: state_space.prior(frozen, obs["state"]), frozen=params)


def default_config() -> ml_collections.ConfigDict:
  """The `transfer` config section (agent hyperparameters under `transfer.agent`)."""
  loop = OnlineConfig()
  return ml_collections.ConfigDict(dict(
      method="helms_cat",
      label="",  # the name in reports ('' = from the method)
      skills_dir="",  # workdir of the offline skills ('' = this workdir)
      skills_name="default",  # the skill config's name (a subdir of exploration.skills_root)
      env_kwargs={},  # overrides of env.kwargs for the transfer task (e.g. reward, object_set)
      seeds=(0, 1, 2),
      policy_hidden=(256, 256),
      categorical_prior="uniform",
      sample_latent=True,  # HeLMS-cat: z ~ q(z|y,x) (else its mean)
      sample_low_level=False,  # actions = the low level's mean (else a sample)
      min_latent_std=1e-2,
      vision=False,  # policies see camera pixels + proprio (needs env_kwargs image=True)
      agent=mpo.default_config(),
      # (precision is the run's one switch, `config.precision`, not a loop setting)
      loop={f: getattr(loop, f) for f in loop.__dataclass_fields__ if f != "precision"},
  ))

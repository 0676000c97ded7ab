"""SAC regularised towards a prior (SPiRL, Pertsch et al. 2020, Algorithm 1) or by its entropy.

An `OnlineAgent` over a `spaces.ActionSpace` of kind "gaussian": the policy pi(u | s) is a diagonal
Gaussian over a pre-squash variable u [D] (a skill latent z, or raw actions), the agent acts with
the squashed a = bound * tanh(u), the replay stores a, and `space.decode` maps a to the env action
(through frozen skills, or the identity). Twin critics Q_i(s, a) (one `ContinuousCritic` with
stacked parameters, vmapped) learn soft n-step targets with Polyak-averaged target critics.

The regulariser d(s) (`losses.sac`):
  "prior"    KL(pi(u | s) || p(u | s)) on the pre-squash u, where the prior lives (SPiRL's
             `LearnedPriorAugmentedPolicy` computes it on the policy's pre-tanh Gaussian too):
             `losses.skill_vae.kl_to_prior`, analytic for a `distrax.MultivariateNormalDiag`
             prior, a reparameterised Monte-Carlo estimate with `kl_samples` draws for a
             `MixtureSameFamily` prior.
  "entropy"  log pi(a | s) of the squashed action (plain SAC), for spaces without a prior.
With `divergence_per_dimension` (default, SPiRL's code) the KL is averaged over the D latent
dimensions instead of summed: `LearnedPriorAugmentedPolicy._analytic_divergence` returns
`kl_divergence(prior).mean(dim=-1)` of per-dimension KLs, so the paper's delta (1 for the maze,
5 for stacking) bounds the mean per-dimension KL, i.e. a total KL of D * delta. (spirl's
Monte-Carlo KL for mixture priors is a sum; here both estimates are averaged, so delta means the
same for every prior.)
The temperature alpha is learned by the dual of E[d(s)] <= target (target_divergence, or
-target_entropy) unless `fixed_alpha` is set. As in SPiRL's `SACAgent.update`, alpha is updated
first and the new alpha weighs the policy loss and the critic target; every gradient is taken at
the parameters of the start of the update.

Behaviour: u ~ pi(. | s); with `prior_sampling_start` = omega_0 > 0, u is drawn from the prior
instead with probability omega = omega_0 max(0, 1 - updates / prior_sampling_decay_updates) per
env step (SPiRL's `RandActScheduledActionPriorSACAgent`, for policies not initialised from the
prior). Deterministic acting is a = bound * tanh(mean).

Hyperparameters that are data (the divergence target, whether alpha learns, the omega schedule,
the initial alpha) live in the agent state, so agents differing only in them share compilations.
"""

from __future__ import annotations

import math
from typing import Any

import distrax
import flax
import jax
import jax.numpy as jnp
import ml_collections
import optax

from helms_jax.agents.spaces import ActionSpace
from helms_jax.losses import sac as sac_lib
from helms_jax.losses import skill_vae
from helms_jax.losses.returns import n_step_bootstrap
from helms_jax.networks.critics import ContinuousCritic
from helms_jax.training.train_state import OnlineAgent, Transition

REGULARIZERS = ("auto", "prior", "entropy")


def default_config() -> ml_collections.ConfigDict:
  """The `transfer.agent` section for SAC (SPiRL's values; sources in the comments).

  Reference files are clvrai/spirl `spirl/rl/agents/ac_agent.py` (SACAgent),
  `spirl/rl/components/agent.py` (BaseAgent), `spirl/rl/agents/prior_sac_agent.py` and
  `spirl/configs/hrl/{maze,kitchen}/{base_conf,spirl/conf}.py`.
  """
  return ml_collections.ConfigDict(dict(
      discount=0.99,  # BaseAgent discount_factor
      critic_hidden=(256, 256),  # maze base_conf hl_critic_params: n_layers=2, nz_mid=256
      policy_learning_rate=3e-4,  # ACAgent policy_lr
      critic_learning_rate=3e-4,  # SACAgent critic_lr
      alpha_learning_rate=3e-4,  # SACAgent alpha_lr
      tau=0.005,  # BaseAgent target_network_update_factor (Polyak, every update)
      num_critics=2,  # SACAgent: two critics, the min is the target
      # "prior": KL to the space's prior; "entropy": SAC's log pi; "auto": prior if the space has
      # one, else entropy.
      regularizer="auto",
      target_divergence=1.0,  # maze spirl/conf.py td_schedule_params p=1. (kitchen: p=5.)
      # KL(pi || prior) averaged over the latent dimensions (prior_policies.py: the analytic KL's
      # .mean(dim=-1)); False sums them (delta then bounds the total KL).
      divergence_per_dimension=True,
      target_entropy=None,  # SACAgent target_entropy; None -> -D
      init_alpha=1.0,  # SACAgent: log_alpha starts at 0
      fixed_alpha=None,  # SACAgent fixed_alpha; None = learned by the dual
      action_bound=2.0,  # maze/kitchen base_conf hl_policy_params max_action_range=2. (skills)
      kl_samples=1,  # Monte-Carlo KL draws for a mixture prior (SPiRL num_mc_samples: 10)
      # SPiRL's RandActScheduledActionPriorSACAgent (omega; its default is a constant 0.1 and no
      # shipped config uses it): prior samples with probability omega_0 decaying linearly to 0.
      prior_sampling_start=0.0,
      prior_sampling_decay_updates=10_000,
      max_grad_norm=0.0,  # BaseAgent gradient_clip None; 0 = no clipping
  ))


@flax.struct.dataclass
class SACHypers:
  """Hyperparameters held as data (all [] arrays)."""
  target: jax.Array  # target_divergence, or -target_entropy for the entropy regulariser
  learn_alpha: jax.Array  # bool: False with fixed_alpha
  prior_sampling_start: jax.Array  # omega_0
  prior_sampling_decay_updates: jax.Array  # float


@flax.struct.dataclass
class SACState:
  policy: Any
  critics: Any  # ContinuousCritic params with a leading [C] axis
  target_critics: Any
  log_alpha: jax.Array  # []
  policy_opt: Any
  critic_opt: Any
  alpha_opt: Any
  frozen: Any
  hypers: SACHypers
  updates: jax.Array  # [] int32


def policy_divergence(regularizer: str, mean: jax.Array, std: jax.Array, u: jax.Array,
                      prior: distrax.Distribution | None, key: jax.Array | None,
                      bound: float, num_samples: int = 1, *, method: str = "auto") -> jax.Array:
  """The regulariser d(s) of the policy N(mean, diag std^2) over the pre-squash u.

  Args:
    regularizer: "prior" (KL(pi || prior), `skill_vae.kl_to_prior`) or "entropy" (log pi(a | s)
      of the squashed sample a = bound * tanh(u)).
    mean, std: [B, D] the policy; u: [B, D] a reparameterised sample of it (entropy only).
    prior: distrax distribution over u, event shape [D] (prior only).
    key, num_samples, method: for `kl_to_prior` ("auto": analytic for a Gaussian prior,
      Monte-Carlo with `num_samples` draws otherwise).
  Returns:
    [B].
  """
  if regularizer == "entropy":
    return sac_lib.squashed_log_prob(u, mean, std, bound)
  if regularizer != "prior":
    raise ValueError(f"regularizer {regularizer!r}; valid: prior, entropy")
  return skill_vae.kl_to_prior(mean, std, prior, key, num_samples, method=method)


def _validate(config: ml_collections.ConfigDict, space: ActionSpace) -> str:
  """Checks config and space; returns the resolved regularizer."""
  def bad(key, message):
    return ValueError(f"transfer.agent.{key}={config[key]!r}: {message}")

  if space.kind != "gaussian":
    raise ValueError(f"SAC needs an action space of kind 'gaussian' (policy -> (mean, std) over "
                     f"the pre-squash action), got kind {space.kind!r}; MPO handles "
                     f"'mixture' and 'categorical'")
  if int(space.size) < 1:
    raise ValueError(f"action space size must be positive, got {space.size}")
  if config.regularizer not in REGULARIZERS:
    raise bad("regularizer", f"valid: {', '.join(REGULARIZERS)}")
  regularizer = config.regularizer
  if regularizer == "auto":
    regularizer = "entropy" if space.prior is None else "prior"
  if regularizer == "prior" and space.prior is None:
    raise bad("regularizer", "this action space has no prior; use 'entropy' (or 'auto')")
  if not 0.0 < config.discount <= 1.0:
    raise bad("discount", "must be in (0, 1]")
  if not 0.0 < config.tau <= 1.0:
    raise bad("tau", "must be in (0, 1]")
  for key in ("policy_learning_rate", "critic_learning_rate", "alpha_learning_rate",
              "action_bound", "init_alpha", "target_divergence"):
    if not config[key] > 0:
      raise bad(key, "must be positive")
  if int(config.num_critics) != config.num_critics or config.num_critics < 1:
    raise bad("num_critics", "must be a positive integer")
  if int(config.kl_samples) != config.kl_samples or config.kl_samples < 1:
    raise bad("kl_samples", "must be a positive integer")
  if config.fixed_alpha is not None and not config.fixed_alpha > 0:
    raise bad("fixed_alpha", "must be None (learned) or positive")
  if config.max_grad_norm < 0:
    raise bad("max_grad_norm", "must be >= 0 (0 = no clipping)")
  if not 0.0 <= config.prior_sampling_start <= 1.0:
    raise bad("prior_sampling_start", "is a probability in [0, 1]")
  if config.prior_sampling_start > 0:
    if space.prior is None:
      raise bad("prior_sampling_start", "this action space has no prior to sample from")
    if not config.prior_sampling_decay_updates > 0:
      raise bad("prior_sampling_decay_updates", "must be positive")
  if config.target_entropy is not None and not math.isfinite(config.target_entropy):
    raise bad("target_entropy", "must be None (-D) or finite")
  return regularizer


def make_agent(config: ml_collections.ConfigDict, space: ActionSpace,
               observation_size: int) -> OnlineAgent:
  """Prior-regularised (or entropy-regularised) SAC over `space` as an `OnlineAgent`.

  `space` (kind "gaussian"): `policy(policy_params, frozen, obs [B, O]) -> (mean, std)` [B, D]
  over the pre-squash u; `prior(frozen, obs [B, O]) -> distrax.Distribution` over u (event [D])
  or None; `decode(frozen, obs, a [N, D], key, deterministic)` maps the squashed action a to the
  env action. The agent action stored in the replay is a (float32 [D]).
  """
  regularizer = _validate(config, space)
  dim = int(space.size)
  bound = float(config.action_bound)
  gamma = float(config.discount)
  tau = float(config.tau)
  num_critics = int(config.num_critics)
  kl_samples = int(config.kl_samples)
  kl_scale = 1.0 / dim if config.get("divergence_per_dimension", False) else 1.0
  prior_sampling = config.prior_sampling_start > 0  # static: no prior forward pass when off
  if regularizer == "prior":
    target = float(config.target_divergence)
  else:
    target = -(float(config.target_entropy) if config.target_entropy is not None else -dim)
  critic = ContinuousCritic(tuple(config.critic_hidden))

  def optimizer(learning_rate):
    adam = optax.adam(learning_rate)
    if config.max_grad_norm:
      return optax.chain(optax.clip_by_global_norm(config.max_grad_norm), adam)
    return adam

  policy_opt = optimizer(config.policy_learning_rate)
  critic_opt = optimizer(config.critic_learning_rate)
  alpha_opt = optax.adam(config.alpha_learning_rate)
  critic_input = space.critic_input or (lambda obs: obs)
  obs_spec = space.observation_spec or jax.ShapeDtypeStruct((observation_size,), jnp.float32)
  alpha0 = config.fixed_alpha if config.fixed_alpha is not None else config.init_alpha

  def q_values(critic_params, obs, a):
    """[C, B]: every critic at (obs, a)."""
    x = critic_input(obs)
    return jax.vmap(critic.apply, in_axes=(0, None, None))(critic_params, x, a)

  def prior_sampling_prob(state: SACState) -> jax.Array:
    h = state.hypers
    frac = state.updates.astype(jnp.float32) / h.prior_sampling_decay_updates
    return h.prior_sampling_start * jnp.maximum(0.0, 1.0 - frac)

  def init(key):
    policy_key, critic_key = jax.random.split(key)
    policy = space.init_policy(policy_key)
    obs = critic_input(jax.tree.map(lambda s: jnp.zeros((1,) + s.shape, s.dtype), obs_spec))
    critics = jax.vmap(lambda k: critic.init(k, obs, jnp.zeros((1, dim))))(
        jax.random.split(critic_key, num_critics))
    log_alpha = jnp.asarray(math.log(alpha0), jnp.float32)
    hypers = SACHypers(
        target=jnp.asarray(target, jnp.float32),
        learn_alpha=jnp.asarray(config.fixed_alpha is None),
        prior_sampling_start=jnp.asarray(config.prior_sampling_start, jnp.float32),
        prior_sampling_decay_updates=jnp.asarray(
            max(float(config.prior_sampling_decay_updates), 1.0), jnp.float32))
    return SACState(policy=policy, critics=critics, target_critics=critics, log_alpha=log_alpha,
                    policy_opt=policy_opt.init(policy), critic_opt=critic_opt.init(critics),
                    alpha_opt=alpha_opt.init(log_alpha), frozen=space.frozen, hypers=hypers,
                    updates=jnp.zeros((), jnp.int32))

  def act(state: SACState, obs, key, deterministic: bool = False):
    noise_key, prior_key, pick_key, decode_key = jax.random.split(key, 4)
    mean, std = space.policy(state.policy, state.frozen, obs)
    if deterministic:
      u = mean
    else:
      u = mean + std * jax.random.normal(noise_key, mean.shape, mean.dtype)
      if prior_sampling:
        prior = space.prior(state.frozen, obs)
        u_prior = jnp.broadcast_to(prior.sample(seed=prior_key), u.shape).astype(u.dtype)
        pick = jax.random.bernoulli(pick_key, prior_sampling_prob(state), u.shape[:-1])
        u = jnp.where(pick[..., None], u_prior, u)
    a = sac_lib.squash(u, bound)
    return a, space.decode(state.frozen, obs, a, decode_key, deterministic)

  def sample_divergence(policy_params, frozen, obs, key):
    """(a [B, D], d(s) [B], std [B, D]) with u reparameterised (gradients to the policy)."""
    noise_key, kl_key = jax.random.split(key)
    mean, std = space.policy(policy_params, frozen, obs)
    u = mean + std * jax.random.normal(noise_key, mean.shape, mean.dtype)
    prior = None
    if regularizer == "prior":
      prior = jax.tree.map(jax.lax.stop_gradient, space.prior(frozen, obs))
    d = policy_divergence(regularizer, mean, std, u, prior, kl_key, bound, kl_samples)
    if regularizer == "prior":
      d = d * kl_scale
    return sac_lib.squash(u, bound), d, std

  def update(state: SACState, batch: Transition, key):
    policy_key, next_key = jax.random.split(key)
    obs = jax.tree.map(lambda x: x[:, 0], batch.observation)

    # Alpha first (SPiRL's order): the dual step on d(s) of the current policy.
    _, divergence, std = sample_divergence(state.policy, state.frozen, obs, policy_key)
    a_loss, a_grad = jax.value_and_grad(sac_lib.alpha_loss)(
        state.log_alpha, divergence, state.hypers.target)
    a_updates, alpha_opt_state = alpha_opt.update(a_grad, state.alpha_opt, state.log_alpha)
    log_alpha = jnp.where(state.hypers.learn_alpha,
                          optax.apply_updates(state.log_alpha, a_updates), state.log_alpha)
    alpha_opt_state = jax.tree.map(lambda new, old: jnp.where(state.hypers.learn_alpha, new, old),
                                   alpha_opt_state, state.alpha_opt)
    alpha = jnp.exp(log_alpha)

    def p_loss(policy_params):
      a, d, _ = sample_divergence(policy_params, state.frozen, obs, policy_key)
      q = q_values(jax.lax.stop_gradient(state.critics), obs, a)
      return sac_lib.policy_loss(alpha, d, q)

    pi_loss, p_grads = jax.value_and_grad(p_loss)(state.policy)

    partial, coefficient, last = n_step_bootstrap(batch.reward, batch.discount, batch.end, gamma)
    next_obs = jax.tree.map(lambda x: x[jnp.arange(x.shape[0]), last], batch.next_observation)
    next_a, next_d, _ = sample_divergence(state.policy, state.frozen, next_obs, next_key)
    target = sac_lib.soft_target(partial, coefficient,
                                 q_values(state.target_critics, next_obs, next_a), next_d, alpha)

    def c_loss(critic_params):
      q = q_values(critic_params, obs, batch.agent_action[:, 0])
      return sac_lib.critic_loss(q, target), q

    (q_loss, q), c_grads = jax.value_and_grad(c_loss, has_aux=True)(state.critics)

    p_updates, policy_opt_state = policy_opt.update(p_grads, state.policy_opt, state.policy)
    c_updates, critic_opt_state = critic_opt.update(c_grads, state.critic_opt, state.critics)
    critics = optax.apply_updates(state.critics, c_updates)
    target_critics = optax.incremental_update(critics, state.target_critics, tau)
    new_state = state.replace(
        policy=optax.apply_updates(state.policy, p_updates), critics=critics,
        target_critics=target_critics, log_alpha=log_alpha, policy_opt=policy_opt_state,
        critic_opt=critic_opt_state, alpha_opt=alpha_opt_state, updates=state.updates + 1)
    metrics = dict(critic_loss=q_loss, q_mean=jnp.mean(q), target_mean=jnp.mean(target),
                   policy_loss=pi_loss, alpha_loss=a_loss, alpha=alpha,
                   divergence=jnp.mean(divergence), policy_std=jnp.mean(std),
                   prior_sampling_prob=prior_sampling_prob(state))
    return new_state, metrics

  def evaluate(state: SACState, obs, a, key):
    """The critic as its targets use it (`OnlineAgent.evaluate`): [B] each."""
    alpha = jnp.exp(state.log_alpha)
    policy_a, d, _ = sample_divergence(state.policy, state.frozen, obs, key)
    penalty = alpha * d
    return dict(q=jnp.min(q_values(state.critics, obs, a), axis=0),
                value=jnp.min(q_values(state.critics, obs, policy_a), axis=0) - penalty,
                penalty=penalty)

  return OnlineAgent(init=init, act=act, update=update,
                     agent_action_spec=jax.ShapeDtypeStruct((dim,), jnp.float32),
                     observe=space.observe, observation_spec=space.observation_spec,
                     evaluate=evaluate)

"""MPO with a KL-regularised objective, over any action space: the online learner of transfer.

One algorithm, several policy families and action spaces (`ActionSpace`):
  raw actions     a Gaussian policy on the env's actions (MPO from scratch; BC + fine-tuning);
  categorical     pi(y | x) over K frozen skills (HeLMS-cat; categorical MPO, exact E-step);
  mixture         pi(z | x) = sum_y pi(y | x) pi(z | y, x) over the frozen low level (HeLMS-mix,
                  RHPO-style; K = 1 is the Gaussian latent policy of NPMP + KL);
  latent_gaussian pi(z | x) p(a | z, x) with both levels trained (hierarchical BC fine-tuned):
                  MPO on the joint action u = (z, a), the E-step weighting joint samples by
                  Q(x, u), the M-step fitting the joint density with each sample's a-part
                  evaluated at its own z (`losses.mpo.gaussian_mstep`, per-sample parameters).
The action space supplies the policy network, the decoder from the agent's action to the env's
action (through frozen skills) and the prior of the KL regulariser; this module supplies the
learner: an n-step critic Q(x, u) with a target network, the E-step (temperature dual), the
decoupled M-step with trust-region duals (`losses.mpo`), and the KL-to-prior term

  loss_policy += eta_y * KL(pi(y|x) || p(y|x)) + eta_z * sum_y KL(pi(z|y,x) || p(z|y,x))

(equations 4 and 5 of the HeLMS paper; eta_y alone for a categorical policy, eta_z alone for a
single Gaussian). The paper's objective puts the KL into the return,
J = E[sum_t gamma^t (r_t - eta KL_t)], so with `kl_in_return` (default) the critic learns that
return: Q(x_0, u_0) = r_0 + sum_{k>=1} gamma^k (r_k - eta KL(x_k)) up to the bootstrap
gamma^m (V(x_m) - eta KL(x_m)), the KL of the target policy to the prior (as SAC's entropy
enters its soft Q). Without it the critic is the plain task critic and the regulariser acts on
the policy update alone.

Where the policy improves (`policy_states`): at the first state x_0 of each sampled n-step
sequence (default), at all n of them, or at the bootstrap state x_n ("next", as Acme's TF MPO
learner does at o_t of its n-step transitions), where the E-step reuses the N actions and the
target critic's Q that the critic's target V(x_n) drew: one target critic pass on N x B actions
per update instead of two.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax
import jax
import jax.numpy as jnp
import ml_collections
import optax

from helms_jax.agents.spaces import ActionSpace
from helms_jax.losses import kl as kl_lib
from helms_jax.losses import mpo as mpo_lib
from helms_jax.losses.returns import n_step_bootstrap
from helms_jax.networks.critics import ContinuousCritic, DiscreteCritic
from helms_jax.training.train_state import OnlineAgent, Transition

POLICY_KINDS = ("mixture", "categorical", "latent_gaussian")
POLICY_STATES = ("first", "all", "next")


class TargetSamples(NamedTuple):
  """The target networks at a batch of states x [B]: the E-step's inputs and the critic's V(x)."""
  policy: Any  # the target policy's parameters at x (the space's policy output)
  actions: jax.Array | None  # [N, B, ...] drawn from it; None for a categorical policy (all K)
  q: jax.Array  # the target critic's Q: [N, B] on the draws, [B, K] for a categorical policy


def default_config() -> ml_collections.ConfigDict:
  """The `transfer.agent` section (Acme's MPO defaults where they exist)."""
  return ml_collections.ConfigDict(dict(
      discount=0.99,
      critic_hidden=(256, 256),
      policy_learning_rate=1e-4,
      critic_learning_rate=3e-4,
      dual_learning_rate=1e-2,
      max_grad_norm=40.0,
      target_update_period=100,
      num_samples=20,  # actions sampled per state in the E-step and for V(x')
      epsilon=0.1,
      epsilon_mean=2.5e-3,
      epsilon_stddev=1e-6,
      epsilon_categorical=2.5e-3,
      per_dim_constraining=True,
      # Initial log-duals (softplus-parametrised). The temperature scales Q: Acme starts it at 10
      # for returns in the hundreds, ours at 1 for rewards of 0-1 (it adapts either way). The
      # M-step alphas weigh a KL against the weighted NLL, whatever the reward scale, so ours
      # are Acme's 10 and 1000. Started at 1 and 10, HeLMS-mix's component means moved 3-20x
      # epsilon_mean per update through a whole 25k-update run (the duals, rising ~0.01 per
      # update, never caught up) and NPMP + KL's stds 260-850x epsilon_stddev.
      init_log_temperature=1.0,
      init_log_alpha_mean=10.0,
      init_log_alpha_stddev=1000.0,
      init_log_alpha_categorical=1.0,
      # The states the policy improves at: the first of each sampled n-step sequence ("first");
      # all n of them ("all": n times the E-step's cost); or the bootstrap state x_n ("next",
      # Acme's TF MPO learner, which improves at o_t of its n-step transitions): the E-step then
      # reuses the target critic's Q on the N actions drawn there for the critic's V(x_n), one
      # target pass per update instead of two (~30 % of a HeLMS-mix update's flops, ~40 % of
      # raw-action MPO's). Acme's JAX learner improves at every step of a sampled sequence.
      policy_states="first",
      eta_y=0.0,  # weight of KL(pi(y|x) || prior(y|x))
      eta_z=0.0,  # weight of sum_y KL(pi(z|y,x) || prior(z|y,x)), every component in full
      kl_in_return=True,  # the critic's return includes -eta KL at every later state (eq. 4, 5)
  ))


@flax.struct.dataclass
class MPOState:
  policy: Any
  target_policy: Any
  critic: Any
  target_critic: Any
  duals: mpo_lib.MPODuals
  policy_opt: Any
  critic_opt: Any
  dual_opt: Any
  frozen: Any
  kl_weights: jax.Array  # [2] = (eta_y, eta_z): state, not constants, so a sweep reuses one
  # compilation (and a population could vmap over them)
  steps: jax.Array  # [] int32


def sample_mixture(key, logits, means, stds, deterministic: bool = False):
  """A draw from sum_k softmax(logits)_k N(means_k, stds_k): `[..., K], [..., K, D] -> [..., D]`.

  Deterministic: the mean of the most probable component.
  """
  k_key, n_key = jax.random.split(key)
  if deterministic:
    k = jnp.argmax(logits, axis=-1)
  else:
    k = jax.random.categorical(k_key, logits, axis=-1)
  pick = lambda x: jnp.take_along_axis(x, k[..., None, None], axis=-2)[..., 0, :]
  mean, std = pick(means), pick(stds)
  if deterministic:
    return mean
  return mean + std * jax.random.normal(n_key, mean.shape)


def _policy_samples(key, dist, num: int):
  """[num, B, D] samples of a mixture policy."""
  logits, means, stds = dist
  keys = jax.random.split(key, num)
  return jax.vmap(lambda k: sample_mixture(k, logits, means, stds))(keys)


def _latent_gaussian_parts(space: ActionSpace, latent, policy_params, frozen, obs, z):
  """(mean, std) [..., B, Z + A] of the joint u = (z, a) at latent samples z [..., B, Z]: the
  latent's parameters `latent` = (mean, std) [B, Z] (`space.policy`'s, broadcast) beside the
  action's given each z."""
  z_mean, z_std = latent
  a_mean, a_std = space.low_level(policy_params, frozen, obs, z)
  wide = lambda x: jnp.broadcast_to(x, z.shape)
  return (jnp.concatenate([wide(z_mean), a_mean], -1),
          jnp.concatenate([wide(z_std), a_std], -1))


def _latent_gaussian_samples(space: ActionSpace, key, latent, policy_params, frozen, obs,
                             shape=(), deterministic: bool = False):
  """Joint samples u = (z, a) [*shape, B, Z + A] given the latent's (mean, std) [B, Z]
  (`space.policy`'s; deterministic: its mean, then the action mean given it)."""
  z_key, a_key = jax.random.split(key)
  z_mean, z_std = latent
  z_mean = jnp.broadcast_to(z_mean, tuple(shape) + z_mean.shape)
  if deterministic:
    z = z_mean
  else:
    z = z_mean + z_std * jax.random.normal(z_key, z_mean.shape)
  a_mean, a_std = space.low_level(policy_params, frozen, obs, z)
  a = a_mean if deterministic else a_mean + a_std * jax.random.normal(a_key, a_mean.shape)
  return jnp.concatenate([z, a], -1)


def make_agent(config: ml_collections.ConfigDict, space: ActionSpace,
               observation_size: int) -> OnlineAgent:
  """The MPO learner over `space` as an `OnlineAgent` (init/act/update)."""
  if space.kind not in POLICY_KINDS:
    raise ValueError(f"action space kind {space.kind!r}; valid: {POLICY_KINDS}")
  if (config.eta_y or config.eta_z) and space.prior is None:
    raise ValueError("transfer.agent.eta_y/eta_z > 0 need a prior, but this action space has "
                     "none (MPO from scratch / BC fine-tuning have no skills to regularise to)")
  if config.policy_states not in POLICY_STATES:
    raise ValueError(f"transfer.agent.policy_states={config.policy_states!r}; valid: "
                     f"{', '.join(POLICY_STATES)}")
  if config.eta_y < 0 or config.eta_z < 0:
    raise ValueError(f"eta_y and eta_z must be >= 0, got {config.eta_y}, {config.eta_z}")
  categorical = space.kind == "categorical"
  latent = space.kind == "latent_gaussian"
  if latent and (space.low_level is None or space.prior is not None):
    raise ValueError("a latent_gaussian action space needs `low_level` and no prior (its KL "
                     "regulariser is not implemented)")
  hidden = tuple(config.critic_hidden)
  if space.critic is not None and categorical:
    raise ValueError("a critic network of the space's own (space.critic) takes (obs, u): "
                     "continuous action spaces only")
  critic = (space.critic(hidden) if space.critic is not None else
            DiscreteCritic(hidden, space.size) if categorical else ContinuousCritic(hidden))
  mpo_config = mpo_lib.MPOConfig(
      epsilon=config.epsilon, epsilon_mean=config.epsilon_mean,
      epsilon_stddev=config.epsilon_stddev, epsilon_categorical=config.epsilon_categorical,
      num_samples=config.num_samples, per_dim_constraining=config.per_dim_constraining)
  clip = optax.clip_by_global_norm(config.max_grad_norm)
  policy_opt = optax.chain(clip, optax.adam(config.policy_learning_rate))
  critic_opt = optax.chain(clip, optax.adam(config.critic_learning_rate))
  dual_opt = optax.adam(config.dual_learning_rate)
  num_samples = int(config.num_samples)
  gamma = float(config.discount)
  critic_input = space.critic_input or (lambda obs: obs)
  obs_spec = space.observation_spec or jax.ShapeDtypeStruct((observation_size,), jnp.float32)

  def q_values(critic_params, obs, u=None):
    x = critic_input(obs)
    return critic.apply(critic_params, x) if u is None else critic.apply(critic_params, x, u)

  def init(key):
    policy_key, critic_key = jax.random.split(key)
    policy = space.init_policy(policy_key)
    dummy_obs = jax.tree.map(lambda s: jnp.zeros((1,) + s.shape, s.dtype), obs_spec)
    obs = critic_input(dummy_obs)
    critic_params = (critic.init(critic_key, obs) if categorical else
                     critic.init(critic_key, obs, jnp.zeros((1, space.size))))
    num_components = None  # a mixture's M-step has one trust region per component (RHPO)
    if not (categorical or latent):
      num_components = jax.eval_shape(space.policy, policy, space.frozen, dummy_obs)[0].shape[-1]
    duals = mpo_lib.init_duals(
        1 if categorical else space.size, per_dim_constraining=config.per_dim_constraining,
        num_components=num_components,
        init_log_temperature=config.init_log_temperature,
        init_log_alpha_mean=config.init_log_alpha_mean,
        init_log_alpha_stddev=config.init_log_alpha_stddev,
        init_log_alpha_categorical=config.init_log_alpha_categorical)
    return MPOState(policy=policy, target_policy=policy, critic=critic_params,
                    target_critic=critic_params, duals=duals,
                    policy_opt=policy_opt.init(policy), critic_opt=critic_opt.init(critic_params),
                    dual_opt=dual_opt.init(duals), frozen=space.frozen,
                    kl_weights=jnp.array([config.eta_y, config.eta_z], jnp.float32),
                    steps=jnp.zeros((), jnp.int32))

  def act(state: MPOState, obs, key, deterministic: bool = False):
    policy_key, decode_key = jax.random.split(key)
    dist = space.policy(state.policy, state.frozen, obs)
    if categorical:
      u = (jnp.argmax(dist, axis=-1) if deterministic
           else jax.random.categorical(policy_key, dist, axis=-1)).astype(jnp.int32)
    elif latent:
      u = _latent_gaussian_samples(space, policy_key, dist, state.policy, state.frozen, obs,
                                   deterministic=deterministic)
    else:
      u = sample_mixture(policy_key, *dist, deterministic=deterministic)
    return u, space.decode(state.frozen, obs, u, decode_key, deterministic)

  def target_samples(state: MPOState, obs, key) -> TargetSamples:
    """The target policy at `obs` [B, ...], N actions drawn from it and the target critic's Q on
    them (categorical: on all K): what the E-step and the critic's V(x) both read."""
    dist = jax.tree.map(jax.lax.stop_gradient,
                        space.policy(state.target_policy, state.frozen, obs))
    if categorical:
      return TargetSamples(dist, None, q_values(state.target_critic, obs))  # q [B, K]
    if latent:
      u = _latent_gaussian_samples(space, key, dist, state.target_policy, state.frozen, obs,
                                   (num_samples,))  # [N, B, Z + A]
    else:
      u = _policy_samples(key, dist, num_samples)  # [N, B, D]
    u = jax.lax.stop_gradient(u)
    return TargetSamples(dist, u, jax.vmap(lambda a: q_values(state.target_critic, obs, a))(u))

  def state_value(samples: TargetSamples) -> jax.Array:
    """V(x) = E_{u ~ pi}[Q(x, u)] [B]: exact for categorical, the N draws' mean otherwise."""
    if categorical:
      return jnp.sum(jax.nn.softmax(samples.policy) * samples.q, axis=-1)
    return jnp.mean(samples.q, axis=0)

  def kl_to_prior(online, prior):
    """(KL_y [B], KL_z [B]) of policy parameters `online` to the prior's (equations 4 and 5)."""
    if categorical:
      return kl_lib.categorical_kl(online, prior), jnp.zeros(online.shape[:1])
    return kl_lib.mixture_kl_to_prior(*online, *prior)

  def kl_penalty(policy_params, state, obs):
    """[B] eta_y KL_y + eta_z KL_z of the policy to the prior at `obs` [B, obs]."""
    kl_y, kl_z = kl_to_prior(space.policy(policy_params, state.frozen, obs),
                             space.prior(state.frozen, obs))
    return state.kl_weights[0] * kl_y + state.kl_weights[1] * kl_z

  kl_returns = bool(config.get("kl_in_return", False)) and space.prior is not None

  def bootstrap_samples(state, batch: Transition, key) -> tuple[Any, TargetSamples]:
    """(x_n [B, ...], `target_samples` there): each sequence's n-step bootstrap state."""
    _, _, last = n_step_bootstrap(batch.reward, batch.discount, batch.end, gamma)
    next_obs = jax.tree.map(lambda x: x[jnp.arange(x.shape[0]), last], batch.next_observation)
    return next_obs, target_samples(state, next_obs, key)

  def critic_loss(critic_params, state, batch: Transition, next_samples: TargetSamples):
    rewards = batch.reward
    if kl_returns:
      # The KL at each step's next state x_{k+1}, discounted into the step's reward: the
      # bootstrap state's KL then carries the bootstrap coefficient, a terminal one none.
      flat = jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), batch.next_observation)
      penalty = kl_penalty(state.target_policy, state, flat).reshape(rewards.shape)
      rewards = rewards - gamma * batch.discount * jax.lax.stop_gradient(penalty)
    partial, coefficient, _ = n_step_bootstrap(rewards, batch.discount, batch.end, gamma)
    target = jax.lax.stop_gradient(partial + coefficient * state_value(next_samples))
    obs0 = jax.tree.map(lambda x: x[:, 0], batch.observation)
    u0 = batch.agent_action[:, 0]
    if categorical:
      q = jnp.take_along_axis(q_values(critic_params, obs0), u0[:, None], axis=1)[:, 0]
    else:
      q = q_values(critic_params, obs0, u0)
    loss = 0.5 * jnp.mean(jnp.square(q - target))
    return loss, {"critic_loss": loss, "q_mean": jnp.mean(q), "target_mean": jnp.mean(target)}

  def policy_loss(trainable, state, obs, samples: TargetSamples):
    """MPO's E- and M-step at `obs` [B, ...], `samples` = `target_samples` there."""
    policy_params, duals = trainable
    online = space.policy(policy_params, state.frozen, obs)
    target, u, q = samples
    if categorical:
      temp_loss, weights, temperature = mpo_lib.categorical_estep(
          q, target, duals.log_temperature, config.epsilon)
      m_loss, metrics = mpo_lib.categorical_mstep(online, target, weights, duals, mpo_config)
    elif latent:
      temp_loss, weights, temperature = mpo_lib.temperature_loss_and_weights(
          q, duals.log_temperature, config.epsilon)
      z = u[..., :online[0].shape[-1]]
      on_mean, on_std = _latent_gaussian_parts(space, online, policy_params, state.frozen, obs,
                                               z)
      tg_mean, tg_std = jax.lax.stop_gradient(_latent_gaussian_parts(
          space, target, state.target_policy, state.frozen, obs, z))
      m_loss, metrics = mpo_lib.gaussian_mstep(on_mean, on_std, tg_mean, tg_std, u, weights,
                                               duals, mpo_config)
    else:
      temp_loss, weights, temperature = mpo_lib.temperature_loss_and_weights(
          q, duals.log_temperature, config.epsilon)
      m_loss, metrics = mpo_lib.mixture_mstep(online, target, u, weights, duals, mpo_config)
    loss = temp_loss + m_loss
    metrics = {f"mpo/{k}": v for k, v in metrics.items()}
    metrics.update(temperature=temperature, temperature_loss=temp_loss)
    if space.prior is not None:
      prior = jax.tree.map(jax.lax.stop_gradient, space.prior(state.frozen, obs))
      kl_y, kl_z = kl_to_prior(online, prior)
      eta_y, eta_z = state.kl_weights[0], state.kl_weights[1]
      loss = loss + eta_y * jnp.mean(kl_y) + eta_z * jnp.mean(kl_z)
      metrics.update(kl_y_to_prior=jnp.mean(kl_y), kl_z_to_prior=jnp.mean(kl_z))
    if categorical:
      metrics["policy_entropy"] = -jnp.mean(jnp.sum(jax.nn.softmax(online) *
                                                    jax.nn.log_softmax(online), axis=-1))
    elif latent:
      metrics["policy_std"] = jnp.mean(online[1])  # the latent's
    else:
      metrics["policy_std"] = jnp.mean(online[2])
    return loss, metrics

  def update(state: MPOState, batch: Transition, key):
    critic_key, policy_key = jax.random.split(key)
    next_obs, next_samples = bootstrap_samples(state, batch, critic_key)
    (_, c_metrics), c_grads = jax.value_and_grad(critic_loss, has_aux=True)(
        state.critic, state, batch, next_samples)
    c_updates, critic_opt_state = critic_opt.update(c_grads, state.critic_opt, state.critic)
    critic_params = optax.apply_updates(state.critic, c_updates)
    if config.policy_states == "next":  # the critic's samples at x_n (both from the targets)
      obs, samples = next_obs, next_samples
    else:
      if config.policy_states == "all":
        obs = jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), batch.observation)
      else:
        obs = jax.tree.map(lambda x: x[:, 0], batch.observation)
      samples = target_samples(state, obs, policy_key)
    (_, p_metrics), (p_grads, d_grads) = jax.value_and_grad(policy_loss, has_aux=True)(
        (state.policy, state.duals), state, obs, samples)
    p_updates, policy_opt_state = policy_opt.update(p_grads, state.policy_opt, state.policy)
    policy_params = optax.apply_updates(state.policy, p_updates)
    d_updates, dual_opt_state = dual_opt.update(d_grads, state.dual_opt, state.duals)
    duals = mpo_lib.clip_duals(optax.apply_updates(state.duals, d_updates))
    steps = state.steps + 1
    refresh = (steps % config.target_update_period) == 0
    sync = lambda new, old: jax.tree.map(lambda a, b: jnp.where(refresh, a, b), new, old)
    new_state = state.replace(
        policy=policy_params, critic=critic_params, duals=duals,
        target_policy=sync(policy_params, state.target_policy),
        target_critic=sync(critic_params, state.target_critic),
        policy_opt=policy_opt_state, critic_opt=critic_opt_state, dual_opt=dual_opt_state,
        steps=steps)
    return new_state, {**c_metrics, **p_metrics}

  def evaluate(state: MPOState, obs, u, key):
    """The critic as its targets use it (`OnlineAgent.evaluate`): [B] each. `value` is the
    target policy's V(x) on the target critic, as the critic's targets bootstrap it, minus the
    KL penalty those targets subtract at x (with `kl_in_return`)."""
    if categorical:
      q = jnp.take_along_axis(q_values(state.critic, obs), u[:, None].astype(jnp.int32),
                              axis=1)[:, 0]
    else:
      q = q_values(state.critic, obs, u)
    penalty = (kl_penalty(state.target_policy, state, obs) if kl_returns
               else jnp.zeros(q.shape, q.dtype))
    value = state_value(target_samples(state, obs, key)) - penalty
    return dict(q=q, value=value, penalty=penalty)

  spec = (jax.ShapeDtypeStruct((), jnp.int32) if categorical
          else jax.ShapeDtypeStruct((space.size,), jnp.float32))
  return OnlineAgent(init=init, act=act, update=update, agent_action_spec=spec,
                     observe=space.observe, observation_spec=space.observation_spec,
                     evaluate=evaluate)

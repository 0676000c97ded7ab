"""Latent Skill Planning (Xie et al., 2021) and Dreamer (Hafner et al., 2020) as one online agent.

Partially amortised planning: a low-level policy q(a | s, z) is amortised over experience by
Dreamer's behaviour learning in imagination, and the skill z it executes is chosen online by CEM
in the learned world model, re-planned every K steps (MPC in skill space).

World model (`model.py`, `networks.rssm`): an MLP (or conv) encoder, the RSSM, a decoder of
symlog(observation) (a Gaussian with its own std, softly clamped between 0.1 and 1.5, LSP A.3;
pixels: Dreamer's unit variance) and a reward head, trained on replayed sequences [B, T] by the
ELBO
`E[-log p(o|s)] + E[-log p(r|s)] + max(KL(q(s|h,e) || p(s|h)), free_nats)`.

Behaviour in imagination, from every filtered state of the batch:
  skills   z_1..z_J (J = ceil(H / K)), z_j held for K steps. LSP (cem / mppi) trains on skills
           from the planner's distribution: Algorithm 1's behaviour learning takes
           "zeta = (mu, Sigma) <- CEM(S, ...); Add noise mu = mu + epsilon; Compute rewards ...
           with the optimized CEM distribution zeta", so the policy learns the skills the
           planner chooses (and the MI bound's entropy term is that distribution's). Each env
           step is stored with the (mu, Sigma) of the skill it executed (the agent action's
           plan columns, below), i.e. the planner's CEM result from that env's belief at the
           start of the skill, and each start state s_t of the batch draws its skills from
           its own step's distribution: z_j ~ N(mu + epsilon, Sigma), epsilon ~ N(0, 0.1^2)
           once per rollout, a fresh z_j every K steps as Algorithm 2 re-samples every K
           imagined steps (`Networks.skills_from_plan`). This is the distribution p(z | s_0)
           the agent really used at (about) that state, at no planning cost in the update;
           running CEM again from every start state, as Algorithm 1 literally does with S,
           would imagine G x MaxCEMiter = 64 plans of H = 10 steps per start, against the
           one 15-step rollout per start the update differentiates.
           Stored distributions are those of the policy and model of their time, as the
           replayed actions are. Random skills (the ablation) train on z_j ~ U[-1, 1]^Z, the
           skills they act with;
  rollout  H steps of the prior dynamics with a ~ q(a | s, z) (reparameterised), so the actor's
           gradient flows through the model's dynamics (the model's parameters stay fixed);
  reward   the reward head's prediction plus `mi_weight` * log q_chi(z_j | {s}, s_0): the
           backward skill predictor reads skill j's K-step segment (s_0 = the state where the
           skill started, {s} = the states after its steps; step t's reward reads the segment
           up to s_t, the segment's last step all of it), every state with Gaussian input noise
           (LSP appendix A.7), and is itself fit to the imagined (stop-gradient) segments by
           maximum likelihood. The MI term rewards skills whose effect on the state can be told
           apart;
  targets  lambda-returns (H = 15, lambda = 0.95) of that reward with v(s) bootstrapping; the
           actor maximises them, v regresses them (Dreamer v1).

Acting (per env, with memory: `OnlineAgent.actor_init`): the belief is filtered with the
posterior each step; every K steps (a `lax.cond` on the loop's shared step phase) the skill is
re-planned: CEM (or MPPI) from zeta^(0) = N(0, I) over the ceil(H_plan / K) skills of the
planning horizon H_plan = `plan_horizon` (the paper's H = K = 10: one skill), each candidate
scored by the lambda-return of its task reward imagined for H_plan steps under the mean action,
vmapped over envs. The executed skill is drawn from the final distribution of the first skill,
z ~ N(mu + epsilon, Sigma) with epsilon ~ N(0, plan_skill_noise^2) (LSP section 3.2: "we add
Gaussian noise epsilon to the mean of the CEM-based skill distribution, mu <- mu + epsilon";
A.3: "The additional noise epsilon added to the CEM optimized distribution is Normal(0, 0.1)"),
and held K steps with (mu, Sigma) in the actor state. Until the first update the agent acts
uniformly at random (Dreamer's prefill).

Variants by config (`skill_selection`, `skill_size`, `mi_weight`):
  lsp                 cem, Z = 3, mi_weight > 0
  lsp without MI      cem, mi_weight = 0
  random skills       random (a fresh uniform skill every K steps), with or without the MI term
  dreamer             none, Z = 0 (no skills, no predictor): the actor is q(a | s)
Deviations from the papers: observations enter as symlog (no dataset statistics online); skills
live in [-1, 1]^Z (random skills are uniform there, planned ones are clipped to it, and the
plan objective clips its candidates); the planner starts every plan from N(0, I) and its std is
floored at `plan_min_std`; behaviour learning draws from the planner distributions stored in
the replay instead of re-running CEM from the batch's states (the "skills" paragraph above);
no continuation head (our locomotion tasks do not terminate: the discount is constant).
"""

from __future__ import annotations

import math
import flax
import jax
import jax.numpy as jnp
import ml_collections
import optax

from helms_jax import planning
from helms_jax.agents.lsp import model as lsp_model
from helms_jax.losses.kl import diag_gaussian_log_prob
from helms_jax.losses.returns import lambda_returns
from helms_jax.losses.world_model import imagination_weights, kl_with_free_nats, unit_gaussian_nll
from helms_jax.networks import rssm
from helms_jax.training.train_state import OnlineAgent, Transition

SKILL_SELECTIONS = ("cem", "mppi", "random", "none")
MODEL_PARTS = ("encoder", "rssm", "decoder", "reward")


def default_config() -> ml_collections.ConfigDict:
  """The `transfer.agent` section (Dreamer v1 / LSP defaults; the experiments shrink it)."""
  return ml_collections.ConfigDict(dict(
      deter_size=200, stoch_size=30, rssm_hidden=400,  # Dreamer v1 RSSM
      embed_size=400, model_hidden=(400, 400),  # encoder / decoder / reward MLPs
      actor_hidden=(400, 400, 400, 400), value_hidden=(400, 400, 400),
      model_learning_rate=6e-4, actor_learning_rate=8e-5, value_learning_rate=8e-5,
      predictor_learning_rate=8e-5,  # the backward skill predictor's Adam rate (LSP A.3)
      max_grad_norm=100.0,
      free_nats=3.0, kl_scale=1.0,
      horizon=15, discount=0.99, lambda_=0.95,  # behaviour learning's imagination (Dreamer v1)
      imagination_starts=0,  # imagine from this many random filtered states (0: all B * T)
      exploration_noise=0.3,  # Dreamer v1 expl_amount: Gaussian action noise when acting
      # Skills (LSP): z in [-1, 1]^skill_size held for skill_period steps.
      skill_size=3, skill_period=10,
      skill_selection="cem",  # cem | mppi | random | none (Dreamer)
      mi_weight=1.0,  # weight of log q(z | {s}, s_0) in the imagined reward; 0 = no MI
      predictor_hidden=(256, 256), predictor_input_noise=0.1,
      # Planning (LSP A.3): CEM over ceil(plan_horizon / skill_period) skills from the current
      # belief, plan_horizon imagined steps (H = K = 10: one skill), G = 16, M = 4, 4 iterations.
      plan_horizon=10, plan_samples=16, plan_elites=4, plan_iters=4, plan_min_std=0.1,
      plan_skill_noise=0.1,  # std of epsilon in mu <- mu + epsilon (A.3: Normal(0, 0.1))
      mppi_temperature=1.0,
      train_actor=True,  # False: the low-level policy is frozen (transfer)
  ))


@flax.struct.dataclass
class LSPState:
  """params: {encoder, rssm, decoder, reward, actor, value[, predictor]}; opt_states: the model
  optimiser (over MODEL_PARTS), the actor's, the value's[, the predictor's]; updates: [] int32."""
  params: dict
  opt_states: dict
  updates: jax.Array


@flax.struct.dataclass
class ActorState:
  """Per-env memory when acting: belief RSSMState [N, ...], prev_action [N, A], skill [N, Z]
  being executed and the planner's distribution it was drawn from, skill_mean and skill_std
  [N, Z] (zeros for random skills and before the first plan of an episode)."""
  belief: rssm.RSSMState
  prev_action: jax.Array
  skill: jax.Array
  skill_mean: jax.Array
  skill_std: jax.Array


def _check_config(config: ml_collections.ConfigDict) -> None:
  if config.skill_selection not in SKILL_SELECTIONS:
    raise ValueError(f"transfer.agent.skill_selection={config.skill_selection!r}; valid: "
                     f"{', '.join(SKILL_SELECTIONS)}")
  if (config.skill_selection == "none") != (config.skill_size == 0):
    raise ValueError("transfer.agent.skill_size must be 0 exactly when skill_selection='none' "
                     f"(Dreamer); got skill_size={config.skill_size}, "
                     f"skill_selection={config.skill_selection!r}")
  if config.skill_period < 1 or config.horizon < 2 or config.plan_horizon < 2:
    raise ValueError(f"transfer.agent.skill_period must be >= 1, horizon and plan_horizon >= 2, "
                     f"got {config.skill_period}, {config.horizon}, {config.plan_horizon}")
  if config.mi_weight and not config.skill_size:
    raise ValueError("transfer.agent.mi_weight > 0 needs skills (skill_size > 0)")


class Networks:
  """The modules of one agent config and the pure functions over their params."""

  def __init__(self, config: ml_collections.ConfigDict, observation_shape: tuple[int, ...],
               action_size: int):
    _check_config(config)
    self.config = config
    self.action_size = action_size
    self.observation_shape = tuple(observation_shape)
    self.pixels = len(self.observation_shape) == 3
    self.skill_size = int(config.skill_size)
    self.num_skills = math.ceil(config.horizon / config.skill_period)  # J per imagined rollout
    self.plan_skills = math.ceil(config.plan_horizon / config.skill_period)  # J per plan
    if self.pixels:
      self.encoder = lsp_model.PixelEncoder(embed_size=config.embed_size)
      self.decoder = lsp_model.PixelDecoder(image_shape=self.observation_shape)
    elif len(self.observation_shape) == 1:
      self.encoder = lsp_model.ObservationEncoder(config.model_hidden, config.embed_size)
      self.decoder = lsp_model.ObservationDecoder(config.model_hidden, self.observation_shape[0])
    else:
      raise ValueError(f"observations must be vectors [O] or images [H, W, C], got "
                       f"{self.observation_shape}")
    self.cell = rssm.RSSMCell(deter_size=config.deter_size, stoch_size=config.stoch_size,
                              hidden_size=config.rssm_hidden)
    self.reward = lsp_model.ScalarHead(config.model_hidden)
    self.value = lsp_model.ScalarHead(config.value_hidden)
    self.actor = lsp_model.SkillActor(config.actor_hidden, action_size)
    self.predictor = (lsp_model.SkillPredictor(config.predictor_hidden, self.skill_size)
                      if self.skill_size else None)

  # -- parameters ------------------------------------------------------------------------------
  def init(self, key: jax.Array) -> dict:
    keys = jax.random.split(key, 8)
    obs = jnp.zeros(self.observation_shape)
    embed = jnp.zeros((self.config.embed_size,))
    state = self.cell.initial_state()
    action = jnp.zeros((self.action_size,))
    feat = state.features
    skill = jnp.zeros((self.skill_size,))
    params = {
        "encoder": self.encoder.init(keys[0], obs),
        "rssm": self.cell.init(keys[1], state, action, embed, keys[7]),
        "decoder": self.decoder.init(keys[2], feat),
        "reward": self.reward.init(keys[3], feat),
        "actor": self.actor.init(keys[4], feat, skill),
        "value": self.value.init(keys[5], feat),
    }
    if self.predictor is not None:
      period = self.config.skill_period
      params["predictor"] = self.predictor.init(keys[6], feat, jnp.zeros((period,) + feat.shape),
                                                jnp.ones((period,)))
    return params

  # -- world model -----------------------------------------------------------------------------
  def decoder_target(self, observation: jax.Array) -> jax.Array:
    if self.pixels:
      image = observation.astype(jnp.float32)
      return image / 255.0 if jnp.issubdtype(observation.dtype, jnp.integer) else image
    return lsp_model.symlog(observation)

  def posterior(self, params, belief: rssm.RSSMState, prev_action, observation, key):
    """One filtering step for a batch of envs: the belief after seeing `observation`."""
    embed = self.encoder.apply(params["encoder"], observation)
    _, _, belief = self.cell.apply(params["rssm"], belief, prev_action, embed, key,
                                   method="posterior_step")
    return belief

  # -- imagination -----------------------------------------------------------------------------
  def imagine(self, params, start: rssm.RSSMState, skills: jax.Array, key: jax.Array,
              sample: bool, horizon: int | None = None):
    """H prior steps from `start` ([N] states) executing `skills [N, J, Z]` (z_j for steps
    jK..jK+K-1) with the actor's reparameterised (or mean) action; H = `horizon`, default the
    behaviour-learning horizon `config.horizon`.

    Returns (states RSSMState [H, N] after each step, actions [H, N, A]).
    """
    period = self.config.skill_period

    def step(state, inputs):
      t, k = inputs
      act_key, dyn_key = jax.random.split(k)
      skill = jax.lax.dynamic_index_in_dim(skills, t // period, axis=-2, keepdims=False)
      mean, std = self.actor.apply(params["actor"], state.features, skill)
      pre = mean + std * jax.random.normal(act_key, mean.shape) if sample else mean
      action = jnp.tanh(pre)
      _, state = self.cell.apply(params["rssm"], state, action, dyn_key, method="prior_step")
      return state, (state, action)

    horizon = self.config.horizon if horizon is None else horizon
    _, (states, actions) = jax.lax.scan(
        step, start, (jnp.arange(horizon), jax.random.split(key, horizon)))
    return states, actions

  def task_returns(self, params, features: jax.Array, rewards: jax.Array) -> tuple:
    """lambda-returns [H-1, N] of imagined `rewards [H, N]` with v(`features [H, N, F]`), and
    the discount weights [H-1, N] of each step."""
    values = self.value.apply(params["value"], features)
    discounts = jnp.full_like(rewards[:-1], self.config.discount)
    returns = lambda_returns(rewards[:-1], values[:-1], discounts, values[-1],
                             self.config.lambda_)
    return returns, imagination_weights(discounts)

  def skill_log_prob(self, predictor_params, start_features: jax.Array, features: jax.Array,
                     skills: jax.Array, key: jax.Array) -> jax.Array:
    """The MI reward r_i = log q(z_j | {s}, s_0) of an imagined rollout, [H, N].

    start_features: [N, F] the rollout's first state; features: [H, N, F] the states after each
    step; skills: [N, J, Z], z_j held for steps jK..jK+K-1. Segment j is s_0 = the state before
    its first step (index jK of [start, states]) and {s} = the K states after its steps. The
    reward of step t = jK + i reads s_0 and the segment's first i + 1 states, the rest masked
    (`SkillPredictor`, all of a segment's prefixes in one call): every step scores the segment
    seen so far (LSP Algorithm 2, "observe new state s_{tau+1} and compute new intrinsic reward
    r_i") and the segment's last step the whole K-step segment, q(z | {s}, s_0). A truncated
    last segment (H not a multiple of K) is the prefix it has. Every state gets N(0, predictor_input_noise^2) noise once (LSP A.7),
    so all the prefixes that contain it see the same noisy state.
    """
    period, horizon = self.config.skill_period, features.shape[0]
    num_segments = -(-horizon // period)
    all_features = jnp.concatenate([start_features[None], features], axis=0)  # [H + 1, N, F]
    all_features = all_features + self.config.predictor_input_noise * jax.random.normal(
        key, all_features.shape)
    pad = num_segments * period + 1 - all_features.shape[0]
    padded = jnp.concatenate([all_features, jnp.zeros((pad,) + all_features.shape[1:],
                                                      all_features.dtype)], axis=0)
    starts = padded[:-1:period]  # [J, N, F]
    segments = jnp.moveaxis(padded[1:].reshape((num_segments, period) + padded.shape[1:]),
                            1, -2)  # [J, N, K, F]
    steps = jnp.arange(horizon)
    segment_of, position = steps // period, steps % period
    # Every prefix of every segment at once, [J, N, K, Z]; step t reads prefix `position[t]` of
    # segment `segment_of[t]`.
    mean, std = self.predictor.apply(predictor_params, starts, segments)
    mean, std = (jnp.moveaxis(x, 2, 1)[segment_of, position] for x in (mean, std))  # [H, N, Z]
    targets = jnp.moveaxis(skills, -2, 0)[segment_of]  # [H, N, Z]
    return diag_gaussian_log_prob(targets, mean, std)

  def sample_skills(self, key: jax.Array, batch_shape: tuple[int, ...]) -> jax.Array:
    """[..., J, Z] skills uniform on [-1, 1] (random skills)."""
    return jax.random.uniform(key, batch_shape + (self.num_skills, self.skill_size),
                              minval=-1.0, maxval=1.0)

  def skills_from_plan(self, key: jax.Array, mean: jax.Array, std: jax.Array,
                       num_skills: int) -> jax.Array:
    """[N, J, Z] skills drawn from the planner's skill distribution N(mu, Sigma) of `mean`,
    `std` [N, Z] with the paper's entropy floor: mu <- mu + epsilon, epsilon ~ N(0,
    plan_skill_noise^2) once per row, then J = `num_skills` independent draws
    z_j ~ N(mu + epsilon, Sigma) (LSP section 3.2 and Algorithm 1; Algorithm 2 draws a fresh
    skill from the distribution every K imagined steps). Clipped to [-1, 1], the actor's skill
    domain."""
    eps_key, z_key = jax.random.split(key)
    mean = mean + self.config.plan_skill_noise * jax.random.normal(eps_key, mean.shape)
    z = mean[..., None, :] + std[..., None, :] * jax.random.normal(
        z_key, mean.shape[:-1] + (num_skills,) + mean.shape[-1:])
    return jnp.clip(z, -1.0, 1.0)

  # -- planning --------------------------------------------------------------------------------
  def plan_objective(self, params, state: rssm.RSSMState, key: jax.Array):
    """`objective(plans [G, J, Z]) -> [G]` for ONE belief `state`: the lambda-return of the
    task reward imagined for `plan_horizon` steps under the actor's mean action, with the same
    imagination noise for every plan (common random numbers); plans are clipped to [-1, 1].
    The value that bootstraps it was trained on task + MI reward, so planning favours
    predictable skills too."""
    start = jax.tree.map(lambda x: x[None], state)

    def score(plan):  # [J, Z] -> []; vmapped, so every plan sees the same noise
      states, _ = self.imagine(params, start, jnp.clip(plan, -1.0, 1.0)[None], key,
                               sample=False, horizon=self.config.plan_horizon)
      rewards = self.reward.apply(params["reward"], states.features)
      returns, _ = self.task_returns(params, states.features, rewards)
      return returns[0, 0]
    return jax.vmap(score)

  def plan(self, params, belief: rssm.RSSMState, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The planner's final skill distribution zeta = (mean, std), each [N, J, Z] with
    J = `plan_skills`, for beliefs [N]; every call starts from zeta^(0) = N(0, I)."""
    config = self.config
    shape = (self.plan_skills, self.skill_size)

    def one(state, k):
      imagine_key, plan_key = jax.random.split(k)
      objective = self.plan_objective(params, state, imagine_key)
      if config.skill_selection == "mppi":
        result = planning.mppi(objective, plan_key, jnp.zeros(shape), jnp.ones(shape),
                               num_samples=config.plan_samples, num_iters=config.plan_iters,
                               temperature=config.mppi_temperature,
                               min_std=config.plan_min_std)
      else:
        result = planning.cem(objective, plan_key, jnp.zeros(shape), jnp.ones(shape),
                              num_samples=config.plan_samples, num_elites=config.plan_elites,
                              num_iters=config.plan_iters, min_std=config.plan_min_std)
      return result.mean, result.std

    n = belief.deter.shape[0]
    return jax.vmap(one)(belief, jax.random.split(key, n))


def _optimizer(learning_rate: float, max_grad_norm: float) -> optax.GradientTransformation:
  return optax.chain(optax.clip_by_global_norm(max_grad_norm), optax.adam(learning_rate, eps=1e-7))


def _apply(optimizer, params, grads, opt_state):
  updates, opt_state = optimizer.update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state, optax.global_norm(grads)


def make_agent(config: ml_collections.ConfigDict, observation_shape: tuple[int, ...],
               action_size: int, *, observe=None, observation_spec=None) -> OnlineAgent:
  """The LSP / Dreamer `OnlineAgent` (module doc). Observations are `state.obs` [O] unless
  `observe` (e.g. `lambda s: s.info['image']`) and its `observation_spec` are given.

  Batches are replayed sequences `Transition [B, T]` whose `agent_action` is the env action
  [A], followed for a planning agent (cem / mppi) by the planner's distribution of the skill
  being executed, mean [Z] and std [Z]: `agent_action [..., A + 2Z]` (`agent_action_spec`).
  """
  nets = Networks(config, observation_shape, action_size)
  clip = config.max_grad_norm
  optimizers = {"model": _optimizer(config.model_learning_rate, clip),
                "actor": _optimizer(config.actor_learning_rate, clip),
                "value": _optimizer(config.value_learning_rate, clip)}
  if nets.predictor is not None:
    optimizers["predictor"] = _optimizer(config.predictor_learning_rate, clip)
  uses_skills = nets.skill_size > 0
  planned = config.skill_selection in ("cem", "mppi")  # the replay keeps the plan distribution
  skill_size = nets.skill_size
  stored_size = action_size + (2 * skill_size if planned else 0)

  def model_params(params):
    return {k: params[k] for k in MODEL_PARTS}

  def init(key: jax.Array) -> LSPState:
    params = nets.init(key)
    opt_states = {"model": optimizers["model"].init(model_params(params))}
    for name in optimizers:
      if name != "model":
        opt_states[name] = optimizers[name].init(params[name])
    return LSPState(params=params, opt_states=opt_states, updates=jnp.zeros((), jnp.int32))

  def actor_init(key: jax.Array, num_envs: int) -> ActorState:
    del key
    zeros = jnp.zeros((num_envs, nets.skill_size))
    return ActorState(belief=nets.cell.initial_state((num_envs,)),
                      prev_action=jnp.zeros((num_envs, action_size)),
                      skill=zeros, skill_mean=zeros, skill_std=zeros)

  def act(state: LSPState, observation, key, deterministic, actor: ActorState, phase):
    params = state.params
    post_key, skill_key, noise_key, act_key, random_key = jax.random.split(key, 5)
    belief = nets.posterior(params, actor.belief, actor.prev_action, observation, post_key)
    n = belief.deter.shape[0]
    skill, skill_mean, skill_std = actor.skill, actor.skill_mean, actor.skill_std
    if uses_skills:
      def choose(_):  # -> (skill, skill_mean, skill_std), each [N, Z]
        if config.skill_selection == "random":
          return (nets.sample_skills(skill_key, (n,))[:, 0], jnp.zeros_like(actor.skill_mean),
                  jnp.zeros_like(actor.skill_std))
        plan_mean, plan_std = nets.plan(params, belief, skill_key)  # [N, J, Z]
        plan_mean, plan_std = plan_mean[:, 0], plan_std[:, 0]  # MPC: the first skill's
        if deterministic:
          return jnp.clip(plan_mean, -1.0, 1.0), plan_mean, plan_std
        return nets.skills_from_plan(noise_key, plan_mean, plan_std, 1)[:, 0], plan_mean, plan_std
      skill, skill_mean, skill_std = jax.lax.cond(
          phase % config.skill_period == 0, choose,
          lambda _: (actor.skill, actor.skill_mean, actor.skill_std), None)
    mean, std = nets.actor.apply(params["actor"], belief.features, skill)
    if deterministic:
      action = jnp.tanh(mean)
    else:
      a_key, e_key = jax.random.split(act_key)
      action = jnp.tanh(mean + std * jax.random.normal(a_key, mean.shape))
      action = jnp.clip(action + config.exploration_noise * jax.random.normal(e_key, mean.shape),
                        -1.0, 1.0)
      prefill = jax.random.uniform(random_key, action.shape, minval=-1.0, maxval=1.0)
      action = jnp.where(state.updates > 0, action, prefill)  # Dreamer's random prefill
    agent_action = action
    if planned:
      agent_action = jnp.concatenate([action, skill_mean, skill_std], axis=-1)
    return agent_action, action, ActorState(belief=belief, prev_action=action, skill=skill,
                                            skill_mean=skill_mean, skill_std=skill_std)

  def update(state: LSPState, batch: Transition, key: jax.Array):
    params = state.params
    model_key, skill_key, imagine_key, mi_key, predictor_key, start_key = jax.random.split(key, 6)
    time_major = lambda x: jnp.swapaxes(x, 0, 1)
    obs = jax.tree.map(time_major, batch.observation)
    actions = time_major(batch.agent_action[..., :action_size])
    rewards, ends = time_major(batch.reward), time_major(batch.end)
    length, batch_size = rewards.shape
    if length < 2:
      raise ValueError("LSP/Dreamer learn from sequences: transfer.loop.sequence_length >= 2")
    zeros = jnp.zeros((1, batch_size))
    resets = jnp.concatenate([zeros, ends[:-1]], axis=0) > 0  # an episode starts at t
    prev_actions = jnp.concatenate([jnp.zeros_like(actions[:1]), actions[:-1]], axis=0)
    # The state at t is reached by the step t-1 -> t, whose reward is rewards[t - 1].
    reward_targets = jnp.concatenate([zeros, rewards[:-1]], axis=0)
    reward_mask = jnp.concatenate([zeros, 1.0 - resets[1:]], axis=0)

    def model_loss(wm):
      embeds = nets.encoder.apply(wm["encoder"], obs)
      post, prior, states = rssm.observe(nets.cell, wm["rssm"], embeds, prev_actions, model_key,
                                         nets.cell.initial_state((batch_size,)), resets)
      features = states.features
      decoded = nets.decoder.apply(wm["decoder"], features)
      if nets.pixels:  # Dreamer's unit-variance image likelihood
        reconstruction = jnp.mean(unit_gaussian_nll(decoded, nets.decoder_target(obs), 3))
      else:  # the feature decoder's own std (LSP A.3)
        reconstruction = -jnp.mean(diag_gaussian_log_prob(nets.decoder_target(obs), *decoded))
      reward_nll = unit_gaussian_nll(nets.reward.apply(wm["reward"], features), reward_targets,
                                     event_dims=0)
      reward_loss = jnp.sum(reward_nll * reward_mask) / jnp.maximum(jnp.sum(reward_mask), 1.0)
      kl_loss, kl = kl_with_free_nats(post[0], post[1], prior[0], prior[1], config.free_nats)
      loss = reconstruction + reward_loss + config.kl_scale * kl_loss
      return loss, (states, {"model/reconstruction": reconstruction,
                             "model/reward_nll": reward_loss, "model/kl": jnp.mean(kl)})

    (model_loss_value, (states, metrics)), model_grads = jax.value_and_grad(
        model_loss, has_aux=True)(model_params(params))
    new_model, model_opt, model_norm = _apply(optimizers["model"], model_params(params),
                                              model_grads, state.opt_states["model"])
    metrics = {**metrics, "model/loss": model_loss_value, "model/grad_norm": model_norm}

    # Imagination starts from every filtered state (stop-gradient), with the pre-update model.
    start = jax.tree.map(lambda x: jax.lax.stop_gradient(x.reshape((-1,) + x.shape[2:])), states)
    # Each start's stored plan distribution (mean, std) [T * B, 2Z], in the order of `start`.
    plan = time_major(batch.agent_action[..., action_size:]).reshape(
        (length * batch_size, stored_size - action_size))
    if 0 < config.imagination_starts < length * batch_size:  # a random subset, to bound the cost
      chosen = jax.random.choice(start_key, length * batch_size, (config.imagination_starts,),
                                 replace=False)
      start = jax.tree.map(lambda x: x[chosen], start)
      plan = plan[chosen]
    num_starts = start.deter.shape[0]
    if planned:  # the planner's distributions (module doc, "skills")
      skills = nets.skills_from_plan(skill_key, plan[:, :skill_size], plan[:, skill_size:],
                                     nets.num_skills)
    else:  # random skills (or none: Z = 0)
      skills = nets.sample_skills(skill_key, (num_starts,))

    def actor_loss(actor_params):
      p = {**params, "actor": actor_params}
      imagined, _ = nets.imagine(p, start, skills, imagine_key, sample=True)
      features = imagined.features  # [H, N, F]
      task_reward = nets.reward.apply(params["reward"], features)
      reward = task_reward
      intrinsic = jnp.zeros_like(task_reward)
      if config.mi_weight:
        intrinsic = nets.skill_log_prob(params["predictor"], start.features, features, skills,
                                        mi_key)
        reward = task_reward + config.mi_weight * intrinsic
      returns, weights = nets.task_returns(p, features, reward)
      weights = jax.lax.stop_gradient(weights)
      loss = -jnp.mean(weights * returns)
      return loss, (features, returns, weights, task_reward, intrinsic)

    if config.train_actor:
      (actor_loss_value, aux), actor_grads = jax.value_and_grad(actor_loss, has_aux=True)(
          params["actor"])
      new_actor, actor_opt, actor_norm = _apply(optimizers["actor"], params["actor"],
                                                actor_grads, state.opt_states["actor"])
    else:  # frozen low level: imagine with it, but never update it
      actor_loss_value, aux = actor_loss(params["actor"])
      new_actor, actor_opt, actor_norm = (params["actor"], state.opt_states["actor"],
                                          jnp.zeros(()))
    features, returns, weights, task_reward, intrinsic = jax.tree.map(jax.lax.stop_gradient, aux)

    def value_loss(value_params):
      values = nets.value.apply(value_params, features[:-1])
      return jnp.mean(weights * unit_gaussian_nll(values, returns, event_dims=0))

    value_loss_value, value_grads = jax.value_and_grad(value_loss)(params["value"])
    new_value, value_opt, value_norm = _apply(optimizers["value"], params["value"], value_grads,
                                              state.opt_states["value"])
    new_params = {**new_model, "actor": new_actor, "value": new_value}
    opt_states = {"model": model_opt, "actor": actor_opt, "value": value_opt}
    metrics.update({"actor/loss": actor_loss_value, "actor/grad_norm": actor_norm,
                    "value/loss": value_loss_value, "value/grad_norm": value_norm,
                    "imagined/task_reward": jnp.mean(task_reward),
                    "imagined/return": jnp.mean(returns[0])})
    if nets.predictor is not None:
      def predictor_loss(predictor_params):
        return -jnp.mean(nets.skill_log_prob(predictor_params, start.features, features, skills,
                                             predictor_key))

      pred_loss_value, pred_grads = jax.value_and_grad(predictor_loss)(params["predictor"])
      new_params["predictor"], opt_states["predictor"], _ = _apply(
          optimizers["predictor"], params["predictor"], pred_grads, state.opt_states["predictor"])
      metrics.update({"predictor/nll": pred_loss_value,
                      "imagined/intrinsic_reward": jnp.mean(intrinsic),
                      "imagined/skill_std": jnp.mean(jnp.std(skills, axis=(0, 1)))})
    return LSPState(params=new_params, opt_states=opt_states,
                    updates=state.updates + 1), metrics

  obs_spec = observation_spec
  if obs_spec is None:
    obs_spec = jax.ShapeDtypeStruct(tuple(observation_shape), jnp.float32)
  return OnlineAgent(init=init, act=act, update=update,
                     agent_action_spec=jax.ShapeDtypeStruct((stored_size,), jnp.float32),
                     observe=observe, observation_spec=obs_spec, actor_init=actor_init,
                     decision_period=config.skill_period if uses_skills else 1)


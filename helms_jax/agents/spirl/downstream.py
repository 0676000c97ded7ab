"""SPiRL downstream RL and its baselines: which space SAC acts in, which prior regularises it.

Every method is `agents.sac` over an `ActionSpace` of kind "gaussian" (pre-squash Gaussian
policy, bound * tanh squashing) on either the task env or a `SkillEnv` around it:

  method       env                 policy (init)                       regulariser
  spirl        SkillEnv (H steps)  prior-shaped MLP (= the prior)      KL(pi || p(z|s)), alpha -> delta
  ssp          SkillEnv (H steps)  prior-shaped MLP (fresh)            entropy
  sac          task env            MLP (fresh)                         entropy
  bc_sac       task env            BC's Gaussian MLP (= BC)            entropy
  flat_prior   task env            BC's Gaussian MLP (= BC)            KL(pi || p_BC(a|s)), alpha -> delta

(SPiRL paper, section 5: "SSP w/o prior", "Flat Prior", "BC + SAC", "SAC".) With a mixture
skill prior the SPiRL policy cannot copy it: it starts fresh and the agent's omega schedule
samples behaviour from the prior early on (`transfer.agent.prior_sampling_start`).

The skill-space policy sees observations normalised by the offline dataset's statistics (the
frozen normaliser in the SPiRL checkpoint), as the prior does; flat policies see raw
observations, as BC does. Skills z are squashed into [-bound, bound] (bound 2, SPiRL's
`max_action_range`) before the decoder; raw actions into [-1, 1].
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from helms_jax.agents import sac, spaces
from helms_jax.agents.baselines import bc
from helms_jax.agents.records import OfflineSkills
from helms_jax.agents.spaces import ActionSpace
from helms_jax.agents.spirl import offline as spirl_offline
from helms_jax.envs.base import selected_indices
from helms_jax.envs.skill_env import SkillEnv
from helms_jax.training.normalizer import check_observation_size

METHODS = ("spirl", "ssp", "sac", "bc_sac", "flat_prior")
# method -> the offline learner whose checkpoint it needs (None: none)
OFFLINE_LEARNER = {"spirl": "spirl", "ssp": "spirl", "sac": None, "bc_sac": "bc",
                   "flat_prior": "bc"}
SKILL_METHODS = ("spirl", "ssp")
PRIOR_METHODS = ("spirl", "flat_prior")
SKILL_BOUND = 2.0  # SPiRL's max_action_range for skills
ACTION_BOUND = 1.0  # the envs' action range


def default_agent_config(method: str) -> ml_collections.ConfigDict:
  """`transfer.agent` for `method`: SAC's defaults with the method's regulariser and bound."""
  _check_method(method)
  c = sac.default_config()
  c.regularizer = "prior" if method in PRIOR_METHODS else "entropy"
  c.action_bound = SKILL_BOUND if method in SKILL_METHODS else ACTION_BOUND
  return c


def _check_method(method: str) -> None:
  if method not in METHODS:
    raise ValueError(f"transfer.method={method!r} is not a SPiRL downstream method; valid: "
                     f"{', '.join(METHODS)}")


def _gaussian(dist) -> tuple[jax.Array, jax.Array]:
  return dist.loc, dist.scale_diag


def flat_space(config: ml_collections.ConfigDict, env, offline_params: Any | None
               ) -> ActionSpace:
  """Raw actions: SAC from scratch, BC + SAC, or SAC regularised to the BC flat prior. The flat
  policies (and BC) see the state entries of the observation, not an image group."""
  method = config.transfer.method
  from_bc = method in ("bc_sac", "flat_prior")
  hidden = tuple(config.learner.hidden_sizes if from_bc else config.transfer.policy_hidden)
  network = bc.GaussianPolicy(env.action_size, hidden)
  state = state_indices(env)
  if from_bc:
    _check_params_fit(network, offline_params, len(state), "BC")

  def init_policy(key):
    return offline_params if from_bc else network.init(key, np.zeros((1, len(state))))

  def policy(params, frozen, obs):
    del frozen
    return _gaussian(network.apply(params, jnp.take(obs, state, axis=-1)))

  def bc_prior(frozen, obs):
    return network.apply(frozen, jnp.take(obs, state, axis=-1))

  return ActionSpace(kind="gaussian", size=env.action_size, init_policy=init_policy,
                     policy=policy, decode=lambda frozen, obs, a, key, det: a,
                     prior=bc_prior if method == "flat_prior" else None,
                     frozen=offline_params if method == "flat_prior" else (),
                     critic_input=_state_critic(env))


def state_indices(env) -> np.ndarray:
  """The observation entries outside an `image` group (all of them without one)."""
  groups = getattr(env, "observation_groups", None)
  if groups is None or "image" not in groups:
    return np.arange(env.observation_size)
  lo, hi = groups["image"]
  return np.concatenate([np.arange(lo), np.arange(hi, env.observation_size)])


def _state_critic(env):
  """The critics see the state (an asymmetric actor-critic: with the maze's image group the
  policy reads the views, the critics the position and velocity); None without an image."""
  state = state_indices(env)
  if len(state) == env.observation_size:
    return None
  return lambda obs: jnp.take(obs, state, axis=-1)


def _check_params_fit(network, params, observation_size: int, what: str) -> None:
  """A clear error when an offline checkpoint does not fit the downstream network."""
  expected = jax.eval_shape(network.init, jax.random.PRNGKey(0),
                            np.zeros((1, observation_size), np.float32))
  shapes = lambda tree: jax.tree.map(lambda x: tuple(np.shape(x)), tree)
  if jax.tree.structure(expected) != jax.tree.structure(params) or \
      shapes(expected) != shapes(params):
    raise ValueError(f"the {what} checkpoint does not fit the downstream env ({observation_size} "
                     f"observations): it was trained on another observation/action layout or "
                     f"with other learner.hidden_sizes")


def policy_input_indices(spec: str, prior_inputs: np.ndarray, observation_size: int,
                         groups) -> np.ndarray:
  """The observation entries the skill policy sees (`transfer.policy_inputs`): "prior" (the
  prior's inputs, what the paper's policy sees), "all", or comma-separated group names (e.g.
  "position,velocity": a state-based policy that knows where it is)."""
  if spec == "prior":
    return np.asarray(prior_inputs)
  if spec == "all":
    return np.arange(observation_size)
  names = tuple(n.strip() for n in spec.split(",") if n.strip())
  return selected_indices(groups, names, observation_size, "transfer.policy_inputs")


def widen_first_layer(prior_params: Any, prior_inputs: np.ndarray, policy_inputs: np.ndarray):
  """The prior's parameters as a policy over more inputs: the first layer's rows for the inputs
  the prior does not see are zero, so the policy starts as exactly the prior."""
  prior_inputs, policy_inputs = list(np.asarray(prior_inputs)), list(np.asarray(policy_inputs))
  if prior_inputs == policy_inputs:
    return prior_params
  missing = sorted(set(prior_inputs) - set(policy_inputs))
  if missing:
    raise ValueError(f"transfer.policy_inputs must include every input of the prior (missing "
                     f"observation entries {missing}) for the policy to start as the prior")
  kernel = prior_params["torso"]["dense_0"]["kernel"]  # [I_prior, hidden]
  rows = np.array([policy_inputs.index(i) for i in prior_inputs])
  widened = jnp.zeros((len(policy_inputs),) + kernel.shape[1:], kernel.dtype).at[rows].set(kernel)
  torso = {**prior_params["torso"],
           "dense_0": {**prior_params["torso"]["dense_0"], "kernel": widened}}
  return {**prior_params, "torso": torso}


def skill_space(config: ml_collections.ConfigDict, env, spirl_params: Any
                ) -> tuple[ActionSpace, SkillEnv]:
  """Skills z of the SPiRL checkpoint: the space and the `SkillEnv` executing them on `env`."""
  method, learner = config.transfer.method, config.learner
  check_observation_size(spirl_params, len(state_indices(env)))
  groups = env.observation_groups
  decoder = spirl_offline.make_skill_decoder(learner, env.observation_size, env.action_size,
                                             groups)
  skill_env = SkillEnv(env, decoder, spirl_params, horizon=learner.horizon, z_dim=learner.z_dim)
  prior_net = spirl_offline.make_prior_network(learner)
  gaussian_prior = learner.prior_head == "gaussian"
  policy_net = prior_net if gaussian_prior else spirl_offline.make_prior_network(
      ml_collections.ConfigDict({**learner.to_dict(), "prior_head": "gaussian"}))
  copy_prior = method == "spirl" and gaussian_prior
  spec = config.transfer.get("policy_inputs", "prior")
  if spec == "state":  # spirl's SSP: a fresh MLP over the state (base_conf SplitObsMLPPolicy)
    if copy_prior:
      raise ValueError("transfer.policy_inputs='state' builds a fresh MLP; a SPiRL policy starts "
                       "as the prior and reads its inputs ('prior' or groups that include them)")
    state = state_indices(env)
    policy_net = bc.GaussianPolicy(learner.z_dim, tuple(config.transfer.policy_hidden))
    policy_inputs = lambda params, obs: jnp.take(obs, state, axis=-1)
    num_inputs = len(state)
    widen = lambda params: params
  elif spec == "prior":  # the paper's: the policy reads what the prior reads (views and all)
    policy_inputs, num_inputs = spirl_offline.make_prior_inputs(learner, env.observation_size,
                                                               groups)
    widen = lambda params: params
  else:
    if spirl_offline.image_shape(learner):
      raise ValueError("transfer.policy_inputs other than 'prior' is for state-based priors")
    prior_inputs = spirl_offline.prior_input_indices(learner, env.observation_size, groups)
    inputs = policy_input_indices(spec, prior_inputs, env.observation_size, groups)
    policy_inputs = lambda params, obs: spirl_offline.prior_input(params, obs, inputs)
    num_inputs = len(inputs)
    widen = lambda params: widen_first_layer(params, prior_inputs, inputs)

  def init_policy(key):
    if copy_prior:
      return widen(spirl_offline.prior_params(spirl_params))
    return policy_net.init(key, np.zeros((1, num_inputs), np.float32))["params"]

  def policy(params, frozen, obs):
    return _gaussian(policy_net.apply({"params": params}, policy_inputs(frozen, obs)))

  # (frozen = the SPiRL params, obs) -> p(z | s)
  prior = (spirl_offline.make_skill_prior(learner, env.observation_size, groups)
           if method == "spirl" else None)

  space = ActionSpace(kind="gaussian", size=learner.z_dim, init_policy=init_policy,
                      policy=policy, decode=lambda frozen, obs, z, key, det: z, prior=prior,
                      frozen=spirl_params, critic_input=_state_critic(env))
  if config.transfer.get("uint8_views", False):  # the replay keeps the views in 8 bits
    if groups is None or "image" not in groups:
      raise ValueError("transfer.uint8_views needs an env with an image group")
    space = spaces.with_uint8_views(space, env.observation_size, groups["image"])
  if prior is not None and gaussian_prior and config.transfer.get("cache_prior", False):
    space = spaces.with_cached_prior(space, env.observation_size)
  return space, skill_env


def make_agent(config: ml_collections.ConfigDict, env, skills: OfflineSkills | None):
  """`(OnlineAgent, env it acts in)` for `config.transfer.method` on the task `env` (a
  `Method.make_agent`).

  Args:
    config: the experiment config (`transfer`, and `learner` of the offline checkpoint).
    env: the task env (time-limited, not batched).
    skills: the offline checkpoint (SPiRL or BC), None for `sac`.
  """
  method = config.transfer.method
  _check_method(method)
  needed = OFFLINE_LEARNER[method]
  if needed is not None and skills is None:
    raise ValueError(f"transfer.method={method!r} needs an offline {needed!r} checkpoint")
  params = skills.params if skills is not None else None
  if method in SKILL_METHODS:
    space, env = skill_space(config, env, params)
  else:
    space = flat_space(config, env, params)
  return sac.make_agent(config.transfer.agent, space, env.observation_size), env

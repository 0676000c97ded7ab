"""The action space an online agent acts in: shared by MPO (`agents.mpo`), SAC (`agents.sac`) and
every downstream method built on them (HeLMS-cat/-mix, SPiRL, their baselines)."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import distrax
import jax
import jax.numpy as jnp


class ActionSpace(NamedTuple):
  """What an agent acts in, and how that becomes an env action.

  kind: "mixture" (continuous u [D], policy = mixture of K diagonal Gaussians; K = 1 is a
    Gaussian), "categorical" (u = an index in [0, K)) or "latent_gaussian" (u = (z, a) [Z + A]:
    a Gaussian latent z, then a Gaussian action given z from `low_level`; every parameter is
    trained, e.g. hierarchical BC fine-tuned as a whole), all for MPO; or "gaussian" for SAC
    (`agents.sac`): a diagonal Gaussian over a pre-squash u [D], the agent's action being
    a = bound * tanh(u).
  size: D for mixture and gaussian, K for categorical, Z + A for latent_gaussian.
  init_policy: `key -> policy params` (may copy offline skills).
  policy: `(policy_params, frozen, obs [B, obs]) -> dist params`: (logits [B, K], means [B, K, D],
    stds [B, K, D]) for mixture, logits [B, K] for categorical, (mean [B, D], std [B, D]) of the
    pre-squash u for gaussian, (mean [B, Z], std [B, Z]) of the latent for latent_gaussian.
  decode: `(frozen, obs [N, obs], u [N, *u], key, deterministic) -> env action [N, act]`; for
    gaussian it receives the squashed action a = bound * tanh(u).
  prior: `(frozen, obs [B, obs]) -> dist params like policy`, or None (no KL regulariser); for
    gaussian a `distrax.Distribution` over u with event shape [D] (`MultivariateNormalDiag`:
    analytic KL; `MixtureSameFamily`: sampled KL).
  frozen: pytree the decoder/prior/policy read and nothing trains (e.g. the offline skills).
  observe / observation_spec: what the agent sees (see `OnlineAgent`); None = the flat state.
    With a pytree observation (e.g. {"state", "image"}) every function above receives it.
  critic_input: `obs -> [B, C]` the critic's input (the asymmetric actor-critic gives it the
    state while the policy sees pixels); None = `obs` itself.
  critic: `hidden sizes -> flax module (critic_input(obs), u) -> [B]`, a critic network of its
    own (MPO from pixels: `networks.PixelContinuousCritic`); None = an MLP on a flat input.
  low_level: latent_gaussian only: `(policy_params, frozen, obs [B, obs], z [..., B, Z]) ->
    (mean, std) [..., B, A]` of the action given z (trained with the policy); None otherwise.
  """
  kind: str
  size: int
  init_policy: Callable[[jax.Array], Any]
  policy: Callable[..., Any]
  decode: Callable[..., jax.Array]
  prior: Callable[..., Any] | None
  frozen: Any = ()
  observe: Callable[..., Any] | None = None
  observation_spec: Any = None
  critic_input: Callable[[Any], jax.Array] | None = None
  low_level: Callable[..., Any] | None = None
  critic: Callable[[tuple[int, ...]], Any] | None = None


def with_cached_prior(space: ActionSpace, observation_size: int) -> ActionSpace:
  """`space` with its frozen prior evaluated once per env step, when observed, and stored with
  the observation, instead of at every replayed state of every update.

  A prior that nothing trains gives the same output whenever it is evaluated, so the agent can
  read it from the replay. A Gaussian prior (`distrax.MultivariateNormalDiag`, event [D]) is
  stored as {"state": obs [O] (or what the space's own `observe` keeps), "prior_loc": [D],
  "prior_scale": [D]} and `prior` returns `MultivariateNormalDiag(prior_loc, prior_scale)`; a
  prior given as a tuple of arrays (HeLMS-mix's (logits [K], means [K, D], stds [K, D])) as
  {"state": ..., "prior": that tuple}, returned as stored. Policy, decode and critic see "state"
  as before. For SPiRL's image prior this drops the two conv passes of the prior (at s and s')
  from each SAC update; for HeLMS-mix, the K mid-level networks at every replayed state of the
  KL in the critic's return and at the policy's states.

  Args:
    space: a space whose `prior(frozen, obs)` returns one of the two, over flat observations or
      over its own `observe`'s (e.g. `with_uint8_views`), which then becomes "state".
    observation_size: O, the env's flat observation size.
  """
  if space.prior is None:
    raise ValueError("with_cached_prior needs a space with a prior")
  inner_observe = space.observe or (lambda env_state: env_state.obs)
  inner_spec = (space.observation_spec if space.observe is not None
                else jax.ShapeDtypeStruct((observation_size,), jnp.float32))
  batched = jax.tree.map(lambda s: jax.ShapeDtypeStruct((1,) + s.shape, s.dtype), inner_spec)
  probe = jax.eval_shape(space.prior, space.frozen, batched)
  gaussian = isinstance(probe, distrax.MultivariateNormalDiag)
  if not gaussian and not (isinstance(probe, tuple) and all(
      isinstance(x, jax.ShapeDtypeStruct) and x.shape[:1] == (1,) for x in probe)):
    raise ValueError(f"with_cached_prior caches a Gaussian (MultivariateNormalDiag) prior or a "
                     f"tuple of arrays, got {type(probe).__name__}")
  prior, frozen, size = space.prior, space.frozen, space.size
  critic_input = space.critic_input or (lambda obs: obs)

  if gaussian:  # the layout SPiRL's replays (and checkpoints) have
    pack = lambda dist: {"prior_loc": dist.loc, "prior_scale": dist.scale_diag}
    prior_spec = {"prior_loc": jax.ShapeDtypeStruct((size,), jnp.float32),
                  "prior_scale": jax.ShapeDtypeStruct((size,), jnp.float32)}
    stored = lambda frozen, obs: distrax.MultivariateNormalDiag(obs["prior_loc"],
                                                                obs["prior_scale"])
  else:
    pack = lambda parts: {"prior": tuple(parts)}
    prior_spec = {"prior": tuple(jax.ShapeDtypeStruct(x.shape[1:], x.dtype) for x in probe)}
    stored = lambda frozen, obs: tuple(obs["prior"])

  def observe(env_state):
    state = inner_observe(env_state)
    return {"state": state, **pack(prior(frozen, state))}

  return space._replace(
      policy=lambda params, frozen, obs: space.policy(params, frozen, obs["state"]),
      decode=lambda frozen, obs, u, key, det: space.decode(frozen, obs["state"], u, key, det),
      prior=stored, observe=observe, observation_spec={"state": inner_spec, **prior_spec},
      critic_input=lambda obs: critic_input(obs["state"]))


def with_uint8_views(space: ActionSpace, observation_size: int,
                     views: tuple[int, int]) -> ActionSpace:
  """`space` with the observation's views (entries `views = (lo, hi)`, values in [0, 1]) kept as
  uint8, a quarter of float32's memory in the replay (the paper's images are 8-bit too).

  The observation becomes {"state": obs without the views [O - V] float32, "views": [V] uint8 =
  round(255 * views)}; every function of `space` receives the flat observation rebuilt from it
  (views / 255: within 1/510 of the env's), when acting as when learning, so the agent sees one
  thing. Nothing else changes.

  Args:
    space: a space over flat observations (no `observe`).
    observation_size: O, the env's flat observation size.
    views: the [lo, hi) range of the views in the flat observation.
  """
  if space.observe is not None:
    raise ValueError("with_uint8_views needs a space over flat observations (no observe)")
  lo, hi = (int(v) for v in views)
  if not 0 <= lo < hi <= observation_size:
    raise ValueError(f"views {views} are not a range of the {observation_size} observation "
                     f"entries")

  def observe(env_state):
    obs = env_state.obs
    pixels = jnp.round(jnp.clip(obs[..., lo:hi], 0.0, 1.0) * 255.0).astype(jnp.uint8)
    return {"state": jnp.concatenate([obs[..., :lo], obs[..., hi:]], axis=-1),
            "views": pixels}

  def flat(obs):
    state = obs["state"]
    return jnp.concatenate([state[..., :lo], obs["views"].astype(jnp.float32) / 255.0,
                            state[..., lo:]], axis=-1)

  spec = {"state": jax.ShapeDtypeStruct((observation_size - (hi - lo),), jnp.float32),
          "views": jax.ShapeDtypeStruct((hi - lo,), jnp.uint8)}
  critic_input = space.critic_input or (lambda obs: obs)
  low_level = space.low_level
  return space._replace(
      policy=lambda params, frozen, obs: space.policy(params, frozen, flat(obs)),
      decode=lambda frozen, obs, u, key, det: space.decode(frozen, flat(obs), u, key, det),
      prior=(None if space.prior is None
             else lambda frozen, obs: space.prior(frozen, flat(obs))),
      observe=observe, observation_spec=spec,
      critic_input=lambda obs: critic_input(flat(obs)),
      low_level=(None if low_level is None else
                 lambda params, frozen, obs, z: low_level(params, frozen, flat(obs), z)))

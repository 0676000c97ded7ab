"""The action space an online agent acts in: shared by MPO (`agents.mpo`), SAC (`agents.sac`) and
every downstream method built on them (HeLMS-cat/-mix, SPiRL, their baselines)."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax


class ActionSpace(NamedTuple):
  """What an agent acts in, and how that becomes an env action.

  kind: "mixture" (continuous u [D], policy = mixture of K diagonal Gaussians; K = 1 is a
    Gaussian) or "categorical" (u = an index in [0, K)), both for MPO; or "gaussian" for SAC
    (`agents.sac`): a diagonal Gaussian over a pre-squash u [D], the agent's action being
    a = bound * tanh(u).
  size: D for mixture and gaussian, K for categorical.
  init_policy: `key -> policy params` (may copy offline skills).
  policy: `(policy_params, frozen, obs [B, obs]) -> dist params`: (logits [B, K], means [B, K, D],
    stds [B, K, D]) for mixture, logits [B, K] for categorical, (mean [B, D], std [B, D]) of the
    pre-squash u for gaussian.
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

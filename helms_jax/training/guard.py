"""Divergence guard: a run whose loss, gradient norm or parameters stop being finite stops.

A NaN in a long run is never useful: every later update, metric row and checkpoint is NaN too,
and checkpoint rotation would delete the last good state. The loops (`train_offline`,
`train_online`) therefore compute, inside each jitted call, a small `health` array with one fused
reduction over the learner state and the watched metrics, and look at it on the host only where
they already synchronise (before writing metrics, before saving a checkpoint). A non-finite
state is never saved, so every kept checkpoint is finite and the newest one is the run's last
good state; the loop raises `DivergenceError` naming the step, the quantity and that checkpoint.

Health encoding (int32 `[2]`, or `[S, 2]` for S seeds): `(index, code)`, index -1 when healthy,
else the position of the first bad update (offline) or iteration (online) within the call;
`code` indexes the names `health_names(...)` returns.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from helms_jax.errors import HelmsError

# A metric is watched when the last '/'-separated part of its name contains one of these.
WATCHED = ("loss", "grad_norm")


class DivergenceError(HelmsError, FloatingPointError):
  """Training produced a non-finite loss, gradient norm or parameter."""


class NonFiniteCheckpointError(HelmsError, ValueError):
  """A checkpoint holds non-finite parameters (the run diverged before it was saved)."""


def watched(names: Iterable[str]) -> list[str]:
  """The sorted metric names the guard checks: losses and gradient norms."""
  return sorted(n for n in names if any(w in n.rsplit("/", 1)[-1] for w in WATCHED))


def all_finite(tree: Any) -> jax.Array:
  """`[]` bool: every floating-point leaf of `tree` is finite (one fused reduction)."""
  leaves = [x for x in jax.tree_util.tree_leaves(tree)
            if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.inexact)]
  if not leaves:
    return jnp.asarray(True)
  return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


def finite_per_row(values: Sequence[jax.Array], num_rows: int) -> jax.Array:
  """`[num_rows, len(values)]` bool: whether each value is finite in each row (a row is an update
  or iteration; extra axes, e.g. a seed population's, are reduced)."""
  if not values:
    return jnp.ones((num_rows, 0), bool)
  return jnp.stack([jnp.all(jnp.isfinite(jnp.reshape(v, (num_rows, -1))), axis=1)
                    for v in values], axis=1)


def health(row_flags: jax.Array, state_finite: jax.Array) -> jax.Array:
  """The `(index, code)` health of one call.

  Args:
    row_flags: `[R, W]` bool, `finite_per_row` of the W watched quantities over R rows.
    state_finite: `[]` bool, `all_finite` of the state at the end of the call.

  Returns:
    int32 `[2]`: `(-1, -1)` when healthy; else the first bad row and the first bad quantity in
    it, or `(R - 1, W)` when only the final state is non-finite (code W = the state).
  """
  rows, width = row_flags.shape
  row_ok = jnp.all(row_flags, axis=1)
  any_bad_row = ~jnp.all(row_ok)
  first_row = jnp.argmin(row_ok)
  code_in_row = jnp.argmin(row_flags[first_row]) if width else jnp.asarray(0)
  index = jnp.where(any_bad_row, first_row, jnp.where(state_finite, -1, rows - 1))
  code = jnp.where(any_bad_row, code_in_row, jnp.where(state_finite, -1, width))
  return jnp.stack([index, code]).astype(jnp.int32)


def first_problem(pending: Sequence[tuple[int, Any]]) -> tuple[int, int, int, int] | None:
  """The first unhealthy call among `pending` `(first step of the call, health)` pairs (in call
  order), as `(call start, seed index, row index, code)`; None when all are healthy. Fetching
  the health arrays is the only host synchronisation the guard adds."""
  for start, value in pending:
    value = np.asarray(value).reshape(-1, 2)
    bad = np.flatnonzero(value[:, 0] >= 0)
    if bad.size:
      seed = int(bad[0])
      return start, seed, int(value[seed, 0]), int(value[seed, 1])
  return None


def divergence_message(*, what: str, where: str, checkpoint_dir: str,
                       last_checkpoint: int | None) -> str:
  """The one-line report of a diverged run."""
  if last_checkpoint is None:
    return (f"training diverged at {where}: {what} is not finite (NaN or inf); no checkpoint was "
            f"saved before it. Relaunch with a lower learning rate or gradient clipping, or "
            "check the data")
  return (f"training diverged at {where}: {what} is not finite (NaN or inf); nothing after it "
          f"was saved, the newest finite checkpoint is step {last_checkpoint} in "
          f"{checkpoint_dir}. Runs resume exactly, so the same config diverges again: start a "
          "new --workdir with a lower learning rate or gradient clipping, or check the data")

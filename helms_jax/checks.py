"""chex checks at the entry of public kernels (`losses.mixture_elbo`, `losses.mpo`, `planning.cem`).

They look only at static shapes and dtypes, so they run once at trace time and cost nothing under
jit. They complement the kernels' own ValueErrors (which name the argument and the expected
shape, and which the pipeline reports as configuration errors); a failing chex check raises
AssertionError with the argument named in its message.
"""

from __future__ import annotations

import chex


def assert_floating(caller: str, **arrays) -> None:
  """Each named array (None skipped) has a floating-point dtype."""
  for name, x in arrays.items():
    if x is not None:
      chex.assert_type(x, float, custom_message=f"{caller}: {name} must be floating point")


def assert_scalar(caller: str, **values) -> None:
  """Each named value (a Python number or an array) has rank 0."""
  for name, x in values.items():
    chex.assert_rank(x, 0, custom_message=f"{caller}: {name} must be a scalar")

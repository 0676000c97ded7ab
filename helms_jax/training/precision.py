"""Mixed precision as one switch: matrix products in bfloat16, everything else in float32.

`with precision.compute("bfloat16"): ...` makes every flax `Dense`, `DenseGeneral` and `Conv`
traced inside the block multiply in bfloat16 with float32 accumulation (their inputs and
weights are cast to bfloat16 just for the product; the product comes back as float32), and our
own recurrent cells do the same for their gate products (`dot`). Parameters, optimiser state,
biases, activations, normalisation, losses and reductions stay float32, as in big_vision /
flax mixed-precision training with float32 master weights; gradients flow to the float32
parameters through the casts.

The switch acts at trace time (a flax method interceptor and a context variable), so it is
set where a function is traced: the training loops trace their jitted calls inside it
(`LoopConfig.precision`, `OnlineConfig.precision`, from `config.precision`). "float32" (the
default) changes nothing.

Why: on CPUs with AVX512-BF16 (and on GPUs/TPUs) bfloat16 products run about twice the float32
rate (`benchmarks/precision.py` measures each learner both ways).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from typing import Iterator

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from helms_jax.networks import conv

POLICIES = ("float32", "bfloat16")
_COMPUTE_DTYPE: contextvars.ContextVar = contextvars.ContextVar("helms_jax_compute_dtype",
                                                                default=None)


def problem(policy: str) -> str | None:
  """What is wrong with `policy` as a `config.precision` value (None: nothing)."""
  if policy in POLICIES:
    return None
  return f"precision must be one of {POLICIES}, got {policy!r}"


def check(policy: str) -> str:
  if problem(policy):
    raise ValueError(problem(policy))
  return policy


def compute_dtype():
  """The dtype products are computed in inside the current `compute` block (None: float32)."""
  return _COMPUTE_DTYPE.get()


def dot(a: jax.Array, b: jax.Array) -> jax.Array:
  """`a @ b` in the current compute dtype with float32 accumulation and result."""
  dtype = compute_dtype()
  if dtype is None:
    return jnp.dot(a, b)
  return jnp.dot(a.astype(dtype), b.astype(dtype)).astype(jnp.float32)


# XLA:CPU has no kernel for every bfloat16 x bfloat16 -> float32 product ("Unsupported element
# type for DotThunk"), so the product is taken in bfloat16 (accumulated in float32 inside the
# kernel, rounded once on output) and converted back.


def _low_precision_dot_general(dtype, lhs, rhs, dimension_numbers, precision=None,
                               preferred_element_type=None, **kwargs):
  del preferred_element_type
  return lax.dot_general(lhs.astype(dtype), rhs.astype(dtype), dimension_numbers,
                         precision=precision, **kwargs).astype(jnp.float32)


def _low_precision_conv(dtype, lhs, rhs, *args, preferred_element_type=None,
                        conv=lax.conv_general_dilated, **kwargs):
  del preferred_element_type
  return conv(lhs.astype(dtype), rhs.astype(dtype), *args, **kwargs).astype(jnp.float32)


_DOT_MODULES = (nn.Dense, nn.DenseGeneral)
_CONV_MODULES = (nn.Conv,)


def _interceptor(next_fun, args, kwargs, context):
  """Reruns a float32 Dense/Conv call with low-precision products on the same parameters."""
  module = context.module
  dtype = _COMPUTE_DTYPE.get()
  if (dtype is None or context.method_name != "__call__" or module.is_initializing()
      or not isinstance(module, _DOT_MODULES + _CONV_MODULES)
      or getattr(module, "dtype", None) not in (None, jnp.float32)
      # A module with its own product (e.g. our clone below) is left as it is.
      or getattr(module, "dot_general", None) is not None
      or getattr(module, "conv_general_dilated", None) not in (None, conv.patch_conv)):
    return next_fun(*args, **kwargs)
  if isinstance(module, _DOT_MODULES):
    clone = module.clone(parent=None, dot_general=functools.partial(
        _low_precision_dot_general, dtype))
  else:
    clone = module.clone(parent=None, conv_general_dilated=functools.partial(
        _low_precision_conv, dtype, conv=module.conv_general_dilated or lax.conv_general_dilated))
  return clone.apply({"params": module.variables["params"]}, *args, **kwargs)


@contextlib.contextmanager
def compute(policy: str) -> Iterator[None]:
  """Traces the block's matrix products in `policy` ("float32": unchanged; "bfloat16")."""
  if check(policy) == "float32":
    yield
    return
  token = _COMPUTE_DTYPE.set(jnp.bfloat16)
  try:
    with nn.intercept_methods(_interceptor):
      yield
  finally:
    _COMPUTE_DTYPE.reset(token)


def traced_in(policy: str, fn):
  """`fn` whose body is traced inside `compute(policy)` (wrap before `jax.jit`)."""
  if check(policy) == "float32":
    return fn

  @functools.wraps(fn)
  def wrapped(*args, **kwargs):
    with compute(policy):
      return fn(*args, **kwargs)

  return wrapped

"""Mixed precision (`training.precision`): products in bfloat16, parameters and losses float32."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from helms_jax.networks import MLP
from helms_jax.training import precision


def _dot_operand_dtypes(fn, *args) -> set:
  dtypes = set()

  def walk(jaxpr):
    for eqn in jaxpr.eqns:
      if eqn.primitive.name in ("dot_general", "conv_general_dilated"):
        dtypes.update(str(v.aval.dtype) for v in eqn.invars)
      for param in eqn.params.values():
        inner = getattr(param, "jaxpr", None)
        if inner is not None:
          walk(getattr(inner, "jaxpr", inner))

  walk(jax.make_jaxpr(fn)(*args).jaxpr)
  return dtypes


class _Net(nn.Module):
  @nn.compact
  def __call__(self, x):
    x = MLP((64, 64), activate_final=True, layer_norm=True)(x)
    y = nn.Conv(4, (3,), name="conv")(x[..., None])
    return nn.Dense(3)(y.reshape(y.shape[:-2] + (-1,)))


def test_products_run_in_bfloat16_and_everything_else_stays_float32():
  net = _Net()
  x = jax.random.normal(jax.random.PRNGKey(0), (16, 8))
  with precision.compute("bfloat16"):
    params = net.init(jax.random.PRNGKey(1), x)  # initialisation is never intercepted
  assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(params))

  def loss(params, policy):
    with precision.compute(policy):
      return jnp.mean(jnp.square(net.apply(params, x)))

  assert _dot_operand_dtypes(lambda p: loss(p, "float32"), params) == {"float32"}
  assert _dot_operand_dtypes(lambda p: loss(p, "bfloat16"), params) == {"bfloat16"}
  full, low = loss(params, "float32"), loss(params, "bfloat16")
  assert low.dtype == jnp.float32
  np.testing.assert_allclose(low, full, rtol=2e-2)  # bfloat16 keeps ~3 significant digits
  grads = jax.grad(loss)(params, "bfloat16")
  assert all(g.dtype == jnp.float32 and np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
  cos = [np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)
         for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(jax.grad(loss)(params, "float32")))
         if np.linalg.norm(b) > 0]
  assert min(cos) > 0.99, cos  # the same descent direction


def test_training_in_bfloat16_reaches_the_float32_solution():
  """Least squares with a known optimum, trained both ways from the same start."""
  w_true = jax.random.normal(jax.random.PRNGKey(0), (8, 2))
  x = jax.random.normal(jax.random.PRNGKey(1), (256, 8))
  y = x @ w_true
  net = nn.Dense(2, use_bias=False)
  optimizer = optax.adam(3e-2)

  def train(policy):
    params = net.init(jax.random.PRNGKey(2), x)

    @jax.jit
    def step(params, opt_state):
      def loss(p):
        with precision.compute(policy):
          return jnp.mean(jnp.square(net.apply(p, x) - y))
      value, grads = jax.value_and_grad(loss)(params)
      updates, opt_state = optimizer.update(grads, opt_state)
      return optax.apply_updates(params, updates), opt_state, value

    opt_state = optimizer.init(params)
    for _ in range(400):
      params, opt_state, value = step(params, opt_state)
    return params["params"]["kernel"], float(value)

  w32, loss32 = train("float32")
  w16, loss16 = train("bfloat16")
  np.testing.assert_allclose(w32, w_true, atol=1e-3)
  np.testing.assert_allclose(w16, w_true, atol=3e-2)  # bfloat16 rounding of x and w
  assert loss16 < 1e-3 and loss32 < 1e-6


def test_unknown_policy_is_named():
  with pytest.raises(ValueError, match="precision must be one of"):
    with precision.compute("float16"):
      pass

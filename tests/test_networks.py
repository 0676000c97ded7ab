"""Network pieces checked against the library operations they stand in for."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helms_jax.networks import conv


@pytest.mark.parametrize("shape,kernel,strides,padding", [
    ((3, 32, 32, 2), (3, 3), (2, 2), "SAME"),
    ((2, 15, 9, 3), (3, 3), (2, 2), "SAME"),   # odd sizes: uneven SAME padding
    ((2, 11, 10, 4), (3, 2), (1, 2), "VALID"),
    ((2, 7, 7, 1), (5, 5), (1, 1), ((2, 1), (0, 3))),
    ((4, 2, 8, 8, 3), (3, 3), (2, 2), "SAME"),  # extra batch dims
])
def test_loop_conv_equals_flax_conv(shape, kernel, strides, padding):
  """LoopConv (patches + one matmul) computes nn.Conv's function on nn.Conv's parameters,
  values and gradients, inside a scan as well."""
  x = jax.random.normal(jax.random.PRNGKey(0), shape)
  reference = nn.Conv(5, kernel, strides=strides, padding=padding)
  ours = conv.LoopConv(5, kernel, strides=strides, padding=padding)
  params = reference.init(jax.random.PRNGKey(1), x)
  assert jax.tree.map(jnp.shape, ours.init(jax.random.PRNGKey(1), x)) == jax.tree.map(
      jnp.shape, params)
  np.testing.assert_allclose(ours.apply(params, x), reference.apply(params, x), atol=1e-5)

  def loss(module):
    return lambda p, x: jnp.sum(jnp.sin(module.apply(p, x)))
  for a, b in zip(jax.tree.leaves(jax.grad(loss(ours), argnums=(0, 1))(params, x)),
                  jax.tree.leaves(jax.grad(loss(reference), argnums=(0, 1))(params, x))):
    np.testing.assert_allclose(a, b, atol=1e-4)
  in_scan = jax.jit(lambda p, x: jax.lax.scan(lambda c, _: (c, ours.apply(p, x)), 0, None,
                                              length=2)[1])(params, x)
  np.testing.assert_allclose(in_scan[1], reference.apply(params, x), atol=1e-5)


def test_other_convolutions_go_to_lax():
  """Dilated or grouped convolutions are not rewritten: the same numbers as nn.Conv."""
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 12, 12, 4))
  for kwargs in ({"kernel_dilation": (2, 2)}, {"feature_group_count": 2}):
    reference = nn.Conv(4, (3, 3), **kwargs)
    params = reference.init(jax.random.PRNGKey(1), x)
    np.testing.assert_array_equal(conv.LoopConv(4, (3, 3), **kwargs).apply(params, x),
                                  reference.apply(params, x))


def test_split_dense_is_dense_on_the_concatenation():
  """MLP over (obs, u) has nn.Dense's parameters on [obs, u] (same tree, same initial values)
  and computes the same function; vmapped over u with obs fixed, obs's product is taken once
  (one dot over obs in the jaxpr, not batched), and the bfloat16 switch reaches it."""
  from helms_jax.networks import MLP  # pylint: disable=import-outside-toplevel
  from helms_jax.training import precision  # pylint: disable=import-outside-toplevel
  obs = jax.random.normal(jax.random.PRNGKey(0), (4, 7))
  u = jax.random.normal(jax.random.PRNGKey(1), (4, 3))
  net = MLP((16, 8), activate_final=True, layer_norm=True)
  split = net.init(jax.random.PRNGKey(2), (obs, u))
  joined = net.init(jax.random.PRNGKey(2), jnp.concatenate([obs, u], axis=-1))
  jax.tree.map(np.testing.assert_array_equal, split, joined)
  np.testing.assert_allclose(net.apply(split, (obs, u)),
                             net.apply(joined, jnp.concatenate([obs, u], axis=-1)), atol=1e-5)
  samples = jax.random.normal(jax.random.PRNGKey(3), (20, 4, 3))
  batched = lambda p: jax.vmap(lambda a: net.apply(p, (obs, a)))(samples)
  np.testing.assert_allclose(batched(split), jax.vmap(
      lambda a: net.apply(split, jnp.concatenate([obs, a], axis=-1)))(samples), atol=1e-5)
  first_layer_dots = [e for e in jax.make_jaxpr(batched)(split).jaxpr.eqns
                      if e.primitive.name == "dot_general"][:2]
  shapes = sorted(tuple(v.aval.shape) for e in first_layer_dots for v in e.invars)
  assert shapes == [(3, 16), (4, 7), (7, 16), (20, 4, 3)], shapes  # obs [4, 7] unbatched
  with precision.compute("bfloat16"):
    jaxpr = jax.make_jaxpr(lambda p: net.apply(p, (obs, u)))(split)
  dtypes = {str(v.aval.dtype) for e in jaxpr.jaxpr.eqns if e.primitive.name == "dot_general"
            for v in e.invars}
  assert dtypes == {"bfloat16"}


def test_soft_clamped_scale_stays_inside_its_bounds_and_is_monotone():
  """Chua et al.'s soft clamp (LSP's decoder std): inside (min, min + max) for any raw value
  (the closed form of its two softplus steps at the extremes), about init_scale at 0,
  increasing, and a GaussianParams with it has GaussianParams' parameters."""
  from helms_jax.networks.heads import GaussianParams, soft_clamped_scale
  raw = jnp.linspace(-50.0, 50.0, 1001)
  scale = soft_clamped_scale(raw, 1.0, 0.1, 1.5)
  assert bool(jnp.all((scale >= 0.1 - 1e-6) & (scale <= 1.6 + 1e-6)))  # float32 rounding
  assert bool(jnp.all(jnp.diff(scale) >= 0))
  np.testing.assert_allclose(scale[0], 0.1, rtol=1e-4)
  np.testing.assert_allclose(scale[-1], 0.1 + 1.5, rtol=1e-4)
  np.testing.assert_allclose(soft_clamped_scale(jnp.zeros(()), 0.5, 0.01, 100.0), 0.5, rtol=2e-2)
  features = jnp.ones((2, 4))
  clamped, plain = GaussianParams(3, 0.1, 1.0, 1.5), GaussianParams(3, 0.1, 1.0)
  params = clamped.init(jax.random.PRNGKey(0), features)
  assert jax.tree.map(jnp.shape, params) == jax.tree.map(
      jnp.shape, plain.init(jax.random.PRNGKey(0), features))
  big = jax.tree.map(lambda p: 100.0 * p, params)
  _, std = clamped.apply(big, features)
  assert bool(jnp.all((std >= 0.1 - 1e-6) & (std <= 1.6 + 1e-6)))
  with pytest.raises(ValueError, match="min_scale < max_scale"):
    soft_clamped_scale(raw, 1.0, 1.5, 0.1)

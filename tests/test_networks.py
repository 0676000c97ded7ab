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

"""LSP / Dreamer networks: world model parts, skill-conditioned actor, value, skill predictor.

Every part is its own linen module with its own parameter tree (the agent keeps them in one
dict, `{"encoder", "rssm", "decoder", "reward", "actor", "value", "predictor"}`), so a loss
differentiates with respect to exactly the parts it trains and the rest are constants (the actor
gradient flows *through* the world model's dynamics without updating it, as in Dreamer).

Observations enter the encoder as symlog(x) = sign(x) log(1 + |x|) and the decoder reconstructs
symlog(x): Brax observations mix positions, angles and velocities of very different scales, and
this keeps one reconstruction loss meaningful for all of them without dataset statistics (an
online agent has none at the start). The feature decoder outputs a mean and a standard deviation
softly clamped between 0.1 and 1.5 (`heads.soft_clamped_scale`: within (0.1, 1.6)), as the
paper's (A.3, after Chua et al., 2018); the pixel decoder is Dreamer's unit-variance one. The
skill predictor "shares the same architecture and settings as the feature-based decoder": an
MLP with the same clamped Gaussian output.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from helms_jax.networks.conv import ImageEncoder
from helms_jax.networks.heads import GaussianParams
from helms_jax.networks.mlp import MLP


def symlog(x: jax.Array) -> jax.Array:
  return jnp.sign(x) * jnp.log1p(jnp.abs(x))


class ObservationEncoder(nn.Module):
  """`observation [..., O] -> embedding [..., E]` (MLP on symlog(observation))."""
  hidden_sizes: Sequence[int]
  embed_size: int

  @nn.compact
  def __call__(self, observation: jax.Array) -> jax.Array:
    return MLP(tuple(self.hidden_sizes) + (self.embed_size,))(symlog(observation))


# The feature decoder's and the skill predictor's standard deviations (LSP A.3).
MIN_STD, MAX_STD = 0.1, 1.5


class ObservationDecoder(nn.Module):
  """`features [..., F] -> (mean, std) [..., O]` of a diagonal Gaussian over symlog(observation),
  the std softly clamped between MIN_STD and MAX_STD (`heads.soft_clamped_scale`)."""
  hidden_sizes: Sequence[int]
  observation_size: int

  @nn.compact
  def __call__(self, features: jax.Array) -> tuple[jax.Array, jax.Array]:
    x = MLP(tuple(self.hidden_sizes), activate_final=True)(features)
    return GaussianParams(self.observation_size, min_scale=MIN_STD, init_scale=1.0,
                          max_scale=MAX_STD)(x)


class PixelEncoder(nn.Module):
  """`image [..., H, W, C] -> embedding [..., E]`: strided convolutions (`networks.ImageEncoder`)."""
  embed_size: int
  channels: Sequence[int] = (32, 64, 128)

  @nn.compact
  def __call__(self, image: jax.Array) -> jax.Array:
    return ImageEncoder(channels=self.channels, features=self.embed_size)(image)


class PixelDecoder(nn.Module):
  """`features [..., F] -> image mean [..., H, W, C]` in [0, 1] units: a dense layer to a
  (H / 2^L, W / 2^L) map, then L stride-2 transposed convolutions (Dreamer's conv decoder)."""
  image_shape: tuple[int, int, int]
  channels: Sequence[int] = (128, 64, 32)

  @nn.compact
  def __call__(self, features: jax.Array) -> jax.Array:
    height, width, out_channels = self.image_shape
    levels = len(self.channels)
    if height % 2 ** levels or width % 2 ** levels:
      raise ValueError(f"image {self.image_shape} must be divisible by 2^{levels} (one halving "
                       f"per decoder level)")
    batch_shape = features.shape[:-1]
    h0, w0 = height // 2 ** levels, width // 2 ** levels
    x = nn.Dense(h0 * w0 * self.channels[0])(features.reshape((-1, features.shape[-1])))
    x = x.reshape((-1, h0, w0, self.channels[0]))
    for i, c in enumerate(self.channels[1:] + (out_channels,)):
      x = nn.ConvTranspose(c, (4, 4), strides=(2, 2), padding="SAME", name=f"deconv_{i}")(x)
      if i < levels - 1:
        x = nn.elu(x)
    return x.reshape(batch_shape + (height, width, out_channels))


class ScalarHead(nn.Module):
  """`features [..., F] -> [...]`: the reward model and the value function."""
  hidden_sizes: Sequence[int]

  @nn.compact
  def __call__(self, features: jax.Array) -> jax.Array:
    return MLP(tuple(self.hidden_sizes) + (1,))(features)[..., 0]


class SkillActor(nn.Module):
  """The low-level policy q(a | s, z): `features [..., F], skill [..., Z] -> (mean, std) [..., A]`
  of the pre-tanh Gaussian; the action is tanh(mean + std * eps) (Dreamer v1's tanh-Normal: the
  mean is squashed to +-mean_scale, the std starts at `init_std`). Z = 0 is Dreamer's actor."""
  hidden_sizes: Sequence[int]
  action_size: int
  init_std: float = 5.0
  min_std: float = 1e-4
  mean_scale: float = 5.0

  @nn.compact
  def __call__(self, features: jax.Array, skill: jax.Array) -> tuple[jax.Array, jax.Array]:
    x = MLP(tuple(self.hidden_sizes), activate_final=True)(
        jnp.concatenate([features, skill], axis=-1))
    mean, std = GaussianParams(self.action_size, min_scale=self.min_std,
                               init_scale=self.init_std)(x)
    return self.mean_scale * jnp.tanh(mean / self.mean_scale), std


class _SegmentDense(nn.Module):
  """The skill predictor's first layer: `nn.Dense`'s parameters over the concatenation [s_0,
  mask_1 s_1, ..., mask_K s_K, mask] (its names, shapes and initialisation, so checkpoints are
  those of `MLP`'s `dense_0`), evaluated on masked segments, or with `mask` None on every
  prefix of each segment at once. The layer is linear, so prefix i's output is b + s_0 W_0 +
  sum_{k <= i} (s_k W_k + w_k) (w_k the mask's row): a cumulative sum of per-state products, K
  times fewer products than scoring K masked copies of the segment."""
  features: int

  @nn.compact
  def __call__(self, start: jax.Array, segment: jax.Array, mask: jax.Array | None) -> jax.Array:
    from helms_jax.training import precision  # pylint: disable=import-outside-toplevel  (it imports networks)
    f, k = start.shape[-1], segment.shape[-2]
    kernel = self.param("kernel", nn.initializers.lecun_uniform(), (f + k * f + k, self.features),
                        jnp.float32)
    bias = self.param("bias", nn.initializers.zeros_init(), (self.features,), jnp.float32)
    if mask is not None:
      mask = mask.astype(segment.dtype)
      seen = (segment * mask[..., None]).reshape(segment.shape[:-2] + (-1,))
      return precision.dot(jnp.concatenate([start, seen, mask], axis=-1), kernel) + bias
    w_states = kernel[f:f + k * f].reshape(k, f, self.features)
    dtype = precision.compute_dtype() or jnp.float32
    per_state = jnp.einsum("...kf,kfh->...kh", segment.astype(dtype), w_states.astype(dtype),
                           preferred_element_type=jnp.float32) + kernel[f + k * f:]  # [..., K, H]
    first = precision.dot(start, kernel[:f]) + bias
    return first[..., None, :] + jnp.cumsum(per_state, axis=-2)


class _SegmentMLP(nn.Module):
  """`MLP(layer_sizes, activate_final=True)` (ELU, the same parameter tree) whose first layer is
  `_SegmentDense`: [..., layer_sizes[-1]] per masked segment, or [..., K, layer_sizes[-1]] per
  prefix with `mask` None."""
  layer_sizes: Sequence[int]

  @nn.compact
  def __call__(self, start: jax.Array, segment: jax.Array, mask: jax.Array | None) -> jax.Array:
    x = nn.elu(_SegmentDense(self.layer_sizes[0], name="dense_0")(start, segment, mask))
    for i, size in enumerate(self.layer_sizes[1:], start=1):
      x = nn.elu(nn.Dense(size, kernel_init=nn.initializers.lecun_uniform(), name=f"dense_{i}")(x))
    return x


class SkillPredictor(nn.Module):
  """The backward skill predictor q(z | {s}, s_0) of LSP (section 3.2): `start [..., F]` (the
  segment's first state s_0), `segment [..., K, F]` (the states s_1..s_K after each of the
  skill's K steps), `mask [..., K]` (1 = a state seen so far) -> (mean, std) [..., Z] of a
  diagonal Gaussian over the skill being executed. With `mask` None: every prefix's (s_0 and
  s_1..s_i, i = 1..K) distribution at once, (mean, std) [..., K, Z], the same numbers as K
  masked calls for K times fewer first-layer products (`_SegmentDense`).

  An MLP over the concatenation [s_0, mask_1 s_1, ..., mask_K s_K, mask] (the paper's predictor
  "shares the same architecture and settings as the feature-based decoder", an MLP): masked
  states are zeros and the mask itself is an input, so one network scores every prefix of a
  segment (the reward at step i of a skill reads s_0..s_i) and, with the mask all ones, the
  whole K-step segment.
  """
  hidden_sizes: Sequence[int]
  skill_size: int
  min_std: float = MIN_STD
  max_std: float = MAX_STD

  @nn.compact
  def __call__(self, start: jax.Array, segment: jax.Array,
               mask: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    x = _SegmentMLP(tuple(self.hidden_sizes), name="MLP_0")(start, segment, mask)
    return GaussianParams(self.skill_size, min_scale=self.min_std, init_scale=1.0,
                          max_scale=self.max_std)(x)

"""SPiRL networks (Pertsch et al. 2020): skill encoder, two skill decoders, skill prior.

  encoder      q(z | a_{0:H-1} [, s_{0:H-1}])  one LSTM layer over the H steps, Gaussian head on
                                               its final state;
  decoder      open_loop:   an LSTM unrolled H steps with z as its input at every step, a linear
                            layer per step to the action (no state input: the skill is a fixed
                            action sequence);
               closed_loop: an MLP on [s_t, z] -> a_t at every step (SPiRL's closed-loop variant);
               both are the means of unit-variance Gaussians over actions;
  prior        p(z | s_0)  an MLP with a diagonal-Gaussian head, or a Gaussian-mixture head
                           (`distrax.MixtureSameFamily`, K diagonal components); with an image
                           in its input (the maze's stacked local views), a convolutional encoder
                           first (3 layers, kernel 3, 8/16/32 channels, as the paper), whose
                           flattened feature map joins the state inputs.

The modules take already-normalised observations; normalisation and parameter layout live in
`offline.py`. SPiRL's own open-loop decoder also feeds back its previous output; here the skill
alone drives it (as in the SPiRL paper's description), which keeps a decoder step a function of
(z, LSTM state).
"""

from __future__ import annotations

from typing import Sequence

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp

from helms_jax.networks import MLP, GaussianParams
from helms_jax.networks.conv import LoopConv
from helms_jax.networks.heads import positive_scale
from helms_jax.networks.recurrent import LSTM, LSTMCarry

DECODERS = ("open_loop", "closed_loop")
PRIOR_HEADS = ("gaussian", "mixture")


class SkillEncoder(nn.Module):
  """`inputs [..., H, D] -> (mean [..., Z], std [..., Z])` of q(z | inputs).

  D = action size, or action + observation size when the encoder also sees the states.
  """
  z_dim: int
  lstm_size: int
  min_scale: float = 1e-3

  @nn.compact
  def __call__(self, inputs: jax.Array) -> tuple[jax.Array, jax.Array]:
    _, (_, h) = LSTM(self.lstm_size, name="lstm")(inputs)
    return GaussianParams(self.z_dim, min_scale=self.min_scale, name="head")(h)


class OpenLoopDecoder(nn.Module):
  """LSTM decoder driven by z alone.

  `__call__(z [..., Z]) -> actions [..., H, A]` (the whole skill);
  `step(z [..., Z], carry) -> (action [..., A], carry)` one step of the same computation, with
  the LSTM state `carry = (c, h)`, `[..., lstm_size]` each (zeros before the first step), so H
  steps reproduce `__call__` exactly.
  """
  action_size: int
  lstm_size: int
  horizon: int

  def setup(self):
    self.lstm = LSTM(self.lstm_size)
    self.out = nn.Dense(self.action_size)

  def __call__(self, z: jax.Array) -> jax.Array:
    inputs = jnp.broadcast_to(z[..., None, :], z.shape[:-1] + (self.horizon, z.shape[-1]))
    outputs, _ = self.lstm(inputs)
    return self.out(outputs)

  def step(self, z: jax.Array, carry: LSTMCarry) -> tuple[jax.Array, LSTMCarry]:
    outputs, carry = self.lstm(z[..., None, :], initial_carry=carry)
    return self.out(outputs[..., 0, :]), carry

  def zero_carry(self, batch_shape: tuple[int, ...] = ()) -> LSTMCarry:
    """The LSTM state before the first step: `(c, h)` zeros `[*batch_shape, lstm_size]`."""
    zeros = jnp.zeros(tuple(batch_shape) + (self.lstm_size,), jnp.float32)
    return zeros, zeros


class ClosedLoopDecoder(nn.Module):
  """`(z [..., Z], obs [..., O]) -> action [..., A]`: an MLP on the concatenation."""
  action_size: int
  hidden_sizes: Sequence[int]

  @nn.compact
  def __call__(self, z: jax.Array, obs: jax.Array) -> jax.Array:
    z = jnp.broadcast_to(z, obs.shape[:-1] + z.shape[-1:])
    return MLP(tuple(self.hidden_sizes) + (self.action_size,), name="mlp")(
        jnp.concatenate([obs, z], axis=-1))


class SkillPriorNetwork(nn.Module):
  """p(z | s): `obs [..., O] (normalised) -> distrax distribution over [..., Z]`.

  head "gaussian": `MultivariateNormalDiag(mean, std)`, mean/std from `GaussianParams`;
  head "mixture": `MixtureSameFamily` of `num_components` diagonal Gaussians (logits [..., K],
  means and stds [..., K, Z]).
  """
  z_dim: int
  hidden_sizes: Sequence[int]
  head: str = "gaussian"
  num_components: int = 5
  min_scale: float = 1e-3
  # (frames, size, size) of an image at the end of the input, () = none; its conv channels.
  image_shape: Sequence[int] = ()
  image_channels: Sequence[int] = (8, 16, 32)

  @nn.compact
  def __call__(self, obs: jax.Array) -> distrax.Distribution:
    if self.image_shape:
      frames, height, width = self.image_shape
      pixels = frames * height * width
      image = obs[..., obs.shape[-1] - pixels:]
      batch = image.shape[:-1]
      x = jnp.moveaxis(image.reshape((-1, frames, height, width)), 1, -1)  # frames = channels
      for i, channels in enumerate(self.image_channels):
        x = nn.relu(LoopConv(channels, (3, 3), strides=(2, 2), name=f"conv_{i}")(x))
      obs = jnp.concatenate([obs[..., :obs.shape[-1] - pixels],
                             x.reshape(batch + (-1,))], axis=-1)
    features = MLP(tuple(self.hidden_sizes), activate_final=True, name="torso")(obs)
    if self.head == "gaussian":
      mean, std = GaussianParams(self.z_dim, min_scale=self.min_scale, name="head")(features)
      return distrax.MultivariateNormalDiag(mean, std)
    if self.head != "mixture":
      raise ValueError(f"prior head {self.head!r}; valid: {', '.join(PRIOR_HEADS)}")
    k, z = self.num_components, self.z_dim
    shape = features.shape[:-1] + (k, z)
    logits = nn.Dense(k, name="logits")(features)
    means = nn.Dense(k * z, name="means")(features).reshape(shape)
    stds = positive_scale(nn.Dense(k * z, name="scales")(features).reshape(shape), 1.0,
                          self.min_scale)
    return distrax.MixtureSameFamily(distrax.Categorical(logits=logits),
                                     distrax.MultivariateNormalDiag(means, stds))


def prior_point(distribution: distrax.Distribution) -> jax.Array:
  """A deterministic skill of the prior, `[..., Z]`: the mean of a Gaussian; the mean of the most
  probable component of a mixture (the mixture's mean may lie between its modes)."""
  if isinstance(distribution, distrax.MixtureSameFamily):
    logits = distribution.mixture_distribution.logits  # [..., K]
    means = distribution.components_distribution.mean()  # [..., K, Z]
    best = jnp.argmax(logits, axis=-1)[..., None, None]
    return jnp.take_along_axis(means, best, axis=-2)[..., 0, :]
  return distribution.mean()

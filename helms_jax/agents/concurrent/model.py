"""Networks of the concurrent-skill CVAE (Pasula, 2020; architecture after Wang et al., 2017).

  TrajectoryEncoder  q(z | s_{0:T}): bidirectional LSTM over the states, attention pooling of its
                     outputs, MLP, diagonal Gaussian [Z]. Also the auxiliary Q_psi(V | tau~) of
                     the variational regulariser (a second instance).
  StateDecoder       P(s_{t+1} | s_{<=t}, z): WaveNet (dilated causal convolutions, globally
                     conditioned on z) ending in a mixture of M Gaussians per state dimension
                     (the multimodal next-state density the paper uses a WaveNet for; M = 1 is
                     a Gaussian), component means = s_t + delta. `__call__` teacher-forced over
                     a sequence; `step` for generation.
  ActionDecoder      pi(a_t | s_t, z): MLP on [s_t, z], diagonal Gaussian [A].
  generate(...)      tau~: s_0 and z -> s_0..s_T by stepping the state decoder in a `lax.scan`,
                     per dimension the most probable component, reparameterised (its mean + its
                     std * noise), so tau~ is differentiable in z and the decoder's parameters
                     (not in the choice of component: a discrete choice has no gradient).

States here are already normalised (the learner normalises with dataset statistics).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from helms_jax.networks.attention import AttentionPooling
from helms_jax.networks.heads import GaussianParams
from helms_jax.networks.mlp import MLP
from helms_jax.networks.recurrent import BidirectionalLSTM
from helms_jax.networks.wavenet import WaveNet
from helms_jax.training.normalizer import NORMALIZED_CLIP


class TrajectoryEncoder(nn.Module):
  """`states [..., T+1, S] -> (mean [..., Z], std [..., Z], attention weights [..., T+1])`."""
  z_dim: int
  hidden_size: int = 64
  attention_size: int = 64
  min_std: float = 1e-3

  @nn.compact
  def __call__(self, states: jax.Array):
    outputs, _ = BidirectionalLSTM(self.hidden_size, name="bilstm")(states)
    context, weights = AttentionPooling(self.attention_size, name="attention")(outputs)
    features = nn.elu(nn.Dense(self.hidden_size, name="hidden")(context))
    mean, std = GaussianParams(self.z_dim, min_scale=self.min_std, name="posterior")(features)
    return mean, std, weights


class StateDecoder(nn.Module):
  """A mixture of M Gaussians per dimension of s_{t+1}: teacher-forced `(states [..., T, S],
  z [..., Z]) -> (logits, means, stds) [..., T, S, M]`; `step(carry, s_t [..., S], z) ->
  (carry, (logits, means, stds) [..., S, M])`."""
  state_size: int
  channels: int = 64
  dilations: Sequence[int] = (1, 2, 4, 8)
  kernel_size: int = 2
  min_std: float = 1e-2
  init_std: float = 0.5
  num_components: int = 1

  def _wavenet_module(self, **module_kwargs) -> WaveNet:
    return WaveNet(channels=self.channels, dilations=tuple(self.dilations),
                   kernel_size=self.kernel_size, skip_channels=self.channels,
                   output_size=self.channels, **module_kwargs)

  def setup(self):
    self.wavenet = self._wavenet_module()
    m = self.num_components
    self.head = GaussianParams(self.state_size * m, min_scale=self.min_std,
                               init_scale=self.init_std)
    self.logits = nn.Dense(self.state_size * m, kernel_init=nn.initializers.zeros)

  def _next(self, states: jax.Array, features: jax.Array):
    shape = features.shape[:-1] + (self.state_size, self.num_components)
    delta, std = self.head(features)
    logits = self.logits(features).reshape(shape)
    return logits, states[..., None] + delta.reshape(shape), std.reshape(shape)

  def __call__(self, states: jax.Array, z: jax.Array):
    return self._next(states, self.wavenet(states, z))

  def step(self, carry, state: jax.Array, z: jax.Array):
    carry, features = self.wavenet.step(carry, state, z)
    return carry, self._next(state, features)

  def initial_carry(self, batch_shape: tuple[int, ...] = ()):
    """The WaveNet's zero queues (usable outside `apply`: it needs no parameters)."""
    return self._wavenet_module(parent=None).initial_carry(batch_shape)  # unbound: no params


class ActionDecoder(nn.Module):
  """`(states [..., S], z [..., Z]) -> (mean, std) [..., A]` (z broadcast over extra dims of
  states, e.g. time)."""
  action_size: int
  hidden_sizes: Sequence[int] = (128, 128)
  min_std: float = 1e-2

  @nn.compact
  def __call__(self, states: jax.Array, z: jax.Array):
    z = jnp.broadcast_to(z[..., None, :], states.shape[:-1] + z.shape[-1:]) \
        if states.ndim == z.ndim + 1 else z
    features = MLP(tuple(self.hidden_sizes), activate_final=True, name="mlp")(
        jnp.concatenate([states, z], axis=-1))
    return GaussianParams(self.action_size, min_scale=self.min_std, name="policy")(features)


def most_probable_component(logits: jax.Array, means: jax.Array, stds: jax.Array
                            ) -> tuple[jax.Array, jax.Array]:
  """Per dimension, the (mean, std) [..., S] of the component with the largest weight, from
  a mixture's `(logits, means, stds) [..., S, M]`."""
  pick = jnp.argmax(logits, axis=-1)[..., None]
  return (jnp.take_along_axis(means, pick, -1)[..., 0],
          jnp.take_along_axis(stds, pick, -1)[..., 0])


def generate(decoder: StateDecoder, params, initial_state: jax.Array, z: jax.Array,
             noise: jax.Array) -> jax.Array:
  """tau~ for one demonstration: `initial_state [S]`, `z [Z]`, `noise [T, S]` (standard normal
  draws times the generation noise scale; zeros give the mean rollout) -> states [T+1, S].

  s_{t+1} = mean_t + std_t * noise_t of each dimension's most probable component, clipped to
  the normaliser's range so that an untrained decoder's rollout stays finite (the data never
  leaves it).
  """
  if initial_state.ndim != 1 or noise.ndim != 2 or noise.shape[1] != initial_state.shape[0]:
    raise ValueError(f"generate expects initial_state [S], noise [T, S]; got "
                     f"{initial_state.shape} and {noise.shape}")

  def body(carry, eps):
    wavenet_carry, state = carry
    wavenet_carry, dist = decoder.apply(params, wavenet_carry, state, z,
                                        method=StateDecoder.step)
    mean, std = most_probable_component(*dist)
    next_state = jnp.clip(mean + std * eps, -NORMALIZED_CLIP, NORMALIZED_CLIP)
    return (wavenet_carry, next_state), next_state

  init = (decoder.initial_carry(()), initial_state)
  _, states = jax.lax.scan(body, init, noise)
  return jnp.concatenate([initial_state[None], states], axis=0)

"""Frozen observation normalisers: dataset statistics stored in a learner's parameters.

Offline learners keep `params['normalizer'] = {'mean': [O], 'std': [O]}` so that a checkpoint is
self-contained (transfer and evaluation need no dataset), and never train it: `freeze_normalizer`
wraps their optimiser so that subtree gets zero updates.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

NORMALIZED_CLIP = 10.0  # |normalised obs| bound: an out-of-distribution state cannot blow up nets


def observation_normalizer(observation_stats: tuple[np.ndarray, np.ndarray] | None,
                           observation_size: int, min_std: float) -> dict[str, np.ndarray]:
  """`{'mean': [O], 'std': [O]}` float32 from the dataset's (mean, std); identity when None.

  `std` is floored at `min_std` (constant dimensions would otherwise divide by ~0).
  """
  if observation_stats is None:
    return {"mean": np.zeros(observation_size, np.float32),
            "std": np.ones(observation_size, np.float32)}
  mean, std = (np.asarray(a, np.float32) for a in observation_stats)
  if mean.shape != (observation_size,) or std.shape != (observation_size,):
    raise ValueError(f"observation_stats must be two [{observation_size}] arrays, got "
                     f"{mean.shape} and {std.shape}")
  return {"mean": mean, "std": np.maximum(std, min_std)}


def normalize(normalizer, obs: jax.Array) -> jax.Array:
  """`obs [..., O] -> [..., O]`: (obs - mean) / std, clipped to +-NORMALIZED_CLIP."""
  x = (obs - normalizer["mean"]) / normalizer["std"]
  return jnp.clip(x, -NORMALIZED_CLIP, NORMALIZED_CLIP)


def freeze_normalizer(optimizer: optax.GradientTransformation) -> optax.GradientTransformation:
  """`optimizer` on every top-level params entry but `'normalizer'`, which gets zero updates."""

  def labels(params):
    return {name: jax.tree_util.tree_map(lambda _: "frozen" if name == "normalizer" else "train",
                                         sub) for name, sub in params.items()}

  return optax.multi_transform({"train": optimizer, "frozen": optax.set_to_zero()}, labels)


def clipped_adam(config) -> optax.GradientTransformation:
  """Adam at `config.learning_rate` after global-norm clipping at `config.max_grad_norm`, on
  every params entry but the normaliser's dataset statistics (the offline learners' optimiser)."""
  return freeze_normalizer(optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                                       optax.adam(config.learning_rate)))


def check_observation_size(params, observation_size: int) -> None:
  """Raises ValueError unless the offline params' normaliser (`params['normalizer']['mean']`,
  [O]) was fit to observations of `observation_size` (e.g. the transfer env's)."""
  size = np.shape(params["normalizer"]["mean"])[-1]
  if size != observation_size:
    raise ValueError(f"the skills were trained on observations of size {size}, but the transfer "
                     f"env has {observation_size}: transfer needs the same state layout")

"""Linen modules: MLPs, distribution heads, vmapped components, attention pooling, WaveNet,
critics (recurrent and RSSM modules are imported from their own files)."""

from helms_jax.networks.attention import AttentionPooling
from helms_jax.networks.components import GaussianComponent, GaussianComponents, LatentController
from helms_jax.networks.conv import ImageEncoder
from helms_jax.networks.critics import ContinuousCritic, DiscreteCritic, PixelContinuousCritic
from helms_jax.networks.heads import GatedCategoricalHead, GaussianHead, GaussianParams
from helms_jax.networks.mlp import MLP
from helms_jax.networks.wavenet import WaveNet

__all__ = ["AttentionPooling", "ContinuousCritic", "DiscreteCritic", "GatedCategoricalHead",
           "GaussianComponent", "GaussianComponents", "GaussianHead", "GaussianParams",
           "ImageEncoder", "LatentController", "MLP", "PixelContinuousCritic", "WaveNet"]

"""Linen modules: MLPs, distribution heads, vmapped components (recurrent, WaveNet and RSSM
modules join with their issues)."""

from helms_jax.networks.components import GaussianComponent, GaussianComponents
from helms_jax.networks.conv import ImageEncoder
from helms_jax.networks.heads import GatedCategoricalHead, GaussianHead, GaussianParams
from helms_jax.networks.mlp import MLP

__all__ = ["GatedCategoricalHead", "GaussianComponent", "GaussianComponents", "GaussianHead",
           "GaussianParams", "ImageEncoder", "MLP"]

"""Linen modules: MLPs and distribution heads (recurrent, WaveNet and RSSM modules join later)."""

from helms_jax.networks.heads import GaussianHead
from helms_jax.networks.mlp import MLP

__all__ = ["GaussianHead", "MLP"]

"""Planning in continuous spaces: the cross-entropy method (skill-space MPC builds on it)."""

from helms_jax.planning.cem import CEMResult, cem

__all__ = ["CEMResult", "cem"]

"""Planning in continuous spaces: the cross-entropy method and MPPI (skill-space MPC in
`agents.lsp` builds on them)."""

from helms_jax.planning.cem import CEMResult, cem
from helms_jax.planning.mppi import mppi

__all__ = ["CEMResult", "cem", "mppi"]

"""Baseline learners: behaviour cloning (BC). The online baselines are methods of the families
whose papers compare with them (MPO in `agents/helms`, SAC in `agents/spirl`, Dreamer in
`agents/lsp`).

LEARNERS holds the record the pipeline reads (`agents/records.py`).
"""

from helms_jax.agents.baselines import bc
from helms_jax.agents.records import OfflineLearner

LEARNERS = {"bc": OfflineLearner(name="bc", label="BC", make_learner=bc.make_learner)}

__all__ = ["bc", "LEARNERS"]

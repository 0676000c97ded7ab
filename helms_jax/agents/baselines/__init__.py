"""Baseline learners: behaviour cloning (BC) and hierarchical BC (a latent Gaussian high level
over a latent-conditioned low level). The online baselines are methods of the families whose
papers compare with them (MPO, BC + MPO and hierarchical BC fine-tuned in `agents/helms`, SAC in
`agents/spirl`, Dreamer in `agents/lsp`).

LEARNERS holds the records the pipeline reads (`agents/records.py`).
"""

from helms_jax.agents.baselines import bc, hier_bc
from helms_jax.agents.records import OfflineLearner

LEARNERS = {"bc": OfflineLearner(name="bc", label="BC", make_learner=bc.make_learner),
            "hier_bc": OfflineLearner(name="hier_bc", label="Hier. BC",
                                      make_learner=hier_bc.make_learner)}

__all__ = ["bc", "hier_bc", "LEARNERS"]

"""NPMP: neural probabilistic motor primitives (Merel et al., 2019), the HeLMS paper's baseline.

model.py       encoder q(z_t | z_{t-1}, x_{t:t+L}), the AR(1) prior, the proprioceptive low level
offline.py     the offline learner (sequential ELBO with the AR(1) prior)
downstream.py  NPMP + KL: a new Gaussian policy over z with MPO, KL to the AR(1) prior

LEARNERS and METHODS are the records the pipeline reads (`agents/records.py`).
"""

from helms_jax.agents.npmp import downstream, model, offline
from helms_jax.agents.records import Method, OfflineLearner

LEARNERS = {"npmp": OfflineLearner(name="npmp", label="NPMP", make_learner=offline.make_learner)}
METHODS = {"npmp_kl": Method(name="npmp_kl", label="NPMP+KL", offline_learner="npmp",
                             make_agent=downstream.make_agent)}

__all__ = ["downstream", "model", "offline", "LEARNERS", "METHODS"]

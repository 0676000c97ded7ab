"""HeLMS: hierarchical latent mixtures of skills (Rao et al., 2022).

model.py    the three-level model (linen) and the transition prior
offline.py  the offline learner (forward-filtered mixture ELBO), skill-conditioned acting,
            posterior skill inference
"""

from helms_jax.agents.helms import model, offline

__all__ = ["model", "offline"]

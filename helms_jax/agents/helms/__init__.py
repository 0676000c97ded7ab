"""HeLMS: hierarchical latent mixtures of skills (Rao et al., 2022).

model.py       the three-level model (linen) and the transition prior
offline.py     the offline learner (forward-filtered mixture ELBO), skill-conditioned acting,
               posterior skill inference
downstream.py  transfer with MPO: HeLMS-cat, HeLMS-mix and the MPO baselines (from scratch,
               BC + MPO, hierarchical BC fine-tuned, the asymmetric actor-critic and MPO from
               pixels;
               NPMP + KL is `agents/npmp`)

LEARNERS and METHODS are the records the pipeline reads (`agents/records.py`).
"""

from helms_jax.agents.helms import downstream, model, offline
from helms_jax.agents.records import Method, OfflineLearner

LEARNERS = {
    "helms": OfflineLearner(name="helms", label="HeLMS", make_learner=offline.make_learner,
                            analysis="helms_jax.analysis.helms:analyze_run"),
}
METHODS = {
    "mpo": Method(name="mpo", label="MPO", make_agent=downstream.mpo_agent(downstream.mpo_space)),
    "bc_mpo": Method(name="bc_mpo", label="BC+MPO", offline_learner="bc",
                     make_agent=downstream.mpo_agent(downstream.bc_mpo_space)),
    "helms_cat": Method(name="helms_cat", label="HeLMS-cat", offline_learner="helms",
                        make_agent=downstream.mpo_agent(downstream.helms_cat_space)),
    "helms_mix": Method(name="helms_mix", label="HeLMS-mix", offline_learner="helms",
                        make_agent=downstream.mpo_agent(downstream.helms_mix_space)),
    "asymmetric_ac": Method(name="asymmetric_ac", label="Asymmetric AC",
                            make_agent=downstream.mpo_agent(downstream.asymmetric_ac_space)),
    "mpo_pixels": Method(name="mpo_pixels", label="MPO (pixels)",
                         make_agent=downstream.mpo_agent(downstream.mpo_pixels_space)),
    "hier_bc": Method(name="hier_bc", label="Hier. BC", offline_learner="hier_bc",
                      make_agent=downstream.mpo_agent(downstream.hier_bc_space)),
}

__all__ = ["downstream", "model", "offline", "LEARNERS", "METHODS"]

"""SPiRL: skill prior RL (Pertsch et al., 2020): offline skills and downstream methods.

model.py    encoder q(z | a_{0:H-1}), open-loop (LSTM) and closed-loop (MLP) skill decoders,
            skill prior p(z | s_0) (Gaussian or Gaussian-mixture head)
offline.py  the learner (skill VAE + prior, trained jointly), and the helpers downstream RL uses:
            make_skill_prior, make_skill_decoder (SkillDecoder), make_prior_network,
            prior_params, prior_input / prior_input_indices, normalize_observation
downstream.py the downstream methods (spirl, ssp, sac, bc_sac, flat_prior) as SAC spaces

LEARNERS and METHODS are the records the pipeline reads (`agents/records.py`).
"""

from helms_jax.agents.records import Method, OfflineLearner
from helms_jax.agents.spirl import downstream, model, offline
from helms_jax.agents.spirl.offline import (SkillDecoder, make_prior_network, make_skill_decoder,
                                            make_skill_prior, normalize_observation, prior_input,
                                            prior_input_indices, prior_params)

LEARNERS = {
    "spirl": OfflineLearner(name="spirl", label="SPiRL skills", make_learner=offline.make_learner,
                            make_sampler=offline.make_run_sampler,
                            analysis="helms_jax.analysis.spirl:analyze_run"),
}
# (SPiRL paper, section 5: "SSP w/o prior", "SAC", "BC + SAC", "Flat Prior".)
_LABELS = {"spirl": "SPiRL", "ssp": "SSP", "sac": "SAC", "bc_sac": "BC+SAC",
           "flat_prior": "Flat prior"}
METHODS = {name: Method(name=name, label=_LABELS[name], offline_learner=downstream.OFFLINE_LEARNER[name],
                        make_agent=downstream.make_agent) for name in downstream.METHODS}

__all__ = ["downstream", "model", "offline", "LEARNERS", "METHODS", "SkillDecoder",
           "make_prior_network", "make_skill_decoder", "make_skill_prior",
           "normalize_observation", "prior_input", "prior_input_indices", "prior_params"]

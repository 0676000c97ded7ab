"""SPiRL: skill prior RL (Pertsch et al., 2020): offline skills and downstream methods.

model.py    encoder q(z | a_{0:H-1}), open-loop (LSTM) and closed-loop (MLP) skill decoders,
            skill prior p(z | s_0) (Gaussian or Gaussian-mixture head)
offline.py  the learner (skill VAE + prior, trained jointly), and the helpers downstream RL uses:
            make_skill_prior, make_skill_decoder (SkillDecoder), make_prior_network,
            prior_params, prior_input / prior_input_indices, normalize_observation
downstream.py the downstream methods (spirl, ssp, sac, bc_sac, flat_prior) as SAC spaces
"""

from helms_jax.agents.spirl import model, offline
from helms_jax.agents.spirl.offline import (SkillDecoder, make_prior_network, make_skill_decoder,
                                            make_skill_prior, normalize_observation, prior_input,
                                            prior_input_indices, prior_params)

__all__ = ["model", "offline", "SkillDecoder", "make_prior_network", "make_skill_decoder",
           "make_skill_prior", "normalize_observation", "prior_input", "prior_input_indices",
           "prior_params"]

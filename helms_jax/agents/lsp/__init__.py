"""Latent Skill Planning (and Dreamer as its no-skill configuration): `agent.make_agent`.

METHODS maps a `transfer.method` to the agent settings that define it (the experiment configs
write them into `transfer.agent`, so a run's config.json shows what ran).
"""

from helms_jax.agents.lsp.agent import (ActorState, LSPState, Networks, SKILL_SELECTIONS,
                                        default_config, make_agent)

METHODS = {
    "lsp": dict(skill_selection="cem", mi_weight=1.0),
    "lsp_no_mi": dict(skill_selection="cem", mi_weight=0.0),
    "random_skills": dict(skill_selection="random", mi_weight=1.0),
    "random_skills_no_mi": dict(skill_selection="random", mi_weight=0.0),
    "dreamer": dict(skill_selection="none", skill_size=0, mi_weight=0.0),
}
OFFLINE_LEARNER = {method: None for method in METHODS}  # all learn online from scratch
LABELS = {"lsp": "LSP", "lsp_no_mi": "LSP (no MI)", "random_skills": "Random skills",
          "random_skills_no_mi": "Random skills (no MI)", "dreamer": "Dreamer"}

__all__ = ["ActorState", "LSPState", "Networks", "SKILL_SELECTIONS", "default_config",
           "make_agent", "METHODS", "OFFLINE_LEARNER", "LABELS"]

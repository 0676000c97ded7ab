"""Latent Skill Planning (and Dreamer as its no-skill configuration): `agent.make_agent`."""

from helms_jax.agents.lsp.agent import (ActorState, LSPState, Networks, SKILL_SELECTIONS,
                                        default_config, make_agent)

__all__ = ["ActorState", "LSPState", "Networks", "SKILL_SELECTIONS", "default_config",
           "make_agent"]

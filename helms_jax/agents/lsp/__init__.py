"""Latent Skill Planning (and Dreamer as its no-skill configuration).

model.py       world-model parts (symlog MLP / conv encoder and decoder, scalar heads), the
               skill-conditioned actor, the backward skill predictor
downstream.py  LSP and Dreamer as one online agent (world model, imagination, skill planning)
warm_start.py  starting a new task from a source-task run (relabelled replay)

AGENT_SETTINGS maps a `transfer.method` to the agent settings that define it (the experiment
configs write them into `transfer.agent`, so a run's config.json shows what ran); METHODS are the
records the pipeline reads (`agents/records.py`).
"""

from helms_jax.agents.lsp import model, warm_start
from helms_jax.agents.lsp.downstream import (ActorState, LSPState, Networks, SKILL_SELECTIONS,
                                             default_config, make_agent)
from helms_jax.agents.records import Method

AGENT_SETTINGS = {
    "lsp": dict(skill_selection="cem", mi_weight=1.0),
    "lsp_no_mi": dict(skill_selection="cem", mi_weight=0.0),
    "random_skills": dict(skill_selection="random", mi_weight=1.0),
    "random_skills_no_mi": dict(skill_selection="random", mi_weight=0.0),
    "dreamer": dict(skill_selection="none", skill_size=0, mi_weight=0.0),
}
LABELS = {"lsp": "LSP", "lsp_no_mi": "LSP (no MI)", "random_skills": "Random skills",
          "random_skills_no_mi": "Random skills (no MI)", "dreamer": "Dreamer"}


def _make_agent(config, env, skills):
  """`Method.make_agent`: the world-model agent of `config.transfer.agent`, from scratch."""
  del skills
  return make_agent(config.transfer.agent, (env.observation_size,), env.action_size), env


METHODS = {name: Method(name=name, label=LABELS[name], make_agent=_make_agent,
                        analysis="helms_jax.analysis.lsp:analyze_run",
                        warm_start=warm_start.from_source_run)
           for name in AGENT_SETTINGS}

__all__ = ["ActorState", "LSPState", "Networks", "SKILL_SELECTIONS", "default_config",
           "make_agent", "model", "warm_start", "AGENT_SETTINGS", "LABELS", "METHODS"]

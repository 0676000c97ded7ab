"""SPiRL on block stacking (Pertsch et al., 2020, section 5 "block stacking").

Offline: scripted-expert episodes with 3 blocks (`block_stacking`, towers built one block at a
time) train the skill VAE and the skill prior. Downstream: 5 blocks, "stack as many as you can"
with the dense reward (reaching, grasping, lifting, carrying over the tower, tower height); the
observation keeps 3 block slots (`observed_blocks=3`: the held block, the tower's top, the
nearest block to pick), so data and task share the layout although the task has more blocks.

Variants: `<method>[,tiny]` with the methods of `spirl_maze` (spirl, ssp, sac, bc_sac,
flat_prior). Usage:
  helms-pipeline --config=experiments/spirl_stacking.py:spirl --workdir=runs/blocks/spirl
"""

from __future__ import annotations

import ml_collections

from experiments import _base, spirl_maze

METHODS = spirl_maze.METHODS


def get_config(variant: str = "spirl") -> ml_collections.ConfigDict:
  parts = _base.variant_parts("spirl_stacking", variant, METHODS)
  tiny = "tiny" in parts
  method = _base.choose_one(variant, parts, METHODS, "spirl", "methods")
  c = _base.pipeline_config("spirl_stacking", variant, METHODS)
  c.env.name = "block_stacking"
  c.env.kwargs = {"num_blocks": 3, "observed_blocks": 3, "reward": "dense"}
  c.env.episode_length = 100 if tiny else 300  # the expert finishes a 3-tower by step ~180
  c.data.expert_noise = 0.2
  c.data.num_episodes = 16 if tiny else 1000
  c.data.num_envs = 8 if tiny else 50
  c.data.episodes_per_shard = 16 if tiny else 250
  c.eval.num_episodes = 8 if tiny else 64
  if method in ("bc_sac", "flat_prior"):
    c.learner.name = "bc"
    c.learner.hidden_sizes = (32, 32) if tiny else (256, 256)
    skill_name = "bc"
  else:
    _base.set_spirl_learner(c, tiny)
    skill_name = "default"
  if not tiny:
    c.train.num_steps = 20_000
  spirl_maze.set_downstream(
      c, method, tiny, skill_name=skill_name,
      env_kwargs={"num_blocks": 5, "observed_blocks": 3, "reward": "dense"},
      episode_length=100 if tiny else 1000)
  if c.transfer.agent.regularizer == "prior":
    # The paper's target divergence for the manipulation tasks (App. B: delta = 5; maze: 1).
    c.transfer.agent.target_divergence = 5.0
  return c

"""Concurrent-skill CVAE on the ant (Pasula, 2020, Figure 3): three objectives, 5 seeds each.

Data: `ant_skills` demonstrations by the designed CPG experts (envs/locomotion/skills.py) of
three subskills (forward, turn, raise_leg) and two concurrent composites (forward+turn,
forward+raise_leg). Composite demonstrations are scarce: `learner.composite_train_episodes`
per composite are used for training, against ~all of the subskills', and
`learner.eval_episodes` per behaviour are held out for the metrics. The CVAE models the 29
root and proprioceptive numbers (not the behaviour one-hot). Five seeds train together as one
vmapped population (`train.num_seeds`).

Variants: `<objective>[,tiny]` with objective one of original, variational, non_variational
(`agents.concurrent.OBJECTIVES`). Figure 3 compares the three runs:
  helms-pipeline --config=experiments/concurrent_ant.py:original --workdir=runs/cvae/original
  (likewise variational, non_variational; each generates the same dataset, or point
   --config.data.dir at the first run's data)
  helms-report --runs=runs/cvae/original,runs/cvae/variational,runs/cvae/non_variational \\
      --out=runs/cvae/figure3
"""

from __future__ import annotations

import ml_collections

from experiments import _base

OBJECTIVES = ("original", "variational", "non_variational")


def get_config(variant: str = "non_variational") -> ml_collections.ConfigDict:
  from helms_jax.agents.concurrent import offline  # pylint: disable=import-outside-toplevel
  from helms_jax.envs.locomotion import skills  # pylint: disable=import-outside-toplevel
  parts = _base.variant_parts("concurrent_ant", variant, OBJECTIVES)
  tiny = "tiny" in parts
  objective = _base.choose_one(variant, parts, OBJECTIVES, "non_variational", "objectives")
  c = _base.pipeline_config("concurrent_ant", variant, OBJECTIVES)
  c.env.name = "ant_skills"
  c.env.kwargs = {}
  c.env.episode_length = 40 if tiny else 64
  c.data.expert_noise = 0.1
  c.data.num_episodes = 40 if tiny else 640
  c.data.num_envs = 20 if tiny else 64
  c.data.episodes_per_shard = 40 if tiny else 320
  c.eval.baselines = ()

  c.learner = offline.default_config()
  c.learner.objective = objective
  # lambda against the per-trajectory ELBO (summed over the window): 0.1 per step, the weight
  # the earlier runs used against a per-step ELBO (at 1 per step the regularised runs pulled the
  # embeddings together until the decoder barely used them, docs/results/concurrent_ant).
  c.learner.behaviours = tuple(skills.BEHAVIOURS)
  c.learner.state_groups = ("root_xy", "proprio")
  c.learner.window = 16 if tiny else 32
  c.learner.composite_train_episodes = 4 if tiny else 16
  c.learner.eval_episodes = 2 if tiny else 8
  if tiny:
    c.learner.z_dim = 4
    c.learner.encoder_hidden = c.learner.attention_size = c.learner.auxiliary_hidden = 8
    c.learner.wavenet_channels = 8
    c.learner.dilations = (1, 2)
    c.learner.action_hidden = (16,)
    c.learner.composite_batch = 4
  c.learner.mi_weight = 0.1 * c.learner.window
  c.train.window = c.learner.window
  c.train.num_seeds = 2 if tiny else 5
  c.train.batch_size = 8 if tiny else 32
  c.train.num_steps = 20 if tiny else 2000
  c.train.updates_per_call = 10 if tiny else 50
  c.train.log_every = 10 if tiny else 100
  c.train.checkpoint_every = 20 if tiny else 500
  c.analysis.episodes_per_behaviour = 4 if tiny else 32
  return c

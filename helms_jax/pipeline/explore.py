"""Zero-shot exploration (HeLMS Table 1): each method's policy at the start of RL.

`explore(config, workdir)` rolls out, for every row of `exploration.methods` (a label -> a full
transfer config), the agent its record builds in the env the record returns (e.g. NPMP + KL acts
on latents through its low level, `envs.LatentActionEnv`), and writes returns under the dense /
staged / sparse rewards and state coverage into `<workdir>/exploration.json`
(`analysis.exploration`). Every row sees the same episode resets (the same key).
"""

from __future__ import annotations

import functools
import os
import sys

import jax
import ml_collections

from helms_jax import configs, runs
from helms_jax.analysis import exploration as exploration_lib
from helms_jax.io import git_commit
from helms_jax.pipeline.stage import stage
from helms_jax.pipeline.workdir import prepare_workdir


@stage
def explore(config: ml_collections.ConfigDict, workdir: str) -> list[dict]:
  """Zero-shot exploration of `config.exploration.methods`; skills load from
  `<exploration.skills_root>/<transfer.skills_name>` unless a method's config sets
  `transfer.skills_dir`. Returns the rows written to `exploration.json`."""
  commit = git_commit()  # at launch: the code that runs, whatever lands meanwhile
  ex = config.exploration
  with configs.values_checked_by_builders():
    env = runs.make_env(config, **ex.env_kwargs.to_dict())
  agents_by_label = []
  for label, method_config in ex.methods.items():
    skills_dir = (method_config.transfer.skills_dir or
                  os.path.join(ex.skills_root, method_config.transfer.skills_name))
    with configs.values_checked_by_builders():
      agents_by_label.append((label, *runs.make_transfer_agent(method_config, env, skills_dir)))
  prepare_workdir(config, workdir)
  rows = []
  for i, (label, agent, agent_env) in enumerate(agents_by_label):
    agent_state = agent.init(jax.random.PRNGKey(config.seed + i))
    policy = exploration_lib.ExplorationPolicy(
        name=label, policy_fn=functools.partial(runs.agent_action, act=agent.act,
                                                deterministic=False),
        params=agent_state)
    rows += exploration_lib.explore(agent_env, [policy], num_episodes=ex.num_episodes,
                                    num_steps=config.env.episode_length,
                                    batch_size=ex.batch_size,
                                    key=jax.random.PRNGKey(config.seed))
  if jax.process_index() == 0:
    exploration_lib.write_exploration(
        os.path.join(workdir, "exploration.json"), rows,
        {"env": {**config.env.kwargs.to_dict(), **ex.env_kwargs.to_dict()},
         "command": " ".join(sys.argv), "commit": commit})
  return rows

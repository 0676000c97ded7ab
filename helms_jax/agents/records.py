"""What the pipeline needs to know about a method: one record per offline learner and one per
online (downstream) method, exported by the agent package that implements it and collected by
`helms_jax.methods`.

The pipeline asks a record what to build (a learner and its sampler, an agent and the env it acts
in), what the run's analysis is and how several runs compare; it never compares method names. A
new method is its package (or a module of yours) with a record, registered with
`helms_jax.methods.register_learner` / `register_method`, plus its experiment config.

Analyses and comparison reports are named as "module:function" strings, imported when used: the
analysis modules import the agents, so the records cannot import them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import ml_collections

from helms_jax.training.train_state import Learner


@dataclasses.dataclass(frozen=True)
class OfflineLearner:
  """An offline learner, chosen by `config.learner.name`.

  name: the `config.learner.name` it answers to.
  label: its name in reports.
  make_learner: `(config.learner, observation_size, action_size, *, observation_groups,
    observation_stats, lookahead) -> Learner` (see `training.train_state.Learner`).
  make_sampler: `(config, dataset, env) -> (sample_fn(data, key) -> batch, data)` for one
    learner (`train_offline`'s sampler; `env` the config's, e.g. to render views of stored
    states); None: windows of `train.window` steps with `train.lookahead` observations ahead
    (`data.WindowSampler`).
  shardable: whether its windows can be split over devices (`data.sharded_sample_fn`); a learner
    with its own sampler usually cannot.
  analysis: "module:function" of `fn(config, workdir) -> dict | None`, the analysis of a
    trained run written into `<workdir>/analysis/`; None: none.
  compare: "module:function" of `fn(run_dirs, out_dir, *, last_fraction) -> index.html path`,
    the comparison report of several runs of this learner; None: learning curves of transfer
    runs (`helms-report --runs`).
  """
  name: str
  label: str
  make_learner: Callable[..., Learner]
  make_sampler: Callable[[ml_collections.ConfigDict, Any, Any], tuple[Callable, Any]] | None = None
  shardable: bool = True
  analysis: str | None = None
  compare: str | None = None


class OfflineSkills(NamedTuple):
  """A restored offline checkpoint an online method starts from.

  config: the `learner` config section it was trained with.
  learner: the `Learner` built from it (`learner.model`: its model functions, e.g. HeLMS's).
  params: its trained parameters.
  """
  config: ml_collections.ConfigDict
  learner: Learner
  params: Any


@dataclasses.dataclass(frozen=True)
class Method:
  """An online method (RL on a task, from offline skills or from scratch), chosen by
  `config.transfer.method`.

  name: the `config.transfer.method` it answers to (and the `method` column of results).
  label: its name in reports (a run's `transfer.label` overrides it).
  make_agent: `(config, env, skills: OfflineSkills | None) -> (OnlineAgent, env it acts in)`;
    `env` is the task env (time-limited, unbatched); the method may wrap it (e.g. a `SkillEnv`
    executing H-step skills).
  offline_learner: the name of the offline learner whose checkpoint it needs; None: it learns
    from scratch (the pipeline then skips data and offline training).
  analysis: "module:function" of `fn(config, workdir) -> dict | None` for a finished online run;
    None: none.
  warm_start: `(config, env, source OnlineState) -> (stacked OnlineState -> OnlineState)`, how
    a run starts from another online run (`transfer.source_dir`); None: not supported.
  """
  name: str
  label: str
  make_agent: Callable[..., tuple[Any, Any]]
  offline_learner: str | None = None
  analysis: str | None = None
  warm_start: Callable[..., Callable] | None = None

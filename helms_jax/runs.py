"""What a run's config builds, and what a run directory holds.

Shared by the pipeline's stages (`helms_jax.pipeline`) and the analyses (`helms_jax.analysis`):
the env of a config (`make_env`, `make_transfer_env`), its offline learner (`make_learner`, from
the learner's record), its online agent (`make_transfer_agent`, from the method's record), and
the saved state of a run directory (`restore_learner_state`, `load_skills`, `load_offline_run`,
`load_online_run`), and a run's trained policy as a library user rolls it out (`load_policy`,
exported as `helms_jax.load_policy`; `learner_policy` and `agent_policy` are the same policies
the evaluation and exploration stages roll out). Everything here reads; the stages write.

A run directory (`--workdir`) holds `config.json` (the config of its latest launch), `data/`
(unless `data.dir` points elsewhere), `checkpoints/<step>/` (offline), `transfer/` (online:
`checkpoints/`, `curves.jsonl`, `run.json`), `metrics.jsonl`, `analysis/`, `report/`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from helms_jax import configs, data as data_lib, envs, methods
from helms_jax.errors import HelmsError
from helms_jax.agents.records import OfflineSkills
from helms_jax.training import population, precision
from helms_jax.training.checkpoint import Checkpointer, CheckpointNotFoundError
from helms_jax.training.offline_loop import init_loop_state
from helms_jax.training.online_loop import OnlineConfig, make_online_fns
from helms_jax.training.train_state import Learner, OnlineAgent


class NotARunError(HelmsError, FileNotFoundError):
  """A directory given as a run (skills, a source run) holds no helms_jax run."""


class PolicyLoadError(HelmsError, ValueError):
  """A run's policy cannot be loaded as asked (no policy, an unsupported agent, a bad seed)."""


def has_checkpoint(path: str) -> bool:
  """Whether the checkpoint directory `path` holds a saved step."""
  return os.path.isdir(path) and any(e.name.isdigit() for e in os.scandir(path))


def dataset_dir(config: ml_collections.ConfigDict, workdir: str) -> str:
  return config.data.dir or os.path.join(workdir, "data")


def has_env(config: ml_collections.ConfigDict) -> bool:
  """False for dataset-only experiments (`env.name = ''`, e.g. an imported D4RL file with no
  simulator here): they train offline, and evaluation, analysis and transfer are skipped."""
  return bool(config.env.get("name"))


def make_env(config: ml_collections.ConfigDict, episode_length: int | None = None,
             **kwarg_overrides):
  """The configured env with its time limit (not batched, not auto-reset).

  `kwarg_overrides` replace entries of `config.env.kwargs` (e.g. `object_set` per data group);
  an override of None removes the entry (the env's default). `episode_length` replaces
  `config.env.episode_length` (the transfer task's own limit).
  """
  kwargs = {k: v for k, v in {**config.env.kwargs.to_dict(), **kwarg_overrides}.items()
            if v is not None}
  env = envs.make(config.env.name, **kwargs)
  return envs.EpisodeWrapper(env, episode_length=episode_length or config.env.episode_length)


def make_transfer_env(config: ml_collections.ConfigDict):
  """The transfer task: `config.env` with `transfer.env_kwargs` and the task's own time limit
  (`transfer.episode_length`, 0 or absent: `env.episode_length`)."""
  return make_env(config, episode_length=config.transfer.get("episode_length", 0),
                  **config.transfer.env_kwargs.to_dict())


class DataSpec:
  """Observation/action sizes of a dataset, standing in for the env of a dataset-only run."""

  def __init__(self, dataset):
    self.observation_size = int(dataset.schema["observation"].shape[-1])
    self.action_size = int(dataset.schema["action"].shape[-1])


def observation_statistics(dataset) -> tuple[np.ndarray, np.ndarray]:
  """Per-dimension mean and std of a dataset's observations: two [obs_dim] float32 arrays."""
  obs = np.asarray(dataset.fields["observation"], np.float64)
  obs = obs.reshape(-1, obs.shape[-1])
  return obs.mean(0).astype(np.float32), obs.std(0).astype(np.float32)


def num_population_seeds(config: ml_collections.ConfigDict) -> int:
  """`train.num_seeds` (default 1): seeds trained together as one vmapped population."""
  num_seeds = int(config.train.get("num_seeds", 1))
  if num_seeds < 1:
    raise configs.ConfigError(f"train.num_seeds must be >= 1, got {num_seeds}")
  return num_seeds


def make_learner(config: ml_collections.ConfigDict, env, dataset=None) -> Learner:
  """The configured offline learner for `env` (`make_env(config)`; observation groups come from
  it; a dataset-only run passes `env=None` and takes the sizes from `dataset`).

  With `dataset`, its observation statistics initialise learners that normalise inputs; without
  (evaluation, analysis) they come from the restored checkpoint instead. With `train.num_seeds`
  > 1, the seeds form one vmapped population (learners without a policy only).
  """
  if env is None:
    if dataset is None:
      raise ValueError("make_learner needs an env or a dataset to size the learner")
    env = DataSpec(dataset)
  learner = methods.make_learner(
      config.learner, env.observation_size, env.action_size,
      observation_groups=getattr(env, "observation_groups", None),
      observation_stats=observation_statistics(dataset) if dataset is not None else None,
      lookahead=config.train.lookahead)
  num_seeds = num_population_seeds(config)
  if num_seeds == 1:
    return learner
  if learner.policy is not None:
    raise configs.ConfigError(
        f"train.num_seeds={num_seeds}: seed populations are implemented for learners without a "
        f"policy (the concurrent CVAE), not for {config.learner.name!r}; train its seeds as "
        "separate runs")
  return population.vmap_learner(learner, num_seeds)


def restore_learner_state(config: ml_collections.ConfigDict, workdir: str, learner: Learner):
  """`(LoopState, step)` of the newest intact offline checkpoint in `workdir` (read-only: a
  damaged step is skipped, not moved). Raises CheckpointNotFoundError without one, and
  NonFiniteCheckpointError for a diverged one."""
  directory = os.path.join(workdir, "checkpoints")
  missing = CheckpointNotFoundError(f"no checkpoint in {directory}: run helms-train first")
  if not has_checkpoint(directory):
    raise missing
  checkpointer = Checkpointer(directory, read_only=True)
  try:
    state, step = checkpointer.restore_latest(init_loop_state(learner, config.seed),
                                              finite_part=lambda s: s.learner)
  finally:
    checkpointer.close()
  if state is None:
    raise missing
  return state, step


def read_run_config(run_dir: str) -> ml_collections.ConfigDict:
  """The config of the run in `run_dir` (its `config.json`)."""
  path = os.path.join(run_dir, "config.json")
  if not os.path.exists(path):
    raise NotARunError(f"{path} not found: {run_dir} is not a helms_jax run directory")
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


def load_offline_run(run_dir: str) -> tuple[ml_collections.ConfigDict, Any]:
  """`(learner config, params)` of the finished offline run in `run_dir`, built from its own
  config.json and env (e.g. the BC flat prior a SPiRL analysis compares with; it may read a
  part of another env's observation: the maze's state without the views)."""
  other = read_run_config(run_dir)
  state, _ = restore_learner_state(other, run_dir, make_learner(other, make_env(other)))
  return other.learner, state.learner.params


def offline_learner_of(config: ml_collections.ConfigDict) -> str | None:
  """The offline learner whose checkpoint `config.transfer.method` starts from (None: none)."""
  return methods.method(config.transfer.method).offline_learner


def check_skills_learner(config: ml_collections.ConfigDict, skills_dir: str) -> None:
  """Raises ConfigError when `config.learner` is not the learner config the skills in
  `skills_dir` were trained with (their `config.json`), naming every differing field.

  A learner field the restore cannot see (a loss weight such as beta_y, an initial bias) would
  otherwise load silently, and the run would record settings its skills were not trained with.
  A skills directory without `config.json` (a bare checkpoint) is not checked.
  """
  try:
    recorded = {"learner": read_run_config(skills_dir).to_dict().get("learner", {})}
  except NotARunError:
    return
  ours = {"learner": configs.to_dict(config.learner)}
  changed = [k for k in configs.diff(recorded, ours)
             if not configs.unrecorded_default(k, recorded, ours)]
  if changed:
    shown = ", ".join(f"{k} (this run {configs.lookup(ours, k)!r}, the skills "
                      f"{configs.lookup(recorded, k)!r})" for k in changed)
    raise configs.ConfigError(
        f"the skills in {skills_dir} were trained with another learner config: {shown}. Pass "
        f"the skills' values (--config.{changed[0]}=...) or point transfer.skills_dir at skills "
        "trained with this run's.")


def load_skills(config: ml_collections.ConfigDict, env, skills_dir: str) -> OfflineSkills:
  """The offline checkpoint `config.transfer.method` starts from, restored from `skills_dir`.

  `config.learner` must be the config the skills were trained with (the offline experiment's).
  """
  needed = offline_learner_of(config)
  if config.learner.name != needed:
    raise configs.ConfigError(
        f"transfer.method={config.transfer.method!r} needs the {needed!r} learner's "
        f"checkpoint, but config.learner.name={config.learner.name!r}")
  check_skills_learner(config, skills_dir)
  learner = make_learner(config, env)
  try:
    state, step = restore_learner_state(config, skills_dir, learner)
  except CheckpointNotFoundError as error:
    raise CheckpointNotFoundError(
        f"transfer.method={config.transfer.method!r} needs offline skills: {error} (set "
        f"--config.transfer.skills_dir to the workdir of a finished offline run)") from None
  logging.info("Transfer starts from the %s skills in %s (step %d)", config.learner.name,
               skills_dir, step)
  return OfflineSkills(config=config.learner, learner=learner, params=state.learner.params)


def transfer_label(config: ml_collections.ConfigDict) -> str:
  """The run's name in reports: `transfer.label`, else its method's label."""
  return config.transfer.label or methods.method(config.transfer.method).label


def make_transfer_agent(config: ml_collections.ConfigDict, env, skills_dir: str):
  """`(online agent of config.transfer, the env it acts in)` on the task `env`, as its method's
  record builds it (restoring the offline skills from `skills_dir` when it needs them)."""
  record = methods.method(config.transfer.method)
  skills = None
  if record.offline_learner is not None:
    skills = load_skills(config, env, skills_dir)
  return record.make_agent(config, env, skills)


def online_loop_config(config: ml_collections.ConfigDict) -> OnlineConfig:
  """The online loop's settings: `transfer.loop` and the run's `precision`."""
  loop = config.transfer.loop.to_dict()
  loop["final_metrics"] = tuple(loop.get("final_metrics", ()))  # a list after a JSON round trip
  return OnlineConfig(**loop, precision=config.get("precision", "float32"))


def _online_agent(run_dir: str, other: ml_collections.ConfigDict | None = None):
  """`(config, online agent, the env it acts in)` of the online run in `run_dir`, built from its
  config.json (or `other`, that config already read) as the transfer stage built them
  (restoring the offline skills it starts from)."""
  other = read_run_config(run_dir) if other is None else other
  env = make_transfer_env(other)
  agent, env = make_transfer_agent(other, env, other.transfer.skills_dir or run_dir)
  return other, agent, env


def _restore_online_state(run_dir: str, config: ml_collections.ConfigDict, agent: OnlineAgent,
                          env):
  """The stacked `OnlineState` (leaves [S, ...]) of the newest intact checkpoint under
  `<run_dir>/transfer/checkpoints` (the whole state: agent, replay, env states)."""
  init, _ = make_online_fns(agent, env, online_loop_config(config))
  keys = jnp.stack([jax.random.PRNGKey(s) for s in config.transfer.seeds])
  abstract = jax.eval_shape(jax.vmap(init), keys)
  directory = os.path.join(run_dir, "transfer", "checkpoints")
  missing = CheckpointNotFoundError(f"no checkpoint under {directory}: the online run has not "
                                    "trained yet")
  if not has_checkpoint(directory):
    raise missing
  checkpointer = Checkpointer(directory, read_only=True)
  try:
    state, step = checkpointer.restore_latest(abstract, finite_part=lambda s: s.agent)
  finally:
    checkpointer.close()
  if state is None:
    raise missing
  logging.info("Loaded the online run %s at %d env steps per seed", run_dir, step)
  return state


class OnlineRun(NamedTuple):
  """A trained online run: its config, agent, stacked `OnlineState` (leaves [S, ...]) and the
  env the agent acted in."""
  config: ml_collections.ConfigDict
  agent: OnlineAgent
  state: Any
  env: Any


def load_online_run_with_agent(run_dir: str) -> OnlineRun:
  """The online run in `run_dir` (its config.json, the newest intact checkpoint under
  transfer/checkpoints) with the agent that trained it."""
  other, agent, env = _online_agent(run_dir)
  return OnlineRun(other, agent, _restore_online_state(run_dir, other, agent, env), env)


def load_online_run(run_dir: str):
  """`(config, stacked OnlineState, env)` of the online run in `run_dir` (its config.json, the
  newest intact checkpoint under transfer/checkpoints, and the env the agent acted in)."""
  run = load_online_run_with_agent(run_dir)
  return run.config, run.state, run.env


class OfflineRun(NamedTuple):
  """A trained offline run, as an analysis needs it: its env, learner (with `learner.model`),
  trained params and dataset."""
  env: Any
  learner: Learner
  params: Any
  dataset: Any


def load_offline_run_for_analysis(config: ml_collections.ConfigDict, workdir: str,
                                  env=None) -> OfflineRun:
  """The run in `workdir` restored from its newest intact checkpoint, with its dataset; `env`
  defaults to `make_env(config)`."""
  env = make_env(config) if env is None else env
  learner = make_learner(config, env)
  state, _ = restore_learner_state(config, workdir, learner)
  dataset = data_lib.load_dataset(dataset_dir(config, workdir))
  return OfflineRun(env=env, learner=learner, params=state.learner.params, dataset=dataset)


# --- A trained run's policy, in the form `envs.rollout` takes -----------------------------------


@dataclasses.dataclass(frozen=True, eq=False)  # hashed by identity, as `envs.rollout` needs
class PolicyFn:
  """A trained policy for ONE env: `policy_fn(params, obs [obs_dim], key) -> action [act_dim]`,
  jittable and vmappable over obs and key (`jax.vmap(policy_fn, in_axes=(None, 0, 0))`);
  `envs.rollout(env, policy_fn, ..., policy_params=params)` vmaps it over its envs.

  A policy with memory (`policy_init` not None: HeLMS's current skill, SPiRL's skill held for H
  steps, NPMP's latent, an online agent's actor state) is called `policy_fn(params, obs, key,
  pstate) -> (action, pstate)`, starting each episode from `pstate = policy_init(key)`: the
  stateful form `envs.rollout(..., policy_init=policy_fn.policy_init)` runs. Passing
  `policy_init=policy_fn.policy_init` (None when memoryless) rolls out either kind.

  apply: the function called (hashable: a `functools.partial` of a module-level function).
  policy_init: None, or `(key) -> pstate` for one env.
  env: the env the policy acts in (unbatched, not auto-resetting, with the run's time limit; a
    method acting in skills acts in its skill env, e.g. SPiRL's `SkillEnv`); None without one
    (a dataset-only run).
  """
  apply: Callable[..., Any]
  policy_init: Callable[[jax.Array], Any] | None = None
  env: Any = None

  def __call__(self, params, obs, key, *pstate):
    return self.apply(params, obs, key, *pstate)


def _learner_action(params, obs, key, *, policy, deterministic):
  return policy(params, obs, key, deterministic=deterministic)


def _stateful_learner_action(params, obs, key, pstate, *, policy, deterministic):
  return policy(params, obs, key, pstate, deterministic=deterministic)


def learner_policy(learner: Learner, deterministic: bool, env=None) -> PolicyFn:
  """The offline learner's own policy (`Learner.policy`) as a `PolicyFn` (params: the learner's
  `state.params`): what the evaluation stage rolls out."""
  if learner.policy is None:
    raise PolicyLoadError("this offline learner has no policy to act with")
  if learner.policy_init is None:
    return PolicyFn(functools.partial(_learner_action, policy=learner.policy,
                                      deterministic=deterministic), env=env)
  return PolicyFn(functools.partial(_stateful_learner_action, policy=learner.policy,
                                    deterministic=deterministic),
                  policy_init=learner.policy_init, env=env)


def agent_action(agent_state, obs, key, *, act, deterministic: bool = False):
  """One env's action from a batched memoryless `OnlineAgent.act`: obs [obs_dim] -> env action
  [act_dim] (the agent's own action, e.g. a skill, is dropped)."""
  return act(agent_state, obs[None], key, deterministic)[1][0]


def _agent_policy_init(key, *, actor_init):
  # One env's actor state (leaves [1, ...]) and its step in the agent's decision period: each
  # episode starts a period, so a re-planning agent decides at the first step.
  return {"actor": actor_init(key, 1), "phase": jnp.zeros((), jnp.int32)}


def _stateful_agent_action(agent_state, obs, key, pstate, *, act, deterministic, period):
  _, action, actor = act(agent_state, obs[None], key, deterministic, pstate["actor"],
                         pstate["phase"])
  return action[0], {"actor": actor, "phase": (pstate["phase"] + 1) % period}


def agent_policy(agent: OnlineAgent, deterministic: bool, env=None,
                 compute: str = "float32") -> PolicyFn:
  """The online agent's behaviour policy (`OnlineAgent.act` for one env) as a `PolicyFn`
  (params: one seed's agent state), traced with the products `compute` (the run's `precision`)
  as the online loop acts. An agent with memory (`actor_init`) keeps its actor state and its
  step in the decision period (the loop's `phase`) in `pstate`."""
  if agent.observe is not None:
    raise PolicyLoadError(
        "this agent observes more than the env's observation (`OnlineAgent.observe`, e.g. "
        "images in state.info), which a policy of obs alone cannot give it; roll it out with "
        "its own act on env states")
  if agent.actor_init is None:
    apply = functools.partial(agent_action, act=agent.act, deterministic=deterministic)
    return PolicyFn(precision.traced_in(compute, apply), env=env)
  apply = functools.partial(_stateful_agent_action, act=agent.act, deterministic=deterministic,
                            period=int(agent.decision_period))
  return PolicyFn(precision.traced_in(compute, apply), env=env,
                  policy_init=functools.partial(_agent_policy_init,
                                                actor_init=agent.actor_init))


POLICY_SOURCES = ("auto", "offline", "transfer")


def load_policy(workdir: str, deterministic: bool = True, *, seed_index: int = 0,
                source: str = "auto") -> tuple[PolicyFn, Any]:
  """The trained policy of the run in `workdir`: `(policy_fn, params)`.

  `policy_fn(params, obs [obs_dim], key) -> action [act_dim]` is jittable and vmappable over
  obs and key; a policy with memory takes and returns its state (`policy_fn.policy_init`), and
  `policy_fn.env` is the env it acts in: see `PolicyFn`. Roll it out with
      envs.rollout(policy_fn.env, policy_fn, key, num_envs, num_steps, policy_params=params,
                   policy_init=policy_fn.policy_init)
  Everything is rebuilt from the run's config.json and checkpoints as the stages do:
    offline: the offline learner's policy, what `helms-eval` rolls out (BC's, or the HeLMS /
      SPiRL / NPMP skill prior acting alone), with the params of the newest intact checkpoint
      in `<workdir>/checkpoints`;
    transfer: the online agent's behaviour policy (the transfer method's `act`) with the agent
      state of seed `transfer.seeds[seed_index]` from `<workdir>/transfer/checkpoints` (it
      restores the whole stacked online state, replay included, then keeps one seed's agent).

  Args:
    workdir: a run directory (`--workdir` of the helms-* commands).
    deterministic: act with the policy's mode (means, most probable skills) instead of sampling.
    seed_index: which of the transfer run's seeds (ignored offline).
    source: 'offline', 'transfer', or 'auto': transfer when `<workdir>/transfer/checkpoints`
      holds a checkpoint, else offline.
  Raises:
    NotARunError: `workdir` has no config.json.
    CheckpointNotFoundError: no checkpoint for `source`.
    PolicyLoadError: the learner has no policy (the concurrent CVAE, SPiRL with an image prior),
      the agent needs more than the observation (vision agents), or `seed_index` is out of
      range.
  """
  if source not in POLICY_SOURCES:
    raise ValueError(f"source must be one of {POLICY_SOURCES}, got {source!r}")
  config = read_run_config(workdir)
  offline_dir = os.path.join(workdir, "checkpoints")
  online_dir = os.path.join(workdir, "transfer", "checkpoints")
  if source == "auto":
    if not (has_checkpoint(online_dir) or has_checkpoint(offline_dir)):
      raise CheckpointNotFoundError(
          f"{workdir} holds no trained policy yet: no checkpoint in {offline_dir} (helms-train) "
          f"or {online_dir} (helms-transfer)")
    source = "transfer" if has_checkpoint(online_dir) else "offline"
  if source == "offline":
    return _load_offline_policy(config, workdir, deterministic)
  return _load_online_policy(config, workdir, deterministic, seed_index)


def _load_offline_policy(config, workdir: str, deterministic: bool) -> tuple[PolicyFn, Any]:
  env = make_env(config) if has_env(config) else None
  dataset = None if env is not None else data_lib.load_dataset(dataset_dir(config, workdir))
  learner = make_learner(config, env, dataset)
  if learner.policy is None:
    raise PolicyLoadError(f"the {config.learner.name!r} learner of {workdir} has no policy to "
                          "act with (it learns skills or a prior other methods use)")
  state, _ = restore_learner_state(config, workdir, learner)
  return learner_policy(learner, deterministic, env), state.learner.params


def _load_online_policy(config, workdir: str, deterministic: bool,
                        seed_index: int) -> tuple[PolicyFn, Any]:
  if "transfer" not in config:
    raise PolicyLoadError(f"{workdir}/config.json has no transfer section: the run has no "
                          "online agent (load its offline policy with source='offline')")
  config, agent, env = _online_agent(workdir, config)
  seeds = list(config.transfer.seeds)
  if not 0 <= int(seed_index) < len(seeds):
    raise PolicyLoadError(f"seed_index={seed_index}: the transfer run in {workdir} trained "
                          f"seeds {seeds} (seed_index 0 to {len(seeds) - 1})")
  policy_fn = agent_policy(agent, deterministic, env, config.get("precision", "float32"))
  state = _restore_online_state(workdir, config, agent, env)
  return policy_fn, population.seed_slice(state.agent, int(seed_index))

"""Latent Skill Planning on Brax locomotion (Xie et al., 2021): LSP, Dreamer and the ablations.

Online model-based RL from scratch (no offline data): the `transfer` section is the whole run.
A variant is `<method>[,<task>][,<modifier>...][,tiny]`:

  methods (agents.lsp.AGENT_SETTINGS; default lsp)
    lsp                  CEM over skills in the world model every K steps + MI intrinsic reward
    lsp_no_mi            the same without the MI reward (ablation)
    random_skills        a uniformly random skill every K steps, MI reward (baseline)
    random_skills_no_mi  random skills as input without the intrinsic reward (baseline)
    dreamer              no skills: Dreamer v1 (baseline)
  tasks (envs/locomotion; default walk)
    walk, run, reach_goal, reach_goal_obstacles, cove   the ant (quadruped)
    halfcheetah_run, walker2d_run, hopper_hop
  modifiers
    transfer   start from a finished run of the same method on ant walk
               (`--config.transfer.source_dir=<its workdir>`), with its replay relabelled by the
               new task's reward (LSP section 5.3); use with a reach_goal task
    frozen     with transfer: the low-level policy is frozen (only the world model, value and
               skill planning adapt); default fine-tuned
    no_relabel with transfer: start from an empty replay buffer
    mppi       MPPI instead of CEM for the skill plan
    tiny       seconds-to-minutes on a CPU (the test size)

The default sizes are a CPU budget, not the paper's (Dreamer v1's RSSM 200/30/400 with batch
50 x 50 takes 3.7 s per update on the 2-core CPU of docs/results; see lsp_locomotion there):
a smaller model, batch 16 x 50, 256 imagination starts, and 64k env steps per seed.
`paper_scale` restores Dreamer's sizes (for accelerators). Every variant, Dreamer included,
makes one update of all modules per ENV_STEPS_PER_UPDATE = 5 env steps, the paper's rate (LSP
A.3: "1 training update of all modules is done every 5 environment steps. ... used in the
dreamer baseline as well as our method"): `transfer.loop.updates_per_iteration` =
num_envs * unroll_length / 5 (32 by default: ~11,800 updates per seed of 64k steps after
the 5,000-step prefill; 1,476 at the earlier 1 per 40).

Usage:
  helms-pipeline --config=experiments/lsp_locomotion.py:lsp --workdir=runs/lsp/walk/lsp
  helms-pipeline --config=experiments/lsp_locomotion.py:dreamer --workdir=runs/lsp/walk/dreamer
  helms-pipeline --config=experiments/lsp_locomotion.py:lsp,reach_goal,transfer \\
      --workdir=runs/lsp/reach/lsp_transfer --config.transfer.source_dir=runs/lsp/walk/lsp
"""

from __future__ import annotations

import ml_collections

from experiments import _base

METHODS = ("lsp", "lsp_no_mi", "random_skills", "random_skills_no_mi", "dreamer")
ANT_TASKS = ("walk", "run", "reach_goal", "reach_goal_obstacles", "cove")
OTHER_TASKS = ("halfcheetah_run", "walker2d_run", "hopper_hop")
MODIFIERS = ("transfer", "frozen", "no_relabel", "mppi", "paper_scale")
ENV_STEPS_PER_UPDATE = 5  # LSP A.3, for LSP and Dreamer alike


def env_name(task: str) -> str:
  return f"ant_{task}" if task in ANT_TASKS else task


def get_config(variant: str = "lsp") -> ml_collections.ConfigDict:
  from helms_jax.agents import lsp  # pylint: disable=import-outside-toplevel
  from helms_jax.agents.helms import downstream as transfer  # pylint: disable=import-outside-toplevel
  parts = _base.variant_parts("lsp_locomotion", variant,
                              METHODS + ANT_TASKS + OTHER_TASKS + MODIFIERS)
  tiny = "tiny" in parts
  method = _base.choose_one(variant, parts, METHODS, "lsp", "methods")
  task = _base.choose_one(variant, parts, ANT_TASKS + OTHER_TASKS, "walk", "tasks")
  if ("frozen" in parts or "no_relabel" in parts) and "transfer" not in parts:
    raise ValueError(f"variant {variant!r}: frozen / no_relabel modify a transfer run; add "
                     f"'transfer'")

  c = _base.pipeline_config("lsp_locomotion", variant,
                            METHODS + ANT_TASKS + OTHER_TASKS + MODIFIERS)
  c.env.name = env_name(task)
  c.env.kwargs = {}
  # 500 env steps: DMC's 1000 control steps at the paper's action repeat 2 (the ant: 25 s at
  # 0.05 s; walker 25 s, hopper 20 s, cheetah 10 s at their DMC-matched steps, envs/locomotion).
  c.env.episode_length = 50 if tiny else 500
  c.eval.baselines = ()
  c.transfer = transfer.default_config()
  t = c.transfer
  t.method, t.label = method, lsp.LABELS[method]
  t.episode_length = 0  # the env's
  t.source_dir = ""  # with `transfer`: the workdir of the source-task (walk) run
  t.relabel = "transfer" in parts and "no_relabel" not in parts
  t.seeds = (0, 1) if tiny else (0, 1, 2)
  if "transfer" in parts:
    t.label += " (transfer" + (", frozen" if "frozen" in parts else "") + ")"

  a = t.agent = lsp.default_config()
  a.update(lsp.AGENT_SETTINGS[method])
  if "mppi" in parts:
    if a.skill_selection != "cem":
      raise ValueError(f"variant {variant!r}: mppi replaces the CEM planner of lsp / lsp_no_mi")
    a.skill_selection = "mppi"
  a.train_actor = "frozen" not in parts
  if tiny:
    a.update(deter_size=16, stoch_size=4, rssm_hidden=32, embed_size=32, model_hidden=(32,),
             actor_hidden=(32,), value_hidden=(32,), predictor_hidden=(16,), horizon=6,
             skill_period=5, plan_horizon=5, plan_samples=8, plan_elites=2, plan_iters=2,
             imagination_starts=32)
  elif "paper_scale" not in parts:
    a.update(deter_size=64, stoch_size=16, rssm_hidden=128, embed_size=128,
             model_hidden=(128, 128), actor_hidden=(128, 128), value_hidden=(128, 128),
             predictor_hidden=(64, 64), imagination_starts=256)

  loop = t.loop
  if tiny:
    loop.num_envs, loop.unroll_length, loop.iterations_per_call = 2, 5, 2
    loop.batch_size, loop.sequence_length = 4, 8
    loop.replay_capacity, loop.min_replay_steps = 400, 20
    loop.env_steps, loop.checkpoint_every_calls = 100, 5
  else:
    # On this CPU: 16 envs x 10 steps per iteration, updates of [16, 50], 64k steps per seed.
    loop.num_envs, loop.unroll_length, loop.iterations_per_call = 16, 10, 25
    loop.batch_size, loop.sequence_length = 16, 50
    # Dreamer keeps every transition: 250k holds the reproduction's 200k env steps per seed.
    loop.replay_capacity, loop.min_replay_steps = 250_000, 5_000
    loop.env_steps, loop.checkpoint_every_calls = 64_000, 2
    if "paper_scale" in parts:  # Dreamer's 1000 env steps per iteration and [50, 50] batches
      loop.num_envs, loop.unroll_length = 10, 100
      loop.iterations_per_call, loop.batch_size = 1, 50
      loop.env_steps, loop.checkpoint_every_calls = 1_000_000, 10
      loop.replay_capacity = 1_000_000
  # One update of every module (model, actor, value, predictor) per 5 env steps (module doc).
  steps_per_iteration = loop.num_envs * loop.unroll_length  # the locomotion envs repeat no action
  assert steps_per_iteration % ENV_STEPS_PER_UPDATE == 0, steps_per_iteration
  loop.updates_per_iteration = steps_per_iteration // ENV_STEPS_PER_UPDATE
  return c

"""SPiRL on the point-mass maze (Pertsch et al., 2020, section 5 "maze navigation").

Offline: planner-expert episodes in random 5x5 "walls with doorways" layouts (a new layout per
episode) train the skill VAE (H = 10, z = 10) and the state-conditioned skill prior. Downstream:
the fixed 10x10 large maze (four times the area) with the paper's sparse reward (1 on every step
within 1.0 of the goal; the episode runs its full 2,000 steps), learned with
prior-regularised SAC in skill space.

A variant is `<method>[,<modifier>...][,tiny]`:

  methods (which skills the run needs, and how SAC uses them; default spirl)
    spirl        SAC over skills z (the high level acts every H steps), KL(pi || p(z|s)) to the
                 learned prior with alpha tuned towards delta, policy initialised from the prior.
    ssp          skill-space policy without prior: SAC over the same skills, entropy
                 regularised, policy from scratch.
    sac          flat SAC on raw actions from scratch (no offline data).
    bc_sac       flat BC on the same data (learner "bc"), fine-tuned with SAC (entropy).
    flat_prior   a single-step action prior (the BC policy) regularising flat SAC, policy
                 initialised from it.
  data / skill modifiers (each is its own skill config: train skills per modifier)
    random50, random75   50 / 75 % of the episodes act uniformly at random (sub-optimal data).
    h3, h30              skill horizon H = 3 / 30 (default 10).
    z5, z30              skill latent size 5 / 30 (default 10).
    closed_loop          decoder on [s_t, z] (default open loop).
    mixture_prior        a Gaussian-mixture skill prior (KL by samples; the policy is a new
                         Gaussian network, with the omega schedule of sampling from the prior).
    image                the paper's state: two stacked 32 x 32 local top-down views of
                         +- 2.07 cells (the current and the previous step's; D4RL's camera).
                         The prior reads them alone, through
                         the paper's conv encoder (3 layers, kernel 3, 8/16/32 channels); the
                         datasets store positions and walls and the sampler renders the views;
                         downstream the SPiRL / SSP policy reads what the prior reads, the
                         critics the position and velocity (asymmetric), the flat baselines the
                         state. Without it (default): the prior reads the velocity, the skill
                         policy the position and velocity (a state-based variant).
    d4rl_camera          with image: the views as D4RL's agent-centric camera renders them,
                         a MuJoCo tracking camera whose centre moves 0.2 of the way to the
                         agent per render (one per step), with the agent and the goal drawn
                         (planes 2 and 3 of each view): the agent's offset from the centre
                         shows its velocity, which two frames 0.01 s apart do not (without it
                         the views are centred on the agent and neither marker is drawn).
    d4rl_data            the paper's training mazes: D4RL random 20 x 20 layouts (rooms of
                         block walls with doorways, `envs/maze/d4rl.py`), a new one per episode
                         from a bank of 5,000, start and goal uniform over the free cells,
                         episodes of up to 500 steps (default: our 5 x 5 walls-with-doorways
                         layouts, 300 steps).
  task modifier
    near_goal            the large maze with its goal in the top-left cell, 16 moves from the
                         start instead of 39: a task the CPU budget can show learning on.
    d4rl_maze            the paper's own downstream maze instead of our 10x10 one: D4RL's
                         rand_layout(seed=0, size=40) with SPiRL's start and goal, 34 moves
                         apart (`envs/maze/d4rl.py`).
    tiny                 minutes on a CPU (the test size).

Skills are trained once per skill config (the modifiers other than the method) and shared
between methods: `--config.transfer.skills_dir=<workdir of the offline run>`.

Usage:
  helms-pipeline --config=experiments/spirl_maze.py:spirl --workdir=runs/maze/spirl
  helms-transfer --config=experiments/spirl_maze.py:ssp --workdir=runs/maze/ssp \\
      --config.transfer.skills_dir=runs/maze/spirl
"""

from __future__ import annotations

import ml_collections

from experiments import _base

METHODS = ("spirl", "ssp", "sac", "bc_sac", "flat_prior")
MODIFIERS = ("random50", "random75", "h3", "h30", "z5", "z30", "closed_loop", "mixture_prior",
             "image", "d4rl_camera", "d4rl_data")
TASK_MODIFIERS = ("near_goal", "d4rl_maze")  # downstream task only (skills are shared)
# The paper's maze is D4RL's maze2d point mass (`envs/maze/env.py` POINT_MASSES["d4rl"]): 0.01 s
# per control step, 4.19 kg, damping 1 N s/m (it coasts: a 4.2 s time constant), gear 100, the
# speed clipped at 5 cells/s (~0.05 cells per step, ~20 steps to cross a cell at the expert's
# pace). Our env's default point mass is damped (a 0.2 s time constant), so a skill's motion died
# with it and sampled skills diffused where D4RL's carry on (measured in the paper's maze, 64
# rollouts of 2,000 uniform random actions: mean speed 0.47 vs 1.49 cells/s, closest approach
# to the goal 29 vs 17 moves of 34).
PHYSICS = {"dynamics": "d4rl", "timestep": 0.01, "substeps": 1}
DATA_EPISODE_LENGTH = 300  # spirl configs/default_data_configs/maze.py: max_seq_len = 300
# The paper's data: "85 000 goal-reaching trajectories in randomly generated, small maze
# layouts" of D4RL's generator (20 x 20 blocks, a quarter of the downstream 40 x 40), made by the
# D4RL fork SPiRL runs on (kpertsch/d4rl `scripts/generate_randMaze2d_datasets.py` as of
# 2020-06-12, commit 5208112, the paper's time): a new `rand_layout()` per episode, start and
# goal each uniform over the free cells (`env.reset()`, `env.set_target()`), the waypoint
# controller until it reaches the goal or 500 steps pass (`max_episode_steps = 500` when the
# agent-centric images are saved), every episode longer than 20 steps kept (cut ones too).
D4RL_DATA = {"layout": "d4rl_random", "size": 20, "num_layouts": 5000, "min_goal_distance": 1,
             "max_goal_distance": None}
D4RL_DATA_EPISODE_LENGTH = 500
TASK_EPISODE_LENGTH = 2000  # spirl configs/hrl/maze/base_conf.py: max_rollout_len = 2000
# The sparse reward's radius. Upstream D4RL rewards within 0.5 of the goal; SPiRL's fork widened
# it to 1.0 on 2020-05-19 (kpertsch/d4rl 9f26fb7 "increase goal radius", before the paper's
# randMaze envs and data existed) and to 2.0 on 2021-01-04 (49c3eb4, after the paper, in the
# code released with it). The paper's runs had 1.0.
GOAL_TOLERANCE = 1.0
# The paper's views: D4RL's agent-centric camera, 5 units above the agent with MuJoCo's default
# 45 degree field of view, sees +- 5 tan(22.5 deg) = +- 2.07 cells (32 x 32 pixels).
D4RL_VIEW_EXTENT = 2.07
# ... and it is MuJoCo's tracking camera (kpertsch/d4rl maze_model.py `viewer_setup`:
# CAMERA_TRACKING of body 0, whose subtree centre of mass is the particle's): its centre moves
# 0.2 of the way to the agent per render, one render per step (the data script renders 100
# times at reset "so that camera can catch up with agent"); the particle shows as its site, the
# goal as the target site (`set_marker` after every step: in view within ~2 cells of it).
D4RL_CAMERA = {"image_agent": True, "camera_follow": 0.2, "image_goal": True}
NEAR_GOAL = (9, 0)  # the top-left cell: 16 moves from the start (the default goal is 39)
LABELS = {"spirl": "SPiRL", "ssp": "SSP (no prior)", "sac": "SAC", "bc_sac": "BC+SAC",
          "flat_prior": "Flat prior"}


def get_config(variant: str = "spirl") -> ml_collections.ConfigDict:
  parts = _base.variant_parts("spirl_maze", variant, METHODS + MODIFIERS + TASK_MODIFIERS)
  tiny = "tiny" in parts
  method = _base.choose_one(variant, parts, METHODS, "spirl", "methods")
  random_fraction = {"random0": 0.0, "random50": 0.5, "random75": 0.75}[
      _base.choose_one(variant, parts, ("random50", "random75"), "random0", "data")]
  horizon = int(_base.choose_one(variant, parts, ("h3", "h30"), "h10", "horizons")[1:])
  z_dim = int(_base.choose_one(variant, parts, ("z5", "z30"), "z10", "latent sizes")[1:])

  c = _base.pipeline_config("spirl_maze", variant, METHODS + MODIFIERS + TASK_MODIFIERS)
  c.env.name = "maze"
  c.env.kwargs = {"layout": "random", "size": 5, "min_goal_distance": 4, **PHYSICS}
  c.env.episode_length = DATA_EPISODE_LENGTH
  if "d4rl_data" in parts:
    c.env.kwargs = {**D4RL_DATA, **PHYSICS,
                    **({"size": 10, "num_layouts": 16} if tiny else {})}
    c.env.episode_length = D4RL_DATA_EPISODE_LENGTH
  if "d4rl_camera" in parts and "image" not in parts:
    raise ValueError(f"spirl_maze variant {variant!r}: d4rl_camera modifies the image variant; "
                     f"add 'image'")
  camera = D4RL_CAMERA if "d4rl_camera" in parts else {}
  if "image" in parts:  # the sampler renders the prior's views with the data env's settings
    c.env.kwargs = {**c.env.kwargs, "image_extent": D4RL_VIEW_EXTENT, **camera}
  c.data.expert_noise = 0.2
  c.data.random_fraction = random_fraction
  # The paper's 85,000 planner trajectories in random small layouts (~120 steps each in our
  # 5 x 5 layouts, ~170 in the D4RL 20 x 20 ones).
  c.data.num_episodes = 32 if tiny else 85_000
  c.data.num_envs = 16 if tiny else 500
  c.data.episodes_per_shard = 32 if tiny else 5000
  c.eval.num_episodes = 8 if tiny else 128

  if method in ("bc_sac", "flat_prior"):
    c.learner.name = "bc"  # the flat action prior / BC initialisation: pipeline_config's BC
    c.learner.hidden_sizes = (32, 32) if tiny else (128, 128)
  else:
    _base.set_spirl_learner(c, tiny, horizon=horizon, z_dim=z_dim)
    if "closed_loop" in parts:
      c.learner.decoder = "closed_loop"
    if "mixture_prior" in parts:
      c.learner.prior_head = "mixture"
    # The prior (and the SPiRL policy, its copy) must not see the absolute position: the data's
    # 5x5 layouts cover [0, 5]^2, the downstream maze [0, 10]^2, so a position-conditioned prior
    # is out of distribution in 3/4 of it (measured: its rollouts stayed in the start quadrant).
    # It sees what transfers across layouts: the velocity, or the paper's local views.
    c.learner.prior_groups = ("velocity",)
    if "image" in parts:
      c.learner.prior_groups = ("image",)
      c.learner.prior_image_frames, c.learner.prior_image_size = 2, (8 if tiny else 32)
      c.learner.prior_image_planes = 3 if camera else 1  # walls (, the agent, the goal)
  if not tiny:
    c.train.num_steps = 20_000
    c.train.checkpoint_every = 2_000
  skill_parts = sorted(parts & set(MODIFIERS))
  if method in ("bc_sac", "flat_prior"):  # BC reads the state in either variant
    skill_parts = sorted(parts & {"random50", "random75", "d4rl_data"}) + ["bc"]

  c.analysis.exploration = ml_collections.ConfigDict(dict(
      num_rollouts=16 if tiny else 256,  # rollouts per sampler for the Figure-5 maps
      num_steps=50 if tiny else TASK_EPISODE_LENGTH,  # low-level steps per rollout
      flat_prior_dir="",  # a BC run (spirl_maze:bc_sac) for the flat-prior row; "" = no row
  ))
  set_downstream(c, method, tiny, skill_name=",".join(skill_parts) or "default",
                 # The paper's reward: 1 on every step near the goal (the episode goes on).
                 env_kwargs={"layout": "d4rl" if "d4rl_maze" in parts else "large",
                             "reward": "sparse",
                             # the data's random-layout kwargs do not apply to a fixed maze
                             "size": None, "num_layouts": None, "max_goal_distance": None,
                             "terminate_on_success": False, "goal_tolerance": GOAL_TOLERANCE,
                             **PHYSICS,
                             "goal_cell": NEAR_GOAL if "near_goal" in parts else None,
                             **({"image": True, "image_frames": 2,
                                 "image_size": 8 if tiny else 32,
                                 "image_extent": D4RL_VIEW_EXTENT, **camera}
                                if "image" in parts else {})},
                 episode_length=200 if tiny else TASK_EPISODE_LENGTH)  # the expert: ~700
  if method == "spirl" and "mixture_prior" in parts:
    # The policy cannot start as the mixture: behave as the prior early on (omega schedule).
    c.transfer.agent.prior_sampling_start = 0.5
    c.transfer.agent.prior_sampling_decay_updates = 50 if tiny else 2_000
  return c


def set_downstream(c, method: str, tiny: bool, skill_name: str, env_kwargs: dict,
                   episode_length: int, policy_inputs: str | None = None) -> None:
  """The `transfer` section: SPiRL's SAC or a baseline (agents/spirl/downstream) on the task
  `env_kwargs` with its own time limit (low-level steps); shared by spirl_stacking.
  `policy_inputs`: what the SPiRL policy reads (`transfer.policy_inputs`); None = the maze's
  choice below. SSP always reads the state, as spirl's does."""
  from helms_jax.agents.helms import downstream as transfer  # pylint: disable=import-outside-toplevel
  from helms_jax.agents.spirl import downstream  # pylint: disable=import-outside-toplevel
  c.transfer = transfer.default_config()
  t = c.transfer
  t.method, t.label, t.skills_name = method, LABELS[method], skill_name
  t.env_kwargs = env_kwargs
  t.episode_length = episode_length
  t.agent = downstream.default_agent_config(method)
  t.policy_hidden = (32, 32) if tiny else (256, 256)  # flat policies (skill policies: the prior's)
  # What the skill policy sees (agents/spirl/downstream.policy_input_indices): the prior sees
  # what transfers across layouts (the velocity), but a policy that must reach one goal in one
  # maze needs to know where it is, as the flat baselines do: position and velocity. It starts
  # as the prior (the position inputs' first-layer weights are zero).
  t.policy_inputs = policy_inputs or ("prior" if "image" in env_kwargs else "position,velocity")
  # The frozen prior's output is computed once per skill step and kept in the replay
  # (`agents.spaces.with_cached_prior`) instead of at s and s' in every update.
  t.cache_prior = method == "spirl"
  # Views of two frames x three planes x 32 x 32 make a 24 KB float32 observation: a replay of
  # the whole run (100k skill steps x 3 seeds, s and s') would need ~15 GB per copy, so the
  # trailing-camera views (the ones with the agent plane) are stored as uint8, as images are.
  t.uint8_views = bool(env_kwargs.get("image_agent", False))
  if method == "ssp":
    # spirl's SSP (configs/hrl/*/no_prior = base_conf): the high-level policy is a fresh
    # SplitObsMLPPolicy over the state (the maze's x, y, vx, vy), images split off;
    # MLPPolicy defaults n_layers 3, nz_mid 64.
    t.policy_inputs = "state"
    t.policy_hidden = (16, 16) if tiny else (64, 64, 64)
  if tiny:
    t.agent.critic_hidden = (32, 32)
  loop = t.loop
  loop.sequence_length = 1  # one-step TD targets, as SAC
  if tiny:
    loop.num_envs, loop.unroll_length, loop.iterations_per_call = 4, 2, 2
    loop.updates_per_iteration, loop.batch_size = 1, 16
    loop.replay_capacity, loop.min_replay_steps = 1024, 32
    loop.env_steps, loop.checkpoint_every_calls = 640, 1
  else:  # the paper's budget: 1M low-level env steps per seed
    flat = method not in ("spirl", "ssp")
    if flat:  # one update (batch 256) per 32 env steps: 31k updates per seed
      loop.num_envs, loop.unroll_length, loop.iterations_per_call = 32, 1, 50
      loop.updates_per_iteration = 1
      loop.replay_capacity, loop.min_replay_steps = 1_000_000, 5_000
    else:  # the paper's rate, one update per skill step (8 envs, 8 updates): 100k per seed
      loop.num_envs, loop.unroll_length, loop.iterations_per_call = 8, 1, 50
      loop.updates_per_iteration = 8
      loop.replay_capacity, loop.min_replay_steps = 100_000, 500  # skill steps (5k env steps)
      # The conv update alone ran 1.5x faster with the seeds in sequence (loaded CPU); see
      # OnlineConfig.seeds_in_sequence for what the whole loop showed.
      loop.seeds_in_sequence = bool(env_kwargs.get("image", False))
    loop.batch_size = 256
    loop.env_steps, loop.checkpoint_every_calls = 1_000_000, 10

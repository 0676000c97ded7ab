"""Sections shared by the experiment configs: run settings, data, offline learner, train, eval.

Each experiment's `get_config(variant)` starts from `pipeline_config(...)` and sets its env and
data; `tiny` shrinks everything so the config runs end to end in about a minute on a CPU.
"""

import ml_collections

VARIANTS = ("default", "tiny")


def variant_parts(experiment: str, variant: str, modifiers=()) -> set[str]:
  """Splits `default`, `tiny`, `<modifier>` or `<modifier>,tiny` into its parts (validated)."""
  parts = set(variant.split(","))
  valid = VARIANTS + tuple(modifiers)
  unknown = sorted(parts - set(valid))
  if unknown or not parts:
    raise ValueError(f"unknown variant {variant!r} of {experiment}; valid: {', '.join(valid)} "
                     f"(modifiers combine with tiny: '<modifier>,tiny')")
  return parts


def choose_one(variant: str, parts: set[str], choices, default: str, what: str) -> str:
  """The one entry of `choices` that the variant's parts name (`default` if none); several is an
  error naming them, e.g. `set3,set4` for object sets."""
  chosen = sorted(parts & set(choices))
  if len(chosen) > 1:
    raise ValueError(f"variant {variant!r} names several {what} {chosen}; choose one of "
                     f"{', '.join(choices)}")
  return chosen[0] if chosen else default


def pipeline_config(experiment: str, variant: str, modifiers=()) -> ml_collections.ConfigDict:
  tiny = "tiny" in variant_parts(experiment, variant, modifiers)
  c = ml_collections.ConfigDict()
  c.experiment = experiment
  c.variant = variant
  c.seed = 0
  # JAX persistent compilation cache: '' = the user cache ($XDG_CACHE_HOME/helms_jax/jax-<machine>),
  # 'workdir' = <workdir>/.jax_cache, 'none' = off, or a directory (devices.resolve_cache_dir).
  c.compilation_cache_dir = ""
  # Matrix products of every learner and agent: "float32", or "bfloat16" with float32
  # accumulation, parameters and losses (training/precision.py; benchmarks/precision.py measures
  # each learner both ways: float32 stays the default on CPU).
  c.precision = "float32"

  c.env = ml_collections.ConfigDict()  # name, kwargs, episode_length: set by the experiment

  c.data = ml_collections.ConfigDict()
  c.data.dir = ""  # '' means <workdir>/data
  c.data.expert_noise = 0.2
  c.data.expert_noise_max = 0.0  # > 0: each episode's noise std ~ U[expert_noise, this]
  # > 0: each episode's rate of undirected excursions ~ U[0, this] (the stacking expert)
  c.data.expert_excursion_max = 0.0
  c.data.num_episodes = 16 if tiny else 2000
  c.data.num_envs = 8 if tiny else 64  # episodes generated in parallel (one vmapped rollout)
  c.data.episodes_per_shard = 8 if tiny else 256
  c.data.object_sets = ()  # () = the env's own object_set; see all_pairs_stacking.py

  c.learner = ml_collections.ConfigDict()
  c.learner.name = "bc"
  c.learner.hidden_sizes = (32, 32) if tiny else (256, 256)
  c.learner.learning_rate = 1e-3
  c.learner.max_grad_norm = 10.0

  c.train = ml_collections.ConfigDict()
  c.train.num_steps = 200 if tiny else 20_000
  c.train.batch_size = 32 if tiny else 256
  c.train.window = 1
  c.train.lookahead = 0
  c.train.updates_per_call = 10 if tiny else 100
  c.train.log_every = 50 if tiny else 500
  c.train.checkpoint_every = 100 if tiny else 2000
  c.train.max_to_keep = 3
  c.train.tensorboard = True
  # 'auto': device d holds only episodes d, d + D, ... when several processes run (per-process
  # data shards), the whole dataset otherwise; or 'replicated' / 'sharded' (train_stage.data_placement).
  c.train.data_placement = "auto"

  c.eval = ml_collections.ConfigDict()
  c.eval.num_episodes = 8 if tiny else 64
  c.eval.deterministic = True
  c.eval.baselines = ("expert", "random")  # rolled out beside the policy for context

  # Learner-specific analysis (pipeline.analyze; HeLMS: analysis/helms.py).
  c.analysis = ml_collections.ConfigDict()
  c.analysis.num_windows = 64 if tiny else 512  # dataset windows for posterior skill usage
  c.analysis.posterior_window = 100  # steps per window (capped at the shortest episode)
  c.analysis.episodes_per_skill = 2 if tiny else 8  # fixed-skill rollouts per skill
  c.analysis.deterministic = True
  c.analysis.image_frames = 0 if tiny else 6  # camera frames per skill (envs that render)
  c.analysis.image_size = 48
  return c


def set_helms_learner(c: ml_collections.ConfigDict, num_skills: int, tiny: bool) -> None:
  """The HeLMS offline learner (agents/helms/offline.py) with its window sampler settings.

  Information asymmetry: the high level sees proprio + objects now and `train.lookahead` steps
  ahead, the mid level proprio + objects now, the low level proprio only (Figure 1b).

  Windows are whole episodes (`train.window = env.episode_length`, set it first): the forward
  filter starts at the episode start with q(y_0) uniform, the paper's model, instead of
  restarting from a uniform belief in the middle of a behaviour at every short window. An
  episode cut short (an unstable simulation ends it) has no window and is not trained on. The
  batch (8 x 150 steps) holds about as many steps as 64 windows of 16 did, at about the same
  update cost on this CPU (78 vs 88 ms per update, busy 2-core machine, same run).
  """
  from helms_jax.agents.helms import offline  # pylint: disable=import-outside-toplevel
  c.learner = offline.default_config()
  c.learner.num_skills = num_skills
  hidden = (32, 32) if tiny else (128, 128)
  c.learner.high_level_hidden = c.learner.mid_level_hidden = c.learner.low_level_hidden = hidden
  c.learner.latent_size = 4 if tiny else 8
  c.learner.learning_rate = 1e-3 if tiny else 3e-4
  c.train.window = int(c.env.episode_length)  # whole episodes (see above)
  c.train.lookahead = 2 if tiny else 5  # future observations the high level sees (0.25 s)
  c.train.batch_size = 2 if tiny else 8
  if tiny:  # a few chunks: the HeLMS update compiles slower than BC's
    c.train.num_steps = 40
    c.train.updates_per_call = 10
    c.train.log_every = 20
    c.train.checkpoint_every = 20


# The skill models a stacking data config can train besides HeLMS (its variant modifiers).
SKILL_MODELS = ("discrete_only", "continuous_only", "npmp", "hier_bc", "bc")


def set_skill_model(c: ml_collections.ConfigDict, experiment: str, variant: str,
                    parts: set[str]) -> None:
  """Replaces the HeLMS learner `set_helms_learner` set with the one model of SKILL_MODELS the
  variant's `parts` name (none: HeLMS stays), at HeLMS's network and latent sizes:

    discrete_only    zero-variance skill components (z = component mean, no KL on z);
    continuous_only  K = 1: a single Gaussian for the high and mid level;
    npmp             NPMP (agents/npmp): the NPMP+KL transfer baseline;
    hier_bc          hierarchical BC (agents/baselines/hier_bc), fine-tuned as a whole;
    bc               flat Gaussian BC (256 x 256): the BC(+MPO) baseline.
  """
  chosen = sorted(parts & set(SKILL_MODELS))
  if len(chosen) > 1:
    raise ValueError(f"variant {variant!r} of {experiment} combines skill models {chosen}; "
                     "choose one")
  tiny = "tiny" in parts
  if "discrete_only" in parts:
    c.learner.components = "discrete_only"
  if "continuous_only" in parts:
    c.learner.components = "continuous_only"
    c.learner.num_skills = 1
  hidden = c.learner.low_level_hidden  # HeLMS's network sizes for the latent baselines
  if "npmp" in parts:
    from helms_jax.agents.npmp import offline as npmp  # pylint: disable=import-outside-toplevel
    latent_size, c.learner = c.learner.latent_size, npmp.default_config()
    c.learner.latent_size = latent_size
    c.learner.encoder_hidden = c.learner.low_level_hidden = hidden
    c.learner.learning_rate = 1e-3 if tiny else 3e-4
  if "hier_bc" in parts:
    from helms_jax.agents.baselines import hier_bc  # pylint: disable=import-outside-toplevel
    latent_size, c.learner = c.learner.latent_size, hier_bc.default_config()
    c.learner.latent_size = latent_size
    c.learner.high_level_hidden = c.learner.low_level_hidden = hidden
    c.learner.learning_rate = 1e-3 if tiny else 3e-4
  if "bc" in parts:
    from helms_jax.agents.baselines import bc  # pylint: disable=import-outside-toplevel
    c.learner = bc.default_config()
    c.learner.hidden_sizes = (32, 32) if tiny else (256, 256)


def set_spirl_learner(c: ml_collections.ConfigDict, tiny: bool, horizon: int = 10,
                      z_dim: int = 10) -> None:
  """The SPiRL skill VAE + skill prior (agents/spirl/offline.py) with its window sampler.

  Windows are exactly one skill long (`train.window = horizon`, no look-ahead); the reference's
  sizes (LSTM 128, prior 6 x 128, beta 1e-2) unless `tiny`.
  """
  from helms_jax.agents.spirl import offline  # pylint: disable=import-outside-toplevel
  c.learner = offline.default_config()
  c.learner.horizon, c.learner.z_dim = horizon, z_dim
  if tiny:
    c.learner.lstm_size, c.learner.prior_hidden = 16, (16, 16)
    c.learner.decoder_hidden = (16, 16)
  c.train.window, c.train.lookahead = horizon, 0
  c.train.batch_size = 16 if tiny else 128
  c.eval.baselines = ("expert", "random")

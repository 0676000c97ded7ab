"""The HeLMS pipeline: generate data → learn skills offline → evaluate → analyse → report.

The README's main job. The stacking expert generates `red_on_blue` episodes on object set 4
(three cubes); HeLMS learns K = 5 skills from them (agents/helms/offline.py); the report shows
the learned transition prior, skill usage and each skill's behaviour held fixed (Figure 3 of
the paper), and the checkpoint in `<workdir>/checkpoints/` is what transfer loads.

Variants (modifiers combine with `tiny`, e.g. `discrete_only,tiny`):
  default          sized for about 15 minutes on a 2-core CPU: 512 episodes, 6000 updates
                   of batch 64 x 16 steps, 128-unit networks (≈20 updates/s here).
  tiny             end to end in a few minutes on CPU (tests): 16 episodes, 40 updates.
  discrete_only    zero-variance skill components (z = component mean, no KL on z).
  continuous_only  K = 1: a single Gaussian for the high and mid level (the paper's
                   continuous-only ablation).
  npmp             NPMP (agents/npmp: look-ahead encoder, AR(1) latent prior, proprioceptive
                   low level): the NPMP+KL transfer baseline.
  hier_bc          hierarchical BC (agents/baselines/hier_bc: a latent Gaussian high level on
                   proprio + objects over a proprioceptive low level, trained by BC): the
                   hierarchical-BC transfer baseline (fine-tuned as a whole).
  bc               flat Gaussian BC (256 x 256) on the same data: the BC(+MPO) baseline.
Full-scale data and training are `red_on_blue_stacking.py` (K=5) and `all_pairs_stacking.py`
(K=10).

Usage:
  helms-pipeline --config=experiments/helms_stacking.py --workdir=runs/main
  helms-pipeline --config=experiments/helms_stacking.py:discrete_only,tiny --workdir=runs/d
"""

from experiments._base import (SKILL_MODELS, pipeline_config, set_helms_learner,
                               set_skill_model, variant_parts)

def get_config(variant: str = "default"):
  parts = variant_parts("helms_stacking", variant, SKILL_MODELS)
  tiny = "tiny" in parts
  c = pipeline_config("helms_stacking", variant, SKILL_MODELS)
  c.env.name = "stacking"
  c.env.kwargs = {"task": "red_on_blue", "object_set": 4, "objects": "rgb", "reward": "rgb_staged"}
  c.env.episode_length = 60 if tiny else 150  # the expert stacks in ~80 steps (4 s at 20 Hz)
  set_helms_learner(c, num_skills=5, tiny=tiny)
  if not tiny:
    c.data.num_episodes = 512
    c.data.episodes_per_shard = 128
    c.train.num_steps = 6000
    c.train.updates_per_call = 50
    c.train.log_every = 250
    c.train.checkpoint_every = 1000
  # Same shape as a data-generation batch, so the expert's evaluation rollout is a cache hit.
  c.eval.num_episodes = c.data.num_envs
  set_skill_model(c, "helms_stacking", variant, parts)
  set_short_transfer(c, tiny)
  return c


def set_short_transfer(c, tiny: bool) -> None:
  """The pipeline's last stage: a short RL run on the same task from the skills just learnt.

  HeLMS-cat over the mixture / discrete skills, HeLMS-mix over continuous-only skills, NPMP +
  KL over NPMP, hierarchical BC and BC fine-tuned by MPO; 3 seeds (2 in tiny) trained together.
  The full transfer experiments are `experiments/transfer_*.py`.
  """
  from helms_jax.agents.helms import downstream as transfer  # pylint: disable=import-outside-toplevel
  c.transfer = transfer.default_config()
  t = c.transfer
  if c.learner.name == "bc":
    t.method = "bc_mpo"
  elif c.learner.name == "hier_bc":
    t.method = "hier_bc"
  elif c.learner.name == "npmp":
    t.method, t.agent.eta_z = "npmp_kl", 0.01
  elif c.learner.components == "continuous_only":
    t.method, t.agent.eta_z = "helms_mix", 0.01
  else:
    t.method, t.agent.eta_y = "helms_cat", 0.01
  t.env_kwargs = {"reward": "rgb_staged"}
  loop = t.loop
  if tiny:
    t.policy_hidden = t.agent.critic_hidden = (32, 32)
    t.agent.num_samples, t.seeds = 4, (0, 1)
    loop.num_envs, loop.unroll_length, loop.iterations_per_call = 8, 4, 4
    loop.updates_per_iteration, loop.batch_size, loop.sequence_length = 2, 16, 3
    loop.replay_capacity, loop.min_replay_steps = 2048, 64
    loop.env_steps, loop.checkpoint_every_calls = 256, 1
  else:
    # A CPU budget of ~100k env steps per seed allows a few thousand updates: 8 per 320 env
    # steps, and the MPO target networks (which anchor the trust regions) refreshed every 25
    # updates instead of Acme's 100, or the policy could move only ~ε per 100 updates.
    t.agent.target_update_period = 25
    loop.num_envs, loop.unroll_length, loop.iterations_per_call = 32, 10, 10
    loop.updates_per_iteration, loop.batch_size, loop.sequence_length = 8, 128, 5
    loop.replay_capacity, loop.min_replay_steps = 100_000, 3_200
    loop.env_steps, loop.checkpoint_every_calls = 12_800, 2

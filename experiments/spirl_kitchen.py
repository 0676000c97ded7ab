"""SPiRL skill prior on the D4RL kitchen data (Pertsch et al., 2020, section 5 "kitchen").

A dataset-only experiment (`env.name = ''`: there is no kitchen simulator here): the pipeline
imports a D4RL kitchen HDF5 file the user has locally, trains the skill VAE and the
state-conditioned skill prior on it, and writes the report (evaluation, analysis and transfer
need an env and are skipped; `runs.has_env`).

  helms-pipeline --config=experiments/spirl_kitchen.py --workdir=runs/kitchen \\
      --config.data.import_hdf5=/path/to/kitchen_microwave_kettle_bottomburner_light-v0.hdf5

The file is D4RL's flat layout (`data/hdf5.py`): `observations [N, 60]` (9 arm joint positions,
21 object positions, the 30-dim goal), `actions [N, 9]`, `rewards [N]`, `terminals [N]` (1 at
the last row of each demonstration: D4RL's kitchen files are human demonstrations concatenated),
`timeouts [N]`; other entries (e.g. `infos`) are ignored. kitchen-mixed-v0 is
`kitchen_microwave_kettle_bottomburner_light-v0.hdf5`, kitchen-partial-v0
`kitchen_microwave_kettle_light_slider-v0.hdf5`, kitchen-complete-v0
`mini_kitchen_microwave_kettle_light_slider-v0.hdf5`.

Episodes: the rows up to each terminal form one demonstration (how SPiRL's
`D4RLSequenceSplitDataset` splits them). The row after a terminal is the next demonstration's
first observation, not the final one, and the files have no `next_observations`, so
`data.final_obs = 'drop_last'`: each episode's last row becomes its final observation (one step
shorter, always correct). Windows are H steps of one demonstration (`train.window = H`).

Hyperparameters (clvrai/spirl `spirl/configs/skill_prior_learning/kitchen/hierarchical/conf.py`
and `SkillPriorMdl` defaults): H = 10 (n_rollout_steps), z = 10 (nz_vae), beta = 5e-4
(kl_div_weight; maze uses 1e-2), LSTM 128 (nz_enc), prior 6 x 128 (num_prior_net_layers,
nz_mid_prior), batch 128. Differences from the reference are those of `agents/spirl/offline.py`
(Adam instead of RAdam by default, the open-loop decoder driven by z alone).

Variants: `default` (the reference's sizes) and `tiny` (minutes on a CPU; the test's size).
"""

from __future__ import annotations

import ml_collections

from experiments import _base

KITCHEN_BETA = 5e-4  # the reference's kitchen kl_div_weight


def get_config(variant: str = "default") -> ml_collections.ConfigDict:
  tiny = "tiny" in _base.variant_parts("spirl_kitchen", variant)
  c = _base.pipeline_config("spirl_kitchen", variant)
  c.env.name = ""  # dataset only: no simulator (runs.has_env)
  c.env.kwargs = {}
  c.env.episode_length = 280  # the kitchen demonstrations' length limit (D4RL max_seq_len)
  c.data.import_hdf5 = ""  # set --config.data.import_hdf5=/path/to/kitchen.hdf5
  c.data.final_obs = "drop_last"  # see the module docstring
  c.data.episodes_per_shard = 8 if tiny else 256
  _base.set_spirl_learner(c, tiny, horizon=10, z_dim=10)
  c.learner.beta = KITCHEN_BETA
  c.eval.baselines = ()  # no env: nothing to evaluate
  if tiny:
    c.train.num_steps = 60
    c.train.updates_per_call = 10
    c.train.log_every = 10
    c.train.checkpoint_every = 30
  else:
    c.train.num_steps = 100_000
    c.train.log_every = 1_000
    c.train.checkpoint_every = 10_000
  return c

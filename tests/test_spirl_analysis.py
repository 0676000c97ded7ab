"""SPiRL analyses: cell coverage against a brute-force count, skill re-sampling every H steps,
and (slow) the maze pipeline's Figure-5 maps."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helms_jax import configs, pipeline, runs
from helms_jax.agents.spirl.offline import SkillDecoder
from helms_jax.analysis import spirl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_cell_coverage_matches_brute_force():
  rng = np.random.default_rng(0)
  positions = rng.uniform([0, 0], [4, 3], size=(5, 20, 2))
  valid = (rng.uniform(size=(5, 20)) < 0.7).astype(np.float32)
  got = spirl.cell_coverage(positions, valid, (0, 4, 0, 3))
  per_episode = [{(int(x), int(y)) for (x, y), ok in zip(pos, v) if ok}
                 for pos, v in zip(positions, valid)]
  assert got["cells"] == 12
  assert got["cells_visited_mean"] == pytest.approx(np.mean([len(s) / 12 for s in per_episode]))
  assert got["cells_visited_total"] == pytest.approx(len(set().union(*per_episode)) / 12)
  with pytest.raises(ValueError, match=r"\[E, T, 2\]"):
    spirl.cell_coverage(positions[..., :1], valid, (0, 4, 0, 3))


def test_reach_by_distance_on_a_corridor():
  """A 1 x 5 corridor from the start at its left: distances 0..4 along x; one episode gets to
  x = 2.5 (distance 2), one to the end (4), one stays (0) - with a padded step that would reach
  the end if it counted."""
  distance = np.arange(5, dtype=np.float32)[None]  # [R=1, C=5]
  positions = np.array([[[0.5, 0.5], [1.5, 0.5], [2.5, 0.5], [2.5, 0.5]],
                        [[0.5, 0.5], [2.5, 0.5], [3.5, 0.5], [4.5, 0.5]],
                        [[0.5, 0.5], [0.6, 0.5], [0.7, 0.5], [4.5, 0.5]]])
  valid = np.array([[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 0]])
  got = spirl.reach_by_distance(positions, valid, distance)
  assert got["farthest_max"] == 4 and got["farthest_mean"] == pytest.approx(2.0)
  np.testing.assert_allclose(got["reached_at_least"], [1, 2 / 3, 2 / 3, 1 / 3, 1 / 3])


def test_skill_sequence_policy_draws_a_new_skill_every_horizon_steps():
  decoder = SkillDecoder(
      init=lambda params, z, obs: {"z": z, "step": jnp.zeros((), jnp.int32)},
      step=lambda params, d, obs: (d["z"], {"z": d["z"], "step": d["step"] + 1}))
  uniform = spirl.UniformSkill(size=2, bound=2.0)
  policy = spirl.SkillSequencePolicy(decoder, uniform, horizon=3, z_dim=2)
  pstate, actions = policy.init(jax.random.PRNGKey(0)), []
  for t in range(9):
    action, pstate = policy(None, jnp.zeros(4), jax.random.PRNGKey(t), pstate)
    actions.append(np.asarray(action))
  actions = np.stack(actions).reshape(3, 3, 2)
  assert np.all(actions == actions[:, :1])  # constant within a skill
  assert len({tuple(a[0]) for a in actions}) == 3  # a fresh draw per skill
  assert np.all(np.abs(actions) <= 2.0)


@pytest.mark.slow
def test_maze_pipeline_draws_exploration_maps(tmp_path):
  """spirl_maze:spirl,tiny end to end: random-maze data, skills, maps on the large maze, SAC."""
  config = configs.load_config(f"{ROOT}/experiments/spirl_maze.py:spirl,tiny")
  config.compilation_cache_dir = "none"
  workdir = str(tmp_path / "run")
  pipeline.run_pipeline(config, workdir)
  with open(os.path.join(workdir, "analysis", "analysis.json")) as f:
    index = json.load(f)
  assert [fig["file"] for fig in index["figures"]] == ["exploration_maps.png", "reach.png"]
  rows = index["metrics"]["exploration"]
  assert set(rows) == {"skill prior", "uniform skills"}
  assert all(0 < r["cells_visited_mean"] <= r["cells_visited_total"] <= 1 for r in rows.values())
  # The large maze's goal is 39 moves from the start; reach fractions fall with distance.
  assert all(r["goal_distance"] == 39 and r["reached_at_least"][0] == 1.0 and
             np.all(np.diff(r["reached_at_least"]) <= 0) for r in rows.values())
  with open(os.path.join(workdir, "report", "metrics.json")) as f:
    metrics = json.load(f)
  assert "transfer" in metrics and "analysis" in metrics


@pytest.mark.slow
def test_maze_pipeline_in_the_papers_layouts(tmp_path):
  """spirl_maze:spirl,image,d4rl_camera,d4rl_data,d4rl_maze,tiny end to end: data in D4RL
  random layouts (10 x 10 when tiny), image skills seen through D4RL's trailing camera, maps
  and SAC in the paper's 40 x 40 maze."""
  config = configs.load_config(
      f"{ROOT}/experiments/spirl_maze.py:spirl,image,d4rl_camera,d4rl_data,d4rl_maze,tiny")
  config.compilation_cache_dir = "none"
  workdir = str(tmp_path / "run")
  pipeline.run_pipeline(config, workdir)
  env = runs.make_env(config)
  assert env.unwrapped.spec.kind == "d4rl_random" and env.unwrapped.rows == 10
  assert env.unwrapped.camera_follow == 0.2 and config.learner.prior_image_planes == 3
  with open(os.path.join(workdir, "analysis", "analysis.json")) as f:
    rows = json.load(f)["metrics"]["exploration"]
  assert all(r["goal_distance"] == 34 for r in rows.values())  # the paper's start and goal
  with open(os.path.join(workdir, "report", "metrics.json")) as f:
    assert "transfer" in json.load(f)


@pytest.mark.slow  # ~10 s; suite budget
def test_flat_prior_of_a_state_run_explores_the_image_maze(tmp_path):
  """The BC flat prior (trained on the maze's state) is restored with its own env and acts in
  the image variant's maze on the state part of the observation (Figure 5's third row)."""
  bc_dir = str(tmp_path / "bc")
  config = configs.load_config(f"{ROOT}/experiments/spirl_maze.py:bc_sac,tiny")
  config.compilation_cache_dir = "none"
  config.data.num_episodes = 16
  pipeline.generate_data(config, bc_dir)
  pipeline.train(config, bc_dir)
  bc_config, bc_params = runs.load_offline_run(bc_dir)
  inputs = {leaf.shape[0] for leaf in jax.tree.leaves(bc_params) if leaf.ndim == 2}
  assert 4 in inputs and 4 + 2 * 8 * 8 not in inputs  # the state's network, not the views'
  image = configs.load_config(f"{ROOT}/experiments/spirl_maze.py:spirl,image,tiny")
  env = runs.make_transfer_env(image)
  assert env.observation_size == 4 + 2 * 8 * 8
  flat = spirl.explorers(image.learner, env, None, skill_bound=2.0,
                                  bc=(bc_config, bc_params))[-1]
  assert flat.label == "flat prior"
  state = env.reset(jax.random.PRNGKey(0))
  action = flat.policy(bc_params, state.obs, jax.random.PRNGKey(1))
  assert action.shape == (2,) and bool(jnp.all(jnp.abs(action) <= 1.0))

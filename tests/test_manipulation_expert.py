"""The stacking expert: success rate, dataset round trip with task labels, stateful rollouts.

One compiled stacking rollout is shared (session fixture `red_on_blue_dataset` in conftest.py):
`pipeline.generate_data` on red_on_blue, object set 4, whose episodes give both the success rate
and the dataset round trip (and the HeLMS pipeline test's data).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helms_jax import data as data_lib, envs
from helms_jax.envs import experts
from helms_jax.envs.manipulation import expert as expert_lib, rgb_objects
from helms_jax.envs.manipulation import scene, tasks
from helms_jax.envs.manipulation.stacking import OBSERVATION_GROUPS

NUM_EPISODES = 32  # = conftest.STACKING_EPISODES
# The fixture's data are the RGB-Stacking set 4 objects (red_on_blue_stacking): measured 97% on
# 32 episodes of 200 steps and 84% (27 / 32) in these 120-step episodes, noise 0.2; see the expert
# module docstring. A margin below it.
MIN_SUCCESS_RATE = 0.75


def test_expert_stacks_red_on_blue_set4(red_on_blue_dataset):
  _, dataset = red_on_blue_dataset
  success = np.asarray(dataset.fields["episode/success"])
  assert success.shape == (NUM_EPISODES,)
  assert success.mean() >= MIN_SUCCESS_RATE, f"success rate {success.mean():.2f}"


def test_dataset_round_trip_with_task_labels(red_on_blue_dataset):
  config, dataset = red_on_blue_dataset
  fields = dataset.fields
  assert dataset.num_episodes == NUM_EPISODES
  np.testing.assert_array_equal(fields["episode/task_id"],
                                tasks.TASKS.index("red_on_blue"))
  # The task group of every stored observation is the one-hot of the episode's task.
  task_obs = OBSERVATION_GROUPS.select(np.asarray(fields["observation"]), "task")
  np.testing.assert_array_equal(task_obs.argmax(-1), tasks.TASKS.index("red_on_blue"))
  # An episode is a success iff one of its steps is.
  lengths = np.asarray(dataset.episode_length)
  assert lengths.max() <= config.env.episode_length
  starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
  any_step = np.maximum.reduceat(np.asarray(fields["info/success"]), starts) > 0
  np.testing.assert_array_equal(any_step, fields["episode/success"])
  sampler = data_lib.WindowSampler(dataset, window=8)
  batch = sampler.sample(jax.random.PRNGKey(0), 16)
  assert batch["observation"].shape == (16, 8, OBSERVATION_GROUPS.obs_size)
  assert batch["action"].shape == (16, 8, 5)
  np.testing.assert_array_equal(batch["episode/task_id"], tasks.TASKS.index("red_on_blue"))
  np.testing.assert_array_equal(
      batch["episode/success"], np.asarray(fields["episode/success"])[batch["episode_index"]])
  assert np.abs(batch["action"]).max() <= 1.0


def _counting_init(key):
  return {"count": jnp.zeros((), jnp.int32), "offset": jax.random.uniform(key, ())}


def _counting_policy(obs, key, pstate):
  """Stateless PD expert, plus a step counter in the policy state."""
  action = envs.point_reach_expert(obs, key, noise_scale=0.0)
  return action, {**pstate, "count": pstate["count"] + 1}


def _counting_obs_policy(obs, key, pstate):
  action, pstate = _counting_policy(obs, key, pstate)
  # Encode the count in the action (clipped by the env, recorded unclipped by rollout).
  return action.at[0].set(pstate["count"].astype(action.dtype)), pstate


def test_stateful_rollout_carries_state_and_matches_stateless():
  env = envs.EpisodeWrapper(envs.PointReach(), episode_length=12)
  key = jax.random.PRNGKey(3)
  stateless = envs.rollout(env, functools.partial(envs.point_reach_expert, noise_scale=0.0),
                           key, 4, 15)
  stateful = envs.rollout(env, _counting_policy, key, 4, 15, policy_init=_counting_init)
  # Same reset and per-step keys: identical trajectories.
  np.testing.assert_allclose(stateful.observation, stateless.observation, atol=1e-6)
  counted = envs.rollout(env, _counting_obs_policy, key, 4, 15, policy_init=_counting_init)
  valid = np.asarray(counted.valid)
  # The state advances once per valid step: action[0] is 1, 2, 3, ... then padding (0).
  expected = np.cumsum(valid, axis=1) * valid
  np.testing.assert_array_equal(np.asarray(counted.action[..., 0]), expected)
  with pytest.raises(TypeError, match="policy_init"):
    envs.rollout(env, _counting_policy, key, 4, 15, policy_init=3)


def test_expert_for_adapts_stateless_experts():
  env = envs.PointReach()
  expert = experts.expert_for("point_reach", env, noise_scale=0.0)
  obs = env.reset(jax.random.PRNGKey(0)).obs
  action, pstate = expert.policy(obs, jax.random.PRNGKey(1), expert.init(jax.random.PRNGKey(2)))
  np.testing.assert_allclose(action, envs.point_reach_expert(obs, jax.random.PRNGKey(1), 0.0))
  assert pstate == ()
  # Value-equal experts hash equal: a second expert_for reuses the compiled rollout.
  assert expert.policy == experts.expert_for("point_reach", env, noise_scale=0.0).policy
  with pytest.raises(ValueError, match="stateful expert"):
    experts.get("stacking")
  with pytest.raises(ValueError, match="no scripted expert"):
    experts.expert_for("nope", env)


@pytest.fixture(scope="module")
def all_pairs_env():
  return envs.make("stacking", task="all_pairs", object_set=4)


def _obs(gripper, positions, task):
  """A hand-built observation: gripper body position, objects upright, `task` one-hot."""
  proprio = np.zeros(12, np.float32)
  proprio[:3] = gripper
  proprio[4] = 1.0  # cos(yaw)
  objects = np.zeros((3, 13), np.float32)
  objects[:, :3] = positions
  objects[:, 3] = 1.0  # identity quaternion
  objects[:, 7:10] = positions - (np.asarray(gripper) - [0, 0, scene.FINGER_LENGTH])
  one_hot = np.eye(len(tasks.TASKS), dtype=np.float32)[tasks.TASKS.index(task)]
  return jnp.asarray(np.concatenate([proprio, objects.ravel(), one_hot]))


def test_expert_reads_the_task_from_the_observation(all_pairs_env):
  expert = expert_lib.make_expert(all_pairs_env, noise_scale=0.0)
  pstate = expert.init(jax.random.PRNGKey(0))
  positions = np.array([[0.1, 0.0, 0.025], [-0.1, 0.0, 0.025], [0.0, 0.1, 0.025]])
  policy = jax.jit(expert.policy)
  heading = {}
  for task in ("red_on_blue", "green_on_red", "blue_on_green"):
    action, new = policy(_obs([0.0, 0.0, 0.2], positions, task), jax.random.PRNGKey(1), pstate)
    assert int(new.phase) == expert_lib.REACH
    heading[task] = np.asarray(action[:2])
    assert action[4] == -1.0  # open while reaching
  assert heading["red_on_blue"][0] > 0.5 and heading["green_on_red"][0] < -0.5
  assert heading["blue_on_green"][1] > 0.5 and abs(heading["blue_on_green"][0]) < 0.2


def test_grasp_geometry_closes_on_the_narrow_axis():
  bar = scene.object_set(2)[2]  # 10 cm along x, 4 cm along y: close along y
  flat = scene.object_set(2)[1]  # 8 x 6 cm: close along y
  assert expert_lib.grasp_geometry(bar)[:2] == (0.0, np.pi)
  assert expert_lib.grasp_geometry(flat)[:2] == (0.0, np.pi)
  wedge = scene.object_set(1)[1]  # 5 cm along x, 5.6 cm along y: close along x
  assert expert_lib.grasp_geometry(wedge)[:2] == (np.pi / 2, np.pi)
  cube = scene.object_set(4)[0]
  assert expert_lib.grasp_geometry(cube)[:2] == (0.0, np.pi / 2)
  tri = scene.object_set(5)[1]  # flat face at +y, vertex at -y: grasp centre below the origin
  offset, period, centre = expert_lib.grasp_geometry(tri)
  assert period == pytest.approx(2 * np.pi / 3) and centre[1] < 0


def test_grasp_of_rgb_objects_closes_on_parallel_faces():
  """RGB-Stacking objects: the fingers (gripper y, at yaw offset) close across two parallel
  vertical faces, the narrowest such pair: brute force over yaw angles, the object's width along
  a direction is parallel-face-constant (the same at every height and across the face) only
  across such a pair, and among those the offset's is the smallest."""
  for object_id in rgb_objects.OBJECT_IDS:
    shape = scene.rgb_shape(object_id)
    offset, period, _ = expert_lib.grasp_geometry(shape)
    assert period == pytest.approx(np.pi)

    def widths(yaw):  # width along gripper y of each horizontal slice (bottom, middle, top)
      axis = np.array([-np.sin(yaw), np.cos(yaw), 0.0])
      v = shape.vertices
      out = []
      for z in (v[:, 2].min(), 0.0, v[:, 2].max()):
        ring = v[np.isclose(v[:, 2], np.sign(z) * np.abs(v[:, 2]).max())] if z else v
        proj = ring @ axis
        out.append(proj.max() - proj.min())
      return np.array(out)

    grid = np.radians(np.arange(0.0, 180.0, 0.5))
    constant = [y for y in grid if np.ptp(widths(y)) < 1e-4]
    assert constant, object_id
    best = min(constant, key=lambda y: widths(y)[0])
    got = widths(offset)
    assert np.ptp(got) < 1e-4, (object_id, np.degrees(offset))
    assert got[0] <= widths(best)[0] + 1e-4, (object_id, np.degrees(offset), np.degrees(best))
    assert got[0] < 2 * (scene.FINGER_OPEN_HALF - scene.FINGERTIP_RADIUS)  # fits the fingers


def test_top_face_and_mass_centres_of_sheared_objects():
  """The parallelograms (r5, g5, b5) rest as parallelepipeds: the centroid of a parallelogram
  face is the mean of its corners, a parallelepiped's centre of mass the mean of its 8 corners;
  the lying parallelograms' top faces are off their bounding-box centre. Symmetric shapes and
  the "simple" family have no offsets."""
  for object_id in ("r5", "g5", "b5"):
    shape = scene.rgb_shape(object_id)
    v = shape.vertices
    top, mass = expert_lib.top_and_mass_centres(shape)
    np.testing.assert_allclose(top, v[v[:, 2] > v[:, 2].max() - 1e-6, :2].mean(0), atol=1e-9)
    np.testing.assert_allclose(mass, v[:, :2].mean(0), atol=1e-9)
    assert np.linalg.norm(top) > 0.005
  for shape in (scene.rgb_shape("s0"), scene.rgb_shape("b2"), scene.object_set(5)[1]):
    np.testing.assert_allclose(expert_lib.top_and_mass_centres(shape), 0.0, atol=1e-9)


def test_per_episode_noise_is_drawn_in_its_range():
  env = envs.make("stacking", task="red_on_blue", object_set=4)
  fixed = expert_lib.make_expert(env, noise_scale=0.2)
  ranged = expert_lib.make_expert(env, noise_scale=0.2, noise_max=1.0)
  keys = jax.random.split(jax.random.PRNGKey(0), 2000)
  np.testing.assert_array_equal(jax.vmap(fixed.init)(keys).noise, np.float32(0.2))
  noise = np.asarray(jax.vmap(ranged.init)(keys).noise)
  assert noise.min() >= 0.2 and noise.max() <= 1.0
  # Uniform on [0.2, 1.0]: mean 0.6, std 0.8 / sqrt(12) = 0.231 (2000 draws).
  assert abs(noise.mean() - 0.6) < 0.02 and abs(noise.std() - 0.231) < 0.02
  # The other per-episode draws are unchanged by the option (same keys, same sub-goals).
  np.testing.assert_array_equal(jax.vmap(fixed.init)(keys).approach,
                                jax.vmap(ranged.init)(keys).approach)
  with pytest.raises(ValueError, match="noise_max"):
    expert_lib.make_expert(env, noise_scale=0.5, noise_max=0.2)


def test_excursions_leave_the_task_at_their_rate_and_change_nothing_else(all_pairs_env):
  """Excursions (undirected movements, `excursion_max`): an episode's init draws and, when no
  excursion starts, its actions are those of the expert without excursions (their own key
  stream); they start at the episode's rate (binomial bounds over 4,000 keys) only while nothing
  is held; an excursion heads for its target with its gripper command and returns to reach
  after its length."""
  plain = expert_lib.make_expert(all_pairs_env, noise_scale=0.2)
  wander = expert_lib.make_expert(all_pairs_env, noise_scale=0.2, excursion_max=1.0)
  init_key = jax.random.PRNGKey(5)
  p0, w0 = plain.init(init_key), wander.init(init_key)
  for name in ("approach", "grasp_dz", "grasp_xy", "place_xy", "carry_clear", "speed",
               "close_steps", "release_steps", "noise"):
    np.testing.assert_array_equal(getattr(p0, name), getattr(w0, name))
  assert float(p0.excursion_rate) == 0.0 and 0.0 < float(w0.excursion_rate) <= 1.0

  positions = np.array([[0.1, 0.0, 0.025], [-0.1, 0.0, 0.025], [0.0, 0.1, 0.025]])
  obs = _obs([0.0, 0.0, 0.2], positions, "red_on_blue")
  keys = jax.random.split(jax.random.PRNGKey(6), 4000)
  rate = 0.3

  @jax.jit
  def step(phase, rate):
    state = w0.replace(excursion_rate=jnp.asarray(rate), phase=jnp.asarray(phase, jnp.int32))
    plain_state = p0.replace(phase=jnp.asarray(phase, jnp.int32))
    act = jax.vmap(lambda k: wander.policy(obs, k, state))(keys)
    ref = jax.vmap(lambda k: plain.policy(obs, k, plain_state))(keys)
    return act, ref

  (actions, new), (ref_actions, ref_new) = step(expert_lib.REACH, rate)
  started = np.asarray(new.phase) == expert_lib.EXCURSION
  n = len(keys)
  assert abs(started.mean() - rate) < 4 * np.sqrt(rate * (1 - rate) / n), started.mean()
  stay = ~started  # no excursion: the same action and next phase as without excursions
  np.testing.assert_array_equal(np.asarray(actions)[stay], np.asarray(ref_actions)[stay])
  np.testing.assert_array_equal(np.asarray(new.phase)[stay], np.asarray(ref_new.phase)[stay])
  target = np.asarray(new.excursion_target)[started]
  assert expert_lib.EXCURSION_XY == pytest.approx(scene.WORKSPACE_HALF + 0.04)
  assert np.all(np.abs(target[:, :2]) <= expert_lib.EXCURSION_XY)
  low, high = expert_lib.EXCURSION_Z
  assert np.all((target[:, 2] >= low) & (target[:, 2] <= high))
  steps = np.asarray(new.excursion_steps)[started]
  shortest, longest = expert_lib.EXCURSION_STEPS
  assert steps.min() >= shortest and steps.max() < longest
  assert set(np.unique(np.asarray(new.excursion_gripper)[started])) == {-1.0, 1.0}
  # Never while an object is held (lift, carry) or being released.
  for phase in (expert_lib.CLOSE, expert_lib.LIFT, expert_lib.CARRY, expert_lib.RELEASE):
    _, held = step(phase, 1.0)[0]
    assert not np.any(np.asarray(held.phase) == expert_lib.EXCURSION), phase

  # On an excursion: towards its target (noise-free), its gripper command, back to reach after.
  quiet = expert_lib.make_expert(all_pairs_env, noise_scale=0.0, excursion_max=1.0)
  target = jnp.array([-0.15, 0.12, 0.05])
  on = quiet.init(init_key).replace(phase=jnp.asarray(expert_lib.EXCURSION, jnp.int32),
                                   excursion_target=target, excursion_steps=jnp.asarray(7),
                                   excursion_gripper=jnp.asarray(1.0), count=jnp.asarray(3))
  action, after = jax.jit(quiet.policy)(obs, jax.random.PRNGKey(1), on)
  grip = np.array([0.0, 0.0, 0.2 - scene.FINGER_LENGTH])
  np.testing.assert_array_equal(np.sign(action[:3]), np.sign(np.asarray(target) - grip))
  assert float(action[4]) == 1.0 and int(after.phase) == expert_lib.EXCURSION
  _, back = jax.jit(quiet.policy)(obs, jax.random.PRNGKey(1), on.replace(count=jnp.asarray(6)))
  assert int(back.phase) == expert_lib.REACH
  with pytest.raises(ValueError, match="excursion_max"):
    expert_lib.make_expert(all_pairs_env, excursion_max=1.5)

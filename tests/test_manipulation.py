"""The MJX stacking env: goal tests and rewards on hand-placed configurations, grasp sensor,
physical stability of a stack, determinism, and errors for bad names.

Reward tests use `tasks` directly on hand-built scene summaries (the formulas are independent
of physics); physics tests place objects by hand with `Stacking.state_from_qpos` and step the
real env (one compiled step function shared by the module).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helms_jax import envs
from helms_jax.envs.manipulation import rgb_objects, scene, tasks
from helms_jax.envs.manipulation.stacking import Stacking

RED, GREEN, BLUE = 0, 1, 2


def _constants(object_set=4):
  shapes = scene.object_set(object_set)
  return tasks.ShapeConstants(
      bottom=np.array([s.bottom for s in shapes], np.float32),
      top=np.array([s.top for s in shapes], np.float32),
      half_width=np.array([s.half_extents[0] for s in shapes], np.float32))


def _summary(object_pos, grip=(0.3, 0.3, 0.3), grasped=(0, 0, 0)):
  return tasks.SceneSummary(grip_pos=jnp.array(grip, jnp.float32),
                            object_pos=jnp.array(object_pos, jnp.float32),
                            grasped=jnp.array(grasped, jnp.float32))


def _rewards(task, summary, c):
  return {mode: tuple(float(x) for x in tasks.task_reward(task, mode, summary, c))
          for mode in tasks.rewards_for((task,))}


C4 = _constants(4)
H = 0.025  # set 4 cube half-size


def test_red_on_blue_stacked():
  stacked = [[0.05, 0.0, 3 * H], [-0.1, 0.1, H], [0.05, 0.0, H]]  # red on blue, green aside
  r = _rewards("red_on_blue", _summary(stacked), C4)
  assert r["sparse"] == (1.0, 1.0)
  assert r["staged"] == (1.0, 1.0)
  assert r["dense"][0] == pytest.approx(1.0) and r["dense"][1] == 1.0
  # The same scene is not blue on red, nor green on blue.
  assert _rewards("blue_on_red", _summary(stacked), C4)["sparse"] == (0.0, 0.0)
  assert _rewards("green_on_blue", _summary(stacked), C4)["sparse"] == (0.0, 0.0)


@pytest.mark.parametrize("offset,expected", [
    ((0.0, 0.0, 0.0), 1.0),
    ((0.02, 0.0, 0.0), 1.0),  # within the 2.5 cm horizontal tolerance
    ((0.03, 0.0, 0.0), 0.0),  # outside it: hanging off the edge
    ((0.0, 0.0, 0.012), 1.0),  # within the 1.5 cm vertical tolerance
    ((0.0, 0.0, 0.02), 0.0),  # floating above
    ((0.0, 0.0, -2 * H), 0.0),  # side by side on the table, not stacked
])
def test_goal_tolerances(offset, expected):
  pos = np.array([[0.0, 0.0, 3 * H], [0.1, 0.1, H], [0.0, 0.0, H]]) + np.array([offset, [0] * 3,
                                                                                 [0] * 3])
  assert _rewards("red_on_blue", _summary(pos), C4)["sparse"][1] == expected


def test_stack_held_by_gripper_is_not_success():
  stacked = [[0.0, 0.0, 3 * H], [0.1, 0.1, H], [0.0, 0.0, H]]
  r = _rewards("red_on_blue", _summary(stacked, grip=(0, 0, 3 * H), grasped=(1, 0, 0)), C4)
  assert r["sparse"] == (0.0, 0.0)
  assert r["staged"][0] < 1.0


def test_staged_stages():
  apart = [[0.1, 0.0, H], [-0.1, 0.1, H], [-0.1, -0.1, H]]
  c = C4
  # Nothing done: gripper far away.
  assert _rewards("red_on_blue", _summary(apart), c)["staged"][0] == 0.0
  # Reached: grip point at red.
  assert _rewards("red_on_blue", _summary(apart, grip=(0.1, 0.0, H)), c)["staged"][0] == 0.25
  # Grasped but still on the table.
  assert _rewards("red_on_blue", _summary(apart, grip=(0.1, 0.0, H), grasped=(1, 0, 0)),
                  c)["staged"][0] == 0.5
  # Grasped and lifted 5 cm.
  lifted = [[0.1, 0.0, H + 0.05], [-0.1, 0.1, H], [-0.1, -0.1, H]]
  r = _rewards("red_on_blue", _summary(lifted, grip=(0.1, 0.0, H + 0.05), grasped=(1, 0, 0)), c)
  assert r["staged"][0] == 0.75 and r["sparse"][0] == 0.0
  # Lifting the wrong object earns nothing for red_on_blue.
  wrong = [[0.1, 0.0, H], [-0.1, 0.1, H + 0.05], [-0.1, -0.1, H]]
  assert _rewards("red_on_blue", _summary(wrong, grip=(-0.1, 0.1, H + 0.05), grasped=(0, 1, 0)),
                  c)["staged"][0] == 0.0


def test_dense_reward_is_shaped_and_ordered():
  apart = [[0.1, 0.0, H], [-0.1, 0.1, H], [-0.1, -0.1, H]]
  far = _rewards("red_on_blue", _summary(apart, grip=(-0.2, -0.2, 0.3)), C4)["dense"][0]
  near = _rewards("red_on_blue", _summary(apart, grip=(0.1, 0.0, H + 0.05)), C4)["dense"][0]
  reached = _rewards("red_on_blue", _summary(apart, grip=(0.1, 0.0, H)), C4)["dense"][0]
  lifted = [[0.1, 0.0, H + 0.05], [-0.1, 0.1, H], [-0.1, -0.1, H]]
  carried = _rewards("red_on_blue", _summary(lifted, grip=(0.1, 0.0, H + 0.05),
                                             grasped=(1, 0, 0)), C4)["dense"][0]
  above = [[-0.1, -0.1, 3 * H + 0.04], [-0.1, 0.1, H], [-0.1, -0.1, H]]
  over_target = _rewards("red_on_blue", _summary(above, grip=(-0.1, -0.1, 3 * H + 0.04),
                                                 grasped=(1, 0, 0)), C4)["dense"][0]
  assert 0.0 < far < near < reached < carried < over_target < 1.0


def test_pyramid():
  c = C4
  red, green = [0.0, 0.0, H], [2 * H, 0.0, H]
  blue_on_top = [H, 0.0, 3 * H]
  r = _rewards("pyramid", _summary([red, green, blue_on_top]), c)
  assert r["sparse"] == (1.0, 1.0) and r["staged"] == (1.0, 1.0)
  # Red and green apart (4 cm gap): the base fails, so does the pyramid.
  r = _rewards("pyramid", _summary([[0.0, 0, H], [2 * H + 0.04, 0, H], [0.3, 0.3, H]]), c)
  assert r["sparse"][1] == 0.0
  # Base done, blue still on the table: half the staged reward.
  r = _rewards("pyramid", _summary([red, green, [0.2, 0.2, H]]), c)
  assert r["sparse"][1] == 0.0 and r["staged"][0] == 0.5
  # Blue on red only (off the midpoint): not a pyramid.
  r = _rewards("pyramid", _summary([red, green, [0.0, 0.0, 3 * H]]), c)
  assert r["sparse"][1] == 0.0


def _tanh_sq(d, margin):
  return 1.0 - np.tanh(np.arctanh(np.sqrt(0.95)) / margin * d) ** 2


def test_rgb_rewards_on_hand_built_states():
  """The RGB-Stacking rewards (benchmark constants, set 4 cubes: stacked gap 5 cm) against
  their closed forms, stage by stage: (k + r_k) / 5 shaped, (k + 1) / 5 for the last completed
  sub-goal staged, and the contact test sparse."""
  c = C4
  blue, green = [0.1, 0.0, H], [-0.1, 0.1, H]
  red = [-0.15, -0.15, H]  # > 27.5 cm from the stacked position when lifted: place stays < 0.01

  def rewards(grip, red_pos, grasped=0.0, closure=0.0, **contacts):
    summary = _summary([red_pos, green, blue], grip=grip, grasped=(grasped, 0, 0))
    summary = summary._replace(finger_closure=np.float32(closure), **contacts)
    return {r: float(tasks.task_reward("red_on_blue", r, summary, c)[0])
            for r in tasks.RGB_REWARDS}

  close_open = _tanh_sq(1.0, 1.0)  # 0.05: fingers open
  # At red, fingers open: reach 1 > 0.9, grasp = 0.5 * 0.05 -> (0.5 + grasp / 2) / 5; no sub-goal.
  r = rewards(red, red)
  assert r["rgb_shaped"] == pytest.approx((0.5 + 0.25 * close_open) / 5, rel=1e-5)
  assert r["rgb_staged"] == 0.0 and r["rgb_sparse"] == 0.0
  # 6 cm away: reach < 0.9, value reach / 2.
  r = rewards([-0.15, -0.09, H], red)
  assert r["rgb_shaped"] == pytest.approx(0.5 * _tanh_sq(0.06, 0.15) / 5, rel=1e-4)
  # Grasped at red: stage 1 complete.
  r = rewards(red, red, grasped=1.0, closure=0.6)
  assert r["rgb_shaped"] == pytest.approx(0.2) and r["rgb_staged"] == pytest.approx(0.2)
  # Held 7.75 cm up (centre), half way up the lift ramp, far from blue: (1 + 0.5) / 5. (Closer
  # to blue the place stage would already count: the stages are not gated.)
  up = [-0.15, -0.15, 0.0775]
  r = rewards(up, up, grasped=1.0, closure=0.6)
  assert r["rgb_shaped"] == pytest.approx(1.5 / 5, rel=1e-4)
  assert r["rgb_staged"] == pytest.approx(0.2)
  up = [-0.15, -0.15, 0.12]  # above the ramp: lifted
  r = rewards(up, up, grasped=1.0, closure=0.6)
  assert r["rgb_shaped"] == pytest.approx(2 / 5, rel=1e-4)
  assert r["rgb_staged"] == pytest.approx(0.4)
  # Held 2 cm over the stacked position: place = tanh^2 at 2 cm (tolerance 1 cm, margin 0.2);
  # its centre (9.5 cm) is under the 10 cm "lifted" height, so the last sub-goal is the grasp.
  over = [blue[0], blue[1], 3 * H + 0.02]
  r = rewards(over, over, grasped=1.0, closure=0.6)
  assert r["rgb_shaped"] == pytest.approx((2 + _tanh_sq(0.02, 0.2)) / 5, rel=1e-4)
  assert r["rgb_staged"] == pytest.approx(0.2)
  # Stacked and released, gripper far: stack (binary) -> 4 / 5; the pinch 10 cm over red: 1.
  stacked = [blue[0], blue[1], 3 * H]
  r = rewards([0.3, 0.3, 0.3], stacked)
  assert r["rgb_shaped"] == pytest.approx(0.8) and r["rgb_staged"] == pytest.approx(0.8)
  r = rewards([blue[0], blue[1], 3 * H + 0.1], stacked)
  assert r["rgb_shaped"] == pytest.approx(1.0) and r["rgb_staged"] == pytest.approx(1.0)
  r = rewards([blue[0], blue[1], 3 * H + 0.14], stacked)  # 4 cm off the band: shaped
  assert r["rgb_shaped"] == pytest.approx((4 + _tanh_sq(0.04, 0.05)) / 5, rel=1e-4)
  assert r["rgb_staged"] == pytest.approx(0.8)
  # Released 1.5 cm too high over blue (outside the 1 cm tolerances): neither placed nor stacked.
  r = rewards([0.3, 0.3, 0.3], [blue[0], blue[1], 3 * H + 0.015])
  assert r["rgb_shaped"] == pytest.approx((2 + _tanh_sq(0.015, 0.2)) / 5, rel=1e-4)
  assert r["rgb_staged"] == 0.0
  # Sparse: on blue and touching it, off the table, free of the fingers.
  touch = np.zeros((3, 3), np.float32)
  touch[RED, BLUE] = touch[BLUE, RED] = 1.0
  table = np.array([0.0, 1.0, 1.0], np.float32)
  assert rewards([0.3, 0.3, 0.3], stacked, object_contacts=touch,
                 table_contacts=table)["rgb_sparse"] == 1.0
  for contacts in (dict(object_contacts=np.zeros((3, 3), np.float32), table_contacts=table),
                   dict(object_contacts=touch, table_contacts=np.ones(3, np.float32)),
                   dict(object_contacts=touch, table_contacts=table,
                        tip_contacts=np.array([1.0, 0, 0], np.float32))):
    assert rewards([0.3, 0.3, 0.3], stacked, **contacts)["rgb_sparse"] == 0.0
  with pytest.raises(ValueError, match="not pyramid"):
    tasks.task_reward("pyramid", "rgb_staged", _summary([red, green, blue]), c)


def test_object_set_geometry():
  for index in scene.OBJECT_SETS:
    shapes = scene.object_set(index)
    assert len(shapes) == 3
    for shape in shapes:
      assert shape.vertices.shape[0] <= 64  # small hulls for MJX
      assert 0.01 < shape.bottom < 0.05 and shape.top > 0.005
      # Fits between the open fingers (grasped along the object's y axis).
      assert shape.half_extents[1] < scene.FINGER_OPEN_HALF - scene.FINGERTIP_RADIUS


def test_rgb_objects_rest_where_placed_at_the_benchmarks_mass():
  """The "rgb" family: the benchmark's triplets at 0.2 kg each, boxes as MuJoCo boxes, every
  object's resting pose a real rest: placed apart on the table as `reset` places them (C
  MuJoCo, the arm up and away), none moves by more than 2 mm or tilts by more than 2 degrees in
  2 s (test_rgb_objects checks that the pose holds the centre of mass lowest)."""
  import mujoco  # pylint: disable=import-outside-toplevel
  for index, ids in rgb_objects.TRIPLETS.items():
    shapes = scene.object_set(index, "rgb")
    assert tuple(s.kind for s in shapes) == ids
    model = mujoco.MjModel.from_xml_string(scene.build_mjcf(index, family="rgb"))
    data = mujoco.MjData(model)
    for k, (name, shape) in enumerate(zip(scene.OBJECT_NAMES, shapes)):
      body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)
      assert model.body_mass[body] == pytest.approx(0.2)
      geom = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, name)
      assert model.geom_type[geom] == (mujoco.mjtGeom.mjGEOM_BOX if shape.box_half is not None
                                       else mujoco.mjtGeom.mjGEOM_MESH)
      adr = model.jnt_qposadr[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)]
      data.qpos[adr:adr + 7] = [-0.12 + 0.12 * k, 0.1, shape.bottom, 1, 0, 0, 0]
    mujoco.mj_forward(model, data)
    start = data.xpos.copy()
    for _ in range(int(2.0 / model.opt.timestep)):
      mujoco.mj_step(model, data)
    for name in scene.OBJECT_NAMES:
      body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)
      assert np.linalg.norm(data.xpos[body] - start[body]) < 0.002, (index, name)
      tilt = np.degrees(np.arccos(np.clip(data.xmat[body].reshape(3, 3)[2, 2], -1, 1)))
      assert tilt < 2.0, (index, name, tilt)
  with pytest.raises(ValueError, match="valid: simple, rgb"):
    scene.object_set(1, "lego")
  with pytest.raises(ValueError, match="valid object families"):
    envs.make("stacking", objects="lego")


def test_bad_names_list_valid_ones():
  with pytest.raises(ValueError, match="valid tasks: red_on_green, red_on_blue"):
    envs.make("stacking", task="red_on_pink")
  with pytest.raises(ValueError, match="valid object sets: 1, 2, 3, 4, 5"):
    envs.make("stacking", object_set=6)
  with pytest.raises(ValueError, match="valid rewards: dense, staged, sparse, rgb_shaped"):
    envs.make("stacking", reward="shaped")


# ------------------------------------------------------------------------------------------------
# Physics: one env, one compiled step and one compiled placement, shared.


@pytest.fixture(scope="module")
def sim():
  env = Stacking(task="red_on_blue", object_set=4, reward="staged")
  place = jax.jit(env.state_from_qpos)

  @jax.jit
  def run(state, action):  # 10 env steps holding `action`
    return jax.lax.scan(lambda s, _: (env.step(s, action), s.reward), state, None, length=10)

  return env, place, run


def _qpos(env, arm, objects):
  """qpos with arm (x, y, z, yaw), fingers open, objects as [(x, y, z)] upright."""
  q = np.array(env.mj_model.qpos0, np.float32)
  q[env._arm_qpos] = arm
  q[env._finger_qpos] = 0.0
  for i, p in enumerate(objects):
    q[env._obj_qpos[i]:env._obj_qpos[i] + 7] = [*p, 1, 0, 0, 0]
  return q


def test_stack_is_physically_stable_and_rewarded(sim):
  env, place, run = sim
  q = _qpos(env, [-0.2, -0.2, 0.3, 0.0], [[0.05, 0.0, 3 * H], [-0.1, 0.1, H], [0.05, 0.0, H]])
  state = place(q)
  assert float(state.info["success"]) == 1.0
  state, rewards = run(state, jnp.array([0.0, 0.0, 0.0, 0.0, -1.0]))
  state, rewards = run(state, jnp.array([0.0, 0.0, 0.0, 0.0, -1.0]))
  summary = env.summary(state.pipeline_state)
  pos = np.asarray(summary.object_pos)
  np.testing.assert_allclose(pos[RED], [0.05, 0.0, 3 * H], atol=3e-3)  # the stack stays put
  assert float(state.info["success"]) == 1.0 and np.all(np.asarray(rewards) == 1.0)
  # The contact summary (RGB sparse reward): red touches blue only, green and blue the table.
  np.testing.assert_array_equal(np.asarray(summary.object_contacts),
                                [[0, 0, 1], [0, 0, 0], [1, 0, 0]])
  np.testing.assert_array_equal(np.asarray(summary.table_contacts), [0, 1, 1])
  np.testing.assert_array_equal(np.asarray(summary.tip_contacts), [0, 0, 0])
  assert float(tasks.rgb_sparse_stack(summary, RED, BLUE)) == 1.0


def test_grasp_sensor_and_lift(sim):
  env, place, run = sim
  # Fingers open around red (grip point at red's centre), yaw 0: fingers close along y.
  red = [0.1, 0.0, H]
  q = _qpos(env, [red[0], red[1], red[2] + scene.FINGER_LENGTH, 0.0],
            [red, [-0.1, 0.1, H], [-0.1, -0.1, H]])
  state = place(q)
  assert np.all(np.asarray(state.info["grasped"]) == 0)  # open fingers do not grasp
  state, _ = run(state, jnp.array([0.0, 0.0, 0.0, 0.0, 1.0]))  # close
  np.testing.assert_array_equal(np.asarray(state.info["grasped"]), [1.0, 0.0, 0.0])
  assert float(state.obs[11]) == 1.0  # the proprio grasp sensor
  summary = env.summary(state.pipeline_state)
  np.testing.assert_array_equal(np.asarray(summary.tip_contacts), [1, 0, 0])
  assert 0.2 < float(summary.finger_closure) < 1.0  # closed on the 5 cm cube
  state, rewards = run(state, jnp.array([0.0, 0.0, 1.0, 0.0, 1.0]))  # lift while closed
  z = float(env.summary(state.pipeline_state).object_pos[RED, 2])
  assert z > H + 0.04, z  # red came up with the gripper
  assert float(state.info["grasped"][RED]) == 1.0 and float(rewards[-1]) == 0.75
  state, _ = run(state, jnp.array([0.0, 0.0, 0.0, 0.0, -1.0]))  # open: it drops
  assert float(state.info["grasped"][RED]) == 0.0


def test_reset_is_deterministic_and_varied(sim):
  env, _, run = sim
  reset = jax.jit(env.reset)
  a, b, c = reset(jax.random.PRNGKey(0)), reset(jax.random.PRNGKey(0)), reset(jax.random.PRNGKey(1))
  np.testing.assert_array_equal(np.asarray(a.obs), np.asarray(b.obs))
  assert not np.allclose(np.asarray(a.obs), np.asarray(c.obs))
  action = jnp.array([0.3, -0.2, -0.5, 0.1, 0.5])
  (a2, ra), (b2, rb) = run(a, action), run(b, action)
  np.testing.assert_array_equal(np.asarray(a2.obs), np.asarray(b2.obs))
  np.testing.assert_array_equal(np.asarray(ra), np.asarray(rb))
  pos = np.asarray(env.summary(a.pipeline_state).object_pos)
  gaps = [np.linalg.norm(pos[i, :2] - pos[j, :2]) for i in range(3) for j in range(i + 1, 3)]
  assert min(gaps) > 0.06  # objects placed apart
  assert a.obs.shape == (env.observation_size,) and np.all(np.isfinite(np.asarray(a.obs)))

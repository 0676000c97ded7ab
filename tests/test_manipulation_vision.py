"""vision.Camera: ray-cast images of the stacking scene, checked against independent oracles.

Oracles: C MuJoCo's `mj_ray` (distance, geom id and surface normal per pixel ray); the pinhole
projection of known object positions (colour of the pixel there); geometry (hits on the table lie
on z = 0; moving an object towards the camera reduces its depth by about the distance moved).
One compiled batched render per object set (rendering from qpos via mjx.kinematics + camlight).
"""

import functools

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest
from mujoco import mjx

from helms_jax import envs
from helms_jax.envs.manipulation import scene, vision

SIZE = 32
BATCH = 4
ARM_AWAY = np.array([0.25, 0.25, 0.35, 0.0])  # gripper far right/back/high: occludes no object


@functools.lru_cache(maxsize=None)
def _setup(object_set):
  """(env, camera, render_batch) with render_batch(qpos [B, nq]) -> (image, rgb, depth)."""
  env = envs.make("stacking", object_set=object_set)
  camera = vision.Camera.for_model(env.mj_model, SIZE)

  @jax.jit
  def render_batch(qpos):
    def one(q):
      d = mjx.make_data(env.mjx_model).replace(qpos=q)
      d = mjx.camlight(env.mjx_model, mjx.kinematics(env.mjx_model, d))
      rgb, depth = camera.render_float(env.mjx_model, d)
      return camera.render(env.mjx_model, d), rgb, depth
    return jax.vmap(one)(qpos)

  return env, camera, render_batch


def _qpos_batch(env, seed=0, arm_away=True):
  """[BATCH, nq] float32 initial poses; the arm moved out of the way."""
  qpos = np.array(jax.jit(jax.vmap(env.initial_qpos))(
      jax.random.split(jax.random.PRNGKey(seed), BATCH)), np.float32)
  if arm_away:
    qpos[:, env._arm_qpos] = ARM_AWAY  # pylint: disable=protected-access
  return qpos


def _c_data(env, qpos):
  d = mujoco.MjData(env.mj_model)
  d.qpos[:] = qpos
  mujoco.mj_forward(env.mj_model, d)
  return d


def _obj_pos(env, qpos):
  return np.stack([qpos[env._obj_qpos[i]:env._obj_qpos[i] + 3] for i in range(3)])  # pylint: disable=protected-access


def test_camera_validation_errors():
  env, _, _ = _setup(4)
  with pytest.raises(ValueError, match="no camera named 'top'.*front"):
    vision.Camera.for_model(env.mj_model, SIZE, camera="top")
  with pytest.raises(ValueError, match="image size"):
    vision.Camera.for_model(env.mj_model, 0)
  cyl = mujoco.MjModel.from_xml_string(
      '<mujoco><worldbody><camera name="front" pos="0 -1 0" xyaxes="1 0 0 0 0 1"/>'
      '<geom type="cylinder" size="0.1 0.1"/></worldbody></mujoco>')
  with pytest.raises(ValueError, match="mjGEOM_CYLINDER"):
    vision.Camera.for_model(cyl, SIZE)
  vision.Camera.for_model(cyl, SIZE, allow_unsupported=True)


def test_shapes_dtypes_and_quantisation():
  env, camera, render_batch = _setup(4)
  qpos = _qpos_batch(env)
  image, rgb, depth = render_batch(qpos)
  assert image.shape == (BATCH, SIZE, SIZE, 4) and image.dtype == jnp.uint8
  assert rgb.shape == (BATCH, SIZE, SIZE, 3) and rgb.dtype == jnp.float32
  assert depth.shape == (BATCH, SIZE, SIZE) and depth.dtype == jnp.float32
  # Different states give different images (the batch axis is really per state).
  assert np.any(np.asarray(image[0]) != np.asarray(image[1]))
  # uint8 channels agree with the float render.
  np.testing.assert_array_equal(np.asarray(image[..., :3]),
                                np.round(np.asarray(rgb) * 255).astype(np.uint8))
  back = np.asarray(camera.depth_from_uint8(image[..., 3]))
  hit = np.asarray(depth) > 0
  step = (camera.far - camera.near) / 255
  assert np.all(np.abs(back[hit] - np.clip(np.asarray(depth)[hit], camera.near, camera.far))
                <= step / 2 + 1e-5)
  assert np.all(np.asarray(image[..., 3])[~hit] == 255)


# Set 5 (meshes) compiles the renderer for another model (~70 s): slow; set 4 stays default.
@pytest.mark.parametrize("object_set", [4, pytest.param(5, marks=pytest.mark.slow)])
def test_rays_match_c_mujoco_mj_ray(object_set):
  """Per pixel: geom id, distance and normal (via shading) against C `mj_ray` on the same state."""
  env, camera, render_batch = _setup(object_set)
  qpos = _qpos_batch(env, seed=1, arm_away=False)  # include the gripper
  _, rgb, depth = map(np.asarray, render_batch(qpos))
  rays = np.asarray(camera.rays_cam, np.float64)
  rgba = env.mj_model.geom_rgba
  agree, total = 0, 0
  for b in range(BATCH):
    d = _c_data(env, qpos[b].astype(np.float64))
    origin = d.cam_xpos[camera.camera_id].copy()
    dirs = rays @ d.cam_xmat[camera.camera_id].reshape(3, 3).T
    for p, vec in enumerate(dirs):
      geomid, normal = np.zeros(1, np.int32), np.zeros(3)
      dist = mujoco.mj_ray(env.mj_model, d, origin, vec, None, 1, -1, geomid, normal)
      r, c = divmod(p, SIZE)
      total += 1
      if geomid[0] < 0:
        agree += depth[b, r, c] < 0 and np.allclose(rgb[b, r, c], camera.background)
        continue
      if not abs(depth[b, r, c] - dist) < 1e-3:
        continue
      # Expected colour from C's normal with the same lighting model.
      light = np.asarray(camera.light)
      lum = light[0] + light[1] * max(0.0, -normal @ vec) + light[2] * max(0.0, normal[2])
      expected = np.clip(rgba[geomid[0], :3] * lum, 0, 1)
      agree += np.allclose(rgb[b, r, c], expected, atol=0.02)
  # Silhouette pixels may differ by float32 vs float64 grazing hits.
  assert agree / total > 0.99, (agree, total)


def test_objects_appear_where_they_are_with_their_colour():
  env, camera, render_batch = _setup(4)
  qpos = _qpos_batch(env, seed=2)
  _, rgb, depth = map(np.asarray, render_batch(qpos))
  m = env.mj_model
  colours = {n: np.array([float(x) for x in scene.OBJECT_RGBA[n].split()[:3]])
             for n in scene.OBJECT_NAMES}
  for b in range(BATCH):
    d = _c_data(env, qpos[b].astype(np.float64))
    for i, name in enumerate(scene.OBJECT_NAMES):
      # The centre of the cube's top face: visible from the elevated camera.
      top = d.xpos[m.body(name).id] + np.array([0, 0, env.shapes[i].top])
      local = d.cam_xmat[camera.camera_id].reshape(3, 3).T @ (top - d.cam_xpos[camera.camera_id])
      tan = np.tan(np.deg2rad(m.cam_fovy[camera.camera_id]) / 2)
      col = (local[0] / -local[2] / tan + 1) / 2 * SIZE - 0.5
      row = (-local[1] / -local[2] / tan + 1) / 2 * SIZE - 0.5
      # vision.Camera.project agrees with this numpy pinhole model.
      np.testing.assert_allclose(
          np.asarray(camera.project(mjx.put_data(m, d), jnp.asarray(top, jnp.float32))),
          [row, col], atol=1e-3)
      r, c = int(round(row)), int(round(col))
      assert 0 <= r < SIZE and 0 <= c < SIZE
      pixel = rgb[b, r, c]
      # The dominant channel is the object's (shading scales all channels alike).
      assert np.argmax(pixel) == np.argmax(colours[name]), (b, name, pixel)
      direction = pixel / np.linalg.norm(pixel)
      assert direction @ (colours[name] / np.linalg.norm(colours[name])) > 0.98, (b, name, pixel)
      # Depth there is where that pixel's ray meets the plane of the top face.
      ray = d.cam_xmat[camera.camera_id].reshape(3, 3) @ np.asarray(camera.rays_cam)[r * SIZE + c]
      expected = (top[2] - d.cam_xpos[camera.camera_id][2]) / ray[2]
      assert abs(depth[b, r, c] - expected) < 2e-3, (b, name, depth[b, r, c], expected)


def test_table_hits_lie_on_the_table_plane_and_misses_are_background():
  env, camera, render_batch = _setup(4)
  qpos = _qpos_batch(env, seed=3)
  _, rgb, depth = map(np.asarray, render_batch(qpos))
  d = _c_data(env, qpos[0].astype(np.float64))
  origin = d.cam_xpos[camera.camera_id]
  dirs = (np.asarray(camera.rays_cam, np.float64)
          @ d.cam_xmat[camera.camera_id].reshape(3, 3).T).reshape(SIZE, SIZE, 3)
  points = origin + depth[0][..., None] * dirs
  table_rgb = env.mj_model.geom_rgba[env.mj_model.geom("table").id, :3]
  # Table pixels: colour is a multiple of the table's rgba, and the hit point has z == 0.
  ratio = rgb[0] / table_rgb
  is_table = (depth[0] > 0) & (np.ptp(ratio, axis=-1) < 0.02)
  assert is_table.sum() > SIZE * SIZE // 3
  np.testing.assert_allclose(points[is_table][:, 2], 0.0, atol=2e-3)
  miss = depth[0] < 0
  assert miss.any()  # the sky above the table's far edge
  np.testing.assert_allclose(rgb[0][miss], np.broadcast_to(np.asarray(camera.background),
                                                           rgb[0][miss].shape), atol=1e-6)


def test_depth_decreases_when_object_moves_towards_camera():
  env, camera, render_batch = _setup(4)
  qpos = np.repeat(_qpos_batch(env, seed=4)[:1], BATCH, axis=0)
  red = env._obj_qpos[0]  # pylint: disable=protected-access
  # Keep red well in front of everything: place the objects on a row across the table, then
  # move red towards the camera (-y, the camera sits at y = -0.55) by 0, 4, 8, 12 cm.
  qpos[:, env._obj_qpos[1]:env._obj_qpos[1] + 2] = [-0.12, 0.12]  # pylint: disable=protected-access
  qpos[:, env._obj_qpos[2]:env._obj_qpos[2] + 2] = [0.12, 0.12]  # pylint: disable=protected-access
  qpos[:, red:red + 2] = np.stack([np.zeros(BATCH), 0.1 - 0.04 * np.arange(BATCH)], axis=1)
  image, rgb, depth = map(np.asarray, render_batch(qpos))
  reddish = (rgb[..., 0] > rgb[..., 1] + 0.2) & (rgb[..., 0] > rgb[..., 2] + 0.2)
  nearest = [depth[b][reddish[b]].min() for b in range(BATCH)]
  quantised = np.array([image[b, ..., 3][reddish[b]].min() for b in range(BATCH)], int)
  assert all(reddish[b].sum() > 4 for b in range(BATCH))
  # Strictly decreasing, by a good fraction of the 4 cm moved (the camera looks down at 39°).
  assert np.all(np.diff(nearest) < -0.02), nearest
  assert np.all(np.diff(quantised) < 0), quantised
  # Closer objects also look bigger.
  assert reddish[-1].sum() > reddish[0].sum()


def test_stacking_env_puts_image_in_info():
  env = envs.make("stacking", object_set=4, image=True, image_size=16)
  state = jax.jit(env.reset)(jax.random.PRNGKey(0))
  image = state.info["image"]
  assert image.shape == (16, 16, 4) and image.dtype == jnp.uint8
  # Not a constant image: table, objects and sky are all there.
  assert len(np.unique(np.asarray(image[..., :3]).reshape(-1, 3), axis=0)) > 3

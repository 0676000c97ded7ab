"""Camera images inside JAX: batched ray casting with `mujoco.mjx.ray`.

    camera = Camera.for_model(mj_model, size=32)           # once, from the C model
    image = camera.render(mjx_model, data)                  # uint8 [size, size, 4] under jit/vmap
    rgb, depth = camera.render_float(mjx_model, data)       # float [size, size, 3] in [0, 1], [size, size] m

Output format: `render` returns uint8 `[size, size, 4]`: channels 0-2 are RGB, channel 3 is depth
along the ray quantised linearly from `[near, far]` metres to 0..255 (`near=0.2`, `far=2.0` by
default: ~7 mm per level; misses and anything beyond `far` read 255). One uint8 array keeps
datasets small (`image [L+1, H, W, 4]`); use `depth_from_uint8` to get metres back, or
`render_float` for unquantised depth (-1 where a ray misses).

How: one ray per pixel centre from the camera's world pose (`data.cam_xpos`, `data.cam_xmat`, so
a camera on a moving body follows it), the pinhole model of MuJoCo (`cam_fovy` vertical field of
view, looking along the camera's -z, x right, y up; row 0 is the top of the image), `mjx.ray`
vmapped over the pixels. A hit is coloured by its geom's `geom_rgba` with Lambertian shading:
`ambient + headlight * max(0, n·-ray) + top * max(0, n·+z)`, the normal `n` computed from the hit
point in the geom's frame (plane: +z; sphere; capsule; ellipsoid; box: the face whose slab is
closest; convex mesh: the face plane the point lies on, from `mesh_vert`/`mesh_face`). Misses get
`background`. No shadows, no textures, no materials (`geom_rgba` only), no transparency
(alpha-0 geoms are skipped by `mjx.ray`).

Geom types: `mjx.ray` (mujoco-mjx 3.17) intersects planes, spheres, capsules, ellipsoids, boxes and
meshes (every triangle of every mesh, so keep meshes small); it does *not* handle cylinders,
height fields or SDFs — those geoms are invisible here (a `ValueError` is raised in `for_model`
unless `allow_unsupported=True`). Planes are one-sided and clipped to their `size` rectangle (as
MuJoCo draws them: the 0.6 m table, sky beyond its edges), unlike the infinite plane used for
collisions. The stacking scene uses only supported types. Checked per pixel against C MuJoCo's
`mj_ray` (geom, distance, normal) in `tests/test_manipulation_vision.py`.
mjx 3.17's `ray` indexes `mat_rgba[geom_matid]` even when the model has no materials (an error on
the empty array); `render_float` pads `mat_rgba` with a dummy row in that case.

Cost (shared 2-core CPU, loaded by other jobs, 2026-11-22; stacking object_set 4: 1 plane, 4 boxes,
2 spheres, 2 capsules; `benchmarks/env_throughput.py` prints it): a 32x32 image is 1024 rays ×
9 geoms; 1.36 ms per image vmapped over 256 states (1.3 ms over 2). An env step (5 physics
substeps) costs 0.59 ms per env at batch 256 (1,700 env steps/s) and 2.2 ms at batch 1, so
`image=True` makes a batched step ~3× as expensive at 32x32 (render ≈ 2.3 env steps) and a
single-env step ~1.6×. A later, less loaded run: 0.63 ms per image vs 0.54 ms per env step at
batch 64 (render ≈ 1.2 env steps, i.e. `image=True` roughly doubles the step cost). The cost grows with pixels × geoms (64x64 ≈ 4×; a mesh costs one
ray-triangle test per face). Compiling the render alone takes 5-15 s.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from flax import struct
from mujoco import mjx

SUPPORTED_GEOM_TYPES = (mujoco.mjtGeom.mjGEOM_PLANE, mujoco.mjtGeom.mjGEOM_SPHERE,
                        mujoco.mjtGeom.mjGEOM_CAPSULE, mujoco.mjtGeom.mjGEOM_ELLIPSOID,
                        mujoco.mjtGeom.mjGEOM_BOX, mujoco.mjtGeom.mjGEOM_MESH)


def _mesh_face_planes(mj_model: mujoco.MjModel) -> np.ndarray:
  """Outward face planes per geom: [ngeom, F, 4] (normal xyz, offset) in the geom frame.

  Non-mesh geoms and padding get (0, 0, 0, 1e9), so `n·p - d` never wins the max.
  """
  m = mj_model
  planes = []
  for g in range(m.ngeom):
    if m.geom_type[g] != mujoco.mjtGeom.mjGEOM_MESH:
      planes.append(np.zeros((0, 4)))
      continue
    mid = m.geom_dataid[g]
    verts = m.mesh_vert[m.mesh_vertadr[mid]:m.mesh_vertadr[mid] + m.mesh_vertnum[mid]]
    faces = m.mesh_face[m.mesh_faceadr[mid]:m.mesh_faceadr[mid] + m.mesh_facenum[mid]]
    tri = verts[faces]  # [F, 3, 3]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    centre = verts.mean(axis=0)
    n *= np.where(np.sum(n * (tri[:, 0] - centre), axis=1, keepdims=True) < 0, -1.0, 1.0)
    planes.append(np.c_[n, np.sum(n * tri[:, 0], axis=1)])
  num = max(1, max(p.shape[0] for p in planes))
  out = np.tile(np.array([0.0, 0.0, 0.0, 1e9]), (m.ngeom, num, 1))
  for g, p in enumerate(planes):
    out[g, :p.shape[0]] = p
  return out.astype(np.float32)


@struct.dataclass
class Camera:
  """A fixed-resolution pinhole camera rendered by ray casting (a pytree: arrays are leaves).

  Attributes:
    size: image side (static).
    camera_id: index into `data.cam_xpos` (static).
    near, far: depth quantisation range in metres (static).
    tan_half_fovy: tan of half the vertical field of view (static).
    rays_cam: [size*size, 3] unit ray directions in the camera frame (row-major pixels).
    geom_rgb: [ngeom, 3] geom colours in [0, 1].
    geom_type: [ngeom] int32 mjtGeom.
    geom_size: [ngeom, 3].
    face_planes: [ngeom, F, 4] outward face planes of mesh geoms in the geom frame.
    background: [3] colour of rays that hit nothing.
    light: [3] (ambient, headlight, top light) weights.
  """
  rays_cam: jax.Array
  geom_rgb: jax.Array
  geom_type: jax.Array
  geom_size: jax.Array
  face_planes: jax.Array
  background: jax.Array
  light: jax.Array
  size: int = struct.field(pytree_node=False, default=32)
  camera_id: int = struct.field(pytree_node=False, default=0)
  near: float = struct.field(pytree_node=False, default=0.2)
  far: float = struct.field(pytree_node=False, default=2.0)
  tan_half_fovy: float = struct.field(pytree_node=False, default=1.0)

  @classmethod
  def for_model(cls, mj_model: mujoco.MjModel, size: int, camera: str = "front", *,
                near: float = 0.2, far: float = 2.0,
                background=(0.55, 0.7, 0.85), light=(0.35, 0.45, 0.35),
                allow_unsupported: bool = False) -> "Camera":
    """Builds the camera `camera` (an MJCF camera name) of `mj_model` at `size`×`size` pixels."""
    if int(size) < 1:
      raise ValueError(f"image size must be >= 1, got {size!r}")
    if not 0 < near < far:
      raise ValueError(f"need 0 < near < far, got near={near}, far={far}")
    cam_id = mujoco.mj_name2id(mj_model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
    if cam_id < 0:
      names = [mujoco.mj_id2name(mj_model, mujoco.mjtObj.mjOBJ_CAMERA, i)
               for i in range(mj_model.ncam)]
      raise ValueError(f"no camera named {camera!r} in the model; cameras: {names}")
    unsupported = sorted({mujoco.mjtGeom(int(t)).name for t in mj_model.geom_type
                          if int(t) not in [int(s) for s in SUPPORTED_GEOM_TYPES]})
    if unsupported and not allow_unsupported:
      raise ValueError(f"mjx.ray cannot intersect geom types {unsupported} (they would be "
                       "invisible); pass allow_unsupported=True to render without them")
    size = int(size)
    tan = np.tan(np.deg2rad(mj_model.cam_fovy[cam_id]) / 2)
    centres = (np.arange(size) + 0.5) / size * 2 - 1  # -1..1, left->right / top->bottom
    u, v = np.meshgrid(centres, centres)  # u: column (x), v: row (down)
    rays = np.stack([u * tan, -v * tan, -np.ones_like(u)], axis=-1).reshape(-1, 3)
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    return cls(
        rays_cam=jnp.asarray(rays, jnp.float32),
        geom_rgb=jnp.asarray(mj_model.geom_rgba[:, :3], jnp.float32),
        geom_type=jnp.asarray(mj_model.geom_type, jnp.int32),
        geom_size=jnp.asarray(mj_model.geom_size, jnp.float32),
        face_planes=jnp.asarray(_mesh_face_planes(mj_model)),
        background=jnp.asarray(background, jnp.float32),
        light=jnp.asarray(light, jnp.float32),
        size=size, camera_id=int(cam_id), near=float(near), far=float(far),
        tan_half_fovy=float(tan))

  # -- geometry ------------------------------------------------------------------------------------

  def _local_normal(self, geom: jax.Array, p: jax.Array) -> jax.Array:
    """Outward unit normal [3] of geom `geom` at surface point `p` [3] (geom frame)."""
    size = self.geom_size[geom]
    t = self.geom_type[geom]
    gt = mujoco.mjtGeom
    safe = lambda x: x / jnp.maximum(jnp.linalg.norm(x), 1e-9)
    plane = jnp.array([0.0, 0.0, 1.0])
    sphere = safe(p)
    capsule = safe(p - jnp.array([0.0, 0.0, 1.0]) * jnp.clip(p[2], -size[1], size[1]))
    ellipsoid = safe(p / jnp.maximum(size, 1e-9) ** 2)
    rel = jnp.abs(p) / jnp.maximum(size, 1e-9)
    axis = jnp.argmax(rel)
    box = jax.nn.one_hot(axis, 3) * jnp.sign(p[axis])
    planes = self.face_planes[geom]  # [F, 4]
    face = jnp.argmax(planes[:, :3] @ p - planes[:, 3])
    mesh = planes[face, :3]
    return jnp.select(
        [t == int(gt.mjGEOM_PLANE), t == int(gt.mjGEOM_SPHERE), t == int(gt.mjGEOM_CAPSULE),
         t == int(gt.mjGEOM_ELLIPSOID), t == int(gt.mjGEOM_BOX), t == int(gt.mjGEOM_MESH)],
        [plane, sphere, capsule, ellipsoid, box, mesh], plane)

  def render_float(self, mjx_model: mjx.Model, data: mjx.Data) -> tuple[jax.Array, jax.Array]:
    """Renders one state: (rgb float32 [size, size, 3] in [0, 1], depth float32 [size, size]).

    `depth` is the distance along each pixel's ray (metres), -1 where the ray hits nothing.
    `data` needs positions computed (`mjx.forward`/`mjx.step` output). vmap over a batch of
    `data` to render a batch.
    """
    if mjx_model.mat_rgba.shape[0] == 0:
      # mjx.ray (3.17) indexes `mat_rgba[geom_matid]` even when the model has no materials,
      # which fails on the empty array; a dummy row is never selected (geom_matid == -1 there).
      mjx_model = mjx_model.replace(mat_rgba=jnp.ones((1, 4), jnp.float32))
    origin = data.cam_xpos[self.camera_id]  # [3]
    dirs = self.rays_cam @ data.cam_xmat[self.camera_id].T  # [P, 3] world

    def shade(vec):
      dist, geom = mjx.ray(mjx_model, data, origin, vec)
      hit = geom >= 0
      g = jnp.maximum(geom, 0)
      point = origin + jnp.maximum(dist, 0.0) * vec
      xmat = data.geom_xmat[g]
      n_local = self._local_normal(g, xmat.T @ (point - data.geom_xpos[g]))
      n = xmat @ n_local
      n = jnp.where(jnp.dot(n, vec) > 0, -n, n)  # face the camera (planes seen from below)
      lum = (self.light[0] + self.light[1] * jnp.maximum(0.0, -jnp.dot(n, vec))
             + self.light[2] * jnp.maximum(0.0, n[2]))
      rgb = jnp.where(hit, jnp.clip(self.geom_rgb[g] * lum, 0.0, 1.0), self.background)
      return rgb, jnp.where(hit, dist, -1.0)

    rgb, depth = jax.vmap(shade)(dirs)
    return rgb.reshape(self.size, self.size, 3), depth.reshape(self.size, self.size)

  def render(self, mjx_model: mjx.Model, data: mjx.Data) -> jax.Array:
    """Renders one state as uint8 [size, size, 4]: RGB and depth quantised over [near, far]."""
    rgb, depth = self.render_float(mjx_model, data)
    return jnp.concatenate([
        jnp.round(rgb * 255.0).astype(jnp.uint8)[..., :3],
        self.depth_to_uint8(depth)[..., None]], axis=-1)

  def depth_to_uint8(self, depth: jax.Array) -> jax.Array:
    """Depth in metres (-1 = miss) -> uint8, linear over [near, far]; misses and beyond -> 255."""
    q = jnp.round((depth - self.near) / (self.far - self.near) * 255.0)
    q = jnp.where(depth < 0, 255.0, jnp.clip(q, 0.0, 255.0))
    return q.astype(jnp.uint8)

  def depth_from_uint8(self, depth: jax.Array) -> jax.Array:
    """Inverse of `depth_to_uint8` up to quantisation (255 reads as `far`)."""
    return self.near + jnp.asarray(depth, jnp.float32) / 255.0 * (self.far - self.near)

  def project(self, data: mjx.Data, point: jax.Array) -> jax.Array:
    """Pixel (row, col) float [2] of world point `point` [3] (may fall outside the image)."""
    local = data.cam_xmat[self.camera_id].T @ (point - data.cam_xpos[self.camera_id])
    tan = self.tan_half_fovy
    x, y = local[0] / -local[2], local[1] / -local[2]
    col = (x / tan + 1.0) / 2.0 * self.size - 0.5
    row = (-y / tan + 1.0) / 2.0 * self.size - 0.5
    return jnp.stack([row, col])


__all__ = ["Camera", "SUPPORTED_GEOM_TYPES"]

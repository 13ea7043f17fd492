"""Render synthetic scenes with a vectorised numpy ray caster: one exact centre ray per pixel, all frames at once.

Every pixel's ray is intersected in closed form with the ground plane and with the primitives of each object
(:mod:`mthub.data.synthetic.geometry`), so the labels are *exact* for the rendered geometry: depth is the hit's
z in the camera frame, the normal the primitive's analytic normal, the owner (-> class / instance) the nearest
surface along the pixel's centre ray. No Python loop runs over pixels; loops run over objects (and frames, for
tiny per-frame bookkeeping only).

Conventions (also in ``docs/synthetic_format.md``):

* World frame: right-handed, metres, ``z`` up; the ground is the plane ``z = 0``.
* Camera frame (OpenCV): ``x`` right, ``y`` down, ``z`` forward; ``world_to_camera = [R | t]``,
  ``p_cam = R p_world + t``. ``K`` maps ``(x/z, y/z)`` to continuous pixel coordinates ``(u, v)`` in which
  pixel ``(row i, col j)`` covers ``[j, j+1) x [i, i+1)``; its ray passes through ``(j + 0.5, i + 0.5)``.
* Ray directions have camera-frame ``z`` component 1, so a hit's ray parameter *is* its z-depth (planar depth
  along the optical axis; the Euclidean distance to the camera centre is ``t * |d|``).
* Output normals use the NYU-Depth-v2 axes: ``x`` right, ``y`` down, ``z`` towards the camera (a surface
  facing the camera is ``(0, 0, 1)``), i.e. the OpenCV camera-frame normal with ``z`` negated.

Speed: for each object, only the pixels inside the screen rectangle of its bounding sphere are tested (the
rectangle of the 8 projected corners of the sphere's camera-aligned bounding cube, a conservative bound);
shadow rays likewise only for the pixels inside the rectangle of the object's shadow-casting volume.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mthub.data.synthetic.geometry import (
    EPS,
    GROUND_HIT,
    NO_HIT,
    V3,
    Material,
    SceneObject,
    gather_frames,
    intersect_object,
    rotate_inv,
    sub,
    take,
    trace,
)

__all__ = [
    "Camera",
    "Environment",
    "RenderOutput",
    "look_at_rotation",
    "points_visible",
    "render",
    "screen_rects",
]

_F = np.float32


def look_at_rotation(eye: np.ndarray, target: np.ndarray, up: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> np.ndarray:
    """World-to-camera rotations ``(T, 3, 3)`` of OpenCV cameras at ``eye`` ``(T, 3)`` looking at ``target``.

    Rows are the camera axes in world coordinates: right, down, forward (``p_cam = R (p_world - eye)``).
    """
    eye = np.asarray(eye, np.float64)
    fwd = np.asarray(target, np.float64) - eye
    fwd /= np.linalg.norm(fwd, axis=-1, keepdims=True)
    right = np.cross(fwd, np.asarray(up, np.float64))
    norm = np.linalg.norm(right, axis=-1, keepdims=True)
    if np.any(norm < 1e-8):
        raise ValueError("look_at_rotation: the viewing direction is parallel to 'up'")
    right /= norm
    down = np.cross(fwd, right)
    return np.stack([right, down, fwd], axis=-2)


@dataclass
class Camera:
    """A pinhole camera per frame.

    Attributes:
        intrinsics: ``(T, 3, 3)`` pixel-unit ``K`` (``fx, fy, cx, cy``; see the module docstring for the pixel
            centre convention).
        world_to_camera: ``(T, 4, 4)`` rigid transforms ``[R | t]`` to the OpenCV camera frame.
        height, width: image size in pixels.
    """

    intrinsics: np.ndarray
    world_to_camera: np.ndarray
    height: int
    width: int

    @property
    def num_frames(self) -> int:
        return int(self.intrinsics.shape[0])

    @property
    def rotation(self) -> np.ndarray:
        """``(T, 3, 3)`` world-to-camera rotation."""
        return self.world_to_camera[:, :3, :3]

    @property
    def position(self) -> np.ndarray:
        """``(T, 3)`` camera centres in world coordinates (``-R^T t``)."""
        r, t = self.world_to_camera[:, :3, :3], self.world_to_camera[:, :3, 3]
        return -np.einsum("fji,fj->fi", r, t)

    @classmethod
    def look_at(cls, eye: np.ndarray, target: np.ndarray, fov_x_deg: float | np.ndarray, height: int, width: int) -> Camera:
        """Cameras at ``eye`` ``(T, 3)`` looking at ``target`` ``(T, 3)`` (world ``z`` up), horizontal field of
        view ``fov_x_deg`` (scalar or ``(T,)``), square pixels, principal point at the image centre."""
        eye = np.asarray(eye, np.float64)
        t_frames = eye.shape[0]
        rot = look_at_rotation(eye, target)
        w2c = np.tile(np.eye(4), (t_frames, 1, 1))
        w2c[:, :3, :3] = rot
        w2c[:, :3, 3] = -np.einsum("fij,fj->fi", rot, eye)
        fx = (width / 2.0) / np.tan(np.deg2rad(np.broadcast_to(np.asarray(fov_x_deg, np.float64), (t_frames,))) / 2.0)
        k = np.zeros((t_frames, 3, 3))
        k[:, 0, 0] = fx
        k[:, 1, 1] = fx
        k[:, 0, 2] = width / 2.0
        k[:, 1, 2] = height / 2.0
        k[:, 2, 2] = 1.0
        return cls(intrinsics=k, world_to_camera=w2c, height=int(height), width=int(width))


@dataclass
class Environment:
    """Ground, sky, light.

    Attributes:
        sun_dir: unit vector towards the sun (world).
        ambient: ambient light fraction; the sun contributes ``1 - ambient``.
        ground_colors: ``(2, 3)`` linear RGB of the ground checker.
        ground_tile: checker tile size in metres.
        sky_horizon, sky_zenith: ``(3,)`` sky colours.
        fog_distance: e-folding distance (metres along the ray) of the fog towards the horizon colour.
        far: z-depth beyond which the ground is not rendered (it becomes sky: depth 0, class background).
        ground: render the ground plane.
        shadows: cast hard shadows of the objects (one shadow ray per lit pixel).
    """

    sun_dir: np.ndarray = field(default_factory=lambda: np.array([0.3, -0.4, 0.866]))
    ambient: float = 0.35
    ground_colors: np.ndarray = field(default_factory=lambda: np.array([[0.45, 0.42, 0.36], [0.30, 0.28, 0.24]]))
    ground_tile: float = 1.0
    sky_horizon: np.ndarray = field(default_factory=lambda: np.array([0.78, 0.84, 0.92]))
    sky_zenith: np.ndarray = field(default_factory=lambda: np.array([0.32, 0.48, 0.80]))
    fog_distance: float = 60.0
    far: float = 40.0
    ground: bool = True
    shadows: bool = True


@dataclass
class RenderOutput:
    """Per-frame buffers of a rendered clip (``T`` frames of ``H x W``).

    Attributes:
        rgb: ``(T, H, W, 3)`` uint8 (sRGB-encoded).
        depth: ``(T, H, W)`` float32 z-depth in metres; 0 where nothing is hit (sky).
        normals: ``(T, H, W, 3)`` float32 unit normals, NYU camera axes (x right, y down, z to the camera);
            0 where nothing is hit.
        owner: ``(T, H, W)`` int16: object index, ``GROUND_HIT`` or ``NO_HIT``.
    """

    rgb: np.ndarray
    depth: np.ndarray
    normals: np.ndarray
    owner: np.ndarray


# ------------------------------------------------------------------------------------------------- texturing
def _hash01(ix: np.ndarray, iy: np.ndarray, iz: np.ndarray, seed: int) -> np.ndarray:
    """Deterministic pseudo-random value in [0, 1] per integer lattice point (uint32 integer hashing)."""
    h = ix.astype(np.int64).astype(np.uint32) * np.uint32(73856093)
    h ^= iy.astype(np.int64).astype(np.uint32) * np.uint32(19349663)
    h ^= iz.astype(np.int64).astype(np.uint32) * np.uint32(83492791)
    h ^= np.uint32((seed * 2654435761) & 0xFFFFFFFF)
    h ^= h >> np.uint32(13)
    h *= np.uint32(1274126177)
    h ^= h >> np.uint32(16)
    return (h & np.uint32(0xFFFF)).astype(_F) / _F(65535.0)


def _value_noise(x: np.ndarray, y: np.ndarray, z: np.ndarray, seed: int) -> np.ndarray:
    """Smooth 3-D value noise in [0, 1] (trilinear interpolation of lattice hashes with a smoothstep fade)."""
    xi, yi, zi = np.floor(x), np.floor(y), np.floor(z)
    fx, fy, fz = x - xi, y - yi, z - zi
    fx, fy, fz = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy), fz * fz * (3 - 2 * fz)
    out = np.zeros_like(x)
    for cx in (0, 1):
        wx = fx if cx else 1 - fx
        for cy in (0, 1):
            wy = fy if cy else 1 - fy
            for cz in (0, 1):
                wz = fz if cz else 1 - fz
                out += wx * wy * wz * _hash01(xi + cx, yi + cy, zi + cz, seed)
    return out


def _pattern(mat: Material, p: V3) -> np.ndarray:
    """Mixing weight in [0, 1] of the material's second colour at local points ``p``."""
    x, y, z = (c * _F(mat.scale) for c in p)
    if mat.pattern == "checker":
        cells = np.floor(x).astype(np.int64) + np.floor(y).astype(np.int64) + np.floor(z).astype(np.int64)
        return (cells & 1).astype(_F)
    if mat.pattern == "stripes":
        return (np.floor((x, y, z)[mat.axis]).astype(np.int64) & 1).astype(_F)
    if mat.pattern == "noise":
        return _value_noise(x, y, z, mat.seed)
    if mat.pattern == "plain":
        return np.zeros_like(x)
    raise ValueError(f"unknown texture pattern {mat.pattern!r}")


def _albedo(obj: SceneObject, p: V3, frames: np.ndarray, part: np.ndarray) -> np.ndarray:
    """``(M, 3)`` albedo of ``obj`` at world points ``p`` (rays of ``frames``)."""
    local = rotate_inv(sub(p, gather_frames(obj.origin, frames)), obj.rot.astype(_F)[frames])
    m = _pattern(obj.material, local)[:, None]
    cols = obj.material.colors.astype(_F)[part]  # (M, 2, 3)
    return cols[:, 0] * (1 - m) + cols[:, 1] * m


# ------------------------------------------------------------------------------------------------- culling
def screen_rects(camera: Camera, centres: np.ndarray, radii: np.ndarray, margin: int = 1) -> np.ndarray:
    """Per-frame pixel rectangles that contain the projections of spheres.

    Each sphere's camera-axis-aligned bounding cube is projected (its 8 corners); perspective projection maps
    the cube's convex hull into the convex hull of the projected corners, so the rectangle is conservative.
    A frame where a cube straddles the camera plane gets the full image; one where all cubes lie behind the
    camera gets an empty rectangle.

    Args:
        centres: ``(T, S, 3)`` world-frame sphere centres; radii: ``(T, S)``.
        margin: extra pixels on each side (guards against float rounding).

    Returns:
        ``(T, 4)`` int ``(row0, row1, col0, col1)``, half-open, clipped to the image.
    """
    t_frames = camera.num_frames
    h, w = camera.height, camera.width
    p = np.einsum("tij,tsj->tsi", camera.rotation, centres - camera.position[:, None])
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], np.float64)
    corners = p[:, :, None, :] + radii[:, :, None, None] * signs[None, None]  # (T, S, 8, 3)
    z = corners[..., 2]
    straddle = ((z <= 1e-3).any(axis=2) & (z > 1e-3).any(axis=2)).any(axis=1)
    zc = np.maximum(z, 1e-3)
    k = camera.intrinsics
    u = k[:, None, None, 0, 0] * corners[..., 0] / zc + k[:, None, None, 0, 2]
    v = k[:, None, None, 1, 1] * corners[..., 1] / zc + k[:, None, None, 1, 2]
    front = (z > 1e-3).all(axis=2)  # (T, S) spheres fully in front of the camera
    big = np.where(front[..., None], 0.0, np.inf)
    umin, umax = (u + big).min(axis=(1, 2)), (u - big).max(axis=(1, 2))
    vmin, vmax = (v + big).min(axis=(1, 2)), (v - big).max(axis=(1, 2))
    # Pixel j's centre is at j + 0.5: it is inside [umin, umax] for ceil(umin - 0.5) <= j <= floor(umax - 0.5).
    with np.errstate(invalid="ignore"):
        c0 = np.clip(np.ceil(np.nan_to_num(umin - 0.5, posinf=w)) - margin, 0, w)
        c1 = np.clip(np.floor(np.nan_to_num(umax - 0.5, neginf=-1)) + 1 + margin, 0, w)
        r0 = np.clip(np.ceil(np.nan_to_num(vmin - 0.5, posinf=h)) - margin, 0, h)
        r1 = np.clip(np.floor(np.nan_to_num(vmax - 0.5, neginf=-1)) + 1 + margin, 0, h)
    rects = np.stack([r0, r1, c0, c1], axis=1).astype(np.int64)
    rects[straddle] = (0, h, 0, w)
    rects[:, 1] = np.maximum(rects[:, 1], rects[:, 0])
    rects[:, 3] = np.maximum(rects[:, 3], rects[:, 2])
    assert rects.shape == (t_frames, 4)
    return rects


def _rect_indices(rects: np.ndarray, h: int, w: int) -> np.ndarray:
    """Flat pixel indices (frame-major ``T*H*W`` layout) of per-frame rectangles ``(T, 4)``."""
    parts = []
    for f, (r0, r1, c0, c1) in enumerate(rects):
        if r1 > r0 and c1 > c0:
            parts.append((f * h * w + np.arange(r0, r1)[:, None] * w + np.arange(c0, c1)[None]).ravel())
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


# ------------------------------------------------------------------------------------------------- rendering
def render(camera: Camera, objects: list[SceneObject], env: Environment) -> RenderOutput:
    """Render every frame of ``camera`` with one centre ray per pixel.

    Returns:
        :class:`RenderOutput`: depth / normals / owner are exact for the geometry (no anti-aliasing); RGB is
        Lambertian shading of the procedural textures under ambient + sun light, hard shadows (if
        ``env.shadows``), distance fog and a sky gradient, sRGB-encoded (gamma 2.2).
    """
    t_frames, h, w = camera.num_frames, camera.height, camera.width
    hw = h * w
    k = camera.intrinsics
    rot = camera.rotation.astype(_F)  # (T, 3, 3) world -> camera
    cam = camera.position.astype(_F)  # (T, 3)

    # Per-pixel world directions, d = R^T (x, y, 1): blocked (T, HW) then flattened (frame-major).
    xs = ((np.arange(w) + 0.5)[None] - k[:, 0, 2, None]) / k[:, 0, 0, None]  # (T, W)
    ys = ((np.arange(h) + 0.5)[None] - k[:, 1, 2, None]) / k[:, 1, 1, None]  # (T, H)
    x = np.broadcast_to(xs[:, None, :], (t_frames, h, w)).reshape(t_frames, hw).astype(_F)
    y = np.broadcast_to(ys[:, :, None], (t_frames, h, w)).reshape(t_frames, hw).astype(_F)
    dirs2 = [x * rot[:, 0, i, None] + y * rot[:, 1, i, None] + rot[:, 2, i, None] for i in range(3)]
    dirs: V3 = (dirs2[0].ravel(), dirs2[1].ravel(), dirs2[2].ravel())
    n_pix = t_frames * hw

    best = np.full(n_pix, np.inf, _F)
    owner = np.full(n_pix, NO_HIT, np.int16)
    part = np.zeros(n_pix, np.int8)
    normal = [np.zeros(n_pix, _F) for _ in range(3)]
    if env.ground:  # ground beyond env.far is left out: it renders (and is labelled) as sky
        with np.errstate(divide="ignore", invalid="ignore"):
            tg = (-cam[:, 2, None] / dirs2[2]).ravel()
        ok = (dirs[2] < 0) & (tg > EPS) & (tg <= env.far)
        best[ok] = tg[ok]
        owner[ok] = GROUND_HIT
        normal[2][ok] = 1.0
    for j, obj in enumerate(objects):
        centre, radius = obj.bounds()
        idx = _rect_indices(screen_rects(camera, centre[:, None], radius[:, None]), h, w)
        if idx.size == 0:
            continue
        f = idx // hw
        hit, t, p_, nrm = intersect_object(obj, gather_frames(cam, f), take(dirs, idx), f, best[idx])
        sel = idx[hit]
        best[sel] = t[hit]
        owner[sel] = j
        part[sel] = p_[hit]
        for i in range(3):
            normal[i][sel] = nrm[i][hit]  # type: ignore[index]
    valid = owner != NO_HIT
    t0 = np.where(valid, best, 0).astype(_F)
    t0_2 = t0.reshape(t_frames, hw)
    pts: V3 = tuple((cam[:, i, None] + t0_2 * dirs2[i]).ravel() for i in range(3))  # type: ignore[assignment]

    # Albedo (per channel: 1-D arrays are much faster to index and combine than (N, 3) ones).
    albedo = [np.zeros(n_pix, _F) for _ in range(3)]
    g = np.flatnonzero(owner == GROUND_HIT)
    if g.size:
        inv_tile = _F(1.0 / env.ground_tile)
        chk = (np.floor(pts[0][g] * inv_tile).astype(np.int64) + np.floor(pts[1][g] * inv_tile).astype(np.int64)) & 1
        gc = np.asarray(env.ground_colors, _F)
        for c in range(3):
            albedo[c][g] = np.take(gc[:, c], chk)
    for j, obj in enumerate(objects):
        idx = np.flatnonzero(owner == j)
        if idx.size:
            alb = _albedo(obj, take(pts, idx), idx // hw, part[idx])
            for c in range(3):
                albedo[c][idx] = alb[:, c]

    # Lambertian shading with hard sun shadows.
    sun = np.asarray(env.sun_dir, np.float64)
    sun = (sun / np.linalg.norm(sun)).astype(_F)
    ndotl = np.maximum(normal[0] * sun[0] + normal[1] * sun[1] + normal[2] * sun[2], 0)
    lit = np.ones(n_pix, _F)
    if env.shadows and objects and sun[2] > 1e-3:
        receivers = valid & (ndotl > 0)
        for obj in objects:
            # A point is shadowed by obj only if it lies in obj's bounding sphere swept along -sun down to z = 0.
            centre, radius = obj.bounds()
            drop = (centre[:, 2] + radius) / sun[2]
            spheres = np.stack([centre, centre - drop[:, None] * sun[None].astype(np.float64)], axis=1)
            idx = _rect_indices(screen_rects(camera, spheres, np.stack([radius, radius], axis=1)), h, w)
            idx = idx[receivers[idx] & (lit[idx] > 0)]
            if idx.size == 0:
                continue
            origin = tuple(pts[i][idx] + _F(2e-3) * normal[i][idx] for i in range(3))
            sdir = tuple(np.full(idx.size, sun[i], _F) for i in range(3))
            hit, _, _, _ = intersect_object(obj, origin, sdir, idx // hw, np.full(idx.size, np.inf, _F), normals=False)  # type: ignore[arg-type]
            lit[idx[hit]] = 0.0
    shade = _F(env.ambient) + _F(1 - env.ambient) * ndotl * lit

    # Distance fog towards the horizon colour; sky gradient by ray elevation where nothing is hit.
    dn = np.sqrt(dirs[0] * dirs[0] + dirs[1] * dirs[1] + dirs[2] * dirs[2])
    horizon, zenith = np.asarray(env.sky_horizon, _F), np.asarray(env.sky_zenith, _F)
    fog = 1 - np.exp(-(t0 * dn) / _F(env.fog_distance))
    elev = np.clip(dirs[2] / dn, 0, 1)
    rgb = np.empty((n_pix, 3), np.uint8)
    for c in range(3):
        col = albedo[c] * shade * (1 - fog) + horizon[c] * fog
        col = np.where(valid, col, horizon[c] * (1 - elev) + zenith[c] * elev)
        rgb[:, c] = np.clip(col, 0, 1) ** _F(1 / 2.2) * 255 + 0.5

    # Labels: z-depth (= t) and normals in NYU camera axes (OpenCV camera normal with z negated).
    n2 = [c.reshape(t_frames, hw) for c in normal]
    n_cam = [(rot[:, i, 0, None] * n2[0] + rot[:, i, 1, None] * n2[1] + rot[:, i, 2, None] * n2[2]).ravel() for i in range(3)]
    n_cam[2] = -n_cam[2]
    norm = np.sqrt(n_cam[0] * n_cam[0] + n_cam[1] * n_cam[1] + n_cam[2] * n_cam[2])
    inv = np.where(norm > 0, 1 / np.maximum(norm, _F(1e-12)), 0).astype(_F)
    normals = np.empty((n_pix, 3), _F)
    for c in range(3):
        normals[:, c] = n_cam[c] * inv
    return RenderOutput(
        rgb=rgb.reshape(t_frames, h, w, 3),
        depth=t0.reshape(t_frames, h, w),
        normals=normals.reshape(t_frames, h, w, 3),
        owner=owner.reshape(t_frames, h, w),
    )


def points_visible(camera: Camera, objects: list[SceneObject], points: np.ndarray, owner: int, env: Environment) -> np.ndarray:
    """Visibility of points of object ``owner`` (e.g. a figure's joints) from the camera.

    A point is visible when it lies in front of the camera, projects inside the image, and the first surface on
    the segment from the camera centre to it belongs to ``owner`` itself (or there is none): occlusion by other
    objects or the ground hides a point, self-occlusion does not (joints lie inside the body's capsules).

    Args:
        points: ``(T, P, 3)`` world coordinates.

    Returns:
        ``(T, P)`` bool.
    """
    t_frames, n_pts = points.shape[:2]
    rot, pos = camera.rotation, camera.position
    p_cam = np.einsum("fij,fpj->fpi", rot, points - pos[:, None])
    z = p_cam[..., 2]
    k = camera.intrinsics
    zc = np.where(z > 1e-3, z, 1.0)
    u = k[:, None, 0, 0] * p_cam[..., 0] / zc + k[:, None, 0, 2]
    v = k[:, None, 1, 1] * p_cam[..., 1] / zc + k[:, None, 1, 2]
    inside = (z > 1e-3) & (u >= 0) & (u < camera.width) & (v >= 0) & (v < camera.height)
    frames = np.repeat(np.arange(t_frames), n_pts)
    # Directions scaled so that the point itself is at t = 1.
    d = (points - pos[:, None]).reshape(-1, 3).astype(_F)
    dirs: V3 = (np.ascontiguousarray(d[:, 0]), np.ascontiguousarray(d[:, 1]), np.ascontiguousarray(d[:, 2]))
    hits = trace(objects, gather_frames(pos, frames), dirs, frames, t_max=_F(1.0 - 1e-4), ground=env.ground, normals=False)
    clear = (hits.owner == NO_HIT) | (hits.owner == owner)
    return inside & clear.reshape(t_frames, n_pts)

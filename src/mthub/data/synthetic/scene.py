"""Scene sampling for the synthetic generator: camera path, the actor and its action, distractors, materials, light.

Everything is drawn from one ``numpy.random.Generator`` so a clip is a pure function of its seed. The
*actor* (object 0) performs the clip's action; the distractors stand still, so the action label describes
the only object motion in the clip (the camera moves independently and slowly). Directions of the actions are
relative to the camera of the middle frame (its right / forward axes projected on the ground):

============ ====================================================================================
action       actor motion (world frame, over the whole clip)
============ ====================================================================================
static       none (a figure stands still)
translate_*  moves 1.2-2.4 m along -/+ the camera's right axis (a sphere rolls, a figure walks)
approach     moves 1.2-2.4 m towards the camera (along -forward); ``recede``: away from it
rotate       turns by 110-270 degrees about the vertical axis, staying in place
bounce       1-2 hops of 0.4-1.0 m (a figure jumps)
============ ====================================================================================
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mthub.data.synthetic import figure
from mthub.data.synthetic.geometry import Material, Primitive, SceneObject
from mthub.data.synthetic.renderer import Camera, Environment

__all__ = [
    "ACTION_NAMES",
    "CLASS_NAMES",
    "CLASS_PALETTE",
    "OBJECT_CLASSES",
    "Scene",
    "SceneConfig",
    "sample_scene",
]

#: Segmentation classes (id = index). 0 is the sky / background, 1 the ground plane.
CLASS_NAMES: tuple[str, ...] = ("background", "ground", "cube", "sphere", "cylinder", "capsule", "person")
#: Segmentation palette (RGB per class id).
CLASS_PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0), (128, 96, 64), (230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
)  # fmt: skip
#: Clip action classes (id = index).
ACTION_NAMES: tuple[str, ...] = ("static", "translate_left", "translate_right", "approach", "recede", "rotate", "bounce")
#: Class names an object can have.
OBJECT_CLASSES: tuple[str, ...] = CLASS_NAMES[2:]
_CLS = {name: i for i, name in enumerate(CLASS_NAMES)}


@dataclass
class SceneConfig:
    """Knobs of the scene sampler (defaults are what the datasets are generated with).

    Attributes:
        min_objects, max_objects: objects per clip (the actor plus distractors).
        person_prob: probability that an object is a figure (the others are cubes, spheres, cylinders, capsules
            with equal probability); raises the share of clips with 3D keypoints.
        fov_range: horizontal field of view range, degrees.
        camera_motion: let the camera orbit / crane / dolly slowly (probability 0.8 per clip).
        shadows: render hard sun shadows.
        far: ground farther than this z-depth (metres) is rendered as sky (depth 0, class background).
    """

    min_objects: int = 2
    max_objects: int = 4
    person_prob: float = 0.35
    fov_range: tuple[float, float] = (45.0, 60.0)
    camera_motion: bool = True
    shadows: bool = True
    far: float = 40.0

    def __post_init__(self) -> None:
        if not 1 <= self.min_objects <= self.max_objects:
            raise ValueError(f"need 1 <= min_objects <= max_objects, got {self.min_objects}, {self.max_objects}")


@dataclass
class Scene:
    """A sampled scene, ready to render.

    Attributes:
        camera, objects, env: renderer inputs (``objects[0]`` is the actor).
        object_classes: ``(O,)`` class ids.
        joints: per object, world-frame joints ``(T, 25, 3)`` for figures, ``None`` otherwise.
        centers: ``(T, O, 3)`` world-frame object centres.
        action: action id.
        info: JSON-serialisable sampling parameters (recorded in ``annotations.json``).
    """

    camera: Camera
    objects: list[SceneObject]
    env: Environment
    object_classes: np.ndarray
    joints: list[np.ndarray | None]
    centers: np.ndarray
    action: int
    info: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------- helpers
def _rot_z(yaw: np.ndarray) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    r = np.zeros((*np.shape(yaw), 3, 3))
    r[..., 0, 0], r[..., 0, 1], r[..., 1, 0], r[..., 1, 1], r[..., 2, 2] = c, -s, s, c, 1.0
    return r


def _rot_axis(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotations ``(T, 3, 3)`` about unit ``axis`` by ``angle`` ``(T,)`` (Rodrigues)."""
    x, y, z = axis
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    a = np.asarray(angle)[:, None, None]
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * (k @ k)


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.asarray(c, np.float64) ** 2.2


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    return _srgb_to_linear(np.array(colorsys.hsv_to_rgb(h % 1.0, s, v)))


def _random_material(rng: np.random.Generator, parts: int = 1) -> Material:
    pattern = str(rng.choice(["checker", "stripes", "noise"]))
    cols = []
    for _ in range(parts):
        h = rng.uniform()
        c1 = _hsv(h, rng.uniform(0.5, 0.95), rng.uniform(0.55, 0.95))
        c2 = _hsv(h + rng.uniform(0.1, 0.5), rng.uniform(0.3, 0.9), rng.uniform(0.25, 0.7))
        cols.append([c1, c2])
    scale = rng.uniform(3.0, 8.0) if pattern == "noise" else rng.uniform(2.5, 6.0)
    return Material(pattern, np.asarray(cols, np.float32), float(scale), int(rng.integers(3)), int(rng.integers(1 << 30)))


def _figure_material(rng: np.random.Generator) -> Material:
    skin = _hsv(rng.uniform(0.03, 0.09), rng.uniform(0.25, 0.6), rng.uniform(0.35, 0.95))
    shirt = _hsv(rng.uniform(), rng.uniform(0.4, 0.9), rng.uniform(0.5, 0.95))
    shirt2 = _hsv(rng.uniform(), rng.uniform(0.2, 0.9), rng.uniform(0.3, 0.9))
    trousers = _hsv(rng.uniform(), rng.uniform(0.2, 0.7), rng.uniform(0.2, 0.6))
    shoes = _hsv(rng.uniform(), rng.uniform(0.0, 0.4), rng.uniform(0.1, 0.3))
    cols = [[skin, skin], [shirt, shirt2], [trousers, trousers * 0.8], [shoes, shoes]]
    pattern = str(rng.choice(["stripes", "checker"]))
    return Material(pattern, np.asarray(cols, np.float32), float(rng.uniform(6.0, 12.0)), 2, int(rng.integers(1 << 30)))


def _sample_shape(rng: np.random.Generator, cls: str) -> dict[str, Any]:
    """Size parameters and ground footprint radius (for placement) of an object of class ``cls``."""
    if cls == "cube":
        s = rng.uniform(0.6, 1.2)
        return {"size": s, "footprint": s * 0.71}
    if cls == "sphere":
        r = rng.uniform(0.3, 0.6)
        return {"radius": r, "footprint": r}
    if cls == "cylinder":
        r, h = rng.uniform(0.25, 0.45), rng.uniform(0.6, 1.4)
        return {"radius": r, "height": h, "footprint": r}
    if cls == "capsule":
        r, length = rng.uniform(0.2, 0.35), rng.uniform(0.5, 1.0)
        lying = bool(rng.uniform() < 0.5)
        return {"radius": r, "length": length, "lying": lying, "footprint": (length / 2 + r) if lying else r}
    if cls == "person":
        h = rng.uniform(1.55, 1.9)
        return {"height": h, "footprint": 0.35 * h / 1.75}
    raise ValueError(f"unknown object class {cls!r}")


# ---------------------------------------------------------------------------------------------------- motion
@dataclass
class _Motion:
    xy: np.ndarray  # (T, 2) ground position
    yaw: np.ndarray  # (T,) heading (body +y axis direction)
    lift: np.ndarray  # (T,) height above rest
    roll: np.ndarray  # (T, 3, 3) extra rotation (rolling sphere), applied after the yaw
    gait: np.ndarray | None = None  # (T,) walking phase for a figure
    params: dict[str, Any] = field(default_factory=dict)


def _actor_motion(rng: np.random.Generator, action: str, t_frames: int, start: np.ndarray, right: np.ndarray,
                  fwd: np.ndarray, shape: dict[str, Any], cls: str) -> _Motion:  # fmt: skip
    s = np.linspace(0.0, 1.0, t_frames)
    yaw0 = rng.uniform(0, 2 * np.pi)
    xy = np.repeat(start[None], t_frames, 0)
    yaw = np.full(t_frames, yaw0)
    lift = np.zeros(t_frames)
    roll = np.repeat(np.eye(3)[None], t_frames, 0)
    gait = None
    params: dict[str, Any] = {}
    if action in ("translate_left", "translate_right", "approach", "recede"):
        direction = {"translate_left": -right, "translate_right": right, "approach": -fwd, "recede": fwd}[action]
        dist = rng.uniform(1.2, 2.4)
        disp = (s - 0.5) * dist
        xy = start[None] + disp[:, None] * direction[None]
        params["distance_m"] = float(dist)
        if cls == "person":
            yaw = np.full(t_frames, np.arctan2(-direction[0], direction[1]))
            stride = 1.4 * shape["height"] / 1.75  # metres per gait cycle (two steps)
            gait = rng.uniform(0, 2 * np.pi) + 2 * np.pi * (disp - disp[0]) / stride
        elif cls == "sphere":  # roll without slipping about the horizontal axis perpendicular to the motion
            axis = np.array([-direction[1], direction[0], 0.0])
            roll = _rot_axis(axis, (disp - disp[0]) / shape["radius"])
    elif action == "rotate":
        turn = rng.uniform(np.deg2rad(110), np.deg2rad(270)) * rng.choice([-1.0, 1.0])
        yaw = yaw0 + turn * s
        params["turn_rad"] = float(turn)
        if cls == "person":
            gait = 2 * np.pi * abs(turn) / np.pi * s  # a step per half turn
    elif action == "bounce":
        hops, amp = int(rng.integers(1, 3)), rng.uniform(0.4, 1.0)
        lift = amp * np.abs(np.sin(np.pi * hops * s))
        params.update(hops=hops, amplitude_m=float(amp))
    elif action != "static":
        raise ValueError(f"unknown action {action!r}; known: {ACTION_NAMES}")
    return _Motion(xy=xy, yaw=yaw, lift=lift, roll=roll, gait=gait, params=params)


# ----------------------------------------------------------------------------------------------- objects
def _build_object(rng: np.random.Generator, cls: str, shape: dict[str, Any], motion: _Motion, action: str,
                  t_frames: int) -> tuple[SceneObject, np.ndarray | None, np.ndarray]:  # fmt: skip
    """Primitives, texture frame, joints (figures) and centres ``(T, 3)`` of one object following ``motion``."""
    base = np.concatenate([motion.xy, np.zeros((t_frames, 1))], axis=1)
    rot = motion.roll @ _rot_z(motion.yaw)  # world-from-local
    up = motion.lift[:, None] * np.array([0.0, 0.0, 1.0])
    joints = None
    if cls == "cube":
        centre = base + up + np.array([0, 0, shape["size"] / 2])
        prims = [Primitive("box", a=centre, rot=rot, half=np.full(3, shape["size"] / 2))]
    elif cls == "sphere":
        centre = base + up + np.array([0, 0, shape["radius"]])
        prims = [Primitive("sphere", a=centre, radius=shape["radius"])]
    elif cls == "cylinder":
        centre = base + up + np.array([0, 0, shape["height"] / 2])
        prims = [Primitive("cylinder", a=centre, rot=rot, radius=shape["radius"], half=np.array([0, 0, shape["height"] / 2]))]
    elif cls == "capsule":
        r, length = shape["radius"], shape["length"]
        axis_local = np.array([0.0, 1.0, 0.0]) if shape["lying"] else np.array([0.0, 0.0, 1.0])
        centre = base + up + np.array([0, 0, r if shape["lying"] else r + length / 2])
        axis = np.einsum("tij,j->ti", rot, axis_local)
        prims = [Primitive("capsule", a=centre - axis * length / 2, b=centre + axis * length / 2, radius=r)]
    elif cls == "person":
        if action == "bounce":
            angles = figure.jump_angles(motion.lift / max(float(motion.lift.max()), 1e-6), motion.lift)
        elif motion.gait is not None:
            angles = figure.walk_angles(motion.gait, 0.45 if action != "rotate" else 0.2)
        else:
            angles = figure.stand_angles(t_frames, rng)
        body = figure.figure_joints(angles, shape["height"])
        joints = np.einsum("tij,tkj->tki", _rot_z(motion.yaw), body) + base[:, None]
        prims = figure.figure_primitives(joints, shape["height"])
        centre = joints[:, 0]
        rot = _rot_z(motion.yaw)
    else:
        raise ValueError(f"unknown object class {cls!r}")
    material = _figure_material(rng) if cls == "person" else _random_material(rng)
    return SceneObject(class_id=_CLS[cls], primitives=prims, material=material, origin=centre, rot=rot), joints, centre


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    ab = b - a
    u = 0.0 if float(ab @ ab) < 1e-12 else float(np.clip((p - a) @ ab / (ab @ ab), 0, 1))
    return float(np.linalg.norm(p - (a + u * ab)))


# ---------------------------------------------------------------------------------------------- the scene
def _sample_camera(
    rng: np.random.Generator, t_frames: int, height: int, width: int, cfg: SceneConfig
) -> tuple[Camera, np.ndarray, dict[str, Any]]:
    """Camera orbiting a look-at target at 3.5-6 m, 1.2-3 m high; with motion, it orbits (up to +-0.2 rad),
    cranes (+-0.3 m), dollies (+-0.4 m) and pans its target (+-0.2 m) over the clip. Returns the camera, the
    per-frame look-at targets ``(T, 3)`` and the parameters."""
    target = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5), rng.uniform(0.3, 0.8)])
    dist, elev_h, azim = rng.uniform(3.5, 6.0), rng.uniform(1.2, 3.0), rng.uniform(0, 2 * np.pi)
    fov = rng.uniform(*cfg.fov_range)
    moving = cfg.camera_motion and rng.uniform() < 0.8
    d_az, d_h, d_dist = (rng.uniform(-0.4, 0.4), rng.uniform(-0.6, 0.6), rng.uniform(-0.8, 0.8)) if moving else (0.0, 0.0, 0.0)
    d_target = np.append(rng.uniform(-0.4, 0.4, size=2), 0.0) if moving else np.zeros(3)
    s = np.linspace(-0.5, 0.5, t_frames)
    az, hh, dd = azim + d_az * s, elev_h + d_h * s, dist + d_dist * s
    targets = target[None] + s[:, None] * d_target[None]
    eye = np.stack([targets[:, 0] + dd * np.cos(az), targets[:, 1] + dd * np.sin(az), hh], axis=1)
    cam = Camera.look_at(eye, targets, fov, height, width)
    info = {"fov_x_deg": float(fov), "distance_m": float(dist), "height_m": float(elev_h), "moving": bool(moving),
            "orbit_rad": float(d_az), "crane_m": float(d_h), "dolly_m": float(d_dist)}  # fmt: skip
    return cam, targets, info


def _sample_env(rng: np.random.Generator, cfg: SceneConfig) -> Environment:
    sun_az, sun_el = rng.uniform(0, 2 * np.pi), np.deg2rad(rng.uniform(30, 70))
    sun = np.array([np.cos(sun_el) * np.cos(sun_az), np.cos(sun_el) * np.sin(sun_az), np.sin(sun_el)])
    gh, gs, gv = rng.uniform(0.05, 0.35), rng.uniform(0.1, 0.45), rng.uniform(0.4, 0.65)
    ground = np.stack([_hsv(gh, gs, gv), _hsv(gh + rng.uniform(-0.05, 0.05), gs, gv * rng.uniform(0.55, 0.8))])
    tint = rng.uniform(0.85, 1.0, size=3)
    return Environment(
        sun_dir=sun,
        ambient=float(rng.uniform(0.3, 0.45)),
        ground_colors=ground.astype(np.float32),
        ground_tile=float(rng.uniform(0.6, 1.5)),
        sky_horizon=_srgb_to_linear(np.array([0.80, 0.85, 0.92]) * tint).astype(np.float32),
        sky_zenith=_srgb_to_linear(np.array([0.35, 0.52, 0.85]) * tint).astype(np.float32),
        fog_distance=float(rng.uniform(40.0, 80.0)),
        far=cfg.far,
        ground=True,
        shadows=cfg.shadows,
    )


def _pick_class(rng: np.random.Generator, cfg: SceneConfig) -> str:
    if rng.uniform() < cfg.person_prob:
        return "person"
    return str(rng.choice(["cube", "sphere", "cylinder", "capsule"]))


def sample_scene(rng: np.random.Generator, action: int, num_frames: int, height: int, width: int, cfg: SceneConfig) -> Scene:
    """Sample a scene whose actor (object 0) performs ``ACTION_NAMES[action]``; see the module docstring."""
    t_frames = num_frames
    action_name = ACTION_NAMES[action]
    camera, cam_targets, cam_info = _sample_camera(rng, t_frames, height, width, cfg)
    env = _sample_env(rng, cfg)
    mid = t_frames // 2
    rot_mid = camera.rotation[mid]
    right = rot_mid[0, :2] / np.linalg.norm(rot_mid[0, :2])
    fwd = rot_mid[2, :2] / np.linalg.norm(rot_mid[2, :2])
    look = cam_targets[mid, :2]  # scene centre: the middle camera's look-at point, on the ground

    # Actor.
    cls = _pick_class(rng, cfg)
    shape = _sample_shape(rng, cls)
    # Keep the actor in view: little lateral offset when it translates sideways, start farther when it approaches.
    lateral = rng.uniform(-0.3, 0.3) if action_name.startswith("translate") else rng.uniform(-0.8, 0.8)
    depth = {"approach": (0.3, 1.5), "recede": (-1.0, 0.3)}.get(action_name, (-0.8, 1.2))
    start = look + lateral * right + rng.uniform(*depth) * fwd
    motion = _actor_motion(rng, action_name, t_frames, start, right, fwd, shape, cls)
    obj, joints, centre = _build_object(rng, cls, shape, motion, action_name, t_frames)
    objects, classes, all_joints, centres = [obj], [obj.class_id], [joints], [centre]
    placed = [(motion.xy[0], motion.xy[-1], shape["footprint"])]
    info: dict[str, Any] = {"actor": 0, "actor_class": cls, "motion": motion.params, "camera": cam_info,
                            "actor_yaw_rad": [round(float(y), 6) for y in motion.yaw]}  # fmt: skip

    # Static distractors, in view at the middle frame, not overlapping the actor's path or each other.
    n_obj = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    tan_half = np.tan(np.deg2rad(cam_info["fov_x_deg"]) / 2)
    for _ in range(n_obj - 1):
        cls_d = _pick_class(rng, cfg)
        shape_d = _sample_shape(rng, cls_d)
        for _try in range(30):
            p = look + rng.uniform(-2.5, 2.5) * right + rng.uniform(-1.5, 3.5) * fwd
            pc = rot_mid @ (np.append(p, shape_d["footprint"]) - camera.position[mid])
            if pc[2] < 2.0 or abs(pc[0]) > 0.85 * tan_half * pc[2]:
                continue
            if all(_segment_distance(p, a, b) > r + shape_d["footprint"] + 0.25 for a, b, r in placed):
                break
        else:
            continue  # no free spot: fewer objects in this clip
        still = _actor_motion(rng, "static", t_frames, p, right, fwd, shape_d, cls_d)
        obj_d, joints_d, centre_d = _build_object(rng, cls_d, shape_d, still, "static", t_frames)
        objects.append(obj_d)
        classes.append(obj_d.class_id)
        all_joints.append(joints_d)
        centres.append(centre_d)
        placed.append((p, p, shape_d["footprint"]))
    return Scene(
        camera=camera,
        objects=objects,
        env=env,
        object_classes=np.asarray(classes, np.int64),
        joints=all_joints,
        centers=np.stack(centres, axis=1),
        action=int(action),
        info=info,
    )

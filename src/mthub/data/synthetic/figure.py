"""The articulated "person" figure: a Kinect-v2 25-joint skeleton, animated procedurally, dressed in capsules.

PViT's 3D-pose task regresses 25 joints x 3 in the Kinect-v2 layout (pvit spec §5, "25×3 KinectV2"), so the
figure uses exactly that joint set and order (:data:`JOINT_NAMES`; NTU RGB+D's layout). Joint positions are
computed from a few angles per frame (hip/knee/shoulder/elbow), which makes walking, turning in place, jumping
and standing expressible as short closed-form cycles; the body is a union of capsules between joints plus a
sphere for the head, so it is rendered and labelled exactly by :mod:`mthub.data.synthetic.renderer`.

Body frame: ``x`` to the figure's right, ``y`` forward (the facing direction), ``z`` up, origin on the ground
below the pelvis; "left" joints lie at negative ``x``. Sizes are for a 1.75 m figure and scale with height.
"""

from __future__ import annotations

import numpy as np

from mthub.data.synthetic.geometry import Primitive

__all__ = [
    "BONES",
    "JOINT_NAMES",
    "NUM_JOINTS",
    "PART_NAMES",
    "figure_joints",
    "figure_primitives",
    "jump_angles",
    "stand_angles",
    "walk_angles",
]

#: Kinect v2 joint order (as in NTU RGB+D skeleton files).
JOINT_NAMES: tuple[str, ...] = (
    "spine_base", "spine_mid", "neck", "head",
    "shoulder_left", "elbow_left", "wrist_left", "hand_left",
    "shoulder_right", "elbow_right", "wrist_right", "hand_right",
    "hip_left", "knee_left", "ankle_left", "foot_left",
    "hip_right", "knee_right", "ankle_right", "foot_right",
    "spine_shoulder", "hand_tip_left", "thumb_left", "hand_tip_right", "thumb_right",
)  # fmt: skip
NUM_JOINTS = len(JOINT_NAMES)
_J = {name: i for i, name in enumerate(JOINT_NAMES)}

#: Kinect v2 kinematic tree as (parent, child) joint-index pairs.
BONES: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 20), (20, 2), (2, 3),
    (20, 4), (4, 5), (5, 6), (6, 7), (7, 21), (7, 22),
    (20, 8), (8, 9), (9, 10), (10, 11), (11, 23), (11, 24),
    (0, 12), (12, 13), (13, 14), (14, 15),
    (0, 16), (16, 17), (17, 18), (18, 19),
)  # fmt: skip

#: Material parts of the figure (index into ``Material.colors``).
PART_NAMES: tuple[str, ...] = ("skin", "shirt", "trousers", "shoes")
_SKIN, _SHIRT, _TROUSERS, _SHOES = range(4)

# Segment lengths (metres, 1.75 m figure).
_PELVIS_Z, _SPINE_MID_Z, _SPINE_SHOULDER_Z, _NECK_Z, _HEAD_Z = 0.95, 1.18, 1.42, 1.50, 1.62
_SHOULDER_X, _SHOULDER_Z, _HIP_X, _HIP_Z = 0.18, 1.40, 0.10, 0.93
_UPPER_ARM, _FOREARM, _HAND, _HAND_TIP = 0.29, 0.25, 0.07, 0.07
_THIGH, _SHIN = 0.43, 0.42
_FOOT = np.array([0.0, 0.13, -0.04])

# (joint a, joint b, radius, part) of the capsules of the body.
_CAPSULES: tuple[tuple[int, int, float, int], ...] = (
    (_J["spine_base"], _J["spine_shoulder"], 0.14, _SHIRT),
    (_J["spine_shoulder"], _J["neck"], 0.05, _SKIN),
    (_J["shoulder_left"], _J["shoulder_right"], 0.07, _SHIRT),
    (_J["hip_left"], _J["hip_right"], 0.09, _TROUSERS),
    (_J["shoulder_left"], _J["elbow_left"], 0.05, _SHIRT),
    (_J["elbow_left"], _J["wrist_left"], 0.042, _SKIN),
    (_J["wrist_left"], _J["hand_tip_left"], 0.035, _SKIN),
    (_J["shoulder_right"], _J["elbow_right"], 0.05, _SHIRT),
    (_J["elbow_right"], _J["wrist_right"], 0.042, _SKIN),
    (_J["wrist_right"], _J["hand_tip_right"], 0.035, _SKIN),
    (_J["hip_left"], _J["knee_left"], 0.075, _TROUSERS),
    (_J["knee_left"], _J["ankle_left"], 0.06, _TROUSERS),
    (_J["ankle_left"], _J["foot_left"], 0.045, _SHOES),
    (_J["hip_right"], _J["knee_right"], 0.075, _TROUSERS),
    (_J["knee_right"], _J["ankle_right"], 0.06, _TROUSERS),
    (_J["ankle_right"], _J["foot_right"], 0.045, _SHOES),
)
_HEAD_RADIUS = 0.11

Angles = dict[str, np.ndarray]


def _limb_dir(swing: np.ndarray, abduct: np.ndarray | float, side: float) -> np.ndarray:
    """Unit direction ``(T, 3)`` of a limb hanging down, swung forward by ``swing`` (rad, about the body ``x``
    axis) and raised sideways by ``abduct`` (towards ``side`` = -1 left / +1 right)."""
    swing = np.asarray(swing, np.float64)
    abduct = np.broadcast_to(np.asarray(abduct, np.float64), swing.shape)
    return np.stack([side * np.sin(abduct), np.sin(swing) * np.cos(abduct), -np.cos(swing) * np.cos(abduct)], axis=-1)


def figure_joints(angles: Angles, height: float) -> np.ndarray:
    """Joint positions ``(T, 25, 3)`` in the body frame for per-frame ``angles``.

    ``angles`` keys (each ``(T,)`` radians unless noted): ``hip_l``, ``hip_r`` (thigh swing, + forward),
    ``knee_l``, ``knee_r`` (flexion >= 0), ``shoulder_l``, ``shoulder_r`` (arm swing, + forward), ``abduct``
    (arms out sideways), ``elbow`` (flexion >= 0), ``lift`` (metres the whole body is raised, e.g. a jump) and
    ``crouch`` (metres the pelvis drops because the knees bend).
    """
    t_frames = angles["hip_l"].shape[0]
    j = np.zeros((t_frames, NUM_JOINTS, 3))
    lift = angles.get("lift", np.zeros(t_frames))[:, None] + 0.0
    crouch = angles.get("crouch", np.zeros(t_frames))[:, None]

    def at(x: float, y: float, z: float) -> np.ndarray:
        return np.concatenate([np.full((t_frames, 1), x), np.full((t_frames, 1), y), lift + z - crouch], axis=1)

    j[:, _J["spine_base"]] = at(0, 0, _PELVIS_Z)
    j[:, _J["spine_mid"]] = at(0, 0.01, _SPINE_MID_Z)
    j[:, _J["spine_shoulder"]] = at(0, 0.0, _SPINE_SHOULDER_Z)
    j[:, _J["neck"]] = at(0, 0.01, _NECK_Z)
    j[:, _J["head"]] = at(0, 0.02, _HEAD_Z)
    for side, s in (("left", -1.0), ("right", 1.0)):
        tag = side[0]
        sh = at(s * _SHOULDER_X, 0, _SHOULDER_Z)
        upper = _limb_dir(angles[f"shoulder_{tag}"], angles["abduct"], s)
        fore = _limb_dir(angles[f"shoulder_{tag}"] + angles["elbow"], angles["abduct"], s)
        elbow = sh + _UPPER_ARM * upper
        wrist = elbow + _FOREARM * fore
        hand = wrist + _HAND * fore
        j[:, _J[f"shoulder_{side}"]] = sh
        j[:, _J[f"elbow_{side}"]] = elbow
        j[:, _J[f"wrist_{side}"]] = wrist
        j[:, _J[f"hand_{side}"]] = hand
        j[:, _J[f"hand_tip_{side}"]] = hand + _HAND_TIP * fore
        j[:, _J[f"thumb_{side}"]] = hand + 0.02 * fore + np.array([-s * 0.01, 0.035, 0.0])
        hip = at(s * _HIP_X, 0, _HIP_Z)
        thigh = _limb_dir(angles[f"hip_{tag}"], 0.0, s)
        shin = _limb_dir(angles[f"hip_{tag}"] - angles[f"knee_{tag}"], 0.0, s)
        knee = hip + _THIGH * thigh
        ankle = knee + _SHIN * shin
        j[:, _J[f"hip_{side}"]] = hip
        j[:, _J[f"knee_{side}"]] = knee
        j[:, _J[f"ankle_{side}"]] = ankle
        j[:, _J[f"foot_{side}"]] = ankle + _FOOT
    return j * (height / 1.75)


def stand_angles(t_frames: int, rng: np.random.Generator) -> Angles:
    """A still standing pose (the same in every frame), arms at a random small angle."""
    arm_l, arm_r = rng.uniform(-0.2, 0.3, size=2)
    return {
        "hip_l": np.full(t_frames, rng.uniform(-0.05, 0.1)),
        "hip_r": np.full(t_frames, rng.uniform(-0.05, 0.1)),
        "knee_l": np.full(t_frames, 0.05),
        "knee_r": np.full(t_frames, 0.05),
        "shoulder_l": np.full(t_frames, arm_l),
        "shoulder_r": np.full(t_frames, arm_r),
        "abduct": np.full(t_frames, rng.uniform(0.05, 0.25)),
        "elbow": np.full(t_frames, rng.uniform(0.1, 0.5)),
    }


def walk_angles(phase: np.ndarray, amplitude: float = 0.45) -> Angles:
    """Walking cycle at gait ``phase`` ``(T,)`` (radians; one period = two steps): legs swing in antiphase,
    the swinging leg's knee flexes, arms swing opposite to the legs, the pelvis bobs slightly."""
    s = np.sin(phase)
    t = phase.shape[0]
    knee_l = 0.9 * amplitude * np.maximum(0.0, np.sin(phase + np.pi / 3))
    knee_r = 0.9 * amplitude * np.maximum(0.0, np.sin(phase + np.pi / 3 + np.pi))
    return {
        "hip_l": amplitude * s,
        "hip_r": -amplitude * s,
        "knee_l": knee_l + 0.05,
        "knee_r": knee_r + 0.05,
        "shoulder_l": -0.8 * amplitude * s,
        "shoulder_r": 0.8 * amplitude * s,
        "abduct": np.full(t, 0.1),
        "elbow": np.full(t, 0.35),
        "crouch": 0.02 * amplitude * (1 - np.abs(np.cos(phase))),
    }


def jump_angles(height_frac: np.ndarray, lift: np.ndarray) -> Angles:
    """Jumping: knees flex and the pelvis drops near the ground (``height_frac`` ~ 0), arms rise while airborne
    (``height_frac`` ~ 1); ``lift`` ``(T,)`` raises the whole body (metres)."""
    crouch_w = 1.0 - np.clip(height_frac, 0, 1)
    return {
        "hip_l": 0.5 * crouch_w,
        "hip_r": 0.5 * crouch_w,
        "knee_l": 1.0 * crouch_w + 0.05,
        "knee_r": 1.0 * crouch_w + 0.05,
        "shoulder_l": -0.4 + 2.2 * height_frac,
        "shoulder_r": -0.4 + 2.2 * height_frac,
        "abduct": 0.15 + 0.2 * height_frac,
        "elbow": np.full(height_frac.shape, 0.2),
        "lift": lift,
        "crouch": 0.12 * crouch_w,
    }


def figure_primitives(joints_world: np.ndarray, height: float) -> list[Primitive]:
    """Capsules (limbs, torso) and a head sphere for world-frame joints ``(T, 25, 3)``."""
    scale = height / 1.75
    prims = [
        Primitive("capsule", a=joints_world[:, a], b=joints_world[:, b], radius=r * scale, part=part)
        for a, b, r, part in _CAPSULES
    ]
    prims.append(Primitive("sphere", a=joints_world[:, _J["head"]], radius=_HEAD_RADIUS * scale, part=_SKIN))
    return prims

"""Tests of the synthetic scene generator (mthub.data.synthetic): exact labels, determinism, format, builder.

Geometry is checked against references that do not share code with the ray caster: an analytic plane, and
signed distance functions (SDFs) of each primitive: a hit point must lie on the SDF's zero set, its normal must
be the SDF gradient, and every sample of a ray before its hit (or of a ray that misses) must be outside.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mthub.data.errors import CorruptSampleError, DatasetLayoutError
from mthub.data.synthetic import (
    ACTION_NAMES,
    CLASS_NAMES,
    CLASS_PALETTE,
    SceneConfig,
    generate_clip,
    generate_dataset,
    read_clip,
    read_meta,
    read_split,
    write_clip,
)
from mthub.data.synthetic.format import project_points
from mthub.data.synthetic.geometry import (
    GROUND_HIT,
    NO_HIT,
    Material,
    Primitive,
    SceneObject,
)
from mthub.data.synthetic.renderer import Camera, Environment, render

# ------------------------------------------------------------------------------------------------ helpers


def _camera(eye, target, h=24, w=32, fov=60.0, frames=1) -> Camera:
    eye = np.tile(np.asarray(eye, float), (frames, 1))
    target = np.tile(np.asarray(target, float), (frames, 1))
    return Camera.look_at(eye, target, fov, h, w)


def _world_rays(cam: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Camera centre (3,) and per-pixel world directions (H, W, 3) with camera-z = 1 (frame 0), in float64."""
    k = cam.intrinsics[0]
    u = np.arange(cam.width) + 0.5
    v = np.arange(cam.height) + 0.5
    x = (u[None, :] - k[0, 2]) / k[0, 0]
    y = (v[:, None] - k[1, 2]) / k[1, 1]
    d_cam = np.stack(np.broadcast_arrays(x, y, np.ones_like(x * y)), axis=-1)
    return cam.position[0], d_cam @ cam.rotation[0]  # R^T d  as row vectors


def _env(**kw) -> Environment:
    return Environment(**{"ground": False, "shadows": False, **kw})


def _rot(yaw: float, pitch: float = 0.0) -> np.ndarray:
    cz, sz, cx, sx = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    return rz @ rx


def _sdf(kind: str, p: np.ndarray, c: np.ndarray, rot: np.ndarray | None, r: float, half, b=None) -> np.ndarray:
    if kind == "sphere":
        return np.linalg.norm(p - c, axis=-1) - r
    if kind == "capsule":
        ba = b - c
        s = np.clip(((p - c) @ ba) / (ba @ ba), 0, 1)
        return np.linalg.norm(p - c - s[..., None] * ba, axis=-1) - r
    q = (p - c) @ rot  # world -> local (rot is world-from-local)
    if kind == "box":
        d = np.abs(q) - half
        return np.linalg.norm(np.maximum(d, 0), axis=-1) + np.minimum(d.max(-1), 0)
    if kind == "cylinder":
        d = np.stack([np.linalg.norm(q[..., :2], axis=-1) - r, np.abs(q[..., 2]) - half[2]], axis=-1)
        return np.linalg.norm(np.maximum(d, 0), axis=-1) + np.minimum(d.max(-1), 0)
    raise ValueError(kind)


def _one_object(prim: Primitive, class_id: int = 2) -> SceneObject:
    t = prim.a.shape[0]
    mat = Material("checker", np.array([[[0.8, 0.2, 0.2], [0.2, 0.2, 0.8]]], np.float32), 3.0)
    return SceneObject(class_id, [prim], mat, origin=prim.a, rot=np.tile(np.eye(3), (t, 1, 1)))


# -------------------------------------------------------------------------------------- geometry / labels
def test_ground_plane_depth_and_normals_match_the_analytic_plane():
    # A camera with yaw, pitch and roll (not a look-at camera) 2 m above the ground plane z = 0.
    h_cam, pitch, roll = 2.0, np.deg2rad(25.0), np.deg2rad(8.0)
    base = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # camera looking along +y, level: rows right/down/fwd
    rx = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
    rz = np.array([[np.cos(roll), -np.sin(roll), 0], [np.sin(roll), np.cos(roll), 0], [0, 0, 1]])
    rot = rz @ rx @ base @ _rot(0.4).T  # world -> camera
    eye = np.array([0.3, -1.0, h_cam])
    w2c = np.eye(4)
    w2c[:3, :3], w2c[:3, 3] = rot, -rot @ eye
    k = np.array([[30.0, 0, 20.0], [0, 30.0, 15.0], [0, 0, 1]])
    cam = Camera(intrinsics=k[None], world_to_camera=w2c[None], height=30, width=40)
    out = render(cam, [], Environment(ground=True, shadows=False, far=1e4))

    # Plane n.p = 0 with n = (0, 0, 1): for p = C + R^T (z x, z y, z), z = -C_z / ((R n) . (x, y, 1)).
    n_cam = rot @ np.array([0.0, 0.0, 1.0])
    u, v = np.meshgrid(np.arange(40) + 0.5, np.arange(30) + 0.5)
    denom = n_cam[0] * (u - 20) / 30 + n_cam[1] * (v - 15) / 30 + n_cam[2]
    hits = denom < 0
    clear = np.abs(denom) > 1e-3  # skip rays grazing the horizon
    assert hits.any() and (~hits).any(), "the view must contain ground and sky"
    np.testing.assert_array_equal((out.depth[0] > 0)[clear], hits[clear])
    z = -h_cam / np.where(hits, denom, -1.0)
    np.testing.assert_allclose(out.depth[0][hits & clear], z[hits & clear], rtol=2e-5)
    # Normals: the plane's camera-frame normal in NYU axes (x right, y down, z towards the camera), constant.
    expected = np.array([n_cam[0], n_cam[1], -n_cam[2]])
    np.testing.assert_allclose(out.normals[0][hits & clear], np.broadcast_to(expected, ((hits & clear).sum(), 3)), atol=1e-6)
    assert expected[2] > 0 and expected[1] < 0  # ground faces the camera and points up (= -y, image up)
    np.testing.assert_array_equal(out.normals[0][~hits & clear], 0.0)
    assert (out.owner[0][hits & clear] == GROUND_HIT).all() and (out.owner[0][~hits & clear] == NO_HIT).all()


@pytest.mark.parametrize("kind", ["sphere", "box", "cylinder", "capsule"])
def test_primitive_hits_lie_on_the_surface_with_sdf_normals(kind):
    c = np.array([0.2, 0.1, 1.0])
    rot = _rot(0.6, 0.5)
    half = np.array([0.5, 0.35, 0.6])
    b = c + rot @ np.array([0.0, 0.0, 0.9])
    prim = {
        "sphere": Primitive("sphere", a=c[None], radius=0.7),
        "box": Primitive("box", a=c[None], rot=rot[None], half=half),
        "cylinder": Primitive("cylinder", a=c[None], rot=rot[None], radius=0.45, half=half),
        "capsule": Primitive("capsule", a=c[None], b=b[None], radius=0.3),
    }[kind]
    cam = _camera([1.5, -4.0, 2.2], [0.2, 0.3, 1.0], h=30, w=36, fov=40)
    out = render(cam, [_one_object(prim)], _env())
    sdf = lambda p: _sdf(kind, p, c, rot, prim.radius, half, b)

    origin, dirs = _world_rays(cam)
    hit = out.owner[0] == 0
    assert 100 < hit.sum() < hit.size, "the object must be partly in view"
    p = origin + out.depth[0][..., None] * dirs  # z-depth times a camera-z = 1 direction
    assert np.abs(sdf(p[hit])).max() < 2e-4
    eps = 1e-5
    grad = np.stack([(sdf(p[hit] + eps * e) - sdf(p[hit] - eps * e)) / (2 * eps) for e in np.eye(3)], axis=-1)
    grad /= np.linalg.norm(grad, axis=-1, keepdims=True)
    n_world = (out.normals[0][hit] * np.array([1, 1, -1])) @ cam.rotation[0]  # NYU -> OpenCV -> world
    cos = (grad * n_world).sum(-1)
    assert np.quantile(cos, 0.99) > 0.999 and cos.min() > 0.9  # min: pixels within 1e-5 of an edge
    np.testing.assert_allclose(np.linalg.norm(out.normals[0][hit], axis=-1), 1.0, atol=1e-5)
    # No surface before the hit, none at all for missed rays (dense samples along each ray, step 5 mm).
    ts = np.linspace(2.0, 8.0, 1200)
    values = sdf(origin + ts[None, :, None] * dirs.reshape(-1, 1, 3)).reshape(*hit.shape, -1)
    inside = values < -1e-6
    first = np.where(inside.any(-1), ts[inside.argmax(-1)], np.inf)
    assert np.isinf(first[~hit]).all(), "a missed ray passes through the solid"
    assert (first[hit] >= out.depth[0][hit] - 1e-3).all(), "a surface lies before the reported hit"
    graze = np.isinf(first[hit])  # rays that only clip an edge may pass between two samples
    assert graze.mean() < 0.05 and (values[hit][graze].min(-1) < 5e-3).all()
    assert (first[hit][~graze] <= out.depth[0][hit][~graze] + 6e-3).all()


def test_segmentation_is_the_nearest_surface():
    # Two overlapping spheres over the ground: the owner of each pixel is the argmin of the analytic hits.
    cam = _camera([0.0, -5.0, 1.6], [0.0, 0.0, 0.6], h=36, w=44, fov=55)
    cs, rs = [np.array([-0.3, 0.0, 0.6]), np.array([0.35, 0.6, 0.8])], [0.6, 0.8]
    objs = [_one_object(Primitive("sphere", a=c[None], radius=r), class_id=3) for c, r in zip(cs, rs)]
    out = render(cam, objs, Environment(ground=True, shadows=False, far=100.0))
    origin, d = _world_rays(cam)
    ts, margins = [], []
    for c, r in zip(cs, rs):
        oc = origin - c
        a, bb, cc = (d * d).sum(-1), (d * oc).sum(-1), oc @ oc - r * r
        disc = bb * bb - a * cc
        ts.append(np.where(disc > 0, (-bb - np.sqrt(np.maximum(disc, 0))) / a, np.inf))
        margins.append(np.abs(disc))
    ts.insert(0, np.where(d[..., 2] < 0, -origin[2] / np.where(d[..., 2] < 0, d[..., 2], -1), np.inf))
    ts[0] = np.where(ts[0] <= 100.0, ts[0], np.inf)  # env.far: farther ground renders as sky
    margins.append(np.abs(ts[0] - 100.0))
    t = np.stack(ts)
    first = np.argmin(t, 0)  # 0 = ground, 1 + k = sphere k
    expected = np.where(np.isinf(t.min(0)), NO_HIT, np.where(first == 0, GROUND_HIT, first - 1))
    srt = np.sort(t, 0)
    with np.errstate(invalid="ignore"):  # inf - inf where fewer than two surfaces are hit
        clear = (np.min(np.stack(margins), 0) > 1e-3) & ~((srt[1] - srt[0]) <= 1e-4)
    assert (expected == 0).any() and (expected == 1).any() and (expected == GROUND_HIT).any()
    np.testing.assert_array_equal(out.owner[0][clear], expected[clear])


@pytest.fixture(scope="module")
def person_clip():
    return generate_clip(3, num_frames=6, height=64, width=80, action="translate_right", config=SceneConfig(person_prob=1.0))


@pytest.fixture(scope="module")
def mixed_clip():
    return generate_clip(11, num_frames=6, height=48, width=64, action="approach")


@pytest.mark.parametrize("which", ["person_clip", "mixed_clip"])
def test_clip_labels_are_consistent(which, request):
    clip = request.getfixturevalue(which)
    clip.validate()
    seg, inst, depth = clip.segmentation, clip.instances, clip.depth
    t, h, w = seg.shape
    ground, bg = CLASS_NAMES.index("ground"), CLASS_NAMES.index("background")
    # Segmentation = class of the nearest surface: objects where their instance is, ground/sky elsewhere.
    for k, cls in enumerate(clip.object_classes):
        np.testing.assert_array_equal(seg[inst == k + 1], cls)
    assert set(np.unique(seg[inst == 0])) <= {ground, bg}
    np.testing.assert_array_equal(depth > 0, seg != bg)  # depth exactly where a surface is hit
    normals = clip.normals.astype(np.float32)
    norm = np.linalg.norm(normals, axis=-1)
    np.testing.assert_allclose(norm[depth > 0], 1.0, atol=2e-3)
    np.testing.assert_array_equal(norm[depth == 0], 0.0)
    # Visible surfaces face the camera: n . d < 0 for the pixel ray d = (x, y, 1) (OpenCV), n = (n0, n1, -n2).
    k = clip.intrinsics[0]
    x = (np.arange(w) + 0.5 - k[0, 2]) / k[0, 0]
    y = (np.arange(h) + 0.5 - k[1, 2]) / k[1, 1]
    facing = normals[..., 0] * x[None, None, :] + normals[..., 1] * y[None, :, None] - normals[..., 2]
    assert (facing[depth > 0] < 1e-3).all()
    # Boxes enclose their masks, tightly (pixel j spans [j, j+1)).
    for f in range(t):
        for k in range(clip.num_objects):
            ys, xs = np.nonzero(inst[f] == k + 1)
            assert clip.box_valid[f, k] == (ys.size > 0)
            if ys.size == 0:
                np.testing.assert_array_equal(clip.boxes[f, k], 0.0)
                continue
            cx, cy, bw, bh = clip.boxes[f, k] * np.array([w, h, w, h])
            np.testing.assert_allclose([cx - bw / 2, cx + bw / 2, cy - bh / 2, cy + bh / 2],
                                       [xs.min(), xs.max() + 1, ys.min(), ys.max() + 1], atol=1e-4)  # fmt: skip
    assert clip.box_valid[:, 0].all(), "the actor stays in view"


def test_keypoints_project_inside_the_figure_box(person_clip):
    clip = person_clip
    assert (clip.object_classes == CLASS_NAMES.index("person")).all()
    assert clip.keypoints_visible.any()
    h, w = clip.height, clip.width
    uv = project_points(clip.keypoints, clip.intrinsics[:, None, None])  # (T, O, 25, 2)
    for f, k, j in zip(*np.nonzero(clip.keypoints_visible)):
        assert clip.box_valid[f, k]
        cx, cy, bw, bh = clip.boxes[f, k] * np.array([w, h, w, h])
        u, v = uv[f, k, j]
        # Box = pixel extent of the mask; a joint in a limb thinner than a pixel may fall just outside it.
        assert cx - bw / 2 - 1.5 <= u <= cx + bw / 2 + 1.5 and cy - bh / 2 - 1.5 <= v <= cy + bh / 2 + 1.5, (f, k, j)
    # Keypoints are in the camera frame in metres: the pelvis of a visible figure is in front, a few m away.
    z = clip.keypoints[..., 0, 2][clip.keypoints_visible[..., 0]]
    assert ((z > 1.0) & (z < 15.0)).all()
    # Bones have the figure's lengths in every frame (thigh: 0.43 m at 1.75 m height, x 1.55/1.75..1.9/1.75).
    thigh = np.linalg.norm(clip.keypoints[..., 13, :] - clip.keypoints[..., 12, :], axis=-1)
    assert ((thigh > 0.43 * 1.55 / 1.75 - 1e-4) & (thigh < 0.43 * 1.9 / 1.75 + 1e-4)).all()
    assert np.ptp(thigh, axis=0).max() < 1e-4


def test_generation_is_deterministic(mixed_clip):
    again = generate_clip(11, num_frames=6, height=48, width=64, action="approach")
    for name in ("rgb", "depth", "normals", "segmentation", "instances", "boxes", "box_valid", "keypoints",
                 "keypoints_visible", "intrinsics", "world_to_camera", "object_classes"):  # fmt: skip
        np.testing.assert_array_equal(getattr(again, name), getattr(mixed_clip, name), err_msg=name)
    other = generate_clip(12, num_frames=6, height=48, width=64, action="approach")
    assert not np.array_equal(other.rgb, mixed_clip.rgb)


def _world_centres(clip) -> np.ndarray:
    r, t = clip.world_to_camera[:, :3, :3].astype(np.float64), clip.world_to_camera[:, :3, 3].astype(np.float64)
    return np.einsum("fji,fkj->fki", r, clip.object_centers - t[:, None])  # R^T (p - t)


@pytest.mark.parametrize("action", ACTION_NAMES)
def test_actor_motion_follows_the_action_label(action):
    clip = generate_clip(100 + ACTION_NAMES.index(action), num_frames=8, height=24, width=32, action=action)
    assert clip.action_name == action and ACTION_NAMES[clip.action] == action
    world = _world_centres(clip)  # (T, O, 3)
    mid = clip.num_frames // 2
    r_mid = clip.world_to_camera[mid, :3, :3].astype(np.float64)
    disp_cam = r_mid @ (world[-1, 0] - world[0, 0])  # actor displacement in the middle camera's axes
    np.testing.assert_allclose(world[:, 1:], np.broadcast_to(world[:1, 1:], world[:, 1:].shape), atol=1e-5)  # others still
    yaw = np.asarray(clip.info["actor_yaw_rad"])
    lift = world[:, 0, 2] - world[0, 0, 2]
    horizontal = np.linalg.norm(world[:, 0, :2] - world[0, 0, :2], axis=-1).max()
    if action == "translate_left":
        assert disp_cam[0] < -1.0 and abs(disp_cam[2]) < 0.05
    elif action == "translate_right":
        assert disp_cam[0] > 1.0 and abs(disp_cam[2]) < 0.05
    elif action == "approach":
        assert disp_cam[2] < -0.6 and abs(disp_cam[0]) < 0.05
    elif action == "recede":
        assert disp_cam[2] > 0.6 and abs(disp_cam[0]) < 0.05
    elif action == "rotate":
        assert abs(yaw[-1] - yaw[0]) > np.deg2rad(100) and horizontal < 0.05
    elif action == "bounce":
        assert lift.max() > 0.3 and horizontal < 0.05
    elif action == "static":
        assert horizontal < 1e-6 and np.ptp(yaw) == 0 and np.abs(lift).max() < 1e-6


# -------------------------------------------------------------------------------------------------- format
def test_write_read_round_trip(tmp_path, mixed_clip):
    clip = mixed_clip
    write_clip(clip, tmp_path / "mp4", palette=CLASS_PALETTE, class_names=CLASS_NAMES)
    back = read_clip(tmp_path / "mp4")
    for name in ("depth", "normals", "segmentation", "instances", "boxes", "box_valid", "keypoints",
                 "keypoints_visible", "intrinsics", "world_to_camera", "object_classes", "object_centers"):  # fmt: skip
        np.testing.assert_array_equal(getattr(back, name), getattr(clip, name), err_msg=name)
    assert back.depth.dtype == np.float32 and back.normals.dtype == np.float16
    assert (back.action, back.action_name, back.seed, back.fps) == (clip.action, clip.action_name, clip.seed, clip.fps)
    assert back.info == json.loads(json.dumps(clip.info))
    err = np.abs(back.rgb.astype(int) - clip.rgb.astype(int))  # H.264 4:4:4, crf 0: RGB<->YUV rounding only
    assert err.max() <= 3 and err.mean() < 0.6, (err.max(), err.mean())
    write_clip(clip, tmp_path / "crf20", crf=20)  # lossy (and not byte-reproducible with x264): ~4 levels mean
    assert np.abs(read_clip(tmp_path / "crf20").rgb.astype(int) - clip.rgb).mean() < 6.0
    # Segmentation PNGs are palette images whose indices are the class ids.
    from PIL import Image

    with Image.open(tmp_path / "mp4" / "segmentation" / "000000.png") as im:
        assert im.mode == "P" and im.getpalette()[3 * 1 : 3 * 2] == list(CLASS_PALETTE[1])
    # Lossless RGB with PNG frames.
    write_clip(clip, tmp_path / "png", rgb_format="png")
    np.testing.assert_array_equal(read_clip(tmp_path / "png").rgb, clip.rgb)


def test_read_clip_names_the_bad_file(tmp_path, mixed_clip):
    d = write_clip(mixed_clip, tmp_path / "c")
    np.save(d / "depth.npy", np.zeros((2, 3), np.float32))
    with pytest.raises(CorruptSampleError, match="depth.npy.*shape"):
        read_clip(d)
    (d / "segmentation" / "000002.png").unlink()
    np.save(d / "depth.npy", mixed_clip.depth)
    with pytest.raises(CorruptSampleError, match="000002.png"):
        read_clip(d)


# ------------------------------------------------------------------------------------ dataset and builder
@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenes")
    generate_dataset(root, 5, num_frames=4, height=24, width=32, seed=7, split_fractions={"train": 0.6, "val": 0.4})
    return root


def test_generate_dataset_layout_and_workers(dataset_dir, tmp_path):
    meta = read_meta(dataset_dir)
    assert meta.class_names == list(CLASS_NAMES) and meta.action_names == list(ACTION_NAMES)
    assert len(meta.keypoint_names) == 25 and (meta.height, meta.width) == (24, 32)
    train, val = read_split(dataset_dir, "train"), read_split(dataset_dir, "val")
    assert (len(train), len(val)) == (3, 2) and not set(train) & set(val)
    with pytest.raises(FileExistsError):
        generate_dataset(dataset_dir, 1)
    with pytest.raises(DatasetLayoutError, match="test.txt"):
        read_split(dataset_dir, "test")
    # Two worker processes write the same bytes (seeds depend on the clip index only).
    generate_dataset(tmp_path / "w2", 5, num_frames=4, height=24, width=32, seed=7,
                     split_fractions={"train": 0.6, "val": 0.4}, num_workers=2)  # fmt: skip
    for cid in train + val:
        for name in ("annotations.json", "depth.npy", "normals.npy", "rgb.mp4"):
            a, b = dataset_dir / "clips" / cid / name, tmp_path / "w2" / "clips" / cid / name
            assert a.read_bytes() == b.read_bytes(), (cid, name)
    assert (dataset_dir / "meta.json").read_bytes() == (tmp_path / "w2" / "meta.json").read_bytes()


@pytest.mark.parametrize("config", ["frames", "clips"])
def test_builder_reads_the_generated_dataset(dataset_dir, tmp_path, config):
    from mthub.data.synthetic import (
        SyntheticScenes,
        decode_clip_example,
        decode_frame_example,
    )

    b = SyntheticScenes(config_name=config, data_dir=str(dataset_dir), cache_dir=str(tmp_path / "hf"))
    b.download_and_prepare()
    ds = b.as_dataset(split="val")
    ids = read_split(dataset_dir, "val")
    assert len(ds) == len(ids) * (4 if config == "frames" else 1)
    assert ds.features["action"].names == list(ACTION_NAMES)
    row = ds[len(ds) - 1]
    clip = read_clip(dataset_dir / "clips" / row["clip_id"])
    assert row["action"] == clip.action
    o = read_meta(dataset_dir).max_objects
    if config == "frames":
        ex = decode_frame_example(row)
        i = ex["frame_index"]
        np.testing.assert_array_equal(ex["image"], clip.rgb[i])
        np.testing.assert_array_equal(ex["depth"], clip.depth[i])
        np.testing.assert_array_equal(ex["normals"], clip.normals[i].astype(np.float32))
        np.testing.assert_array_equal(ex["semseg"], clip.segmentation[i])
        assert ex["boxes"].shape == (o, 4) and ex["keypoints"].shape == (o, 25, 3)
        n = clip.num_objects
        np.testing.assert_array_equal(ex["boxes"][:n], clip.boxes[i])
        assert not ex["box_valid"][n:].any() and (ex["object_classes"][n:] == -1).all()
    else:
        ex = decode_clip_example(row, frame_indices=[1, 3], dense=True)
        np.testing.assert_array_equal(ex["video"], clip.rgb[[1, 3]])
        np.testing.assert_array_equal(ex["depth"], clip.depth[[1, 3]])
        np.testing.assert_array_equal(ex["semseg"], clip.segmentation[[1, 3]])
        assert ex["boxes"].shape == (2, o, 4) and ex["keypoints_visible"].shape == (2, o, 25)
        np.testing.assert_array_equal(ex["keypoints"][:, : clip.num_objects], clip.keypoints[[1, 3]])


def test_builder_skips_and_reports_a_corrupt_clip(tmp_path, dataset_dir):
    import shutil

    from mthub.data.builders.base import read_report
    from mthub.data.synthetic import SyntheticScenes

    root = tmp_path / "copy"
    shutil.copytree(dataset_dir, root)
    bad = read_split(root, "train")[0]
    (root / "clips" / bad / "rgb.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom-truncated")
    b = SyntheticScenes(config_name="clips", data_dir=str(root), cache_dir=str(tmp_path / "hf"))
    b.download_and_prepare()
    assert len(b.as_dataset(split="train")) == 2
    report = read_report(b)
    assert report.counts["train"] == 1 and report.records[0].path.endswith(f"{bad}/rgb.mp4")
    strict = SyntheticScenes(config_name="clips", data_dir=str(root), cache_dir=str(tmp_path / "hf2"), strict=True)
    with pytest.raises(CorruptSampleError, match="rgb.mp4"):
        strict.download_and_prepare()
    with pytest.raises(DatasetLayoutError, match="meta.json"):
        SyntheticScenes(config_name="frames", data_dir=str(tmp_path / "nothing"), cache_dir=str(tmp_path / "hf3")).download_and_prepare()


def test_meta_lists_the_conventions(dataset_dir):
    meta = json.loads(Path(dataset_dir, "meta.json").read_text())
    assert meta["format"] == "mthub-synthetic-scenes" and meta["format_version"] == 1
    assert meta["palette"][: len(CLASS_PALETTE)] == [list(c) for c in CLASS_PALETTE]
    assert meta["source"]["seed"] == 7 and sum(meta["source"]["action_counts"].values()) == 5


def test_catalog_loads_the_dataset(dataset_dir, tmp_path):
    import mthub.data as mdata
    from mthub.data.catalog import register_dataset
    from mthub.data.synthetic import SyntheticScenes

    # The same call as in mthub.data.builders (a no-op when that registration is already there).
    register_dataset(SyntheticScenes.CATALOG_NAME, SyntheticScenes, description=SyntheticScenes.CATALOG_DESCRIPTION,
                     tasks=SyntheticScenes.TASKS)  # fmt: skip
    assert "synthetic_scenes" in mdata.list_datasets()
    ds = mdata.load("synthetic_scenes", data_dir=str(dataset_dir), split="train", cache_dir=str(tmp_path / "hf"),
                    config_name="clips", tasks=("action", "boxes"))  # fmt: skip
    assert len(ds) == 3 and "depth" not in ds.column_names and "keypoints" not in ds.column_names
    ann = json.loads((dataset_dir / "clips" / ds[0]["clip_id"] / "annotations.json").read_text())
    assert ds[0]["action"] == ann["action"]["id"]


def test_odd_sizes_and_a_regenerated_dataset_gets_a_new_cache(tmp_path):
    from mthub.data.synthetic import SyntheticScenes

    clip = generate_clip(5, num_frames=3, height=33, width=47)  # odd sizes: yuv444p H.264 accepts them
    back = read_clip(write_clip(clip, tmp_path / "odd"))
    assert back.rgb.shape == (3, 33, 47, 3) and np.abs(back.rgb.astype(int) - clip.rgb).max() <= 3
    root = tmp_path / "ds"
    generate_dataset(root, 2, num_frames=2, height=16, width=16, seed=1)
    first = SyntheticScenes(config_name="clips", data_dir=str(root), cache_dir=str(tmp_path / "hf")).cache_dir
    generate_dataset(root, 2, num_frames=2, height=16, width=16, seed=2, overwrite=True)
    second = SyntheticScenes(config_name="clips", data_dir=str(root), cache_dir=str(tmp_path / "hf")).cache_dir
    assert first != second


def test_builder_imports_directly_from_the_package():
    """``from mthub.data.synthetic import SyntheticScenes`` (the documented usage) must not hit the import cycle with
    the catalog's registration; checked in a fresh interpreter, where the cycle would show."""
    from tests.helpers import run_python

    assert run_python("from mthub.data.synthetic import SyntheticScenes; print(SyntheticScenes.__name__)").strip() == "SyntheticScenes"

"""Seeded procedural multi-task scene videos: :func:`generate_clip` (in memory) and :func:`generate_dataset` (on
disk, in the format of :mod:`mthub.data.synthetic.format`).

A clip is a pure function of its seed: :func:`mthub.data.synthetic.scene.sample_scene` draws the camera path, the
actor and its action, static distractors, materials and light; :func:`mthub.data.synthetic.renderer.render`
ray-casts every frame; this module turns the renderer's per-pixel owner map into the labels: semantic and
instance segmentation, boxes (tight around each object's instance mask), 3D keypoints with visibility for
figures, object centres, camera matrices.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import Any

import numpy as np

from mthub.data.synthetic import figure
from mthub.data.synthetic.format import (
    Clip,
    DatasetMeta,
    clip_path,
    write_clip,
    write_meta,
    write_split,
)
from mthub.data.synthetic.geometry import GROUND_HIT
from mthub.data.synthetic.renderer import points_visible, render
from mthub.data.synthetic.scene import (
    ACTION_NAMES,
    CLASS_NAMES,
    CLASS_PALETTE,
    SceneConfig,
    sample_scene,
)

__all__ = [
    "DEFAULT_SPLITS",
    "GENERATOR_NAME",
    "GENERATOR_VERSION",
    "boxes_from_instances",
    "clip_seed",
    "dataset_meta",
    "generate_clip",
    "generate_dataset",
    "split_counts",
]

logger = logging.getLogger(__name__)

GENERATOR_NAME = "mthub.data.synthetic"
#: Bump when the same seed would produce different pixels or labels.
GENERATOR_VERSION = "1.0.0"
DEFAULT_SPLITS: Mapping[str, float] = {"train": 0.8, "val": 0.1, "test": 0.1}


def clip_seed(seed: int, index: int) -> int:
    """Seed of clip ``index`` of a dataset generated with ``seed`` (independent of worker count and order)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


def boxes_from_instances(instances: np.ndarray, num_objects: int) -> tuple[np.ndarray, np.ndarray]:
    """Tight boxes around instance masks.

    Args:
        instances: ``(T, H, W)`` ids, ``k + 1`` for object ``k``.

    Returns:
        ``boxes`` ``(T, O, 4)`` float32 ``(cx, cy, w, h)`` normalised by ``(W, H)``, spanning the masks' pixel
        extents (pixel ``j`` covers ``[j, j+1)``), and ``valid`` ``(T, O)`` bool (mask not empty); invalid
        boxes are zeros.
    """
    t_frames, h, w = instances.shape
    boxes = np.zeros((t_frames, num_objects, 4), np.float32)
    valid = np.zeros((t_frames, num_objects), bool)
    for k in range(num_objects):
        mask = instances == k + 1
        rows, cols = mask.any(axis=2), mask.any(axis=1)  # (T, H), (T, W)
        ok = rows.any(axis=1)
        y0, y1 = rows.argmax(axis=1), h - rows[:, ::-1].argmax(axis=1)
        x0, x1 = cols.argmax(axis=1), w - cols[:, ::-1].argmax(axis=1)
        box = np.stack([(x0 + x1) / (2 * w), (y0 + y1) / (2 * h), (x1 - x0) / w, (y1 - y0) / h], axis=1)
        boxes[:, k] = np.where(ok[:, None], box, 0.0)
        valid[:, k] = ok
    return boxes, valid


def _resolve_action(action: int | str | None, rng: np.random.Generator) -> int:
    if action is None:
        return int(rng.integers(len(ACTION_NAMES)))
    if isinstance(action, str):
        if action not in ACTION_NAMES:
            raise ValueError(f"unknown action {action!r}; known: {', '.join(ACTION_NAMES)}")
        return ACTION_NAMES.index(action)
    if not 0 <= int(action) < len(ACTION_NAMES):
        raise ValueError(f"action id {action} outside 0..{len(ACTION_NAMES) - 1}")
    return int(action)


def generate_clip(
    seed: int,
    num_frames: int = 16,
    height: int = 128,
    width: int = 128,
    *,
    action: int | str | None = None,
    config: SceneConfig | None = None,
    fps: float = 8.0,
    clip_id: str = "",
) -> Clip:
    """Generate one clip in memory.

    Args:
        seed: the clip is a deterministic function of ``(seed, num_frames, height, width, action, config)``.
        num_frames, height, width: ``T``, ``H``, ``W``.
        action: action id or name (``ACTION_NAMES``); ``None`` draws one from the seed.
        config: scene sampler settings (:class:`SceneConfig`).
        fps: frame rate recorded with the clip (motions are defined per clip, not per second).

    Returns:
        A :class:`~mthub.data.synthetic.format.Clip` with ``O`` objects (``object_classes[0]`` is the actor),
        ``K = 25`` keypoints per object (zeros and invisible for non-figures), float16 normals.
    """
    if num_frames < 1 or height < 1 or width < 1:
        raise ValueError(f"num_frames, height and width must be positive, got {num_frames}, {height}, {width}")
    cfg = config or SceneConfig()
    rng = np.random.default_rng(int(seed))
    act = _resolve_action(action, rng)
    scene = sample_scene(rng, act, num_frames, height, width, cfg)
    out = render(scene.camera, scene.objects, scene.env)

    o = len(scene.objects)
    class_lut = np.zeros(o + 2, np.uint8)  # owner index + 2: NO_HIT (-1) -> 1, GROUND_HIT (-2) -> 0
    class_lut[0] = CLASS_NAMES.index("ground")
    class_lut[2:] = scene.object_classes
    seg = class_lut[out.owner.astype(np.int64) + 2]
    inst = np.where(out.owner >= 0, out.owner + 1, 0).astype(np.uint8)
    boxes, valid = boxes_from_instances(inst, o)

    rot, pos = scene.camera.rotation, scene.camera.position
    kps = np.zeros((num_frames, o, figure.NUM_JOINTS, 3), np.float32)
    vis = np.zeros((num_frames, o, figure.NUM_JOINTS), bool)
    for k, joints in enumerate(scene.joints):
        if joints is not None:
            kps[:, k] = np.einsum("tij,tkj->tki", rot, joints - pos[:, None])
            vis[:, k] = points_visible(scene.camera, scene.objects, joints, k, scene.env)
    centers = np.einsum("tij,tkj->tki", rot, scene.centers - pos[:, None]).astype(np.float32)
    assert GROUND_HIT == -2  # class_lut above relies on the owner codes
    return Clip(
        rgb=out.rgb,
        depth=out.depth,
        normals=out.normals.astype(np.float16),
        segmentation=seg,
        instances=inst,
        object_classes=scene.object_classes,
        boxes=boxes,
        box_valid=valid,
        keypoints=kps,
        keypoints_visible=vis,
        intrinsics=scene.camera.intrinsics.astype(np.float32),
        world_to_camera=scene.camera.world_to_camera.astype(np.float32),
        action=act,
        action_name=ACTION_NAMES[act],
        clip_id=clip_id,
        fps=float(fps),
        seed=int(seed),
        object_centers=centers,
        info={**scene.info, "generator": GENERATOR_NAME, "generator_version": GENERATOR_VERSION},
    )


def dataset_meta(num_frames: int, height: int, width: int, fps: float, config: SceneConfig, source: dict[str, Any]) -> DatasetMeta:
    """The :class:`DatasetMeta` of a generated dataset."""
    return DatasetMeta(
        class_names=list(CLASS_NAMES),
        palette=[list(c) for c in CLASS_PALETTE],
        action_names=list(ACTION_NAMES),
        keypoint_names=list(figure.JOINT_NAMES),
        skeleton=[list(b) for b in figure.BONES],
        max_objects=config.max_objects,
        fps=float(fps),
        height=int(height),
        width=int(width),
        source={"generator": GENERATOR_NAME, "generator_version": GENERATOR_VERSION, "num_frames": int(num_frames),
                "scene_config": asdict(config), **source},
    )


def split_counts(num_clips: int, fractions: Mapping[str, float]) -> dict[str, int]:
    """Clips per split: ``num_clips * fraction`` rounded by largest remainder (the counts sum to ``num_clips``)."""
    if not fractions or any(f < 0 for f in fractions.values()) or sum(fractions.values()) <= 0:
        raise ValueError(f"split_fractions must be non-negative with a positive sum, got {dict(fractions)}")
    total = float(sum(fractions.values()))
    raw = {k: num_clips * f / total for k, f in fractions.items()}
    counts = {k: int(np.floor(v)) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: raw[k] - counts[k], reverse=True)[: num_clips - sum(counts.values())]:
        counts[k] += 1
    return counts


def _make_and_write(job: dict[str, Any]) -> tuple[str, int]:
    clip = generate_clip(job["seed"], job["num_frames"], job["height"], job["width"], action=job["action"],
                         config=job["config"], fps=job["fps"], clip_id=job["clip_id"])  # fmt: skip
    write_clip(clip, job["dir"], rgb_format=job["rgb_format"], crf=job["crf"], palette=CLASS_PALETTE, class_names=CLASS_NAMES)
    return clip.clip_id, clip.action


def generate_dataset(
    out_dir: str | os.PathLike[str],
    num_clips: int,
    num_frames: int = 16,
    height: int = 128,
    width: int = 128,
    seed: int = 0,
    split_fractions: Mapping[str, float] = DEFAULT_SPLITS,
    num_workers: int = 0,
    *,
    config: SceneConfig | None = None,
    fps: float = 8.0,
    rgb_format: str = "mp4",
    crf: int = 0,
    overwrite: bool = False,
    progress: bool = False,
    mp_context: str | None = None,
) -> DatasetMeta:
    """Generate ``num_clips`` clips into ``out_dir`` (``meta.json``, ``splits/*.txt``, ``clips/<id>/``).

    Actions are balanced: clip ``i`` gets action ``perm[i] % A`` for a seeded permutation ``perm``; clip ``i``'s
    seed is :func:`clip_seed` ``(seed, i)``; the first clips go to the first split, and so on. The output is
    identical for any ``num_workers``.

    Args:
        split_fractions: ``{split: fraction}``; counts by largest remainder (:func:`split_counts`).
        num_workers: processes generating clips in parallel (0 = in this process).
        rgb_format: ``"mp4"`` (H.264 4:4:4) or ``"png"`` frames.
        crf: x264 quality for mp4 (0 = lossless in YUV, see :func:`~mthub.data.synthetic.format.write_clip`).
        overwrite: replace an existing dataset at ``out_dir`` (otherwise ``FileExistsError``).
        progress: show a tqdm progress bar.
        mp_context: multiprocessing start method for the workers; default ``"fork"`` where available (no
            ``if __name__ == "__main__"`` guard needed; the workers only use numpy, PIL and PyAV), else ``"spawn"``.

    Returns:
        The written :class:`DatasetMeta` (``source`` holds the seed and the per-split / per-action counts).
    """
    if num_clips < 0:
        raise ValueError(f"num_clips must be >= 0, got {num_clips}")
    root = Path(out_dir)
    if (root / "meta.json").exists():
        if not overwrite:
            raise FileExistsError(f"{root}: a dataset already exists here (pass overwrite=True to replace it)")
        for sub in ("clips", "splits"):
            shutil.rmtree(root / sub, ignore_errors=True)
        (root / "meta.json").unlink()
    cfg = config or SceneConfig()
    counts = split_counts(num_clips, split_fractions)
    perm = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5EED])).permutation(num_clips)
    jobs = [
        {"seed": clip_seed(seed, i), "num_frames": num_frames, "height": height, "width": width,
         "action": int(perm[i] % len(ACTION_NAMES)), "config": cfg, "fps": fps, "clip_id": f"clip_{i:06d}",
         "dir": str(clip_path(root, f"clip_{i:06d}")), "rgb_format": rgb_format, "crf": crf}
        for i in range(num_clips)
    ]
    start = time.perf_counter()
    results: list[tuple[str, int]] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=num_clips, desc="generating clips", unit="clip")
    if num_workers > 0 and num_clips > 1:
        method = mp_context or ("fork" if "fork" in get_all_start_methods() else "spawn")
        with ProcessPoolExecutor(max_workers=num_workers, mp_context=get_context(method)) as pool:
            for res in pool.map(_make_and_write, jobs, chunksize=max(1, num_clips // (8 * num_workers))):
                results.append(res)
                if bar is not None:
                    bar.update(1)
    else:
        for job in jobs:
            results.append(_make_and_write(job))
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    elapsed = time.perf_counter() - start

    ids = [cid for cid, _ in results]
    offset = 0
    for split, n in counts.items():
        write_split(root, split, ids[offset : offset + n])
        offset += n
    meta = dataset_meta(num_frames, height, width, fps, cfg, {
        "seed": int(seed), "num_clips": int(num_clips), "splits": counts, "rgb_format": rgb_format, "crf": int(crf),
        "action_counts": {a: int(sum(1 for _, x in results if x == i)) for i, a in enumerate(ACTION_NAMES)},
    })  # fmt: skip  (no timings or worker counts: the dataset is byte-identical for a given seed)
    write_meta(root, meta)
    logger.info("generated %d clips in %.1f s into %s (%s)", num_clips, elapsed, root, json.dumps(counts))
    return meta

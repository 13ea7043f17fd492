"""Decoders for the examples of :class:`~mthub.data.synthetic.builder.SyntheticScenes`: they load the pixels that
the prepared dataset only references (RGB frames through :func:`mthub.data.video.read_frames`, PNG label maps,
rows of the ``.npy`` depth / normal arrays, memory-mapped).

They live apart from the builder module on purpose: ``datasets`` patches ``numpy.load``/``open`` inside the
module that defines a builder (for streaming), which breaks memory-mapped loads there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["batch_transform", "decode_clip_example", "decode_frame_example"]


def _read_video_frames(path: str, indices: Sequence[int]) -> np.ndarray:
    if "{index" in path:  # PNG frames
        from PIL import Image

        frames = []
        for i in indices:
            with Image.open(path.format(index=int(i))) as im:
                frames.append(np.asarray(im.convert("RGB")))
        return np.stack(frames)
    from mthub.data.video import read_frames

    return read_frames(path, list(indices))


def _png(path: str) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im).astype(np.uint8)


def _label_rows(path: str, indices: Sequence[int]) -> np.ndarray:
    """Label maps of frames ``indices`` ``(N, H, W)`` uint8 from a ``{index:06d}`` PNG pattern, a single PNG
    (frames config: the frame's own file) or a ``(T, H, W)`` ``.npy`` array."""
    if path.endswith(".npy"):
        return np.asarray(np.load(path, mmap_mode="r", allow_pickle=False)[list(indices)], dtype=np.uint8)
    if "{index" in path:
        return np.stack([_png(path.format(index=int(i))) for i in indices])
    return _png(path)[None]


def decode_frame_example(example: Mapping[str, Any]) -> dict[str, Any]:
    """Load the pixels of one ``"frames"`` example.

    Returns:
        A new dict with ``image`` ``(H, W, 3)`` uint8 (PyAV-decoded frame), and for the columns present:
        ``semseg`` / ``instances`` ``(H, W)`` uint8, ``depth`` ``(H, W)`` float32 (metres, 0 = invalid),
        ``normals`` ``(H, W, 3)`` float32 (NYU camera axes, 0 = invalid); arrays of the annotation columns as
        numpy; other columns unchanged. The keys match :func:`mthub.data.builders.dense_schema.decode_dense_example`
        (``image``, ``semseg``, ``depth``, ``normals``), so the dense transforms apply unchanged.
    """
    out = dict(example)
    i = int(example["frame_index"])
    out["image"] = _read_video_frames(str(example["video"]), [i])[0]
    for task in ("semseg", "instances"):
        if example.get(task):
            out[task] = _label_rows(str(example[task]), [i])[0]
    for task in ("depth", "normals"):
        if example.get(task):
            arr = np.load(str(example[task]), mmap_mode="r", allow_pickle=False)
            out[task] = np.asarray(arr[i], dtype=np.float32)
    for key in ("boxes", "box_valid", "keypoints", "keypoints_visible", "object_classes", "intrinsics", "world_to_camera"):
        if key in example and example[key] is not None:
            out[key] = np.asarray(example[key])
    return out


def decode_clip_example(
    example: Mapping[str, Any], frame_indices: Sequence[int] | None = None, dense: bool = False
) -> dict[str, Any]:
    """Load the video (and optionally the dense maps) of one ``"clips"`` example.

    Args:
        frame_indices: frames to decode (default: all ``num_frames``); per-frame annotation arrays are sliced
            to the same frames.
        dense: also load ``semseg`` / ``instances`` ``(N, H, W)`` uint8, ``depth`` ``(N, H, W)`` and ``normals``
            ``(N, H, W, 3)`` float32 for the selected frames.

    Returns:
        A new dict with ``video`` ``(N, H, W, 3)`` uint8, ``frame_indices`` ``(N,)``, ``video_path`` (the file),
        the annotation arrays as numpy (``boxes`` ``(N, O, 4)``, ...).
    """
    idx = np.arange(int(example["num_frames"])) if frame_indices is None else np.asarray(frame_indices, np.int64)
    out = dict(example)
    out["video_path"] = example["video"]
    out["video"] = _read_video_frames(str(example["video"]), idx.tolist())
    out["frame_indices"] = idx
    for key in ("boxes", "box_valid", "keypoints", "keypoints_visible", "intrinsics", "world_to_camera"):
        if key in example and example[key] is not None:
            out[key] = np.asarray(example[key])[idx]
    if "object_classes" in example:
        out["object_classes"] = np.asarray(example["object_classes"])
    if dense:
        for task in ("semseg", "instances"):
            if example.get(task):
                out[task] = _label_rows(str(example[task]), idx.tolist())
        for task in ("depth", "normals"):
            if example.get(task):
                arr = np.load(str(example[task]), mmap_mode="r", allow_pickle=False)
                out[task] = np.asarray(arr[idx], dtype=np.float32)
    return out


def batch_transform(decode: Callable[..., dict[str, Any]], **kwargs: Any) -> Callable[[dict[str, list[Any]]], dict[str, list[Any]]]:
    """Wrap a per-example decoder for ``Dataset.set_transform`` (which passes batches as dicts of lists).

    Example::

        >>> ds.set_transform(batch_transform(decode_frame_example))
        >>> ds[0]["image"].shape
        (128, 128, 3)
    """

    def transform(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        n = len(next(iter(batch.values())))
        rows = [decode({k: v[i] for k, v in batch.items()}, **kwargs) for i in range(n)]
        return {k: [r[k] for r in rows] for k in rows[0]} if rows else {}

    return transform

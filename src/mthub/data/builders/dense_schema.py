"""The column schema shared by the dense multi-task builders (NYUD-v2, PASCAL-Context), and its decoder.

Columns of a prepared dataset (only the selected tasks' label columns are present):

============== ================================ ======================================================
column         ``datasets`` feature             content
============== ================================ ======================================================
``id``         ``Value("string")``              sample id from the split list
``image``      ``Image()``                      the original file's bytes (JPEG/PNG, not re-encoded) and
                                                its path; decodes to an RGB ``(H, W, 3)`` uint8 image
``height``     ``Value("int32")``               H of the image (all label maps have the same H, W)
``width``      ``Value("int32")``               W
``semseg``     ``Image()`` (PNG, mode L)        class ids ``0..C-1``, 255 = ignore (NYUD: 40 classes,
                                                void → 255; PASCAL: 21 classes incl. background 0)
``human_parts`` ``Image()`` (PNG, mode L)       0 = background, 1..6 = parts; **None** for images
                                                without annotated persons (the label is missing)
``edge``       ``Image()`` (PNG, mode L)        {0, 1}
``sal``        ``Image()`` (PNG, mode L)        {0, 1}
``depth``      ``Array2D((None, 1), float32)``  the ``(H, W)`` map as ``H*W`` rows (row-major), metres;
                                                0 = invalid
``normals``    ``Array2D((None, 3), float32)``  the ``(H, W, 3)`` map as ``H*W`` rows, in [-1, 1];
                                                (0, 0, 0) = invalid
============== ================================ ======================================================

Why these types: integer label maps compress well as PNG and ``datasets`` decodes them lazily. Float maps
cannot be PNGs without losing precision, and ``datasets``' ``Array2D/3D`` allow only the *first* dimension to
vary (PASCAL images differ in both H and W), so depth and normals are stored as ``(H*W, C)`` arrays. Measured
for a 480×640×3 map: writing is ~10× faster than a ``List(float32)`` column (which ``datasets`` turns into a
Python list) and ``ds.with_format("numpy")`` reads it back in a few ms. :func:`decode_dense_example` reshapes
them to ``(H, W[, C])``. A missing float map is stored as a ``(0, C)`` array (``datasets`` cannot batch null
``Array2D`` values) and decodes to ``None``. Read with ``with_format("numpy")`` (or ``"torch"``): the default
Python format turns these arrays into nested lists, which is slow for full-size maps.

Labels are stored *after* the official loaders' value mappings (NYUD ``v-1`` with void → 255, ``/255``
for PNG edges and normals ``2v/255-1``, saliency ``> 0.5``, PASCAL normals zeroed outside the NYU-compatible
context classes) but *before* ``AddIgnoreRegions`` (depth 0 and zero normals stay 0): that step belongs to
the transform pipeline (:mod:`mthub.data.transforms.dense`), after padding, as in ATRC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import datasets
import numpy as np

__all__ = [
    "IMAGE_LABEL_TASKS",
    "FLAT_FLOAT_TASKS",
    "dense_features",
    "encode_label_image",
    "encode_flat",
    "decode_dense_example",
]

#: Tasks stored as single-channel uint8 PNG label images.
IMAGE_LABEL_TASKS = ("semseg", "human_parts", "edge", "sal")
#: Tasks stored as ``(H*W, C)`` float32 ``Array2D`` columns, with their channel count C.
FLAT_FLOAT_TASKS = {"depth": 1, "normals": 3}


def dense_features(tasks: Iterable[str]) -> datasets.Features:
    """``datasets.Features`` for a dense multi-task dataset with the given label columns."""
    feats: dict[str, Any] = {
        "id": datasets.Value("string"),
        "image": datasets.Image(),
        "height": datasets.Value("int32"),
        "width": datasets.Value("int32"),
    }
    for t in tasks:
        if t in IMAGE_LABEL_TASKS:
            feats[t] = datasets.Image()
        elif t in FLAT_FLOAT_TASKS:
            feats[t] = datasets.Array2D(shape=(None, FLAT_FLOAT_TASKS[t]), dtype="float32")
        else:
            raise ValueError(f"unknown dense task {t!r}; known: {IMAGE_LABEL_TASKS + tuple(FLAT_FLOAT_TASKS)}")
    return datasets.Features(feats)


def encode_label_image(arr: np.ndarray | None) -> np.ndarray | None:
    """A uint8 ``(H, W)`` label map as stored in an ``Image()`` column (``datasets`` encodes it as PNG)."""
    if arr is None:
        return None
    if arr.ndim != 2:
        raise ValueError(f"label maps must be (H, W), got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def encode_flat(arr: np.ndarray | None, channels: int) -> np.ndarray:
    """An ``(H, W)`` / ``(H, W, C)`` float map as the ``(H*W, C)`` float32 array of its ``Array2D`` column; a
    missing map (``None``) as a ``(0, C)`` array."""
    if arr is None:
        return np.zeros((0, channels), dtype=np.float32)
    return np.ascontiguousarray(arr, dtype=np.float32).reshape(-1, channels)


def _to_array(value: Any) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "numpy") and callable(value.numpy):  # torch tensor from with_format("torch")
        return value.numpy()
    return np.asarray(value)


def decode_dense_example(example: Mapping[str, Any]) -> dict[str, Any]:
    """Turn one stored example into numpy arrays in (H, W[, C]) layout.

    Works on rows from the default (PIL/lists), ``"numpy"`` or ``"torch"`` formats.

    Returns:
        A new dict with ``image`` ``(H, W, 3)`` uint8; ``semseg``/``human_parts``/``edge``/``sal``
        ``(H, W)`` uint8; ``depth`` ``(H, W)`` float32; ``normals`` ``(H, W, 3)`` float32; missing labels as
        ``None``; all other columns (``id``, ``height``, ``width``) unchanged. Feed it to
        :func:`mthub.data.transforms.dense.to_tensor_sample` for the ``(C, H, W)`` tensors the transforms use.
    """
    out = dict(example)
    h, w = int(_to_array(example["height"])), int(_to_array(example["width"]))
    if example.get("image") is not None:
        img = example["image"]
        if hasattr(img, "convert"):  # PIL
            img = img.convert("RGB")
        img = _to_array(img)
        if img.ndim == 3 and tuple(img.shape[:2]) != (h, w) and tuple(img.shape[1:]) == (h, w):
            img = np.moveaxis(img, 0, -1)  # the torch format gives (C, H, W)
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=-1)
        out["image"] = np.asarray(img, dtype=np.uint8)
    for t in IMAGE_LABEL_TASKS:
        if t in example and example[t] is not None:
            arr = _to_array(example[t])
            out[t] = np.asarray(arr, dtype=np.uint8).reshape(h, w)
    for t, c in FLAT_FLOAT_TASKS.items():
        if t in example and example[t] is not None:
            arr = np.asarray(_to_array(example[t]), dtype=np.float32)
            out[t] = None if arr.size == 0 else arr.reshape((h, w) if c == 1 else (h, w, c))
    return out

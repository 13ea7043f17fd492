"""Render dense multi-task predictions as a PNG panel (PIL + numpy; matplotlib is not a dependency).

One tile per map, side by side after the input image, each titled with its task name:

* semantic maps (``{"labels"}``): a fixed palette (:func:`label_palette`), ignore label 255 black;
* single-channel regression (depth): min–max scaled over the 2nd–98th percentile, coloured with a viridis-like map;
* three-channel regression (surface normals in [−1, 1]): ``(n + 1) / 2`` as RGB;
* probabilities (edges, saliency ``{"probabilities"}``): greyscale 0–255.

Colour maps are written here (a small table interpolated linearly) because the stack has no matplotlib.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "colorize_depth",
    "colorize_labels",
    "colorize_normals",
    "colorize_probability",
    "label_palette",
    "render_panel",
]

#: Viridis sampled at 9 evenly spaced points (RGB 0–255), interpolated linearly between them.
_VIRIDIS_ANCHORS = np.array(
    [
        [68, 1, 84],
        [72, 40, 120],
        [62, 74, 137],
        [49, 104, 142],
        [38, 130, 142],
        [31, 158, 137],
        [53, 183, 121],
        [109, 205, 89],
        [253, 231, 37],
    ],
    dtype=np.float64,
)


def _as_numpy(x: Any) -> np.ndarray:
    return x.detach().float().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def label_palette(num_classes: int = 256) -> np.ndarray:
    """``(num_classes, 3)`` uint8 colours: class ``i``'s bits spread over the high bits of R, G and B (the VOC
    scheme: distinct, deterministic colours for any number of classes). Index 255 is black (ignore)."""
    palette = np.zeros((max(num_classes, 256), 3), dtype=np.uint8)
    for index in range(palette.shape[0]):
        value, r, g, b = index, 0, 0, 0
        for shift in range(7, -1, -1):
            r |= ((value >> 0) & 1) << shift
            g |= ((value >> 1) & 1) << shift
            b |= ((value >> 2) & 1) << shift
            value >>= 3
        palette[index] = (r, g, b)
    palette[255] = 0
    return palette[: max(num_classes, 256)]


def colorize_labels(labels: Any) -> np.ndarray:
    """``(H, W)`` integer labels → ``(H, W, 3)`` uint8 through :func:`label_palette`."""
    labels = _as_numpy(labels).astype(np.int64)
    return label_palette()[np.clip(labels, 0, 255)]


def colorize_depth(depth: Any) -> np.ndarray:
    """``(H, W)`` depth → ``(H, W, 3)`` uint8 viridis, scaled over the 2nd–98th percentile of finite values."""
    depth = _as_numpy(depth).astype(np.float64)
    finite = np.isfinite(depth)
    if not finite.any():
        return np.zeros((*depth.shape, 3), dtype=np.uint8)
    low, high = np.percentile(depth[finite], [2, 98])
    scaled = np.clip((np.where(finite, depth, low) - low) / max(high - low, 1e-12), 0.0, 1.0)
    position = scaled * (len(_VIRIDIS_ANCHORS) - 1)
    lower = np.floor(position).astype(np.int64).clip(0, len(_VIRIDIS_ANCHORS) - 2)
    frac = (position - lower)[..., None]
    rgb = _VIRIDIS_ANCHORS[lower] * (1 - frac) + _VIRIDIS_ANCHORS[lower + 1] * frac
    return np.round(rgb).astype(np.uint8)


def colorize_normals(normals: Any) -> np.ndarray:
    """``(3, H, W)`` (or ``(H, W, 3)``) normals in [−1, 1] → ``(H, W, 3)`` uint8 ``(n + 1) / 2 · 255``."""
    normals = _as_numpy(normals).astype(np.float64)
    if normals.ndim == 3 and normals.shape[0] == 3 and normals.shape[-1] != 3:
        normals = np.moveaxis(normals, 0, -1)
    return np.round((np.clip(normals, -1, 1) + 1) / 2 * 255).astype(np.uint8)


def colorize_probability(probabilities: Any) -> np.ndarray:
    """``(H, W)`` probabilities in [0, 1] → ``(H, W, 3)`` uint8 greyscale."""
    grey = np.round(np.clip(_as_numpy(probabilities).astype(np.float64), 0, 1) * 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def _tile(prediction: Any) -> np.ndarray | None:
    """The RGB image of one decoded prediction (see :func:`~mthub.pipelines.dense_prediction.decode_dense_output`)."""
    if isinstance(prediction, Mapping):
        if "probabilities" in prediction and "labels" not in prediction:
            return colorize_probability(prediction["probabilities"])
        if "probabilities" in prediction and len(prediction.get("names", ())) == 2:
            return colorize_probability(prediction["probabilities"])  # saliency: the soft map shows more
        if "labels" in prediction:
            return colorize_labels(prediction["labels"])
        return None
    array = _as_numpy(prediction)
    if array.ndim == 2:
        return colorize_depth(array)
    if array.ndim == 3 and 3 in (array.shape[0], array.shape[-1]):
        return colorize_normals(array)
    if array.ndim == 3 and array.shape[0] == 1:
        return colorize_depth(array[0])
    return None


def render_panel(
    image: Any,
    predictions: Mapping[str, Any],
    config: Any = None,
    path: str | os.PathLike | None = None,
    tile_height: int = 192,
) -> Image.Image:
    """A horizontal panel: the input image, then one tile per task, each titled.

    Args:
        image: ``(H, W, 3)`` uint8 array or ``PIL.Image`` (``None``: no input tile).
        predictions: ``{task: decoded prediction}`` as returned by the ``multi-task-dense-prediction`` pipeline
            (non-map entries such as ``frame_index`` are skipped).
        config: the model config (unused today beyond task order; kept for label-aware renderers).
        path: write the panel there as PNG (folders are created).
        tile_height: height of every tile in pixels (widths keep each map's aspect ratio).

    Returns:
        The panel as an RGB ``PIL.Image``.
    """
    tiles: list[tuple[str, np.ndarray]] = []
    if image is not None:
        tiles.append(
            ("input", np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image, dtype=np.uint8))
        )
    order = list(getattr(config, "task_names", None) or predictions)
    order += [name for name in predictions if name not in order]
    for name in order:
        if name not in predictions:
            continue
        tile = _tile(predictions[name])
        if tile is not None:
            tiles.append((name, tile))
    if not tiles:
        raise ValueError(f"render_panel: nothing to draw (predictions for {sorted(predictions)} have no map).")
    title_height = 16
    resized = []
    for name, array in tiles:
        height, width = array.shape[:2]
        new_width = max(1, round(width * tile_height / height))
        resized.append((name, Image.fromarray(array).resize((new_width, tile_height), Image.Resampling.NEAREST)))
    gap = 4
    total_width = sum(tile.width for _, tile in resized) + gap * (len(resized) - 1)
    panel = Image.new("RGB", (total_width, tile_height + title_height), (255, 255, 255))
    draw = ImageDraw.Draw(panel)
    font = ImageFont.load_default()
    x = 0
    for name, tile in resized:
        panel.paste(tile, (x, title_height))
        draw.text((x + 2, 1), name, fill=(0, 0, 0), font=font)
        x += tile.width + gap
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        panel.save(path, format="PNG")
    return panel

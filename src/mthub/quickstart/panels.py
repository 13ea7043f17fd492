"""PNG panels of the pipeline's predictions next to the ground truth of the new video.

One panel per frame, tiles left to right: the frame, predicted depth, predicted segmentation, predicted normals, then
the ground truth of the same three. Depth tiles of a frame share one colour scale (the 2nd–98th percentile of the
valid ground truth and the prediction together), so colours compare directly; invalid ground truth (sky: no depth,
no normal) is black. Segmentation uses the dataset's own palette (``meta.palette``), with a legend underneath.
Colour maps come from :mod:`mthub.pipelines.rendering`; :func:`~mthub.pipelines.rendering.render_panel` itself
scales each depth map on its own and uses a generic palette, which is why the tiles are composed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..pipelines.rendering import colorize_depth, colorize_normals

__all__ = ["compose_panel", "write_panels"]

_TITLE_HEIGHT = 16
_GAP = 4


def _depth_pair(pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    valid = true > 0
    # One scale for both: colourise them side by side, NaN (no surface) takes the low end and is then painted black.
    joint = np.concatenate([pred.astype(np.float64), np.where(valid, true, np.nan)], axis=1)
    rgb = colorize_depth(joint)
    width = pred.shape[1]
    pred_rgb, true_rgb = rgb[:, :width].copy(), rgb[:, width:].copy()
    true_rgb[~valid] = 0
    return pred_rgb, true_rgb


def _labels_rgb(labels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    lut = np.zeros((256, 3), np.uint8)
    lut[: len(palette)] = palette
    return lut[np.clip(labels.astype(np.int64), 0, 255)]


def compose_panel(
    frame: np.ndarray,
    predicted: dict[str, np.ndarray],
    truth: dict[str, np.ndarray],
    class_names: Sequence[str],
    palette: Sequence[Sequence[int]],
    tile_height: int = 192,
) -> Image.Image:
    """One panel (module docstring).

    Args:
        frame: ``(H, W, 3)`` uint8.
        predicted, truth: ``{"depth": (H, W) metres, "semseg": (H, W) class ids, "normals": (3, H, W) or
            (H, W, 3)}``; ground-truth depth 0 / normals 0 = invalid.
        class_names, palette: the segmentation classes and their colours (legend).
    """
    palette = np.asarray(palette, dtype=np.uint8)
    pred_depth, true_depth = _depth_pair(np.asarray(predicted["depth"]), np.asarray(truth["depth"]))
    true_normals = colorize_normals(truth["normals"])
    normals_array = np.asarray(truth["normals"])
    normals_array = normals_array if normals_array.shape[-1] == 3 else np.moveaxis(normals_array, 0, -1)
    true_normals[np.abs(normals_array).sum(-1) == 0] = 0
    tiles = [
        ("frame", np.asarray(frame, np.uint8)),
        ("predicted depth", pred_depth),
        ("predicted segmentation", _labels_rgb(predicted["semseg"], palette)),
        ("predicted normals", colorize_normals(predicted["normals"])),
        ("true depth", true_depth),
        ("true segmentation", _labels_rgb(truth["semseg"], palette)),
        ("true normals", true_normals),
    ]
    images = []
    for title, array in tiles:
        height, width = array.shape[:2]
        size = (max(1, round(width * tile_height / height)), tile_height)
        images.append((title, Image.fromarray(array).resize(size, Image.Resampling.NEAREST)))
    total_width = sum(image.width for _, image in images) + _GAP * (len(images) - 1)
    legend_height = 18
    panel = Image.new("RGB", (total_width, _TITLE_HEIGHT + tile_height + legend_height), (255, 255, 255))
    draw = ImageDraw.Draw(panel)
    font = ImageFont.load_default()
    x = 0
    for title, image in images:
        panel.paste(image, (x, _TITLE_HEIGHT))
        draw.text((x + 2, 2), title, fill=(0, 0, 0), font=font)
        x += image.width + _GAP
    x, y = 2, _TITLE_HEIGHT + tile_height + 3
    for index, name in enumerate(class_names):
        draw.rectangle((x, y, x + 11, y + 11), fill=tuple(int(c) for c in palette[index]), outline=(0, 0, 0))
        draw.text((x + 15, y), name, fill=(0, 0, 0), font=font)
        x += 15 + int(draw.textlength(name, font=font)) + 12
    return panel


def write_panels(
    out_dir: str | Path,
    frames: np.ndarray,
    predicted: dict[str, np.ndarray],
    truth: dict[str, np.ndarray],
    class_names: Sequence[str],
    palette: Sequence[Sequence[int]],
) -> list[Path]:
    """Write ``frame_<i>.png`` for every frame; ``predicted`` / ``truth`` hold per-frame stacks (leading ``T`` axis)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, frame in enumerate(frames):
        panel = compose_panel(
            frame,
            {k: v[i] for k, v in predicted.items()},
            {k: v[i] for k, v in truth.items()},
            class_names,
            palette,
        )
        path = out_dir / f"frame_{i:06d}.png"
        panel.save(path, format="PNG")
        paths.append(path)
    return paths

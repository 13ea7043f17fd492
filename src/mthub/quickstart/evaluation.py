"""Held-out evaluation of the quickstart model next to a trivial baseline, with the same metric code for both.

The trivial baseline is fitted on the TRAIN split and predicts one constant per task for every pixel:

* semseg — the majority class of the training pixels (ignore label excluded);
* depth — the mean depth of the valid training pixels (``depth > 0``);
* normals — the mean of the valid training normals, renormalised to unit length.

Both are scored by :class:`mthub.metrics.MultiTaskMetrics` (dataset-pooled mIoU over all classes, depth RMSE over
valid pixels, mean normal angle over valid pixels) on the held-out clips.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from ..metrics import MultiTaskMetrics
from .data import FrameSplit
from .settings import QUICKSTART_TASKS

__all__ = [
    "HEADLINE",
    "TrivialBaseline",
    "baseline_predictor",
    "compare_outputs",
    "compare_to_baseline",
    "evaluate_predictor",
    "fit_trivial_baseline",
    "model_predictor",
    "score_clip",
]

#: The metric compared per task: ``(flat metric key, higher is better, label for printing)``.
HEADLINE: dict[str, tuple[str, bool, str]] = {
    "semseg": ("semseg/mIoU", True, "mIoU (%)"),
    "depth": ("depth/rmse", False, "RMSE (m)"),
    "normals": ("normals/mean_angle", False, "mean angle (°)"),
}

Predictor = Callable[[slice], Mapping[str, torch.Tensor]]


@dataclass(frozen=True)
class TrivialBaseline:
    """Constant predictions fitted on the training split (module docstring)."""

    majority_class: int
    mean_depth: float
    mean_normal: tuple[float, float, float]
    num_classes: int

    def predict(self, batch: int, height: int, width: int) -> dict[str, torch.Tensor]:
        """``{"semseg": (B, H, W) int64, "depth": (B, H, W), "normals": (B, 3, H, W)}`` constants."""
        normal = torch.tensor(self.mean_normal, dtype=torch.float32)[None, :, None, None]
        return {
            "semseg": torch.full((batch, height, width), self.majority_class, dtype=torch.long),
            "depth": torch.full((batch, height, width), self.mean_depth, dtype=torch.float32),
            "normals": normal.expand(batch, 3, height, width),
        }

    def to_dict(self, class_names: list[str] | None = None) -> dict:
        out = {
            "majority_class": self.majority_class,
            "mean_depth_m": self.mean_depth,
            "mean_normal": list(self.mean_normal),
            "fitted_on": "train split",
        }
        if class_names:
            out["majority_class_name"] = class_names[self.majority_class]
        return out


def fit_trivial_baseline(train: FrameSplit, num_classes: int, ignore_index: int = 255) -> TrivialBaseline:
    """Fit :class:`TrivialBaseline` on ``train`` (float64 sums: exact enough for millions of pixels)."""
    labels = train.semseg[train.semseg != ignore_index]
    counts = torch.bincount(labels.flatten(), minlength=num_classes)
    depth = train.depth[train.depth > 0].double()
    normals = train.normals.double()
    valid = normals.abs().sum(dim=1) > 0  # (N, H, W)
    mean = normals.permute(0, 2, 3, 1)[valid].mean(dim=0)
    if depth.numel() == 0 or not bool(valid.any()):
        raise ValueError("fit_trivial_baseline: the training split has no valid depth or normal pixel.")
    mean = mean / mean.norm()
    return TrivialBaseline(
        majority_class=int(counts.argmax()),
        mean_depth=float(depth.mean()),
        mean_normal=tuple(float(v) for v in mean),
        num_classes=num_classes,
    )


def evaluate_predictor(
    predict: Predictor, split: FrameSplit, num_classes: int, batch_size: int = 64
) -> dict[str, float]:
    """Score ``predict`` (``slice → {task: prediction}`` over ``split``'s frames) with
    :class:`~mthub.metrics.MultiTaskMetrics`; returns the flat ``{"semseg/mIoU": …, "depth/rmse": …, …}``."""
    metrics = MultiTaskMetrics.from_tasks(
        list(QUICKSTART_TASKS), overrides={"semseg": {"num_classes": num_classes}}, sync_on_compute=False
    )
    for start in range(0, len(split), batch_size):
        index = slice(start, min(start + batch_size, len(split)))
        metrics.update(predict(index), split.labels(index))
    return metrics.compute()


def baseline_predictor(baseline: TrivialBaseline, split: FrameSplit) -> Predictor:
    """A :data:`Predictor` giving ``baseline``'s constants for ``split[index]``."""
    height, width = split.images.shape[1:3]

    def predict(index: slice) -> dict[str, torch.Tensor]:
        return baseline.predict(len(range(*index.indices(len(split)))), height, width)

    return predict


def model_predictor(model: torch.nn.Module, pixels: torch.Tensor) -> Predictor:
    """A :data:`Predictor` running ``model`` (eval mode, no grad) on ``pixels[index]``; depth is clamped at 0 as the
    pipeline does (``TaskSpec.extra["clamp_min"]``)."""

    @torch.no_grad()
    def predict(index: slice) -> dict[str, torch.Tensor]:
        model.eval()
        logits = model(pixel_values=pixels[index]).logits
        return {"semseg": logits["semseg"], "depth": logits["depth"].clamp_min(0), "normals": logits["normals"]}

    return predict


def compare_to_baseline(
    model_metrics: Mapping[str, float], baseline_metrics: Mapping[str, float], min_relative_gain: float | None
) -> dict[str, dict]:
    """Per task: both values of the :data:`HEADLINE` metric and the relative gain (positive = the model is better:
    ``(b − m)/b`` for errors, ``(m − b)/b`` for scores). ``passed`` is ``gain ≥ min_relative_gain`` (``None`` when
    no threshold is set)."""
    rows = {}
    for task, (key, higher, label) in HEADLINE.items():
        model_value, base_value = float(model_metrics[key]), float(baseline_metrics[key])
        improvement = model_value - base_value if higher else base_value - model_value
        if base_value != 0:
            gain = improvement / abs(base_value)
        else:  # a perfect baseline error (or zero score): any change is an infinite relative change
            gain = 0.0 if improvement == 0 else math.copysign(math.inf, improvement)
        rows[task] = {
            "metric": key,
            "label": label,
            "higher_is_better": higher,
            "baseline": base_value,
            "model": model_value,
            "relative_gain": gain,
            "required_gain": min_relative_gain,
            "passed": None if min_relative_gain is None else bool(gain >= min_relative_gain),
        }
    return rows


def score_clip(predicted: Mapping[str, np.ndarray], clip, num_classes: int) -> dict[str, float]:
    """Metrics of per-frame predictions on one generated clip against its exact labels.

    Args:
        predicted: ``{"semseg": (T, H, W) class ids, "depth": (T, H, W), "normals": (T, 3, H, W)}`` (the pipeline's
            decoded outputs, stacked).
        clip: the :class:`~mthub.data.synthetic.Clip` (``segmentation``, ``depth``, ``normals (T, H, W, 3)``).
    """
    metrics = MultiTaskMetrics.from_tasks(
        list(QUICKSTART_TASKS), overrides={"semseg": {"num_classes": num_classes}}, sync_on_compute=False
    )
    metrics.update(
        {task: torch.from_numpy(np.ascontiguousarray(predicted[task])) for task in QUICKSTART_TASKS},
        {
            "semseg": torch.from_numpy(clip.segmentation.astype(np.int64)),
            "depth": torch.from_numpy(clip.depth),
            "normals": torch.from_numpy(clip.normals.astype(np.float32)).permute(0, 3, 1, 2),
        },
    )
    return metrics.compute()


def compare_outputs(
    expected: Mapping[str, torch.Tensor], actual: Mapping[str, np.ndarray], tolerance: float = 1e-5
) -> dict:
    """Compare a reloaded model's outputs with the original's, task by task.

    Returns ``{"max_abs_difference": {task: float}, "bitwise_equal": bool, "passed": bool}``; ``passed`` allows a
    difference of ``tolerance · (1 + max |expected|)`` per task (float rounding, e.g. another thread count).
    """
    if set(actual) != set(expected):
        raise KeyError(f"reloaded outputs have tasks {sorted(actual)}, expected {sorted(expected)}")
    actual_t = {task: torch.from_numpy(np.asarray(actual[task])) for task in expected}
    differences = {task: float((actual_t[task] - expected[task]).abs().max()) for task in expected}
    passed = all(d <= tolerance * (1 + float(expected[t].abs().max())) for t, d in differences.items())
    bitwise = all(torch.equal(actual_t[task], expected[task]) for task in expected)
    return {"max_abs_difference": differences, "bitwise_equal": bitwise, "passed": passed}

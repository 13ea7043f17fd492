"""Dense multi-task metrics shared by MILA, EfficientMTL and TIF.

Streaming (torchmetrics) metrics with constant-size state and DDP sync — see :mod:`mthub.metrics.base` for
the protocol the Trainer relies on:

* :class:`SegmentationMetric` — semseg / human-parts mIoU (+ pixel accuracy), dataset confusion matrix.
* :class:`PerImageMeanIoU` — MTAN's legacy per-image mIoU (MILA tables).
* :class:`DepthMetric` — RMSE, log-RMSE (ln), abs, abs-rel, δ<1.25^k, pooled over pixels.
* :class:`NormalsMetric` — mean / median / RMSE angle, % within 11.25/22.5/30°.
* :class:`SaliencyMetric` — ``maxF_beta0.3`` (ATRC), ``maxF1`` and ``max_mIoU`` (ASTMT/MTL-PyTorch).
* :class:`EdgeMetric` — odsF / oisF, a documented approximation of SEISM.
* :class:`MultiTaskMetrics` — ``{task: metric}`` container with missing-label skipping.
* :func:`delta_m` — multi-task Δm, with :data:`METRIC_HIGHER_IS_BETTER`.

``evaluate.Metric`` wrappers live in :mod:`mthub.metrics.evaluate_metrics` (imported lazily: ``evaluate``
pulls in ``datasets``).
"""

from __future__ import annotations

from typing import Any

from .base import DenseMetric
from .delta import HEADLINE_METRICS, METRIC_HIGHER_IS_BETTER, delta_m, higher_is_better_for
from .depth import DepthMetric
from .edge import MAX_DIST, SEISM_THRESHOLDS, EdgeMetric
from .ego4d import (
    Ego4DAccuracy,
    LTAEditDistance,
    PNRLocalizationError,
    SocialMeanAveragePrecision,
    edit_distance_at_z,
    levenshtein_distance,
    sample_action_sequences,
    voc_average_precision,
)
from .multitask import DATASET_NUM_CLASSES, MultiTaskMetrics, build_task_metric
from .normals import NormalsMetric, normal_angle_error
from .saliency import SaliencyMetric
from .segmentation import PerImageMeanIoU, SegmentationMetric

_EVALUATE_NAMES = (
    "MTHubMeanIoU",
    "MTHubDepthMetrics",
    "MTHubNormalsMetrics",
    "MTHubSaliencyMaxF",
    "MTHubEdgeODSF",
)

__all__ = [
    "Ego4DAccuracy",
    "LTAEditDistance",
    "PNRLocalizationError",
    "SocialMeanAveragePrecision",
    "edit_distance_at_z",
    "levenshtein_distance",
    "sample_action_sequences",
    "voc_average_precision",
    "DATASET_NUM_CLASSES",
    "HEADLINE_METRICS",
    "MAX_DIST",
    "METRIC_HIGHER_IS_BETTER",
    "SEISM_THRESHOLDS",
    "DenseMetric",
    "DepthMetric",
    "EdgeMetric",
    "MTHubDepthMetrics",
    "MTHubEdgeODSF",
    "MTHubMeanIoU",
    "MTHubNormalsMetrics",
    "MTHubSaliencyMaxF",
    "MultiTaskMetrics",
    "NormalsMetric",
    "PerImageMeanIoU",
    "SaliencyMetric",
    "SegmentationMetric",
    "build_task_metric",
    "delta_m",
    "higher_is_better_for",
    "normal_angle_error",
]


def __getattr__(name: str) -> Any:
    if name in _EVALUATE_NAMES:
        from . import evaluate_metrics

        return getattr(evaluate_metrics, name)
    raise AttributeError(f"module 'mthub.metrics' has no attribute {name!r}")

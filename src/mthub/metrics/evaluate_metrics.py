"""``evaluate.Metric`` front-ends for the dense metrics, usable offline.

Instantiate them directly (``evaluate.load`` needs the Hub and fails offline)::

    from mthub.metrics.evaluate_metrics import MTHubMeanIoU
    MTHubMeanIoU().compute(predictions=[pred_hw], references=[label_hw], num_classes=40)

Each wrapper feeds the stored predictions/references image by image into the matching streaming metric
of this package, so numbers are identical to the Trainer's. ``evaluate`` keeps every added sample in an
Arrow table; for large sets prefer the streaming metrics directly. One import per line: evaluate's
module scanner mis-parses ``import a, b``.
"""

from __future__ import annotations

from typing import Any

import datasets
import evaluate
import numpy as np
import torch

from .base import DenseMetric
from .depth import DepthMetric
from .edge import MAX_DIST, EdgeMetric
from .normals import NormalsMetric
from .saliency import SaliencyMetric
from .segmentation import SegmentationMetric

__all__ = ["MTHubDepthMetrics", "MTHubEdgeODSF", "MTHubMeanIoU", "MTHubNormalsMetrics", "MTHubSaliencyMaxF"]

_CITATION = """\
@inproceedings{bruggemann2021atrc, title={Exploring Relational Context for Multi-Task Dense Prediction},
  author={Bruggemann, David and Kanakis, Menelaos and Obukhov, Anton and Georgoulis, Stamatios and Van Gool, Luc},
  booktitle={ICCV}, year={2021}}
@article{vandenhende2021mtl, title={Multi-Task Learning for Dense Prediction Tasks: A Survey},
  author={Vandenhende, Simon and Georgoulis, Stamatios and Van Gansbeke, Wouter and Proesmans, Marc and
  Dai, Dengxin and Van Gool, Luc}, journal={TPAMI}, year={2021}}
"""


def _map2d(dtype: str) -> datasets.Sequence:
    return datasets.Sequence(datasets.Sequence(datasets.Value(dtype)))


def _map3d(dtype: str) -> datasets.Sequence:
    return datasets.Sequence(datasets.Sequence(datasets.Sequence(datasets.Value(dtype))))


def _run(
    metric: DenseMetric, predictions: list[Any], references: list[Any], pred_dtype: torch.dtype, ref_dtype: torch.dtype
) -> dict[str, float]:
    if len(predictions) != len(references):
        raise ValueError(f"{type(metric).__name__}: {len(predictions)} predictions but {len(references)} references")
    for pred, ref in zip(predictions, references):
        p = torch.as_tensor(np.asarray(pred), dtype=pred_dtype)[None]
        r = torch.as_tensor(np.asarray(ref), dtype=ref_dtype)[None]
        metric.update(p, r)
    return metric.compute()


class _DenseEvaluateMetric(evaluate.Metric):
    _description = ""
    _inputs = ""

    def _features(self) -> datasets.Features:  # pragma: no cover - abstract
        raise NotImplementedError

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=self._description,
            citation=_CITATION,
            inputs_description=self._inputs,
            features=self._features(),
        )


class MTHubMeanIoU(_DenseEvaluateMetric):
    """mIoU + pixel accuracy (:class:`~mthub.metrics.SegmentationMetric`)."""

    _description = "Dataset-level mIoU over all classes (absent classes count 0) and pixel accuracy, in %."
    _inputs = """
Args:
    predictions: list of [H, W] integer label maps.
    references: list of [H, W] integer label maps (ignore_index pixels skipped).
    num_classes (int): number of classes.
    ignore_index (int, default 255).
    absent_classes ("zero" | "skip", default "zero").
Returns: {"mIoU": float, "pixel_acc": float} in percent.
"""

    def _features(self) -> datasets.Features:
        return datasets.Features({"predictions": _map2d("int64"), "references": _map2d("int64")})

    def _compute(
        self,
        predictions: list[Any],
        references: list[Any],
        num_classes: int | None = None,
        ignore_index: int = 255,
        absent_classes: str = "zero",
    ) -> dict[str, float]:
        if num_classes is None:
            raise ValueError("MTHubMeanIoU.compute needs num_classes= (e.g. 40 for NYUD, 21 for PASCAL semseg)")
        metric = SegmentationMetric(num_classes, ignore_index=ignore_index, absent_classes=absent_classes)
        return _run(metric, predictions, references, torch.long, torch.long)


class MTHubDepthMetrics(_DenseEvaluateMetric):
    """Pooled depth errors (:class:`~mthub.metrics.DepthMetric`)."""

    _description = "Depth RMSE, log-RMSE (ln), abs, abs-rel and δ<1.25^k pooled over all valid pixels."
    _inputs = """
Args:
    predictions: list of [H, W] float depth maps.
    references: list of [H, W] float depth maps; 0 and ignore_index (255) are invalid.
    ignore_index (float or None, default 255), max_depth (float or None), unit_scale (float, default 1).
Returns: {"rmse", "log_rmse", "abs", "abs_rel", "delta1", "delta2", "delta3"}.
"""

    def _features(self) -> datasets.Features:
        return datasets.Features({"predictions": _map2d("float32"), "references": _map2d("float32")})

    def _compute(
        self,
        predictions: list[Any],
        references: list[Any],
        ignore_index: float | None = 255.0,
        max_depth: float | None = None,
        unit_scale: float = 1.0,
    ) -> dict[str, float]:
        metric = DepthMetric(ignore_index=ignore_index, max_depth=max_depth, unit_scale=unit_scale)
        return _run(metric, predictions, references, torch.float32, torch.float32)


class MTHubNormalsMetrics(_DenseEvaluateMetric):
    """Normal angle errors (:class:`~mthub.metrics.NormalsMetric`)."""

    _description = "Mean/median/RMSE angle error (degrees) and % of pixels within 11.25/22.5/30 degrees."
    _inputs = """
Args:
    predictions: list of [3, H, W] normal maps (any length; normalised per pixel).
    references: list of [3, H, W] normal maps; 255 or zero-length vectors are invalid.
Returns: {"mean_angle", "median_angle", "rmse_angle", "within_11.25", "within_22.5", "within_30"}.
"""

    def _features(self) -> datasets.Features:
        return datasets.Features({"predictions": _map3d("float32"), "references": _map3d("float32")})

    def _compute(self, predictions: list[Any], references: list[Any], ignore_index: float = 255.0) -> dict[str, float]:
        return _run(NormalsMetric(ignore_index=ignore_index), predictions, references, torch.float32, torch.float32)


class MTHubSaliencyMaxF(_DenseEvaluateMetric):
    """Saliency maxF, both conventions (:class:`~mthub.metrics.SaliencyMetric`)."""

    _description = "Saliency maxF: ATRC (beta^2=0.3, dataset-pooled) and ASTMT F1 (per-image means), plus max mIoU."
    _inputs = """
Args:
    predictions: list of [H, W] foreground probabilities in [0, 1] (logits with from_logits=True).
    references: list of [H, W] binary maps (255 = ignore).
    from_logits (bool, default False), beta_squared (float, default 0.3).
Returns: {"maxF_beta0.3", "maxF1", "max_mIoU"} in percent.
"""

    def _features(self) -> datasets.Features:
        return datasets.Features({"predictions": _map2d("float32"), "references": _map2d("float32")})

    def _compute(
        self, predictions: list[Any], references: list[Any], from_logits: bool = False, beta_squared: float = 0.3
    ) -> dict[str, float]:
        metric = SaliencyMetric(from_logits=from_logits, beta_squared=beta_squared)
        return _run(metric, predictions, references, torch.float32, torch.float32)


class MTHubEdgeODSF(_DenseEvaluateMetric):
    """Boundary odsF/oisF, SEISM approximation (:class:`~mthub.metrics.EdgeMetric`)."""

    _description = "Boundary odsF/oisF: an approximation of SEISM's fb benchmark (see mthub.metrics.edge)."
    _inputs = """
Args:
    predictions: list of [H, W] boundary probabilities in [0, 1] (logits with from_logits=True).
    references: list of [H, W] binary boundary maps (255 = ignore).
    max_dist (float, default 0.0075 = PASCAL; 0.011 for NYUD), matching ("nearest" | "bipartite"),
    thin (bool, default False), from_logits (bool, default False).
Returns: {"odsF", "oisF"} in percent.
"""

    def _features(self) -> datasets.Features:
        return datasets.Features({"predictions": _map2d("float32"), "references": _map2d("float32")})

    def _compute(
        self,
        predictions: list[Any],
        references: list[Any],
        max_dist: float = MAX_DIST["pascal"],
        matching: str = "nearest",
        thin: bool = False,
        from_logits: bool = False,
    ) -> dict[str, float]:
        metric = EdgeMetric(max_dist=max_dist, matching=matching, thin=thin, from_logits=from_logits)  # type: ignore[arg-type]
        return _run(metric, predictions, references, torch.float32, torch.float32)

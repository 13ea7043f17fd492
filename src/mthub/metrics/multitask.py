"""``MultiTaskMetrics``: one streaming metric per task, updated from output/label dicts.

Labels may be missing for a task (``None`` or absent key) or for some samples (every pixel equals the
ignore label, or ``present[task][b]`` is False): those tasks/samples are skipped, never counted. The result
is a flat ``{f"{task}/{name}": value}`` dict for logging and for :func:`~mthub.metrics.delta.delta_m`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from .base import DenseMetric
from .depth import DepthMetric
from .edge import MAX_DIST, EdgeMetric
from .normals import NormalsMetric
from .saliency import SaliencyMetric
from .segmentation import SegmentationMetric

__all__ = ["DATASET_NUM_CLASSES", "MultiTaskMetrics", "build_task_metric"]

#: Label-map class counts per dataset preset (tif.md §5.1, mila.md §5).
DATASET_NUM_CLASSES: dict[str, dict[str, int]] = {
    "nyud": {"semseg": 40},
    "pascal": {"semseg": 21, "human_parts": 7},
    "nyuv2_13": {"semseg": 13},
    "cityscapes_7": {"semseg": 7},
    "cityscapes_19": {"semseg": 19},
}


def build_task_metric(task: str, dataset: str | None = None, **kwargs: Any) -> DenseMetric:
    """The standard metric for ``task`` (``semseg``, ``human_parts``, ``depth``, ``normals``, ``sal``,
    ``edge``), with dataset defaults (class counts; edge maxDist 0.011 NYUD / 0.0075 PASCAL) and
    ``kwargs`` passed to the metric's constructor (they win over the defaults)."""
    ds = (dataset or "").lower()
    if task in ("semseg", "human_parts"):
        if "num_classes" not in kwargs:
            try:
                kwargs["num_classes"] = DATASET_NUM_CLASSES[ds][task]
            except KeyError:
                raise ValueError(
                    f"build_task_metric: task {task!r} needs num_classes (or dataset in {sorted(DATASET_NUM_CLASSES)}"
                    f" that defines it), got dataset={dataset!r}"
                ) from None
        return SegmentationMetric(**kwargs)
    if task == "depth":
        return DepthMetric(**kwargs)
    if task == "normals":
        return NormalsMetric(**kwargs)
    if task == "sal":
        return SaliencyMetric(**kwargs)
    if task == "edge":
        kwargs.setdefault("max_dist", MAX_DIST.get(ds.split("_")[0], MAX_DIST["pascal"]))
        return EdgeMetric(**kwargs)
    raise ValueError(f"build_task_metric: unknown task {task!r}; pass a metric object to MultiTaskMetrics instead")


class MultiTaskMetrics(nn.Module):
    """A ``{task: DenseMetric}`` container with a flat ``{f"{task}/{name}": float}`` result.

    Args:
        metrics: the per-task metrics (insertion order is the compute order on every rank).
    """

    def __init__(self, metrics: Mapping[str, DenseMetric]) -> None:
        super().__init__()
        for task, metric in metrics.items():
            if not isinstance(metric, DenseMetric):
                raise TypeError(
                    f"MultiTaskMetrics: metric for task {task!r} is {type(metric).__name__}, not a DenseMetric"
                )
        self.metrics = nn.ModuleDict(dict(metrics))

    @classmethod
    def from_tasks(
        cls,
        tasks: Sequence[str],
        dataset: str | None = None,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        **common: Any,
    ) -> MultiTaskMetrics:
        """Build the standard metric per task; ``overrides[task]`` are constructor kwargs for one task,
        ``common`` (e.g. ``sync_on_compute=False``) go to every metric."""
        overrides = overrides or {}
        return cls({t: build_task_metric(t, dataset, **{**common, **overrides.get(t, {})}) for t in tasks})

    @property
    def tasks(self) -> list[str]:
        return list(self.metrics.keys())

    @property
    def higher_is_better(self) -> dict[str, bool]:
        """Direction of every flat key ``compute`` can return."""
        return {f"{t}/{k}": v for t, m in self.metrics.items() for k, v in m.higher_is_better_by_key.items()}

    def state_numel(self) -> int:
        return sum(m.state_numel() for m in self.metrics.values())

    @torch.no_grad()
    def update(
        self,
        outputs: Mapping[str, Tensor],
        labels: Mapping[str, Tensor | None],
        present: Mapping[str, Tensor] | None = None,
    ) -> None:
        """Add one batch.

        Args:
            outputs: ``{task: prediction}`` (extra keys ignored).
            labels: ``{task: label or None}``; a task whose label is absent/None is skipped.
            present: optional ``{task: BoolTensor[B]}`` marking samples that carry a label for the task.
        """
        for task, metric in self.metrics.items():
            target = labels.get(task)
            if target is None:
                continue
            if task not in outputs or outputs[task] is None:
                raise KeyError(
                    f"MultiTaskMetrics: labels for task {task!r} but no model output {task!r} "
                    f"(outputs have {sorted(outputs)})"
                )
            preds = outputs[task]
            keep = metric.valid_mask(target).flatten(1).any(1)
            if present is not None and present.get(task) is not None:
                keep &= present[task].to(device=keep.device, dtype=torch.bool).view(-1)
            if not bool(keep.any()):
                continue
            if not bool(keep.all()):
                preds, target = preds[keep.to(preds.device)], target[keep]
            metric.update(preds, target)

    def compute(self) -> dict[str, float]:
        """Flat results over all tasks. Collective under torch.distributed: call on every rank."""
        out: dict[str, float] = {}
        for task, metric in self.metrics.items():
            with warnings.catch_warnings():
                # A rank (or the whole run) may have seen no label for a task: compute still has to run
                # so that the distributed sync stays collective; an empty result is returned then.
                warnings.filterwarnings("ignore", message=".*was called before the ``update`` method.*")
                values = metric.compute()
            out.update({f"{task}/{k}": v for k, v in values.items()})
        return out

    def reset(self) -> None:
        for metric in self.metrics.values():
            metric.reset()

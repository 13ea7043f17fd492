"""Streaming evaluation helpers: stateful metric containers as ``compute_metrics`` for ``batch_eval_metrics``.

:class:`~mthub.training.MultiTaskTrainer` never concatenates predictions: per batch it calls
``compute_metrics(EvalPrediction(predictions={task: logits}, label_ids={task: labels | None}), compute_result)``
with this rank's (not gathered) tensors, and ``compute_result=True`` exactly once per rank, with that rank's last
batch — or with empty dicts on a rank whose shard of the eval set is empty. Metrics therefore have to reduce their
*states* across ranks themselves (torchmetrics does, inside ``compute``); memory stays that of one batch plus
the metric states (confusion matrices, sums), whatever the size of the eval set.

* :class:`StreamingMetrics` adapts any container with ``update(outputs, labels)`` / ``compute()`` / ``reset()``
  — :class:`mthub.metrics.MultiTaskMetrics` (dense metrics) or :class:`MetricsByTask` — to that protocol.
* :class:`MetricsByTask` holds one torchmetrics ``Metric``/``MetricCollection`` per task for the task kinds the
  dense metrics do not cover (clip classification, per-frame outputs), with an optional per-task reshaping.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:  # torchmetrics is an optional dependency (the ``data`` extra); only the metrics objects need it
    from torchmetrics import Metric, MetricCollection


def _to_float(value: Any) -> float:
    return float(value.item()) if isinstance(value, torch.Tensor) else float(value)


class MetricsByTask(nn.Module):
    """``{task: torchmetrics Metric or MetricCollection}`` with a flat ``{f"{task}/{name}": float}`` result.

    Args:
        metrics: per-task metrics; a ``MetricCollection`` names its results by its keys, a single ``Metric`` by
            ``names[task]`` (default: the class name in lower case).
        preprocess: optional ``{task: fn(preds, target) -> (preds, target)}``, e.g. moving the class axis of
            per-frame logits ``(B, T, K, H, W)`` to position 1 for torchmetrics' ``(N, C, ...)`` convention.
        names: result names of single-``Metric`` tasks.

    Missing labels: a task whose labels are ``None``/absent in a batch is not updated; per-sample ignore values are
    the metric's own business (``ignore_index`` of torchmetrics' classification metrics). A task no rank ever saw
    is left out of :meth:`compute` (its torchmetrics value would be a meaningless 0).
    """

    def __init__(
        self,
        metrics: Mapping[str, Metric | MetricCollection],
        preprocess: Mapping[str, Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]]
        | None = None,
        names: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.metrics = nn.ModuleDict(dict(metrics))
        self.preprocess = dict(preprocess or {})
        self.names = dict(names or {})
        self._updates = {task: 0 for task in self.metrics}

    @torch.no_grad()
    def update(self, outputs: Mapping[str, torch.Tensor], labels: Mapping[str, torch.Tensor | None]) -> None:
        for task, metric in self.metrics.items():
            target = labels.get(task)
            if target is None:
                continue
            if task not in outputs:
                raise KeyError(
                    f"MetricsByTask: labels for task {task!r} but no output {task!r} (outputs: {sorted(outputs)})."
                )
            preds = outputs[task].detach().float()
            if task in self.preprocess:
                preds, target = self.preprocess[task](preds, target)
            metric.update(preds, target)
            self._updates[task] += 1

    def _seen_anywhere(self) -> dict[str, bool]:
        counts = torch.tensor([self._updates[task] for task in self.metrics], dtype=torch.long)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            if torch.distributed.get_backend() == "nccl":  # NCCL reduces device tensors only
                counts = counts.to(torch.device("cuda", torch.cuda.current_device()))
            torch.distributed.all_reduce(counts)
        return {task: count > 0 for task, count in zip(self.metrics, counts.tolist())}

    def compute(self) -> dict[str, float]:
        """Flat results; collective under torch.distributed (every rank must call it)."""
        seen = self._seen_anywhere()
        out: dict[str, float] = {}
        for task, metric in self.metrics.items():
            if not seen[task]:
                continue
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*was called before the ``update`` method.*")
                value = metric.compute()
            if isinstance(value, Mapping):
                out.update({f"{task}/{name}": _to_float(v) for name, v in value.items()})
            else:
                out[f"{task}/{self.names.get(task, type(metric).__name__.lower())}"] = _to_float(value)
        return out

    def reset(self) -> None:
        for metric in self.metrics.values():
            metric.reset()
        self._updates = {task: 0 for task in self.metrics}


class StreamingMetrics:
    """A ``compute_metrics(eval_pred, compute_result)`` function backed by a stateful metrics container.

    ``container`` needs ``update(outputs: dict, labels: dict)``, ``compute() -> dict`` and ``reset()``
    (:class:`mthub.metrics.MultiTaskMetrics`, :class:`MetricsByTask`). Tasks whose labels are ``None`` are removed
    before ``update``; an ``nn.Module`` container is moved to the predictions' device on first use.
    """

    def __init__(self, container: Any) -> None:
        for method in ("update", "compute", "reset"):
            if not callable(getattr(container, method, None)):
                raise TypeError(f"StreamingMetrics: {type(container).__name__} has no {method}() method.")
        self.container = container

    def __call__(self, eval_pred: Any, compute_result: bool) -> dict[str, float]:
        outputs, labels = eval_pred.predictions or {}, eval_pred.label_ids or {}
        labels = {task: value for task, value in labels.items() if value is not None}
        if labels:
            if isinstance(self.container, nn.Module):
                device = next(iter(outputs.values())).device
                self.container.to(device)
            self.container.update(outputs, labels)
        if not compute_result:
            return {}
        result = {key: _to_float(value) for key, value in self.container.compute().items()}
        self.container.reset()
        return result


__all__ = ["MetricsByTask", "StreamingMetrics"]

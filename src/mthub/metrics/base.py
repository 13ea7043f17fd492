"""The streaming-metric protocol shared by every dense metric in :mod:`mthub.metrics`.

Interface agreed with the Trainer (``mthub.training``)
======================================================
Every metric here is a :class:`DenseMetric`, a :class:`torchmetrics.Metric` subclass:

``update(preds, target)``
    Adds one batch. ``preds`` is the raw head output (logits, or values for regression tasks), ``target``
    the label batch. Shapes are documented per metric; predictions whose spatial size differs from the
    label's are resized to it first (bilinear for float maps, nearest for integer label maps), the usual
    dense-prediction evaluation. Runs without autograd; bf16/fp16 inputs are upcast to float32.
``compute() -> dict[str, float]``
    Returns plain Python floats keyed by metric name (``{"mIoU": 47.4, "pixel_acc": 75.1}``). Returns
    ``{}`` when no valid pixel was seen (by any rank). Ratios (IoU, accuracy, F-measures, % within an
    angle, δ thresholds) are **percentages**, as the papers print them; depth errors are in label units
    (metres for NYUD), angles in degrees.
``reset()``
    Clears the state (torchmetrics).
``valid_mask(target) -> BoolTensor[B, H, W]``
    Which label pixels are evaluated. :class:`~mthub.metrics.multitask.MultiTaskMetrics` uses it to drop
    samples whose label is missing (all ignore) before ``update``.
``higher_is_better_by_key``
    ``{name: bool}`` for every key ``compute`` can return (used by Δm and ``metric_for_best_model``).

State is a fixed set of tensors: confusion matrices, sums, counts, per-threshold counts and a fixed
histogram. It never grows with the number of samples, so evaluating a NYUD or PASCAL val set takes
constant memory. ``state_numel()`` returns the total element count (tests assert it is constant).

Distributed: every state is registered with ``dist_reduce_fx="sum"``, so torchmetrics all-gathers and
sums them inside ``compute()`` when ``torch.distributed`` is initialised (gloo or NCCL). ``compute`` is a
collective call then: **every rank must call ``compute`` on the same metrics in the same order**, also a
rank that saw no labels for a task (``MultiTaskMetrics.compute`` does this).

Choose one of the two ways of going distributed, never both:

* each rank updates with its own shard and ``compute`` syncs (default, ``sync_on_compute=True``); or
* the caller gathers predictions/labels across ranks before ``update`` (transformers' Trainer evaluation
  loop does this: it runs ``accelerator.gather_for_metrics`` before ``compute_metrics``), and the metrics
  are built with ``sync_on_compute=False``; otherwise every pixel is counted ``world_size`` times.

Typical Trainer use with ``batch_eval_metrics=True`` (gathered inputs, so no sync)::

    metrics = MultiTaskMetrics.from_tasks(["semseg", "depth", "normals"], dataset="nyud", sync_on_compute=False)

    def compute_metrics(eval_pred, compute_result: bool) -> dict[str, float]:
        metrics.update(eval_pred.predictions, eval_pred.label_ids)
        if not compute_result:
            return {}
        out = metrics.compute()
        metrics.reset()
        return out
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import Metric

__all__ = ["DenseMetric", "as_bhw", "check_batch", "counts_at_thresholds", "resize_like"]


def as_bhw(x: Tensor, name: str, metric: str) -> Tensor:
    """Return a single-channel map as ``[B, H, W]``; accepts ``[B, H, W]`` or ``[B, 1, H, W]``."""
    if x.ndim == 4 and x.shape[1] == 1:
        return x[:, 0]
    if x.ndim == 3:
        return x
    raise ValueError(f"{metric}: {name} must have shape [B, H, W] or [B, 1, H, W], got {tuple(x.shape)}")


def resize_like(preds: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize ``preds`` (``[B, H', W']`` or ``[B, C, H', W']``) to spatial ``size``.

    Float maps (logits, depth, normals, probabilities) use bilinear interpolation (align_corners=False,
    the ATRC/MTL-PyTorch evaluation convention); integer label maps use nearest.
    """
    if tuple(preds.shape[-2:]) == tuple(size):
        return preds
    squeeze = preds.ndim == 3
    x = preds[:, None] if squeeze else preds
    if x.is_floating_point():
        x = F.interpolate(x.float(), size=size, mode="bilinear", align_corners=False)
    else:
        x = F.interpolate(x.float(), size=size, mode="nearest").to(preds.dtype)
    return x[:, 0] if squeeze else x


def check_batch(preds: Tensor, target: Tensor, metric: str) -> None:
    """Raise a clear error when predictions and labels disagree on the batch size."""
    if preds.shape[0] != target.shape[0]:
        raise ValueError(
            f"{metric}: predictions have batch size {preds.shape[0]} but labels {target.shape[0]} "
            f"(preds {tuple(preds.shape)}, target {tuple(target.shape)})"
        )


def counts_at_thresholds(
    probs: Tensor, select: Tensor, thresholds: Tensor, inclusive: bool, group: Tensor | None, n_groups: int
) -> Tensor:
    """#{selected pixels with prob >= t_j (inclusive) or > t_j}, per group: ``[n_groups, T]``.

    ``k = #{t_j <= p}`` (inclusive) or ``#{t_j < p}``; a pixel passes threshold j iff k > j, so the count at
    j is the number of pixels with k ≥ j+1, a reversed cumulative sum of a (group, k) histogram.
    """
    t = thresholds.numel()
    k = torch.bucketize(probs.contiguous(), thresholds, right=inclusive)
    idx = k if group is None else group * (t + 1) + k
    hist = torch.bincount(idx[select], minlength=n_groups * (t + 1)).view(n_groups, t + 1)
    at_least = hist.flip(1).cumsum(1).flip(1)
    return at_least[:, 1:]


class DenseMetric(Metric):
    """Base class of the dense streaming metrics (see the module docstring for the protocol).

    Subclasses register their states with ``dist_reduce_fx="sum"``, implement ``update``/``compute`` and
    ``valid_mask``, and fill ``higher_is_better_by_key``.
    """

    is_differentiable: ClassVar[bool] = False
    higher_is_better: ClassVar[bool | None] = None  # differs per key: see ``higher_is_better_by_key``
    full_state_update: ClassVar[bool] = False
    higher_is_better_by_key: ClassVar[dict[str, bool]] = {}

    def __init__(self, *, resize_preds: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.resize_preds = resize_preds

    # -- helpers for subclasses ---------------------------------------------------------------------
    def _add_sum_state(self, name: str, shape: tuple[int, ...] = (), dtype: torch.dtype = torch.float64) -> None:
        self.add_state(name, default=torch.zeros(shape, dtype=dtype), dist_reduce_fx="sum")

    def _match(self, preds: Tensor, size: tuple[int, int]) -> Tensor:
        if tuple(preds.shape[-2:]) == tuple(size):
            return preds
        if not self.resize_preds:
            raise ValueError(
                f"{type(self).__name__}: prediction size {tuple(preds.shape[-2:])} differs from label size "
                f"{tuple(size)} and resize_preds=False"
            )
        return resize_like(preds, size)

    def valid_mask(self, target: Tensor) -> Tensor:  # pragma: no cover - abstract
        """Boolean ``[B, H, W]`` of label pixels that are evaluated."""
        raise NotImplementedError

    def state_numel(self) -> int:
        """Total number of elements over all metric states (constant for the metric's lifetime)."""
        return int(sum(getattr(self, name).numel() for name in self._defaults))

    @staticmethod
    def _f(x: Tensor | float) -> float:
        return float(x.item()) if isinstance(x, Tensor) else float(x)

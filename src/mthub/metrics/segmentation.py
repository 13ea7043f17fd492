"""Semantic-segmentation and human-parts metrics: mIoU and pixel accuracy.

Protocol (ATRC ``MeanIoU``, MTL-PyTorch/InvPT ``SemsegMeter``; TIF §4.2, EfficientMTL §4, tif.md §6):
a ``C×C`` confusion matrix is accumulated over **all valid pixels of the dataset** (label ``ignore_index``
= 255 skipped), then ``IoU_c = TP_c / (TP_c + FP_c + FN_c)`` and ``mIoU = mean_c IoU_c`` over **all**
``C`` classes; a class absent from both prediction and label has IoU 0 there (``absent_classes="zero"``,
the default; it matters on small sets). ``absent_classes="skip"`` averages only classes that occur, as
torchmetrics' ``average="macro"`` does. Pixel accuracy = ``trace / sum`` of the same matrix (MILA/MTAN
"PixAcc"). Values are percentages.

The confusion matrix is torchmetrics' own :class:`~torchmetrics.classification.MulticlassJaccardIndex`
state; only the reduction above is ours.

:class:`PerImageMeanIoU` is MTAN's legacy mIoU (mila.md §6 [A14]), kept for reproducing MILA tables.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from torch import Tensor
from torchmetrics.classification import MulticlassJaccardIndex

from .base import DenseMetric, as_bhw, check_batch

__all__ = ["PerImageMeanIoU", "SegmentationMetric"]


def _labels_and_target(metric: DenseMetric, preds: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """Bring ``preds`` to ``[B, C, H, W]`` logits or ``[B, H, W]`` labels at the label's size."""
    name = type(metric).__name__
    target = as_bhw(target, "target", name)
    check_batch(preds, target, name)
    if preds.ndim == 4 and preds.shape[1] == 1 and not preds.is_floating_point():
        preds = preds[:, 0]
    if preds.ndim not in (3, 4):
        raise ValueError(f"{name}: preds must be [B, C, H, W] logits or [B, H, W] labels, got {tuple(preds.shape)}")
    preds = metric._match(preds, tuple(target.shape[-2:]))
    if not target.dtype.is_floating_point and target.dtype != torch.long:
        target = target.long()
    elif target.is_floating_point():
        target = target.round().long()
    return preds, target


def _check_range(x: Tensor, num_classes: int, ignore_index: int | None, name: str, metric: str) -> None:
    bad = (x < 0) | (x >= num_classes)
    if ignore_index is not None:
        bad &= x != ignore_index
    if bool(bad.any()):
        values = sorted(set(x[bad].unique()[:5].tolist()))
        raise ValueError(
            f"{metric}: {name} has values {values} outside [0, {num_classes})"
            + (f" and != ignore_index {ignore_index}" if ignore_index is not None else "")
        )


class SegmentationMetric(DenseMetric, MulticlassJaccardIndex):
    """Dataset-level mIoU and pixel accuracy (semseg, human parts, or any label map).

    Args:
        num_classes: C (NYUD 40, PASCAL semseg 21, human parts 7).
        ignore_index: label value that is skipped (255 in every protocol here).
        absent_classes: ``"zero"`` (ATRC/MTL-PyTorch: mean over all C classes) or ``"skip"``.
        resize_preds: resize predictions to the label size (bilinear on logits) when they differ.

    ``update(preds, target)``: ``preds`` ``[B, C, H, W]`` logits/probabilities (argmax over C) or
    ``[B, H, W]`` integer labels; ``target`` ``[B, H, W]`` or ``[B, 1, H, W]`` integers in ``[0, C)`` or
    ``ignore_index``.

    ``compute()`` → ``{"mIoU": %, "pixel_acc": %}``.
    """

    higher_is_better_by_key: ClassVar[dict[str, bool]] = {"mIoU": True, "pixel_acc": True}

    def __init__(
        self,
        num_classes: int,
        ignore_index: int = 255,
        absent_classes: Literal["zero", "skip"] = "zero",
        resize_preds: bool = True,
        validate_args: bool = True,
        **kwargs: Any,
    ) -> None:
        if absent_classes not in ("zero", "skip"):
            raise ValueError(f"SegmentationMetric: absent_classes must be 'zero' or 'skip', got {absent_classes!r}")
        super().__init__(
            resize_preds=resize_preds,
            num_classes=num_classes,
            ignore_index=ignore_index,
            average="none",
            validate_args=validate_args,
            zero_division=0.0,
            **kwargs,
        )
        self.absent_classes = absent_classes

    def valid_mask(self, target: Tensor) -> Tensor:
        target = as_bhw(target, "target", type(self).__name__)
        return target != self.ignore_index

    def update(self, preds: Tensor, target: Tensor) -> None:  # type: ignore[override]
        preds, target = _labels_and_target(self, preds, target)
        if self.validate_args:  # torchmetrics only counts unique values; a stray label would crash bincount
            _check_range(target, self.num_classes, self.ignore_index, "target", type(self).__name__)
            if not preds.is_floating_point():
                _check_range(preds, self.num_classes, None, "preds", type(self).__name__)
        super().update(preds, target)

    def per_class_iou(self) -> Tensor:
        """IoU per class, ``[C]`` (fractions, 0 where a class never occurs); uses the local state."""
        confmat = self.confmat.double()
        tp = confmat.diagonal()
        union = confmat.sum(0) + confmat.sum(1) - tp
        return torch.where(union > 0, tp / union.clamp_min(1), torch.zeros_like(tp))

    def compute(self) -> dict[str, float]:  # type: ignore[override]
        confmat = self.confmat.double()
        total = confmat.sum()
        if total == 0:
            return {}
        tp = confmat.diagonal()
        union = confmat.sum(0) + confmat.sum(1) - tp
        iou = torch.where(union > 0, tp / union.clamp_min(1), torch.zeros_like(tp))
        miou = iou.mean() if self.absent_classes == "zero" else iou[union > 0].mean()
        return {"mIoU": self._f(100.0 * miou), "pixel_acc": self._f(100.0 * tp.sum() / total)}


class PerImageMeanIoU(DenseMetric):
    """MTAN's legacy mIoU: per-image mean IoU over the classes present, averaged over images.

    For each image, a class counts when it occurs in the prediction or the label (union > 0); the image
    score is the mean IoU over those classes; the metric is the mean of image scores (MTAN then averages
    per batch, which equals this for equal batch sizes). MTAN counts predicted pixels that fall on ignored
    labels in the union (its prediction masks are not masked); ``count_ignored_predictions=True`` keeps
    that. Images whose label is entirely ignore are skipped (a missing label). mila.md §6 [A14].

    ``update(preds, target)`` as :class:`SegmentationMetric`. ``compute()`` → ``{"mIoU_mtan": %}``.
    """

    higher_is_better_by_key: ClassVar[dict[str, bool]] = {"mIoU_mtan": True}

    def __init__(
        self,
        num_classes: int,
        ignore_index: int = 255,
        count_ignored_predictions: bool = True,
        resize_preds: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(resize_preds=resize_preds, **kwargs)
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.count_ignored_predictions = count_ignored_predictions
        self._add_sum_state("sum_image_miou")
        self._add_sum_state("num_images", dtype=torch.long)

    def valid_mask(self, target: Tensor) -> Tensor:
        target = as_bhw(target, "target", type(self).__name__)
        return target != self.ignore_index

    def update(self, preds: Tensor, target: Tensor) -> None:  # type: ignore[override]
        preds, target = _labels_and_target(self, preds, target)
        labels = preds.argmax(1) if preds.ndim == 4 else preds.long()
        c, b = self.num_classes, target.shape[0]
        valid = target != self.ignore_index
        _check_range(target, c, self.ignore_index, "target", type(self).__name__)
        _check_range(labels, c, None, "preds", type(self).__name__)
        img = torch.arange(b, device=target.device).view(b, 1, 1).expand_as(target)
        n = b * c
        inter = torch.bincount((img * c + target)[valid & (labels == target)], minlength=n)
        tgt_cnt = torch.bincount((img * c + target)[valid], minlength=n)
        pred_sel = torch.ones_like(valid) if self.count_ignored_predictions else valid
        pred_cnt = torch.bincount((img * c + labels)[pred_sel], minlength=n)
        inter, union = inter.view(b, c).double(), (pred_cnt + tgt_cnt - inter).view(b, c).double()
        present = union > 0
        iou_sum = torch.where(present, inter / union.clamp_min(1), torch.zeros_like(inter)).sum(1)
        has_label = valid.flatten(1).any(1)
        img_miou = iou_sum / present.sum(1).clamp_min(1)
        self.sum_image_miou += img_miou[has_label].sum()
        self.num_images += has_label.sum()

    def compute(self) -> dict[str, float]:  # type: ignore[override]
        if self.num_images == 0:
            return {}
        return {"mIoU_mtan": self._f(100.0 * self.sum_image_miou / self.num_images)}

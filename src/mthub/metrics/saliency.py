"""Saliency maxF in the two conventions found in the multi-task literature, plus ASTMT's saliency mIoU.

Both start from the foreground probability ``s`` (``softmax(logits)[:, 1]`` for 2-channel heads,
``sigmoid`` for 1-channel heads; pass ``from_logits=False`` for probabilities) and a binary label
``y = target > 0.5`` on valid pixels (``target != 255``).

``maxF_beta0.3`` — ATRC ``MaxF`` (TIF's protocol, "identical to ATRC"; InvPT/TaskPrompter's
``SaliencyMeter`` is called with the same β² = 0.3 and step; tif.md §6, efficient_mtl.md §6):
    thresholds t_j = 0.05, 0.10, …, 0.95 (19), prediction positive where ``s >= t_j``;
    TP_j, PP_j (predicted positives) and AP (label positives) are **summed over all valid pixels of the
    dataset**; P_j = TP_j/PP_j, R_j = TP_j/AP, F_j = (1+β²) P_j R_j / (β² P_j + R_j) (0 where undefined);
    maxF = 100 · max_j F_j.

``maxF1`` and ``max_mIoU`` — ASTMT / MTL-PyTorch / MTI-Net ``eval_sal`` (the "F1" convention):
    thresholds t_j = linspace(0.2, 0.9, 15), positive where ``s > t_j``; per image
    P = TP/(TP+FP+1e-12), R = TP/(TP+FN+1e-12), J = TP/(TP+FP+FN) (J = 1 when label and prediction
    are both empty); P, R, J are **averaged over images**; F_j = 2 mP_j mR_j / (mP_j + mR_j + 1e-12);
    maxF1 = 100 · max_j F_j, max_mIoU = 100 · max_j mJ_j. MTL-PyTorch thresholds PNG-quantised
    predictions (v/255); we threshold the float probability. Images whose label is all ignore are skipped.

Both are computed from per-threshold counts (``torch.bucketize`` + ``bincount``), so state is a handful of
length-19/15 vectors, independent of the set size.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .base import DenseMetric, as_bhw, check_batch, counts_at_thresholds

__all__ = ["SaliencyMetric", "binary_update_inputs", "foreground_probability"]

ATRC_THRESHOLDS: tuple[float, ...] = tuple(round(0.05 * k, 2) for k in range(1, 20))
ASTMT_THRESHOLDS: tuple[float, ...] = tuple(round(0.2 + 0.05 * k, 2) for k in range(15))


def foreground_probability(preds: Tensor, from_logits: bool, metric: str) -> Tensor:
    """``[B, 2, H, W]`` (2-class scores) or ``[B, 1, H, W]`` / ``[B, H, W]`` → foreground prob ``[B, H, W]``."""
    preds = preds.float()
    if preds.ndim == 4 and preds.shape[1] == 2:
        return torch.softmax(preds, dim=1)[:, 1] if from_logits else preds[:, 1]
    p = as_bhw(preds, "preds", metric)
    return torch.sigmoid(p) if from_logits else p


def binary_update_inputs(metric: DenseMetric, preds: Tensor, target: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The ``update`` prologue of the binary dense metrics (saliency, edges): checks ``target`` ``[B, H, W]``
    (or ``[B, 1, H, W]``) against ``preds``, matches ``preds`` to its size and returns ``(P(foreground) [B, H, W],
    valid mask [B, H, W], target [B, H, W])``. ``metric`` supplies ``_match``, ``from_logits`` and ``valid_mask``."""
    name = type(metric).__name__
    target = as_bhw(target, "target", name)
    check_batch(preds, target, name)
    probs = foreground_probability(metric._match(preds.float(), tuple(target.shape[-2:])), metric.from_logits, name)
    return probs, metric.valid_mask(target), target


class SaliencyMetric(DenseMetric):
    """Saliency maxF (both conventions) and ASTMT max-mIoU; see the module docstring.

    ``update(preds, target)``: ``preds`` ``[B, 2, H, W]`` / ``[B, 1, H, W]`` / ``[B, H, W]`` scores,
    ``target`` ``[B, H, W]`` or ``[B, 1, H, W]`` in {0, 1} (or [0, 1], binarised at 0.5) with 255 = ignore.
    ``compute()`` → ``{"maxF_beta0.3": %, "maxF1": %, "max_mIoU": %}``.

    Args:
        from_logits: apply softmax/sigmoid to ``preds`` (True for raw head outputs).
        beta_squared: β² of the ATRC F-measure (0.3); the key becomes ``f"maxF_beta{beta_squared:g}"``.
        ignore_index: label value that is skipped.
    """

    def __init__(
        self,
        from_logits: bool = True,
        beta_squared: float = 0.3,
        ignore_index: float = 255.0,
        resize_preds: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(resize_preds=resize_preds, **kwargs)
        self.from_logits = from_logits
        self.beta_squared = beta_squared
        self.ignore_index = ignore_index
        self.atrc_key = f"maxF_beta{beta_squared:g}"
        self.higher_is_better_by_key = {self.atrc_key: True, "maxF1": True, "max_mIoU": True}
        self.register_buffer("atrc_thresholds", torch.tensor(ATRC_THRESHOLDS), persistent=False)
        self.register_buffer("astmt_thresholds", torch.tensor(ASTMT_THRESHOLDS), persistent=False)
        # ATRC: dataset-pooled counts per threshold.
        self._add_sum_state("atrc_tp", (len(ATRC_THRESHOLDS),), dtype=torch.long)
        self._add_sum_state("atrc_pp", (len(ATRC_THRESHOLDS),), dtype=torch.long)
        self._add_sum_state("atrc_ap", dtype=torch.long)
        # ASTMT: sums over images of per-image precision, recall, Jaccard per threshold.
        self._add_sum_state("astmt_prec", (len(ASTMT_THRESHOLDS),))
        self._add_sum_state("astmt_rec", (len(ASTMT_THRESHOLDS),))
        self._add_sum_state("astmt_jac", (len(ASTMT_THRESHOLDS),))
        self._add_sum_state("num_images", dtype=torch.long)

    def valid_mask(self, target: Tensor) -> Tensor:
        target = as_bhw(target, "target", type(self).__name__)
        return target != self.ignore_index

    def update(self, preds: Tensor, target: Tensor) -> None:  # type: ignore[override]
        probs, valid, target = binary_update_inputs(self, preds, target)
        pos = valid & (target.float() > 0.5)
        b = target.shape[0]

        tp = counts_at_thresholds(probs, pos, self.atrc_thresholds, True, None, 1)[0]
        pp = counts_at_thresholds(probs, valid, self.atrc_thresholds, True, None, 1)[0]
        self.atrc_tp += tp
        self.atrc_pp += pp
        self.atrc_ap += pos.sum()

        img = torch.arange(b, device=probs.device).view(b, 1, 1).expand_as(probs)
        tp_i = counts_at_thresholds(probs, pos, self.astmt_thresholds, False, img, b).double()
        pp_i = counts_at_thresholds(probs, valid, self.astmt_thresholds, False, img, b).double()
        ap_i = pos.flatten(1).sum(1).double()[:, None]
        prec = tp_i / (pp_i + 1e-12)
        rec = tp_i / (ap_i + 1e-12)
        union = ap_i + pp_i - tp_i
        jac = torch.where(union > 0, tp_i / union.clamp_min(1), torch.ones_like(tp_i))
        has_label = valid.flatten(1).any(1)
        self.astmt_prec += prec[has_label].sum(0)
        self.astmt_rec += rec[has_label].sum(0)
        self.astmt_jac += jac[has_label].sum(0)
        self.num_images += has_label.sum()

    def compute(self) -> dict[str, float]:  # type: ignore[override]
        if self.num_images == 0:
            return {}
        tp, pp, ap = self.atrc_tp.double(), self.atrc_pp.double(), self.atrc_ap.double()
        precision, recall = tp / pp, tp / ap
        b2 = self.beta_squared
        f_beta = torch.nan_to_num((1 + b2) * precision * recall / (b2 * precision + recall), nan=0.0)
        n = self.num_images.double()
        m_prec, m_rec = self.astmt_prec / n, self.astmt_rec / n
        f1 = 2 * m_prec * m_rec / (m_prec + m_rec + 1e-12)
        return {
            self.atrc_key: self._f(100.0 * f_beta.max()),
            "maxF1": self._f(100.0 * f1.max()),
            "max_mIoU": self._f(100.0 * (self.astmt_jac / n).max()),
        }

"""Per-task losses that ignore missing labels.

All losses return a scalar and are *masked*: pixels/samples whose label equals the ignore value (or, for regression,
whose validity mask is false) contribute nothing. When every element of a batch is masked the loss is
``0 * predictions.sum()`` rather than NaN, so a rank that received no labels for a task still produces a gradient
(of zeros) for that head and distributed gradient reduction does not hang (issue 5, "Distributed").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _zero_like_graph(predictions: torch.Tensor) -> torch.Tensor:
    # Keeps the head in the autograd graph with a zero gradient (DDP needs every parameter to get a gradient).
    return predictions.sum() * 0.0


def masked_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, ignore_index: int = -100, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Cross-entropy averaged over labelled elements.

    Args:
        logits: ``(N, C)`` or ``(N, C, *spatial)`` class scores.
        target: ``(N,)`` or ``(N, *spatial)`` integer labels; ``ignore_index`` marks missing labels.
    """
    target = target.long()
    if not (target != ignore_index).any():
        return _zero_like_graph(logits)
    return F.cross_entropy(logits.float(), target, weight=weight, ignore_index=ignore_index)


def masked_l1(
    predictions: torch.Tensor, target: torch.Tensor, valid_mask: torch.Tensor | None = None, ignore_value: float | None = None
) -> torch.Tensor:
    """Mean absolute error over valid elements (depth: invalid pixels are 0 or ``ignore_value``; normals: all-zero
    vectors are invalid). The mean runs over valid pixels × channels, i.e. ``sum(|p - t| · mask) / mask.sum()`` with
    the mask expanded to every channel.

    Args:
        predictions: ``(N, C, *spatial)``.
        target: same shape as ``predictions``.
        valid_mask: ``(N, 1 or C, *spatial)`` booleans; derived from ``ignore_value`` when omitted.
    """
    if predictions.shape != target.shape:
        raise ValueError(f"masked_l1: predictions {tuple(predictions.shape)} vs target {tuple(target.shape)}.")
    if valid_mask is None:
        if ignore_value is None:
            valid_mask = torch.ones_like(target, dtype=torch.bool)
        else:
            # A pixel is missing when *every* channel holds the ignore value: with ``ignore_value=0`` a normal
            # ``(0, 0, 1)`` stays valid and only the all-zero vector is dropped (``.all`` would drop both).
            valid_mask = (target != ignore_value).any(dim=1, keepdim=True)
    valid_mask = valid_mask.expand_as(target)
    count = valid_mask.sum()
    if count == 0:
        return _zero_like_graph(predictions)
    return ((predictions.float() - target.float()).abs() * valid_mask).sum() / count


def balanced_bce_with_logits(
    logits: torch.Tensor, target: torch.Tensor, ignore_value: float = 255.0, pos_weight: float | None = None
) -> torch.Tensor:
    """Class-balanced binary cross-entropy for edges (HED/ATRC convention).

    With ``pos_weight=None`` the positive weight is the batch's fraction of negatives ``w = |Y-|/|Y|`` and the negative
    weight ``1 - w`` (Xie & Tu, HED, Eq. 2); ATRC uses a fixed ``pos_weight=0.95`` for edges — pass it explicitly.

    Args:
        logits: ``(N, 1, H, W)``; target: ``(N, 1, H, W)`` in {0, 1}, ``ignore_value`` for unlabelled pixels.
    """
    valid = target != ignore_value
    if not valid.any():
        return _zero_like_graph(logits)
    target = target.float().clamp(0, 1)
    if pos_weight is None:
        num_valid = valid.sum().float()
        pos_weight = float(((target == 0) & valid).sum() / num_valid)
    weights = torch.where(target > 0.5, torch.full_like(target, pos_weight), torch.full_like(target, 1.0 - pos_weight))
    losses = F.binary_cross_entropy_with_logits(logits.float(), target, weight=weights, reduction="none")
    return (losses * valid).sum() / valid.sum()

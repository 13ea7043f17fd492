"""Shared losses: masked per-task losses, a fixed-weight multi-task combiner, and the loss denominators used to
normalise split batches (gradient accumulation, data parallelism)."""

from .combine import LOSSES, MultiTaskLoss, get_loss
from .dense import balanced_bce_with_logits, masked_cross_entropy, masked_l1
from .normalization import count_loss_elements, default_loss_elements

__all__ = [
    "LOSSES",
    "MultiTaskLoss",
    "balanced_bce_with_logits",
    "count_loss_elements",
    "default_loss_elements",
    "get_loss",
    "masked_cross_entropy",
    "masked_l1",
]

"""Shared losses: masked per-task losses and a fixed-weight multi-task combiner."""

from .combine import LOSSES, MultiTaskLoss, get_loss
from .dense import balanced_bce_with_logits, masked_cross_entropy, masked_l1

__all__ = ["LOSSES", "MultiTaskLoss", "balanced_bce_with_logits", "get_loss", "masked_cross_entropy", "masked_l1"]

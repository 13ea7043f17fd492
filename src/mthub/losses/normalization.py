"""How many label elements a task loss averages over — the denominator of each masked mean loss.

Every loss in :mod:`mthub.losses` is a *mean over labelled elements* of one batch. When a global batch is split
(gradient-accumulation micro-batches, data-parallel ranks) the mean of the per-piece means is not the mean over the
whole batch as soon as the pieces hold different numbers of labelled elements — which is the normal case in
multi-task training, where a rank or a micro-batch may hold no label at all for some task. The trainer
(:class:`mthub.training.MultiTaskTrainer` with ``loss_normalization="global"``) fixes this the way transformers
does for tokens (``num_items_in_batch``): it rescales each piece's mean by ``n_piece / N_global`` where ``n`` is
the count returned here. The counts must match the losses' own denominators exactly for the rescaled sum to equal
the single-batch loss; this module mirrors :func:`~mthub.losses.masked_cross_entropy` and
:func:`~mthub.losses.masked_l1` as called by :meth:`mthub.MTHubPreTrainedModel.task_loss`, and models whose losses
count differently define ``count_loss_elements(spec, labels)`` (see :func:`count_loss_elements`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # the losses know no config at runtime (models import losses, configs import nothing of ours)
    from ..configuration_utils import TaskSpec


def _has_channel_dim(spec: TaskSpec, labels: torch.Tensor) -> bool:
    """Dense regression labels are ``(B, C, H, W)`` (``(B, T, C, H, W)`` per frame) or, for one channel,
    possibly ``(B, H, W)`` (``(B, T, H, W)``)."""
    spatial_rank = 4 if spec.extra.get("per_frame") else 3
    return not (spec.num_outputs == 1 and labels.dim() == spatial_rank)


def default_loss_elements(spec: TaskSpec, labels: torch.Tensor) -> torch.Tensor:
    """Number of label elements the task's loss averages over, as an int64 scalar tensor.

    * ``cross_entropy`` (any kind): labels different from ``spec.ignore_index`` — samples for classification,
      pixels for dense classification.
    * ``l1``: valid pixels × channels. A pixel is valid when not every channel equals ``extra["ignore_value"]``,
      all channels are finite, no channel equals ``extra["invalid_value"]`` and, with ``extra["normalize"]``,
      the label vector is non-zero (the rules of :func:`~mthub.losses.masked_l1` and TIF's depth/normals).
    * ``balanced_bce``: labelled pixels (``extra["ignore_value"]``, default 255). The class-balancing weights
      depend on the batch, so a split batch is only approximately the single-batch loss.
    * anything else: samples whose label is not entirely ``spec.ignore_index``.
    """
    extra = spec.extra
    if spec.loss == "cross_entropy":
        return (labels != spec.ignore_index).sum()
    if spec.loss == "l1":
        channel_dim = 2 if extra.get("per_frame") else 1
        if not _has_channel_dim(spec, labels):
            labels = labels.unsqueeze(channel_dim)
        channels = labels.shape[channel_dim]
        valid = torch.isfinite(labels).all(dim=channel_dim)
        if extra.get("ignore_value") is not None:
            valid &= (labels != extra["ignore_value"]).any(dim=channel_dim)
        if extra.get("invalid_value") is not None:
            valid &= (labels != extra["invalid_value"]).all(dim=channel_dim)
        if extra.get("normalize"):
            valid &= labels.abs().sum(dim=channel_dim) > 0
        return valid.sum() * channels
    if spec.loss == "balanced_bce":
        return (labels != extra.get("ignore_value", 255)).sum()
    per_sample = (labels != spec.ignore_index).reshape(labels.shape[0], -1).any(dim=1)
    return per_sample.sum()


def count_loss_elements(model: torch.nn.Module | None, spec: TaskSpec, labels: torch.Tensor | None) -> torch.Tensor:
    """``model.count_loss_elements(spec, labels)`` when the model defines it, else :func:`default_loss_elements`;
    ``0`` for missing labels. Always an int64 scalar on the labels' device."""
    if labels is None:
        return torch.zeros((), dtype=torch.long)
    hook = getattr(model, "count_loss_elements", None)
    count = hook(spec, labels) if callable(hook) else default_loss_elements(spec, labels)
    return torch.as_tensor(count, device=labels.device).long().reshape(())


__all__ = ["count_loss_elements", "default_loss_elements"]

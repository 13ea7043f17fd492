"""Name → loss lookup and the fixed-weight multi-task loss combiner."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping

import torch

from .dense import balanced_bce_with_logits, masked_cross_entropy, masked_l1

#: Losses addressable by name from a :class:`mthub.configuration_utils.TaskSpec` ``loss`` field.
LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "cross_entropy": masked_cross_entropy,
    "l1": masked_l1,
    "balanced_bce": balanced_bce_with_logits,
}


def get_loss(name: str) -> Callable[..., torch.Tensor]:
    try:
        return LOSSES[name]
    except KeyError:
        close = difflib.get_close_matches(name, LOSSES, n=3)
        raise KeyError(f"Unknown loss {name!r}; did you mean {close}? Known losses: {sorted(LOSSES)}.") from None


class MultiTaskLoss(torch.nn.Module):
    """Weighted sum of per-task losses with fixed weights (e.g. TIF: semseg 1, depth 1, normals 10, edge 50).

    ``forward(losses)`` takes ``{task: scalar}`` (tasks without labels in the batch simply are absent) and returns
    ``(total, weighted)`` where ``weighted`` holds each task's weighted loss for logging.
    """

    def __init__(self, weights: Mapping[str, float]):
        super().__init__()
        self.weights = dict(weights)

    def forward(self, losses: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if not losses:
            raise ValueError("MultiTaskLoss got no task losses: no task in this batch had labels.")
        unknown = set(losses) - set(self.weights)
        if unknown:
            raise KeyError(f"Losses for tasks {sorted(unknown)} have no weight; weighted tasks: {sorted(self.weights)}.")
        weighted = {task: self.weights[task] * loss for task, loss in losses.items()}
        return torch.stack(list(weighted.values())).sum(), weighted

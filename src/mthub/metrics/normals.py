"""Surface-normal angle errors pooled over all valid pixels of the dataset.

Protocol (ATRC ``MeanErrorInAngle``; MTL-PyTorch/ASTMT ``eval_normals``; MTAN ``normal_error`` used by
MILA; tif.md §6, efficient_mtl.md §6, mila.md §6). Prediction and label are L2-normalised per pixel
(a zero vector stays zero), and the angle in degrees is::

    θ = 2 · atan2(‖p̂ − ĝ‖, ‖p̂ + ĝ‖)

which equals ``arccos(clip(p̂·ĝ, −1, 1))`` (MTL-PyTorch, MTAN) but is accurate near 0° and 180°. Over the N
valid pixels of the set:

    mean_angle = Σθ / N  (the papers' "mErr"/"Mean"), rmse_angle = sqrt(Σθ² / N),
    within_t   = 100 · #{θ < t} / N  for t ∈ {11.25, 22.5, 30} (strict "<", as MTAN/MTL-PyTorch),
    median_angle from a fixed histogram of θ (below).

Valid pixels: no channel equals ``ignore_index`` (255, ATRC AddIgnoreRegions), all channels finite, and
‖g‖ > 0 (MTL-PyTorch's zero-normal mask).

**Median without storing pixels**: θ ∈ [0°, 180°] is counted in ``num_bins`` equal bins (default 18 000,
i.e. 0.01° wide). The median is read from the cumulative counts as ``numpy.median`` defines it (mean of
the two middle ranks), each rank placed inside its bin, so it is within one bin width (0.01°) of
``numpy.median`` of all angles. Mean, RMSE and
the within-t fractions are exact (running sums and counts), not read from the histogram.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import Tensor

from .base import DenseMetric, check_batch

__all__ = ["NormalsMetric", "normal_angle_error"]

ANGLE_THRESHOLDS: tuple[float, ...] = (11.25, 22.5, 30.0)


def _norm(x: Tensor) -> Tensor:
    """‖x‖ over the 3 channels of ``[B, 3, H, W]`` → ``[B, H, W]`` (explicit sum: faster than a strided reduce)."""
    return (x[:, 0] * x[:, 0] + x[:, 1] * x[:, 1] + x[:, 2] * x[:, 2]).sqrt()


def _unit(x: Tensor) -> Tensor:
    """L2-normalise over dim 1; zero vectors stay zero (ATRC ``normalize_tensor``)."""
    norm = _norm(x)[:, None]
    return torch.where(norm > 0, x / norm.clamp_min(torch.finfo(x.dtype).tiny), torch.zeros_like(x))


def normal_angle_error(preds: Tensor, target: Tensor) -> Tensor:
    """Per-pixel angle in degrees between ``preds`` and ``target`` (``[B, 3, H, W]`` → ``[B, H, W]``)."""
    p, g = _unit(preds.float()), _unit(target.float())
    return torch.rad2deg(2.0 * torch.atan2(_norm(p - g), _norm(p + g)))


class NormalsMetric(DenseMetric):
    """Pooled normal-angle errors (module docstring has the formulas).

    ``update(preds, target)``: ``[B, 3, H, W]`` each (channels first; predictions need not be unit
    length). ``compute()`` → ``{"mean_angle", "median_angle", "rmse_angle", "within_11.25",
    "within_22.5", "within_30"}`` in degrees / %.

    Args:
        ignore_index: label value marking invalid pixels (any channel equal to it).
        num_bins: histogram bins over [0°, 180°] for the median (resolution 180/num_bins degrees).
    """

    higher_is_better_by_key: ClassVar[dict[str, bool]] = {
        "mean_angle": False,
        "median_angle": False,
        "rmse_angle": False,
        "within_11.25": True,
        "within_22.5": True,
        "within_30": True,
    }

    def __init__(
        self, ignore_index: float = 255.0, num_bins: int = 18000, resize_preds: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(resize_preds=resize_preds, **kwargs)
        self.ignore_index = ignore_index
        self.num_bins = num_bins
        self._add_sum_state("sum_angle")
        self._add_sum_state("sum_sq_angle")
        self._add_sum_state("num_within", (len(ANGLE_THRESHOLDS),), dtype=torch.long)
        self._add_sum_state("num_valid", dtype=torch.long)
        self._add_sum_state("hist", (num_bins,), dtype=torch.long)

    def _check(self, x: Tensor, name: str) -> None:
        if x.ndim != 4 or x.shape[1] != 3:
            hint = " (channels-last? permute to [B, 3, H, W])" if x.ndim == 4 and x.shape[-1] == 3 else ""
            raise ValueError(f"NormalsMetric: {name} must have shape [B, 3, H, W], got {tuple(x.shape)}{hint}")

    def valid_mask(self, target: Tensor) -> Tensor:
        self._check(target, "target")
        t = target.float()
        ok = torch.isfinite(t).all(1) & (t != self.ignore_index).all(1)
        return ok & (_norm(torch.nan_to_num(t)) > 0)

    def update(self, preds: Tensor, target: Tensor) -> None:  # type: ignore[override]
        self._check(preds, "preds")
        self._check(target, "target")
        check_batch(preds, target, "NormalsMetric")
        preds = self._match(preds.float(), tuple(target.shape[-2:]))
        valid = self.valid_mask(target)
        theta = normal_angle_error(preds, torch.where(valid[:, None], target.float(), 0.0))[valid].double()
        self.sum_angle += theta.sum()
        self.sum_sq_angle += (theta * theta).sum()
        bounds = torch.tensor(ANGLE_THRESHOLDS, dtype=theta.dtype, device=theta.device)
        self.num_within += (theta[:, None] < bounds).sum(0)
        self.num_valid += theta.numel()
        width = 180.0 / self.num_bins
        idx = (theta / width).floor().long().clamp_(0, self.num_bins - 1)
        self.hist += torch.bincount(idx, minlength=self.num_bins)

    def median_from_histogram(self) -> float:
        """Median angle (degrees) read from the histogram.

        As ``numpy.median``: the mean of the values at 0-based ranks ⌊(N−1)/2⌋ and ⌈(N−1)/2⌉. The value at
        rank r is placed inside its bin by spreading the bin's m samples evenly (the i-th at fraction
        (i + ½)/m), so the error is below one bin width.
        """
        n = int(self.num_valid.item())
        if n == 0:
            return math.nan
        hist = self.hist.double()
        cum = torch.cumsum(hist, 0)
        width = 180.0 / self.num_bins

        def value_at(rank: int) -> float:
            k = int(
                torch.searchsorted(cum, torch.tensor([float(rank)], dtype=cum.dtype, device=cum.device), right=True)
            )
            k = min(k, self.num_bins - 1)
            before = self._f(cum[k - 1]) if k > 0 else 0.0
            return (k + (rank - before + 0.5) / max(self._f(hist[k]), 1.0)) * width

        return 0.5 * (value_at((n - 1) // 2) + value_at(n // 2))

    def compute(self) -> dict[str, float]:  # type: ignore[override]
        n = self._f(self.num_valid)
        if n == 0:
            return {}
        within = (100.0 * self.num_within.double() / n).tolist()
        out = {
            "mean_angle": self._f(self.sum_angle) / n,
            "median_angle": self.median_from_histogram(),
            "rmse_angle": math.sqrt(self._f(self.sum_sq_angle) / n),
        }
        out.update({f"within_{t:g}": w for t, w in zip(ANGLE_THRESHOLDS, within)})
        return out

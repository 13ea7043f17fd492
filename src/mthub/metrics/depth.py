"""Monocular depth metrics pooled over all valid pixels of the dataset.

Protocol (ATRC ``RMSE``; MTL-PyTorch/InvPT ``DepthMeter``; tif.md §6, efficient_mtl.md §6): every sum runs
over **all valid pixels of the evaluated set** and is divided by their total count N at the end, not
averaged per image::

    rmse     = sqrt( Σ (p − g)² / N )
    log_rmse = sqrt( Σ (ln p − ln g)² / N )       natural log, as MTL-PyTorch / MTI-Net ``eval_depth``
    abs      = Σ |p − g| / N                       MILA/MTAN "Abs" (mean absolute error)
    abs_rel  = Σ |p − g| / g / N                   MILA/MTAN "Rel" (a fraction, not %)
    delta_k  = 100 · #{ max(p/g, g/p) < 1.25^k } / N,  k = 1, 2, 3

Valid pixels: finite labels with ``g > min_depth`` (0 = "no depth" in NYUD), ``g != ignore_index``
(255, the value ATRC's AddIgnoreRegions writes; set ``None`` for labels in mm) and, if set,
``g <= max_depth``. Predictions are clamped to ``>= 1e-9`` before every term (MTL-PyTorch clamps;
ATRC's "clamped ≥ 0" is the same for RMSE), so the log and ratios are defined. MTAN (MILA) averages abs/rel
per batch instead of pooling; with equal valid-pixel counts per batch the two agree.

``unit_scale`` multiplies the reported ``rmse`` and ``abs`` (e.g. 1000 to print NYUD RMSE in mm as
EfficientMTL Table 1 does); relative metrics are unit-free.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import Tensor

from .base import DenseMetric, as_bhw, check_batch

__all__ = ["DepthMetric"]

_EPS = 1e-9


class DepthMetric(DenseMetric):
    """Pooled depth errors (see module docstring for formulas and conventions).

    ``update(preds, target)``: ``preds`` and ``target`` ``[B, H, W]`` or ``[B, 1, H, W]`` float depth in the
    same units. ``compute()`` → ``{"rmse", "log_rmse", "abs", "abs_rel", "delta1", "delta2", "delta3"}``.
    """

    higher_is_better_by_key: ClassVar[dict[str, bool]] = {
        "rmse": False,
        "log_rmse": False,
        "abs": False,
        "abs_rel": False,
        "delta1": True,
        "delta2": True,
        "delta3": True,
    }

    def __init__(
        self,
        ignore_index: float | None = 255.0,
        min_depth: float = 0.0,
        max_depth: float | None = None,
        unit_scale: float = 1.0,
        resize_preds: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(resize_preds=resize_preds, **kwargs)
        self.ignore_index = ignore_index
        self.min_depth = min_depth
        self.max_depth = max_depth
        self.unit_scale = unit_scale
        self._add_sum_state("sum_sq_err")
        self._add_sum_state("sum_sq_log_err")
        self._add_sum_state("sum_abs_err")
        self._add_sum_state("sum_abs_rel")
        self._add_sum_state("num_within", (3,), dtype=torch.long)
        self._add_sum_state("num_valid", dtype=torch.long)

    def valid_mask(self, target: Tensor) -> Tensor:
        target = as_bhw(target, "target", type(self).__name__)
        valid = torch.isfinite(target) & (target > self.min_depth)
        if self.ignore_index is not None:
            valid &= target != self.ignore_index
        if self.max_depth is not None:
            valid &= target <= self.max_depth
        return valid

    def update(self, preds: Tensor, target: Tensor) -> None:  # type: ignore[override]
        name = type(self).__name__
        target = as_bhw(target, "target", name).float()
        preds = as_bhw(preds, "preds", name)
        check_batch(preds, target, name)
        preds = self._match(preds.float(), tuple(target.shape[-2:]))
        valid = self.valid_mask(target)
        p = preds[valid].double().clamp_min(_EPS)
        g = target[valid].double()
        err = p - g
        self.sum_sq_err += (err * err).sum()
        log_err = torch.log(p) - torch.log(g)
        self.sum_sq_log_err += (log_err * log_err).sum()
        self.sum_abs_err += err.abs().sum()
        self.sum_abs_rel += (err.abs() / g).sum()
        ratio = torch.maximum(p / g, g / p)
        bounds = torch.tensor([1.25, 1.25**2, 1.25**3], dtype=ratio.dtype, device=ratio.device)
        self.num_within += (ratio[:, None] < bounds).sum(0)
        self.num_valid += valid.sum()

    def compute(self) -> dict[str, float]:  # type: ignore[override]
        n = self._f(self.num_valid)
        if n == 0:
            return {}
        within = (100.0 * self.num_within.double() / n).tolist()
        return {
            "rmse": self.unit_scale * math.sqrt(self._f(self.sum_sq_err) / n),
            "log_rmse": math.sqrt(self._f(self.sum_sq_log_err) / n),
            "abs": self.unit_scale * self._f(self.sum_abs_err) / n,
            "abs_rel": self._f(self.sum_abs_rel) / n,
            "delta1": within[0],
            "delta2": within[1],
            "delta3": within[2],
        }

"""Photometric distortion of the image only (``shared/specs/tif.md`` §5.3 step 4; mmsegmentation's
``PhotoMetricDistortion`` as ATRC/DeMT/InvPT use it).

Each step happens with probability 0.5, in this order: brightness (add δ ~ U[−32, 32]), contrast (multiply by
α ~ U[0.5, 1.5]) either here or at the end (chosen with p = 0.5), saturation (HSV S × U[0.5, 1.5]), hue
(H + k/180 of a turn, k uniform in [−18, 17], OpenCV's 0..180 hue units). Values are clipped to [0, 255] after
every step. The reference converts to uint8 after each step; here the image stays float32 (no rounding), which
differs by < 1 grey level per step. The RGB↔HSV conversions are vectorised torch code (no OpenCV dependency).
Labels are never touched.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from mthub.data.transforms._base import Sample, _rand, _randint, _Transform, _uniform

__all__ = ["rgb_to_hsv", "hsv_to_rgb", "PhotoMetricDistortion"]


def rgb_to_hsv(rgb: torch.Tensor) -> torch.Tensor:
    """``(3, H, W)`` RGB in [0, 1] → HSV, all channels in [0, 1] (hue as a fraction of a turn)."""
    r, g, b = rgb.unbind(0)
    maxc, _ = rgb.max(dim=0)
    minc, _ = rgb.min(dim=0)
    delta = maxc - minc
    s = torch.where(maxc > 0, delta / maxc.clamp_min(1e-12), torch.zeros_like(maxc))
    safe = delta.clamp_min(1e-12)
    h = torch.where(
        maxc == r,
        torch.remainder((g - b) / safe, 6.0),
        torch.where(maxc == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0),
    )
    h = torch.where(delta > 0, h / 6.0, torch.zeros_like(h))
    return torch.stack([torch.remainder(h, 1.0), s, maxc], dim=0)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_hsv`."""
    h, s, v = hsv.unbind(0)
    h6 = torch.remainder(h, 1.0) * 6.0
    i = torch.floor(h6)
    f = h6 - i
    p = v * (1.0 - s)
    q = v * (1.0 - s * f)
    t = v * (1.0 - s * (1.0 - f))
    i = i.long() % 6
    # Sector table: for sector i the (r, g, b) are picked from (v, q, p, t).
    candidates = torch.stack([v, q, p, t], dim=0)  # (4, H, W)
    table = torch.tensor([[0, 3, 2], [1, 0, 2], [2, 0, 3], [2, 1, 0], [3, 2, 0], [0, 2, 1]], device=hsv.device)
    idx = table[i].permute(2, 0, 1)  # (3, H, W) indices into candidates
    return torch.gather(candidates, 0, idx)


class PhotoMetricDistortion(_Transform):
    """Random brightness, contrast, saturation and hue on ``sample["image"]`` ((3, H, W) float in [0, 255]).

    Args:
        brightness_delta: max |δ| added to all channels.
        contrast_range: range of the multiplicative contrast factor.
        saturation_range: range of the factor applied to HSV saturation.
        hue_delta: max hue shift in OpenCV units (180 = full turn).
    """

    def __init__(
        self,
        brightness_delta: float = 32,
        contrast_range: Sequence[float] = (0.5, 1.5),
        saturation_range: Sequence[float] = (0.5, 1.5),
        hue_delta: int = 18,
        generator: torch.Generator | None = None,
    ) -> None:
        self.brightness_delta = brightness_delta
        self.contrast_range = tuple(contrast_range)
        self.saturation_range = tuple(saturation_range)
        self.hue_delta = hue_delta
        self.generator = generator

    def _contrast(self, img: torch.Tensor) -> torch.Tensor:
        if _rand(self.generator) < 0.5:
            img = (img * _uniform(*self.contrast_range, self.generator)).clamp(0, 255)
        return img

    def apply(self, sample: Sample) -> Sample:
        out = dict(sample)
        img = sample.get("image")
        if img is None:
            return out
        img = img.float()
        if _rand(self.generator) < 0.5:
            img = (img + _uniform(-self.brightness_delta, self.brightness_delta, self.generator)).clamp(0, 255)
        contrast_first = _rand(self.generator) < 0.5
        if contrast_first:
            img = self._contrast(img)
        do_sat = _rand(self.generator) < 0.5
        sat = _uniform(*self.saturation_range, self.generator) if do_sat else 1.0
        do_hue = _rand(self.generator) < 0.5 and self.hue_delta > 0
        hue = _randint(-self.hue_delta, self.hue_delta - 1, self.generator) / 180.0 if do_hue else 0.0
        if do_sat or do_hue:
            hsv = rgb_to_hsv(img / 255.0)
            hsv = torch.stack([torch.remainder(hsv[0] + hue, 1.0), (hsv[1] * sat).clamp(0, 1), hsv[2]], dim=0)
            img = (hsv_to_rgb(hsv) * 255.0).clamp(0, 255)
        if not contrast_first:
            img = self._contrast(img)
        out["image"] = img
        return out

"""Four-scale adaptation of a plain (single-stride) ViT: DPT-style "reassemble" of four intermediate blocks.

Papers that put a ViT-B under a multi-scale decoder (TIF Table 10) do not say how the four scales are made. mthub's
documented choice, after DPT (Ranftl et al., 2021, §3 "Reassemble") and ViTDet's simple pyramid:

* tap blocks 3, 6, 9, 12 (0-based 2, 5, 8, 11) — the :class:`~mthub.backbones.timm_encoder.BackboneSpec`'s
  ``out_indices``; every tap is a ``(B, C_vit, H/16, W/16)`` map;
* project each tap with a 1×1 convolution to its output width ``C_i`` (DPT-B: 96, 192, 384, 768);
* resample to strides 4 / 8 / 16 / 32 with a 4×4 stride-4 transposed conv, a 2×2 stride-2 transposed conv,
  the identity, and a 3×3 stride-2 conv.

Shapes: ``[(B, C_vit, H/16, W/16)] * 4 → [(B, C_i, H / 2^(i+2), W / 2^(i+2)) for i in 0..3]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ViTFeaturePyramid"]

_TARGET_STRIDES = (4, 8, 16, 32)


def _resampler(channels: int, factor: float) -> nn.Module:
    """``factor`` > 1 upsamples (transposed conv, kernel = stride = factor), < 1 downsamples (3×3 stride 1/factor)."""
    if factor == 1:
        return nn.Identity()
    if factor > 1:
        step = int(factor)
        return nn.ConvTranspose2d(channels, channels, kernel_size=step, stride=step)
    step = round(1 / factor)
    if step != 2:
        raise ValueError(f"ViTFeaturePyramid: downsampling by {step} is not supported (only 2).")
    return nn.Conv2d(channels, channels, kernel_size=3, stride=2, padding=1)


class ViTFeaturePyramid(nn.Module):
    """Reassemble four same-stride ViT taps into a stride-4/8/16/32 pyramid (module docstring).

    Args:
        in_channels: channels of the four taps (all equal for a ViT).
        out_channels: ``C_0..C_3`` of the pyramid.
        in_stride: stride of the taps (the patch size, 16).
    """

    def __init__(self, in_channels: Sequence[int], out_channels: Sequence[int], in_stride: int) -> None:
        super().__init__()
        if len(in_channels) != 4 or len(out_channels) != 4:
            raise ValueError(
                f"ViTFeaturePyramid: four taps and four outputs expected, got {in_channels} → {out_channels}."
            )
        if in_stride not in (8, 16, 32):
            raise ValueError(f"ViTFeaturePyramid: unsupported tap stride {in_stride} (8, 16 or 32 expected).")
        self.project = nn.ModuleList(
            nn.Conv2d(c_in, c_out, kernel_size=1) for c_in, c_out in zip(in_channels, out_channels)
        )
        self.resample = nn.ModuleList(
            _resampler(c_out, in_stride / stride) for c_out, stride in zip(out_channels, _TARGET_STRIDES)
        )

    def forward(self, features: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return [resample(project(x)) for x, project, resample in zip(features, self.project, self.resample)]

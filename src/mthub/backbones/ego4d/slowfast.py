"""SlowFast networks (Feichtenhofer et al., ICCV 2019) as used by the Ego4D forecasting baselines (AR and LTA).

SlowFast 8×8 R101 (``MULTISLOWFAST_8x8_R101``): α = 4 (fast/slow frame ratio), β⁻¹ = 8 (fast pathway width
``w/8``), fusion conv ``(5, 1, 1)`` with stride ``(α, 1, 1)`` and channel ratio 2, temporal kernels
``slow (1, 1, 1, 3, 3)`` / ``fast (5, 3, 3, 3, 3)`` for stem, res2..res5. Fast-to-slow lateral connections
(``s{1..4}_fuse``) concatenate ``2·C_fast`` channels to the slow pathway after the stem and after res2–res4.

Shapes at 224² (slow 8 frames, fast 32 frames): res5 slow ``(B, 2048, 8, 7, 7)``, fast ``(B, 256, 32, 7, 7)``.

Module names follow the released checkpoints (``s1_fuse.conv_f2s``, ``s2.pathway1_res0.branch2.a`` …) so that
conversion is a prefix rename.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .resnet3d import RESNET_STAGE_DEPTHS, ResStage3d, VideoStem3d

__all__ = ["SLOWFAST_TEMPORAL_KERNELS", "FuseFastToSlow", "SlowFast"]

#: Temporal kernels (stem, res2..res5) of the slow and the fast pathway.
SLOWFAST_TEMPORAL_KERNELS = ((1, 1, 1, 3, 3), (5, 3, 3, 3, 3))


class FuseFastToSlow(nn.Module):
    """Lateral connection: ``Conv3d(C_f → ratio·C_f, (k, 1, 1), stride (α, 1, 1))`` → BN → ReLU on the fast
    pathway, concatenated to the slow pathway along channels.

    ``[(B, C_s, T, H, W), (B, C_f, α·T, H, W)]`` → ``[(B, C_s + ratio·C_f, T, H, W), unchanged fast]``.
    """

    def __init__(self, dim_in: int, channel_ratio: int, kernel: int, alpha: int) -> None:
        super().__init__()
        self.conv_f2s = nn.Conv3d(
            dim_in,
            dim_in * channel_ratio,
            (kernel, 1, 1),
            stride=(alpha, 1, 1),
            padding=(kernel // 2, 0, 0),
            bias=False,
        )
        self.bn = nn.BatchNorm3d(dim_in * channel_ratio, eps=1e-5, momentum=0.1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        slow, fast = xs
        fuse = self.relu(self.bn(self.conv_f2s(fast)))
        return [torch.cat([slow, fuse], dim=1), fast]


class SlowFast(nn.Module):
    """Two-pathway SlowFast ResNet without head.

    Args:
        depth_blocks: blocks per stage res2..res5 (R101: ``(3, 4, 23, 3)``).
        width: slow-pathway width per group ``w`` (64).
        alpha: frame-rate ratio fast/slow (4 for the Ego4D 8×8 model: slow 8, fast 32 frames).
        beta_inv: channel ratio slow/fast (8).
        fusion_channel_ratio: lateral conv output channels / fast channels (2).
        fusion_kernel: temporal kernel of the lateral conv (5).
        temporal_kernels: ``(slow, fast)`` temporal kernels of stem, res2..res5.

    ``forward([slow (B, 3, T/α, H, W), fast (B, 3, T, H, W)])`` → ``[slow res5 (B, 32w, T/α, H/32, W/32),
    fast res5 (B, 32w/β⁻¹, T, H/32, W/32)]``.
    """

    def __init__(
        self,
        depth_blocks: Sequence[int] = RESNET_STAGE_DEPTHS[101],
        width: int = 64,
        alpha: int = 4,
        beta_inv: int = 8,
        fusion_channel_ratio: int = 2,
        fusion_kernel: int = 5,
        temporal_kernels: Sequence[Sequence[int]] = SLOWFAST_TEMPORAL_KERNELS,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if len(depth_blocks) != 4:
            raise ValueError(f"SlowFast needs 4 stage depths, got {tuple(depth_blocks)}.")
        slow_k, fast_k = temporal_kernels
        self.alpha = alpha
        self.out_channels = (width * 32, width * 32 // beta_inv)
        fast = width // beta_inv
        lateral = fast * fusion_channel_ratio  # channels added to the slow pathway by each fusion
        self.s1 = VideoStem3d([in_channels, in_channels], [width, fast], [slow_k[0], fast_k[0]])
        self.s1_fuse = FuseFastToSlow(fast, fusion_channel_ratio, fusion_kernel, alpha)
        slow_in, fast_in = width + lateral, fast
        for index, (blocks, stride) in enumerate(zip(depth_blocks, (1, 2, 2, 2))):
            slow_out, inner = width * 4 * 2**index, width * 2**index
            fast_out, fast_inner = slow_out // beta_inv, inner // beta_inv
            stage = ResStage3d(
                [slow_in, fast_in],
                [slow_out, fast_out],
                [inner, fast_inner],
                [slow_k[index + 1], fast_k[index + 1]],
                blocks,
                stride,
            )
            self.add_module(f"s{index + 2}", stage)
            if index < 3:  # laterals after res2..res4 (none after res5)
                self.add_module(
                    f"s{index + 2}_fuse", FuseFastToSlow(fast_out, fusion_channel_ratio, fusion_kernel, alpha)
                )
                slow_in, fast_in = slow_out + fast_out * fusion_channel_ratio, fast_out

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        if len(xs) != 2:
            raise ValueError(f"SlowFast takes [slow, fast] pathway tensors, got {len(xs)} tensors.")
        xs = self.s1_fuse(self.s1(list(xs)))
        xs = self.s2_fuse(self.s2(xs))
        # (the official 1×1×1 "pathway{p}_pool" after res2 is an identity for this architecture)
        xs = self.s3_fuse(self.s3(xs))
        xs = self.s4_fuse(self.s4(xs))
        return self.s5(xs)

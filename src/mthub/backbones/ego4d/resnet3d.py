"""3D ResNets of the Ego4D baselines: bottleneck blocks, multi-pathway stages and the single-pathway I3D/Slow
ResNet (PNR/OSCC ``slow_layer5``).

Architecture (Feichtenhofer et al., "SlowFast networks for video recognition", the PySlowFast layout used by
the Ego4D hands-and-objects and forecasting baselines):

* stem: ``Conv3d(k=(t0, 7, 7), s=(1, 2, 2))`` (no bias) → BN → ReLU → ``MaxPool3d((1, 3, 3), s=(1, 2, 2), p=(0, 1, 1))``.
* stages ``s2``–``s5``: bottleneck blocks ``a = Conv(t×1×1)``, ``b = Conv(1×3×3, stride)``, ``c = Conv(1×1×1)``, each
  followed by BN (ReLU after ``a`` and ``b``), with a ``1×1×1`` projection shortcut (``branch1``) on the first block
  of a stage. The spatial stride sits on ``b`` (``STRIDE_1X1 = False``); there is no temporal stride anywhere.
* ``s2`` has stride 1, ``s3``–``s5`` stride 2; widths ``w·4, w·8, w·16, w·32`` with inner widths ``w, 2w, 4w, 8w``.

Module and parameter names follow the released checkpoints (``s1.pathway0_stem.conv``,
``s2.pathway0_res0.branch2.a_bn`` …) so that converting an official checkpoint is a prefix rename
(:mod:`mthub.conversion.ego4d_ts`). Everything works on lists of pathway tensors, as the stages are shared with
:mod:`mthub.backbones.ego4d.slowfast` (two pathways).

Shapes for the PNR/OSCC backbone (``temporal_kernels = (3, 3, 3, 3, 3)``, ResNet-50, 16 frames of 225²):
``(B, 3, 16, 225, 225)`` → s1 ``(B, 64, 16, 57, 57)`` → s2 ``(B, 256, 16, 57, 57)`` → s3 ``(B, 512, 16, 29, 29)``
→ s4 ``(B, 1024, 16, 15, 15)`` → s5 ``(B, 2048, 16, 8, 8)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = [
    "RESNET_STAGE_DEPTHS",
    "BottleneckTransform3d",
    "ResBlock3d",
    "ResNet3d",
    "ResStage3d",
    "VideoStem3d",
    "resnet3d_output_size",
]

#: Blocks per stage (res2..res5) for the depths the Ego4D baselines use.
RESNET_STAGE_DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}

# PySlowFast BatchNorm settings: eps 1e-5, momentum 0.1 (PyTorch convention).
_BN_EPS = 1e-5
_BN_MOMENTUM = 0.1


def _bn(channels: int) -> nn.BatchNorm3d:
    return nn.BatchNorm3d(channels, eps=_BN_EPS, momentum=_BN_MOMENTUM)


class BottleneckTransform3d(nn.Module):
    """Bottleneck ``t×1×1 → 1×3×3 (stride) → 1×1×1``, each convolution followed by BN (ReLU after the first two).

    ``(B, C_in, T, H, W)`` → ``(B, C_out, T, ⌈H/s⌉, ⌈W/s⌉)``.
    """

    def __init__(self, dim_in: int, dim_out: int, dim_inner: int, temporal_kernel: int, stride: int) -> None:
        super().__init__()
        self.a = nn.Conv3d(dim_in, dim_inner, (temporal_kernel, 1, 1), padding=(temporal_kernel // 2, 0, 0), bias=False)
        self.a_bn = _bn(dim_inner)
        self.a_relu = nn.ReLU(inplace=True)
        self.b = nn.Conv3d(dim_inner, dim_inner, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False)
        self.b_bn = _bn(dim_inner)
        self.b_relu = nn.ReLU(inplace=True)
        self.c = nn.Conv3d(dim_inner, dim_out, 1, bias=False)
        self.c_bn = _bn(dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.a_relu(self.a_bn(self.a(x)))
        x = self.b_relu(self.b_bn(self.b(x)))
        return self.c_bn(self.c(x))


class ResBlock3d(nn.Module):
    """Residual bottleneck block; a ``1×1×1`` projection shortcut (``branch1`` + ``branch1_bn``) when the width or
    the stride changes."""

    def __init__(self, dim_in: int, dim_out: int, dim_inner: int, temporal_kernel: int, stride: int) -> None:
        super().__init__()
        if dim_in != dim_out or stride != 1:
            self.branch1 = nn.Conv3d(dim_in, dim_out, 1, stride=(1, stride, stride), bias=False)
            self.branch1_bn = _bn(dim_out)
        self.branch2 = BottleneckTransform3d(dim_in, dim_out, dim_inner, temporal_kernel, stride)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.branch1_bn(self.branch1(x)) if hasattr(self, "branch1") else x
        return self.relu(shortcut + self.branch2(x))


class ResStage3d(nn.Module):
    """One ResNet stage over ``P`` pathways; block ``i`` of pathway ``p`` is ``pathway{p}_res{i}``.

    Args:
        dims_in, dims_out, dims_inner: per-pathway input / output / bottleneck widths.
        temporal_kernels: per-pathway temporal kernel of the ``a`` convolutions (same for every block).
        num_blocks: blocks in the stage (same for every pathway).
        stride: spatial stride of the first block.

    ``forward(list of P tensors (B, C_in[p], T_p, H, W))`` → list of P tensors ``(B, C_out[p], T_p, H/s, W/s)``.
    """

    def __init__(
        self,
        dims_in: Sequence[int],
        dims_out: Sequence[int],
        dims_inner: Sequence[int],
        temporal_kernels: Sequence[int],
        num_blocks: int,
        stride: int,
    ) -> None:
        super().__init__()
        self.num_pathways = len(dims_in)
        self.num_blocks = num_blocks
        for p in range(self.num_pathways):
            for i in range(num_blocks):
                block = ResBlock3d(
                    dims_in[p] if i == 0 else dims_out[p],
                    dims_out[p],
                    dims_inner[p],
                    temporal_kernels[p],
                    stride if i == 0 else 1,
                )
                self.add_module(f"pathway{p}_res{i}", block)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        outputs = []
        for p, x in enumerate(xs):
            for i in range(self.num_blocks):
                x = getattr(self, f"pathway{p}_res{i}")(x)
            outputs.append(x)
        return outputs


class VideoStem3d(nn.Module):
    """Per-pathway stem ``pathway{p}_stem``: ``Conv3d((t, 7, 7), s=(1, 2, 2))`` → BN → ReLU → spatial max-pool.

    ``forward(list of (B, C_in, T_p, H, W))`` → list of ``(B, C_out[p], T_p, ⌈H/4⌉, ⌈W/4⌉)``.
    """

    def __init__(self, dims_in: Sequence[int], dims_out: Sequence[int], temporal_kernels: Sequence[int]) -> None:
        super().__init__()
        self.num_pathways = len(dims_in)
        for p in range(self.num_pathways):
            stem = nn.Module()
            t = temporal_kernels[p]
            stem.conv = nn.Conv3d(
                dims_in[p], dims_out[p], (t, 7, 7), stride=(1, 2, 2), padding=(t // 2, 3, 3), bias=False
            )
            stem.bn = _bn(dims_out[p])
            self.add_module(f"pathway{p}_stem", stem)
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        outputs = []
        for p, x in enumerate(xs):
            stem = getattr(self, f"pathway{p}_stem")
            outputs.append(self.pool(self.relu(stem.bn(stem.conv(x)))))
        return outputs


def resnet3d_output_size(size: int) -> int:
    """Spatial size of the res5 map for an input of ``size`` pixels (stem conv, max-pool and three stride-2
    stages, each ``⌊(n + 2p − k)/s⌋ + 1``): 225 → 8, 224 → 7, 65 → 3."""
    size = (size + 6 - 7) // 2 + 1  # stem conv 7×7, s2, p3
    size = (size + 2 - 3) // 2 + 1  # max-pool 3×3, s2, p1
    for _ in range(3):  # res3..res5: 3×3 conv, s2, p1
        size = (size + 2 - 3) // 2 + 1
    return size


class ResNet3d(nn.Module):
    """Single-pathway 3D ResNet (C2D / I3D / Slow family) without head: the PNR/OSCC backbone.

    Args:
        depth_blocks: blocks per stage res2..res5 (ResNet-50: ``(3, 4, 6, 3)``).
        width: width per group ``w`` (64); res5 has ``32·w`` channels.
        temporal_kernels: temporal kernel of the stem and of res2..res5. ``slow_layer5`` (the Ego4D PNR/OSCC
            baseline) is ``(3, 3, 3, 3, 3)``: 3 everywhere, hence "I3D" in the papers.
        in_channels: input channels (3).

    ``forward(x (B, 3, T, H, W))`` → res5 features ``(B, 32·w, T, H', W')`` (``H' =``
    :func:`resnet3d_output_size` ``(H)``).
    """

    def __init__(
        self,
        depth_blocks: Sequence[int] = RESNET_STAGE_DEPTHS[50],
        width: int = 64,
        temporal_kernels: Sequence[int] = (3, 3, 3, 3, 3),
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if len(depth_blocks) != 4 or len(temporal_kernels) != 5:
            raise ValueError(
                f"ResNet3d needs 4 stage depths and 5 temporal kernels, got {tuple(depth_blocks)} and {tuple(temporal_kernels)}."
            )
        self.out_channels = width * 32
        self.s1 = VideoStem3d([in_channels], [width], [temporal_kernels[0]])
        dims = [width, width * 4, width * 8, width * 16, width * 32]
        for index, (blocks, stride) in enumerate(zip(depth_blocks, (1, 2, 2, 2))):
            stage = ResStage3d(
                [dims[index]], [dims[index + 1]], [width * 2**index], [temporal_kernels[index + 1]], blocks, stride
            )
            self.add_module(f"s{index + 2}", stage)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The official "pathway0_pool" between s2 and s3 is a 1×1×1 max-pool for slow_layer5: an identity.
        xs = self.s5(self.s4(self.s3(self.s2(self.s1([x])))))
        return xs[0]

"""Task networks of the Ego4D human–object-interaction baselines: PNR / OSCC (I3D ResNet-50) and AR (SlowFast).

Each network is backbone + head, exposes the temporal token sequence EgoT2 translates (``tokens``; spec §2.1), and
keeps the released checkpoints' module names (``head_1``/``head_2`` aside, see :mod:`mthub.conversion.ego4d_ts`).

PNR / OSCC (Ego4D ``KeyframeLocalizationResNet`` / ``StateChangeClsResNet``, arch ``slow_layer5``)
    res5 ``(B, 2048, 16, 8, 8)`` → ``AvgPool3d((t, 7, 7), stride 1)`` → ``(B, 2048, T', 2, 2)`` → ``(B, T', 2, 2, 2048)``
    flattened with channels fastest → ``(B, T', 8192)`` → dropout → ``Linear(8192, K)``. PNR pools ``t = 1`` and
    predicts one logit per frame (``K = 1`` → ``(B, 16)``); OSCC pools all 16 frames (``t = 16``) into one 2-way
    prediction (``(B, 2)``). EgoT2 tokens: the ``(B, 16, 8192)`` cells *before* temporal pooling (OSCC's
    ``NO_TEMP_POOL``).

AR (Ego4D ``MultiTaskSlowFast``)
    res5 slow ``(B, 2048, 8, 7, 7)`` and fast ``(B, 256, 32, 7, 7)`` → ``AvgPool3d`` over ``(8, 7, 7)`` /
    ``(32, 7, 7)`` with stride 1 → concatenated ``(B, n, 2304)`` positions (``n = 1`` at 224²) → dropout →
    ``Linear(2304, 115)`` (verbs) and ``Linear(2304, 478)`` (nouns) → mean over positions. At a 256² test crop the
    res5 maps are 8×8 and the four 7×7 windows are averaged after the projection, as the official fully
    convolutional test. EgoT2 tokens: slow spatial mean ``(B, 8, 2048)`` and fast ``AdaptiveAvgPool3d((8, 1, 1))``
    ``(B, 8, 256)`` → 16 tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .resnet3d import RESNET_STAGE_DEPTHS, ResNet3d, resnet3d_output_size
from .slowfast import SlowFast

__all__ = ["I3DClipNet", "MultiProjectionHead", "SlowFastRecognitionNet", "avg_pool3d"]


def avg_pool3d(x: torch.Tensor, kernel: Sequence[int]) -> torch.Tensor:
    """``F.avg_pool3d(x, kernel, stride=1)``; on CPU, half-precision inputs are pooled in float32 (PyTorch has no
    CPU bf16/fp16 ``avg_pool3d`` kernel) and cast back, so bf16 models also run on CPU."""
    if x.device.type == "cpu" and x.dtype in (torch.bfloat16, torch.float16):
        return F.avg_pool3d(x.float(), tuple(kernel), stride=1).to(x.dtype)
    return F.avg_pool3d(x, tuple(kernel), stride=1)


class _CellHead(nn.Module):
    """``AvgPool3d((t, k, k), stride 1)`` + dropout + ``Linear(C·cells, K)``, cells flattened ``(h, w, c)`` with c
    fastest (the official ``ResNetKeyframeLocalizationHead``; 8192 = 2048·2·2 at 225²)."""

    def __init__(self, in_features: int, num_outputs: int, pool: Sequence[int], dropout: float) -> None:
        super().__init__()
        self.pool = tuple(pool)
        self.dropout = nn.Dropout(dropout)
        self.projection = nn.Linear(in_features, num_outputs)

    def cells(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T, H, W)`` → pooled cells ``(B, T', h·w·C)``."""
        x = avg_pool3d(x, self.pool).permute(0, 2, 3, 4, 1)
        return self.dropout(x).flatten(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(self.cells(x))


class I3DClipNet(nn.Module):
    """I3D ResNet (``slow_layer5``) + cell head: the Ego4D PNR (``num_outputs=1``, ``temporal_pool=1``) and OSCC
    (``num_outputs=2``, ``temporal_pool=num_frames``) baselines.

    Args:
        num_outputs: head outputs per (pooled) time step.
        num_frames: frames per clip (16 = 8 s at 2 fps).
        image_size: square input size (225: res5 is 8×8, so 7×7 pooling leaves 2×2 cells).
        temporal_pool: temporal size of the head's average pool (1 for PNR, ``num_frames`` for OSCC).
        depth_blocks, width, temporal_kernels: see :class:`~mthub.backbones.ego4d.resnet3d.ResNet3d`.
        dropout: head dropout (``MODEL.DROPOUT_RATE`` 0.5).

    ``forward(pixel_values (B, 3, T, H, W))`` → ``(B, T', num_outputs)`` (``T' = T - temporal_pool + 1``). Input
    values are raw 0–255 RGB: the official loaders do not normalise.
    """

    def __init__(
        self,
        num_outputs: int,
        num_frames: int = 16,
        image_size: int = 225,
        temporal_pool: int = 1,
        depth_blocks: Sequence[int] = RESNET_STAGE_DEPTHS[50],
        width: int = 64,
        temporal_kernels: Sequence[int] = (3, 3, 3, 3, 3),
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.backbone = ResNet3d(depth_blocks, width, temporal_kernels)
        res5 = resnet3d_output_size(image_size)
        kernel = image_size // 32  # the official CROP_SIZE // 32
        if kernel < 1 or kernel > res5:
            raise ValueError(
                f"image_size={image_size} gives a {res5}×{res5} res5 map; the {kernel}×{kernel} head pool does not fit."
            )
        if not 1 <= temporal_pool <= num_frames:
            raise ValueError(f"temporal_pool={temporal_pool} must lie in [1, num_frames={num_frames}].")
        self.num_cells = (res5 - kernel + 1) ** 2
        self.token_dim = self.backbone.out_channels * self.num_cells
        self.head = _CellHead(self.token_dim, num_outputs, (temporal_pool, kernel, kernel), dropout)
        self._cell_kernel = (1, kernel, kernel)

    def tokens(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """EgoT2 tokens: res5 cells before temporal pooling, ``(B, T, C·cells)`` (``(B, 16, 8192)``)."""
        x = self.backbone(pixel_values)
        return avg_pool3d(x, self._cell_kernel).permute(0, 2, 3, 4, 1).flatten(2)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(pixel_values))


class MultiProjectionHead(nn.Module):
    """Pool each pathway (``AvgPool3d`` with stride 1, or global when ``pool_sizes[p] is None``), concatenate the
    channels, dropout, then one ``Linear`` per output group (``projections.{i}``), averaged over the remaining
    spatio-temporal positions (the official ``MultiTaskHead`` in its test mode without activation).

    ``forward(list of (B, C_p, T_p, H, W))`` → list of ``(B, K_i)``.
    """

    def __init__(
        self,
        dims_in: Sequence[int],
        num_classes: Sequence[int],
        pool_sizes: Sequence[Sequence[int] | None],
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if len(dims_in) != len(pool_sizes):
            raise ValueError(f"{len(dims_in)} pathway widths but {len(pool_sizes)} pool sizes.")
        self.pool_sizes = [None if size is None else tuple(size) for size in pool_sizes]
        self.dropout = nn.Dropout(dropout)
        self.projections = nn.ModuleList(nn.Linear(sum(dims_in), n) for n in num_classes)

    def pooled(self, xs: Sequence[torch.Tensor]) -> torch.Tensor:
        """``(B, n, ΣC)`` pooled positions (after dropout)."""
        pooled = []
        for x, size in zip(xs, self.pool_sizes):
            x = F.adaptive_avg_pool3d(x, 1) if size is None else avg_pool3d(x, size)
            pooled.append(x)
        x = torch.cat(pooled, dim=1).permute(0, 2, 3, 4, 1).flatten(1, 3)
        return self.dropout(x)

    def forward(self, xs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        x = self.pooled(xs)
        return [projection(x).mean(dim=1) for projection in self.projections]


class SlowFastRecognitionNet(nn.Module):
    """SlowFast + verb/noun heads: the Ego4D action-recognition baseline (``MultiTaskSlowFast``, 63.3 M).

    Args:
        num_classes: classes per head (``(115, 478)`` verbs, nouns in Ego4D v1).
        num_frames: fast-pathway frames (32); the slow pathway takes ``num_frames / alpha``.
        crop_size: training crop (224); sets the head's pooling window ``crop_size // 32``.
        dropout: head dropout (0.5).
        **slowfast_kwargs: :class:`~mthub.backbones.ego4d.slowfast.SlowFast` arguments (depth, width, α, β⁻¹ …).

    ``forward([slow (B, 3, T/α, H, W), fast (B, 3, T, H, W)])`` → ``[verb (B, 115), noun (B, 478)]``.
    """

    def __init__(
        self,
        num_classes: Sequence[int] = (115, 478),
        num_frames: int = 32,
        crop_size: int = 224,
        dropout: float = 0.5,
        **slowfast_kwargs,
    ) -> None:
        super().__init__()
        self.backbone = SlowFast(**slowfast_kwargs)
        alpha = self.backbone.alpha
        if num_frames % alpha:
            raise ValueError(f"num_frames={num_frames} must be a multiple of alpha={alpha}.")
        self.num_frames = num_frames
        side = crop_size // 32
        self.head = MultiProjectionHead(
            self.backbone.out_channels,
            num_classes,
            [(num_frames // alpha, side, side), (num_frames, side, side)],
            dropout,
        )

    def features(self, pathways: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """res5 ``[slow (B, 32w, T/α, h, w), fast (B, 4w, T, h, w)]``."""
        return self.backbone(list(pathways))

    def tokens(self, pathways: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """EgoT2 tokens: slow ``(B, T/α, 2048)`` (spatial mean) and fast ``(B, T/α, 256)`` (fast pooled to the
        slow frame count)."""
        slow, fast = self.features(pathways)
        slow_tokens = slow.mean(dim=(3, 4)).transpose(1, 2)
        fast_tokens = F.adaptive_avg_pool3d(fast, (slow.shape[2], 1, 1)).flatten(2).transpose(1, 2)
        return slow_tokens, fast_tokens

    def forward(self, pathways: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return self.head(self.features(pathways))

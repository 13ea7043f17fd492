"""Patch and tubelet embeddings."""

from __future__ import annotations

import torch
from torch import nn


class TubeletEmbedding(nn.Module):
    """Non-overlapping 3-D patches (tubelets) → tokens, as in ViViT / VideoMAE.

    Shapes: ``pixel_values (B, T, C, H, W) → (B, T/t · H/p · W/p, dim)``, tokens ordered time-major
    (``grid = (T/t, H/p, W/p)`` is returned alongside).
    """

    def __init__(self, in_channels: int, dim: int, patch_size: int, tubelet_size: int = 1) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.tubelet_size = tubelet_size
        self.proj = nn.Conv3d(
            in_channels, dim, kernel_size=(tubelet_size, patch_size, patch_size), stride=(tubelet_size, patch_size, patch_size)
        )

    def forward(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int]]:
        if pixel_values.dim() != 5:
            raise ValueError(f"TubeletEmbedding expects (B, T, C, H, W) pixel_values, got shape {tuple(pixel_values.shape)}.")
        batch, frames, channels, height, width = pixel_values.shape
        if frames % self.tubelet_size or height % self.patch_size or width % self.patch_size:
            raise ValueError(
                f"pixel_values of shape {tuple(pixel_values.shape)}: T must be a multiple of tubelet_size="
                f"{self.tubelet_size} and H, W multiples of patch_size={self.patch_size}."
            )
        embeddings = self.proj(pixel_values.transpose(1, 2))  # (B, dim, T', H', W')
        grid = tuple(embeddings.shape[2:])
        return embeddings.flatten(2).transpose(1, 2), grid

"""Pre-norm transformer encoder block (ViT style) built from the shared attention and MLP."""

from __future__ import annotations

import torch
from timm.layers import DropPath
from torch import nn
from transformers.modeling_layers import GradientCheckpointingLayer

from .attention import MultiHeadAttention
from .mlp import MLP


class TransformerEncoderBlock(GradientCheckpointingLayer):
    """``x + DropPath(Attn(LN(x)))`` then ``x + DropPath(MLP(LN(x)))``.

    Shapes: ``(B, L, dim) → (B, L, dim)``; attention weights ``(B, H, L, L)`` with the eager kernel, else ``None``.
    Subclassing transformers' ``GradientCheckpointingLayer`` makes ``model.gradient_checkpointing_enable()`` work.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: float = 0.0,
        act: str = "gelu",
        layer_norm_eps: float = 1e-6,
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=layer_norm_eps)
        self.attn = MultiHeadAttention(dim, num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=layer_norm_eps)
        self.mlp = MLP(dim, int(dim * mlp_ratio), act=act, drop=drop)

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        attn_implementation: str | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        attended, weights = self.attn(
            self.norm1(hidden_states), attention_mask=attention_mask, attn_implementation=attn_implementation
        )
        hidden_states = hidden_states + self.drop_path(attended)
        hidden_states = hidden_states + self.drop_path(self.mlp(self.norm2(hidden_states)))
        return hidden_states, weights

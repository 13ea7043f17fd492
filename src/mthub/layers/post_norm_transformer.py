"""Post-norm transformer encoder / decoder layers (the "Attention is all you need" layout of ``torch.nn``'s
``TransformerEncoderLayer`` / ``TransformerDecoderLayer`` with ``norm_first=False``), built on the shared
:class:`~mthub.layers.MultiHeadAttention` so that they run on SDPA or eager kernels (eager returns attention
maps) and stay ``torch.compile`` / bf16-autocast friendly.

Numerically they are the stock layers: ``x = LN1(x + Drop(SelfAttn(x)))``, (decoder: ``x = LN2(x +
Drop(CrossAttn(x, memory)))``), ``x = LN(x + Drop(W2 Drop(act(W1 x))))``; attention dropout equals the layer's
dropout, as ``nn.MultiheadAttention(dropout=p)`` inside the stock layers. The stock fused ``in_proj_weight``
``(3D, D)`` corresponds to ``cat([q_proj.weight, k_proj.weight, v_proj.weight])``.

Shapes are batch-first: ``(B, L, D)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from transformers.activations import ACT2FN
from transformers.modeling_layers import GradientCheckpointingLayer

from .attention import MultiHeadAttention

__all__ = ["PostNormDecoderLayer", "PostNormEncoderLayer", "causal_attention_mask", "sinusoidal_position_table"]


def sinusoidal_position_table(length: int, dim: int, device=None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The fixed sinusoidal table ``(length, dim)`` of Vaswani et al. (2017), Sec. 3.5: ``sin`` on even and
    ``cos`` on odd channels, ``PE[p, 2i] = sin(p / 10000^(2i/dim))``.

    Computed on the fly instead of stored as a buffer: it is a function of the shape only, so it never needs
    initialising after a meta-device or ``from_pretrained`` load. Values equal the rows of the 1000-row buffers
    that PyTorch tutorials (and checkpoints built from them) store.
    """
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim, device=device, dtype=torch.float32)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div[: dim // 2])
    return table.to(dtype)


def causal_attention_mask(length: int, device=None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Additive causal mask ``(1, 1, length, length)``: 0 on and below the diagonal, the dtype's minimum above
    (position ``i`` attends to ``j ≤ i``)."""
    blocked = torch.ones(length, length, dtype=torch.bool, device=device).triu(1)
    mask = torch.zeros(length, length, dtype=dtype, device=device).masked_fill(blocked, torch.finfo(dtype).min)
    return mask[None, None]


class _FeedForward(nn.Module):
    """``linear2(dropout(act(linear1(x))))`` with the stock layers' attribute names."""

    def __init__(self, dim: int, ffn_dim: int, dropout: float, activation: str) -> None:
        super().__init__()
        self.linear1 = nn.Linear(dim, ffn_dim)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(ffn_dim, dim)
        self.activation = ACT2FN[activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


class _PostNormLayer(GradientCheckpointingLayer):
    """What the post-norm encoder and decoder layers share: the sub-layers ``self_attn`` [``cross_attn``] ``mlp``
    in this order, the ``i``-th followed by ``dropout{i}``, a residual and ``norm{i}`` (the stock layers' names, so
    ``state_dict`` keys match ``nn.TransformerEncoderLayer`` / ``nn.TransformerDecoderLayer``).

    Args:
        dim: model width ``D``.
        num_heads: attention heads (must divide ``dim``).
        ffn_dim: hidden width of the feed-forward block (PyTorch's default is 2048).
        dropout: dropout on the attention weights, after attention, inside and after the FFN.
        activation: FFN activation (``"relu"``, as the stock layer).
        layer_norm_eps: LayerNorm epsilon (1e-5, as the stock layer).
    """

    #: Whether the layer attends to a ``memory`` between self-attention and FFN (the decoder).
    has_cross_attention = False

    def __init__(
        self,
        dim: int,
        num_heads: int,
        ffn_dim: int = 2048,
        dropout: float = 0.1,
        activation: str = "relu",
        layer_norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        sublayers: dict[str, nn.Module] = {"self_attn": MultiHeadAttention(dim, num_heads, attn_drop=dropout)}
        if self.has_cross_attention:
            sublayers["cross_attn"] = MultiHeadAttention(dim, num_heads, attn_drop=dropout)
        sublayers["mlp"] = _FeedForward(dim, ffn_dim, dropout, activation)
        for index, (name, module) in enumerate(sublayers.items(), start=1):
            self.add_module(name, module)
            self.add_module(f"dropout{index}", nn.Dropout(dropout))
            self.add_module(f"norm{index}", nn.LayerNorm(dim, eps=layer_norm_eps))
        self._ffn_index = len(sublayers)

    def _self_attention_block(
        self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None, attn_implementation: str | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``norm1(x + dropout1(self_attn(x)))`` and the attention weights (eager kernel) or ``None``."""
        attended, weights = self.self_attn(hidden_states, attention_mask=attention_mask, attn_implementation=attn_implementation)
        return self.norm1(hidden_states + self.dropout1(attended)), weights

    def _feed_forward_block(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """``norm_k(x + dropout_k(mlp(x)))`` with ``k`` the last sub-layer (2 in the encoder, 3 in the decoder)."""
        dropout, norm = getattr(self, f"dropout{self._ffn_index}"), getattr(self, f"norm{self._ffn_index}")
        return norm(hidden_states + dropout(self.mlp(hidden_states)))


class PostNormEncoderLayer(_PostNormLayer):
    """Post-norm encoder layer: ``x = norm1(x + drop(attn(x)))``, ``x = norm2(x + drop(ffn(x)))``.

    Constructor arguments: see :class:`_PostNormLayer` (``dim, num_heads, ffn_dim=2048, dropout=0.1,
    activation="relu", layer_norm_eps=1e-5``).

    ``forward(x (B, L, D), attention_mask=None, attn_implementation=None)`` → ``((B, L, D), weights)`` where
    ``weights`` is ``(B, H, L, L)`` with the eager kernel, else ``None``. ``attention_mask`` is a boolean keep-mask
    ``(B, L)`` / ``(B, L, L)`` or an additive float mask (see :class:`~mthub.layers.MultiHeadAttention`).
    """

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        attn_implementation: str | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        hidden_states, weights = self._self_attention_block(hidden_states, attention_mask, attn_implementation)
        return self._feed_forward_block(hidden_states), weights


class PostNormDecoderLayer(_PostNormLayer):
    """Post-norm decoder layer (masked self-attention, cross-attention to ``memory``, FFN), each followed by
    dropout, a residual and a LayerNorm. Constructor arguments: see :class:`_PostNormLayer`.

    ``forward(x (B, Lq, D), memory (B, Lk, D), self_attention_mask, memory_mask, attn_implementation)`` →
    ``((B, Lq, D), self-attention weights, cross-attention weights)``; weights ``(B, H, Lq, Lq)`` and
    ``(B, H, Lq, Lk)`` with the eager kernel, else ``None``.
    """

    has_cross_attention = True

    def forward(
        self,
        hidden_states: torch.Tensor,
        memory: torch.Tensor,
        self_attention_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
        attn_implementation: str | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        hidden_states, self_weights = self._self_attention_block(hidden_states, self_attention_mask, attn_implementation)
        attended, cross_weights = self.cross_attn(
            hidden_states, context=memory, attention_mask=memory_mask, attn_implementation=attn_implementation
        )
        hidden_states = self.norm2(hidden_states + self.dropout2(attended))
        return self._feed_forward_block(hidden_states), self_weights, cross_weights

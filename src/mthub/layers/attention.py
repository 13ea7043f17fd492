"""Multi-head attention with pluggable kernels (transformers' attention interface).

``attn_implementation`` follows transformers: ``"sdpa"`` (default; :func:`torch.nn.functional.scaled_dot_product_attention`
through ``transformers.modeling_utils.ALL_ATTENTION_FUNCTIONS``), ``"eager"`` (:func:`eager_attention_forward`,
needed to return attention maps), or any kernel registered with transformers (flash, flex). Models pass
``config._attn_implementation`` down; layers know no particular model.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS


def eager_attention_forward(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference attention in plain matmuls.

    Args:
        query: ``(B, H, Lq, D)``; key/value: ``(B, H, Lk, D)``.
        attention_mask: additive float mask broadcastable to ``(B, H, Lq, Lk)`` (``-inf``/min-float = blocked).

    Returns:
        ``(B, Lq, H, D)`` outputs (the layout of transformers' kernels) and ``(B, H, Lq, Lk)`` attention weights.
    """
    scaling = query.shape[-1] ** -0.5 if scaling is None else scaling
    scores = torch.matmul(query, key.transpose(-2, -1)) * scaling
    if attention_mask is not None:
        scores = scores + attention_mask
    # Softmax in fp32 keeps bf16 autocast numerically safe.
    weights = torch.softmax(scores.float(), dim=-1).to(query.dtype)
    weights = nn.functional.dropout(weights, p=dropout, training=module.training)
    return torch.matmul(weights, value).transpose(1, 2).contiguous(), weights


def to_additive_mask(mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """Turn a boolean keep-mask (``True`` = attend) of shape ``(B, Lk)`` or ``(B, Lq, Lk)`` into an additive float
    mask of shape ``(B, 1, Lq|1, Lk)``. Float masks pass through unchanged."""
    if mask is None or mask.is_floating_point():
        return mask
    if mask.dim() == 2:
        mask = mask[:, None, None, :]
    elif mask.dim() == 3:
        mask = mask[:, None, :, :]
    blocked = torch.finfo(dtype).min
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(~mask, blocked)


def attention_function(implementation: str | None):
    """Resolve an attention kernel by name (``None``/``"sdpa"`` → SDPA, ``"eager"`` → :func:`eager_attention_forward`)."""
    implementation = implementation or "sdpa"
    if implementation == "eager":
        return eager_attention_forward
    return ALL_ATTENTION_FUNCTIONS.get_interface(implementation, eager_attention_forward)


class MultiHeadAttention(nn.Module):
    """Multi-head (self- or cross-) attention.

    Args:
        dim: model width ``C``; ``num_heads`` must divide it.
        kv_dim: width of the key/value input for cross-attention (defaults to ``dim``).
        qkv_bias: bias on the q/k/v projections.
        attn_drop: dropout on attention weights (training only); proj_drop: dropout after the output projection.

    Shapes:
        ``hidden_states (B, Lq, C)``, ``context (B, Lk, kv_dim)`` (``None`` = self-attention),
        ``attention_mask`` bool ``(B, Lk)``/``(B, Lq, Lk)`` (``True`` = attend) or additive float ``(B, 1, Lq, Lk)``
        → ``(B, Lq, C)`` and, for eager, weights ``(B, H, Lq, Lk)``.
    """

    is_causal = False

    def __init__(
        self,
        dim: int,
        num_heads: int,
        kv_dim: int | None = None,
        qkv_bias: bool = True,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
    ) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"MultiHeadAttention: dim={dim} is not divisible by num_heads={num_heads}.")
        kv_dim = dim if kv_dim is None else kv_dim
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scaling = self.head_dim**-0.5
        self.q_proj = nn.Linear(dim, dim, bias=qkv_bias)
        self.k_proj = nn.Linear(kv_dim, dim, bias=qkv_bias)
        self.v_proj = nn.Linear(kv_dim, dim, bias=qkv_bias)
        self.out_proj = nn.Linear(dim, dim)
        self.attn_drop = attn_drop
        self.proj_drop = nn.Dropout(proj_drop)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(
        self,
        hidden_states: torch.Tensor,
        context: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        attn_implementation: str | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        context = hidden_states if context is None else context
        query = self._split_heads(self.q_proj(hidden_states))
        key = self._split_heads(self.k_proj(context))
        value = self._split_heads(self.v_proj(context))
        mask = to_additive_mask(attention_mask, query.dtype)
        kernel = attention_function(attn_implementation)
        output, weights = kernel(
            self,
            query,
            key,
            value,
            mask,
            scaling=self.scaling,
            dropout=self.attn_drop if self.training else 0.0,
            is_causal=False,
        )
        batch, length = hidden_states.shape[:2]
        output = output.reshape(batch, length, -1)
        return self.proj_drop(self.out_proj(output)), weights

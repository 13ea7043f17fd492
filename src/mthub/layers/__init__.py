"""Shared building blocks (model-agnostic): attention, MLPs, transformer blocks, patch embeddings, prompt tokens."""

from .attention import MultiHeadAttention, attention_function, eager_attention_forward, to_additive_mask
from .mlp import MLP
from .patch_embed import TubeletEmbedding
from .post_norm_transformer import (
    PostNormDecoderLayer,
    PostNormEncoderLayer,
    causal_attention_mask,
    sinusoidal_position_table,
)
from .prompts import TaskPromptTokens
from .transformer import TransformerEncoderBlock

__all__ = [
    "MLP",
    "PostNormDecoderLayer",
    "PostNormEncoderLayer",
    "causal_attention_mask",
    "sinusoidal_position_table",
    "MultiHeadAttention",
    "TaskPromptTokens",
    "TransformerEncoderBlock",
    "TubeletEmbedding",
    "attention_function",
    "eager_attention_forward",
    "to_additive_mask",
]

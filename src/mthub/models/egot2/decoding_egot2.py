"""EgoT2-g's sequence decoder, teacher forcing and greedy decoding (paper Sec. 3.2; spec §2.3).

Every task output is a token sequence ``[prompt, label, </s>]`` (``M = 3``; labels are one token: a PNR digit,
``True``/``False`` or ``0``/``1``, a verb or a noun word). Training feeds ``[prompt, label]`` and predicts
``[label, </s>]`` (teacher forcing): the prompt is never a target — the paper's ``w_1 = 0`` — and the end token
*is* trained, as in the official code (the paper's objective sums over ``j ≥ 2`` of ``M`` without saying whether
``M`` includes ``</s>``). The loss is the mean token cross-entropy (the official ``nn.CrossEntropyLoss`` on
``(B, V, L)`` logits).

Decoder (:class:`EgoT2SequenceDecoder`, the official ``embedding``/``transformer_decoder``/``fc``): token embedding
``× √D`` + sinusoidal positions (+ dropout), ``L`` post-norm decoder layers with a causal mask and cross-attention
to the prompt's memory, then ``Linear(D, V)``. No final norm.

Greedy decoding (:func:`greedy_decode`): start from the prompt, append the argmax token ``max_decode_length`` times.
``constrained=True`` (default) restricts the first step to the task's label tokens and later steps to ``</s>``, so
the prediction never leaves the label space (the official HHI ``predict`` keeps only the logits of ``0``/``1``,
and its PNR metric argmaxes over the 16 digits). ``constrained=False`` is the paper's description: argmax over the
whole vocabulary, a token outside the label space counts as a wrong prediction (class ``-1``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from transformers.utils import ModelOutput

from ...layers.post_norm_transformer import PostNormDecoderLayer, causal_attention_mask, sinusoidal_position_table
from .configuration_egot2 import EgoT2Config

__all__ = ["EgoT2GenerationOutput", "EgoT2SequenceDecoder", "greedy_decode", "teacher_forcing_tokens"]


class EgoT2SequenceDecoder(nn.Module):
    """``forward(input_ids (B', L), memory (B', M, D))`` → ``(logits (B', L, V), self-attn, cross-attn weights)``.

    Parameters: ``embed_tokens`` ``(V, D)``, ``layers.{i}`` (:class:`~mthub.layers.PostNormDecoderLayer`),
    ``lm_head`` ``Linear(D, V)``.
    """

    def __init__(self, config: EgoT2Config) -> None:
        super().__init__()
        self.config = config
        dim = config.hidden_size
        self.embed_tokens = nn.Embedding(config.vocab_size, dim)
        self.embed_scale = math.sqrt(dim)
        self.position_dropout = nn.Dropout(config.position_dropout)
        self.layers = nn.ModuleList(
            PostNormDecoderLayer(dim, config.num_attention_heads, config.ffn_dim, config.dropout, "relu", config.layer_norm_eps)
            for _ in range(config.num_decoder_layers)
        )
        self.lm_head = nn.Linear(dim, config.vocab_size)

    def forward(
        self,
        input_ids: torch.Tensor,
        memory: torch.Tensor,
        attn_implementation: str | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
        if input_ids.dim() != 2:
            raise ValueError(f"decoder input_ids must be (B, L), got {tuple(input_ids.shape)}.")
        length = input_ids.shape[1]
        hidden = self.embed_tokens(input_ids) * self.embed_scale
        hidden = hidden + sinusoidal_position_table(length, hidden.shape[-1], device=hidden.device, dtype=hidden.dtype)
        hidden = self.position_dropout(hidden)
        mask = causal_attention_mask(length, device=hidden.device, dtype=hidden.dtype)
        memory = memory.to(hidden.dtype)
        self_attentions, cross_attentions = (), ()
        for layer in self.layers:
            hidden, self_weights, cross_weights = layer(hidden, memory, mask, None, attn_implementation)
            if output_attentions and cross_weights is not None:
                self_attentions += (self_weights,)
                cross_attentions += (cross_weights,)
        return self.lm_head(hidden), self_attentions, cross_attentions


def teacher_forcing_tokens(
    labels: torch.Tensor, prompt_id: int, label_token_ids: torch.Tensor, eos_id: int, pad_id: int, ignore_index: int = -100
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decoder inputs and targets of ``[prompt, label, </s>]`` sequences.

    Args:
        labels: ``(B',)`` class indices in label space; ``ignore_index`` marks samples without a label.
        label_token_ids: ``(K,)`` token of every class.

    Returns:
        ``input_ids (B', 2) = [prompt, label_token]`` and ``targets (B', 2) = [label_token, </s>]``, targets
        ``ignore_index`` for unlabelled samples (whose ``label_token`` input is ``pad_id``, never scored).
    """
    valid = labels != ignore_index
    num_classes = label_token_ids.shape[0]
    if labels.device.type != "meta" and not torch.compiler.is_compiling():  # a value check: one host sync
        bad = ((labels < 0) | (labels >= num_classes)) & valid
        if bool(bad.any()):
            raise ValueError(f"labels outside [0, {num_classes}) (and not {ignore_index}): {labels[bad].unique().tolist()[:8]}.")
    tokens = label_token_ids[labels.clamp(0, num_classes - 1)]
    tokens = torch.where(valid, tokens, torch.full_like(tokens, pad_id))
    prompt = torch.full_like(tokens, prompt_id)
    eos = torch.full_like(tokens, eos_id)
    input_ids = torch.stack([prompt, tokens], dim=1)
    targets = torch.stack([tokens, eos], dim=1)
    targets = torch.where(valid[:, None], targets, torch.full_like(targets, ignore_index))
    return input_ids, targets


@dataclass
class EgoT2GenerationOutput(ModelOutput):
    """Greedy decoding of one EgoT2-g prompt.

    Args:
        sequences (`torch.LongTensor` of shape `(B', 1 + n)`): prompt + decoded tokens.
        predictions (`torch.LongTensor` of shape `(B',)` or `(B, T)` for per-frame prompts): class index in
            label space; ``-1`` when the first decoded token is outside the task's label space (unconstrained).
        label_scores (`torch.FloatTensor` of shape `(B', K)` or `(B, T, K)`): first-step logits of the ``K``
            label tokens (the official HHI ``predict`` output; softmax them for mAP).
        first_step_logits (`torch.FloatTensor` of shape `(B', V)`): first-step logits over the vocabulary.
    """

    sequences: torch.LongTensor | None = None
    predictions: torch.LongTensor | None = None
    label_scores: torch.FloatTensor | None = None
    first_step_logits: torch.FloatTensor | None = None


@torch.no_grad()
def greedy_decode(
    decoder: EgoT2SequenceDecoder,
    memory: torch.Tensor,
    prompt_id: int,
    label_token_ids: torch.Tensor,
    eos_id: int,
    max_decode_length: int = 2,
    constrained: bool = True,
    attn_implementation: str | None = None,
) -> EgoT2GenerationOutput:
    """Argmax decoding from ``[prompt]`` over ``memory (B', M, D)`` (module docstring)."""
    batch = memory.shape[0]
    vocab = decoder.config.vocab_size
    sequences = torch.full((batch, 1), prompt_id, dtype=torch.long, device=memory.device)
    label_set = torch.zeros(vocab, dtype=torch.bool, device=memory.device)
    label_set[label_token_ids] = True
    first_logits = None
    for step in range(max_decode_length):
        logits = decoder(sequences, memory, attn_implementation)[0][:, -1].float()  # (B', V)
        if step == 0:
            first_logits = logits
        if constrained:
            allowed = label_set if step == 0 else torch.zeros_like(label_set).index_fill_(0, torch.tensor([eos_id], device=memory.device), True)
            logits = logits.masked_fill(~allowed, float("-inf"))
        sequences = torch.cat([sequences, logits.argmax(dim=-1, keepdim=True)], dim=1)
    # token → class index (−1 outside the label space)
    token_to_class = torch.full((vocab,), -1, dtype=torch.long, device=memory.device)
    token_to_class[label_token_ids] = torch.arange(label_token_ids.shape[0], device=memory.device)
    predictions = token_to_class[sequences[:, 1]]
    return EgoT2GenerationOutput(
        sequences=sequences,
        predictions=predictions,
        label_scores=first_logits[:, label_token_ids],
        first_step_logits=first_logits,
    )

"""The Ego4D long-term action anticipation baseline (``ForecastingEncoderDecoder``: SlowFast + transformer
aggregator + multi-head decoder), spec §2.1.

Pipeline for ``N_in`` observed action clips (2) and ``Z`` future actions (20):

1. Each clip goes through a SlowFast 8×8 R101 whose head projects the pooled 2304 channels to ``D`` = 2048
   (``backbone.head.projection``, dropout 0.5). The SlowFast body is frozen in the baseline
   (``MODEL.FREEZE_BACKBONE``); its head is trained.
2. :class:`TransformerAggregator`: the ``N_in`` clip features get sinusoidal positions (dropout 0.2) and pass
   through ``L`` = 6 post-norm ``nn.TransformerEncoderLayer`` (8 heads, FFN 2048, dropout 0.1, ReLU) and a final
   LayerNorm. The last position summarises the observation. EgoT2 tokens: all ``N_in`` outputs ``(B, 2, 2048)``.
3. Decoder: dropout 0.5 and ``Z`` independent ``Linear(D, 115 + 478)`` (``decoder.head.projections.{z}``), split
   into verb and noun logits.

Parameters (Table 2 "180 (242)"): 61.9 M frozen SlowFast body; 4.7 M head + 151.1 M aggregator + 24.3 M decoder
trainable.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ...layers.post_norm_transformer import sinusoidal_position_table
from .hoi import MultiProjectionHead
from .slowfast import SlowFast

__all__ = ["SlowFastForecastingNet", "TransformerAggregator", "sinusoidal_positions"]


#: The "Attention is all you need" table ``(length, dim)`` (``sin`` on even, ``cos`` on odd channels), computed on
#: the fly instead of stored as the official 1000-row buffer (its values equal the buffer's first rows). The layers'
#: implementation under this module's historical name.
sinusoidal_positions = sinusoidal_position_table


class TransformerAggregator(nn.Module):
    """Sinusoidal positions + ``num_layers`` stock post-norm ``nn.TransformerEncoderLayer`` + final LayerNorm.

    Args:
        dim: token width (2048).
        num_heads: attention heads (8).
        num_layers: encoder layers (6).
        ffn_dim: FFN width (2048, PyTorch's default that the baseline keeps).
        dropout: transformer dropout (0.1); ``position_dropout`` after adding positions (0.2).

    ``forward(x (B, N, D))`` → ``(B, N, D)``. Parameter names (``encoder.layers.{i}.self_attn.in_proj_weight``,
    ``encoder.norm``) are those of ``nn.TransformerEncoder``, as in the released checkpoint.
    """

    def __init__(
        self,
        dim: int = 2048,
        num_heads: int = 8,
        num_layers: int = 6,
        ffn_dim: int = 2048,
        dropout: float = 0.1,
        position_dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.dim = dim
        self.position_dropout = nn.Dropout(position_dropout)
        self.encoder = nn.Module()
        self.encoder.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(dim, num_heads, ffn_dim, dropout, batch_first=True) for _ in range(num_layers)
        )
        self.encoder.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + sinusoidal_positions(x.shape[1], self.dim, x.device, x.dtype)
        x = self.position_dropout(x)
        for layer in self.encoder.layers:
            x = layer(x)
        return self.encoder.norm(x)


class SlowFastForecastingNet(nn.Module):
    """SlowFast clip encoder + transformer aggregator + ``Z`` linear heads (the Ego4D LTA baseline).

    Args:
        num_classes: ``(verbs, nouns)`` (115, 478).
        num_future: ``Z`` future actions predicted (20).
        feature_dim: clip feature width ``D`` (``MODEL.MULTI_INPUT_FEATURES`` 2048).
        num_frames, crop_size: clip sampling of the SlowFast (32 fast frames, 224²).
        aggregator_layers, aggregator_heads, aggregator_ffn_dim: :class:`TransformerAggregator` size (6, 8, 2048).
        dropout: head dropout of the clip encoder and the decoder (0.5).
        freeze_backbone: freeze the SlowFast body (not its head), as the baseline does.
        **slowfast_kwargs: :class:`~mthub.backbones.ego4d.slowfast.SlowFast` arguments.

    ``forward([slow (B, N_in, 3, T/α, H, W), fast (B, N_in, 3, T, H, W)])`` →
    ``(verb (B, Z, 115), noun (B, Z, 478))``.
    """

    def __init__(
        self,
        num_classes: Sequence[int] = (115, 478),
        num_future: int = 20,
        feature_dim: int = 2048,
        num_frames: int = 32,
        crop_size: int = 224,
        aggregator_layers: int = 6,
        aggregator_heads: int = 8,
        aggregator_ffn_dim: int = 2048,
        dropout: float = 0.5,
        freeze_backbone: bool = True,
        **slowfast_kwargs,
    ) -> None:
        super().__init__()
        self.num_classes = tuple(num_classes)
        self.num_future = num_future
        self.backbone = SlowFast(**slowfast_kwargs)
        alpha, side = self.backbone.alpha, crop_size // 32
        # The clip encoder's head: the official ResNetBasicHead (one projection, no activation) ==
        # a one-group MultiProjectionHead; registered as ``backbone.head`` like the checkpoint.
        self.backbone.head = MultiProjectionHead(
            self.backbone.out_channels,
            [feature_dim],
            [(num_frames // alpha, side, side), (num_frames, side, side)],
            dropout,
        )
        self.clip_aggregator = TransformerAggregator(
            feature_dim, aggregator_heads, aggregator_layers, aggregator_ffn_dim
        )
        self.decoder = nn.Module()
        self.decoder.head = MultiProjectionHead([feature_dim], [sum(self.num_classes)] * num_future, [None], dropout)
        if freeze_backbone:
            for name, parameter in self.backbone.named_parameters():
                if not name.startswith("head."):
                    parameter.requires_grad_(False)

    def encode_clips(self, pathways: Sequence[torch.Tensor]) -> torch.Tensor:
        """``[slow (B, N, 3, t, H, W), fast (B, N, 3, T, H, W)]`` → clip features ``(B, N, D)``.

        Clips are encoded one at a time, as the baseline does: in training mode BatchNorm then normalises each
        clip position over the batch, exactly as the released model was trained (``N_in`` is 2).
        """
        slow, fast = pathways
        encoded = []
        for index in range(slow.shape[1]):
            (feature,) = self.backbone.head(self.backbone([slow[:, index], fast[:, index]]))
            encoded.append(feature)
        return torch.stack(encoded, dim=1)

    def tokens(self, pathways: Sequence[torch.Tensor]) -> torch.Tensor:
        """EgoT2 tokens: aggregator outputs of every observed clip, ``(B, N_in, D)``."""
        return self.clip_aggregator(self.encode_clips(pathways))

    def decode(self, summary: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, D)`` → ``(verb (B, Z, V), noun (B, Z, N))``."""
        x = summary[:, :, None, None, None]
        logits = torch.stack(self.decoder.head([x]), dim=1)
        verb, noun = torch.split(logits, list(self.num_classes), dim=-1)
        return verb, noun

    def forward(self, pathways: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.decode(self.tokens(pathways)[:, -1])

"""TalkNet (Tao et al., ACM MM 2021), the Ego4D active-speaker-detection baseline (spec §2.1, ASD).

Visual temporal encoder
    grayscale face crops ``(B, T, 112, 112)`` (raw 0–255; normalised inside: ``(x/255 − 0.4161)/0.1688``) →
    ``Conv3d(1→64, (5, 7, 7), s (1, 2, 2))`` + BN + ReLU + max-pool → per-frame 18-layer ResNet (lip-reading
    ``ResNetLayer`` s, 64→512) → global average → ``(B, T, 512)`` → V-TCN (5 depthwise-separable residual
    ``DSConv1d`` blocks with global layer norm) → ``Conv1d(512→256, 5)`` + BN + ReLU + ``Conv1d(256→128, 1)`` →
    ``(B, T, 128)``.
Audio temporal encoder
    MFCC ``(B, 4T, 13)`` (100 Hz at 25 fps, four MFCC frames per video frame) → SE-ResNet-34
    ``[16, 32, 64, 128]`` × ``[3, 4, 6, 3]`` with ``(2, 1)``-strided stem → mean over the cepstral axis →
    ``(B, T, 128)``.
Cross-attention and back end
    ``a' = CrossA2V(src=a, tar=v)``, ``v' = CrossV2A(src=v, tar=a)`` (queries from the other modality, residual on
    the source), ``SelfAV`` over ``[a' ⊕ v']`` → ``(B, T, 256)``: the EgoT2 tokens. Frame logits:
    ``lossAV.FC = Linear(256, 2)``; the auxiliary ``lossA.FC`` / ``lossV.FC = Linear(128, 2)`` heads serve the
    training loss ``L_AV + 0.4·L_A + 0.4·L_V``.

Deviation from the release, on purpose: the released visual front end runs its 3D convolution over all ``B·T``
frames of a batch as one sequence, so the 5-frame temporal kernel mixes the last frames of one track with the
first of the next. Here each track is convolved on its own (identical for ``B = 1``, which is how the official
validation runs).

Module names are snake_case versions of the released ones (``visualFrontend`` → ``visual_frontend``, …); the
converter renames them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .social import make_se_layer

__all__ = ["AttentionLayer", "GlobalLayerNorm", "TalkNet"]

# TalkNet's visual normalisation of grayscale 0..255 faces.
VISUAL_MEAN = 0.4161
VISUAL_STD = 0.1688


def _bn2d(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, momentum=0.01, eps=0.001)


class ResNetLayer(nn.Module):
    """Two pre-activation-style residual halves (the lip-reading ResNet of deep_avsr): ``conv-bn-relu-conv (+skip)
    → bn-relu → conv-bn-relu-conv (+skip) → bn-relu``. The ``downsample`` 1×1 conv exists in every layer (it is in
    the checkpoints) but is used only when ``stride > 1``."""

    def __init__(self, dim_in: int, dim_out: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.conv1a = nn.Conv2d(dim_in, dim_out, 3, stride=stride, padding=1, bias=False)
        self.bn1a = _bn2d(dim_out)
        self.conv2a = nn.Conv2d(dim_out, dim_out, 3, padding=1, bias=False)
        self.downsample = nn.Conv2d(dim_in, dim_out, 1, stride=stride, bias=False)
        if stride == 1:
            # Never used at stride 1 (kept so checkpoints load): frozen, so that DDP does not wait for its gradient.
            self.downsample.weight.requires_grad_(False)
        self.outbna = _bn2d(dim_out)
        self.conv1b = nn.Conv2d(dim_out, dim_out, 3, padding=1, bias=False)
        self.bn1b = _bn2d(dim_out)
        self.conv2b = nn.Conv2d(dim_out, dim_out, 3, padding=1, bias=False)
        self.outbnb = _bn2d(dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2a(F.relu(self.bn1a(self.conv1a(x))))
        out = out + (x if self.stride == 1 else self.downsample(x))
        middle = out
        out = F.relu(self.outbna(out))
        out = self.conv2b(F.relu(self.bn1b(self.conv1b(out))))
        return F.relu(self.outbnb(out + middle))


class VisualFrontend(nn.Module):
    """``(B, 1, T, H, W)`` → ``(B, T, C4)``: 3D stem, 4 :class:`ResNetLayer` s, global average pooling (the released
    ``AvgPool2d(4)`` on the 4×4 map of a 112² input)."""

    def __init__(self, channels: Sequence[int] = (64, 64, 128, 256, 512)) -> None:
        super().__init__()
        self.frontend3D = nn.Sequential(
            nn.Conv3d(1, channels[0], (5, 7, 7), stride=(1, 2, 2), padding=(2, 3, 3), bias=False),
            nn.BatchNorm3d(channels[0], momentum=0.01, eps=0.001),
            nn.ReLU(),
            nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
        )
        self.resnet = nn.Module()
        for index, stride in enumerate((1, 2, 2, 2)):
            self.resnet.add_module(f"layer{index + 1}", ResNetLayer(channels[index], channels[index + 1], stride))
        self.out_channels = channels[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, time = x.shape[:3]
        x = self.frontend3D(x).transpose(1, 2).flatten(0, 1)  # (B·T, C0, h, w)
        for index in range(4):
            x = getattr(self.resnet, f"layer{index + 1}")(x)
        return x.mean(dim=(2, 3)).view(batch, time, -1)


class GlobalLayerNorm(nn.Module):
    """gLN: normalise ``(B, C, T)`` over channels *and* time, then per-channel ``gamma``/``beta`` (1, C, 1)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(1, channels, 1))
        self.beta = nn.Parameter(torch.zeros(1, channels, 1))

    def reset_parameters(self) -> None:
        nn.init.ones_(self.gamma)
        nn.init.zeros_(self.beta)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        mean = y.mean(dim=(1, 2), keepdim=True)
        var = (y - mean).square().mean(dim=(1, 2), keepdim=True)
        return self.gamma * (y - mean) / torch.sqrt(var + 1e-8) + self.beta


class DSConv1d(nn.Module):
    """V-TCN block: ReLU → BN → depthwise ``Conv1d(k=3)`` → PReLU → gLN → pointwise ``Conv1d``, plus identity."""

    def __init__(self, channels: int = 512) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.ReLU(),
            nn.BatchNorm1d(channels),
            nn.Conv1d(channels, channels, 3, padding=1, groups=channels, bias=False),
            nn.PReLU(),
            GlobalLayerNorm(channels),
            nn.Conv1d(channels, channels, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class AttentionLayer(nn.Module):
    """TalkNet's (cross-)attention layer: ``src + MHA(query=tar, key=src, value=src)`` → LN → ReLU FFN (×4) →
    LN, post-norm, dropout 0.1. ``forward(src (B, T, D), tar (B, T, D))`` → ``(B, T, D)``."""

    def __init__(self, dim: int, num_heads: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dim, num_heads, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(dim, dim * 4)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim * 4, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, src: torch.Tensor, tar: torch.Tensor) -> torch.Tensor:
        attended = self.self_attn(tar, src, src, need_weights=False)[0]
        src = self.norm1(src + self.dropout1(attended))
        ffn = self.linear2(self.dropout(F.relu(self.linear1(src))))
        return self.norm2(src + self.dropout2(ffn))


class _LinearHead(nn.Module):
    """Holds ``FC`` so that keys read ``lossAV.FC.weight`` as in the released checkpoints."""

    def __init__(self, dim_in: int, num_classes: int = 2) -> None:
        super().__init__()
        self.FC = nn.Linear(dim_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.FC(x)


class TalkNet(nn.Module):
    """TalkNet audio-visual active speaker detector with its three frame classifiers.

    Args:
        visual_channels: stem + 4 ResNet layer widths (``(64, 64, 128, 256, 512)``).
        tcn_blocks: V-TCN blocks (5).
        visual_hidden: hidden width of the visual ``Conv1d`` pair (256).
        audio_filters, audio_layers: SE-ResNet widths / depths (``(16, 32, 64, 128)``, ``(3, 4, 6, 3)``).
        num_heads: attention heads (8).

    The per-modality width ``D = audio_filters[-1]`` (128) is also the visual output width; the back end runs at
    ``2D`` (256).

    ``forward(faces (B, T, H, W), mfcc (B, 4T, 13))`` → ``{"av": (B, T, 2), "audio": (B, T, 2), "visual": (B, T, 2)}``.
    """

    def __init__(
        self,
        visual_channels: Sequence[int] = (64, 64, 128, 256, 512),
        tcn_blocks: int = 5,
        visual_hidden: int = 256,
        audio_filters: Sequence[int] = (16, 32, 64, 128),
        audio_layers: Sequence[int] = (3, 4, 6, 3),
        num_heads: int = 8,
    ) -> None:
        super().__init__()
        dim = audio_filters[-1]
        self.dim = dim
        self.visual_frontend = VisualFrontend(visual_channels)
        width = visual_channels[-1]
        self.visual_tcn = nn.Module()
        self.visual_tcn.net = nn.Sequential(*(DSConv1d(width) for _ in range(tcn_blocks)))
        self.visual_conv1d = nn.Module()
        self.visual_conv1d.net = nn.Sequential(
            nn.Conv1d(width, visual_hidden, 5, padding=2),
            nn.BatchNorm1d(visual_hidden),
            nn.ReLU(),
            nn.Conv1d(visual_hidden, dim, 1),
        )
        self.audio_encoder = nn.Module()
        self.audio_encoder.conv1 = nn.Conv2d(1, audio_filters[0], 7, stride=(2, 1), padding=3, bias=False)
        self.audio_encoder.bn1 = nn.BatchNorm2d(audio_filters[0])
        widths = [audio_filters[0], *audio_filters]
        for index, (blocks, stride) in enumerate(zip(audio_layers, (1, (2, 2), (2, 2), (1, 1)))):
            self.audio_encoder.add_module(
                f"layer{index + 1}", make_se_layer(widths[index], widths[index + 1], blocks, stride)
            )
        self.cross_a2v = AttentionLayer(dim, num_heads)
        self.cross_v2a = AttentionLayer(dim, num_heads)
        self.self_av = AttentionLayer(2 * dim, num_heads)
        self.lossAV = _LinearHead(2 * dim)
        self.lossA = _LinearHead(dim)
        self.lossV = _LinearHead(dim)

    def encode_visual(self, faces: torch.Tensor) -> torch.Tensor:
        """``(B, T, H, W)`` gray 0–255 → ``(B, T, D)``."""
        x = (faces / 255.0 - VISUAL_MEAN) / VISUAL_STD
        x = self.visual_frontend(x[:, None])  # (B, T, 512)
        x = self.visual_conv1d.net(self.visual_tcn.net(x.transpose(1, 2)))
        return x.transpose(1, 2)

    def encode_audio(self, mfcc: torch.Tensor) -> torch.Tensor:
        """``(B, 4T, 13)`` MFCC → ``(B, T, D)`` (time downsampled 4× by the two stride-2 stages)."""
        enc = self.audio_encoder
        x = F.relu(enc.bn1(enc.conv1(mfcc.transpose(1, 2)[:, None])))
        x = enc.layer4(enc.layer3(enc.layer2(enc.layer1(x))))
        return x.mean(dim=2).transpose(1, 2)

    def backend(self, audio: torch.Tensor, visual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Cross-attention and the AV self-attention: returns ``(av (B, T, 2D), a' (B, T, D), v' (B, T, D))``."""
        audio_c = self.cross_a2v(audio, visual)
        visual_c = self.cross_v2a(visual, audio)
        joint = torch.cat([audio_c, visual_c], dim=2)
        return self.self_av(joint, joint), audio_c, visual_c

    def tokens(self, faces: torch.Tensor, mfcc: torch.Tensor) -> torch.Tensor:
        """EgoT2 tokens: the audio-visual back-end output ``(B, T, 256)``."""
        return self.backend(self.encode_audio(mfcc), self.encode_visual(faces))[0]

    def forward(self, faces: torch.Tensor, mfcc: torch.Tensor) -> dict[str, torch.Tensor]:
        visual = self.encode_visual(faces)
        audio = self.encode_audio(mfcc)
        if audio.shape[1] != visual.shape[1]:
            raise ValueError(
                f"TalkNet: {faces.shape[1]} face frames but {mfcc.shape[1]} MFCC frames give {audio.shape[1]} audio "
                "steps; the MFCC must have 4 frames per video frame."
            )
        av, audio_c, visual_c = self.backend(audio, visual)
        return {"av": self.lossAV(av), "audio": self.lossA(audio_c), "visual": self.lossV(visual_c)}

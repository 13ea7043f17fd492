"""Task networks of the Ego4D social baselines: Looking-at-me (LAM) and Talking-to-me (TTM).

The paper lists both backbones as "3D RN-18" (Table 1); the released models (EGO4D/social-interactions, reused by
EgoT2) are **per-frame 2D ResNet-18 + bidirectional LSTM**, which is what is built here:

* :class:`PerFrameResNet18`: torchvision's ResNet-18 (its 1000-way ``fc`` is the official ``fc1``), ReLU, then
  ``fc2 = Linear(1000, 256)``, applied to every frame: ``(B, T, 3, 224, 224)`` → ``(B, T, 256)``. These pre-LSTM
  features are the EgoT2 tokens of LAM and TTM.
* 2-layer bidirectional ``nn.LSTM(256, 256, batch_first=True)`` → ``(B, T, 512)``.
* LAM (``GazeLSTM``): the middle frame's LSTM output → ``Linear(512, 128)`` → ``Linear(128, 2)`` (no activation
  between the two, as released). 14.6 M parameters.
* TTM (``BaselineLSTM``): the last frame's LSTM output ⊕ the 512-d :class:`ResNetSE` audio embedding →
  ``Linear(1024, 128)`` → ``Linear(128, 2)``. 20.2 M parameters.

:class:`ResNetSE` (the TTM audio branch, a speaker-verification ResNet with squeeze-excitation and attentive
statistics pooling): pre-emphasis 0.97 → 64-bin log-mel spectrogram (16 kHz, 512-point FFT, 25 ms Hamming
window, 10 ms hop; torchaudio's ``MelSpectrogram`` defaults: HTK mel scale, no filter normalisation, power 2) →
instance norm over time → ResNet ``[32, 64, 128, 256]`` × ``[2, 2, 2, 2]`` SE blocks (conv → ReLU → BN order, as
released) → attentive mean ⊕ std over time → ``Linear(4096, 512)``. The filterbank and window are recomputed
in ``forward`` instead of stored (the released checkpoint's ``torchfb`` buffers are derived constants).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet as tv_resnet

__all__ = [
    "BiLSTMEncoder",
    "LookingAtMeNet",
    "PerFrameResNet18",
    "ResNetSE",
    "TalkingToMeNet",
    "log_mel_spectrogram",
    "mel_filterbank",
]


class PerFrameResNet18(nn.Module):
    """torchvision ResNet (``BasicBlock``, ``layers``) applied per frame, then ReLU → ``fc2``.

    Args:
        feature_dim: per-frame output width (256).
        hidden_dim: width of the ResNet's own ``fc`` (the official ``fc1``; 1000).
        layers: blocks per stage (ResNet-18: ``(2, 2, 2, 2)``).

    ``forward(frames (B, T, 3, H, W))`` (ImageNet-normalised) → ``(B, T, feature_dim)``.
    """

    def __init__(self, feature_dim: int = 256, hidden_dim: int = 1000, layers: Sequence[int] = (2, 2, 2, 2)) -> None:
        super().__init__()
        self.resnet = tv_resnet.ResNet(tv_resnet.BasicBlock, list(layers), num_classes=hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, feature_dim)
        self.feature_dim = feature_dim

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        batch, time = frames.shape[:2]
        x = F.relu(self.resnet(frames.flatten(0, 1)))
        return self.fc2(x).view(batch, time, self.feature_dim)


class BiLSTMEncoder(nn.Module):
    """``nn.LSTM(dim, dim, num_layers, bidirectional, batch_first)``: ``(B, T, dim)`` → ``(B, T, 2·dim)``."""

    def __init__(self, dim: int = 256, num_layers: int = 2) -> None:
        super().__init__()
        self.lstm = nn.LSTM(dim, dim, num_layers=num_layers, bidirectional=True, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lstm(x)[0]


class LookingAtMeNet(nn.Module):
    """Per-frame ResNet-18 + BiLSTM + 2-layer head: the Ego4D LAM baseline (``GazeLSTM``).

    ``forward(frames (B, T, 3, H, W))`` → ``(B, 2)`` logits of the middle frame ``T // 2`` (frame 3 of 7).
    """

    def __init__(
        self,
        feature_dim: int = 256,
        hidden_dim: int = 1000,
        layers: Sequence[int] = (2, 2, 2, 2),
        lstm_layers: int = 2,
        head_dim: int = 128,
        num_classes: int = 2,
    ) -> None:
        super().__init__()
        self.base_model = PerFrameResNet18(feature_dim, hidden_dim, layers)
        self.lstm = BiLSTMEncoder(feature_dim, lstm_layers)
        self.last_layer1 = nn.Linear(2 * feature_dim, head_dim)
        self.last_layer2 = nn.Linear(head_dim, num_classes)

    def tokens(self, frames: torch.Tensor) -> torch.Tensor:
        """EgoT2 tokens: pre-LSTM per-frame features ``(B, T, 256)``."""
        return self.base_model(frames)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = self.lstm(self.base_model(frames))
        return self.last_layer2(self.last_layer1(x[:, x.shape[1] // 2]))


# ---------------------------------------------------------------------------------------------------------------
# Audio: log-mel front end and ResNetSE
# ---------------------------------------------------------------------------------------------------------------


def _hz_to_mel(f: float) -> float:
    return 2595.0 * math.log10(1.0 + f / 700.0)


def _mel_to_hz(m: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_filterbank(
    n_freqs: int, n_mels: int, sample_rate: int, f_min: float = 0.0, f_max: float | None = None, device=None
) -> torch.Tensor:
    """Triangular HTK-mel filterbank without area normalisation, ``(n_freqs, n_mels)``: filter ``m`` rises
    linearly from mel point ``m`` to ``m + 1`` and falls to ``m + 2`` over the linear frequency axis
    ``linspace(0, sr/2, n_freqs)`` (torchaudio's ``melscale_fbanks(norm=None, mel_scale="htk")``)."""
    f_max = sample_rate / 2 if f_max is None else f_max
    freqs = torch.linspace(0, sample_rate // 2, n_freqs, dtype=torch.float32)
    # Scalars in Python, tensors on ``device``: also runs on the meta device (MAC counting) without ``.item()``.
    freqs = freqs.to(device)
    mels = torch.linspace(_hz_to_mel(f_min), _hz_to_mel(f_max), n_mels + 2, dtype=torch.float32, device=device)
    points = _mel_to_hz(mels)
    widths = points[1:] - points[:-1]
    slopes = points[None, :] - freqs[:, None]  # (n_freqs, n_mels + 2)
    down = -slopes[:, :-2] / widths[:-1]
    up = slopes[:, 2:] / widths[1:]
    return torch.clamp(torch.minimum(down, up), min=0.0).to(dtype=torch.float32)


def log_mel_spectrogram(
    wav: torch.Tensor,
    sample_rate: int = 16000,
    n_fft: int = 512,
    win_length: int = 400,
    hop_length: int = 160,
    n_mels: int = 64,
    preemphasis: float = 0.97,
) -> torch.Tensor:
    """``(B, N)`` waveform → ``(B, n_mels, 1 + N // hop)`` ``log(mel power + 1e-6)``, as the ResNetSE front end:
    pre-emphasis ``y[n] = x[n] − 0.97·x[n−1]`` with a reflected first sample, a centred (reflect-padded) STFT with
    a periodic Hamming window, power 2, HTK mel filters. Computed in float32."""
    if wav.ndim != 2:
        raise ValueError(f"log_mel_spectrogram expects a (B, N) waveform, got shape {tuple(wav.shape)}.")
    x = wav.float()
    padded = F.pad(x[:, None], (1, 0), mode="reflect")[:, 0]
    x = padded[:, 1:] - preemphasis * padded[:, :-1]
    window = torch.hamming_window(win_length, device=x.device, dtype=torch.float32)
    spec = torch.stft(
        x,
        n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=window,
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    power = spec.real.square() + spec.imag.square()  # (B, n_fft // 2 + 1, frames)
    fb = mel_filterbank(n_fft // 2 + 1, n_mels, sample_rate, device=x.device)
    mel = torch.einsum("bft,fm->bmt", power, fb)
    return torch.log(mel + 1e-6)


class _SELayer(nn.Module):
    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.fc = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x.mean(dim=(2, 3)))[:, :, None, None]


class SEBasicBlock(nn.Module):
    """Residual block ``conv3×3 → ReLU → BN → conv3×3 → BN → SE`` (+ projection shortcut), as released (ReLU
    before BN in the first half). Shared by ResNetSE and TalkNet's audio encoder."""

    def __init__(self, dim_in: int, dim_out: int, stride: int | tuple[int, int] = 1, reduction: int = 8) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(dim_in, dim_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(dim_out)
        self.conv2 = nn.Conv2d(dim_out, dim_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(dim_out)
        self.relu = nn.ReLU(inplace=True)
        self.se = _SELayer(dim_out, reduction)
        # ``stride != 1`` is also true for the tuple ``(1, 1)`` (TalkNet's last audio stage): the released models
        # then carry a projection shortcut even at stride 1, so the same test is kept for identical keys.
        if stride != 1 or dim_in != dim_out:
            self.downsample = nn.Sequential(
                nn.Conv2d(dim_in, dim_out, 1, stride=stride, bias=False), nn.BatchNorm2d(dim_out)
            )
        else:
            self.downsample = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn1(self.relu(self.conv1(x)))
        out = self.se(self.bn2(self.conv2(out)))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


def make_se_layer(dim_in: int, dim_out: int, blocks: int, stride: int | tuple[int, int]) -> nn.Sequential:
    """``blocks`` :class:`SEBasicBlock` s, the first one strided."""
    return nn.Sequential(
        *(SEBasicBlock(dim_in if i == 0 else dim_out, dim_out, stride if i == 0 else 1) for i in range(blocks))
    )


class ResNetSE(nn.Module):
    """TTM audio encoder: log-mel → SE-ResNet → attentive statistics pooling → ``Linear(·, 512)``.

    Args:
        num_filters: stage widths (``(32, 64, 128, 256)``).
        layers: blocks per stage (``(2, 2, 2, 2)``).
        n_mels: mel bins (64); must be divisible by 8 (three stride-2 stages).
        embedding_dim: output width (512).
        attention_dim: hidden width of the attention (128).

    ``forward(wav (B, N) 16 kHz)`` → ``(B, embedding_dim)``.
    """

    def __init__(
        self,
        num_filters: Sequence[int] = (32, 64, 128, 256),
        layers: Sequence[int] = (2, 2, 2, 2),
        n_mels: int = 64,
        embedding_dim: int = 512,
        attention_dim: int = 128,
    ) -> None:
        super().__init__()
        if n_mels % 8:
            raise ValueError(f"ResNetSE needs n_mels divisible by 8, got {n_mels}.")
        self.n_mels = n_mels
        self.conv1 = nn.Conv2d(1, num_filters[0], 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.bn1 = nn.BatchNorm2d(num_filters[0])
        widths = [num_filters[0], *num_filters]
        for index, (blocks, stride) in enumerate(zip(layers, (1, 2, 2, 2))):
            self.add_module(f"layer{index + 1}", make_se_layer(widths[index], widths[index + 1], blocks, stride))
        channels = num_filters[3] * (n_mels // 8)
        self.attention = nn.Sequential(
            nn.Conv1d(channels, attention_dim, 1),
            nn.ReLU(),
            nn.BatchNorm1d(attention_dim),
            nn.Conv1d(attention_dim, channels, 1),
            nn.Softmax(dim=2),
        )
        self.fc = nn.Linear(2 * channels, embedding_dim)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():  # the front end has no parameters (as released: computed without autograd)
            x = log_mel_spectrogram(wav, n_mels=self.n_mels)
            # InstanceNorm1d(n_mels) without affine: each mel bin normalised over time (biased variance, eps 1e-5)
            x = F.instance_norm(x).unsqueeze(1).to(self.conv1.weight.dtype)
        x = self.bn1(self.relu(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))  # (B, C, n_mels / 8, T')
        x = x.flatten(1, 2)
        weights = self.attention(x)
        mean = torch.sum(x * weights, dim=2)
        std = torch.sqrt((torch.sum(x.square() * weights, dim=2) - mean.square()).clamp(min=1e-5))
        return self.fc(torch.cat([mean, std], dim=1))


class TalkingToMeNet(nn.Module):
    """Per-frame ResNet-18 + BiLSTM video branch ⊕ ResNetSE audio branch + 2-layer head: the Ego4D TTM baseline.

    ``forward(frames (B, T, 3, H, W), wav (B, N))`` → ``(B, 2)``. The video branch reads the LSTM output of the last
    frame. Only the video branch is tokenised for EgoT2 (``tokens``).
    """

    def __init__(
        self,
        feature_dim: int = 256,
        hidden_dim: int = 1000,
        layers: Sequence[int] = (2, 2, 2, 2),
        lstm_layers: int = 2,
        audio_filters: Sequence[int] = (32, 64, 128, 256),
        audio_layers: Sequence[int] = (2, 2, 2, 2),
        n_mels: int = 64,
        audio_dim: int = 512,
        audio_attention_dim: int = 128,
        head_dim: int = 128,
        num_classes: int = 2,
    ) -> None:
        super().__init__()
        self.video_encoder = PerFrameResNet18(feature_dim, hidden_dim, layers)
        self.lstm = BiLSTMEncoder(feature_dim, lstm_layers)
        self.audio_encoder = ResNetSE(audio_filters, audio_layers, n_mels, audio_dim, audio_attention_dim)
        self.last_layer1 = nn.Linear(2 * feature_dim + audio_dim, head_dim)
        self.last_layer2 = nn.Linear(head_dim, num_classes)

    def tokens(self, frames: torch.Tensor) -> torch.Tensor:
        """EgoT2 tokens: pre-LSTM per-frame video features ``(B, T, 256)``."""
        return self.video_encoder(frames)

    def forward(self, frames: torch.Tensor, wav: torch.Tensor) -> torch.Tensor:
        video = self.lstm(self.video_encoder(frames))[:, -1]
        audio = self.audio_encoder(wav)
        return self.last_layer2(self.last_layer1(torch.cat([video, audio], dim=1)))

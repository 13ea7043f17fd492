"""Ego4D task-specific (TS) networks: the baselines EgoT2 freezes (spec ``egot2.md`` §2.1), model-agnostic.

=====  ==================================================================  ==========================================
Task   Network                                                             EgoT2 tokens (``.tokens``)
=====  ==================================================================  ==========================================
PNR    :class:`I3DClipNet` (I3D ResNet-50 ``slow_layer5``, 1 logit/frame)  ``(B, 16, 8192)``
OSCC   :class:`I3DClipNet` (same backbone, 2-way after temporal pooling)  ``(B, 16, 8192)``
AR     :class:`SlowFastRecognitionNet` (SlowFast 8×8 R101)                 slow ``(B, 8, 2048)`` + fast ``(B, 8, 256)``
LTA    :class:`SlowFastForecastingNet` (SlowFast + transformer aggregator) ``(B, 2, 2048)``
LAM    :class:`LookingAtMeNet` (per-frame ResNet-18 + BiLSTM)              ``(B, T, 256)``
TTM    :class:`TalkingToMeNet` (LAM-style video branch + ResNetSE audio)   ``(B, T, 256)`` (video only)
ASD    :class:`TalkNet`                                                    ``(B, T, 256)``
=====  ==================================================================  ==========================================
"""

from .forecasting import (
    SlowFastForecastingNet,
    TransformerAggregator,
    sinusoidal_positions,
)
from .hoi import I3DClipNet, MultiProjectionHead, SlowFastRecognitionNet
from .resnet3d import (
    RESNET_STAGE_DEPTHS,
    ResNet3d,
    ResStage3d,
    VideoStem3d,
    resnet3d_output_size,
)
from .slowfast import SLOWFAST_TEMPORAL_KERNELS, FuseFastToSlow, SlowFast
from .social import (
    BiLSTMEncoder,
    LookingAtMeNet,
    PerFrameResNet18,
    ResNetSE,
    TalkingToMeNet,
    log_mel_spectrogram,
    mel_filterbank,
)
from .talknet import AttentionLayer, GlobalLayerNorm, TalkNet

__all__ = [
    "RESNET_STAGE_DEPTHS",
    "SLOWFAST_TEMPORAL_KERNELS",
    "AttentionLayer",
    "BiLSTMEncoder",
    "FuseFastToSlow",
    "GlobalLayerNorm",
    "I3DClipNet",
    "LookingAtMeNet",
    "MultiProjectionHead",
    "PerFrameResNet18",
    "ResNet3d",
    "ResNetSE",
    "ResStage3d",
    "SlowFast",
    "SlowFastForecastingNet",
    "SlowFastRecognitionNet",
    "TalkNet",
    "TalkingToMeNet",
    "TransformerAggregator",
    "VideoStem3d",
    "log_mel_spectrogram",
    "mel_filterbank",
    "resnet3d_output_size",
    "sinusoidal_positions",
]

"""``mthub_tiny_mt`` — mthub's test model family (preset ``tiny-mt``). Also exported as :mod:`mthub.testing`."""

from __future__ import annotations

import torch

from ...registry import ModelFamily, Preset
from .configuration_tiny_mt import TinyMTConfig
from .modeling_tiny_mt import TinyMTForVideoClassification, TinyMTModel, TinyMTPreTrainedModel
from .processing_tiny_mt import TinyMTVideoProcessor


def _example_inputs(config: TinyMTConfig, batch_size: int = 2) -> dict:
    return {"pixel_values": torch.randn(batch_size, config.num_frames, config.num_channels, config.image_size, config.image_size)}


def _example_labels(config: TinyMTConfig, batch_size: int = 2) -> dict:
    size = config.image_size
    return {
        "action": torch.randint(0, len(config.action_labels), (batch_size,)),
        "segmentation": torch.randint(0, len(config.segmentation_labels), (batch_size, config.num_frames, size, size)),
    }


FAMILY = ModelFamily(
    model_type=TinyMTConfig.model_type,
    config_class=TinyMTConfig,
    model_classes={"AutoModel": TinyMTModel, "AutoModelForVideoClassification": TinyMTForVideoClassification},
    processor_class=TinyMTVideoProcessor,
    processor_auto_class="AutoVideoProcessor",
    pipeline_tasks=("multi-task-video",),
    tiny_config=TinyMTConfig,
    example_inputs=_example_inputs,
    example_labels=_example_labels,
    description="mthub's test model: a tiny video transformer with a classification and a segmentation head.",
)

PRESETS = (
    Preset(
        name="tiny-mt",
        family=TinyMTConfig.model_type,
        config={},
        description="Tiny test model (4×32² clips; action classification + per-frame segmentation).",
        input_size={"num_frames": 4, "height": 32, "width": 32},
    ),
)

__all__ = [
    "FAMILY",
    "PRESETS",
    "TinyMTConfig",
    "TinyMTForVideoClassification",
    "TinyMTModel",
    "TinyMTPreTrainedModel",
    "TinyMTVideoProcessor",
]

"""Toy geometry of the Ego4D task-specific networks (seconds on CPU for forward + backward), shared by every model
family that builds them at test size (``mthub_ego4d_ts`` on its own, EgoT2 as frozen TS sub-models).

Only the label-space sizes differ between users (AR/LTA ``num_verbs`` / ``num_nouns``), so they are arguments.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["TINY_TS_TASKS", "tiny_ts_overrides"]

_SOCIAL_VIDEO = {"num_frames": 3, "image_size": 32, "frame_feature_dim": 8, "frame_hidden_dim": 16,
                 "frame_resnet_layers": [1, 1, 1, 1], "lstm_layers": 1, "head_dim": 8}
_TINY_GEOMETRY: dict[str, dict[str, Any]] = {
    "pnr": {"num_frames": 4, "image_size": 65, "resnet_depth": [1, 1, 1, 1], "resnet_width": 4},
    "oscc": {"num_frames": 4, "image_size": 65, "resnet_depth": [1, 1, 1, 1], "resnet_width": 4},
    "ar": {"num_frames": 8, "image_size": 64, "resnet_depth": [1, 1, 1, 1], "resnet_width": 8},
    "lta": {
        "num_frames": 8, "image_size": 64, "resnet_depth": [1, 1, 1, 1], "resnet_width": 8,
        "num_future": 3, "lta_feature_dim": 16, "aggregator_layers": 1, "aggregator_heads": 2, "aggregator_ffn_dim": 16,
    },
    "lam": dict(_SOCIAL_VIDEO),
    "ttm": {**_SOCIAL_VIDEO, "audio_filters": [4, 4, 8, 8], "audio_layers": [1, 1, 1, 1], "n_mels": 16,
            "audio_dim": 8, "audio_attention_dim": 8},
    "asd": {"num_frames": 4, "image_size": 32, "visual_channels": [4, 4, 8, 8, 16], "tcn_blocks": 1, "visual_hidden": 8,
            "talknet_audio_filters": [4, 4, 8, 8], "talknet_audio_layers": [1, 1, 1, 1], "talknet_heads": 2},
}
#: The Ego4D tasks with a tiny geometry, in the order of the TS presets.
TINY_TS_TASKS: tuple[str, ...] = tuple(_TINY_GEOMETRY)
#: Tasks whose heads are sized by the verb / noun vocabulary.
_LABELLED_TASKS = ("ar", "lta")


def tiny_ts_overrides(task: str, *, num_verbs: int = 5, num_nouns: int = 7) -> dict[str, Any]:
    """Config overrides (a fresh dict: callers may mutate it) of the tiny ``task`` network; AR / LTA also get
    ``num_verbs`` / ``num_nouns``. Raises ``KeyError`` naming the task when it has no tiny geometry."""
    if task not in _TINY_GEOMETRY:
        raise KeyError(f"no tiny Ego4D TS geometry for task {task!r}; known: {', '.join(TINY_TS_TASKS)}")
    out = copy.deepcopy(_TINY_GEOMETRY[task])
    if task in _LABELLED_TASKS:
        out.update(num_verbs=num_verbs, num_nouns=num_nouns)
    return out

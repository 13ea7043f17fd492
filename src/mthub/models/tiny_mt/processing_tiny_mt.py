"""Processor of ``mthub_tiny_mt``: declarative (sampling and geometry only)."""

from __future__ import annotations

from ...processing import MTHubVideoProcessor


class TinyMTVideoProcessor(MTHubVideoProcessor):
    """4 frames sampled uniformly, resized to 32² (shortest edge) and centre-cropped, ImageNet-standard normalised."""

    num_frames = 4
    size = {"shortest_edge": 32}
    crop_size = {"height": 32, "width": 32}


__all__ = ["TinyMTVideoProcessor"]

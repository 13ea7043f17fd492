"""Base processors shared by every model family (per-model subclasses are declarative)."""

from .image_processing import MTHubDenseImageProcessor
from .video_processing import MTHubVideoProcessor

__all__ = ["MTHubDenseImageProcessor", "MTHubVideoProcessor"]

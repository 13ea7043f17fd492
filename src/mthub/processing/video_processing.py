"""Base video processor: PyAV decoding + frame sampling + resize / crop / normalise (transformers' video stack).

transformers' :class:`~transformers.BaseVideoProcessor` decodes paths with torchcodec, which needs system FFmpeg
libraries a fresh machine lacks (``shared/ecosystem.md``). mthub keeps everything else of it (resize, crop,
rescale, normalise, save/load, Auto registration) and only swaps the decoder for :mod:`mthub.data.video` (PyAV),
seeking to the sampled frames instead of decoding whole files.

Per-model subclasses are declarative: class attributes only (``size``, ``crop_size``, ``image_mean``, ``num_frames``
…), like transformers' ``VideoMAEVideoProcessor``.

Output: ``BatchFeature({"pixel_values": (B, T, C, H, W)})`` — mthub models take ``pixel_values`` as their main
input (transformers' video processors call it ``pixel_values_videos``).
"""

from __future__ import annotations

import os

import numpy as np
from transformers import BaseVideoProcessor, BatchFeature
from transformers.image_utils import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD, PILImageResampling
from transformers.video_utils import VideoMetadata


class MTHubVideoProcessor(BaseVideoProcessor):
    """Video processor of mthub models (see module docstring). Paths are decoded with PyAV; arrays
    ``(T, H, W, C)``/``(T, C, H, W)`` and tensors are processed as transformers does."""

    resample = PILImageResampling.BILINEAR
    image_mean = IMAGENET_STANDARD_MEAN
    image_std = IMAGENET_STANDARD_STD
    size = {"shortest_edge": 224}
    crop_size = {"height": 224, "width": 224}
    do_resize = True
    do_center_crop = True
    do_rescale = True
    do_normalize = True
    do_convert_rgb = True
    do_sample_frames = True
    num_frames = 16
    model_input_names = ["pixel_values"]

    def fetch_videos(self, video_url_or_urls, sample_indices_fn=None):
        """Decode one path (or a list of paths) with PyAV, reading only the sampled frames.

        Returns ``(frames (T, H, W, 3) uint8, VideoMetadata)`` for one path, or two lists for several.
        """
        # Imported here so that a model package can be imported on a machine without PyAV (the GPU benchmark host).
        from ..data.video import probe_video, read_frames

        if isinstance(video_url_or_urls, (list, tuple)):
            pairs = [self.fetch_videos(path, sample_indices_fn=sample_indices_fn) for path in video_url_or_urls]
            return [frames for frames, _ in pairs], [metadata for _, metadata in pairs]
        path = os.fspath(video_url_or_urls)
        info = probe_video(path)
        metadata = VideoMetadata(
            total_num_frames=info.num_frames,
            fps=info.fps,
            width=info.width,
            height=info.height,
            duration=info.duration_s,
            video_backend="pyav",
        )
        indices = (
            np.asarray(sample_indices_fn(metadata=metadata), dtype=np.int64)
            if sample_indices_fn is not None
            else np.arange(info.num_frames)
        )
        metadata.frames_indices = indices.tolist()
        return read_frames(path, indices), metadata

    def _preprocess(self, videos, **kwargs) -> BatchFeature:
        output = super()._preprocess(videos=videos, **kwargs)
        output["pixel_values"] = output.pop("pixel_values_videos")
        return output


__all__ = ["MTHubVideoProcessor"]

"""Processors of ``mthub_ego4d_ts``: one task-parametrised video processor, one audio feature extractor, and a thin
composite that maps raw clips to each TS model's inputs.

Design. The seven baselines differ in frame rate, window, geometry and normalisation, but each difference is a
*setting* of the same pipeline (sample → resize → [crop] → [rescale] → [normalise]). So there is one registered
video processor class, :class:`Ego4DTSVideoProcessor` (``AutoVideoProcessor`` for ``mthub_ego4d_ts``), and
:meth:`Ego4DTSVideoProcessor.for_task` returns it configured for a task (the settings are plain processor fields,
saved in ``video_preprocessor_config.json``). Audio is a separate :class:`Ego4DTSAudioFeatureExtractor`
(``FeatureExtractionMixin``): RMS-normalised 16 kHz waveforms for TTM, TalkNet MFCC for ASD. :class:`Ego4DTSProcessor`
bundles both with the task name and returns the model's keyword arguments (``pixel_values``, ``input_values``,
``input_features``).

Per-task video settings (spec §2.1):

=====  ====================  ==========================================  =====================================
Task   frames                geometry                                    values
=====  ====================  ==========================================  =====================================
PNR    16 (8 s at 2 fps)     resize to 225×225, no crop                  raw 0–255 (no rescale / normalise)
OSCC   16                    same                                        raw 0–255
AR     32 (2.13 s at 15 fps)  short side 256, centre crop 224 (val/test)  /255, mean 0.45, std 0.225
LTA    32 per clip            same                                        same
LAM    7 face crops           224×224                                     /255, ImageNet mean/std
TTM    segment face crops     224×224                                     /255, ImageNet mean/std
ASD    grey 112² face crops   (see :func:`talknet_face_crops`)           raw 0–255 (normalised in the model)
=====  ====================  ==========================================  =====================================

Frame *selection* (which frames of a video) follows the official loaders and lives in
:mod:`.sampling_ego4d_ts` (PNR's absolute-frame modulo sampling, AR's centred clip, LAM's padded window, face
crops); the processor then works on the selected frames (arrays or PyAV-decoded paths).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import BatchFeature, FeatureExtractionMixin
from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from ...processing import MTHubVideoProcessor
from .configuration_ego4d_ts import EGO4D_TASKS
from .sampling_ego4d_ts import rms_normalize, talknet_mfcc

__all__ = ["VIDEO_SETTINGS", "Ego4DTSAudioFeatureExtractor", "Ego4DTSProcessor", "Ego4DTSVideoProcessor"]

_HOI_RAW = {
    "num_frames": 16,
    "size": {"height": 225, "width": 225},
    "do_center_crop": False,
    "do_rescale": False,
    "do_normalize": False,
}
_SLOWFAST = {
    "num_frames": 32,
    "size": {"shortest_edge": 256},
    "crop_size": {"height": 224, "width": 224},
    "do_center_crop": True,
    "do_rescale": True,
    "do_normalize": True,
    "image_mean": [0.45, 0.45, 0.45],
    "image_std": [0.225, 0.225, 0.225],
}
_FACES = {
    "size": {"height": 224, "width": 224},
    "do_center_crop": False,
    "do_rescale": True,
    "do_normalize": True,
    "image_mean": list(IMAGENET_DEFAULT_MEAN),
    "image_std": list(IMAGENET_DEFAULT_STD),
    "do_sample_frames": False,
}

#: Video-processor settings per Ego4D task (ASD has none: its grey faces come from ``talknet_face_crops``).
VIDEO_SETTINGS: dict[str, dict[str, Any]] = {
    "pnr": _HOI_RAW,
    "oscc": _HOI_RAW,
    "ar": _SLOWFAST,
    "lta": _SLOWFAST,
    "lam": {**_FACES, "num_frames": 7},
    "ttm": _FACES,
}


class Ego4DTSVideoProcessor(MTHubVideoProcessor):
    """Video processor of the Ego4D TS models; class defaults are the AR/LTA SlowFast settings, and
    :meth:`for_task` gives any task's (see the module table). Output ``pixel_values (B, T, 3, H, W)`` float32."""

    num_frames = 32
    size = {"shortest_edge": 256}
    crop_size = {"height": 224, "width": 224}
    image_mean = [0.45, 0.45, 0.45]
    image_std = [0.225, 0.225, 0.225]

    @classmethod
    def for_task(cls, ego4d_task: str, **overrides: Any) -> Ego4DTSVideoProcessor:
        """The processor configured for ``ego4d_task`` (``overrides`` replace settings, e.g. a tiny ``size``)."""
        if ego4d_task not in VIDEO_SETTINGS:
            raise ValueError(
                f"No video processor settings for Ego4D task {ego4d_task!r}: "
                + ("ASD faces are grey 112² TalkNet crops; use mthub.models.ego4d_ts.talknet_face_crops and "
                   "Ego4DTSProcessor(ego4d_task='asd')." if ego4d_task == "asd" else f"choose one of {sorted(VIDEO_SETTINGS)}.")
            )
        return cls(**{**VIDEO_SETTINGS[ego4d_task], **overrides})


class Ego4DTSAudioFeatureExtractor(FeatureExtractionMixin):
    """Audio inputs of the A+V baselines.

    * ``mode="waveform"`` (TTM): mono 16 kHz samples scaled to RMS ``desired_rms`` (0.1), batched by truncating
      to the shortest (the official ``collate_fn``) → ``input_values (B, N)``.
    * ``mode="mfcc"`` (ASD): TalkNet MFCC (13 coefficients, 4 frames per video frame at ``fps``) of the
      RMS-normalised samples, wrap-padded / truncated to ``4·num_frames`` when ``num_frames`` is given →
      ``input_features (B, 4T, 13)``.

    Decode audio with :func:`mthub.data.audio.read_audio` (PyAV, resampled to 16 kHz mono).
    """

    model_input_names = ["input_values", "input_features"]

    def __init__(self, mode: str = "waveform", sampling_rate: int = 16000, desired_rms: float = 0.1, fps: float = 30.0, **kwargs: Any) -> None:
        if mode not in ("waveform", "mfcc"):
            raise ValueError(f"mode must be 'waveform' (TTM) or 'mfcc' (ASD), got {mode!r}.")
        super().__init__(**kwargs)
        self.mode = mode
        self.sampling_rate = sampling_rate
        self.desired_rms = desired_rms
        self.fps = fps

    def __call__(
        self,
        audio: np.ndarray | Sequence[np.ndarray],
        sampling_rate: int | None = None,
        num_frames: int | Sequence[int] | None = None,
        return_tensors: str | None = "pt",
        fps: float | None = None,
    ) -> BatchFeature:
        """Waveforms (one ``(N,)`` array or a list) → ``input_values`` or ``input_features``; ``fps`` overrides the
        video frame rate the MFCC windows follow (4 MFCC frames per video frame)."""
        if sampling_rate is not None and sampling_rate != self.sampling_rate:
            raise ValueError(
                f"audio at {sampling_rate} Hz given; the extractor expects {self.sampling_rate} Hz "
                "(decode with mthub.data.audio.read_audio(path, sample_rate=16000))."
            )
        clips = [audio] if isinstance(audio, np.ndarray) and audio.ndim == 1 else list(audio)
        clips = [rms_normalize(np.asarray(clip, dtype=np.float64), self.desired_rms) for clip in clips]
        if self.mode == "waveform":
            length = min(len(clip) for clip in clips)
            batch = np.stack([clip[:length] for clip in clips]).astype(np.float32)
            return BatchFeature({"input_values": batch}, tensor_type=return_tensors)
        frames = [num_frames] * len(clips) if num_frames is None or isinstance(num_frames, int) else list(num_frames)
        features = []
        for clip, count in zip(clips, frames):
            mfcc = talknet_mfcc(clip, self.sampling_rate, fps or self.fps)
            if count is not None:
                wanted = 4 * count
                if len(mfcc) < wanted:  # the official np.pad(..., "wrap")
                    mfcc = np.pad(mfcc, ((0, wanted - len(mfcc)), (0, 0)), mode="wrap")
                mfcc = mfcc[:wanted]
            features.append(mfcc.astype(np.float32))
        length = min(len(f) for f in features)
        return BatchFeature({"input_features": np.stack([f[:length] for f in features])}, tensor_type=return_tensors)


class Ego4DTSProcessor:
    """Composite processor of one Ego4D TS model: ``video_processor`` + ``feature_extractor`` + ``ego4d_task``.

    ``processor(videos=..., audio=..., faces=...)`` returns the model's keyword arguments:

    * PNR/OSCC/AR/LAM/TTM: ``videos`` (one clip ``(T, H, W, 3)`` uint8 / a path, or a list) → ``pixel_values``.
    * LTA: ``videos`` as a list of ``N_in`` clips per sample (list of lists) → ``pixel_values (B, N_in, T, 3, H, W)``.
    * TTM: ``audio`` waveforms → ``input_values``.
    * ASD: ``faces`` grey ``(T, 112, 112)`` uint8 (from :func:`talknet_face_crops`) → ``pixel_values (B, T, 112, 112)``
      and ``audio`` → ``input_features (B, 4T, 13)``.
    """

    def __init__(
        self,
        ego4d_task: str,
        video_processor: Ego4DTSVideoProcessor | None = None,
        feature_extractor: Ego4DTSAudioFeatureExtractor | None = None,
    ) -> None:
        if ego4d_task not in EGO4D_TASKS:
            raise ValueError(f"ego4d_task={ego4d_task!r}; choose one of {EGO4D_TASKS}.")
        self.ego4d_task = ego4d_task
        self.video_processor = video_processor if video_processor is not None or ego4d_task == "asd" else Ego4DTSVideoProcessor.for_task(ego4d_task)
        if feature_extractor is None and ego4d_task in ("ttm", "asd"):
            feature_extractor = Ego4DTSAudioFeatureExtractor("waveform" if ego4d_task == "ttm" else "mfcc")
        self.feature_extractor = feature_extractor

    def __call__(self, videos=None, audio=None, faces=None, fps: float | None = None, return_tensors: str = "pt") -> BatchFeature:
        data: dict[str, Any] = {}
        if self.ego4d_task == "asd":
            if faces is None or audio is None:
                raise ValueError("ASD needs `faces` (grey (T, 112, 112) uint8 crops) and `audio` (16 kHz waveforms).")
            faces = [faces] if isinstance(faces, np.ndarray) and faces.ndim == 3 else list(faces)
            count = min(len(f) for f in faces)
            data["pixel_values"] = torch.from_numpy(np.stack([np.asarray(f[:count], dtype=np.float32) for f in faces]))
            data.update(self.feature_extractor(audio, num_frames=count, return_tensors="pt", fps=fps))
            return BatchFeature(data)
        if videos is None:
            raise ValueError(f"Ego4D {self.ego4d_task.upper()} needs `videos`.")
        if self.ego4d_task == "lta":
            samples = [videos] if not isinstance(videos[0], (list, tuple)) else videos
            per_sample = [self.video_processor(list(clips), return_tensors="pt")["pixel_values"] for clips in samples]
            data["pixel_values"] = torch.stack(per_sample)
        else:
            data["pixel_values"] = self.video_processor(videos, return_tensors="pt")["pixel_values"]
        if self.ego4d_task == "ttm":
            if audio is None:
                raise ValueError("TTM needs `audio` (16 kHz waveforms) with its face crops.")
            data.update(self.feature_extractor(audio, return_tensors="pt"))
        return BatchFeature(data)

    # ----- save / load (both parts in one folder) --------------------------------------------------------------
    def save_pretrained(self, save_directory: str | os.PathLike) -> None:
        directory = Path(save_directory)
        directory.mkdir(parents=True, exist_ok=True)
        if self.video_processor is not None:
            self.video_processor.save_pretrained(directory)
        if self.feature_extractor is not None:
            self.feature_extractor.save_pretrained(directory)
        (directory / "ego4d_ts_processor.json").write_text(json.dumps({"ego4d_task": self.ego4d_task}) + "\n")

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> Ego4DTSProcessor:
        directory = Path(directory)
        task = json.loads((directory / "ego4d_ts_processor.json").read_text())["ego4d_task"]
        video = Ego4DTSVideoProcessor.from_pretrained(directory) if task != "asd" else None
        audio = Ego4DTSAudioFeatureExtractor.from_pretrained(directory) if task in ("ttm", "asd") else None
        return cls(task, video, audio)

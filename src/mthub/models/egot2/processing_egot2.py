"""Processor of ``mthub_egot2``: the EgoT2-g tokenizer and the cross-task input adaptation that turns one video
(+ optional audio and face track) into the raw inputs of every TS model of a config (paper §4.1, A.2.2; spec §2.1).

Cross-task input adaptation ("the original video input is first upsampled or downsampled to match the frame
rates required by f_k; if the temporal span of the auxiliary task is smaller than that of the primary task, we
slide f_k in a moving window", §4.1), per TS task, for a window ``[start_s, end_s)`` of the primary task:

=====  =======================================================================================================
PNR    16 frames at 2 fps over an 8 s clip (uniform over the window), resized to ``image_size``², raw 0–255.
OSCC   same frames as PNR (the official code feeds both models one clip).
AR     32 frames at 15 fps (sampling rate 2 of 30 fps, 2.13 s) centred in the window; short side
       ``8/7·image_size`` then centre crop ``image_size``; /255, mean 0.45, std 0.225.
LTA    per observed clip, as AR (the LTA window is split into ``num_clips`` consecutive clips).
PNR/   for a 16 s LTA window: the 8 s backbones slide with window 8 s and stride 8 s (``i3d_clip_mean``).
OSCC
LAM    face crops (``image_size``², ImageNet normalised) of every frame of the segment at the video's rate
TTM    (TTM: 15–150 frames); without a face track the centre square of the frame is used.
ASD    grey ``image_size``² face crops, 0–255, and MFCC (13 coefficients, 4 per video frame at 25 video fps
       → 100 per s) of the 16 kHz audio.
=====  =======================================================================================================
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from transformers import BatchFeature
from transformers.utils import PushToHubMixin

from .tokenization_egot2 import VOCAB_FILE, EgoT2Tokenizer

__all__ = ["PROCESSOR_FILE", "TS_INPUT_DEFAULTS", "EgoT2Processor", "mfcc"]

logger = logging.getLogger(__name__)

PROCESSOR_FILE = "egot2_processor.json"
#: Full-size input format of every TS task: frames and side (spec §2.1).
TS_INPUT_DEFAULTS = {
    "pnr": {"num_frames": 16, "image_size": 225},
    "oscc": {"num_frames": 16, "image_size": 225},
    "ar": {"num_frames": 32, "image_size": 224},
    "lta": {"num_frames": 32, "image_size": 224},
    "lam": {"image_size": 224},
    "ttm": {"image_size": 224},
    "asd": {"image_size": 112},
}
_SLOWFAST_MEAN, _SLOWFAST_STD = 0.45, 0.225
_IMAGENET_MEAN, _IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
_SLOWFAST_FRAME_STEP_S = 2 / 30  # sampling rate 2 at 30 fps


def mfcc(samples: np.ndarray, sample_rate: int, num_frames: int, num_coefficients: int = 13) -> np.ndarray:
    """``(4·num_frames, 13)`` MFCC of ``samples`` (TalkNet's audio input: 4 MFCC frames per video frame).

    python_speech_features-style front end: pre-emphasis 0.97, 25 ms frames, 512-point power spectrum, 26 HTK mel
    filters (:func:`transformers.audio_utils.mel_filter_bank`), log, DCT-II (orthonormal, :mod:`scipy.fft`) keeping
    13 coefficients, sinusoidal lifter 22, ``c0`` replaced by the log frame energy. The hop is the segment length /
    ``4·num_frames``, so the output lines up with the video frames exactly.
    """
    from scipy.fft import dct
    from transformers.audio_utils import mel_filter_bank

    count = 4 * num_frames
    window = int(round(0.025 * sample_rate))
    signal = np.asarray(samples, dtype=np.float64)
    signal = np.append(signal[:1], signal[1:] - 0.97 * signal[:-1])
    hop = max(len(signal) / count, 1.0)
    starts = np.minimum((np.arange(count) * hop).astype(np.int64), max(len(signal) - 1, 0))
    padded = np.pad(signal, (0, window))
    frames = np.stack([padded[s : s + window] for s in starts])
    power = np.abs(np.fft.rfft(frames, 512)) ** 2 / 512
    filters = mel_filter_bank(257, 26, 0.0, sample_rate / 2, sample_rate, norm=None, mel_scale="htk")  # (257, 26)
    energy = np.maximum(power.sum(axis=1), np.finfo(float).eps)
    features = np.log(np.maximum(power @ filters, np.finfo(float).eps))
    coefficients = dct(features, type=2, axis=1, norm="ortho")[:, :num_coefficients]
    lifter = 1 + 11.0 * np.sin(np.pi * np.arange(num_coefficients) / 22)
    coefficients = coefficients * lifter
    coefficients[:, 0] = np.log(energy)
    return coefficients.astype(np.float32)


class _Frames:
    """Frames of a video path (PyAV, decoding only the requested frames) or of a ``(T, H, W, 3)`` array."""

    def __init__(self, video: str | os.PathLike | np.ndarray, fps: float | None) -> None:
        if isinstance(video, (str, os.PathLike)):
            from ...data.video import probe_video

            self.path = os.fspath(video)
            info = probe_video(self.path)
            self.fps, self.duration, self.array = info.fps, info.duration_s, None
            self.has_audio = info.has_audio
        else:
            array = np.asarray(video)
            if array.ndim != 4 or array.shape[-1] != 3:
                raise ValueError(f"a video array must be (T, H, W, 3) uint8, got shape {array.shape}")
            if fps is None:
                raise ValueError("pass fps=... with a frame array")
            self.path, self.array, self.fps = None, array, float(fps)
            self.duration, self.has_audio = len(array) / self.fps, False

    def at_times(self, times: np.ndarray) -> np.ndarray:
        times = np.clip(np.asarray(times, dtype=np.float64), 0.0, max(self.duration - 1e-6, 0.0))
        if self.path is not None:
            from ...data.video import read_frames_at_times

            return read_frames_at_times(self.path, times)
        index = np.minimum(np.floor(times * self.fps + 0.5).astype(np.int64), len(self.array) - 1)
        return self.array[index]


def _to_tensor(frames: np.ndarray) -> torch.Tensor:
    """``(N, H, W, 3)`` uint8 → ``(N, 3, H, W)`` float32 in 0–255."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)


def _short_side_crop(x: torch.Tensor, short: int, crop: int) -> torch.Tensor:
    height, width = x.shape[-2:]
    scale = short / min(height, width)
    x = _resize(x, (max(crop, round(height * scale)), max(crop, round(width * scale))))
    top, left = (x.shape[-2] - crop) // 2, (x.shape[-1] - crop) // 2
    return x[..., top : top + crop, left : left + crop]


def _boxes(face_track: Any, times: np.ndarray, fps: float, width: int, height: int, context: float = 0.0) -> np.ndarray:
    """``(N, 4)`` integer crop boxes ``(x0, y0, x1, y1)`` at ``times``: the nearest box of ``face_track`` (an
    ``(T, 4)`` array of ``(x, y, w, h)`` per video frame, ``{frame: (x, y, w, h)}`` or Ego4D ``[{"frame", "x", "y",
    "width", "height"}]``), enlarged by ``context``; without a track, the centred square."""
    boxes = []
    if face_track is None:
        side = min(width, height)
        box = ((width - side) / 2, (height - side) / 2, side, side)
        track: dict[int, tuple[float, ...]] = {}
    elif isinstance(face_track, Mapping):
        track = {int(k): tuple(v) for k, v in face_track.items()}
    elif isinstance(face_track, np.ndarray) or (face_track and not isinstance(face_track[0], Mapping)):
        track = {i: tuple(b) for i, b in enumerate(np.asarray(face_track, dtype=np.float64))}
    else:
        track = {int(e.get("frame", e.get("frameNumber", 0))): (e["x"], e["y"], e["width"], e["height"]) for e in face_track}
    keys = np.array(sorted(track)) if track else None
    for t in times:
        if keys is not None:
            frame = int(round(t * fps))
            box = track[int(keys[np.abs(keys - frame).argmin()])]
        x, y, w, h = (float(v) for v in box)
        cx, cy, side = x + w / 2, y + h / 2, max(w, h) * (1 + context)
        x0, y0 = int(max(0, round(cx - side / 2))), int(max(0, round(cy - side / 2)))
        x1, y1 = int(min(width, round(cx + side / 2))), int(min(height, round(cy + side / 2)))
        boxes.append((x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)))
    return np.asarray(boxes)




class EgoT2Processor(PushToHubMixin):
    """Tokenizer (EgoT2-g) + cross-task input adaptation for the TS models of one EgoT2 config (module docstring).
    Saved as ``egot2_processor.json`` + ``vocab.json``; registered with ``AutoProcessor``; ``push_to_hub`` from
    transformers' ``PushToHubMixin``.

    Args:
        tokenizer: the EgoT2-g vocabulary (``None`` for EgoT2-s).
        ts_inputs: ``{source: {"ego4d_task", "num_frames", "image_size", "clips"}}`` — the input format of every TS
            model (``clips``: number of windows/clips it reads, 0 for one clip); built by :meth:`from_config`.
        clip_seconds: length of the primary task's window (8 s HOI clips, 16 s LTA windows); ``None``: the whole
            video (HHI segments).
        social_fps: frame grid of the LAM/TTM/ASD inputs (one grid for all three, as the official 2-task loaders).
        max_social_frames: longest face-crop segment (TTM segments are 15–150 frames); longer windows are
            sampled uniformly.
        sample_rate: audio rate (16 kHz).
        labels: ``{task: [label word per class]}`` for the pipeline's outputs (verbs/nouns as words).
    """

    def __init__(
        self,
        tokenizer: EgoT2Tokenizer | None = None,
        ts_inputs: Mapping[str, Mapping[str, Any]] | None = None,
        clip_seconds: float | None = None,
        social_fps: float = 30.0,
        max_social_frames: int = 150,
        sample_rate: int = 16000,
        labels: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.ts_inputs = {k: dict(v) for k, v in (ts_inputs or {}).items()}
        self.clip_seconds = clip_seconds
        self.social_fps = social_fps
        self.max_social_frames = max_social_frames
        self.sample_rate = sample_rate
        self.labels = {k: list(v) for k, v in (labels or {}).items()}

    # ----- construction ----------------------------------------------------------------------------------------
    @classmethod
    def from_config(
        cls,
        config,
        tokenizer: EgoT2Tokenizer | None = None,
        taxonomy: str | os.PathLike | Mapping[str, Sequence[str]] | None = None,
        dedupe_vocab: bool = True,
        **kwargs: Any,
    ) -> EgoT2Processor:
        """Processor of an :class:`~mthub.models.egot2.EgoT2Config`. The HOI EgoT2-g vocabulary comes from the Ego4D
        taxonomy: pass ``tokenizer`` or ``taxonomy`` (``fho_lta_taxonomy.json``; ``dedupe_vocab`` as
        :meth:`EgoT2Tokenizer.from_taxonomy`, default = the official builder, V = 601). The HHI, P&O and
        cross-cluster vocabularies are built in. Save with :meth:`save_pretrained` (``vocab.json``): loading never
        needs the taxonomy again."""
        from .tokenization_egot2 import clean_label_name

        if tokenizer is None and taxonomy is not None and config.variant == "g":
            tokenizer = EgoT2Tokenizer.from_taxonomy(taxonomy, dedupe_vocab=dedupe_vocab)
        if tokenizer is None and config.variant == "g":
            tasks = {p["task"] for p in config.prompts}
            builders = {frozenset({"lam", "ttm", "asd"}): EgoT2Tokenizer.hhi, frozenset({"pnr", "oscc"}): EgoT2Tokenizer.pnr_oscc,
                        frozenset({"pnr", "oscc", "lam"}): EgoT2Tokenizer.cross_cluster}
            if frozenset(tasks) in builders:
                tokenizer = builders[frozenset(tasks)]()
        if tokenizer is not None and config.variant == "g" and tokenizer.vocab_size != config.vocab_size:
            raise ValueError(f"tokenizer has {tokenizer.vocab_size} tokens, the config's vocab_size is {config.vocab_size}.")
        ts_inputs = {}
        for source, sub in (config.ts_configs or {}).items():
            task = sub.get("ego4d_task", source)
            streams = [s for s in config.streams if s["source"] == source]
            clips = max((s["num_tokens"] or 0) for s in streams if s.get("extractor") in ("i3d_clip_mean", "slowfast_pooled")) if any(
                s.get("extractor") in ("i3d_clip_mean", "slowfast_pooled") for s in streams) else 0
            if task == "lta":
                clips = max(clips, 2)
            if clips == 1:
                clips = 0
            defaults = TS_INPUT_DEFAULTS[task]
            ts_inputs[source] = {
                "ego4d_task": task,
                "num_frames": sub.get("num_frames") or defaults.get("num_frames"),
                "image_size": sub.get("image_size") or defaults["image_size"],
                "clips": clips,
            }
        labels = {}
        for task in config.task_order:
            names = config.class_names(task)
            if tokenizer is not None and task in tokenizer.labels and task not in ("lam", "ttm", "asd", "oscc", "pnr"):
                labels[task] = tokenizer.label_words(task)
            elif names:
                labels[task] = [clean_label_name(n) if task.split("_")[-1] in ("verb", "noun") else n for n in names]
        hoi_window = 16.0 if any(v["clips"] for v in ts_inputs.values()) else 8.0
        social = set(config.task_order) & {"lam", "ttm", "asd"}
        kwargs.setdefault("clip_seconds", None if social and not (set(config.task_order) - social) else hoi_window)
        return cls(tokenizer=tokenizer, ts_inputs=ts_inputs, labels=labels, **kwargs)

    # ----- raw inputs ------------------------------------------------------------------------------------------
    def __call__(
        self,
        video: str | os.PathLike | np.ndarray,
        audio: str | os.PathLike | np.ndarray | None = None,
        face_track: Any = None,
        start_s: float = 0.0,
        end_s: float | None = None,
        fps: float | None = None,
        return_tensors: str = "pt",
    ) -> BatchFeature:
        """The raw inputs of every TS model for one video window (batch of 1).

        Args:
            video: a path (decoded with PyAV) or a ``(T, H, W, 3)`` uint8 array (with ``fps``).
            audio: 16 kHz mono samples or an audio/video path (default: the video's own audio; silence if none).
            face_track: the social partner's face boxes (see :func:`_boxes`); default the centred square.
            start_s, end_s: the primary task's window (default: ``clip_seconds`` from ``start_s``, or the video).
        """
        frames = _Frames(video, fps)
        end = end_s if end_s is not None else (start_s + self.clip_seconds if self.clip_seconds else frames.duration)
        end = min(end, frames.duration)
        if end <= start_s:
            raise ValueError(f"empty window [{start_s}, {end}) of a {frames.duration:.2f} s video")
        self.window = (float(start_s), float(end))
        out: dict[str, torch.Tensor] = {}
        social = [s for s, v in self.ts_inputs.items() if v["ego4d_task"] in ("lam", "ttm", "asd")]
        grid = self._social_grid(start_s, end) if social else None
        for source, spec in self.ts_inputs.items():
            task = spec["ego4d_task"]
            if task in ("pnr", "oscc"):
                out[f"{source}_pixel_values"] = self._i3d(frames, spec, start_s, end)
            elif task in ("ar", "lta"):
                out[f"{source}_pixel_values"] = self._slowfast(frames, spec, start_s, end)
            elif task in ("lam", "ttm"):
                out[f"{source}_pixel_values"] = self._faces(frames, spec, grid, face_track, grey=False)
            else:
                out[f"{source}_pixel_values"] = self._faces(frames, spec, grid, face_track, grey=True)
                samples = self._audio(video, audio, frames, start_s, end)
                out[f"{source}_input_features"] = torch.from_numpy(mfcc(samples, self.sample_rate, len(grid)))[None]
        return BatchFeature(out, tensor_type=return_tensors)

    def _windows(self, start: float, end: float, clips: int) -> list[tuple[float, float]]:
        if not clips:
            return [(start, end)]
        step = (end - start) / clips  # 8 s windows with stride 8 s over a 16 s LTA window
        return [(start + i * step, start + (i + 1) * step) for i in range(clips)]

    def _i3d(self, frames: _Frames, spec: Mapping[str, Any], start: float, end: float) -> torch.Tensor:
        """PNR/OSCC: ``num_frames`` frames evenly over each window (16 at 2 fps over 8 s), ``image_size``², 0–255."""
        clips = []
        for a, b in self._windows(start, end, spec["clips"]):
            times = a + np.arange(spec["num_frames"]) * (b - a) / spec["num_frames"]
            clips.append(_resize(_to_tensor(frames.at_times(times)), (spec["image_size"],) * 2))
        stacked = torch.stack(clips)  # (N, T, 3, S, S)
        return (stacked if spec["clips"] else stacked[0])[None]

    def _slowfast(self, frames: _Frames, spec: Mapping[str, Any], start: float, end: float) -> torch.Tensor:
        """AR/LTA: ``num_frames`` frames at 15 fps centred in each clip window, short side 8/7·S, centre crop S,
        /255, mean 0.45, std 0.225."""
        size = spec["image_size"]
        clips = []
        for a, b in self._windows(start, end, spec["clips"]):
            centre = (a + b) / 2
            times = np.clip(centre + (np.arange(spec["num_frames"]) - (spec["num_frames"] - 1) / 2) * _SLOWFAST_FRAME_STEP_S, a, b)
            x = _short_side_crop(_to_tensor(frames.at_times(times)), round(size * 8 / 7), size) / 255.0
            clips.append((x - _SLOWFAST_MEAN) / _SLOWFAST_STD)
        stacked = torch.stack(clips)
        return (stacked if spec["clips"] else stacked[0])[None]

    def _social_grid(self, start: float, end: float) -> np.ndarray:
        count = max(1, int(np.floor((end - start) * self.social_fps)))
        if count > self.max_social_frames:
            return np.linspace(start, end, self.max_social_frames, endpoint=False)
        return start + np.arange(count) / self.social_fps

    def _faces(self, frames: _Frames, spec: Mapping[str, Any], times: np.ndarray, face_track: Any, grey: bool) -> torch.Tensor:
        """LAM/TTM: RGB face crops ``S``², ImageNet-normalised; ASD: grey face crops (40 % context), 0–255."""
        images = frames.at_times(times)
        height, width = images.shape[1:3]
        boxes = _boxes(face_track, times, frames.fps, width, height, context=0.4 if grey else 0.0)
        size = spec["image_size"]
        crops = torch.cat([_resize(_to_tensor(images[i : i + 1, y0:y1, x0:x1]), (size, size)) for i, (x0, y0, x1, y1) in enumerate(boxes)])
        if grey:  # ITU-R 601 luma, as cv2.cvtColor(BGR2GRAY)
            return (crops[:, 0] * 0.299 + crops[:, 1] * 0.587 + crops[:, 2] * 0.114)[None]
        mean = torch.tensor(_IMAGENET_MEAN)[:, None, None]
        std = torch.tensor(_IMAGENET_STD)[:, None, None]
        return ((crops / 255.0 - mean) / std)[None]

    def _audio(self, video: Any, audio: Any, frames: _Frames, start: float, end: float) -> np.ndarray:
        if isinstance(audio, np.ndarray):
            return audio[int(start * self.sample_rate) : int(end * self.sample_rate)]
        source = audio if audio is not None else (frames.path if frames.has_audio else None)
        if source is None:
            logger.warning("no audio for ASD: using silence (pass audio=... or a video with an audio stream)")
            return np.zeros(int((end - start) * self.sample_rate), dtype=np.float32)
        from ...data.audio import read_audio

        return read_audio(source, sample_rate=self.sample_rate, start_s=start, end_s=end)

    # ----- save / load -------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "processor_class": type(self).__name__,
            "ts_inputs": self.ts_inputs,
            "clip_seconds": self.clip_seconds,
            "social_fps": self.social_fps,
            "max_social_frames": self.max_social_frames,
            "sample_rate": self.sample_rate,
            "labels": self.labels,
        }

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs: Any) -> list[str]:
        """Writes ``egot2_processor.json`` and, for EgoT2-g, ``vocab.json``."""
        directory = Path(save_directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / PROCESSOR_FILE
        path.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n")
        written = [str(path)]
        if self.tokenizer is not None:
            written.append(str(self.tokenizer.save_pretrained(directory)))
        return written

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs: Any) -> EgoT2Processor:
        """Local folder or Hub id with ``egot2_processor.json`` (+ ``vocab.json``)."""
        from transformers.utils import cached_file

        hub_kwargs = {k: kwargs.pop(k) for k in ("cache_dir", "revision", "token", "local_files_only") if k in kwargs}
        reference = str(pretrained_model_name_or_path)
        settings_path = cached_file(reference, PROCESSOR_FILE, **hub_kwargs)
        settings = json.loads(Path(settings_path).read_text())
        settings.pop("processor_class", None)
        vocab_path = cached_file(reference, VOCAB_FILE, _raise_exceptions_for_missing_entries=False, **hub_kwargs)
        tokenizer = EgoT2Tokenizer.from_pretrained(vocab_path) if vocab_path else None
        settings.update({k: v for k, v in kwargs.items() if k in settings})
        return cls(tokenizer=tokenizer, **settings)

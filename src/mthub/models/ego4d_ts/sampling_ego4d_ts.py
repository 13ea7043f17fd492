"""Frame, face-crop and audio conventions of the Ego4D baselines' data loaders, as pure functions (spec §5).

Each function reproduces one documented behaviour of the official loaders, quirks included, so that a model fed
by mthub sees what the released weights were trained on:

* :func:`pnr_frame_numbers` — PNR/OSCC's 16-frame sampling, whose modulo step runs on *absolute* (parent-video)
  frame numbers, with the keyframe label on the sampled frame nearest to the PNR.
* :func:`center_clip_window` / :func:`uniform_temporal_indices` — AR/LTA's centred 32×2/30 s clip and its uniform
  subsampling.
* :func:`interpolate_track` — the social loaders' track cleaning: drop empty boxes and frame 0, clamp to the
  image, linearly interpolate missing frames.
* :func:`lam_frame_window` — LAM's 7-frame window around a frame, with its edge padding (``pad_video``).
* :func:`crop_resize` — bounding-box crop + bilinear resize (``cv2.resize`` semantics, no antialiasing).
* :func:`talknet_track_smoothing` / :func:`talknet_face_crops` — TalkNet's face crops (median-filtered size,
  2-tap smoothed centre, 40 % context, grey, 224 → centre 112).
* :func:`rms_normalize` and :func:`talknet_mfcc` — audio level normalisation and the 13-d MFCC at 4 frames per
  video frame, equal to ``python_speech_features.mfcc`` (tested against it) but vectorised.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ...data.ego4d_sampling import pnr_frames_and_keyframe

__all__ = [
    "center_clip_window",
    "crop_resize",
    "interpolate_track",
    "lam_frame_window",
    "mfcc_filterbank",
    "pnr_frame_numbers",
    "rgb_to_gray",
    "rms_normalize",
    "talknet_face_crops",
    "talknet_mfcc",
    "talknet_track_smoothing",
    "uniform_temporal_indices",
]


# ---------------------------------------------------------------------------------------------------------------
# HOI clips
# ---------------------------------------------------------------------------------------------------------------
def pnr_frame_numbers(
    start_frame: int, end_frame: int, num_frames: int = 16, pnr_frame: int | None = None
) -> tuple[list[int], int | None]:
    """The frames the PNR/OSCC loader reads from ``[start_frame, end_frame)`` and the keyframe label.

    The official sampler keeps the absolute frame numbers ``f`` with ``f % step == 0`` for
    ``step = ceil(n / num_frames)`` (``n = end − start``), or ``floor(n / num_frames)`` when the ceil step yields
    fewer than ``num_frames`` frames, and takes the first ``num_frames``. Because the test is on absolute numbers,
    two clips of equal length can sample different offsets.

    Returns:
        ``(frame_numbers, label)``: ``num_frames`` absolute frame numbers and the index of the sampled frame
        nearest to ``pnr_frame`` (first on ties), or ``None`` without a PNR (negative / test clips).

    Raises:
        ValueError: the window holds fewer than ``num_frames`` frames.
    """
    return pnr_frames_and_keyframe(start_frame, end_frame, num_frames, pnr_frame)


def center_clip_window(start_s: float, end_s: float, num_frames: int = 32, sampling_rate: int = 2, fps: float = 30.0) -> tuple[float, float]:
    """AR/LTA clip: ``num_frames · sampling_rate / fps`` seconds (2.133 s) centred in ``[start_s, end_s)``
    (the official ``CenterClipVideoSampler``, which the code uses for every split). May start before
    ``start_s`` when the action is shorter than the clip."""
    duration = num_frames * sampling_rate / fps
    start = start_s + (end_s - start_s) / 2 - duration / 2
    return start, start + duration


def uniform_temporal_indices(num_available: int, num_frames: int) -> list[int]:
    """``linspace(0, n − 1, num_frames)`` truncated to integers (PyTorchVideo ``UniformTemporalSubsample``)."""
    return torch.linspace(0, num_available - 1, num_frames, device="cpu").long().tolist()


# ---------------------------------------------------------------------------------------------------------------
# Social tracks and face crops
# ---------------------------------------------------------------------------------------------------------------
def interpolate_track(track: Sequence[Mapping[str, Any]], frame_key: str = "frameNumber", require_person: bool = True) -> list[dict[str, Any]]:
    """Clean a face track as the social loaders do: drop boxes with non-positive size, frame 0 and (with
    ``require_person``) an empty ``"Person ID"``; clamp ``x``/``y`` at 0; if frames are missing between the first
    and the last box, linearly interpolate all four box edges over every frame in between.

    Returns:
        one dict per frame (copies of the first record with ``frame_key``, ``x``, ``y``, ``width``, ``height``
        replaced), in the order of the input's valid boxes.
    """
    valid = [
        box
        for box in track
        if box["width"] > 0 and box["height"] > 0 and box[frame_key] != 0 and (not require_person or len(str(box.get("Person ID", ""))) > 0)
    ]
    if not valid:
        return []
    numbers = np.array([box[frame_key] for box in valid], dtype=np.float64)
    # x2 / y2 add the *unclamped* width / height to the clamped corner, as released
    edges = np.array(
        [[max(b["x"], 0), max(b["y"], 0), max(b["x"], 0) + b["width"], max(b["y"], 0) + b["height"]] for b in valid],
        dtype=np.float64,
    )
    span = int(numbers[-1] - numbers[0] + 1)
    if span > len(numbers):
        grid = np.arange(numbers[0], numbers[-1] + 1)
        edges = np.stack([np.interp(grid, numbers, edges[:, i]) for i in range(4)], axis=1)
        numbers = grid
    template = dict(track[0])
    out = []
    for number, (x1, y1, x2, y2) in zip(numbers, edges):
        record = dict(template)
        record.update({frame_key: int(number), "x": x1, "y": y1, "width": x2 - x1, "height": y2 - y1})
        out.append(record)
    return out


def lam_frame_window(frame: int, available: set[int] | Sequence[int], num_frames: int = 7) -> list[int]:
    """The frame numbers filling LAM's 7 slots around ``frame`` (``frame − 3 … frame + 3``).

    Slots whose frame is not in the track (or has no image) are dropped and the remaining frames are edge-padded,
    as the official ``pad_video``: the missing slots before the middle become copies of the first remaining frame
    and those after it copies of the last one, so frames shift towards the middle.
    """
    available = set(available)
    half = num_frames // 2
    slots = list(range(frame - half, frame + half + 1))
    present = [f for f in slots if f in available or f == frame]
    before = sum(1 for f in slots[:half] if f not in available)
    after = sum(1 for f in slots[half + 1 :] if f not in available)
    if before == 0 and after == 0:
        return slots
    return [present[0]] * before + present + [present[-1]] * after


def crop_resize(image: np.ndarray, box: Sequence[float], size: int) -> np.ndarray:
    """Crop ``image (H, W, C)`` to ``[int(y1):int(y2), int(x1):int(x2)]`` and resize bilinearly to ``size²``
    (half-pixel centres, no antialiasing: ``cv2.resize`` ``INTER_LINEAR``). An empty crop gives zeros (the
    official "bad bbox" fallback). Returns uint8 ``(size, size, C)``."""
    x1, y1, x2, y2 = (int(v) for v in box)
    crop = image[max(y1, 0) : max(y2, 0), max(x1, 0) : max(x2, 0)]
    if crop.size == 0:
        return np.zeros((size, size, image.shape[2]), dtype=np.uint8)
    tensor = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1)[None].float()
    resized = F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False, antialias=False)
    return resized[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()


def rgb_to_gray(image: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of an RGB uint8 image, rounded (``cv2.cvtColor(…, COLOR_BGR2GRAY)`` on BGR input)."""
    weights = np.array([0.299, 0.587, 0.114])
    return np.clip(np.rint(image[..., :3].astype(np.float64) @ weights), 0, 255).astype(np.uint8)


def talknet_track_smoothing(boxes: np.ndarray) -> np.ndarray:
    """TalkNet crop parameters ``(3, T)`` = centre ``x``, centre ``y`` and half-size ``s`` from boxes ``(T, 4)``
    ``x1, y1, x2, y2``: ``s = max(w, h)/2`` median-filtered (kernel ``min(odd ≤ T, 13)``); ``x``/``y`` replaced by
    ``0.8·previous + 0.2·current`` of the *unsmoothed* values (a vectorised 2-tap filter, not a recursion)."""
    from scipy.signal import medfilt

    boxes = np.asarray(boxes, dtype=np.float64)
    size = np.maximum(boxes[:, 3] - boxes[:, 1], boxes[:, 2] - boxes[:, 0]) / 2
    kernel = min(len(size) - len(size) % 2 + 1, 13)  # may exceed an even T by one: zero-padded, as released
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        size = medfilt(size, kernel_size=kernel)
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    cx[1:] = cx[:-1] * 0.8 + cx[1:] * 0.2
    cy[1:] = cy[:-1] * 0.8 + cy[1:] * 0.2
    return np.stack([cx, cy, size])


def talknet_face_crops(frames: np.ndarray, boxes: np.ndarray, size: int = 112, context: float = 0.4) -> np.ndarray:
    """TalkNet face crops: ``frames (T, H, W, 3)`` RGB uint8 and boxes ``(T, 4)`` → grey ``(T, size, size)`` uint8.

    Per frame: pad by ``⌊s(1 + 2c)⌋`` with value 110, crop rows ``[y − s, y + s(1 + 2c))`` and columns
    ``[x − s(1 + c), x + s(1 + c))`` (more context below the face), convert to grey, resize to ``2·size`` and keep
    the centre ``size²`` (spec §2.1, ASD).
    """
    params = talknet_track_smoothing(boxes)
    out = np.empty((len(frames), size, size), dtype=np.uint8)
    for i, frame in enumerate(frames):
        cx, cy, s = params[:, i]
        pad = int(s * (1 + 2 * context))
        gray = np.pad(rgb_to_gray(frame), pad, mode="constant", constant_values=110)
        my, mx = cy + pad, cx + pad
        face = gray[int(my - s) : int(my + s * (1 + 2 * context)), int(mx - s * (1 + context)) : int(mx + s * (1 + context))]
        face = crop_resize(face[..., None], (0, 0, face.shape[1], face.shape[0]), 2 * size)[..., 0]
        out[i] = face[size // 2 : size // 2 + size, size // 2 : size // 2 + size]
    return out


# ---------------------------------------------------------------------------------------------------------------
# Audio
# ---------------------------------------------------------------------------------------------------------------
def rms_normalize(samples: np.ndarray, desired_rms: float = 0.1, eps: float = 1e-4) -> np.ndarray:
    """Scale a waveform to an RMS of ``desired_rms`` (the social loaders' ``normalize``; RMS floored at ``eps``)."""
    samples = np.asarray(samples, dtype=np.float64)
    rms = max(eps, float(np.sqrt(np.mean(samples**2)))) if samples.size else eps
    return samples * (desired_rms / rms)


def _round_half_up(value: float) -> int:
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def mfcc_filterbank(num_filters: int = 26, nfft: int = 512, sample_rate: int = 16000, low_hz: float = 0.0, high_hz: float | None = None) -> np.ndarray:
    """Triangular mel filters ``(num_filters, nfft/2 + 1)`` on FFT bins ``⌊(nfft + 1)·hz/sr⌋`` (the
    ``python_speech_features`` construction, vectorised)."""
    high_hz = high_hz or sample_rate / 2
    mels = np.linspace(2595 * np.log10(1 + low_hz / 700.0), 2595 * np.log10(1 + high_hz / 700.0), num_filters + 2)
    bins = np.floor((nfft + 1) * (700 * (10 ** (mels / 2595.0) - 1)) / sample_rate)
    i = np.arange(nfft // 2 + 1)[None, :]
    left, centre, right = bins[:-2, None], bins[1:-1, None], bins[2:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        rising = np.where((i >= left) & (i < centre), (i - left) / (centre - left), 0.0)
        falling = np.where((i >= centre) & (i < right), (right - i) / (right - centre), 0.0)
    return rising + falling


def talknet_mfcc(
    signal: np.ndarray,
    sample_rate: int = 16000,
    fps: float = 25.0,
    num_cepstra: int = 13,
    num_filters: int = 26,
    nfft: int = 512,
    preemphasis: float = 0.97,
    lifter: int = 22,
) -> np.ndarray:
    """13-d MFCC with window ``0.025·25/fps`` s and step ``0.010·25/fps`` s, i.e. 4 MFCC frames per video frame
    (TalkNet's ``python_speech_features.mfcc(audio, 16000, numcep=13, winlen=…, winstep=…)``): pre-emphasis,
    rectangular frames (zero-padded at the end), power spectrum ``|FFT|²/nfft``, 26 mel filters, log, orthonormal
    DCT-II, sinusoidal lifter 22, and ``c0`` replaced by the log frame energy.

    Returns:
        ``(num_windows, num_cepstra)`` float64.
    """
    from scipy.fft import dct

    x = np.asarray(signal, dtype=np.float64).reshape(-1)
    x = np.append(x[:1], x[1:] - preemphasis * x[:-1])
    frame_len = _round_half_up(0.025 * 25 / fps * sample_rate)
    frame_step = _round_half_up(0.010 * 25 / fps * sample_rate)
    count = 1 if len(x) <= frame_len else 1 + math.ceil((len(x) - frame_len) / frame_step)
    padded = np.concatenate([x, np.zeros(max((count - 1) * frame_step + frame_len - len(x), 0))])
    windows = np.lib.stride_tricks.sliding_window_view(padded, frame_len)[::frame_step][:count]
    power = np.abs(np.fft.rfft(windows, nfft)) ** 2 / nfft
    eps = np.finfo(float).eps
    energy = power.sum(axis=1)
    energy = np.where(energy == 0, eps, energy)
    features = power @ mfcc_filterbank(num_filters, nfft, sample_rate).T
    features = np.where(features == 0, eps, features)
    cepstra = dct(np.log(features), type=2, axis=1, norm="ortho")[:, :num_cepstra]
    if lifter > 0:
        cepstra = cepstra * (1 + (lifter / 2.0) * np.sin(np.pi * np.arange(num_cepstra) / lifter))
    cepstra[:, 0] = np.log(energy)
    return cepstra

"""Audio decoding on PyAV: mono float32 at a target sample rate (re-exported by :mod:`mthub.data.video`).

Errors name the file: :class:`~mthub.data.errors.AudioError`, and the file-level errors of
:mod:`mthub.data.video` (missing, not a media file, corrupt container).
"""

from __future__ import annotations

import math
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from mthub.data._media import open_container, tag_duration
from mthub.data.errors import AudioError

__all__ = ["read_audio"]

_AUDIO_PREROLL_S = 0.25  # audio decoded before start_s after a seek (see _decode_audio)


def read_audio(
    path: str | os.PathLike[str], sample_rate: int = 16000, start_s: float = 0.0, end_s: float | None = None
) -> np.ndarray:
    """Audio of ``[start_s, end_s)`` as mono float32 at ``sample_rate``.

    Decodes the first audio stream from shortly before ``start_s`` (a seek, not a decode from the start),
    resamples it with PyAV's ``av.AudioResampler`` (libswresample, planar float, channel layout kept) and
    mixes the channels to mono by their mean, i.e. ``(L + R) / 2`` for stereo, the convention of
    ``ffmpeg -ac 1`` to 16-bit PCM as used by speech pipelines (libswresample's own float mono mix would be
    ``(L + R) / sqrt(2)``). The result has
    exactly ``round((end_s - start_s) * sample_rate)`` samples. ``end_s=None`` means the end of the audio
    stream: its exact duration where the container records one (mp4), else wherever the stream ends
    (Matroska, whose tagged durations may include codec padding). Works for audio-only files too.

    Returns:
        ``(N,)`` float32 in [-1, 1].

    Raises:
        AudioError: no audio stream, range outside the audio, or the stream ends early / fails to decode.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    path, container = open_container(path)
    with container:
        if not container.streams.audio:
            kinds = ", ".join(f"{s.type} ({s.codec_context.name})" for s in container.streams) or "none"
            raise AudioError(path, f"has no audio stream (streams: {kinds})")
        stream = container.streams.audio[0]
        # The stream duration (mp4: from the edit list, which also trims the encoder's end padding) is exact;
        # a container-level duration (Matroska tags) may count codec priming/padding, so without a stream
        # duration ``end_s=None`` reads to the end of the stream instead.
        exact_duration = float(stream.duration * Fraction(stream.time_base)) if stream.duration else None
        duration = exact_duration if exact_duration is not None else tag_duration(stream)
        if duration is None:
            duration = (container.duration or 0) / av.time_base
        end = exact_duration if end_s is None else float(end_s)
        tolerance = max(2, sample_rate // 1000)  # samples: resampler delay and rounding, at most 1 ms
        if not (0.0 <= start_s < (duration if end is None else end) <= duration + tolerance / sample_rate):
            raise AudioError(
                path,
                f"requested audio range [{start_s:.4f}, {end if end is not None else duration:.4f}) s is outside "
                f"the audio or empty; available: [0, {duration:.4f}) s",
            )
        wanted = None if end is None else int(round((end - start_s) * sample_rate))
        audio, offset = _decode_audio(path, container, sample_rate, start_s, wanted, allow_seek=True)
    if offset < -tolerance:
        # The seek landed after start_s (no keyframe index, or an inexact one): decode from the start of a
        # freshly opened file (seeking back to the stream start is not reliable, see VideoReader._rewind).
        with open_container(path)[1] as container:
            audio, offset = _decode_audio(path, container, sample_rate, start_s, wanted, allow_seek=False)
    offset = max(offset, 0)
    if wanted is None:
        return np.ascontiguousarray(audio[offset:], dtype=np.float32)
    segment = audio[offset : offset + wanted]
    # libswresample's filter delay can leave the last samples unflushed: pad up to ``tolerance`` samples
    # with the edge value; a real shortfall (a truncated file) is an error.
    shortfall = wanted - segment.shape[0]
    if shortfall > tolerance:
        raise AudioError(
            path,
            f"audio stream ended at t={start_s + segment.shape[0] / sample_rate:.3f}s, before the "
            f"requested end t={end:.3f}s (truncated or corrupt)",
        )
    if shortfall > 0:
        edge = segment[-1] if segment.size else 0.0
        segment = np.concatenate([segment, np.full(shortfall, edge, np.float32)])
    return np.ascontiguousarray(segment, dtype=np.float32)


def _decode_audio(
    path: Path,
    container: av.container.InputContainer,
    sample_rate: int,
    start_s: float,
    wanted: int | None,
    allow_seek: bool,
) -> tuple[np.ndarray, int]:
    """Decode + resample the first audio stream of a freshly opened ``container``, from
    ``_AUDIO_PREROLL_S`` before ``start_s`` (a seek, if ``allow_seek`` and that point is past the start;
    otherwise from the first packet) until ``wanted`` samples past ``start_s`` are in hand (``None``:
    to the end of the stream).

    Returns:
        ``(audio, offset)``: mono float32 samples at ``sample_rate`` beginning at the first decoded audio
        frame, and the position of ``start_s`` in them (negative if decoding began after ``start_s``).
    """
    stream = container.streams.audio[0]
    time_base = Fraction(stream.time_base)
    start_pts = stream.start_time or 0
    # Seek _AUDIO_PREROLL_S early: the decoder (AAC's overlapping MDCT windows, Opus pre-skip) and the
    # resampler's filter need some input before their output is exact.
    seek_s = start_s - _AUDIO_PREROLL_S
    if allow_seek and seek_s > 0:
        try:
            container.seek(start_pts + math.floor(seek_s / time_base), stream=stream, backward=True)
        except av.error.FFmpegError as err:
            raise AudioError(path, f"seeking audio to t={start_s:.4f}s failed: {err}") from err
    # Resample to planar float, keeping the channel layout; the mono mix is the channel mean (below).
    resampler = av.AudioResampler(format="fltp", layout=None, rate=sample_rate)
    chunks: list[np.ndarray] = []
    have = 0
    offset: int | None = None
    try:
        for frame in container.decode(stream):
            if offset is None:
                t0 = float((frame.pts - start_pts) * time_base) if frame.pts is not None else 0.0
                offset = int(round((start_s - t0) * sample_rate))
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().mean(axis=0, dtype=np.float32))
                have += out.samples
            if wanted is not None and have >= offset + wanted:
                break
        else:
            for out in resampler.resample(None):  # flush the samples the resampler still holds
                chunks.append(out.to_ndarray().mean(axis=0, dtype=np.float32))
                have += out.samples
    except av.error.FFmpegError as err:
        raise AudioError(path, f"decoding audio failed near t={start_s + have / sample_rate:.3f}s: {err}") from err
    audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return audio, 0 if offset is None else offset

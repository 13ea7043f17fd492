"""Generated test videos whose frames carry their own index, for exact decode checks.

Each frame is tiled with 16×16-pixel cells (row-major, starting at the top-left corner). The first
``2 * INDEX_BITS`` cells hold the frame index as pure black (bit 0) / white (bit 1) blocks: 12 data bits,
most significant first, followed by the same 12 bits complemented. The complement acts as a
checksum: a decoded frame whose bits and complement bits disagree raises instead of returning a wrong
index. The remaining cells get a colour pattern that depends on the index and differs per RGB
channel, so that bit-exact comparisons (ffv1) also catch channel-order and colour-range bugs.

Cells are aligned with H.264's 16×16 macroblocks, so black/white cells survive lossy compression
with block means within a few grey levels of 0/255 (``decode_frame_index(..., max_deviation=8)``
asserts that). ffv1 in Matroska is lossless: decoded frames equal :func:`render_index_frame`
bit for bit.

Example::

    >>> from mthub.testing.video_fixtures import write_index_video, decode_frame_index
    >>> path = write_index_video(tmp_path / "clip.mp4", num_frames=50, fps=25, with_audio=True)
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

__all__ = [
    "CELL",
    "INDEX_BITS",
    "render_index_frame",
    "index_block_means",
    "decode_frame_index",
    "write_index_video",
    "sine_tone",
    "write_not_a_video",
    "truncate_file",
]

CELL = 16
"""Side of one code cell in pixels (one H.264 macroblock)."""
INDEX_BITS = 12
"""Bits of frame index; videos may hold up to ``2**INDEX_BITS`` frames."""
_NUM_CODE_CELLS = 2 * INDEX_BITS


def _grid(size: tuple[int, int]) -> tuple[int, int]:
    height, width = size
    rows, cols = height // CELL, width // CELL
    if rows * cols < _NUM_CODE_CELLS:
        raise ValueError(
            f"frame size {size} holds {rows}x{cols} cells of {CELL}px, but the index code needs "
            f"{_NUM_CODE_CELLS}; use e.g. size=(64, 128)"
        )
    return rows, cols


def _code_bits(index: int) -> np.ndarray:
    """(24,) uint8: the 12 index bits (MSB first) followed by their complements."""
    bits = (index >> np.arange(INDEX_BITS - 1, -1, -1)) & 1
    return np.concatenate([bits, 1 - bits]).astype(np.uint8)


def render_index_frame(index: int, size: tuple[int, int] = (64, 128)) -> np.ndarray:
    """The frame that :func:`write_index_video` writes for ``index``.

    Args:
        index: frame index, ``0 <= index < 2**INDEX_BITS``.
        size: ``(height, width)`` in pixels; must hold at least 24 cells of 16×16.

    Returns:
        ``(H, W, 3)`` uint8 RGB array.
    """
    if not 0 <= index < 2**INDEX_BITS:
        raise ValueError(f"frame index {index} does not fit in {INDEX_BITS} bits")
    height, width = size
    rows, cols = _grid(size)
    # Background pattern: distinct per channel and per index (see module docstring).
    yy, xx = np.mgrid[0:height, 0:width]
    frame = np.stack(
        [(xx * 4 + index * 3) % 256, (yy * 4 + index * 5) % 256, (xx + yy + index * 7) % 256], axis=-1
    ).astype(np.uint8)
    bits = _code_bits(index)
    for cell, bit in enumerate(bits):
        r, c = divmod(cell, cols)
        frame[r * CELL : (r + 1) * CELL, c * CELL : (c + 1) * CELL] = 255 * bit
    return frame


def index_block_means(frame: np.ndarray) -> np.ndarray:
    """Mean grey level of each of the 24 code cells of a decoded frame.

    Args:
        frame: ``(H, W, 3)`` uint8 RGB frame.

    Returns:
        ``(24,)`` float64: mean over the cell's pixels and channels, in code-cell order.
    """
    if frame.ndim != 3 or frame.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) frame, got shape {frame.shape}")
    rows, cols = _grid(frame.shape[:2])
    cells = frame[: rows * CELL, : cols * CELL].astype(np.float64)
    # (rows, CELL, cols, CELL, 3) -> per-cell means (rows, cols), in row-major cell order.
    means = cells.reshape(rows, CELL, cols, CELL, 3).mean(axis=(1, 3, 4)).reshape(-1)
    return means[:_NUM_CODE_CELLS]


def decode_frame_index(frame: np.ndarray, max_deviation: float | None = None) -> int:
    """Read back the index drawn by :func:`render_index_frame`.

    Args:
        frame: ``(H, W, 3)`` uint8 RGB frame (e.g. one row of ``read_frames``' output).
        max_deviation: if given, also require every code cell's mean to be within this many grey
            levels of 0 or 255 (the ±8 acceptance tolerance for H.264).

    Raises:
        ValueError: the complement check fails (the frame does not carry a valid code) or a cell
            deviates more than ``max_deviation``.
    """
    means = index_block_means(frame)
    bits = (means >= 127.5).astype(np.int64)
    data, check = bits[:INDEX_BITS], bits[INDEX_BITS:]
    if not np.all(data + check == 1):
        raise ValueError(f"frame carries no valid index code (cell means {np.round(means, 1).tolist()})")
    if max_deviation is not None:
        deviation = np.abs(means - 255.0 * bits)
        if deviation.max() > max_deviation:
            raise ValueError(
                f"code cell {int(deviation.argmax())} deviates {deviation.max():.2f} grey levels from "
                f"{255 * bits[deviation.argmax()]} (limit {max_deviation})"
            )
    return int((data << np.arange(INDEX_BITS - 1, -1, -1)).sum())


def sine_tone(num_samples: int, sample_rate: int, freq_hz: float, amplitude: float = 0.5) -> np.ndarray:
    """``(num_samples,)`` float32 sine ``amplitude * sin(2π f t)``, ``t = n / sample_rate``."""
    t = np.arange(num_samples, dtype=np.float64) / sample_rate
    return (amplitude * np.sin(2.0 * np.pi * freq_hz * t)).astype(np.float32)


def write_index_video(
    path: str | os.PathLike[str],
    num_frames: int,
    fps: int | float | Fraction = 25,
    size: tuple[int, int] = (64, 128),
    codec: str = "h264",
    with_audio: bool = False,
    audio_rate: int = 44100,
    audio_freq_hz: float = 440.0,
    audio_channels: int = 1,
    gop: int = 12,
    crf: int = 12,
    faststart: bool = True,
) -> Path:
    """Write a video whose frame ``i`` is ``render_index_frame(i, size)``.

    Args:
        path: output file; ``.mp4`` for ``codec="h264"``, ``.mkv`` for ``codec="ffv1"``.
        num_frames: number of frames (at most ``2**INDEX_BITS``).
        fps: constant frame rate (frame ``i`` has timestamp ``i / fps``).
        size: ``(height, width)``; both multiples of 16 keep H.264 macroblocks aligned with cells.
        codec: ``"h264"`` (libx264, yuv420p, B-frames on) or ``"ffv1"`` (lossless, bgr0).
        with_audio: add an AAC track holding :func:`sine_tone` at ``audio_freq_hz`` for the whole
            video duration ``num_frames / fps``.
        audio_rate, audio_freq_hz, audio_channels: audio sample rate, tone frequency, channel count
            (every channel carries the same tone).
        gop: keyframe interval in frames (small, so that seeking is exercised).
        crf: x264 quality (lower = closer to lossless).
        faststart: for mp4, put the index (moov) before the media data, as streaming files do, so that a
            truncated copy still opens and its early frames still decode.

    Returns:
        ``Path(path)``.
    """
    path = Path(path)
    if codec not in ("h264", "ffv1"):
        raise ValueError(f"codec must be 'h264' or 'ffv1', got {codec!r}")
    if not 0 < num_frames <= 2**INDEX_BITS:
        raise ValueError(f"num_frames must be in 1..{2**INDEX_BITS}, got {num_frames}")
    height, width = size
    _grid(size)
    rate = Fraction(fps).limit_denominator(1001)
    options = {"movflags": "faststart"} if faststart and path.suffix.lower() in (".mp4", ".mov", ".m4v") else {}
    with av.open(str(path), mode="w", options=options) as container:
        if codec == "h264":
            video = container.add_stream("libx264", rate=rate)
            video.pix_fmt = "yuv420p"
            video.options = {"crf": str(crf), "preset": "veryfast"}
        else:
            video = container.add_stream("ffv1", rate=rate)
            video.pix_fmt = "bgr0"
        video.width, video.height = width, height
        video.codec_context.gop_size = gop
        audio = None
        if with_audio:
            layout = {1: "mono", 2: "stereo"}[audio_channels]
            audio = container.add_stream("aac", rate=audio_rate, layout=layout)
            total = int(round(num_frames / rate * audio_rate))
            tone = np.repeat(sine_tone(total, audio_rate, audio_freq_hz)[None], audio_channels, axis=0)
            written = 0
        for i in range(num_frames):
            frame = av.VideoFrame.from_ndarray(render_index_frame(i, size), format="rgb24")
            frame.pts = i
            frame.time_base = 1 / rate
            for packet in video.encode(frame):
                container.mux(packet)
            if audio is not None:
                # Interleave: encode the audio up to the end of this video frame, 1024 samples at a time.
                until = min(total, int(round((i + 1) / rate * audio_rate)))
                while until - written >= 1024 or (i == num_frames - 1 and written < until):
                    chunk = tone[:, written : min(written + 1024, until)]
                    aframe = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout=layout)
                    aframe.sample_rate = audio_rate
                    aframe.pts = written
                    written += chunk.shape[1]
                    for packet in audio.encode(aframe):
                        container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if audio is not None:
            for packet in audio.encode(None):
                container.mux(packet)
    return path


def write_not_a_video(path: str | os.PathLike[str]) -> Path:
    """Write a plain text file (typically named ``*.mp4``) that no demuxer recognises."""
    path = Path(path)
    path.write_text("This is a text file, not a video.\n" * 20, encoding="utf-8")
    return path


def truncate_file(path: str | os.PathLike[str], fraction: float, out_path: str | os.PathLike[str]) -> Path:
    """Copy the first ``floor(fraction * size)`` bytes of ``path`` to ``out_path`` (a file cut short,
    as by an interrupted download). Returns ``Path(out_path)``."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    data = Path(path).read_bytes()
    out_path = Path(out_path)
    out_path.write_bytes(data[: int(len(data) * fraction)])
    return out_path

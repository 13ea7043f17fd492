"""Video and audio decoding on PyAV: frames by index, by time, at a target fps, or uniformly over a
segment; audio as mono float at a target rate (:func:`read_audio`, implemented in
:mod:`mthub.data.audio` and re-exported here). Everything returns numpy arrays.

Frame numbering
    Frame ``i`` is the frame whose presentation timestamp is ``i / fps`` seconds after the first frame
    (``fps`` = the stream's average rate). Indices are derived from timestamps, never from decode order:
    ``i = round((pts - start_pts) * time_base * fps)``. This is exact for constant-frame-rate video
    and is what lets the reader *seek* (``container.seek(pts, backward=True)`` lands on the keyframe at
    or before the frame; decoding forward from there reaches it) instead of decoding from the start.
    For variable-frame-rate video the index is the nominal one: a request for an index that falls
    between two decoded timestamps returns the frame on screen at that time (the last frame whose index
    is ``<=`` the request).

Times
    A time ``t`` (seconds from the first frame) maps to the frame *nearest* to it,
    ``floor(t * fps + 1/2)`` (ties go to the later frame), clamped to the last frame;
    valid times are ``0 <= t < duration_s``. A segment ``[start_s, end_s)`` holds the frames whose
    timestamps lie in it.

Errors (all from :mod:`mthub.data.errors`, all naming the file): missing file
(:class:`VideoNotFoundError`), not a media file / no video stream (:class:`NotAVideoError`),
unreadable container or stream (:class:`CorruptVideoError`), request outside the video
(:class:`FrameOutOfRangeError`), stream ending before a frame its header promises, e.g. a truncated
download (:class:`TruncatedVideoError`, also naming the frame). Fewer frames than requested are
never returned silently.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from mthub.data._media import EPS, open_container, tag_duration
from mthub.data.audio import read_audio
from mthub.data.errors import CorruptVideoError, FrameOutOfRangeError, NotAVideoError, TruncatedVideoError

__all__ = [
    "VideoInfo",
    "VideoReader",
    "probe_video",
    "read_frames",
    "read_frames_at_times",
    "read_frames_at_fps",
    "sample_uniform",
    "read_audio",
    "times_to_indices",
    "fps_indices",
    "uniform_indices",
]


# --------------------------------------------------------------------------------------------------
# Metadata
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VideoInfo:
    """Metadata of a video file, as returned by :func:`probe_video`.

    Attributes:
        path: the file.
        num_frames: number of video frames (see ``frame_count_source``).
        fps: average frame rate of the video stream.
        duration_s: duration of the video stream in seconds.
        width, height: frame size in pixels.
        has_audio: whether the file has an audio stream.
        audio_sample_rate: sample rate of the first audio stream (``None`` without audio).
        codec: video codec name (e.g. ``"h264"``, ``"ffv1"``).
        frame_count_source: where ``num_frames`` comes from: ``"header"`` (the container's frame
            count, e.g. mp4's sample table); ``"tail-scan"`` when the container stores no count (Matroska,
            WebM): the duration gives an estimate, then the reader seeks near the end and demuxes (does not
            decode) the last GOP's packets to find the last timestamp; ``"duration"``
            (``round(duration_s * fps)``) if that scan finds nothing; ``"packets"``: an exact count of the
            video packets (``probe_video(..., exact=True)``; reads the whole file but decodes nothing).
        declared_num_frames: with ``"tail-scan"``, the count the container's duration implies; more than
            ``num_frames`` (beyond rounding) means the file was cut short. ``None`` otherwise.
    """

    path: str
    num_frames: int
    fps: float
    duration_s: float
    width: int
    height: int
    has_audio: bool
    audio_sample_rate: int | None
    codec: str
    frame_count_source: str = "header"
    declared_num_frames: int | None = None

    @property
    def available(self) -> str:
        """Human-readable valid range, used in error messages."""
        return f"frames 0..{self.num_frames - 1} (t in [0, {self.duration_s:.3f}) s at {self.fps:g} fps)"


def _stream_fps(stream: av.video.stream.VideoStream) -> Fraction | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and rate > 0:
            return Fraction(rate)
    return None


# --------------------------------------------------------------------------------------------------
# Pure index arithmetic (shared by the reader and by processors that only need indices)
# --------------------------------------------------------------------------------------------------
def _range_error(info: VideoInfo, requested: str, frame: int | None = None) -> FrameOutOfRangeError:
    """The error for a request outside ``info``'s frames: :class:`TruncatedVideoError` when ``frame`` lies
    beyond the decodable frames but within what the container declares (a Matroska file cut short)."""
    declared = info.declared_num_frames or info.num_frames
    if frame is not None and info.num_frames <= frame < declared - 1:  # -1: the declared count is rounded
        return TruncatedVideoError(
            info.path,
            f"{requested} (frame {frame}) was requested; the container's duration declares {declared} frames, "
            f"but the video stream ends after frame {info.num_frames - 1}: the file is truncated or corrupt",
            requested=requested,
            available=info.available,
        )
    return FrameOutOfRangeError(
        info.path,
        f"{requested} was requested, but the video has {info.available}",
        requested=requested,
        available=info.available,
    )


def _check_time_range(info: VideoInfo, start_s: float, end_s: float) -> None:
    if not (0.0 <= start_s < end_s <= info.duration_s + EPS):
        last = math.ceil(end_s * info.fps - EPS) - 1 if 0.0 <= start_s < end_s else None
        raise _range_error(info, f"time range [{start_s:.4f}, {end_s:.4f}) s", last)


def times_to_indices(info: VideoInfo, times_s: Sequence[float] | np.ndarray) -> np.ndarray:
    """Index of the frame nearest to each time (see module docstring). ``(N,)`` int64.

    Raises:
        FrameOutOfRangeError: a time outside ``[0, duration_s)``.
    """
    times = np.asarray(times_s, dtype=np.float64).reshape(-1)
    bad = ~((times >= -EPS) & (times < info.duration_s - EPS / 10))
    if bad.any():
        t = float(times[bad.argmax()])
        raise _range_error(info, f"time t={t:.4f}s", math.floor(t * info.fps + 0.5) if t >= 0 else None)
    idx = np.floor(times * info.fps + 0.5 + EPS).astype(np.int64)
    return np.clip(idx, 0, info.num_frames - 1)


def fps_indices(info: VideoInfo, target_fps: float, start_s: float = 0.0, end_s: float | None = None) -> np.ndarray:
    """Indices that resample ``[start_s, end_s)`` to ``target_fps``: the frame nearest to each
    ``t_k = start_s + k / target_fps`` with ``t_k < end_s``. ``(K,)`` int64."""
    end_s = info.duration_s if end_s is None else float(end_s)
    if not target_fps > 0:
        raise ValueError(f"target_fps must be positive, got {target_fps}")
    _check_time_range(info, float(start_s), end_s)
    count = max(1, math.ceil((end_s - start_s) * target_fps - EPS))
    times = start_s + np.arange(count, dtype=np.float64) / target_fps
    return times_to_indices(info, np.minimum(times, info.duration_s - EPS))


def uniform_indices(
    info: VideoInfo, num_frames: int, start_s: float | None = None, end_s: float | None = None
) -> np.ndarray:
    """``num_frames`` indices spread uniformly over a segment: ``floor(linspace(first, last, n))`` over
    the indices of the frames whose timestamps lie in ``[start_s, end_s)`` (the whole video by
    default), the usual video-model sampling. Repeats indices when the segment is shorter than
    ``num_frames``. ``(num_frames,)`` int64."""
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    start_s = 0.0 if start_s is None else float(start_s)
    end_s = info.duration_s if end_s is None else float(end_s)
    _check_time_range(info, start_s, end_s)
    first = math.ceil(start_s * info.fps - EPS)
    last = min(math.ceil(end_s * info.fps - EPS), info.num_frames) - 1
    if last < first:
        raise FrameOutOfRangeError(
            info.path,
            f"segment [{start_s:.4f}, {end_s:.4f}) s contains no frame; available: {info.available}",
            requested=f"t in [{start_s:.4f}, {end_s:.4f}) s",
            available=info.available,
        )
    # + EPS: linspace's float steps may land a hair below an integer (e.g. 65.99999999).
    return np.floor(np.linspace(first, last, num_frames) + EPS).astype(np.int64)


# --------------------------------------------------------------------------------------------------
# Reader
# --------------------------------------------------------------------------------------------------
class VideoReader:
    """An open video file that serves frames by seeking; use as a context manager.

    Args:
        path: the video file.
        seek_gap: when the next requested frame lies more than ``max(seek_gap, longest GOP seen)``
            frames past the last decoded one, the reader seeks instead of decoding through the gap.
        thread_type: FFmpeg decoder threading (``"AUTO"``, ``"FRAME"``, ``"SLICE"``, ``"NONE"``).
        exact_count: count frames from the packets (see :attr:`VideoInfo.frame_count_source`).

    Attributes:
        info: :class:`VideoInfo`.
        frames_decoded: video frames the decoder produced since the file was opened (a cost counter:
            a seek to a late frame decodes about one GOP, not the whole prefix).
        seeks: number of ``container.seek`` calls made.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        seek_gap: int = 32,
        thread_type: str = "AUTO",
        exact_count: bool = False,
    ) -> None:
        self.path, self._container = open_container(path)
        try:
            if not self._container.streams.video:
                kinds = ", ".join(f"{s.type} ({s.codec_context.name})" for s in self._container.streams) or "none"
                raise NotAVideoError(self.path, f"has no video stream (streams: {kinds})")
            self._stream = self._container.streams.video[0]
            self._stream.thread_type = thread_type
            self._thread_type = thread_type
            self._fresh = True  # nothing demuxed yet: decoding starts at the first packet
            self.info = self._probe(exact_count)
        except BaseException:
            self._container.close()
            raise
        self.seek_gap = seek_gap
        # One reformatter for all frames: it caches its swscale context, where ``frame.to_ndarray(format=...)``
        # builds a new one per frame (about 10x slower on small frames).
        self._to_rgb = VideoReformatter()
        self.frames_decoded = 0
        self.seeks = 0
        self._longest_gop = 0

    # -- metadata -----------------------------------------------------------------------------------
    def _probe(self, exact_count: bool) -> VideoInfo:
        stream, container = self._stream, self._container
        rate = _stream_fps(stream)
        if rate is None:
            raise CorruptVideoError(self.path, "the video stream declares no frame rate")
        self._rate = rate
        self._time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 1_000_000)
        self._start_pts = stream.start_time or 0
        if stream.duration:
            duration = float(stream.duration * self._time_base)
        elif (tagged := tag_duration(stream)) is not None:
            duration = tagged  # Matroska keeps per-track durations in tags only
        elif container.duration:
            duration = container.duration / av.time_base  # may include other (e.g. audio) streams
        else:
            duration = 0.0
        declared = None
        if exact_count:
            num_frames, source = self._count_packets(), "packets"
        elif stream.frames > 0:
            num_frames, source = int(stream.frames), "header"
        else:
            # No frame count in the container (Matroska, WebM): estimate from the duration, then confirm it
            # from the timestamps of the last GOP's packets (demuxed, not decoded).
            estimate = int(round(duration * rate))
            tail = self._scan_tail(estimate)
            num_frames, source = (estimate, "duration") if tail is None else (tail, "tail-scan")
            declared = estimate if tail is not None else None
            if tail is not None:
                duration = float(num_frames / rate)
        if num_frames <= 0:
            raise CorruptVideoError(self.path, "the video stream has no frames (or no duration to count them from)")
        if duration <= 0:
            duration = float(num_frames / rate)
        audio = container.streams.audio
        ctx = stream.codec_context
        return VideoInfo(
            path=str(self.path),
            num_frames=num_frames,
            fps=float(rate),
            duration_s=duration,
            width=int(ctx.width),
            height=int(ctx.height),
            has_audio=bool(audio),
            audio_sample_rate=int(audio[0].rate) if audio else None,
            codec=ctx.name,
            frame_count_source=source,
            declared_num_frames=declared,
        )

    def _scan_tail(self, estimate: int) -> int | None:
        """Frame count from the largest packet timestamp found after seeking near frame ``estimate``;
        ``None`` if no packet carries a timestamp there."""
        last = None
        self._fresh = False
        try:
            self._container.seek(self._pts_of(max(estimate - 1, 0)), stream=self._stream, backward=True)
            for packet in self._container.demux(self._stream):
                if packet.pts is not None:
                    index = round((packet.pts - self._start_pts) * self._time_base * self._rate)
                    last = index if last is None else max(last, index)
        except av.error.FFmpegError:
            return None  # keep the duration estimate; decoding reports what is really there
        return None if last is None else last + 1

    def _count_packets(self) -> int:
        count = 0
        self._fresh = False
        try:
            for packet in self._container.demux(self._stream):
                count += packet.size > 0  # the final empty packet only flushes the decoder
        except av.error.FFmpegError as err:
            raise CorruptVideoError(self.path, f"reading packets failed after {count} frames: {err}") from err
        return count

    # -- index <-> timestamp --------------------------------------------------------------------------
    def _pts_of(self, index: int) -> int:
        return self._start_pts + math.floor(Fraction(index) / (self._rate * self._time_base))

    def _index_of(self, frame: av.VideoFrame) -> int:
        pts = frame.pts if frame.pts is not None else frame.dts
        if pts is None:
            raise CorruptVideoError(self.path, "a decoded frame carries no timestamp; cannot index it")
        return round((pts - self._start_pts) * self._time_base * self._rate)

    # -- decoding -----------------------------------------------------------------------------------
    def _seek(self, index: int) -> Iterator[tuple[int, av.VideoFrame]]:
        """Seek to the keyframe at or before frame ``index``; return a generator of (index, frame)."""
        if index <= 0 or (self._fresh and index <= self.seek_gap):
            return self._rewind()  # near the start of an unread file: decode from the first packet
        try:
            self._container.seek(self._pts_of(index), stream=self._stream, backward=True)
        except av.error.FFmpegError as err:
            raise CorruptVideoError(self.path, f"seeking to frame {index} failed: {err}") from err
        self._fresh = False
        self.seeks += 1
        return self._decode_forward()

    def _rewind(self) -> Iterator[tuple[int, av.VideoFrame]]:
        """Decode from the very first packet. A seek to the stream start is not reliable in FFmpeg (some
        demuxers then skip the first packet, some decoders lose their priming), so reopen the file instead,
        unless nothing has been read from it yet."""
        if not self._fresh:
            self._container.close()
            _, self._container = open_container(self.path)
            self._stream = self._container.streams.video[0]
            self._stream.thread_type = self._thread_type
        self._fresh = False
        return self._decode_forward()

    def _decode_forward(self) -> Iterator[tuple[int, av.VideoFrame]]:
        last_key = None
        for frame in self._container.decode(self._stream):
            self.frames_decoded += 1
            index = self._index_of(frame)
            if frame.key_frame:
                if last_key is not None:
                    self._longest_gop = max(self._longest_gop, index - last_key)
                last_key = index
            yield index, frame

    def _next(self, run: Iterator[tuple[int, av.VideoFrame]], target: int) -> tuple[int, av.VideoFrame] | None:
        try:
            return next(run, None)
        except av.error.FFmpegError as err:
            raise CorruptVideoError(
                self.path, f"decoding failed while reading frame {target} ({self.info.available}): {err}"
            ) from err

    def _truncated(self, target: int, last: int | None) -> TruncatedVideoError:
        ended = "yields no frame at or after the keyframe preceding it" if last is None else f"ends after frame {last}"
        return TruncatedVideoError(
            self.path,
            f"frame {target} (t={target / self.info.fps:.3f}s) was requested, but the video stream {ended}, "
            f"although the container promises {self.info.available}: the file is truncated or corrupt",
            requested=f"frame {target}",
            available=self.info.available if last is None else f"frames 0..{last} decodable",
        )

    def _decode_sorted(self, wanted: list[int]) -> dict[int, np.ndarray]:
        """Decode the frames ``wanted`` (ascending, unique) and return them by index."""
        out: dict[int, np.ndarray] = {}
        run: Iterator[tuple[int, av.VideoFrame]] | None = None
        held = before = None  # the newest decoded (index, frame) of this run, and the one before it
        for target in wanted:
            if run is None or held is None or target - held[0] > max(self.seek_gap, self._longest_gop):
                run, held, before = self._seek(target), None, None
                backoff, at_start = 1, False
            while True:
                while held is None or held[0] < target:
                    nxt = self._next(run, target)
                    if nxt is None:
                        raise self._truncated(target, None if held is None else held[0])
                    before, held = held, nxt
                if held[0] == target:
                    chosen = held
                elif before is not None:  # index gap (variable frame rate): the frame on screen at target
                    chosen = before
                elif at_start:  # nothing precedes the first frame: it is the one on screen
                    chosen = held
                else:
                    # The seek landed after the target (the demuxer picked a keyframe by decode time, or an
                    # inexact index): seek further back, doubling the distance, down to the stream start.
                    back = target - backoff * max(self.seek_gap, self._longest_gop, 1)
                    at_start = back <= 0
                    run, held, before = self._seek(back), None, None
                    backoff *= 2
                    continue
                break
            out[target] = self._to_rgb.reformat(chosen[1], format="rgb24").to_ndarray()
        return out

    def _check_indices(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        idx = np.asarray(indices)
        if idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"{self.path}: frame indices must be integers, got dtype {idx.dtype}")
        idx = idx.astype(np.int64).reshape(-1)
        bad = (idx < 0) | (idx >= self.info.num_frames)
        if bad.any():
            i = int(idx[bad.argmax()])
            raise _range_error(self.info, f"frame {i}", i if i >= 0 else None)
        return idx

    # -- public API ---------------------------------------------------------------------------------
    def get_frames(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Frames at ``indices``, in the requested order (repeats allowed).

        Returns:
            ``(N, H, W, 3)`` uint8 RGB.
        """
        idx = self._check_indices(indices)
        if idx.size == 0:
            return np.empty((0, self.info.height, self.info.width, 3), dtype=np.uint8)
        frames = self._decode_sorted(sorted(set(idx.tolist())))
        return np.stack([frames[i] for i in idx.tolist()])

    def get_frames_at_times(self, times_s: Sequence[float] | np.ndarray) -> np.ndarray:
        """Frames nearest to each time in seconds. ``(N, H, W, 3)`` uint8."""
        return self.get_frames(times_to_indices(self.info, times_s))

    def get_frames_at_fps(self, target_fps: float, start_s: float = 0.0, end_s: float | None = None) -> np.ndarray:
        """``[start_s, end_s)`` resampled to ``target_fps`` (see :func:`fps_indices`). ``(K, H, W, 3)`` uint8."""
        return self.get_frames(fps_indices(self.info, target_fps, start_s, end_s))

    def sample_uniform(self, num_frames: int, start_s: float | None = None, end_s: float | None = None) -> np.ndarray:
        """``num_frames`` frames uniformly over a segment (see :func:`uniform_indices`). ``(num_frames, H, W, 3)``."""
        return self.get_frames(uniform_indices(self.info, num_frames, start_s, end_s))

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VideoReader({str(self.path)!r}, {self.info.available})"


# --------------------------------------------------------------------------------------------------
# Functional API (one open per call)
# --------------------------------------------------------------------------------------------------
def probe_video(path: str | os.PathLike[str], exact: bool = False) -> VideoInfo:
    """Metadata of a video file without decoding frames. ``exact=True`` counts the video packets
    instead of trusting the header (see :attr:`VideoInfo.frame_count_source`)."""
    with VideoReader(path, exact_count=exact) as reader:
        return reader.info


def read_frames(path: str | os.PathLike[str], indices: Sequence[int] | np.ndarray) -> np.ndarray:
    """Frames ``indices`` of ``path`` in the requested order. ``(N, H, W, 3)`` uint8 RGB."""
    with VideoReader(path) as reader:
        return reader.get_frames(indices)


def read_frames_at_times(path: str | os.PathLike[str], times_s: Sequence[float] | np.ndarray) -> np.ndarray:
    """Frames nearest to ``times_s`` (seconds from the first frame). ``(N, H, W, 3)`` uint8 RGB."""
    with VideoReader(path) as reader:
        return reader.get_frames_at_times(times_s)


def read_frames_at_fps(
    path: str | os.PathLike[str], target_fps: float, start_s: float = 0.0, end_s: float | None = None
) -> np.ndarray:
    """``[start_s, end_s)`` of ``path`` resampled to ``target_fps``. ``(K, H, W, 3)`` uint8 RGB."""
    with VideoReader(path) as reader:
        return reader.get_frames_at_fps(target_fps, start_s, end_s)


def sample_uniform(
    path: str | os.PathLike[str], num_frames: int, start_s: float | None = None, end_s: float | None = None
) -> np.ndarray:
    """``num_frames`` frames spread uniformly over ``[start_s, end_s)``. ``(num_frames, H, W, 3)`` uint8."""
    with VideoReader(path) as reader:
        return reader.sample_uniform(num_frames, start_s, end_s)

"""File-level helpers shared by :mod:`mthub.data.video` and :mod:`mthub.data.audio`: opening a media file
with errors that name it, and container metadata FFmpeg exposes only as tags."""

from __future__ import annotations

import os
from pathlib import Path

import av

from mthub.data.errors import CorruptVideoError, NotAVideoError, VideoNotFoundError

EPS = 1e-6  # tolerance (in frames or seconds) for float time arithmetic

# Leading bytes of common video containers. A file FFmpeg cannot open that starts like one of these is
# reported as corrupt (e.g. an mp4 cut before its index), anything else as "not a video".
CONTAINER_MAGIC: tuple[tuple[int, bytes], ...] = (
    (4, b"ftyp"),  # ISO-BMFF: mp4, mov, m4v, 3gp
    (4, b"moov"),
    (4, b"mdat"),
    (4, b"free"),
    (4, b"wide"),
    (0, b"\x1a\x45\xdf\xa3"),  # EBML: mkv, webm
    (0, b"RIFF"),  # avi, wav
    (0, b"OggS"),
    (0, b"FLV"),
    (0, b"\x00\x00\x01\xba"),  # MPEG-PS
    (0, b"\x47"),  # MPEG-TS sync byte
)


def looks_like_container(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(16)
    return any(head[off : off + len(magic)] == magic for off, magic in CONTAINER_MAGIC)


def open_container(path: str | os.PathLike[str]) -> tuple[Path, av.container.InputContainer]:
    """Open ``path`` for reading, turning FFmpeg failures into errors that name the file."""
    path = Path(path)
    if not path.exists():
        raise VideoNotFoundError(path)
    if path.is_dir():
        raise NotAVideoError(path, "is a directory, not a video file")
    if path.stat().st_size == 0:
        raise NotAVideoError(path, "is empty (0 bytes)")
    try:
        return path, av.open(str(path), mode="r")
    except av.error.FFmpegError as err:
        if looks_like_container(path):
            raise CorruptVideoError(
                path, f"has a media container signature but FFmpeg cannot read it (corrupt or truncated?): {err}"
            ) from err
        raise NotAVideoError(path, f"is not a video or audio file FFmpeg recognises: {err}") from err


def tag_duration(stream: av.stream.Stream) -> float | None:
    """Seconds from a Matroska ``DURATION`` tag (``HH:MM:SS.fffffffff``), if present."""
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    try:
        hours, minutes, seconds = tag.split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except (AttributeError, ValueError):
        return None

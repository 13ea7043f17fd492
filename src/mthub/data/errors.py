"""Exceptions raised by mthub's data layer (video/audio decoding, dataset builders, transforms).

Every error names the file (or directory) it is about and says what failed, so that a failure deep
inside a DataLoader worker can be traced back to one file on disk.

Hierarchy::

    MTHubDataError(Exception)
    ├── VideoError(MTHubDataError, ValueError)            .path, .reason
    │   ├── VideoNotFoundError(VideoError, FileNotFoundError)
    │   ├── NotAVideoError                                 not a media container / no video stream
    │   ├── CorruptVideoError                              container or stream cannot be decoded
    │   ├── FrameOutOfRangeError                           frame index / time outside the video
    │   │                                                  .requested, .available
    │   ├── TruncatedVideoError(CorruptVideoError, FrameOutOfRangeError)
    │   │                                                  the stream ends before a requested frame
    │   │                                                  that its header says exists
    │   └── AudioError                                     no audio stream / audio range / audio decode
    ├── CorruptSampleError(MTHubDataError)                 .path, .reason (raised by dataset transforms)
    └── DatasetLayoutError(MTHubDataError, FileNotFoundError)
                                                           .root, .expected (paths that were expected)

``VideoError`` is also a ``ValueError`` (bad input data), and the two "missing" errors are also
``FileNotFoundError``, so code written against the builtin exceptions keeps working.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from typing import Any

__all__ = [
    "MTHubDataError",
    "VideoError",
    "VideoNotFoundError",
    "NotAVideoError",
    "CorruptVideoError",
    "FrameOutOfRangeError",
    "TruncatedVideoError",
    "AudioError",
    "CorruptSampleError",
    "DatasetLayoutError",
]


class MTHubDataError(Exception):
    """Base class of every error raised by ``mthub.data``."""


class _PathError(MTHubDataError):
    """An error about one file: ``str(err)`` is ``"<path>: <reason>"``.

    The constructor also accepts a single argument (``Cls(message)``) because PyTorch's DataLoader
    re-raises worker exceptions that way; ``__reduce__`` keeps the attributes through pickling.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str | None = None) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        self.message = self.path if reason is None else f"{self.path}: {reason}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__, (self.path, self.reason), self.__dict__)


class VideoError(_PathError, ValueError):
    """A video (or audio) file could not be read as requested. ``.path`` names the file."""


class VideoNotFoundError(VideoError, FileNotFoundError):
    """The video file does not exist."""

    def __init__(self, path: str | os.PathLike[str], reason: str | None = "no such file") -> None:
        super().__init__(path, reason)
        # OSError fields, so that callers inspecting errno/filename see the usual values.
        self.errno = errno.ENOENT
        self.strerror = reason
        self.filename = self.path


class NotAVideoError(VideoError):
    """The file is not a media container FFmpeg understands, or it has no video stream."""


class CorruptVideoError(VideoError):
    """The container was recognised but its header or a stream cannot be decoded."""


class FrameOutOfRangeError(VideoError):
    """A requested frame index or time lies outside the video.

    ``.requested`` is what was asked for (e.g. ``"frame 120"`` or ``"t=4.20s"``) and ``.available``
    the range the file offers (e.g. ``"frames 0..99 (t in [0, 4.000) s)"``); both are also in the
    message.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        reason: str | None = None,
        *,
        requested: str | None = None,
        available: str | None = None,
    ) -> None:
        super().__init__(path, reason)
        self.requested = requested
        self.available = available


class TruncatedVideoError(CorruptVideoError, FrameOutOfRangeError):
    """The stream ended (or broke off) before a frame that the container header says exists:
    typically a file cut short by an interrupted download or copy. Catchable both as
    :class:`CorruptVideoError` and as :class:`FrameOutOfRangeError`."""


class AudioError(VideoError):
    """Audio could not be read: no audio stream, requested range outside it, or a decode failure."""


class CorruptSampleError(_PathError):
    """A dataset sample could not be decoded while training/evaluating.

    Raised by dataset transforms (``.path`` is the sample's file, ``.reason`` why it failed); the
    collator skips such samples and counts them, so they are reported rather than silently dropped.
    """


class DatasetLayoutError(MTHubDataError, FileNotFoundError):
    """A dataset directory does not have the expected layout.

    ``.root`` is the directory that was given, ``.expected`` the paths that were looked for (all
    listed in the message), ``.missing`` those that were not found.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        expected: Sequence[str | os.PathLike[str]] = (),
        missing: Sequence[str | os.PathLike[str]] | None = None,
        hint: str | None = None,
    ) -> None:
        self.root = os.fspath(root)
        self.expected = [os.fspath(p) for p in expected]
        self.missing = self.expected if missing is None else [os.fspath(p) for p in missing]
        self.hint = hint
        lines = [f"{self.root}: unexpected dataset layout"]
        if self.expected:
            lines.append("expected paths (relative to the root unless absolute):")
            lines += [f"  {'MISSING ' if p in self.missing else 'found   '}{p}" for p in self.expected]
        if hint:
            lines.append(hint)
        self.message = "\n".join(lines)
        super().__init__(self.message)
        self.errno = errno.ENOENT
        self.filename = self.root

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__, (self.root, self.expected, self.missing, self.hint), self.__dict__)

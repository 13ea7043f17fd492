"""Helpers shared by the Ego4D builders: annotation lookup, layout errors and media probing that turns every
decoding failure into :class:`~mthub.data.errors.CorruptSampleError` (reported by the builder base)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import datasets

from mthub.data import video as _video
from mthub.data.builders import _io
from mthub.data.builders.base import MTHubBuilder
from mthub.data.errors import CorruptSampleError, DatasetLayoutError, VideoError

__all__ = [
    "SPLIT_FILES",
    "Ego4DBuilder",
    "check_choice",
    "find_annotation",
    "load_json",
    "probe_audio",
    "probe_image",
    "probe_video_frames",
    "probe_video_times",
    "split_annotations",
    "split_generators",
]

#: mthub split name → Ego4D annotation file suffix.
SPLIT_FILES = {"train": "train", "val": "val", "test": "test_unannotated"}


class Ego4DBuilder(MTHubBuilder):
    """The head every Ego4D builder shares: one ``"default"`` config (version 1.0.0) of the subclass's
    ``BUILDER_CONFIG_CLASS``, ``dataset_name`` defaulting to the subclass's ``DATASET_NAME``, and
    :meth:`_check_config` run right after construction so that a bad config value fails at once rather than
    inside ``download_and_prepare``."""

    DEFAULT_CONFIG_NAME = "default"
    DATASET_NAME = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.BUILDER_CONFIGS = [cls.BUILDER_CONFIG_CLASS(name="default", version=datasets.Version("1.0.0"))]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("dataset_name", self.DATASET_NAME)
        super().__init__(*args, **kwargs)
        self._check_config()

    def _check_config(self) -> None:
        """Raise ``ValueError`` naming the builder and field on an invalid config value (nothing to check here)."""


def check_choice(owner: str, field: str, value: Any, choices: Sequence[str]) -> None:
    """Raise ``ValueError("<owner>: <field> must be 'a', 'b' or 'c', got <value>")`` unless ``value`` is a choice."""
    if value not in choices:
        quoted = [repr(choice) for choice in choices]
        listed = " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)
        raise ValueError(f"{owner}: {field} must be {listed}, got {value!r}")


def find_annotation(root: Path, name: str) -> Path | None:
    """``root/name`` or ``root/annotations/name`` (the two layouts the official READMEs use), else ``None``."""
    for candidate in (root / name, root / "annotations" / name):
        if candidate.is_file():
            return candidate
    return None


def load_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise DatasetLayoutError(path, expected=[str(path)], missing=[], hint=f"cannot read annotation JSON: {err}") from None


def require_root(data_dir: str | None, dataset: str, expected: Sequence[str]) -> Path:
    if data_dir is None:
        raise DatasetLayoutError(
            "<data_dir not given>", expected=list(expected), hint=f"{dataset} cannot be downloaded by mthub: pass data_dir=."
        )
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise DatasetLayoutError(root, expected=list(expected), hint=f"{dataset}: data_dir is not a directory.")
    return root


def split_annotations(
    data_dir: str | None, dataset: str, stem: str, extra_expected: Sequence[str] = ()
) -> tuple[Path, list[str], dict[str, Path]]:
    """``(root, expected, present)`` of a builder whose splits are ``<stem>_{train,val,test_unannotated}.json``:
    the checked data root, the expected layout for errors (the three annotation files, then ``extra_expected``) and
    the annotation file of each split found (see :func:`find_annotation`)."""
    expected = [f"[annotations/]{stem}_{f}.json" for f in SPLIT_FILES.values()] + list(extra_expected)
    root = require_root(data_dir, dataset, expected)
    files = {s: find_annotation(root, f"{stem}_{f}.json") for s, f in SPLIT_FILES.items()}
    return root, expected, {s: p for s, p in files.items() if p is not None}


def split_generators(root: Path, present: dict[str, Path], **gen_kwargs: Any) -> list[datasets.SplitGenerator]:
    """One ``SplitGenerator`` per split of ``present`` with ``split``, ``root``, ``annotation`` (the split's file)
    and ``gen_kwargs`` for ``_generate_examples``."""
    return [
        datasets.SplitGenerator(name=s, gen_kwargs={"split": s, "root": str(root), "annotation": str(p), **gen_kwargs})
        for s, p in present.items()
    ]


def _reason(err: BaseException) -> str:
    return err.reason if isinstance(err, VideoError) and err.reason else f"{type(err).__name__}: {err}"


def probe_video_frames(path: Path, frames: Sequence[int]) -> _video.VideoInfo:
    """Open ``path`` and decode the first and the last of ``frames`` (sorted), so that a missing, unreadable or
    truncated video fails here (as ``CorruptSampleError``) and not inside a DataLoader worker."""
    try:
        with _video.VideoReader(path) as reader:
            if frames:
                reader.get_frames([min(frames), max(frames)])
            return reader.info
    except VideoError as err:
        raise CorruptSampleError(path, _reason(err)) from None


def probe_video_times(path: Path, windows: Sequence[tuple[float, float]]) -> _video.VideoInfo:
    """As :func:`probe_video_frames` for time windows ``[(start_s, end_s)]`` (clamped to the video): decodes the
    frames nearest to the earliest start and the latest end."""
    try:
        with _video.VideoReader(path) as reader:
            info = reader.info
            if windows:
                first = max(min(start for start, _ in windows), 0.0)
                last = min(max(end for _, end in windows), info.duration_s) - 1.0 / info.fps
                times = [first, max(first, last)]
                reader.get_frames(_video.times_to_indices(info, [min(t, info.duration_s - 1e-6) for t in times]))
            return info
    except VideoError as err:
        raise CorruptSampleError(path, _reason(err)) from None


def probe_audio(path: Path, start_s: float, end_s: float, sample_rate: int = 16000) -> None:
    """Decode ``[start_s, end_s)`` of ``path``'s audio (PyAV, resampled to ``sample_rate``)."""
    try:
        _video.read_audio(path, sample_rate=sample_rate, start_s=start_s, end_s=end_s)
    except VideoError as err:
        raise CorruptSampleError(path, _reason(err)) from None


def probe_image(path: Path) -> None:
    """Fully decode one image (JPEG frame) or raise ``CorruptSampleError``."""
    _io.read_rgb(path)

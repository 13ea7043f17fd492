"""Shared machinery of mthub's ``datasets`` builders: per-sample probing, the bad-sample report, ``strict`` mode.

Every mthub builder is a :class:`MTHubBuilder` (a ``datasets.GeneratorBasedBuilder``). Its
``_generate_examples`` runs each sample through a loader that opens and fully decodes every file the sample
needs (images are loaded, ``.npy``/``.mat`` files parsed, videos decoded at the first and last frame they will
need) and raises :class:`~mthub.data.errors.CorruptSampleError` naming the file and the reason on failure.
:meth:`MTHubBuilder._probe_examples` turns those failures into one of two outcomes (issue 5, "Bad data"):

* ``strict=False`` (default): the sample is skipped, and a JSON line ``{"split", "path", "reason", "id"}``
  is appended to the report file :data:`REPORT_FILENAME` *inside the prepared dataset's cache directory* (it
  is written while ``datasets`` prepares into its ``.incomplete`` directory, so it moves with the Arrow files
  and is deleted with them). A warning with the per-split count is logged. :func:`read_report` reads it back.
* ``strict=True``: the first failure raises ``CorruptSampleError`` (file and reason in the message). A cached
  dataset prepared earlier with ``strict=False`` is not silently accepted either: if its report lists bad
  samples, ``download_and_prepare`` raises for the first of them.

Nothing is dropped without a trace: every skipped sample is in the report.

Example::

    >>> from mthub.data.builders.nyud import NYUDv2
    >>> b = NYUDv2(data_dir="/data/NYUD_MT", cache_dir="/tmp/hf")
    >>> b.download_and_prepare()
    >>> read_report(b).counts          # bad samples per split
    {'train': 0, 'val': 1}
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
from datasets.exceptions import DatasetGenerationError

from mthub.data.errors import CorruptSampleError, MTHubDataError

__all__ = [
    "REPORT_FILENAME",
    "BadSample",
    "BadSampleReport",
    "MTHubBuilderConfig",
    "MTHubBuilder",
    "read_report",
]

logger = logging.getLogger(__name__)

#: Name of the bad-sample report (JSON lines) inside a prepared dataset's cache directory.
REPORT_FILENAME = "mthub_bad_samples.jsonl"


@dataclass(frozen=True)
class BadSample:
    """One skipped sample: the split it belonged to, the file that failed and why."""

    split: str
    path: str
    reason: str
    id: str | None = None


@dataclass
class BadSampleReport:
    """Contents of a bad-sample report.

    Attributes:
        path: the report file (``None`` when the dataset has no cache directory to hold one).
        records: every skipped sample, in generation order.
        counts: number of skipped samples per split; splits known to the builder/dataset but without failures
            appear with 0.
    """

    path: Path | None
    records: list[BadSample] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.records)

    def for_split(self, split: str) -> list[BadSample]:
        return [r for r in self.records if r.split == split]


def _report_from_file(path: Path, known_splits: Iterable[str] = ()) -> BadSampleReport:
    records: list[BadSample] = []
    if path.is_file():
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    d = json.loads(line)
                    records.append(BadSample(split=d["split"], path=d["path"], reason=d["reason"], id=d.get("id")))
    counts = {str(s): 0 for s in known_splits}
    for r in records:
        counts[r.split] = counts.get(r.split, 0) + 1
    return BadSampleReport(path=path, records=records, counts=counts)


def read_report(source: Any) -> BadSampleReport:
    """Read the bad-sample report of a prepared dataset.

    Args:
        source: an :class:`MTHubBuilder` (after ``download_and_prepare``), a ``datasets.Dataset`` or
            ``DatasetDict`` returned by it (or by :func:`mthub.data.load`), the dataset cache directory, or the
            report file itself.

    Returns:
        The report; ``counts`` has an entry for every split of the builder / dataset (0 when nothing was
        skipped). For a single ``Dataset`` only the records of its own split are returned.
    """
    if isinstance(source, datasets.DatasetBuilder):
        splits = list(source.info.splits or {})
        return _report_from_file(Path(source.cache_dir) / REPORT_FILENAME, splits)
    if isinstance(source, datasets.DatasetDict):
        reports = [read_report(ds) for ds in source.values()]
        path = next((r.path for r in reports if r.path is not None), None)
        merged = BadSampleReport(path=path)
        for r in reports:
            merged.records.extend(r.records)
            merged.counts.update(r.counts)
        return merged
    if isinstance(source, datasets.Dataset):
        # "train[:10]" or "train+val" -> the underlying split names
        names = [p.split("[")[0] for p in str(source.split).split("+")] if source.split is not None else []
        if not source.cache_files:
            return BadSampleReport(path=None, counts={n: 0 for n in names})
        cache_dir = Path(source.cache_files[0]["filename"]).parent
        full = _report_from_file(cache_dir / REPORT_FILENAME, names)
        if not names:
            return full
        return BadSampleReport(
            path=full.path,
            records=[r for r in full.records if r.split in names],
            counts={n: full.counts.get(n, 0) for n in names},
        )
    p = Path(os.fspath(source))
    return _report_from_file(p / REPORT_FILENAME if p.is_dir() else p)


@dataclass
class MTHubBuilderConfig(datasets.BuilderConfig):
    """``BuilderConfig`` with the task selection shared by all mthub builders.

    Attributes:
        tasks: tasks whose labels are loaded (a subset of the builder's ``TASKS``); ``None`` selects all.
    """

    tasks: tuple[str, ...] | None = None


class MTHubBuilder(datasets.GeneratorBasedBuilder):
    """``GeneratorBasedBuilder`` that probes every sample and reports (or, with ``strict``, raises on) bad ones.

    Subclasses set ``TASKS`` (all tasks the format can provide; the first ones are the default), optionally
    ``TASK_ALIASES``, and implement ``_split_generators`` / ``_generate_examples``; the latter yields from
    :meth:`_probe_examples`.

    Args:
        strict: raise :class:`~mthub.data.errors.CorruptSampleError` at the first bad sample instead of
            skipping and reporting it.
        *args, **kwargs: as ``datasets.GeneratorBasedBuilder`` (``data_dir``, ``cache_dir``, config kwargs
            such as ``tasks=...``).
    """

    BUILDER_CONFIG_CLASS = MTHubBuilderConfig
    TASKS: tuple[str, ...] = ()
    TASK_ALIASES: Mapping[str, str] = {}

    def __init__(self, *args: Any, strict: bool = False, **kwargs: Any) -> None:
        self.strict = bool(strict)
        if "tasks" in kwargs and kwargs["tasks"] is not None:
            kwargs["tasks"] = self.normalize_tasks(kwargs["tasks"])
        super().__init__(*args, **kwargs)

    # ----------------------------------------------------------------------------------------------- tasks
    @classmethod
    def normalize_tasks(cls, tasks: str | Iterable[str]) -> tuple[str, ...]:
        """Validate a task selection, resolve aliases and return it in the builder's canonical order."""
        if isinstance(tasks, str):
            tasks = (tasks,)
        chosen = []
        for t in tasks:
            t = cls.TASK_ALIASES.get(t, t)
            if t not in cls.TASKS:
                raise ValueError(f"{cls.__name__}: unknown task {t!r}; available tasks: {', '.join(cls.TASKS)}")
            chosen.append(t)
        if not chosen:
            raise ValueError(f"{cls.__name__}: select at least one task out of {', '.join(cls.TASKS)}")
        return tuple(t for t in cls.TASKS if t in chosen)

    @property
    def tasks(self) -> tuple[str, ...]:
        """The selected tasks (all of ``TASKS`` when the config leaves ``tasks`` unset)."""
        return self.config.tasks if self.config.tasks else tuple(self.TASKS)

    # ---------------------------------------------------------------------------------------------- report
    @property
    def report_path(self) -> Path:
        """Where the bad-sample report of the prepared dataset lives (inside its cache directory)."""
        return Path(self.cache_dir) / REPORT_FILENAME

    def _record_bad_sample(self, split: str, error: CorruptSampleError, sample_id: str | None) -> None:
        # Written into the directory being prepared (``_output_dir`` is the ``.incomplete`` dir at this point),
        # one line per failure, so the report also survives generation in worker processes.
        out = Path(self._output_dir) / REPORT_FILENAME
        out.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"split": split, "path": error.path, "reason": error.reason or "", "id": sample_id})
        with open(out, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def _probe_examples(
        self, split: str, samples: Iterable[tuple[str, Callable[[], dict[str, Any]]]]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Run each ``(key, loader)``; yield ``(key, example)`` for good samples, report or raise for bad ones.

        ``loader()`` must fully decode the sample's files and raise ``CorruptSampleError(path, reason)`` on
        failure (the helpers in :mod:`mthub.data.builders._io` do).
        """
        n_bad = 0
        for key, load in samples:
            try:
                example = load()
            except CorruptSampleError as err:
                if self.strict:
                    raise
                n_bad += 1
                self._record_bad_sample(split, err, key)
                continue
            yield key, example
        if n_bad:
            logger.warning(
                "%s: skipped %d bad sample(s) in split %r; paths and reasons are in %s",
                type(self).__name__,
                n_bad,
                split,
                self.report_path,
            )

    # -------------------------------------------------------------------------------------------- prepare
    def download_and_prepare(self, *args: Any, **kwargs: Any) -> None:
        """As ``datasets``' method, but mthub data errors surface as themselves (not wrapped in
        ``DatasetGenerationError``), and ``strict=True`` also rejects a cached dataset whose report lists bad
        samples."""
        try:
            super().download_and_prepare(*args, **kwargs)
        except DatasetGenerationError as err:
            cause = err.__cause__
            if isinstance(cause, MTHubDataError):
                raise cause from None
            raise
        if self.strict:
            report = read_report(self)
            if report.records:
                first = report.records[0]
                raise CorruptSampleError(
                    first.path,
                    f"{first.reason} (strict=True: the cached dataset at {self.cache_dir} skipped "
                    f"{len(report.records)} bad sample(s); fix the files and rebuild with "
                    "download_mode='force_redownload')",
                )

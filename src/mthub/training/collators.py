"""Batch collation for multi-task video training: variable-length clips, dict labels with missing tasks, and
corrupt samples that are skipped and counted (issue 5, "Bad data").

Sample format (one dataset item)::

    {
        "pixel_values": Tensor (T, C, H, W)      # a clip; T may vary between samples; (C, H, W) images also work
        "labels": {"action": 3, "segmentation": Tensor (T, H, W), "depth": None, ...},   # any task may be missing
        ...                                       # other tensor inputs are stacked; strings/None are dropped
    }

Labels may also be given as top-level keys named like the tasks. A dataset item may instead be a
:class:`CorruptSample` marker: :class:`SkipCorruptDataset` turns a :class:`~mthub.data.errors.CorruptSampleError`
raised by the wrapped dataset's ``__getitem__`` into one (the DataLoader would otherwise abort the epoch, because
the exception is raised before the collate function runs). The collator drops markers, logs each one with its path
and reason, and reports the number dropped under ``batch["corrupt_samples_skipped"]``; the trainer pops that
key, sums it over steps and ranks and logs it. Counts travel inside the batch because the collator runs in
DataLoader worker processes, where an attribute counter would never reach the trainer.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..configuration_utils import TaskSpec
from ..data.errors import CorruptSampleError

logger = logging.getLogger(__name__)

#: Batch key holding the number of corrupt samples the collator dropped from this batch.
CORRUPT_COUNT_KEY = "corrupt_samples_skipped"


@dataclasses.dataclass(frozen=True)
class CorruptSample:
    """Marker that replaces a dataset item whose loading raised :class:`~mthub.data.errors.CorruptSampleError`."""

    index: int
    path: str
    reason: str | None


class AllSamplesCorruptError(RuntimeError):
    """Every sample of one batch was corrupt, so there is nothing to train on. Under data parallelism a rank cannot
    skip a step on its own (the gradient all-reduce would hang), so this stops training with the offending paths."""

    def __init__(self, samples: Sequence[CorruptSample]) -> None:
        self.samples = list(samples)
        listing = "\n".join(f"  [{s.index}] {s.path}: {s.reason}" for s in self.samples)
        super().__init__(
            f"All {len(self.samples)} samples of a batch are corrupt; fix or exclude these files (the dataset "
            f"builder's bad-file report lists the ones found while preparing):\n{listing}"
        )


class SkipCorruptDataset(Dataset):
    """Wraps a map-style dataset so that an item raising :class:`~mthub.data.errors.CorruptSampleError` becomes a
    :class:`CorruptSample` marker instead of aborting the DataLoader. Any other exception propagates (bugs must
    not be counted as bad data). ``len`` and ``set_epoch`` forward to the wrapped dataset."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        try:
            return self.dataset[index]
        except CorruptSampleError as error:
            return CorruptSample(index=int(index), path=str(error.path), reason=error.reason)

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)

    def __getattr__(self, name: str) -> Any:  # column_names, features, ... of a wrapped datasets.Dataset
        if name == "dataset":
            raise AttributeError(name)
        return getattr(self.dataset, name)


def split_corrupt(features: Sequence[Any]) -> tuple[list[Any], list[CorruptSample]]:
    """Separate real items from :class:`CorruptSample` markers, logging every marker (never silently dropped)."""
    good, bad = [], []
    for feature in features:
        (bad if isinstance(feature, CorruptSample) else good).append(feature)
    for sample in bad:
        logger.warning("Skipping corrupt sample %d (%s): %s", sample.index, sample.path, sample.reason)
    if features and not good:
        raise AllSamplesCorruptError(bad)
    return good, bad


class CorruptSampleFilter:
    """Adapts any collate function to :class:`SkipCorruptDataset`: drops markers, calls ``collate_fn`` on the rest
    and adds ``corrupt_samples_skipped`` to the (dict) batch."""

    def __init__(self, collate_fn: Callable[[list[Any]], Any]) -> None:
        self.collate_fn = collate_fn

    def __call__(self, features: list[Any]) -> Any:
        good, bad = split_corrupt(features)
        batch = self.collate_fn(good)
        if isinstance(batch, dict):
            batch[CORRUPT_COUNT_KEY] = len(bad)
        return batch


def _as_tensor(value: Any, where: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (np.ndarray, np.generic, int, float, bool, list, tuple)):
        return torch.as_tensor(np.asarray(value))
    raise TypeError(f"{where}: cannot batch a value of type {type(value).__name__}.")


def _fill_value(spec: TaskSpec) -> float | int:
    """The value that marks 'no label' for ``spec`` (used for missing samples and padding)."""
    if spec.kind == "dense_regression" or spec.loss == "l1":
        value = spec.extra.get("ignore_value")
        if value is None:
            raise ValueError(
                f"Task {spec.name!r} ({spec.kind}) has no extra['ignore_value'], so a sample without {spec.name!r} "
                "labels (or a padded frame) cannot be masked; set TaskSpec.extra['ignore_value']."
            )
        return value
    if spec.loss == "balanced_bce":
        return spec.extra.get("ignore_value", 255)
    return spec.ignore_index


def _label_dtype(tensors: list[torch.Tensor], fill: float | int) -> torch.dtype:
    """The labels' common dtype, widened when it cannot hold the fill value (``uint8`` maps with ignore -100)."""
    dtype = tensors[0].dtype
    for tensor in tensors[1:]:
        dtype = torch.promote_types(dtype, tensor.dtype)
    if dtype.is_floating_point:
        return dtype
    if dtype == torch.bool or not float(fill).is_integer():
        return torch.float32 if not float(fill).is_integer() else torch.int64
    info = torch.iinfo(dtype)
    return dtype if info.min <= fill <= info.max else torch.int64


@dataclasses.dataclass
class VideoCollator:
    """Collate multi-task samples into a model batch.

    Args:
        tasks: the model's :class:`~mthub.TaskSpec` list (``config.task_specs``). A task's labels are padded and
            missing samples filled with its ignore value (``ignore_index``, or ``extra["ignore_value"]`` for
            regression); a task absent from the whole batch becomes ``labels[task] = None``.
        video_keys: inputs holding clips ``(T, C, H, W)``; they are padded at the end of the time axis with
            ``pad_value`` to ``num_frames`` (or the batch's longest clip) and described by ``frame_mask``.
        num_frames: pad clips to this length (models with a fixed number of frames); longer clips raise.
        frame_mask_key: batch key of the ``(B, T)`` bool mask (``True`` = real frame); ``None`` to omit it
            (then all clips of a batch must have the same length).
        pad_value: value of padded pixels.
        input_keys: model inputs to keep; ``None`` keeps every tensor/array/number entry (strings and ``None``
            such as file paths are dropped, since ``model(**batch)`` would reject them).
        count_key: batch key of the corrupt-sample count; ``None`` to omit it.

    Output: ``{"pixel_values": (B, T, C, H, W), "frame_mask": (B, T) bool, "labels": {task: (B, ...) | None},
    "corrupt_samples_skipped": int}``. Per-frame labels (``spec.extra["per_frame"]``) are padded along their
    first axis to the padded clip length, so they always line up with per-frame logits.
    """

    tasks: Sequence[TaskSpec]
    video_keys: Sequence[str] = ("pixel_values",)
    num_frames: int | None = None
    frame_mask_key: str | None = "frame_mask"
    pad_value: float = 0.0
    input_keys: Sequence[str] | None = None
    count_key: str | None = CORRUPT_COUNT_KEY

    def __post_init__(self) -> None:
        self.tasks = [TaskSpec.coerce(task) for task in self.tasks]
        self._specs = {spec.name: spec for spec in self.tasks}

    # ----- construction -------------------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Any, **kwargs: Any) -> VideoCollator:
        """Tasks from ``config.task_specs``; ``num_frames`` from ``config.num_frames`` when the config has it."""
        kwargs.setdefault("num_frames", getattr(config, "num_frames", None))
        return cls(tasks=config.task_specs, **kwargs)

    @classmethod
    def for_model(cls, model: torch.nn.Module, **kwargs: Any) -> VideoCollator:
        """Like :meth:`from_config`, and emits ``frame_mask`` only when ``model.forward`` accepts it."""
        if "frame_mask_key" not in kwargs:
            parameters = inspect.signature(model.forward).parameters
            kwargs["frame_mask_key"] = "frame_mask" if "frame_mask" in parameters else None
        return cls.from_config(model.config, **kwargs)

    # ----- collation ----------------------------------------------------------------------------------------
    def __call__(self, features: list[Any]) -> dict[str, Any]:
        good, bad = split_corrupt(features)
        batch: dict[str, Any] = {}
        clip_length = self._collate_inputs(good, batch)
        batch["labels"] = self._collate_labels(good, clip_length)
        if self.count_key is not None:
            batch[self.count_key] = len(bad)
        return batch

    def _input_names(self, sample: Mapping[str, Any]) -> list[str]:
        if self.input_keys is not None:
            missing = [key for key in self.input_keys if key not in sample]
            if missing:
                raise KeyError(f"VideoCollator: sample lacks inputs {missing}; it has {sorted(sample)}.")
            return list(self.input_keys)
        names = []
        for key, value in sample.items():
            if key == "labels" or key in self._specs or value is None or isinstance(value, (str, bytes)):
                continue
            names.append(key)
        return names

    def _collate_inputs(self, samples: list[Mapping[str, Any]], batch: dict[str, Any]) -> int | None:
        for position, sample in enumerate(samples):
            if not isinstance(sample, Mapping):
                raise TypeError(f"VideoCollator: sample {position} is a {type(sample).__name__}, expected a dict.")
        clip_length = None
        for key in self._input_names(samples[0]):
            values = [_as_tensor(sample[key], f"input {key!r} of sample {i}") for i, sample in enumerate(samples)]
            if key in self.video_keys and values[0].dim() == 4:
                batch[key], mask = self._pad_clips(key, values)
                clip_length = mask.shape[1]
                if self.frame_mask_key is not None:
                    batch[self.frame_mask_key] = mask
            else:
                batch[key] = self._stack(key, values)
        return clip_length

    def _pad_clips(self, key: str, clips: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = [clip.shape[0] for clip in clips]
        frame_shapes = {tuple(clip.shape[1:]) for clip in clips}
        if len(frame_shapes) != 1:
            raise ValueError(f"VideoCollator: clips in {key!r} have different frame shapes {sorted(frame_shapes)}.")
        target = self.num_frames if self.num_frames is not None else max(lengths)
        too_long = [(i, n) for i, n in enumerate(lengths) if n > target]
        if too_long:
            raise ValueError(
                f"VideoCollator: {key!r} clips longer than num_frames={target}: (sample, frames) {too_long}; "
                "sample or crop them in the dataset transform."
            )
        if self.frame_mask_key is None and len(set(lengths + [target])) != 1:
            raise ValueError(
                f"VideoCollator: {key!r} clips have {sorted(set(lengths))} frames (target {target}) but "
                "frame_mask_key=None, so padded frames could not be masked."
            )
        out = clips[0].new_full((len(clips), target, *clips[0].shape[1:]), self.pad_value)
        mask = torch.zeros(len(clips), target, dtype=torch.bool)
        for i, clip in enumerate(clips):
            out[i, : clip.shape[0]] = clip
            mask[i, : clip.shape[0]] = True
        return out, mask

    @staticmethod
    def _stack(key: str, values: list[torch.Tensor]) -> torch.Tensor:
        shapes = {tuple(v.shape) for v in values}
        if len(shapes) != 1:
            raise ValueError(f"VideoCollator: input {key!r} has different shapes across the batch: {sorted(shapes)}.")
        return torch.stack(values)

    def _sample_labels(self, sample: Mapping[str, Any], position: int) -> dict[str, Any]:
        labels = dict(sample.get("labels") or {})
        for name in self._specs:
            if name in sample:
                labels[name] = sample[name]
        unknown = sorted(set(labels) - set(self._specs))
        if unknown:
            raise KeyError(
                f"VideoCollator: sample {position} has labels for unknown tasks {unknown}; "
                f"tasks: {sorted(self._specs)}."
            )
        return labels

    def _collate_labels(
        self, samples: list[Mapping[str, Any]], clip_length: int | None
    ) -> dict[str, torch.Tensor | None]:
        per_sample = [self._sample_labels(sample, i) for i, sample in enumerate(samples)]
        out: dict[str, torch.Tensor | None] = {}
        for name, spec in self._specs.items():
            values = [labels.get(name) for labels in per_sample]
            present = [
                (i, _as_tensor(v, f"label {name!r} of sample {i}")) for i, v in enumerate(values) if v is not None
            ]
            if not present:
                out[name] = None
                continue
            fill = _fill_value(spec)
            ranks = {t.dim() for _, t in present}
            if len(ranks) != 1:
                raise ValueError(f"VideoCollator: labels of task {name!r} have different ranks {sorted(ranks)}.")
            shape = [max(t.shape[d] for _, t in present) for d in range(present[0][1].dim())]
            if spec.extra.get("per_frame") and clip_length is not None and shape:
                if shape[0] > clip_length:
                    raise ValueError(
                        f"VideoCollator: per-frame labels of {name!r} have {shape[0]} frames, clips {clip_length}."
                    )
                shape[0] = clip_length
            dtype = _label_dtype([t for _, t in present], fill)
            stacked = torch.full((len(samples), *shape), fill, dtype=dtype)
            for i, tensor in present:
                stacked[(i, *(slice(0, n) for n in tensor.shape))] = tensor.to(dtype)
            out[name] = stacked
        return out


__all__ = [
    "CORRUPT_COUNT_KEY",
    "AllSamplesCorruptError",
    "CorruptSample",
    "CorruptSampleFilter",
    "SkipCorruptDataset",
    "VideoCollator",
    "split_corrupt",
]

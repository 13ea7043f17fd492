"""Sample conventions shared by mthub's dense transforms: task specs, numpy/PIL → ``(C, H, W)`` tensors, the
transform base class and seeded random draws. See :mod:`mthub.data.transforms.dense` for the layout."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

IGNORE_INDEX = 255


@dataclass(frozen=True)
class DenseTaskSpec:
    """How one key of a dense sample is transformed.

    Attributes:
        channels: C of the ``(C, H, W)`` tensor.
        interpolation: ``"bilinear"`` (image) or ``"nearest"`` (every label, as ATRC: values are never mixed).
        pad_value: fill of :class:`PadImage` (before :class:`AddIgnoreRegions`).
        dtype: dtype of the output tensor.
    """

    channels: int
    interpolation: str
    pad_value: float
    dtype: torch.dtype


DENSE_TASK_SPECS: dict[str, DenseTaskSpec] = {
    "image": DenseTaskSpec(3, "bilinear", 0.0, torch.float32),
    "semseg": DenseTaskSpec(1, "nearest", IGNORE_INDEX, torch.int64),
    "human_parts": DenseTaskSpec(1, "nearest", IGNORE_INDEX, torch.int64),
    "edge": DenseTaskSpec(1, "nearest", IGNORE_INDEX, torch.float32),
    "sal": DenseTaskSpec(1, "nearest", IGNORE_INDEX, torch.float32),
    "depth": DenseTaskSpec(1, "nearest", 0.0, torch.float32),
    "normals": DenseTaskSpec(3, "nearest", 0.0, torch.float32),
}

Sample = dict[str, Any]


# --------------------------------------------------------------------------------------------- conversion
def _to_chw(key: str, value: Any, spec: DenseTaskSpec) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        t = value
        if t.ndim == 2:
            t = t.unsqueeze(0)
        if t.ndim != 3 or t.shape[0] != spec.channels:
            raise ValueError(f"{key!r}: expected a ({spec.channels}, H, W) tensor, got shape {tuple(value.shape)}")
    else:
        if hasattr(value, "convert") and hasattr(value, "size"):  # PIL image
            value = value.convert("RGB") if key == "image" else value
        arr = np.asarray(value)
        if arr.ndim == 2:
            arr = arr[..., None]
        if arr.ndim != 3 or arr.shape[2] != spec.channels:
            raise ValueError(f"{key!r}: expected an (H, W{', C' if spec.channels > 1 else ''}) array with "
                             f"{spec.channels} channel(s), got shape {arr.shape}")
        t = torch.from_numpy(np.array(arr.transpose(2, 0, 1), order="C", copy=True))
    return t.to(spec.dtype)


def to_tensor_sample(sample: Mapping[str, Any]) -> Sample:
    """Convert every dense entry to a ``(C, H, W)`` tensor of its spec's dtype (numpy/PIL read as (H, W[, C])).

    ``None`` stays ``None``; keys that are not dense tasks are copied; all dense entries must share (H, W).
    """
    out: Sample = {}
    hw: tuple[int, int] | None = None
    for key, value in sample.items():
        spec = DENSE_TASK_SPECS.get(key)
        if spec is None or value is None:
            out[key] = value
            continue
        t = _to_chw(key, value, spec)
        if hw is None:
            hw = (t.shape[1], t.shape[2])
        elif (t.shape[1], t.shape[2]) != hw:
            raise ValueError(f"{key!r} has size {tuple(t.shape[1:])} but other entries are {hw} (H, W)")
        out[key] = t
    return out


def _dense_items(sample: Sample) -> Iterable[tuple[str, torch.Tensor, DenseTaskSpec]]:
    for key, value in sample.items():
        spec = DENSE_TASK_SPECS.get(key)
        if spec is not None and value is not None:
            yield key, value, spec


def _spatial_size(sample: Sample) -> tuple[int, int]:
    for _, t, _ in _dense_items(sample):
        return int(t.shape[-2]), int(t.shape[-1])
    raise ValueError(f"sample has no dense entry to transform (keys: {sorted(sample)})")


def _rand(generator: torch.Generator | None) -> float:
    return float(torch.rand((), generator=generator))


def _uniform(lo: float, hi: float, generator: torch.Generator | None) -> float:
    return lo + (hi - lo) * _rand(generator)


def _randint(lo: int, hi: int, generator: torch.Generator | None) -> int:
    """Uniform integer in [lo, hi] (inclusive)."""
    return int(torch.randint(lo, hi + 1, (), generator=generator))


class _Transform:
    """Base: converts numpy/PIL input with :func:`to_tensor_sample`, then calls ``apply`` on a copy."""

    def __call__(self, sample: Mapping[str, Any]) -> Sample:
        return self.apply(to_tensor_sample(sample))

    def apply(self, sample: Sample) -> Sample:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_") and k != "generator")
        return f"{type(self).__name__}({args})"


class Compose(_Transform):
    """Apply transforms in order."""

    def __init__(self, transforms: Sequence[Callable[[Sample], Sample]]) -> None:
        self.transforms = list(transforms)

    def apply(self, sample: Sample) -> Sample:
        for t in self.transforms:
            sample = t.apply(sample) if isinstance(t, _Transform) else t(sample)
        return sample

    def __repr__(self) -> str:
        return "Compose([\n" + "".join(f"    {t!r},\n" for t in self.transforms) + "])"



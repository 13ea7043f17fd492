"""Label-consistent augmentations for dense multi-task samples (``shared/specs/tif.md`` §5.3, ATRC ``pl_data.py``).

**Sample layout.** A sample is a dict. ``"image"`` and every key in :data:`DENSE_TASK_SPECS` (``semseg``,
``human_parts``, ``edge``, ``sal``, ``depth``, ``normals``) hold a ``torch.Tensor`` in **(C, H, W)** layout
(labels ``(1, H, W)``, normals ``(3, H, W)``; an ``(H, W)`` tensor is read as ``(1, H, W)``) or ``None`` for a
missing label, which every transform passes through untouched. Other keys (``id``, ``height``, ...) are
copied as they are. Numpy arrays and PIL images are accepted as well and read as **(H, W)** / **(H, W, C)**
(the layout of files and of :func:`mthub.data.builders.decode_dense_example`); :func:`to_tensor_sample`
converts them, and every transform class calls it first (the functional helpers ``resize_sample``,
``scale_sample``, ``crop_sample``, ``hflip_sample`` expect tensors already). The image is float32 in [0, 255]
until :class:`Normalize`.
Outputs: ``semseg``/``human_parts`` int64, all others float32. All operations are whole-tensor torch ops
(``F.interpolate``, ``flip``, slicing, ``F.pad``), so they also run on CUDA tensors; there is no Python loop
over pixels.

**Training pipeline** (:func:`dense_train_transforms`, the order of ATRC/DeMT/InvPT):

1. :class:`RandomScaling` s ~ U[0.5, 2.0]: image bilinear, every label nearest; **depth is divided by s**
   (an object magnified s× looks as if it were s× closer).
2. :class:`RandomCrop` to the crop size, re-drawn up to 10 times until no semseg class covers more than 75 %
   of the labelled pixels (``cat_max_ratio``); an image smaller than the crop is kept whole here.
3. :class:`RandomHorizontalFlip` p = 0.5: **the normals' x component is negated** (mirroring the scene
   mirrors its surfaces).
4. :class:`PhotoMetricDistortion` on the image only (brightness ±32, contrast 0.5–1.5, saturation 0.5–1.5,
   hue ±18 of 180, each with p = 0.5; contrast first or last at random).
5. :class:`Normalize` with ImageNet mean/std.
6. :class:`PadImage` to the crop size, centred: labels filled with 255, depth and normals with 0 (made 255
   by the next step), the image with 0.
7. :class:`AddIgnoreRegions`: depth 0 → 255, normals with zero norm → 255 (all channels), human_parts maps
   that are all 0/255 (no person in view) → 255.

So every padded or invalid label pixel ends up as ``ignore_index`` (255), which mthub's losses and metrics
skip. Validation (:func:`dense_val_transforms`): Normalize, PadImage, AddIgnoreRegions at full resolution.

Randomness comes from ``torch`` (pass ``generator=`` for a private stream, or rely on the global RNG, which
``DataLoader`` seeds per worker).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import torch
import torch.nn.functional as F

from mthub.data.transforms._base import (
    DENSE_TASK_SPECS,
    IGNORE_INDEX,
    Compose,
    DenseTaskSpec,
    Sample,
    _dense_items,
    _rand,
    _randint,
    _spatial_size,
    _Transform,
    _uniform,
    to_tensor_sample,
)
from mthub.data.transforms.photometric import PhotoMetricDistortion

__all__ = [
    "IGNORE_INDEX",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "NYUD_CROP_SIZE_ATRC",
    "NYUD_CROP_SIZE_INVPT",
    "PASCAL_CROP_SIZE",
    "DenseTaskSpec",
    "DENSE_TASK_SPECS",
    "to_tensor_sample",
    "resize_sample",
    "scale_sample",
    "crop_sample",
    "hflip_sample",
    "Compose",
    "RandomScaling",
    "Resize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "PhotoMetricDistortion",
    "Normalize",
    "PadImage",
    "AddIgnoreRegions",
    "FillMissingLabels",
    "dense_train_transforms",
    "dense_val_transforms",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Train crop sizes (H, W) used by the papers: ATRC/DeMT NYUDv2 layout, InvPT/TaskPrompter NYUD_MT, PASCAL.
NYUD_CROP_SIZE_ATRC = (425, 560)
NYUD_CROP_SIZE_INVPT = (448, 576)
PASCAL_CROP_SIZE = (512, 512)


# ---------------------------------------------------------------------------------------------- geometry
def _resize_tensor(t: torch.Tensor, size: tuple[int, int], spec: DenseTaskSpec) -> torch.Tensor:
    dtype = t.dtype
    x = t.unsqueeze(0).float()
    if spec.interpolation == "bilinear":
        # align_corners=False + no antialias = OpenCV INTER_LINEAR's pixel-centre convention.
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=False)
    else:
        # "nearest" picks floor(dst * in/out) like OpenCV INTER_NEAREST: label values are never mixed.
        x = F.interpolate(x, size=size, mode="nearest")
    x = x.squeeze(0)
    return x.round().to(dtype) if not dtype.is_floating_point else x.to(dtype)


def resize_sample(
    sample: Sample, size: tuple[int, int], depth_scale: float | None = None, ignore_index: float = IGNORE_INDEX
) -> Sample:
    """Resize every dense entry to ``size`` (H, W); divide valid depth by ``depth_scale`` when given."""
    out = dict(sample)
    for key, t, spec in _dense_items(sample):
        r = _resize_tensor(t, size, spec)
        if key == "depth" and depth_scale is not None and depth_scale != 1.0:
            # 0 (invalid) stays 0; an ignore value already in place must stay the ignore value.
            r = torch.where(r == ignore_index, r, r / depth_scale)
        out[key] = r
    return out


def scale_sample(sample: Sample, scale: float) -> Sample:
    """Scale by ``scale``: size ``(int(H·s), int(W·s))``, image bilinear, labels nearest, depth divided by s."""
    if scale == 1.0:
        return dict(sample)
    h, w = _spatial_size(sample)
    size = (max(1, int(h * scale)), max(1, int(w * scale)))
    return resize_sample(sample, size, depth_scale=scale)


class RandomScaling(_Transform):
    """Scale the sample by s ~ U[``scale_range``]: new size ``(int(H·s), int(W·s))``, image bilinear, labels
    nearest, **depth divided by s** (ATRC ``RandomScaling``; ``tif.md`` §5.3 step 1).

    Args:
        scale_range: (min, max) of the uniform scale; a tuple of more than two values picks one of them.
    """

    def __init__(self, scale_range: Sequence[float] = (0.5, 2.0), generator: torch.Generator | None = None) -> None:
        if len(scale_range) < 2 or min(scale_range) <= 0:
            raise ValueError(f"scale_range must hold positive (min, max) or a list of choices, got {scale_range}")
        self.scale_range = tuple(float(s) for s in scale_range)
        self.generator = generator

    def sample_scale(self) -> float:
        if len(self.scale_range) == 2:
            return _uniform(self.scale_range[0], self.scale_range[1], self.generator)
        return self.scale_range[_randint(0, len(self.scale_range) - 1, self.generator)]

    def apply(self, sample: Sample) -> Sample:
        return scale_sample(sample, self.sample_scale())


class Resize(_Transform):
    """Resize to a fixed ``size`` (H, W): image bilinear, labels nearest.

    Args:
        scale_depth: divide depth by the (geometric-mean) scale factor as :class:`RandomScaling` does. Off by
            default: a fixed resize (e.g. to a model's input size) changes the resolution, not the scene.
    """

    def __init__(self, size: tuple[int, int], scale_depth: bool = False) -> None:
        self.size = (int(size[0]), int(size[1]))
        self.scale_depth = scale_depth

    def apply(self, sample: Sample) -> Sample:
        h, w = _spatial_size(sample)
        s = math.sqrt(self.size[0] / h * self.size[1] / w) if self.scale_depth else None
        return resize_sample(sample, self.size, depth_scale=s)


def crop_sample(sample: Sample, top: int, left: int, height: int, width: int) -> Sample:
    """Crop every dense entry to rows ``[top, top+height)`` and columns ``[left, left+width)`` (clipped to the
    image, like numpy slicing)."""
    out = dict(sample)
    for key, t, _ in _dense_items(sample):
        out[key] = t[:, top : top + height, left : left + width]
    return out


class RandomCrop(_Transform):
    """Crop a random ``size`` (H, W) window, the same for all entries (``tif.md`` §5.3 step 2).

    When the image is smaller than the crop along a dimension the whole extent is kept (``PadImage`` fills it
    later). With ``cat_max_ratio < 1`` the window is re-drawn up to ``max_tries`` times until at least two
    semseg classes are present and none covers ``cat_max_ratio`` or more of the non-ignored pixels (mmseg/ATRC
    rule; skipped when the sample has no semseg label).
    """

    def __init__(
        self,
        size: tuple[int, int] | int,
        cat_max_ratio: float = 1.0,
        max_tries: int = 10,
        ignore_index: int = IGNORE_INDEX,
        generator: torch.Generator | None = None,
    ) -> None:
        self.size = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
        self.cat_max_ratio = cat_max_ratio
        self.max_tries = max_tries
        self.ignore_index = ignore_index
        self.generator = generator

    def _draw(self, h: int, w: int) -> tuple[int, int]:
        top = _randint(0, max(h - self.size[0], 0), self.generator)
        return top, _randint(0, max(w - self.size[1], 0), self.generator)

    def apply(self, sample: Sample) -> Sample:
        h, w = _spatial_size(sample)
        if (h, w) == self.size:
            return dict(sample)
        top, left = self._draw(h, w)
        seg = sample.get("semseg")
        if self.cat_max_ratio < 1.0 and seg is not None:
            for _ in range(self.max_tries):
                window = seg[:, top : top + self.size[0], left : left + self.size[1]]
                _, counts = torch.unique(window[window != self.ignore_index], return_counts=True)
                if counts.numel() > 1 and counts.max().item() / counts.sum().item() < self.cat_max_ratio:
                    break
                top, left = self._draw(h, w)
        return crop_sample(sample, top, left, *self.size)


def hflip_sample(sample: Sample, ignore_index: float = IGNORE_INDEX) -> Sample:
    """Mirror every dense entry left-right; negate the normals' x component (except at ignored pixels)."""
    out = dict(sample)
    for key, t, _ in _dense_items(sample):
        f = torch.flip(t, dims=(-1,))
        if key == "normals":
            ignored = (f == ignore_index).all(dim=0, keepdim=True)
            nx = torch.where(ignored[0], f[0], -f[0])
            f = torch.cat([nx.unsqueeze(0), f[1:]], dim=0)
        out[key] = f
    return out


class RandomHorizontalFlip(_Transform):
    """With probability ``p`` mirror the sample left-right; normals' x is negated (``tif.md`` §5.3 step 3)."""

    def __init__(self, p: float = 0.5, generator: torch.Generator | None = None) -> None:
        self.p = p
        self.generator = generator

    def apply(self, sample: Sample) -> Sample:
        return hflip_sample(sample) if _rand(self.generator) < self.p else dict(sample)


class PadImage(_Transform):
    """Pad every entry to at least ``size`` (H, W), centred (ATRC ``PadImage``; §5.3 step 6). Fills come from
    :data:`DENSE_TASK_SPECS` (labels 255, depth/normals 0, image 0) unless overridden in ``fill``."""

    def __init__(self, size: tuple[int, int] | int, fill: Mapping[str, float] | None = None) -> None:
        self.size = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
        self.fill = dict(fill or {})

    def apply(self, sample: Sample) -> Sample:
        h, w = _spatial_size(sample)
        dh, dw = max(self.size[0] - h, 0), max(self.size[1] - w, 0)
        if dh == 0 and dw == 0:
            return dict(sample)
        top, left = dh // 2, dw // 2
        out = dict(sample)
        for key, t, spec in _dense_items(sample):
            value = self.fill.get(key, spec.pad_value)
            out[key] = F.pad(t, (left, dw - left, top, dh - top), mode="constant", value=value)
        return out


# ----------------------------------------------------------------------------------------- value mapping
class Normalize(_Transform):
    """Image ``(x / 255 − mean) / std`` (ImageNet statistics by default); labels untouched."""

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> None:
        self.mean = tuple(mean)
        self.std = tuple(std)

    def apply(self, sample: Sample) -> Sample:
        out = dict(sample)
        img = sample.get("image")
        if img is not None:
            mean = torch.tensor(self.mean, dtype=img.dtype, device=img.device).view(-1, 1, 1)
            std = torch.tensor(self.std, dtype=img.dtype, device=img.device).view(-1, 1, 1)
            out["image"] = (img / 255.0 - mean) / std
        return out


class AddIgnoreRegions(_Transform):
    """Turn invalid label pixels into ``ignore_index`` (ATRC ``AddIgnoreRegions``; §5.3 step 7): depth 0 → 255;
    normals whose vector is (0, 0, 0) → 255 in all channels; a human_parts map with only 0/255 values (no
    person parts in view) → all 255."""

    def __init__(self, ignore_index: int = IGNORE_INDEX) -> None:
        self.ignore_index = ignore_index

    def apply(self, sample: Sample) -> Sample:
        out = dict(sample)
        ig = self.ignore_index
        if sample.get("depth") is not None:
            d = sample["depth"]
            out["depth"] = torch.where(d == 0, torch.full_like(d, ig), d)
        if sample.get("normals") is not None:
            n = sample["normals"]
            zero = (n == 0).all(dim=0, keepdim=True)
            out["normals"] = torch.where(zero, torch.full_like(n, ig), n)
        if sample.get("human_parts") is not None:
            hp = sample["human_parts"]
            if bool(((hp == 0) | (hp == ig)).all()):
                out["human_parts"] = torch.full_like(hp, ig)
        return out


class FillMissingLabels(_Transform):
    """Replace missing (``None``) labels of ``tasks`` by all-``ignore_index`` maps of the image's size.

    mthub datasets keep a missing label as ``None`` so the Trainer can mask the task; use this when a consumer
    needs a tensor for every task (ATRC's convention for PASCAL images without persons).
    """

    def __init__(self, tasks: Iterable[str], ignore_index: int = IGNORE_INDEX) -> None:
        self.tasks = tuple(tasks)
        unknown = [t for t in self.tasks if t not in DENSE_TASK_SPECS or t == "image"]
        if unknown:
            raise ValueError(f"FillMissingLabels: unknown label task(s) {unknown}; known: {sorted(DENSE_TASK_SPECS)}")
        self.ignore_index = ignore_index

    def apply(self, sample: Sample) -> Sample:
        out = dict(sample)
        h, w = _spatial_size(sample)
        device = next(t for _, t, _ in _dense_items(sample)).device
        for task in self.tasks:
            if out.get(task) is None:
                spec = DENSE_TASK_SPECS[task]
                out[task] = torch.full((spec.channels, h, w), self.ignore_index, dtype=spec.dtype, device=device)
        return out


# ------------------------------------------------------------------------------------------------ presets
def dense_train_transforms(
    crop_size: tuple[int, int] | int,
    *,
    scale_range: Sequence[float] = (0.5, 2.0),
    cat_max_ratio: float = 0.75,
    flip_prob: float = 0.5,
    photometric: bool = True,
    normalize: bool = True,
    fill_missing: Iterable[str] = (),
    generator: torch.Generator | None = None,
) -> Compose:
    """The ATRC/DeMT/InvPT training pipeline (``tif.md`` §5.3, steps 1–7, in that order).

    Args:
        crop_size: (H, W), e.g. :data:`NYUD_CROP_SIZE_ATRC`, :data:`NYUD_CROP_SIZE_INVPT`, :data:`PASCAL_CROP_SIZE`.
        fill_missing: tasks whose missing labels become all-255 maps (default: keep ``None``).
        generator: one ``torch.Generator`` shared by all random steps (reproducible streams).
    """
    steps: list[_Transform] = []
    fill_missing = tuple(fill_missing)
    if fill_missing:
        steps.append(FillMissingLabels(fill_missing))
    steps += [
        RandomScaling(scale_range, generator=generator),
        RandomCrop(crop_size, cat_max_ratio=cat_max_ratio, generator=generator),
        RandomHorizontalFlip(flip_prob, generator=generator),
    ]
    if photometric:
        steps.append(PhotoMetricDistortion(generator=generator))
    if normalize:
        steps.append(Normalize())
    steps += [PadImage(crop_size), AddIgnoreRegions()]
    return Compose(steps)


def dense_val_transforms(
    pad_size: tuple[int, int] | int | None = None, *, normalize: bool = True, fill_missing: Iterable[str] = ()
) -> Compose:
    """The evaluation pipeline: full resolution, Normalize, PadImage (when ``pad_size`` is given),
    AddIgnoreRegions."""
    steps: list[_Transform] = []
    fill_missing = tuple(fill_missing)
    if fill_missing:
        steps.append(FillMissingLabels(fill_missing))
    if normalize:
        steps.append(Normalize())
    if pad_size is not None:
        steps.append(PadImage(pad_size))
    steps.append(AddIgnoreRegions())
    return Compose(steps)

"""Transforms for mthub datasets.

* :mod:`mthub.data.transforms.dense`: label-consistent augmentations for dense multi-task samples
  (NYUD-v2, PASCAL-Context), ``shared/specs/tif.md`` §5.3.
* :mod:`mthub.data.transforms.photometric`: image-only colour distortion.
* :mod:`mthub.data.transforms.morphology`: Laplacian + thinning for PASCAL-Context edge labels.
"""

from __future__ import annotations

from mthub.data.transforms.dense import (
    DENSE_TASK_SPECS,
    IGNORE_INDEX,
    IMAGENET_MEAN,
    IMAGENET_STD,
    NYUD_CROP_SIZE_ATRC,
    NYUD_CROP_SIZE_INVPT,
    PASCAL_CROP_SIZE,
    AddIgnoreRegions,
    Compose,
    DenseTaskSpec,
    FillMissingLabels,
    Normalize,
    PadImage,
    PhotoMetricDistortion,
    RandomCrop,
    RandomHorizontalFlip,
    RandomScaling,
    Resize,
    crop_sample,
    dense_train_transforms,
    dense_val_transforms,
    hflip_sample,
    resize_sample,
    scale_sample,
    to_tensor_sample,
)

__all__ = [
    "DENSE_TASK_SPECS",
    "IGNORE_INDEX",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "NYUD_CROP_SIZE_ATRC",
    "NYUD_CROP_SIZE_INVPT",
    "PASCAL_CROP_SIZE",
    "AddIgnoreRegions",
    "Compose",
    "DenseTaskSpec",
    "FillMissingLabels",
    "Normalize",
    "PadImage",
    "PhotoMetricDistortion",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomScaling",
    "Resize",
    "crop_sample",
    "dense_train_transforms",
    "dense_val_transforms",
    "hflip_sample",
    "resize_sample",
    "scale_sample",
    "to_tensor_sample",
]

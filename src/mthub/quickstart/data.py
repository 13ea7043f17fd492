"""Quickstart data: generate the synthetic-scene dataset and a new clip, read splits through the ``datasets`` builder,
and serve frames to the Trainer.

Frames are small (96² × 3 bytes), so a split is decoded once into memory (one PyAV decode per clip through
:func:`~mthub.data.synthetic.decode_clip_example`) instead of once per training step: the Trainer then spends its
time in the model, not in the video decoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..data.synthetic import (
    CLASS_NAMES,
    CLASS_PALETTE,
    generate_clip,
    generate_dataset,
    write_clip,
)
from ..data.synthetic.format import Clip
from .settings import QUICKSTART_TASKS, QuickstartSettings

__all__ = [
    "FrameSplit",
    "FramesForTraining",
    "generate_new_video",
    "generate_quickstart_dataset",
    "load_split",
    "pixel_values",
]


def generate_quickstart_dataset(out_dir: str | Path, settings: QuickstartSettings, progress: bool = True):
    """Generate the quickstart dataset into ``out_dir`` (replacing an older one); returns its ``DatasetMeta``."""
    return generate_dataset(
        out_dir,
        num_clips=settings.num_clips,
        num_frames=settings.num_frames,
        height=settings.image_size,
        width=settings.image_size,
        seed=settings.seed,
        split_fractions=dict(settings.split_fractions),
        num_workers=settings.num_workers,
        overwrite=True,
        progress=progress,
    )


def generate_new_video(out_dir: str | Path, settings: QuickstartSettings) -> tuple[Path, Clip]:
    """Generate one NEW clip (seed ``settings.video_seed``, not one of the dataset's clip seeds) and write it in the
    synthetic-scene format (``rgb.mp4`` plus its exact labels) to ``out_dir``.

    Returns:
        The path of ``rgb.mp4`` (what the pipeline reads) and the in-memory clip (ground truth for the panels).
    """
    clip = generate_clip(
        settings.video_seed,
        num_frames=settings.video_frames,
        height=settings.image_size,
        width=settings.image_size,
        clip_id="new_video",
    )
    directory = write_clip(clip, out_dir, palette=CLASS_PALETTE, class_names=CLASS_NAMES)
    return Path(directory) / "rgb.mp4", clip


@dataclass
class FrameSplit:
    """All frames of one split, in memory.

    Attributes:
        images: ``(N, H, W, 3)`` uint8 RGB (decoded from the clips' ``rgb.mp4``).
        semseg: ``(N, H, W)`` int64 class ids (255 = ignore).
        depth: ``(N, H, W)`` float32 metres (0 = invalid: sky).
        normals: ``(N, 3, H, W)`` float32 unit normals, NYU camera axes (0 = invalid).
        clip_ids: ``N`` clip ids (one per frame).
    """

    images: np.ndarray
    semseg: torch.Tensor
    depth: torch.Tensor
    normals: torch.Tensor
    clip_ids: list[str]

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def num_clips(self) -> int:
        return len(set(self.clip_ids))

    def labels(self, index: slice | torch.Tensor) -> dict[str, torch.Tensor]:
        return {"semseg": self.semseg[index], "depth": self.depth[index], "normals": self.normals[index]}


def load_split(data_dir: str | Path, split: str, cache_dir: str | Path) -> FrameSplit:
    """Read ``split`` of a synthetic-scene dataset through the ``synthetic_scenes`` builder (``clips`` config, tasks
    semseg / depth / normals) and decode every clip's frames and label maps into a :class:`FrameSplit`."""
    from ..data.catalog import load_builder
    from ..data.synthetic import decode_clip_example

    builder = load_builder(
        "synthetic_scenes", str(data_dir), cache_dir=str(cache_dir), config_name="clips", tasks=list(QUICKSTART_TASKS)
    )
    builder.download_and_prepare()
    dataset = builder.as_dataset(split=split)
    if len(dataset) == 0:
        raise ValueError(f"{data_dir}: split {split!r} has no clips; generate more clips or change split_fractions.")
    images, semseg, depth, normals, clip_ids = [], [], [], [], []
    for row in dataset:
        example = decode_clip_example(row, dense=True)
        images.append(example["video"])
        semseg.append(example["semseg"])
        depth.append(example["depth"])
        normals.append(example["normals"])
        clip_ids += [row["clip_id"]] * example["video"].shape[0]
    return FrameSplit(
        images=np.concatenate(images),
        semseg=torch.from_numpy(np.concatenate(semseg).astype(np.int64)),
        depth=torch.from_numpy(np.concatenate(depth).astype(np.float32)),
        normals=torch.from_numpy(np.concatenate(normals).astype(np.float32)).permute(0, 3, 1, 2).contiguous(),
        clip_ids=clip_ids,
    )


def pixel_values(processor, images: np.ndarray, batch_size: int = 256) -> torch.Tensor:
    """Run the model's image processor over ``(N, H, W, 3)`` uint8 frames → ``(N, 3, H', W')`` float32 (the exact
    tensors the pipeline feeds the model at inference)."""
    chunks = [
        processor(images=list(images[i : i + batch_size]), return_tensors="pt")["pixel_values"]
        for i in range(0, len(images), batch_size)
    ]
    return torch.cat(chunks)


class FramesForTraining(Dataset):
    """A :class:`FrameSplit` as Trainer samples ``{"pixel_values", "semseg", "depth", "normals"}``.

    ``hflip`` mirrors a sample with probability 1/2 (torch's global RNG, which the Trainer seeds): images and label
    maps flip, and the normals' ``x`` component (image right) changes sign, as a mirrored scene's normals do.
    """

    def __init__(self, split: FrameSplit, pixels: torch.Tensor, hflip: bool = True) -> None:
        if len(pixels) != len(split):
            raise ValueError(f"{len(pixels)} processed frames for a split of {len(split)} frames.")
        self.split = split
        self.pixels = pixels
        self.hflip = hflip

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        sample = {"pixel_values": self.pixels[index], **self.split.labels(index)}
        if self.hflip and bool(torch.rand(()) < 0.5):
            sample = {key: value.flip(-1) for key, value in sample.items()}
            normals = sample["normals"].clone()
            normals[0] = -normals[0]
            sample["normals"] = normals
        return sample

#!/usr/bin/env python
"""Generate a procedural multi-task scene-video dataset and read it back through its ``datasets`` builder.

    python examples/generate_synthetic.py --out outputs/scenes --clips 200 --frames 16 --size 128 --workers 2

Writes the mthub synthetic-scene format (``docs/synthetic_format.md``): ``meta.json``, ``splits/*.txt`` and per clip
``rgb.mp4``, ``depth.npy``, ``normals.npy``, ``segmentation/*.png``, ``instances.npy`` and ``annotations.json`` (boxes,
25-joint 3D keypoints, camera, action). Then it prepares the ``synthetic_scenes`` builder (``frames`` config: one
example per frame), decodes one example and prints what a training script receives.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="outputs/scenes", help="dataset folder (replaced if it holds a dataset)")
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=128, help="frame height and width")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="generator processes (0: in this process)")
    parser.add_argument("--splits", default="train=0.8,val=0.1,test=0.1", help="split=fraction,...")
    parser.add_argument("--cache-dir", default=None, help="datasets cache (default: <out>/.cache)")
    args = parser.parse_args(argv)

    from mthub.data.catalog import load_builder
    from mthub.data.synthetic import decode_frame_example, generate_dataset

    fractions = {name: float(value) for name, value in (item.split("=") for item in args.splits.split(","))}
    start = time.perf_counter()
    meta = generate_dataset(
        args.out,
        num_clips=args.clips,
        num_frames=args.frames,
        height=args.size,
        width=args.size,
        seed=args.seed,
        split_fractions=fractions,
        num_workers=args.workers,
        overwrite=True,
        progress=True,
    )
    print(f"generated {args.clips} clips in {time.perf_counter() - start:.1f} s → {args.out}")
    print(f"  splits {meta.source['splits']}, actions {meta.source['action_counts']}")
    print(f"  classes {meta.class_names}")

    cache_dir = args.cache_dir or str(Path(args.out) / ".cache")
    builder = load_builder("synthetic_scenes", args.out, cache_dir=cache_dir, config_name="frames")
    builder.download_and_prepare()
    for split in fractions:
        dataset = builder.as_dataset(split=split)
        print(f"  {split}: {len(dataset)} frames")
    train = builder.as_dataset(split=next(iter(fractions)))
    example = decode_frame_example(train[0])
    print(f"example {example['id']}:")
    for key in ("image", "semseg", "depth", "normals", "boxes", "box_valid", "keypoints", "object_classes"):
        value = np.asarray(example[key])
        print(f"  {key:15s} {value.shape!s:16s} {value.dtype}")
    depth = example["depth"][example["depth"] > 0]
    print(f"  depth range {depth.min():.2f}–{depth.max():.2f} m, classes present {np.unique(example['semseg']).tolist()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

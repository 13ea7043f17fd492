#!/usr/bin/env python
"""A small command-line app around ``pipeline("multi-task-dense-prediction")``: a video in, per-frame depth,
segmentation and normals out, as PNG panels, an animated GIF and a JSON summary.

    python examples/pipeline_app.py --model outputs/quickstart/checkpoint --video my_clip.mp4 --out outputs/app
    python examples/pipeline_app.py --model outputs/quickstart/checkpoint --generate 7 --out outputs/app

``--model`` is a local folder or a Hub id (with ``HF_ENDPOINT`` pointing at the Hub). ``--generate SEED`` renders
a new synthetic scene clip first; since its exact labels are known, the panels then show the ground truth next to
the predictions and the summary carries the clip's metrics. A plain video gets the pipeline's own panels
(:func:`mthub.pipelines.rendering.render_panel`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="local checkpoint folder or Hub id")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--video", help="any video PyAV decodes (mp4, mkv, webm, …)")
    source.add_argument("--generate", type=int, metavar="SEED", help="render a new synthetic clip with this seed")
    parser.add_argument("--frames", type=int, default=16, help="frames of a generated clip")
    parser.add_argument("--max-frames", type=int, default=None, help="stop after this many frames of --video")
    parser.add_argument("--out", default="outputs/pipeline_app")
    args = parser.parse_args(argv)

    import numpy as np
    import torch
    from PIL import Image
    from transformers import pipeline

    import mthub  # noqa: F401 - registers mthub models and the pipeline task with transformers

    out = Path(args.out)
    runner = pipeline("multi-task-dense-prediction", model=args.model)
    config = runner.model.config
    clip = None
    if args.generate is not None:
        from mthub.data.synthetic import (
            CLASS_NAMES,
            CLASS_PALETTE,
            generate_clip,
            write_clip,
        )

        height, width = config.image_size
        clip = generate_clip(args.generate, num_frames=args.frames, height=height, width=width, clip_id="app")
        video = str(Path(write_clip(clip, out / "video", palette=CLASS_PALETTE, class_names=CLASS_NAMES)) / "rgb.mp4")
    else:
        video = args.video
    # A generated clip gets ground-truth panels below; a plain video the pipeline's own panels.
    frames = runner(video, max_frames=args.max_frames, panel_dir=None if clip is not None else out / "panels")

    names = config.task("semseg").id2label
    summary = {"model": args.model, "video": video, "frames": []}
    for frame in frames:
        labels = frame["semseg"]["labels"]
        fractions = torch.bincount(labels.flatten(), minlength=len(names)).float() / labels.numel()
        summary["frames"].append({
            "frame_index": frame["frame_index"],
            "timestamp": frame["timestamp"],
            "class_fractions": {names[i]: round(float(f), 4) for i, f in enumerate(fractions) if f > 0},
            "depth_median_m": float(frame["depth"].median()),
        })  # fmt: skip
        top = max(summary["frames"][-1]["class_fractions"].items(), key=lambda kv: kv[1])
        print(f"frame {frame['frame_index']:4d}: depth median {summary['frames'][-1]['depth_median_m']:6.2f} m, "
              f"largest class {top[0]} ({100 * top[1]:.0f}%)")  # fmt: skip

    if clip is not None:
        from mthub.quickstart.evaluation import score_clip
        from mthub.quickstart.panels import write_panels

        predicted = {
            "depth": np.stack([f["depth"].numpy() for f in frames]),
            "semseg": np.stack([f["semseg"]["labels"].numpy() for f in frames]),
            "normals": np.stack([f["normals"].numpy() for f in frames]),
        }
        truth = {"depth": clip.depth, "semseg": clip.segmentation, "normals": clip.normals.astype(np.float32)}
        write_panels(out / "panels", clip.rgb, predicted, truth, CLASS_NAMES, CLASS_PALETTE)
        summary["metrics"] = score_clip(predicted, clip, len(names))
        print("clip metrics:", {k: round(summary["metrics"][k], 3) for k in ("semseg/mIoU", "depth/rmse", "normals/mean_angle")})

    panels = sorted((out / "panels").glob("*.png"))
    images = [Image.open(p).convert("RGB") for p in panels]
    if images:
        images[0].save(out / "panels.gif", save_all=True, append_images=images[1:], duration=250, loop=0)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"{len(panels)} panels in {out / 'panels'}, animation {out / 'panels.gif'}, summary {out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

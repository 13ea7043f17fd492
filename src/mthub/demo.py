"""The README's first command until the quickstart lands: a small, real end-to-end demonstration.

Builds the test model (preset ``tiny-mt``), saves it with its processor, reloads both through the Auto classes,
writes a short h264 video, runs ``pipeline("multi-task-video")`` on it and prints the predictions, the parameter
count and the GMACs (meta device). Every printed number is computed in this run.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch


def run_demo(out_dir: str | Path = "outputs/demo") -> int:
    import mthub
    from transformers import AutoModel, AutoVideoProcessor, pipeline

    from .info import preset_summary
    from .testing import TinyMTVideoProcessor
    from .testing.video_fixtures import write_index_video

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = AutoModel.from_config(mthub.preset_config("tiny-mt"))
    checkpoint = out_dir / "tiny-mt"
    model.save_pretrained(checkpoint)
    TinyMTVideoProcessor().save_pretrained(checkpoint)
    model = AutoModel.from_pretrained(checkpoint)
    processor = AutoVideoProcessor.from_pretrained(checkpoint)

    video = out_dir / "demo.mp4"
    write_index_video(video, num_frames=24, fps=12, size=(64, 128), codec="h264")
    classifier = pipeline("multi-task-video", model=model, video_processor=processor)
    predictions = classifier(str(video), top_k=3)

    summary = preset_summary("tiny-mt")
    print(summary["text"])
    print(f"pipeline('multi-task-video') on {video}:")
    print("  action:", ", ".join(f"{p['label']} ({p['score']:.3f})" for p in predictions["action"]))
    seg = predictions["segmentation"]["labels"]
    counts = torch.bincount(seg.flatten(), minlength=len(predictions["segmentation"]["names"])).tolist()
    print(f"  segmentation: label map {tuple(seg.shape)}, pixels per class {dict(zip(predictions['segmentation']['names'], counts))}")
    report = {
        "preset": "tiny-mt",
        "params_total": summary["params_total"],
        "gmacs": summary.get("gmacs"),
        "macs_convention": summary.get("macs_convention"),
        "action": predictions["action"],
        "segmentation_shape": list(seg.shape),
    }
    (out_dir / "demo.json").write_text(json.dumps(report, indent=2))
    print(f"wrote {out_dir / 'demo.json'}")
    return 0

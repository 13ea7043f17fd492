"""pipeline("multi-task-video") end to end on a generated video."""

from __future__ import annotations

import torch
from transformers import AutoModel, pipeline

import mthub
from mthub.testing import TinyMTVideoProcessor
from mthub.testing.video_fixtures import write_index_video


def test_pipeline_returns_label_space_predictions(tmp_path):
    model = AutoModel.from_config(mthub.preset_config("tiny-mt"))
    model.save_pretrained(tmp_path / "ckpt")
    TinyMTVideoProcessor().save_pretrained(tmp_path / "ckpt")
    video = write_index_video(tmp_path / "clip.mp4", num_frames=16, fps=8, size=(64, 128), codec="h264")
    runner = pipeline("multi-task-video", model=str(tmp_path / "ckpt"))
    result = runner(str(video), top_k=2)
    assert set(result) == {"action", "segmentation"}
    assert len(result["action"]) == 2
    assert {p["label"] for p in result["action"]} <= set(model.config.action_labels)
    assert abs(sum(p["score"] for p in runner(str(video), top_k=5)["action"]) - 1.0) < 1e-5
    labels = result["segmentation"]["labels"]
    assert labels.shape == (4, 32, 32) and labels.dtype == torch.int64
    assert result["segmentation"]["names"] == model.config.segmentation_labels
    # The pipeline's numbers are the model's numbers.
    inputs = TinyMTVideoProcessor()(str(video), return_tensors="pt")
    with torch.no_grad():
        direct = runner.model(**inputs).logits["action"][0].softmax(-1)
    assert abs(direct.max().item() - result["action"][0]["score"]) < 1e-6

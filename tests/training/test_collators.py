"""VideoCollator: variable-length clips, frame masks, dict labels with missing tasks, corrupt samples."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from mthub import TaskSpec
from mthub.data.errors import CorruptSampleError
from mthub.training import AllSamplesCorruptError, CorruptSample, CorruptSampleFilter, SkipCorruptDataset, VideoCollator

TASKS = [
    TaskSpec(name="action", kind="classification", num_outputs=5, loss="cross_entropy"),
    TaskSpec(
        name="segmentation",
        kind="dense_classification",
        num_outputs=3,
        loss="cross_entropy",
        ignore_index=255,
        extra={"per_frame": True},
    ),
    TaskSpec(name="depth", kind="dense_regression", num_outputs=1, loss="l1", extra={"ignore_value": -1.0}),
]


def clip(frames: int, value: float) -> torch.Tensor:
    return torch.full((frames, 3, 4, 4), value)


def test_pads_clips_and_builds_frame_mask():
    collate = VideoCollator(TASKS)
    batch = collate(
        [
            {"pixel_values": clip(2, 1.0), "labels": {"action": 3}},
            {"pixel_values": clip(4, 2.0), "labels": {"action": 1}},
            {"pixel_values": clip(3, 3.0), "labels": {}},
        ]
    )
    assert batch["pixel_values"].shape == (3, 4, 3, 4, 4)
    assert batch["frame_mask"].tolist() == [[True, True, False, False], [True] * 4, [True, True, True, False]]
    assert batch["pixel_values"][0, :2].eq(1).all() and batch["pixel_values"][0, 2:].eq(0).all()
    assert batch["pixel_values"][2, :3].eq(3).all() and batch["pixel_values"][2, 3].eq(0).all()
    assert batch["labels"]["action"].tolist() == [3, 1, -100]  # missing sample → ignore_index
    assert batch["labels"]["segmentation"] is None and batch["labels"]["depth"] is None  # absent from the batch
    assert batch["corrupt_samples_skipped"] == 0


def test_per_frame_labels_follow_the_padded_clip_and_missing_samples_get_ignore_values():
    collate = VideoCollator(TASKS, num_frames=4)
    seg = torch.ones(2, 4, 4, dtype=torch.uint8)
    depth = np.full((1, 4, 4), 2.5, dtype=np.float32)
    batch = collate(
        [
            {"pixel_values": clip(2, 1.0), "labels": {"segmentation": seg, "depth": depth}},
            {"pixel_values": clip(3, 1.0), "labels": {"action": 0}},
        ]
    )
    assert batch["pixel_values"].shape[1] == 4 and batch["frame_mask"].sum(1).tolist() == [2, 3]
    labels = batch["labels"]
    assert labels["segmentation"].shape == (2, 4, 4, 4)
    assert labels["segmentation"][0, :2].eq(1).all() and labels["segmentation"][0, 2:].eq(255).all()
    assert labels["segmentation"][1].eq(255).all()
    assert (
        labels["depth"].dtype == torch.float32
        and labels["depth"][0].eq(2.5).all()
        and labels["depth"][1].eq(-1.0).all()
    )
    assert labels["action"].tolist() == [-100, 0]


def test_uint8_labels_are_widened_when_the_ignore_value_does_not_fit():
    tasks = [TaskSpec(name="parts", kind="dense_classification", num_outputs=7, loss="cross_entropy")]  # ignore -100
    batch = VideoCollator(tasks)(
        [{"pixel_values": clip(1, 0), "parts": torch.ones(4, 4, dtype=torch.uint8)}, {"pixel_values": clip(1, 0)}]
    )
    assert batch["labels"]["parts"].dtype == torch.int64 and batch["labels"]["parts"][1].eq(-100).all()


def test_top_level_task_keys_are_labels_and_strings_are_dropped():
    batch = VideoCollator(TASKS)([{"pixel_values": clip(1, 0), "action": 2, "path": "a.mp4", "fps": 30.0}])
    assert batch["labels"]["action"].tolist() == [2]
    assert "path" not in batch and batch["fps"].tolist() == [30.0]


def test_errors_name_the_problem():
    collate = VideoCollator(TASKS, num_frames=2)
    with pytest.raises(ValueError, match="longer than num_frames=2"):
        collate([{"pixel_values": clip(3, 0)}])
    with pytest.raises(KeyError, match="unknown tasks \\['normals'\\]"):
        VideoCollator(TASKS)([{"pixel_values": clip(1, 0), "labels": {"normals": 1}}])
    with pytest.raises(ValueError, match="different frame shapes"):
        VideoCollator(TASKS)([{"pixel_values": clip(1, 0)}, {"pixel_values": torch.zeros(1, 3, 5, 5)}])
    with pytest.raises(ValueError, match="frame_mask_key=None"):
        VideoCollator(TASKS, frame_mask_key=None)([{"pixel_values": clip(1, 0)}, {"pixel_values": clip(2, 0)}])
    no_ignore = [TaskSpec(name="depth", kind="dense_regression", num_outputs=1, loss="l1")]
    with pytest.raises(ValueError, match="extra\\['ignore_value'\\]"):
        VideoCollator(no_ignore)(
            [{"pixel_values": clip(1, 0), "depth": torch.ones(1, 4, 4)}, {"pixel_values": clip(1, 0)}]
        )


class Flaky(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        if index in (1, 3):
            raise CorruptSampleError(f"/videos/{index}.mp4", "invalid NAL unit")
        if index == 2:
            raise KeyError("a bug, not bad data")
        return {"pixel_values": clip(1, float(index)), "labels": {"action": index}}


def test_corrupt_samples_are_skipped_counted_and_logged(caplog):
    data = SkipCorruptDataset(Flaky())
    marker = data[1]
    assert marker == CorruptSample(index=1, path="/videos/1.mp4", reason="invalid NAL unit")
    with pytest.raises(KeyError):  # other exceptions are bugs: never counted as bad data
        data[2]
    with caplog.at_level(logging.WARNING, logger="mthub.training.collators"):
        batch = VideoCollator(TASKS)([data[0], data[1], data[3]])
    assert batch["pixel_values"].shape[0] == 1 and batch["labels"]["action"].tolist() == [0]
    assert batch["corrupt_samples_skipped"] == 2
    assert "/videos/1.mp4" in caplog.text and "/videos/3.mp4" in caplog.text
    with pytest.raises(AllSamplesCorruptError, match="/videos/3.mp4: invalid NAL unit"):
        VideoCollator(TASKS)([data[1], data[3]])


def test_corrupt_filter_adapts_any_collator():
    from torch.utils.data import default_collate

    batch = CorruptSampleFilter(default_collate)(
        [{"x": torch.ones(2)}, CorruptSample(5, "p", "r"), {"x": torch.zeros(2)}]
    )
    assert batch["x"].shape == (2, 2) and batch["corrupt_samples_skipped"] == 1


def test_for_model_reads_the_config_and_forward_signature():
    from tests.training.helpers import build_model

    _, config, model = build_model()
    collate = VideoCollator.for_model(model)
    assert collate.num_frames == config.num_frames and collate.frame_mask_key == "frame_mask"
    assert [t.name for t in collate.tasks] == config.task_names

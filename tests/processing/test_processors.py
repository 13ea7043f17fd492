"""Processors: PyAV sampling, geometry, nearest-neighbour label maps, save/load through the Auto classes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoVideoProcessor

from mthub.models.tiny_mt import TinyMTConfig, TinyMTVideoProcessor
from mthub.processing import MTHubDenseImageProcessor
from mthub.testing.video_fixtures import decode_frame_index, write_index_video


@pytest.fixture(scope="module")
def index_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("videos") / "index.mkv"
    write_index_video(path, num_frames=24, fps=12, size=(64, 128), codec="ffv1")
    return path


def test_video_processor_round_trip_through_auto_class(tmp_path):
    TinyMTConfig().save_pretrained(tmp_path)
    TinyMTVideoProcessor(num_frames=6).save_pretrained(tmp_path)
    loaded = AutoVideoProcessor.from_pretrained(tmp_path)
    assert type(loaded) is TinyMTVideoProcessor
    assert loaded.num_frames == 6
    assert loaded.to_dict() == TinyMTVideoProcessor(num_frames=6).to_dict()


def test_video_processor_samples_the_uniform_frames_from_a_path(index_video):
    raw = TinyMTVideoProcessor(do_resize=False, do_center_crop=False, do_rescale=False, do_normalize=False)
    out = raw(str(index_video), return_tensors="pt")
    frames = out["pixel_values"][0].permute(0, 2, 3, 1).numpy().astype(np.uint8)
    assert [decode_frame_index(f) for f in frames] == [0, 6, 12, 18]


def test_video_processor_geometry_and_normalisation(index_video):
    out = TinyMTVideoProcessor()([str(index_video), str(index_video)], return_tensors="pt")
    pixels = out["pixel_values"]
    assert pixels.shape == (2, 4, 3, 32, 32)
    assert pixels.dtype == torch.float32
    assert -1.01 <= pixels.min() and pixels.max() <= 1.01  # ImageNet-standard mean/std 0.5 → [-1, 1]


def test_dense_processor_resizes_label_maps_with_nearest_neighbour(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)
    seg = rng.integers(0, 5, (40, 60)).astype(np.int64)
    depth = rng.uniform(0.5, 9.0, (40, 60)).astype(np.float32)
    normals = rng.normal(size=(40, 60, 3)).astype(np.float32)
    processor = MTHubDenseImageProcessor(size={"height": 20, "width": 30})
    processor.save_pretrained(tmp_path)
    processor = MTHubDenseImageProcessor.from_pretrained(tmp_path)
    out = processor(image, label_maps={"semseg": [seg], "depth": [depth], "normals": [normals]}, return_tensors="pt")
    assert out["pixel_values"].shape == (1, 3, 20, 30)
    labels = out["labels"]
    assert labels["semseg"].shape == (1, 20, 30) and labels["semseg"].dtype == torch.int64
    assert labels["normals"].shape == (1, 3, 20, 30)
    # Nearest neighbour by exactly 2×: every output value is an input value at (2i + 1, 2j + 1) or a neighbour — and
    # no new values are invented by interpolation.
    assert set(labels["semseg"].unique().tolist()) <= set(np.unique(seg).tolist())
    assert set(labels["depth"].flatten().tolist()) <= set(depth.flatten().tolist())
    torch.testing.assert_close(labels["depth"][0], torch.from_numpy(depth[1::2, 1::2]))

"""``pipeline("multi-task-dense-prediction")``: images, videos (streamed, progress bar), PNG panels, decoding."""

from __future__ import annotations

import types

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoModel, pipeline

import mthub
from mthub.configuration_utils import TaskSpec
from mthub.pipelines.dense_prediction import MultiTaskDensePredictionPipeline, decode_dense_output
from mthub.pipelines.rendering import (
    colorize_depth,
    colorize_labels,
    colorize_normals,
    colorize_probability,
    label_palette,
    render_panel,
)


@pytest.fixture(scope="module")
def pipe():
    torch.manual_seed(0)
    model = AutoModel.from_config(mthub.preset_config("tif-tiny-test", task_subset=None)).eval()
    return pipeline("multi-task-dense-prediction", model=model)


def _image(height: int = 50, width: int = 70, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 255 / width, yy * 255 / height, np.full_like(xx, 128)], axis=-1)
    return np.clip(base + rng.uniform(-20, 20, (height, width, 3)), 0, 255).astype(np.uint8)


def test_image_in_gives_every_task_at_the_image_size(pipe):
    assert isinstance(pipe, MultiTaskDensePredictionPipeline)
    out = pipe(_image())
    assert set(out) == {"semseg", "depth", "normals", "edge"}
    semseg = out["semseg"]
    assert semseg["labels"].shape == (50, 70) and semseg["labels"].dtype == torch.int64
    assert int(semseg["labels"].min()) >= 0 and int(semseg["labels"].max()) < 40 and semseg["names"][0] == "wall"
    assert out["depth"].shape == (50, 70) and bool((out["depth"] >= 0).all())  # clamped (DeMT eval)
    assert out["normals"].shape == (3, 50, 70)
    torch.testing.assert_close(out["normals"].norm(dim=0), torch.ones(50, 70))  # L2-normalised
    edge = out["edge"]["probabilities"]
    assert edge.shape == (50, 70) and bool(((edge >= 0) & (edge <= 1)).all())


def test_pipeline_predictions_equal_a_manual_forward(pipe):
    image = _image(64, 64)
    out = pipe(image, tasks=["depth"])
    assert set(out) == {"depth"}
    pixel_values = pipe.image_processor(images=[image], return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        depth = pipe.model(pixel_values).logits["depth"][0, 0].clamp(min=0)
    torch.testing.assert_close(out["depth"], depth)  # 64×64 is the processor size: no resize


def test_image_pipeline_writes_a_non_blank_png_panel(pipe, tmp_path):
    path = tmp_path / "panels" / "panel.png"
    pipe(Image.fromarray(_image()), panel_path=path)
    panel = np.asarray(Image.open(path).convert("RGB"))
    assert panel.shape[0] == 192 + 16  # tiles + title row
    assert panel.std() > 20 and len(np.unique(panel.reshape(-1, 3), axis=0)) > 50
    # five tiles (input + four tasks) of the image's aspect ratio, 4-pixel gaps
    tile_width = round(70 * 192 / 50)
    assert panel.shape[1] == 5 * tile_width + 4 * 4
    tiles = [panel[16:, i * (tile_width + 4) : i * (tile_width + 4) + tile_width] for i in range(5)]
    assert all(tile.std() > 0 or tile.mean() > 0 for tile in tiles)
    assert not np.array_equal(tiles[0], tiles[2])


def test_image_from_a_file_path(pipe, tmp_path):
    path = tmp_path / "image.png"
    Image.fromarray(_image()).save(path)
    out = pipe(str(path))
    assert out["semseg"]["labels"].shape == (50, 70)


def test_video_in_gives_per_frame_maps_streamed_with_a_progress_bar(pipe, tmp_path, capsys):
    from mthub.data.video import read_frames
    from mthub.testing.video_fixtures import write_index_video

    path = write_index_video(tmp_path / "clip.mp4", num_frames=6, fps=25, size=(64, 96))
    results = pipe(str(path), batch_size=4, panel_dir=tmp_path / "frames")
    assert [r["frame_index"] for r in results] == list(range(6))
    assert [r["timestamp"] for r in results] == pytest.approx([i / 25 for i in range(6)])
    assert results[0]["depth"].shape == (64, 96)
    assert "6/6" in capsys.readouterr().err  # tqdm progress bar
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == [f"frame_{i:06d}.png" for i in range(6)]
    # each frame's maps are the image pipeline's maps on that decoded frame
    frame = read_frames(path, [4])[0]
    torch.testing.assert_close(results[4]["depth"], pipe(frame)["depth"])

    stream = pipe(str(path), stream=True, max_frames=3, progress=False)
    assert isinstance(stream, types.GeneratorType)
    assert [r["frame_index"] for r in stream] == [0, 1, 2]
    sampled = pipe(str(path), fps=12.5, progress=False)
    assert [r["frame_index"] for r in sampled] == [0, 2, 4]


def test_frame_array_video(pipe):
    frames = np.stack([_image(32, 32, seed) for seed in range(3)])
    results = pipe(frames, tasks=["semseg"], progress=False)
    assert [r["frame_index"] for r in results] == [0, 1, 2]
    assert set(results[0]) == {"frame_index", "timestamp", "semseg"}


def test_bad_options_are_named(pipe):
    with pytest.raises(KeyError, match="albedo"):
        pipe(_image(), tasks=["albedo"])
    with pytest.raises(ValueError, match="videos only"):
        pipe(_image(), fps=5)
    with pytest.raises(TypeError, match="unknown options"):
        pipe(_image(), colour=True)


def test_saved_processor_is_used_when_loading_from_a_folder(tmp_path):
    torch.manual_seed(0)
    config = mthub.preset_config("tif-tiny-test")
    model = AutoModel.from_config(config)
    model.save_pretrained(tmp_path)
    processor = mthub.get_family("mthub_tif").processor_class(size={"height": 32, "width": 32})
    processor.save_pretrained(tmp_path)
    loaded = pipeline("multi-task-dense-prediction", model=str(tmp_path))
    assert loaded.image_processor.size["height"] == 32
    assert loaded(_image())["depth"].shape == (50, 70)


# ----- decoding and rendering -------------------------------------------------------------------------------------
def test_decode_dense_output_by_task_kind():
    sal = TaskSpec(name="sal", kind="dense_classification", labels=["background", "salient"])
    logits = torch.tensor([[[0.0, 2.0]], [[1.0, 0.0]]])
    decoded = decode_dense_output(sal, logits)
    assert decoded["labels"].tolist() == [[1, 0]]
    torch.testing.assert_close(decoded["probabilities"], logits.softmax(0)[1])
    depth = TaskSpec(name="depth", kind="dense_regression", num_outputs=1, extra={"clamp_min": 0.0})
    torch.testing.assert_close(decode_dense_output(depth, torch.tensor([[[-1.0, 2.0]]])), torch.tensor([[0.0, 2.0]]))
    resized = decode_dense_output(depth, torch.ones(1, 2, 2), size=(4, 6))
    assert resized.shape == (4, 6)


def test_colour_maps():
    torch.testing.assert_close(
        torch.from_numpy(colorize_normals(np.array([0.0, 0.0, 1.0]).reshape(3, 1, 1))),
        torch.tensor([[[128, 128, 255]]], dtype=torch.uint8),
    )
    palette = label_palette()
    assert len({tuple(c) for c in palette[:40]}) == 40 and tuple(palette[255]) == (0, 0, 0)
    assert colorize_labels(np.array([[255, 1]])).tolist() == [[[0, 0, 0], palette[1].tolist()]]
    ramp = colorize_depth(np.linspace(0, 1, 101)[None])
    assert ramp[0, 0].tolist() == [68, 1, 84] and ramp[0, -1].tolist() == [253, 231, 37]  # viridis ends
    assert colorize_probability(np.array([[0.0, 0.5, 1.0]]))[0, :, 0].tolist() == [0, 128, 255]


def test_render_panel_rejects_predictions_without_maps():
    with pytest.raises(ValueError, match="nothing to draw"):
        render_panel(None, {"frame_index": 3})

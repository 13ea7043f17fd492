"""``pipeline("egocentric-video-tasks")`` end to end on a generated video (PyAV) for tiny EgoT2-g HHI and EgoT2-s
OSCC configs with their (tiny) frozen TS models; label-space outputs; the processor's cross-task adaptation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import pipeline

import mthub  # noqa: F401  (registers the pipeline task)
from mthub.models.egot2 import EgoT2Model, EgoT2Processor, tiny_egot2_config
from mthub.models.egot2.processing_egot2 import mfcc
from mthub.testing.video_fixtures import write_index_video


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("egocentric") / "clip.mp4"
    return write_index_video(path, num_frames=30, fps=15, size=(64, 96), with_audio=True, audio_rate=16000)


def _model(preset: str) -> EgoT2Model:
    torch.manual_seed(0)
    return EgoT2Model(tiny_egot2_config(preset, with_ts=True)).eval()


def test_egot2_g_hhi_pipeline_on_a_video_with_audio_and_face_track(video):
    model = _model("egot2-g-hhi")
    runner = pipeline("egocentric-video-tasks", model=model)
    track = {0: (10, 8, 40, 40), 29: (40, 10, 40, 40)}  # {video frame: (x, y, w, h)}
    result = runner(str(video), face_track=track)
    assert set(result) == {"lam", "ttm", "asd"}
    assert result["lam"]["label"] in ("not_looking_at_me", "looking_at_me") and 0.0 <= result["lam"]["score"] <= 1.0
    assert result["ttm"]["label"] in ("not_talking_to_me", "talking_to_me")
    frames = len(result["asd"])  # one prediction per face-crop frame of the 2 s segment (30 fps grid)
    assert frames == 60 and {f["label"] for f in result["asd"]} <= {"not_speaking", "speaking"}
    assert result["asd"][1]["time_s"] == pytest.approx(1 / 30)
    # the same inputs through the model directly agree with the pipeline
    processor = EgoT2Processor.from_config(model.config)
    inputs = processor(str(video), face_track=track)
    direct = model.generate(**inputs)
    names = ["not_looking_at_me", "looking_at_me"]
    assert result["lam"]["label"] == names[int(direct["lam"].predictions[0])]


def test_egot2_s_oscc_pipeline_on_a_video(video):
    model = _model("egot2-s-oscc")
    result = pipeline("egocentric-video-tasks", model=model)(str(video))
    assert set(result) == {"oscc"} and result["oscc"]["label"] in ("no_state_change", "state_change")


def test_processor_adapts_one_window_to_every_ts_model(video):
    config = tiny_egot2_config("egot2-s-oscc", with_ts=True)
    processor = EgoT2Processor.from_config(config)
    inputs = processor(str(video))
    pnr = config.ts_configs["pnr"]
    assert inputs["pnr_pixel_values"].shape == (1, pnr["num_frames"], 3, pnr["image_size"], pnr["image_size"])
    assert inputs["pnr_pixel_values"].max() > 1.0  # raw 0–255, no normalisation
    ar = config.ts_configs["ar"]
    assert inputs["ar_pixel_values"].shape == (1, ar["num_frames"], 3, ar["image_size"], ar["image_size"])
    assert processor.window == (0.0, 2.0)  # an 8 s HOI clip, cut to the 2 s video
    lta = EgoT2Processor.from_config(tiny_egot2_config("egot2-s-lta", with_ts=True))
    lta_inputs = lta(str(video))
    assert lta_inputs["pnr_pixel_values"].shape[:3] == (1, 2, config.ts_configs["pnr"]["num_frames"])  # two 8 s windows
    assert lta_inputs["lta_pixel_values"].shape[:2] == (1, 2)


def test_pnr_prediction_is_a_time_in_seconds(video):
    model = _model("egot2-s-pnr")
    result = pipeline("egocentric-video-tasks", model=model)(str(video), start_s=0.4, end_s=1.6)
    pnr = result["pnr"]
    assert 0 <= pnr["keyframe"] < 16
    assert pnr["time_s"] == pytest.approx(0.4 + pnr["keyframe"] * 1.2 / 16)


def test_mfcc_lines_up_with_video_frames():
    samples = np.sin(np.linspace(0, 400 * np.pi, 16000)).astype(np.float32)
    features = mfcc(samples, 16000, num_frames=25)
    assert features.shape == (100, 13) and np.isfinite(features).all()


def test_feature_extraction_command_caches_ts_features_of_videos(video, tmp_path):
    import json

    from mthub.models.egot2.features_egot2 import EgoT2FeatureDataset, main

    model = _model("egot2-s-oscc")
    folder = tmp_path / "model"
    model.save_pretrained(folder, include_ts_weights=True)
    EgoT2Processor.from_config(model.config).save_pretrained(folder)
    (tmp_path / "labels.json").write_text(json.dumps({str(video): {"oscc": 1}}))
    main(["--model", str(folder), "--videos", str(video), str(video), "--labels", str(tmp_path / "labels.json"), "--output", str(tmp_path / "feats")])
    dataset = EgoT2FeatureDataset(tmp_path / "feats")
    assert len(dataset) == 2 and int(dataset[0]["labels"]["oscc"]) == 1
    features = {k: v[None] for k, v in dataset[0].items() if k != "labels"}
    raw = EgoT2Processor.from_pretrained(folder)(str(video))
    with torch.no_grad():
        torch.testing.assert_close(model(**features).logits["oscc"], model(**raw).logits["oscc"], rtol=1e-4, atol=1e-5)

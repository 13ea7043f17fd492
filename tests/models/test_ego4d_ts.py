"""``mthub_ego4d_ts``: parameter counts of every preset (meta device) against Tables 2/3, tiny forward/backward of
all seven TS models, their losses, EgoT2 token shapes, and the processors (MFCC against python_speech_features)."""

from __future__ import annotations

import numpy as np
import pytest
import python_speech_features
import torch
import torch.nn.functional as F
from transformers import AutoConfig, AutoVideoProcessor

import mthub
from mthub.analysis import count_parameters
from mthub.backbones.ego4d import log_mel_spectrogram, mel_filterbank
from mthub.data.builders.ego4d_fho import pnr_sample_frames
from mthub.data.builders.ego4d_social import lam_window
from mthub.models.ego4d_ts import (
    EGO4D_TASKS,
    Ego4DTSAudioFeatureExtractor,
    Ego4DTSConfig,
    Ego4DTSModel,
    Ego4DTSProcessor,
    Ego4DTSVideoProcessor,
    example_inputs,
    example_labels,
    keyframe_bce_loss,
    lam_frame_window,
    pnr_frame_numbers,
    slow_pathway_indices,
    talknet_face_crops,
    talknet_mfcc,
    tiny_ego4d_ts_config,
)

# preset → (exact trainable, exact total, Tables 2/3 trainable, Tables 2/3 total) in parameters / millions
PAPER_COUNTS = {
    "ego4d-pnr-i3d-r50": (32_193_985, 32_193_985, 32.2, 32.2),
    "ego4d-oscc-i3d-r50": (32_202_178, 32_202_178, 32.2, 32.2),
    "ego4d-ar-slowfast-r101": (63_271_833, 63_271_833, 63.3, 63.3),
    "ego4d-lta-slowfast": (180_143_700, 242_048_668, 180, 242),
    "ego4d-lam-resnet18-bilstm": (14_641_322, 14_641_322, 14.6, 14.6),  # implied by Table 3's totals (51.1 − 0.7 − 20.2 − 15.7)
    "ego4d-ttm-resnet18-resnetse": (20_170_338, 20_170_338, 20.2, 20.2),
    # the 64·64 stride-1 downsample conv of TalkNet's first lip ResNet layer is never used, hence frozen
    "ego4d-asd-talknet": (15_740_385, 15_744_481, 15.7, 15.7),
}


@pytest.mark.parametrize("preset", sorted(PAPER_COUNTS))
def test_preset_parameter_counts_match_the_paper(preset):
    trainable, total, paper_trainable, paper_total = PAPER_COUNTS[preset]
    with torch.device("meta"):
        model = Ego4DTSModel(mthub.preset_config(preset))
    counts = count_parameters(model)
    assert (counts.trainable, counts.total) == (trainable, total)
    digits = 0 if preset == "ego4d-lta-slowfast" else 1  # Table 2 prints the LTA counts as integers
    assert round(counts.trainable / 1e6, digits) == paper_trainable
    assert round(counts.total / 1e6, digits) == paper_total


def test_full_size_task_tokens_have_the_egot2_shapes():
    shapes = {}
    for task, inputs in {
        "pnr": {"pixel_values": torch.empty(1, 16, 3, 225, 225)},
        "ar": {"pixel_values": torch.empty(1, 32, 3, 224, 224)},
        "lta": {"pixel_values": torch.empty(1, 2, 32, 3, 224, 224)},
        "lam": {"pixel_values": torch.empty(1, 7, 3, 224, 224)},
        "asd": {"pixel_values": torch.empty(1, 10, 112, 112), "input_features": torch.empty(1, 40, 13)},
    }.items():
        with torch.device("meta"):
            model = Ego4DTSModel(Ego4DTSConfig(ego4d_task=task)).eval()
            tokens = model.task_tokens(**{k: v.to("meta") for k, v in inputs.items()})
        shapes[task] = [tuple(t.shape) for t in tokens] if isinstance(tokens, tuple) else tuple(tokens.shape)
    assert shapes == {
        "pnr": (1, 16, 8192),
        "ar": [(1, 8, 2048), (1, 8, 256)],
        "lta": (1, 2, 2048),
        "lam": (1, 7, 256),
        "asd": (1, 10, 256),
    }


@pytest.mark.parametrize("task", EGO4D_TASKS)
def test_tiny_models_train_one_step(task):
    config = tiny_ego4d_ts_config(task)
    model = Ego4DTSModel(config)
    outputs = model(**example_inputs(config, 2), labels=example_labels(config, 2))
    assert torch.isfinite(outputs.loss) and set(outputs.losses) == set(config.task_names)
    outputs.loss.backward()
    without = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not without, without[:5]
    expected = {
        "pnr": {"pnr": (2, 4)},
        "oscc": {"oscc": (2, 2)},
        "ar": {"action_verb": (2, 5), "action_noun": (2, 7)},
        "lta": {"lta_verb": (2, 3, 5), "lta_noun": (2, 3, 7)},
        "lam": {"lam": (2, 2)},
        "ttm": {"ttm": (2, 2)},
        "asd": {"asd": (2, 4, 2)},
    }[task]
    assert {k: tuple(v.shape) for k, v in outputs.logits.items()} == expected
    if task == "lta":  # the SlowFast body is frozen, its head is not
        assert not model.net.backbone.s2.pathway0_res0.branch2.a.weight.requires_grad
        assert model.net.backbone.head.projections[0].weight.grad is not None


@pytest.mark.parametrize("task", EGO4D_TASKS)
def test_tiny_models_run_in_bfloat16(task):
    config = tiny_ego4d_ts_config(task)
    model = Ego4DTSModel(config).eval().to(torch.bfloat16)
    inputs = {k: v.to(torch.bfloat16) for k, v in example_inputs(config, 1).items()}
    with torch.no_grad():
        logits = model(**inputs).logits
    assert all(v.dtype == torch.bfloat16 and torch.isfinite(v.float()).all() for v in logits.values())


def test_losses_follow_the_official_definitions():
    logits = torch.randn(3, 16)
    labels = torch.tensor([4, -100, 15])  # the second clip has no state change
    target = F.one_hot(torch.tensor([4, 15]), 16).float()
    expected = F.binary_cross_entropy(torch.sigmoid(logits[[0, 2]]), target)
    torch.testing.assert_close(keyframe_bce_loss(logits, labels), expected)
    torch.testing.assert_close(keyframe_bce_loss(logits, F.one_hot(labels.clamp(min=0), 16).float()), F.binary_cross_entropy(torch.sigmoid(logits), F.one_hot(labels.clamp(min=0), 16).float()))

    lta = tiny_ego4d_ts_config("lta")
    model = Ego4DTSModel(lta).eval()
    inputs, labels = example_inputs(lta, 2), example_labels(lta, 2)
    out = model(**inputs, labels=labels)
    verb = out.logits["lta_verb"]
    expected = sum(F.cross_entropy(verb[:, z], labels["lta_verb"][:, z]) for z in range(lta.num_future))
    torch.testing.assert_close(out.losses["lta_verb"], expected)

    ttm = tiny_ego4d_ts_config("ttm")
    model = Ego4DTSModel(ttm).eval()
    inputs, labels = example_inputs(ttm, 2), {"ttm": torch.tensor([0, 1])}
    out = model(**inputs, labels=labels)
    torch.testing.assert_close(out.loss, F.cross_entropy(out.logits["ttm"], labels["ttm"], weight=torch.tensor([0.266, 0.734])))

    asd = tiny_ego4d_ts_config("asd")
    model = Ego4DTSModel(asd).eval()
    inputs, labels = example_inputs(asd, 2), example_labels(asd, 2)
    labels["asd"][1, -1] = -100  # a padded frame
    out = model(**inputs, labels=labels)
    flat = labels["asd"].flatten()
    ce = lambda x, w=None: F.cross_entropy(x.flatten(0, 1), flat, weight=w, ignore_index=-100)
    expected = ce(out.logits["asd"], torch.tensor([1.0, 4.0])) + 0.4 * (ce(out.auxiliary_logits["asd_audio"]) + ce(out.auxiliary_logits["asd_visual"]))
    torch.testing.assert_close(out.loss, expected)


def test_inputs_are_checked_with_clear_errors():
    model = Ego4DTSModel(tiny_ego4d_ts_config("ttm"))
    with pytest.raises(ValueError, match="input_values"):
        model(pixel_values=torch.randn(1, 3, 3, 32, 32))
    with pytest.raises(ValueError, match="ego4d_task"):
        Ego4DTSConfig(ego4d_task="nlq")


def test_slow_pathway_and_sampling_conventions():
    assert slow_pathway_indices(32, 4).tolist() == [0, 4, 8, 13, 17, 22, 26, 31]
    rng = np.random.default_rng(0)
    for _ in range(50):  # the model-side and the builder-side copies of the official sampler agree
        start = int(rng.integers(0, 5000))
        end = start + int(rng.integers(16, 400))
        pnr = int(rng.integers(start, end))
        assert pnr_frame_numbers(start, end, 16, pnr) == pnr_sample_frames(start, end, 16, pnr)
        available = set(rng.choice(np.arange(start - 5, start + 6), size=6, replace=False).tolist())
        assert lam_frame_window(start, available) == lam_window(start, available)


@pytest.mark.parametrize("fps", [25.0, 30.0])
def test_mfcc_is_identical_to_python_speech_features(fps):
    rng = np.random.default_rng(1)
    signal = np.concatenate([0.1 * rng.standard_normal(8000), 0.3 * np.sin(np.arange(8123) / 7.0), np.zeros(400)])
    expected = python_speech_features.mfcc(signal, 16000, numcep=13, winlen=0.025 * 25 / fps, winstep=0.010 * 25 / fps)
    np.testing.assert_array_equal(talknet_mfcc(signal, 16000, fps), expected)


def test_log_mel_front_end():
    fb = mel_filterbank(257, 64, 16000)
    assert fb.shape == (257, 64) and torch.all(fb >= 0) and torch.all(fb <= 1)
    peaks = fb.argmax(dim=0)
    assert torch.all(peaks[1:] >= peaks[:-1])  # triangles move up in frequency
    spec = log_mel_spectrogram(torch.randn(2, 16000))
    assert spec.shape == (2, 64, 101) and torch.isfinite(spec).all()


def test_processors(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (16, 48, 64, 3), dtype=np.uint8)
    pnr = Ego4DTSVideoProcessor.for_task("pnr")(frames, return_tensors="pt")["pixel_values"]
    assert pnr.shape == (1, 16, 3, 225, 225) and pnr.max() > 2 and pnr.min() >= 0  # raw 0–255, no normalisation
    ar = Ego4DTSVideoProcessor.for_task("ar")(np.concatenate([frames, frames]), return_tensors="pt")["pixel_values"]
    assert ar.shape == (1, 32, 3, 224, 224) and ar.min() < 0  # (x/255 − 0.45)/0.225

    ttm = Ego4DTSProcessor("ttm", video_processor=Ego4DTSVideoProcessor.for_task("ttm", size={"height": 32, "width": 32}))
    wav = [np.sin(np.arange(4800) / 5.0), np.sin(np.arange(5000) / 3.0)]
    batch = ttm(videos=[frames[:3], frames[:3]], audio=wav)
    assert batch["pixel_values"].shape == (2, 3, 3, 32, 32) and batch["input_values"].shape == (2, 4800)
    assert torch.sqrt((batch["input_values"] ** 2).mean(dim=1)).allclose(torch.tensor(0.1), atol=1e-3)  # RMS 0.1

    asd = Ego4DTSProcessor("asd")
    faces = np.random.default_rng(1).integers(0, 255, (10, 112, 112), dtype=np.uint8)
    out = asd(faces=faces, audio=np.random.default_rng(2).standard_normal(12000))  # 0.75 s < 10 frames: wrap-padded
    assert out["pixel_values"].shape == (1, 10, 112, 112) and out["input_features"].shape == (1, 40, 13)

    ttm.save_pretrained(tmp_path / "proc")
    again = Ego4DTSProcessor.from_pretrained(tmp_path / "proc")
    assert again.ego4d_task == "ttm" and again.video_processor.to_dict() == ttm.video_processor.to_dict()
    assert isinstance(again.feature_extractor, Ego4DTSAudioFeatureExtractor) and again.feature_extractor.mode == "waveform"
    with pytest.raises(ValueError, match="talknet_face_crops"):
        Ego4DTSVideoProcessor.for_task("asd")


def test_video_processor_is_registered_with_the_auto_class(tmp_path):
    Ego4DTSConfig(ego4d_task="oscc").save_pretrained(tmp_path)
    Ego4DTSVideoProcessor.for_task("oscc").save_pretrained(tmp_path)
    assert type(AutoConfig.from_pretrained(tmp_path)) is Ego4DTSConfig
    processor = AutoVideoProcessor.from_pretrained(tmp_path)
    assert type(processor) is Ego4DTSVideoProcessor and processor.size["height"] == 225 and not processor.do_normalize


def test_talknet_face_crops():
    frames = np.zeros((5, 60, 80, 3), dtype=np.uint8)
    frames[:, 20:40, 30:50] = 255  # a white face
    boxes = np.tile([30.0, 20.0, 50.0, 40.0], (5, 1))
    crops = talknet_face_crops(frames, boxes)
    assert crops.shape == (5, 112, 112) and crops.dtype == np.uint8
    assert crops[:, 40:60, 50:62].mean() > 200  # the face sits in the upper-middle of the crop


def test_load_example_decodes_what_the_official_loaders_read(tmp_path):
    from PIL import Image

    from mthub.models.ego4d_ts import load_example
    from mthub.testing.video_fixtures import decode_frame_index, write_index_video

    video = write_index_video(tmp_path / "parent.mkv", num_frames=100, fps=30, size=(64, 128), codec="ffv1", with_audio=True, audio_rate=16000)
    numbers, label = pnr_frame_numbers(10, 90, 16, 51)
    raw = Ego4DTSProcessor("pnr", Ego4DTSVideoProcessor.for_task("pnr", size={"height": 64, "width": 128}))
    pnr = load_example({"source": str(video), "frame_numbers": numbers, "pnr": label}, "pnr", raw)
    frames = pnr["pixel_values"][0].permute(0, 2, 3, 1).round().to(torch.uint8).numpy()
    assert [decode_frame_index(f) for f in frames] == numbers and pnr["labels"]["pnr"].tolist() == [label]

    ar = Ego4DTSProcessor("ar", Ego4DTSVideoProcessor.for_task("ar", size={"shortest_edge": 64}, crop_size={"height": 64, "width": 64}))
    out = load_example({"video_path": str(video), "window_start_sec": 1.0, "window_end_sec": 1.0 + 64 / 30, "verb_label": 3, "noun_label": 4}, "ar", ar)
    assert out["pixel_values"].shape == (1, 32, 3, 64, 64) and out["labels"]["action_noun"].tolist() == [4]

    images = tmp_path / "imgs"
    images.mkdir()
    for f in range(1, 9):
        Image.fromarray(np.full((40, 60, 3), 20 * f, np.uint8)).save(images / f"img_{f:05d}.jpg")
    lam = {"image_dir": str(images), "frame_numbers": [1, 1, 1, 1, 2, 3, 4], "boxes": [[0.0, 0.0, 30.0, 20.0]] * 7, "lam": 1}
    out = load_example(lam, "lam")
    assert out["pixel_values"].shape == (1, 7, 3, 224, 224) and out["labels"]["lam"].tolist() == [1]

    asd = {"video_path": str(video), "audio_path": str(video), "fps": 30.0, "frame_numbers": list(range(30, 40)),
           "boxes": [[10.0, 10.0, 40.0, 40.0]] * 10, "asd": [0] * 5 + [1] * 5}
    out = load_example(asd, "asd")
    assert out["pixel_values"].shape == (1, 10, 112, 112) and out["input_features"].shape == (1, 40, 13)
    assert out["labels"]["asd"].shape == (1, 10)

"""Behaviour of the test model itself: shapes, masking of missing labels and padded frames."""

from __future__ import annotations

import torch

from mthub.testing import TinyMTConfig, TinyMTForVideoClassification, TinyMTModel


def test_output_shapes():
    config = TinyMTConfig()
    model = TinyMTModel(config).eval()
    out = model(torch.randn(3, 4, 3, 32, 32))
    assert out.logits["action"].shape == (3, 5)
    assert out.logits["segmentation"].shape == (3, 4, 3, 32, 32)
    assert out.last_hidden_state.shape == (3, 2 * 4 * 4, 32)
    assert out.loss is None


def test_missing_labels_are_masked_and_heads_stay_in_graph():
    model = TinyMTModel(TinyMTConfig())
    pixels = torch.randn(2, 4, 3, 32, 32)
    out = model(pixels, labels={"action": torch.tensor([1, -100]), "segmentation": None})
    assert set(out.losses) == {"action"}
    out.loss.backward()
    assert model.segmentation_head.weight.grad is not None
    assert torch.count_nonzero(model.segmentation_head.weight.grad) == 0
    # All samples ignored: zero loss, not NaN.
    out = model(pixels, labels={"action": torch.tensor([-100, -100])})
    assert out.loss.item() == 0.0


def test_padded_frames_do_not_change_the_clip_prediction():
    model = TinyMTModel(TinyMTConfig()).eval()
    pixels = torch.randn(1, 4, 3, 32, 32)
    mask = torch.tensor([[True, True, False, False]])
    with torch.no_grad():
        a = model(pixels, frame_mask=mask).logits["action"]
        pixels[:, 2:] = torch.randn(1, 2, 3, 32, 32) * 10  # change only the padded frames
        b = model(pixels, frame_mask=mask).logits["action"]
    torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_video_classification_view_loads_multitask_weights(tmp_path):
    model = TinyMTModel(TinyMTConfig()).eval()
    model.save_pretrained(tmp_path)
    view = TinyMTForVideoClassification.from_pretrained(tmp_path).eval()
    pixels = torch.randn(2, 4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(view(pixels).logits, model(pixels).logits["action"])

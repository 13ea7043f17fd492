"""Saliency maxF in both conventions against a hand-worked precision/recall table."""

from __future__ import annotations

import pytest
import torch

from mthub.metrics import SaliencyMetric

# One 2×2 image: foreground probabilities and label.
PROBS = torch.tensor([[[0.92, 0.62], [0.33, 0.12]]])
GT = torch.tensor([[[1, 0], [1, 0]]])
# ATRC (s >= t, t = .05..0.95, β² = .3):
#   t <= .10: PP 4, TP 2 -> P .5,  R 1  -> F = 1.3·.5/(.3·.5 + 1)    = .5652
#   .15-.30:  PP 3, TP 2 -> P 2/3, R 1  -> F = 1.3·(2/3)/(.2 + 1)    = .7222
#   .35-.60:  PP 2, TP 1 -> P .5,  R .5 -> F = 1.3·.25/(.15 + .5)    = .5
#   .65-.90:  PP 1, TP 1 -> P 1,   R .5 -> F = 1.3·.5/(.3 + .5)      = .8125  <- max
#   .95:      PP 0                  -> F = 0
# ASTMT (s > t, t = .20..0.90): .20-.30: P 2/3, R 1 (F1 .8, J 2/3); .35-.60: P .5, R .5 (F1 .5, J 1/3);
#   .65-.90: P 1, R .5 (F1 2/3, J .5).


def test_atrc_and_f1_conventions_on_one_image():
    m = SaliencyMetric(from_logits=False)
    m.update(PROBS, GT)
    out = m.compute()
    assert out["maxF_beta0.3"] == pytest.approx(81.25)
    assert out["maxF1"] == pytest.approx(80.0, abs=1e-8)
    assert out["max_mIoU"] == pytest.approx(200 / 3)


def test_pooled_versus_per_image_averaging():
    # A second image with an empty label and all-low scores adds nothing to ATRC's pooled counts (0.01 is
    # below every threshold) but halves ASTMT's per-image mean precision and recall (P = R = 0, J = 1).
    probs = torch.cat([PROBS, torch.full((1, 2, 2), 0.01)])
    gt = torch.cat([GT, torch.zeros(1, 2, 2, dtype=torch.long)])
    m = SaliencyMetric(from_logits=False)
    m.update(probs, gt)
    out = m.compute()
    assert out["maxF_beta0.3"] == pytest.approx(81.25)
    # t = .2: mP = 1/3, mR = 1/2 -> F1 = .4 (max); t = .65: mP = .5, mR = .25 -> 1/3.
    assert out["maxF1"] == pytest.approx(40.0, abs=1e-8)
    assert out["max_mIoU"] == pytest.approx(100 * (2 / 3 + 1) / 2)


def test_logits_inputs_ignore_label_and_beta_key():
    logit = torch.log(PROBS / (1 - PROBS))
    two_class = torch.stack([torch.zeros_like(logit), logit], 1)  # softmax[:, 1] == sigmoid(logit)
    for preds in (logit, logit[:, None], two_class):
        m = SaliencyMetric()
        m.update(preds, GT)
        assert m.compute()["maxF_beta0.3"] == pytest.approx(81.25)
    # Ignoring the false positive at 0.62 leaves 0.92 (fg), 0.33 (fg), 0.12 (bg): thresholds .15-.30
    # keep exactly the two foreground pixels, so P = R = 1 there.
    gt = GT.clone()
    gt[0, 0, 1] = 255
    m = SaliencyMetric(from_logits=False, beta_squared=1.0)
    m.update(PROBS, gt)
    out = m.compute()
    assert set(out) == {"maxF_beta1", "maxF1", "max_mIoU"}
    assert out["maxF_beta1"] == pytest.approx(100.0)
    assert m.atrc_ap.item() == 2 and m.atrc_pp[0].item() == 3


def test_streaming_equals_one_shot_and_constant_state():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 2, 7, 7, generator=g)
    gt = (torch.rand(6, 7, 7, generator=g) > 0.6).long()
    gt[0, 0] = 255
    one, chunked = SaliencyMetric(), SaliencyMetric()
    one.update(logits, gt)
    sizes = set()
    for i in range(0, 6, 2):
        chunked.update(logits[i : i + 2], gt[i : i + 2])
        sizes.add(chunked.state_numel())
    assert chunked.compute() == pytest.approx(one.compute())
    assert sizes == {19 * 2 + 1 + 15 * 3 + 1}

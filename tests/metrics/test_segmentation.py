"""mIoU / pixel accuracy against hand-computed values, streaming equivalence, constant state."""

from __future__ import annotations

import pytest
import torch
from torchmetrics.classification import MulticlassJaccardIndex

from mthub.metrics import PerImageMeanIoU, SegmentationMetric

# 2×3 map, one ignored pixel. Valid pixels (pred, gt): (0,0) (1,1) (1,2) (2,2) (0,1).
PRED = torch.tensor([[[0, 1, 1], [2, 2, 0]]])
GT = torch.tensor([[[0, 1, 2], [2, 255, 1]]])
# class 0: TP 1, FP 1, FN 0 -> 1/2; class 1: TP 1, FP 1, FN 1 -> 1/3; class 2: TP 1, FP 0, FN 1 -> 1/2
HAND_IOU = [1 / 2, 1 / 3, 1 / 2]


def test_hand_computed_miou_and_pixel_accuracy():
    m = SegmentationMetric(num_classes=3)
    m.update(PRED, GT)
    out = m.compute()
    assert out["mIoU"] == pytest.approx(100 * sum(HAND_IOU) / 3)
    assert out["pixel_acc"] == pytest.approx(100 * 3 / 5)
    assert m.per_class_iou().tolist() == pytest.approx(HAND_IOU)


def test_absent_class_counts_zero_by_default_and_skip_matches_torchmetrics_macro():
    zero = SegmentationMetric(num_classes=4)
    skip = SegmentationMetric(num_classes=4, absent_classes="skip")
    for m in (zero, skip):
        m.update(PRED, GT)
    assert zero.compute()["mIoU"] == pytest.approx(100 * sum(HAND_IOU) / 4)
    assert skip.compute()["mIoU"] == pytest.approx(100 * sum(HAND_IOU) / 3)
    g = torch.Generator().manual_seed(1)
    pred = torch.randint(0, 5, (3, 7, 9), generator=g)
    gt = torch.randint(0, 5, (3, 7, 9), generator=g)
    gt[0, :2] = 255
    ours = SegmentationMetric(num_classes=6, absent_classes="skip")
    ours.update(pred, gt)
    ref = MulticlassJaccardIndex(num_classes=6, ignore_index=255, average="macro")
    ref.update(pred, gt)
    assert ours.compute()["mIoU"] == pytest.approx(100 * ref.compute().item(), abs=1e-4)


def test_logits_and_low_resolution_logits():
    logits = torch.nn.functional.one_hot(PRED, 3).permute(0, 3, 1, 2).float() * 5
    m = SegmentationMetric(num_classes=3)
    m.update(logits, GT[:, None])  # [B, 1, H, W] labels accepted
    assert m.compute()["mIoU"] == pytest.approx(100 * sum(HAND_IOU) / 3)
    # Constant low-res logits are upsampled to the label size before the argmax.
    low = torch.zeros(1, 3, 1, 1)
    low[0, 2] = 1.0
    m2 = SegmentationMetric(num_classes=3)
    m2.update(low, GT)
    assert m2.compute()["pixel_acc"] == pytest.approx(100 * 2 / 5)


def test_streaming_equals_one_shot_and_state_is_constant():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 5, 6, 7, generator=g)
    gt = torch.randint(0, 5, (8, 6, 7), generator=g)
    gt[gt == 4] = 255
    one = SegmentationMetric(num_classes=5)
    one.update(logits, gt)
    chunked = SegmentationMetric(num_classes=5)
    sizes = []
    for i in range(0, 8, 3):
        chunked.update(logits[i : i + 3], gt[i : i + 3])
        sizes.append(chunked.state_numel())
    assert chunked.compute() == pytest.approx(one.compute())
    assert len(set(sizes)) == 1 and sizes[0] == 25


def test_bad_labels_raise():
    m = SegmentationMetric(num_classes=3)
    with pytest.raises(ValueError, match=r"target has values \[7\] outside \[0, 3\)"):
        m.update(PRED, torch.full_like(GT, 7))
    with pytest.raises(ValueError, match="preds has values"):
        PerImageMeanIoU(num_classes=3).update(PRED + 3, GT)
    with pytest.raises(ValueError, match="batch size"):
        m.update(PRED.repeat(2, 1, 1), GT)


def test_mtan_per_image_miou():
    # Image 1 as above. MTAN counts the prediction 2 at the ignored pixel in class 2's union:
    # class 0: 1/2, class 1: 1/3, class 2: 1/3 -> 7/18. Image 2 is all-ignore (missing label): skipped.
    pred = torch.cat([PRED, PRED])
    gt = torch.cat([GT, torch.full_like(GT, 255)])
    m = PerImageMeanIoU(num_classes=3)
    m.update(pred, gt)
    assert m.compute()["mIoU_mtan"] == pytest.approx(100 * 7 / 18)
    strict = PerImageMeanIoU(num_classes=3, count_ignored_predictions=False)
    strict.update(pred, gt)
    assert strict.compute()["mIoU_mtan"] == pytest.approx(100 * 4 / 9)
    # A second image where only class 1 occurs, predicted perfectly: its mean over present classes is 1.
    m.update(torch.ones(1, 2, 3, dtype=torch.long), torch.ones(1, 2, 3, dtype=torch.long))
    assert m.compute()["mIoU_mtan"] == pytest.approx(100 * (7 / 18 + 1) / 2)

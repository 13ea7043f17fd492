"""The in-package ``evaluate.Metric`` wrappers work offline and agree with the streaming metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mthub.metrics import SaliencyMetric
from mthub.metrics.evaluate_metrics import (
    MTHubDepthMetrics,
    MTHubEdgeODSF,
    MTHubMeanIoU,
    MTHubNormalsMetrics,
    MTHubSaliencyMaxF,
)


def test_mean_iou_hand_values_and_add_batch(tmp_path):
    pred = np.array([[0, 1, 1], [2, 2, 0]])
    ref = np.array([[0, 1, 2], [2, 255, 1]])
    out = MTHubMeanIoU(cache_dir=str(tmp_path)).compute(predictions=[pred], references=[ref], num_classes=3)
    assert out["mIoU"] == pytest.approx(100 * (1 / 2 + 1 / 3 + 1 / 2) / 3)
    assert out["pixel_acc"] == pytest.approx(60.0)
    m = MTHubMeanIoU(cache_dir=str(tmp_path))
    m.add_batch(predictions=[pred, np.zeros((4, 5), int)], references=[ref, np.zeros((4, 5), int)])
    both = m.compute(num_classes=3)
    assert both["pixel_acc"] == pytest.approx(100 * (3 + 20) / 25)
    with pytest.raises(ValueError, match="needs num_classes"):
        MTHubMeanIoU(cache_dir=str(tmp_path)).compute(predictions=[pred], references=[ref])


def test_depth_normals_saliency_edge_wrappers(tmp_path):
    kw = {"cache_dir": str(tmp_path)}
    d = MTHubDepthMetrics(**kw).compute(predictions=[np.ones((2, 2))], references=[np.array([[1.0, 2.0], [0.0, 4.0]])])
    assert d["rmse"] == pytest.approx(np.sqrt((0 + 1 + 9) / 3))
    n = MTHubNormalsMetrics(**kw).compute(
        predictions=[np.stack([np.ones((2, 2)), np.zeros((2, 2)), np.zeros((2, 2))])],
        references=[np.stack([np.zeros((2, 2)), np.zeros((2, 2)), np.ones((2, 2))])],
    )
    assert n["mean_angle"] == pytest.approx(90.0, abs=1e-4)
    probs = np.array([[0.92, 0.62], [0.33, 0.12]], dtype=np.float32)
    s = MTHubSaliencyMaxF(**kw).compute(predictions=[probs], references=[np.array([[1, 0], [1, 0]])])
    ref = SaliencyMetric(from_logits=False)
    ref.update(torch.from_numpy(probs)[None], torch.tensor([[[1, 0], [1, 0]]]))
    assert s == pytest.approx(ref.compute())
    edge_gt = np.zeros((32, 32))
    edge_gt[:, 10] = 1
    edge_pred = np.zeros((32, 32))
    edge_pred[:, 11] = 0.9
    e = MTHubEdgeODSF(**kw).compute(predictions=[edge_pred], references=[edge_gt], max_dist=0.05)
    assert e["odsF"] == pytest.approx(100.0)

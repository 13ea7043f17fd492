"""Depth and surface-normal metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mthub.metrics import DepthMetric, NormalsMetric, normal_angle_error


def test_depth_rmse_is_pooled_over_pixels_not_averaged_over_images():
    # Image A: one valid pixel with error 2 (others invalid: 0 and 255). Image B: four pixels, error 1.
    gt_a = torch.tensor([[[1.0, 0.0], [255.0, 0.0]]])
    pred_a = torch.tensor([[[3.0, 50.0], [7.0, 9.0]]])
    gt_b = torch.full((1, 2, 2), 2.0)
    pred_b = torch.full((1, 2, 2), 3.0)
    m = DepthMetric()
    m.update(pred_a, gt_a)
    m.update(pred_b, gt_b)
    pooled = math.sqrt((2**2 + 4 * 1**2) / 5)
    per_image = (2.0 + 1.0) / 2
    out = m.compute()
    assert out["rmse"] == pytest.approx(pooled)
    assert out["rmse"] != pytest.approx(per_image)
    assert out["abs"] == pytest.approx((2 + 4) / 5)
    assert out["abs_rel"] == pytest.approx((2 / 1 + 4 * 0.5) / 5)
    # natural log: ln(3/1), ln(3/2)
    assert out["log_rmse"] == pytest.approx(math.sqrt((math.log(3) ** 2 + 4 * math.log(1.5) ** 2) / 5))


def test_depth_delta_thresholds_and_units():
    gt = torch.ones(1, 1, 2, 2)
    pred = torch.tensor([[[[1.2, 1.5], [2.0, 0.5]]]])  # ratios 1.2, 1.5, 2.0, 2.0
    m = DepthMetric(unit_scale=1000.0)
    m.update(pred, gt)
    out = m.compute()
    assert out["delta1"] == pytest.approx(25.0)  # < 1.25
    assert out["delta2"] == pytest.approx(50.0)  # < 1.5625
    assert out["delta3"] == pytest.approx(50.0)  # < 1.953125
    assert out["abs"] == pytest.approx(1000 * 0.55)
    assert out["rmse"] == pytest.approx(1000 * math.sqrt((0.04 + 0.25 + 1 + 0.25) / 4))
    assert out["abs_rel"] == pytest.approx(0.55)  # unit-free


def test_depth_negative_predictions_are_clamped_and_empty_is_empty():
    m = DepthMetric()
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert m.compute() == {}
    m.update(torch.tensor([[[-1.0]]]), torch.tensor([[[2.0]]]))
    assert m.compute()["rmse"] == pytest.approx(2.0, abs=1e-6)
    empty = DepthMetric()
    empty.update(torch.ones(1, 3, 3), torch.zeros(1, 3, 3))
    assert empty.compute() == {}


def test_depth_streaming_equals_one_shot():
    g = torch.Generator().manual_seed(0)
    gt = torch.rand(6, 1, 5, 5, generator=g) * 5
    gt[gt < 0.5] = 0
    pred = gt + torch.randn(6, 1, 5, 5, generator=g) * 0.3
    one, chunked = DepthMetric(), DepthMetric()
    one.update(pred, gt)
    for i in range(0, 6, 4):
        chunked.update(pred[i : i + 4], gt[i : i + 4])
    assert chunked.compute() == pytest.approx(one.compute())


def _normals(*vectors):
    """[1, 3, 1, N] map from N 3-vectors."""
    return torch.tensor(vectors, dtype=torch.float32).T[None, :, None, :]


def test_normal_angles_0_45_90_180_and_invalid_pixels():
    gt = _normals((0, 0, 1), (0, 0, 1), (0, 0, 1), (0, 0, 1), (0, 0, 0), (255, 255, 255))
    pred = _normals((0, 0, 5), (1, 0, 1), (1, 0, 0), (0, 0, -2), (1, 0, 0), (0, 1, 0))
    angles = normal_angle_error(pred, gt)[0, 0, :4]
    assert angles.tolist() == pytest.approx([0.0, 45.0, 90.0, 180.0], abs=1e-4)
    m = NormalsMetric()
    m.update(pred, gt)
    out = m.compute()
    assert m.num_valid.item() == 4  # zero-length and 255 label pixels skipped
    assert out["mean_angle"] == pytest.approx((0 + 45 + 90 + 180) / 4, abs=1e-4)
    assert out["rmse_angle"] == pytest.approx(math.sqrt((45**2 + 90**2 + 180**2) / 4), abs=1e-4)
    assert out["median_angle"] == pytest.approx(67.5, abs=0.01)  # numpy median of {0, 45, 90, 180}
    assert out["within_11.25"] == pytest.approx(25.0)
    assert out["within_22.5"] == pytest.approx(25.0)
    assert out["within_30"] == pytest.approx(25.0)


def test_normal_median_from_histogram_is_within_resolution_and_streams():
    g = torch.Generator().manual_seed(3)
    gt = torch.randn(4, 3, 9, 11, generator=g)
    pred = gt + torch.randn(4, 3, 9, 11, generator=g) * 0.6
    one, chunked = NormalsMetric(), NormalsMetric()
    one.update(pred, gt)
    sizes = set()
    for i in range(4):
        chunked.update(pred[i : i + 1], gt[i : i + 1])
        sizes.add(chunked.state_numel())
    ref = normal_angle_error(pred, gt).flatten().double().numpy()
    out = one.compute()
    assert out["median_angle"] == pytest.approx(float(np.median(ref)), abs=180 / 18000)
    assert out["mean_angle"] == pytest.approx(float(ref.mean()), rel=1e-6)
    # MTL-PyTorch / MTAN formula: arccos of the clipped dot product of unit vectors.
    p = torch.nn.functional.normalize(pred, dim=1)
    q = torch.nn.functional.normalize(gt, dim=1)
    acos = torch.rad2deg(torch.acos((p * q).sum(1).clamp(-1, 1))).double().mean().item()
    assert out["mean_angle"] == pytest.approx(acos, abs=1e-3)
    assert out["within_22.5"] == pytest.approx(100 * float((ref < 22.5).mean()))
    assert chunked.compute() == pytest.approx(out)
    assert sizes == {one.state_numel()}


def test_normals_reject_channels_last():
    with pytest.raises(ValueError, match="channels-last"):
        NormalsMetric().update(torch.ones(1, 4, 4, 3), torch.ones(1, 4, 4, 3))

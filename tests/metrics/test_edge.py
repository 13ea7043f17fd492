"""Boundary odsF/oisF: tolerance matching, threshold selection, approximation bounds."""

from __future__ import annotations

import math

import pytest
import torch

from mthub.metrics import MAX_DIST, EdgeMetric
from mthub.metrics._morphology import disk_max_filter, thin

H = W = 32
MAX_D = 0.05  # tolerance 0.05 · sqrt(32² + 32²) = 2.26 px on these tiny maps


def _line(col: int, prob: float = 1.0, rows: slice = slice(None)) -> torch.Tensor:
    x = torch.zeros(1, H, W)
    x[0, rows, col] = prob
    return x


GT = _line(10)


# Half the boundary (rows 0-15) predicted 2 px to the right: P = 1. One-to-one matching recalls 16 of 32
# GT pixels (F = 2/3); nearest matching also recalls GT row 16, sqrt(2² + 1²) = 2.24 px from the last
# predicted pixel (R = 17/32, F = 34/49) -- the over-count of the fast approximation.
@pytest.mark.parametrize(("matching", "half_f"), [("nearest", 34 / 49), ("bipartite", 2 / 3)])
def test_shift_within_tolerance_matches_far_shift_does_not(matching, half_f):
    near = EdgeMetric(max_dist=MAX_D, matching=matching, from_logits=False)
    near.update(_line(11, 0.9), GT)  # 1 px away
    assert near.compute()["odsF"] == pytest.approx(100.0)
    far = EdgeMetric(max_dist=MAX_D, matching=matching, from_logits=False)
    far.update(_line(15, 0.9), GT)  # 5 px away
    assert far.compute()["odsF"] == pytest.approx(0.0)
    half = EdgeMetric(max_dist=MAX_D, matching=matching, from_logits=False)
    half.update(_line(12, 0.9, slice(0, 16)), GT)
    assert half.compute()["odsF"] == pytest.approx(100 * half_f)


def test_ods_pools_counts_per_threshold_and_ois_picks_per_image():
    # Image 1: true line (0.8) + a far false line (0.4): best when .4 < t <= .8.
    # Image 2: true line at 0.3 only: best when t <= .3.
    p1 = _line(10, 0.8) + _line(25, 0.4)
    p2 = _line(10, 0.3)
    m = EdgeMetric(max_dist=MAX_D, from_logits=False)
    m.update(torch.cat([p1, p2]), torch.cat([GT, GT]))
    out = m.compute()
    # t <= .3: R 64/64, P 64/96 -> F .8 (best); .3 < t <= .4: R 1/2, P 1/2; .4 < t <= .8: R 1/2, P 1 -> 2/3.
    assert out["odsF"] == pytest.approx(80.0)
    assert out["oisF"] == pytest.approx(100.0)


def test_ignored_pixels_are_not_false_positives():
    pred = _line(10, 0.9) + _line(25, 0.9)
    gt = GT.clone()
    gt[0, :, 22:] = 255
    m = EdgeMetric(max_dist=MAX_D, from_logits=False)
    m.update(pred, gt)
    assert m.compute()["odsF"] == pytest.approx(100.0)


def test_thick_prediction_nearest_overcounts_bipartite_and_thinning_do_not():
    band = _line(9, 0.9) + _line(10, 0.9) + _line(11, 0.9)  # 3 px wide band on a 1 px boundary
    results = {}
    for name, kw in {"nearest": {}, "bipartite": {"matching": "bipartite"}, "thin": {"thin": True}}.items():
        m = EdgeMetric(max_dist=MAX_D, from_logits=False, **kw)
        m.update(band, GT)
        results[name] = m.compute()["odsF"]
    assert results["nearest"] == pytest.approx(100.0)  # every band pixel is "near" a GT pixel
    assert results["bipartite"] == pytest.approx(50.0)  # one-to-one: P 32/96, R 1
    assert results["thin"] >= 95.0  # Zhang–Suen thins the band to (about) the centre line


def test_nearest_is_an_upper_bound_of_bipartite_and_streaming_is_exact():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 1, 20, 24, generator=g) * 3
    gt = (torch.rand(3, 1, 20, 24, generator=g) > 0.85).float()
    gt[1, 0, :5] = 255
    fast, exact, chunked = (EdgeMetric(max_dist=0.06, matching=k) for k in ("nearest", "bipartite", "nearest"))
    fast.update(logits, gt)
    exact.update(logits, gt)
    for i in range(3):
        chunked.update(logits[i : i + 1], gt[i : i + 1])
    assert torch.all(fast.cnt_r >= exact.cnt_r) and torch.all(fast.cnt_p >= exact.cnt_p)
    assert torch.equal(fast.sum_p, exact.sum_p)
    assert fast.compute()["odsF"] >= exact.compute()["odsF"]
    assert chunked.compute() == pytest.approx(fast.compute())
    assert chunked.state_numel() == fast.state_numel() == 3 * 99 + 1 + 4 + 1


def test_tolerance_radius_and_disk_dilation():
    m = EdgeMetric(max_dist=MAX_DIST["nyud"])
    assert m.radius(480, 640) == pytest.approx(0.011 * 800)
    x = torch.full((1, 9, 9), -1.0)
    x[0, 4, 4] = 1.0
    d = disk_max_filter(x, 2.0, fill=-1.0)[0]
    ys, xs = torch.meshgrid(torch.arange(9), torch.arange(9), indexing="ij")
    disk = ((ys - 4) ** 2 + (xs - 4) ** 2) <= 4
    assert torch.equal(d == 1.0, disk)


def test_thinning_keeps_thin_lines_and_thins_bands():
    line = torch.zeros(1, 12, 12, dtype=torch.bool)
    line[0, 2:10, 5] = True
    assert torch.equal(thin(line), line)
    band = torch.zeros(1, 12, 12, dtype=torch.bool)
    band[0, 1:11, 4:7] = True
    out = thin(band)
    assert out.sum() < band.sum() / 2 and bool(out[0, 3:9, 4:7].any(1).all())
    assert math.isclose(float(out[0, 3:9].sum()), 6.0)  # one pixel per row in the middle

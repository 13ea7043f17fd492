"""Δm reproduces the published values from the papers' table rows."""

from __future__ import annotations

import pytest

from mthub.metrics import METRIC_HIGHER_IS_BETTER, MultiTaskMetrics, delta_m

NYUD_KEYS = ("semseg/mIoU", "depth/rmse", "normals/mean_angle", "edge/odsF")
# TIF Tables 7-9 baseline row, with Bound 75.15: the printed 65.15 is a typo (tif.md §6).
TIF_BASELINE = dict(zip(NYUD_KEYS, (42.98, 0.6012, 21.39, 75.15)))
TIF_ROWS = {  # SemSeg, Depth, Normals, Bound -> printed Δm (%)
    "T7 W/1 SFD": ((46.93, 0.5741, 20.20, 77.81), 5.70),
    "T7 W/2 SFD": ((47.42, 0.5677, 20.11, 77.75), 6.34),
    "T8 cross-distill": ((45.79, 0.5738, 20.57, 77.20), 4.41),
    "T8 self-distill": ((46.71, 0.5766, 20.29, 77.78), 5.35),
    "T9 W/O SAFF": ((46.12, 0.5678, 20.03, 77.34), 5.53),
    "T9 W/2 SAFF": ((46.29, 0.5675, 20.03, 77.34), 5.64),
    "T9 W/4 SAFF": ((47.42, 0.5677, 20.11, 77.75), 6.34),
}


@pytest.mark.parametrize("row", sorted(TIF_ROWS))
def test_tif_tables_7_to_9(row):
    values, printed = TIF_ROWS[row]
    assert round(delta_m(dict(zip(NYUD_KEYS, values)), TIF_BASELINE), 2) == pytest.approx(printed)


def test_tif_printed_baseline_typo_does_not_reproduce():
    typo = {**TIF_BASELINE, "edge/odsF": 65.15}
    values, printed = TIF_ROWS["T7 W/2 SFD"]
    assert delta_m(dict(zip(NYUD_KEYS, values)), typo) - printed == pytest.approx(3.96, abs=0.02)


def test_efficient_mtl_delta_vs_single_task():
    # PASCAL Table 1 (ST vs +w, +w+act, InvPT) and NYUD Table 1; values as in efficient_mtl.md §6.
    keys = ("semseg/mIoU", "human_parts/mIoU", "sal/maxF_beta0.3", "normals/mean_angle", "edge/odsF")
    st = dict(zip(keys, (78.24, 73.85, 85.33, 13.32, 79.9)))
    for row, printed in (((78.24, 73.16, 85.42, 13.34, 79.9), -0.196), ((77.33, 66.62, 85.14, 13.78, 73.2), -4.603)):
        assert round(delta_m(dict(zip(keys, row)), st), 3) == pytest.approx(printed)
    nyud_st = dict(zip(NYUD_KEYS, (50.48, 521.5, 17.26, 77.84)))
    assert round(delta_m(dict(zip(NYUD_KEYS, (50.46, 533.2, 18.42, 77.89))), nyud_st), 3) == pytest.approx(-2.235)


def test_directions_keys_and_errors():
    res = {"semseg/mIoU": 50.0, "depth/rmse": 0.5, "depth/delta1": 80.0}
    base = {"semseg/mIoU": 40.0, "depth/rmse": 0.6, "depth/delta1": 80.0}
    assert delta_m(res, base) == pytest.approx((25.0 + 100 / 6 + 0.0) / 3)
    assert delta_m(res, base, headline_only=True) == pytest.approx((25.0 + 100 / 6) / 2)
    assert delta_m(res, base, keys=["semseg/mIoU"]) == pytest.approx(25.0)
    assert delta_m(res, base, higher_is_better={"depth/rmse": True}, keys=["depth/rmse"]) == pytest.approx(-100 / 6)
    with pytest.raises(KeyError, match="missing from results"):
        delta_m({}, base)
    with pytest.raises(KeyError, match="no direction"):
        delta_m({"x/score": 1.0}, {"x/score": 2.0})
    # Every key any metric can return has a direction.
    every = MultiTaskMetrics.from_tasks(
        ["semseg", "depth", "normals", "sal", "edge"], dataset="pascal"
    ).higher_is_better
    for key, hib in every.items():
        assert METRIC_HIGHER_IS_BETTER[key.split("/", 1)[1]] == hib

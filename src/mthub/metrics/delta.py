"""Multi-task performance Δm (Maninis et al. 2019, "Attentive single-tasking"; Vandenhende et al. 2021).

    Δm = (1/T) · Σ_i (−1)^{l_i} · (M_i − M_b,i) / M_b,i · 100

over the T compared metrics, with l_i = 1 when lower is better (RMSE, mErr, …) and 0 otherwise; M_b is
the baseline (single-task model, or an ablation baseline). TIF §4.2 writes the same sum with the sign as
(−1)^{w_i}; EfficientMTL's spec §6 uses the single-task models as baseline. The usual convention is **one
headline metric per task** (``HEADLINE_METRICS``): pass only those keys, or use ``headline_only=True``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .depth import DepthMetric
from .edge import EdgeMetric
from .normals import NormalsMetric
from .segmentation import PerImageMeanIoU, SegmentationMetric

__all__ = ["HEADLINE_METRICS", "METRIC_HIGHER_IS_BETTER", "delta_m", "higher_is_better_for"]

#: Direction of every metric this package reports, keyed by metric name (the part after ``task/``): gathered
#: from each metric class's ``higher_is_better_by_key`` so that the direction is written in one place only.
METRIC_HIGHER_IS_BETTER: dict[str, bool] = {
    **SegmentationMetric.higher_is_better_by_key,
    **PerImageMeanIoU.higher_is_better_by_key,
    **DepthMetric.higher_is_better_by_key,
    **NormalsMetric.higher_is_better_by_key,
    **EdgeMetric.higher_is_better_by_key,
    "maxF_beta0.3": True,  # SaliencyMetric keys (set per instance: the ATRC key carries its beta)
    "maxF1": True,
    "max_mIoU": True,
    # names the papers print, accepted for convenience when typing table rows
    "mErr": False,
    "maxF": True,
}

#: The metric each paper table reports per task (TIF Tables 3–9, EfficientMTL Tables 1–4, ATRC).
HEADLINE_METRICS: dict[str, str] = {
    "semseg": "mIoU",
    "human_parts": "mIoU",
    "sal": "maxF_beta0.3",
    "normals": "mean_angle",
    "depth": "rmse",
    "edge": "odsF",
}


def higher_is_better_for(key: str, overrides: Mapping[str, bool] | None = None) -> bool:
    """Direction of ``key`` (``"task/name"`` or ``"name"``): ``overrides`` by full key, then by name."""
    overrides = overrides or {}
    name = key.rsplit("/", 1)[-1]
    for k in (key, name):
        if k in overrides:
            return bool(overrides[k])
    if name in METRIC_HIGHER_IS_BETTER:
        return METRIC_HIGHER_IS_BETTER[name]
    raise KeyError(f"delta_m: no direction known for metric {key!r}; pass it in higher_is_better")


def delta_m(
    results: Mapping[str, float],
    baseline: Mapping[str, float],
    higher_is_better: Mapping[str, bool] | None = None,
    keys: Iterable[str] | None = None,
    headline_only: bool = False,
) -> float:
    """Δm in percent of ``results`` relative to ``baseline``.

    Args:
        results: metric values of the evaluated model, e.g. ``{"semseg/mIoU": 47.42, "depth/rmse": 0.5677}``.
        baseline: baseline values; its keys are the compared metrics unless ``keys`` is given.
        higher_is_better: direction per key or per metric name; defaults to ``METRIC_HIGHER_IS_BETTER``.
        keys: restrict the average to these keys.
        headline_only: keep only ``"task/name"`` keys where ``name == HEADLINE_METRICS[task]``.

    Raises:
        KeyError: a compared key is missing from ``results`` or has no known direction.
        ValueError: nothing to compare, or a baseline value is 0.
    """
    chosen = list(keys) if keys is not None else list(baseline)
    if headline_only:
        chosen = [k for k in chosen if "/" in k and HEADLINE_METRICS.get(k.split("/", 1)[0]) == k.split("/", 1)[1]]
    if not chosen:
        raise ValueError("delta_m: no metrics to compare")
    total = 0.0
    for key in chosen:
        if key not in results:
            raise KeyError(f"delta_m: {key!r} is in the baseline but missing from results")
        if key not in baseline:
            raise KeyError(f"delta_m: {key!r} is missing from the baseline")
        base = float(baseline[key])
        if base == 0:
            raise ValueError(f"delta_m: baseline value of {key!r} is 0")
        sign = 1.0 if higher_is_better_for(key, higher_is_better) else -1.0
        total += sign * (float(results[key]) - base) / base
    return 100.0 * total / len(chosen)

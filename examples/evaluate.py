#!/usr/bin/env python
"""Score a dense multi-task model on held-out synthetic-scene clips, next to the trivial baseline.

    python examples/evaluate.py --model outputs/quickstart/checkpoint --data-dir outputs/quickstart/data
    python examples/evaluate.py --model mthub/quickstart-tif --data-dir outputs/scenes   # from a Hub (HF_ENDPOINT)

The model may be a local folder or a Hub id (``import mthub`` registers the model types before
``AutoModel.from_pretrained``). Frames go through the model's saved image processor. Metrics are mthub's streaming
dense metrics pooled over every valid pixel of the split (:class:`mthub.metrics.MultiTaskMetrics`): mIoU over all
classes, depth RMSE / abs-rel / δ, normal angle errors. The baseline (majority class, mean depth, mean normal) is
fitted on ``--baseline-split`` and scored by the same code.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="local checkpoint folder or Hub id")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--baseline-split", default="train", help="split the trivial baseline is fitted on")
    parser.add_argument("--min-gain", type=float, default=None, help="exit 1 unless every task gains this much")
    parser.add_argument("--json", default=None, help="write all metrics to this file")
    args = parser.parse_args(argv)

    from transformers import AutoImageProcessor, AutoModel

    import mthub  # noqa: F401 - registers mthub models with transformers
    from mthub.data.synthetic import CLASS_NAMES
    from mthub.quickstart.data import load_split, pixel_values
    from mthub.quickstart.evaluation import (
        baseline_predictor,
        compare_to_baseline,
        evaluate_predictor,
        fit_trivial_baseline,
        model_predictor,
    )
    from mthub.quickstart.report import comparison_table

    model = AutoModel.from_pretrained(args.model).eval()
    processor = AutoImageProcessor.from_pretrained(args.model)
    semseg = model.config.task("semseg")
    if semseg.num_outputs != len(CLASS_NAMES):
        parser.error(f"{args.model}: semseg has {semseg.num_outputs} classes, the synthetic scenes have {len(CLASS_NAMES)}")
    cache_dir = Path(args.data_dir) / ".cache"
    split = load_split(args.data_dir, args.split, cache_dir)
    baseline = fit_trivial_baseline(load_split(args.data_dir, args.baseline_split, cache_dir), len(CLASS_NAMES))
    model_metrics = evaluate_predictor(
        model_predictor(model, pixel_values(processor, split.images)), split, len(CLASS_NAMES)
    )
    base_metrics = evaluate_predictor(baseline_predictor(baseline, split), split, len(CLASS_NAMES))
    rows = compare_to_baseline(model_metrics, base_metrics, args.min_gain)
    print(f"{args.model} on {args.split} ({split.num_clips} clips, {len(split)} frames), baseline fitted on "
          f"{args.baseline_split}:")  # fmt: skip
    print(comparison_table(rows))
    print("\nall metrics (model | baseline):")
    for key, value in model_metrics.items():
        print(f"  {key:22s} {value:10.4f} | {base_metrics[key]:10.4f}")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"model": model_metrics, "baseline": base_metrics, "comparison": rows}, indent=2)
        )
    return 1 if any(row["passed"] is False for row in rows.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())

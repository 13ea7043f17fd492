"""``mthub quickstart`` / ``python -m mthub.quickstart.run``: the whole mthub workflow on this machine, offline.

1. generate a procedural multi-task scene-video dataset (and one new video for the pipeline);
2. read it through its ``datasets`` builder;
3. fit the trivial baseline on the training split and score it on held-out clips;
4. train a small TIF on semantic segmentation, depth and normals, frame by frame, on the CPU (progress bar);
5. score the model on the same held-out clips; print both next to each other;
6. start the local Hub server and push the model, its image processor and its card from a fresh process;
7. reload it with ``AutoModel.from_pretrained("mthub/quickstart-tif")`` in another fresh process, check its outputs
   equal the trained model's, and run ``pipeline("multi-task-dense-prediction")`` on the new video there;
8. write PNG panels (frame | predicted depth | predicted segmentation | … | ground truth) and ``metrics.json``.

Exit status 1 when the model does not beat the baseline by ``min_relative_gain`` on every task (full run) or when
the reloaded model's outputs differ. ``--toy`` runs the same flow in seconds (tiny data, 4 steps, no threshold).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .settings import (
    FULL,
    QUICKSTART_REPO_ID,
    TOY,
    QuickstartSettings,
    available_cores,
    choose_threads,
)

__all__ = ["build_parser", "main", "run_quickstart"]

#: Outputs of the reloaded model may differ from the trained model's by float rounding at most.
RELOAD_TOLERANCE = 1e-5
_STEPS = 8


def _clean(out_dir: Path) -> None:
    """Remove what an earlier run left in the folders this run writes (never anything else in ``out_dir``)."""
    for name in ("checkpoint", "trainer", "hub", "clients", "panels", "new_video"):
        shutil.rmtree(out_dir / name, ignore_errors=True)
    (out_dir / "metrics.json").unlink(missing_ok=True)


def run_quickstart(out_dir: str | Path, settings: QuickstartSettings = FULL, threads: int | None = None) -> dict[str, Any]:
    """Run the eight steps (module docstring) into ``out_dir``; returns the report written to ``metrics.json``.

    ``report["passed"]`` is False when a check failed (the caller decides the exit status).
    """
    import mthub

    from ..data.synthetic import CLASS_NAMES, CLASS_PALETTE
    from ..models.tif import TIFImageProcessor
    from .data import (
        FramesForTraining,
        generate_new_video,
        generate_quickstart_dataset,
        load_split,
        pixel_values,
    )
    from .evaluation import (
        baseline_predictor,
        compare_outputs,
        compare_to_baseline,
        evaluate_predictor,
        fit_trivial_baseline,
        model_predictor,
        score_clip,
    )
    from .hub import run_hub_client, start_local_hub
    from .panels import write_panels
    from .report import StepTimer, card_section, comparison_table
    from .settings import quickstart_config
    from .training import build_model, train_model

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    _clean(out_dir)
    threads, why = choose_threads(threads)
    torch.set_num_threads(threads)
    num_classes = len(CLASS_NAMES)
    timer = StepTimer(_STEPS)
    report: dict[str, Any] = {
        "mthub_version": mthub.__version__,
        "settings": settings.to_dict(),
        "machine": {
            "cores": available_cores(),
            "torch_threads": threads,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "platform": platform.platform(),
        },
    }
    report["machine"]["threads_reason"] = why
    print(f"mthub quickstart → {out_dir} ({threads} torch thread{'s' * (threads > 1)}: {why})")

    with timer.step("generate", f"Generating {settings.num_clips} scene clips × {settings.num_frames} frames at "
                    f"{settings.image_size}² (+ one new video)"):  # fmt: skip
        data_dir = out_dir / "data"
        meta = generate_quickstart_dataset(data_dir, settings)
        video_path, video_clip = generate_new_video(out_dir / "new_video", settings)
        print(f"    dataset {data_dir} (splits {meta.source['splits']}), new video {video_path}")

    with timer.step("load", "Reading the splits through the `synthetic_scenes` datasets builder"):
        train = load_split(data_dir, "train", out_dir / "cache")
        test = load_split(data_dir, "test", out_dir / "cache")
        config = quickstart_config(settings)
        processor = TIFImageProcessor(size={"height": settings.image_size, "width": settings.image_size})
        train_pixels, test_pixels = pixel_values(processor, train.images), pixel_values(processor, test.images)
        report["dataset"] = {
            "root": str(data_dir),
            "train_clips": train.num_clips,
            "train_frames": len(train),
            "test_clips": test.num_clips,
            "test_frames": len(test),
            "class_names": list(CLASS_NAMES),
        }
        print(f"    train: {train.num_clips} clips / {len(train)} frames; held out: {test.num_clips} clips / {len(test)} frames")

    with timer.step("baseline", "Trivial baseline (train-split majority class, mean depth, mean normal) on held-out clips"):
        baseline = fit_trivial_baseline(train, num_classes)
        baseline_metrics = evaluate_predictor(baseline_predictor(baseline, test), test, num_classes)
        report["baseline"] = {"definition": baseline.to_dict(list(CLASS_NAMES)), "metrics": baseline_metrics}
        print(f"    majority class {CLASS_NAMES[baseline.majority_class]!r}, mean depth {baseline.mean_depth:.3f} m, "
              f"mean normal ({', '.join(f'{v:.3f}' for v in baseline.mean_normal)})")  # fmt: skip

    with timer.step("train", f"Training TIF ({settings.max_steps} steps × {settings.batch_size} frames) on semseg, "
                    "depth and normals"):  # fmt: skip
        model = build_model(config, baseline.mean_depth, settings.seed)
        params = sum(p.numel() for p in model.parameters())
        print(f"    TIF (tiny Swin backbone, D={settings.decoder_dim}): {params:,} parameters")
        trainer, history = train_model(model, FramesForTraining(train, train_pixels), settings, out_dir / "trainer")
        checkpoint = out_dir / "checkpoint"
        model.save_pretrained(checkpoint)
        processor.save_pretrained(checkpoint)
        report["training"] = {
            "steps": trainer.state.global_step,
            "epochs": trainer.state.epoch,
            "parameters": params,
            "checkpoint": str(checkpoint),
            "log": history.entries,
        }

    with timer.step("evaluate", "Evaluating on held-out clips"):
        model_metrics = evaluate_predictor(model_predictor(model, test_pixels), test, num_classes)
        rows = compare_to_baseline(model_metrics, baseline_metrics, settings.min_relative_gain)
        report["model_metrics"] = model_metrics
        report["comparison"] = rows
        print(comparison_table(rows))

    hub = start_local_hub(out_dir / "hub")
    try:
        with timer.step("push", f"Local Hub server at {hub.url}: pushing {QUICKSTART_REPO_ID} from a fresh process"):
            section = out_dir / "clients" / "card_section.md"
            section.parent.mkdir(parents=True, exist_ok=True)
            section.write_text(card_section(rows, settings.to_dict(), report["dataset"], params))
            push = run_hub_client(
                "push",
                {"checkpoint": checkpoint, "repo": QUICKSTART_REPO_ID, "card_section": section},
                hub,
                out_dir / "clients",
                threads,
            )

        with timer.step("pull", f'AutoModel.from_pretrained("{QUICKSTART_REPO_ID}") and pipeline() in a fresh process'):
            inputs = test_pixels[: settings.reload_frames].contiguous()
            np.save(out_dir / "clients" / "inputs.npy", inputs.numpy())
            with torch.no_grad():
                expected = model(pixel_values=inputs).logits
            pull = run_hub_client(
                "pull",
                {
                    "repo": QUICKSTART_REPO_ID,
                    "inputs": out_dir / "clients" / "inputs.npy",
                    "outputs": out_dir / "clients" / "reloaded_outputs.npz",
                    "video": video_path,
                    "predictions": out_dir / "clients" / "pipeline_predictions.npz",
                    "threads": threads,
                },
                hub,
                out_dir / "clients",
                threads,
            )
            reload = compare_outputs(expected, np.load(out_dir / "clients" / "reloaded_outputs.npz"), RELOAD_TOLERANCE)
            verdict = "bit-identical" if reload["bitwise_equal"] else "equal within float rounding" if reload["passed"] else "MISMATCH"
            print(f"    reloaded outputs vs trained model on {inputs.shape[0]} held-out frames: max |Δ| "
                  f"{max(reload['max_abs_difference'].values()):.3g} ({verdict})")  # fmt: skip
            report["hub"] = {"url": hub.url, "storage": str(hub.root), "push": push, "pull": pull}
            report["reload"] = {"frames": int(inputs.shape[0]), **reload}
    finally:
        hub.stop()

    with timer.step("panels", "Panels of the pipeline's predictions on the new video, metrics JSON"):
        predictions = np.load(out_dir / "clients" / "pipeline_predictions.npz")
        predicted = {task: predictions[task] for task in ("depth", "semseg", "normals")}
        truth = {
            "depth": video_clip.depth,
            "semseg": video_clip.segmentation,
            "normals": video_clip.normals.astype(np.float32),
        }
        panels = write_panels(out_dir / "panels", video_clip.rgb, predicted, truth, CLASS_NAMES, CLASS_PALETTE)
        report["pipeline"] = {
            "video": str(video_path),
            "frames": int(predictions["depth"].shape[0]),
            "panels": [str(p) for p in panels],
            "metrics": score_clip(predicted, video_clip, num_classes),
        }
        print(f"    {len(panels)} panels in {out_dir / 'panels'}")

    thresholds_ok = all(row["passed"] is not False for row in rows.values())
    report["passed"] = bool(thresholds_ok and report["reload"]["passed"])
    report["timings"] = {**timer.steps, "total": timer.totals()}
    (out_dir / "metrics.json").write_text(json.dumps(report, indent=2, default=str))
    print("\nTimings (this run):\n" + timer.table())
    print("\nHeld-out clips, trivial baseline vs TIF (this run):\n" + comparison_table(rows))
    print(f"\nmetrics: {out_dir / 'metrics.json'}\npanels:  {out_dir / 'panels'}\n")
    if not report["reload"]["passed"]:
        print("FAILED: the model reloaded from the Hub gives different outputs.", file=sys.stderr)
    if not thresholds_ok:
        failed = [t for t, row in rows.items() if row["passed"] is False]
        print(f"FAILED: TIF does not beat the trivial baseline by {100 * settings.min_relative_gain:.0f}% on "
              f"{', '.join(failed)}.", file=sys.stderr)  # fmt: skip
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mthub quickstart", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="outputs/quickstart", help="output folder (default: outputs/quickstart)")
    parser.add_argument("--toy", action="store_true", help="tiny data and 4 steps (seconds; no baseline threshold)")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: the available cores not busy elsewhere)"
    )
    parser.add_argument("--steps", type=int, default=None, help="override the number of training steps")
    parser.add_argument("--clips", type=int, default=None, help="override the number of generated clips")
    parser.add_argument(
        "--min-gain",
        type=float,
        default=None,
        help="required relative gain over the trivial baseline on every task (full run: 0.10; --toy: none)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = TOY if args.toy else FULL
    if args.steps is not None:
        settings = settings.replace(max_steps=args.steps)
    if args.clips is not None:
        settings = settings.replace(num_clips=args.clips)
    if args.min_gain is not None:
        settings = settings.replace(min_relative_gain=args.min_gain)
    report = run_quickstart(args.out, settings, threads=args.threads)
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())

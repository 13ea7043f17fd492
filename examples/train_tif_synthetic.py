#!/usr/bin/env python
"""Train TIF on a synthetic-scene dataset with :class:`mthub.training.MultiTaskTrainer` (a ``transformers.Trainer``).

The model and recipe of the quickstart (``mthub.quickstart``): TIF on the tiny Swin backbone for semantic
segmentation, depth and normals, trained frame by frame; at the end the main process scores it on held-out clips
next to the trivial baseline and saves model + image processor (a folder ``AutoModel.from_pretrained`` reads).

One process (CPU, or one GPU)::

    python examples/generate_synthetic.py --out outputs/scenes --clips 256 --frames 8 --size 96 --splits train=0.8,test=0.2
    python examples/train_tif_synthetic.py --data-dir outputs/scenes --output-dir outputs/tif-synthetic

Two CPU processes (gloo; ``--batch-size`` is the total over processes, so the update equals one process's)::

    ACCELERATE_USE_CPU=true accelerate launch --multi_gpu --num_processes 2 \\
        examples/train_tif_synthetic.py --data-dir outputs/scenes --output-dir outputs/tif-synthetic-ddp

(``accelerate launch --cpu --num_processes 2`` starts ONE process on this stack, hence ``--multi_gpu`` with
``ACCELERATE_USE_CPU=true``; ``torchrun --nproc_per_node 2 examples/train_tif_synthetic.py …`` works too.) Several
GPUs: ``accelerate launch --multi_gpu --num_processes N examples/train_tif_synthetic.py …``. The script checks that
the Trainer really sees every launched process (a misconfigured launch silently trains N unconnected copies).
BatchNorm statistics stay per process on CPU (PyTorch has no CPU SyncBatchNorm); the saved model is rank 0's.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", required=True, help="a dataset in the mthub synthetic-scene format")
    parser.add_argument("--output-dir", default="outputs/tif-synthetic")
    parser.add_argument("--train-split", default="train")
    parser.add_argument("--eval-split", default="test", help="held-out split scored at the end ('' to skip)")
    parser.add_argument("--max-steps", type=int, default=800)
    parser.add_argument("--batch-size", type=int, default=16, help="total over all processes")
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--decoder-dim", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch threads per process (default: cores / processes)")
    args = parser.parse_args(argv)

    import torch

    from mthub.data.synthetic import CLASS_NAMES, read_meta
    from mthub.models.tif import TIFImageProcessor
    from mthub.quickstart import FULL, available_cores, quickstart_config
    from mthub.quickstart.data import FramesForTraining, load_split, pixel_values
    from mthub.quickstart.evaluation import (
        baseline_predictor,
        compare_to_baseline,
        evaluate_predictor,
        fit_trivial_baseline,
        model_predictor,
    )
    from mthub.quickstart.report import comparison_table
    from mthub.quickstart.training import LossHistory, build_model
    from mthub.training import MultiTaskTrainer, MultiTaskTrainingArguments

    launched = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_WORLD_SIZE", str(launched)))
    torch.set_num_threads(args.threads or max(1, available_cores() // local))
    if args.batch_size % launched:
        parser.error(f"--batch-size {args.batch_size} cannot be split evenly over {launched} processes")

    meta = read_meta(args.data_dir)
    if meta.height is None or meta.height != meta.width:
        parser.error(f"{args.data_dir}: frames must be square and of one size (meta.json: {meta.height}×{meta.width})")
    settings = FULL.replace(
        image_size=meta.height,
        decoder_dim=args.decoder_dim,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
    )
    config = quickstart_config(settings)
    training = config.training_arguments(num_processes=launched)  # per-device batch = total / processes
    training_args = MultiTaskTrainingArguments(
        output_dir=args.output_dir,
        **training,
        logging_steps=max(1, args.max_steps // 10),
        save_strategy="no",
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        seed=args.seed,
        data_seed=args.seed,
    )
    if training_args.world_size != launched:
        raise SystemExit(
            f"launched {launched} processes but the Trainer sees a world of {training_args.world_size}: on a CPU host "
            "use `ACCELERATE_USE_CPU=true accelerate launch --multi_gpu --num_processes N` or torchrun"
        )

    processor = TIFImageProcessor(size={"height": meta.height, "width": meta.width})
    cache_dir = Path(args.data_dir) / ".cache"
    with training_args.main_process_first(desc="prepare the dataset"):
        train = load_split(args.data_dir, args.train_split, cache_dir)
    baseline = fit_trivial_baseline(train, len(CLASS_NAMES))
    model = build_model(config, baseline.mean_depth, args.seed)
    history = LossHistory()
    trainer = MultiTaskTrainer(
        model=model,
        args=training_args,
        train_dataset=FramesForTraining(train, pixel_values(processor, train.images)),
        callbacks=[history],
    )
    trainer.train()

    if trainer.is_world_process_zero():
        final = Path(args.output_dir) / "final"
        model = trainer.model.eval()  # the unwrapped model (not the DDP wrapper)
        model.save_pretrained(final)
        processor.save_pretrained(final)
        summary = {"world_size": training_args.world_size, "steps": trainer.state.global_step, "log": history.entries}
        if args.eval_split:
            held_out = load_split(args.data_dir, args.eval_split, cache_dir)
            pixels = pixel_values(processor, held_out.images)
            model_metrics = evaluate_predictor(model_predictor(model.cpu(), pixels), held_out, len(CLASS_NAMES))
            base_metrics = evaluate_predictor(baseline_predictor(baseline, held_out), held_out, len(CLASS_NAMES))
            rows = compare_to_baseline(model_metrics, base_metrics, None)
            print(f"\n{args.eval_split} split ({held_out.num_clips} clips, {len(held_out)} frames):")
            print(comparison_table(rows))
            summary.update(model_metrics=model_metrics, baseline_metrics=base_metrics)
        (Path(args.output_dir) / "train_summary.json").write_text(json.dumps(summary, indent=2))
        print(f"saved {final} ({training_args.world_size} process(es), {trainer.state.global_step} steps)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

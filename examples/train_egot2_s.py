"""Stage II of EgoT2-s (paper Sec. 3.1): train a task translator on cached TS features with mthub's
MultiTaskTrainer (the TS models stay frozen; their features were computed once by
``python -m mthub.models.egot2.features_egot2``).

    PYTHONPATH=src python examples/train_egot2_s.py --preset egot2-s-ttm --train-features feats/ttm-train \
        --eval-features feats/ttm-val --output-dir runs/egot2-s-ttm
    # smoke run on a learnable synthetic fixture, tiny widths:
    PYTHONPATH=src python examples/train_egot2_s.py --preset egot2-s-oscc --tiny --synthetic 64 --max-steps 40 --output-dir /tmp/egot2s
    # two CPU ranks (gloo):
    ACCELERATE_USE_CPU=true accelerate launch --multi_gpu --num_processes 2 examples/train_egot2_s.py ... --expect-world-size 2

Optimiser defaults per primary task follow the official configs (spec §6): PNR/OSCC AdamW 1e-4 (wd 1e-4; OSCC
cosine), AR 1e-4 cosine with 1000 warm-up steps, LTA 1e-4 (wd 1e-4) cosine with warm-up, TTM Adam 5e-4 (wd 0),
ASD 1e-4 with ×0.95 decay per step. AR's SGD-Nesterov and LTA's L2-coupled Adam are approximated by AdamW here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import torch

import mthub
from mthub.models.egot2 import EgoT2Model, tiny_egot2_config
from mthub.models.egot2.features_egot2 import EgoT2FeatureDataset, write_synthetic_features
from mthub.training import MultiTaskTrainer, VideoCollator
from mthub.training.cli import script_training_arguments

#: (learning rate, weight decay, scheduler, warm-up steps) per primary task [C].
SCHEDULES = {
    "pnr": (1e-4, 1e-4, "constant", 0),
    "oscc": (1e-4, 1e-4, "cosine", 0),
    "ar": (1e-4, 1e-4, "cosine", 1000),
    "lta": (1e-4, 1e-4, "cosine", 1000),
    "ttm": (5e-4, 0.0, "constant", 0),
    "asd": (1e-4, 0.0, "constant", 0),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="egot2-s-ttm", help="an EgoT2-s preset (mthub.list_presets('mthub_egot2'))")
    parser.add_argument("--tiny", action="store_true", help="the preset's layout at toy widths (tests, smoke runs)")
    parser.add_argument("--train-features", default=None, help="feature folder (index.json + shards)")
    parser.add_argument("--eval-features", default=None)
    parser.add_argument("--synthetic", type=int, default=0, help="train on N samples of the learnable synthetic fixture")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--max-steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=None, help="default: the official value (SCHEDULES)")
    parser.add_argument("--weight-decay", type=float, default=None)
    parser.add_argument("--scheduler", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--logging-steps", type=int, default=10)
    parser.add_argument("--save-steps", type=int, default=0)
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--expect-world-size", type=int, default=None, help="fail unless running on this many ranks")
    return parser.parse_args(argv)


def build_config(opts: argparse.Namespace):
    if opts.tiny:
        return tiny_egot2_config(opts.preset)
    return mthub.preset_config(opts.preset, use_ts_models=False)  # features are cached: no TS models needed


def main(argv: list[str] | None = None) -> MultiTaskTrainer:
    opts = parse_args(argv)
    config = build_config(opts)
    if config.variant != "s":
        raise SystemExit(f"{opts.preset} is an EgoT2-g preset: use examples/train_egot2_g.py")
    lr, wd, scheduler, warmup = SCHEDULES[config.primary_task]
    args = script_training_arguments(
        opts,
        per_device_eval_batch_size=opts.batch_size,
        learning_rate=opts.learning_rate if opts.learning_rate is not None else lr,
        weight_decay=opts.weight_decay if opts.weight_decay is not None else wd,
        lr_scheduler_type=opts.scheduler or scheduler,
        warmup_steps=0 if opts.tiny else warmup,
    )
    if opts.synthetic:
        root = Path(tempfile.mkdtemp(prefix="egot2s-synthetic-"))
        train_dir = write_synthetic_features(config, root / "train", opts.synthetic, seed=opts.seed)
        eval_dir = write_synthetic_features(config, root / "eval", max(opts.synthetic // 4, 4), seed=opts.seed + 1)
    else:
        if not opts.train_features:
            raise SystemExit("give --train-features (a folder from mthub.models.egot2.features_egot2) or --synthetic N")
        train_dir, eval_dir = opts.train_features, opts.eval_features
    train = EgoT2FeatureDataset(train_dir, tasks=config.task_names)
    evaluation = EgoT2FeatureDataset(eval_dir, tasks=config.task_names) if eval_dir else None

    torch.manual_seed(opts.seed)
    model = EgoT2Model(config)
    trainer = MultiTaskTrainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=evaluation,
        data_collator=VideoCollator.for_model(model, input_keys=[f"{n}_features" for n in config.stream_names]),
    )
    trainer.train()
    if evaluation is not None:
        metrics = trainer.evaluate()
        if trainer.is_world_process_zero():
            print(json.dumps(metrics, indent=1))
    if trainer.is_world_process_zero():
        trainer.save_model(os.path.join(opts.output_dir, "final"))
    return trainer


if __name__ == "__main__":
    main(sys.argv[1:])

"""Stage II of EgoT2-g (paper Sec. 3.2): one translator for all tasks of a cluster, trained on cached TS features
with one batch per task per step and the task losses summed (L = Σ_k L_k), through mthub's MultiTaskTrainer
(``task_sampling="per_task"``: each task's dataset is a source; the model decodes the prompt of the task a
batch is labelled for).

    PYTHONPATH=src python examples/train_egot2_g.py --preset egot2-g-hhi \
        --train-features lam=feats/lam-train ttm=feats/ttm-train asd=feats/asd-train --output-dir runs/egot2-g-hhi
    PYTHONPATH=src python examples/train_egot2_g.py --preset egot2-g-hhi --tiny --synthetic 48 --max-steps 40 --output-dir /tmp/g
    ACCELERATE_USE_CPU=true accelerate launch --multi_gpu --num_processes 2 examples/train_egot2_g.py ... --expect-world-size 2

Paper settings (A.2.2): HOI AdamW 1e-4 (wd 1e-4), batches of 4 per task and GPU (OSCC 8), epochs by the longest
loader (``max_size_cycle``); HHI Adam 5e-4 (wd 5e-5), frame-budget batches LAM 256 / TTM 15 / ASD 1800, epochs by
the shortest loader (``min_size``). The Trainer uses one batch size for every source; the HOI vocabulary (verbs and
nouns) needs ``--taxonomy fho_lta_taxonomy.json``.
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
from mthub.models.egot2 import EgoT2Model, EgoT2Processor, EgoT2Tokenizer, tiny_egot2_config
from mthub.models.egot2.features_egot2 import EgoT2FeatureDataset, write_synthetic_features
from mthub.training import MultiTaskTrainer, VideoCollator
from mthub.training.cli import script_training_arguments


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="egot2-g-hhi")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--taxonomy", default=None, help="fho_lta_taxonomy.json (HOI vocabulary)")
    parser.add_argument("--train-features", nargs="*", default=(), help="task=folder pairs, one per task")
    parser.add_argument("--synthetic", type=int, default=0, help="N synthetic samples per task")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--max-steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=8, help="per task (source) and device")
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--weight-decay", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--logging-steps", type=int, default=10)
    parser.add_argument("--expect-world-size", type=int, default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> MultiTaskTrainer:
    opts = parse_args(argv)
    tokenizer = EgoT2Tokenizer.from_taxonomy(opts.taxonomy) if opts.taxonomy else None
    if opts.tiny:
        config = tiny_egot2_config(opts.preset)
        if tokenizer is None and "action_verb" in config.task_order:
            from mthub.models.egot2.tiny_egot2 import TINY_TAXONOMY

            tokenizer = EgoT2Tokenizer.from_taxonomy(TINY_TAXONOMY)
    else:
        overrides = {"use_ts_models": False, **(tokenizer.config_kwargs() if tokenizer else {})}
        config = mthub.preset_config(opts.preset, **overrides)
    if config.variant != "g":
        raise SystemExit(f"{opts.preset} is an EgoT2-s preset: use examples/train_egot2_s.py")
    hhi = set(config.task_order) <= {"lam", "ttm", "asd"}
    lr, wd = (5e-4, 5e-5) if hhi else (1e-4, 1e-4)
    args = script_training_arguments(
        opts,
        learning_rate=opts.learning_rate if opts.learning_rate is not None else lr,
        weight_decay=opts.weight_decay if opts.weight_decay is not None else wd,
        lr_scheduler_type="constant",
        task_sampling="per_task",
        epoch_semantics="min_size" if hhi else "max_size_cycle",
    )
    if opts.synthetic:
        root = Path(tempfile.mkdtemp(prefix="egot2g-synthetic-"))
        folders = {task: write_synthetic_features(config, root / task, opts.synthetic, seed=opts.seed + i, tasks=[task])
                   for i, task in enumerate(config.task_order)}
    else:
        folders = dict(pair.split("=", 1) for pair in opts.train_features)
        missing = sorted(set(config.task_order) - set(folders))
        if missing:
            raise SystemExit(f"no --train-features for tasks {missing} (give task=folder for every task of {config.task_order})")
    # one source per task; each keeps only its task's labels, so the model decodes that task's prompt
    sources = {task: EgoT2FeatureDataset(folders[task], tasks=[task], streams=config.prompt(task)["streams"]) for task in config.task_order}

    torch.manual_seed(opts.seed)
    model = EgoT2Model(config)
    trainer = MultiTaskTrainer(model=model, args=args, train_dataset=sources, data_collator=VideoCollator.for_model(model))
    trainer.train()
    if trainer.is_world_process_zero():
        final = os.path.join(opts.output_dir, "final")
        trainer.save_model(final)
        EgoT2Processor.from_config(config, tokenizer=tokenizer).save_pretrained(final)
        print(json.dumps(trainer.state.log_history[-1], indent=1))
    return trainer


if __name__ == "__main__":
    main(sys.argv[1:])

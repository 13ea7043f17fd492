#!/usr/bin/env python
"""Train mthub's tiny multi-task video model with :class:`mthub.training.MultiTaskTrainer`.

The data is a procedural "moving squares" video set that a tiny model can learn in seconds: each clip (3 or 4
frames, so batches need padding and a frame mask) shows a square moving right/left/up/down or standing still —
the ``action`` label — and a static "hand" patch; ``segmentation`` labels every pixel of every frame as
background / object / hand.

The same script runs unchanged

* on one process (CPU or one GPU):   ``python examples/train_multitask.py --output-dir out``
* on two CPU ranks (gloo):            ``ACCELERATE_USE_CPU=true accelerate launch --multi_gpu --num_processes 2
  examples/train_multitask.py --output-dir out``
* on several GPUs:                    ``accelerate launch --multi_gpu --num_processes N examples/train_multitask.py``

Data layouts (``--sampling``):

* ``single``   one dataset labelled for both tasks (``--drop-segmentation B:M`` removes the segmentation labels of
  samples ``i`` with ``(i // B) % M == 0``, i.e. whole batches without one task's labels);
* ``per_task`` ``{"action": ..., "segmentation": ...}``, each source labelled for one task, one batch of each per
  step, losses summed;
* ``mixed``    ``{"real": both tasks, "synthetic": segmentation only}`` mixed ``--mixing-ratios`` (default 3:1) by
  sample count inside every batch.

``--record-dir`` writes, per rank, the sample indices it read and its final weights (used by the tests).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import Dataset, Subset
from transformers import AutoModel, TrainerCallback

import mthub
from mthub.training import MetricsByTask, MultiTaskTrainer, VideoCollator
from mthub.training.cli import script_training_arguments

DIRECTIONS = {0: (0, 1), 1: (0, -1), 2: (-1, 0), 3: (1, 0), 4: (0, 0)}  # action id → (dy, dx) per frame


class MovingSquares(Dataset):
    """Procedural clips ``(T, 3, S, S)`` with ``action`` (int) and per-frame ``segmentation`` ``(T, S, S)`` labels.

    Sample ``i`` is a pure function of ``(seed, i)``. ``tasks`` selects the labels the dataset provides;
    ``drop_segmentation=(B, M)`` removes the segmentation labels of samples with ``(i // B) % M == 0``.
    ``reads`` lists the indices read so far (the order a rank consumed its shard in).
    """

    def __init__(
        self,
        size: int,
        seed: int = 0,
        num_frames: int = 4,
        min_frames: int = 3,
        image_size: int = 32,
        tasks: tuple[str, ...] = ("action", "segmentation"),
        drop_segmentation: tuple[int, int] | None = None,
    ) -> None:
        self.size, self.seed, self.num_frames, self.min_frames = size, seed, num_frames, min_frames
        self.image_size, self.tasks, self.drop_segmentation = image_size, tasks, drop_segmentation
        self.reads: list[int] = []

    def __len__(self) -> int:
        return self.size

    def has_segmentation(self, index: int) -> bool:
        if "segmentation" not in self.tasks:
            return False
        if self.drop_segmentation is None:
            return True
        block, period = self.drop_segmentation
        return (index // block) % period != 0

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < self.size:
            raise IndexError(index)
        self.reads.append(int(index))
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        s, square, step = self.image_size, self.image_size // 4, self.image_size // 10
        frames = int(torch.randint(self.min_frames, self.num_frames + 1, (1,), generator=g))
        action = int(torch.randint(0, 5, (1,), generator=g))
        dy, dx = DIRECTIONS[action]
        margin = square // 2 + step * (self.num_frames - 1)  # the square stays inside the frame
        y0, x0 = (int(v) for v in torch.randint(margin, s - margin + 1, (2,), generator=g))
        hy, hx = (int(v) for v in torch.randint(0, s - square // 2, (2,), generator=g))
        pixels = 0.1 * torch.randn(frames, 3, s, s, generator=g)
        labels = torch.zeros(frames, s, s, dtype=torch.long)
        for t in range(frames):
            y, x = y0 + dy * step * t - square // 2, x0 + dx * step * t - square // 2
            labels[t, hy : hy + square // 2, hx : hx + square // 2] = 2
            labels[t, y : y + square, x : x + square] = 1
        pixels[:, 0] += (labels == 1).float() * 1.5
        pixels[:, 2] -= (labels == 2).float() * 1.5
        out: dict = {"pixel_values": pixels, "labels": {}}
        if "action" in self.tasks:
            out["labels"]["action"] = action
        if self.has_segmentation(index):
            out["labels"]["segmentation"] = labels
        return out


def frame_major(preds: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frame logits ``(B, T, K, H, W)`` → ``(B, K, T, H, W)``: torchmetrics wants classes on axis 1."""
    return preds.transpose(1, 2), target


def build_metrics(config) -> MetricsByTask:
    from torchmetrics.classification import MulticlassAccuracy, MulticlassJaccardIndex

    return MetricsByTask(
        {
            "action": MulticlassAccuracy(len(config.action_labels), average="micro", ignore_index=-100),
            "segmentation": MulticlassJaccardIndex(len(config.segmentation_labels), ignore_index=255),
        },
        preprocess={"segmentation": frame_major},
        names={"action": "accuracy", "segmentation": "mIoU"},
    )


def build_train_dataset(opts: argparse.Namespace):
    drop = tuple(int(v) for v in opts.drop_segmentation.split(":")) if opts.drop_segmentation else None
    if opts.sampling == "single":
        dataset = MovingSquares(opts.train_samples, seed=opts.seed, drop_segmentation=drop)
        if opts.shard_only is not None:  # the samples one rank of a `--shard-only r/W` run would read, alone
            rank, world = (int(v) for v in opts.shard_only.split("/"))
            block = opts.batch_size
            dataset = Subset(dataset, [i for i in range(len(dataset)) if (i // block) % world == rank])
        return dataset
    if opts.sampling == "per_task":
        return {
            "action": MovingSquares(opts.train_samples, seed=opts.seed + 1, tasks=("action",)),
            "segmentation": MovingSquares(opts.train_samples // 2, seed=opts.seed + 2, tasks=("segmentation",)),
        }
    return {
        "real": MovingSquares(opts.train_samples, seed=opts.seed + 3),
        "synthetic": MovingSquares(opts.train_samples, seed=opts.seed + 4, tasks=("segmentation",)),
    }


class SleepCallback(TrainerCallback):
    """Slows every step down (``--sleep-per-step``): lets a test kill the run between two checkpoints."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def on_step_end(self, args, state, control, **kwargs):
        time.sleep(self.seconds)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--sampling", choices=("single", "per_task", "mixed"), default="per_task")
    parser.add_argument("--mixing-ratios", default='{"real": 3, "synthetic": 1}', help="JSON, for --sampling mixed")
    parser.add_argument("--epoch-semantics", choices=("max_size_cycle", "min_size"), default="max_size_cycle")
    parser.add_argument("--train-samples", type=int, default=64)
    parser.add_argument("--eval-samples", type=int, default=0)
    parser.add_argument(
        "--drop-segmentation", default=None, help="B:M — no segmentation labels where (i // B) %% M == 0"
    )
    parser.add_argument("--shard-only", default=None, help="r/W — train one process on the samples rank r of W reads")
    parser.add_argument("--max-steps", type=int, default=60)
    parser.add_argument(
        "--batch-size", type=int, default=4, help="per device (and per source with --sampling per_task)"
    )
    parser.add_argument("--grad-accum", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--layer-decay", type=float, default=1.0)
    parser.add_argument("--adam-epsilon", type=float, default=1e-8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sequential", action="store_true", help="no shuffling (train_sampling_strategy=sequential)")
    parser.add_argument("--freeze-batchnorm", action="store_true")
    parser.add_argument("--loss-normalization", choices=("global", "batch"), default="global")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--save-steps", type=int, default=0, help="checkpoint every N steps (0: no checkpoints)")
    parser.add_argument("--resume", action="store_true", help="resume from the last complete checkpoint")
    parser.add_argument("--logging-steps", type=int, default=5)
    parser.add_argument("--sleep-per-step", type=float, default=0.0)
    parser.add_argument("--expect-world-size", type=int, default=None, help="fail unless running on this many ranks")
    parser.add_argument("--record-dir", default=None, help="write per-rank reads and final weights here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> MultiTaskTrainer:
    opts = parse_args(argv)
    args = script_training_arguments(
        opts,
        per_device_eval_batch_size=8,
        gradient_accumulation_steps=opts.grad_accum,
        learning_rate=opts.learning_rate,
        lr_scheduler_type="constant",
        weight_decay=0.01,
        adam_epsilon=opts.adam_epsilon,
        layer_decay=opts.layer_decay,
        train_sampling_strategy="sequential" if opts.sequential else "random",
        task_sampling="mixed" if opts.sampling == "mixed" else "per_task",
        mixing_ratios=opts.mixing_ratios if opts.sampling == "mixed" else None,
        epoch_semantics=opts.epoch_semantics,
        loss_normalization=opts.loss_normalization,
        freeze_batchnorm=opts.freeze_batchnorm,
        activation_checkpointing=opts.gradient_checkpointing,
        # CPU-only hosts (and ACCELERATE_USE_CPU=true launches) train on CPU; bf16 autocast then needs use_cpu.
        use_cpu=not torch.cuda.is_available() or os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true"),
        # Every head stays in the graph even without labels (mthub adds 0·logits), so DDP can skip its search for
        # unused parameters — and a head left out of the graph would fail loudly instead of silently.
        ddp_find_unused_parameters=False,
    )

    config = mthub.preset_config("tiny-mt")
    torch.manual_seed(opts.seed)
    model = AutoModel.from_config(config)
    train_dataset = build_train_dataset(opts)
    eval_dataset = MovingSquares(opts.eval_samples, seed=opts.seed + 99) if opts.eval_samples else None
    trainer = MultiTaskTrainer(
        model=model,
        args=args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        # Only pixel_values (padded, with frame_mask) and labels reach the model.
        data_collator=VideoCollator.for_model(model, input_keys=("pixel_values",)),
        metrics=build_metrics(config) if eval_dataset is not None else None,
        callbacks=[SleepCallback(opts.sleep_per_step)] if opts.sleep_per_step else None,
    )
    trainer.train(resume_from_checkpoint=True if opts.resume else None)
    if eval_dataset is not None:
        metrics = trainer.evaluate()
        if trainer.is_world_process_zero():
            print(json.dumps(metrics, indent=1))
    if opts.record_dir:
        record(trainer, train_dataset, Path(opts.record_dir))
    if trainer.is_world_process_zero():
        trainer.save_model(os.path.join(opts.output_dir, "final"))
    return trainer


def record(trainer: MultiTaskTrainer, train_dataset, directory: Path) -> None:
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    rank = trainer.args.process_index
    datasets = train_dataset.values() if isinstance(train_dataset, dict) else [train_dataset]
    reads = [getattr(d.dataset if isinstance(d, Subset) else d, "reads", []) for d in datasets]
    (directory / f"rank{rank}.json").write_text(
        json.dumps(
            {
                "rank": rank,
                "world_size": trainer.args.world_size,
                "reads": reads,
                "log_history": trainer.state.log_history,
            }
        )
    )
    state = {
        k: v.detach().cpu().contiguous()
        for k, v in trainer.accelerator.unwrap_model(trainer.model).state_dict().items()
    }
    save_file(state, str(directory / f"weights-rank{rank}.safetensors"))


if __name__ == "__main__":
    main(sys.argv[1:])

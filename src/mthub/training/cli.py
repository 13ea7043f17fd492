"""The ``TrainingArguments`` plumbing the training scripts (``examples/train_*.py``) share: the fields every
script maps from its command line the same way, and the ``--expect-world-size`` guard."""

from __future__ import annotations

import argparse
from typing import Any

import torch

from .arguments import MultiTaskTrainingArguments

__all__ = ["check_world_size", "script_training_arguments"]


def script_training_arguments(opts: argparse.Namespace, **overrides: Any) -> MultiTaskTrainingArguments:
    """:class:`MultiTaskTrainingArguments` of a training script, then :func:`check_world_size`.

    Taken from ``opts``: ``output_dir``, ``max_steps``, ``batch_size`` (per device, train), ``seed``,
    ``logging_steps``; when the script has them, ``bf16`` and ``save_steps`` (a checkpoint every N steps; 0 or
    absent: none) and ``expect_world_size``. Scripts log to stdout only (no reporters, no tqdm) and load in the main
    process. ``overrides`` add or replace any field.
    """
    save_steps = getattr(opts, "save_steps", 0)
    fields: dict[str, Any] = {
        "output_dir": opts.output_dir,
        "max_steps": opts.max_steps,
        "per_device_train_batch_size": opts.batch_size,
        "seed": opts.seed,
        "logging_steps": opts.logging_steps,
        "bf16": getattr(opts, "bf16", False),
        "save_strategy": "steps" if save_steps else "no",
        "save_steps": save_steps or 500,
        "report_to": "none",
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
    }
    args = MultiTaskTrainingArguments(**{**fields, **overrides})
    check_world_size(args, getattr(opts, "expect_world_size", None))
    return args


def check_world_size(args: MultiTaskTrainingArguments, expected: int | None) -> None:
    """Exit unless both ``args.world_size`` and ``torch.distributed`` report ``expected`` ranks (``None``: no
    check). Guards against accelerate's CPU trap: a plain launch can start unconnected processes that each believe
    they are alone."""
    if expected is None:
        return
    world = torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1
    if args.world_size != expected or world != expected:
        raise SystemExit(
            f"expected {expected} ranks, TrainingArguments.world_size={args.world_size}, torch.distributed world size={world}"
        )

"""Train the quickstart TIF with :class:`mthub.training.MultiTaskTrainer` (a ``transformers.Trainer``), frame by frame.

One choice here is not TIF's own: the depth head's bias starts at the training split's mean depth (the trivial
baseline's prediction) instead of 0. TIF's heads start near zero (ATRC init, std 0.01), and an L1 loss moves the
bias by about one learning rate per step, so from 0 the depth head would spend most of a few-hundred-step CPU run
climbing to the scene's scale (≈7 m) before it learns any structure. Starting at the mean, training goes to the
structure at once, and the model starts exactly at the baseline it has to beat.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import AutoModel, TrainerCallback

from ..training import MultiTaskTrainer, MultiTaskTrainingArguments
from .data import FramesForTraining
from .settings import QuickstartSettings

__all__ = ["LossHistory", "build_model", "train_model"]


def build_model(config, mean_depth: float, seed: int) -> torch.nn.Module:
    """A seeded random-init model of ``config`` with the depth bias at ``mean_depth`` (module docstring)."""
    torch.manual_seed(seed)
    model = AutoModel.from_config(config)
    with torch.no_grad():
        model.decoders["depth"].head.bias.fill_(float(mean_depth))
    return model


class LossHistory(TrainerCallback):
    """Keeps every logged ``loss`` / ``loss/<task>`` entry (for the metrics JSON)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, float]] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.entries.append({"step": state.global_step, **{k: float(v) for k, v in logs.items() if "loss" in k}})


def train_model(
    model: torch.nn.Module,
    train: FramesForTraining,
    settings: QuickstartSettings,
    output_dir: str | Path,
    progress: bool = True,
) -> tuple[MultiTaskTrainer, LossHistory]:
    """Train ``model`` on ``train`` for ``settings.max_steps`` AdamW steps (cosine decay after a linear warm-up) on
    the CPU, with the Trainer's progress bar; returns the trainer and the logged loss history."""
    kwargs: dict[str, Any] = model.config.training_arguments(num_processes=1)
    args = MultiTaskTrainingArguments(
        output_dir=str(output_dir),
        **kwargs,
        logging_steps=max(1, settings.max_steps // 8),
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=settings.seed,
        data_seed=settings.seed,
        dataloader_num_workers=0,  # frames are in memory: worker processes would only add start-up time
        disable_tqdm=not progress,
    )
    history = LossHistory()
    trainer = MultiTaskTrainer(model=model, args=args, train_dataset=train, callbacks=[history])
    trainer.train()
    model.eval()
    return trainer, history

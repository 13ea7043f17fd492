"""``MultiTaskTrainingArguments``: :class:`transformers.TrainingArguments` plus the multi-task training knobs.

Every new field has a default that leaves transformers' behaviour unchanged except two defaults that differ on
purpose: ``batch_eval_metrics=True`` (multi-task evaluation streams metrics instead of concatenating dense logits,
see :class:`~mthub.training.MultiTaskTrainer`) and ``remove_unused_columns=False`` (the mthub collators pick the
model inputs themselves, and dataset transforms need columns such as video paths). Dict fields also accept JSON
strings, so that everything can be given on a command line through ``HfArgumentParser``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from transformers import TrainingArguments

from .sampling import EPOCH_SEMANTICS, TASK_SAMPLING

LOSS_NORMALIZATION = ("global", "batch")


def _parse_dict(value: Any, name: str) -> dict[str, float] | None:
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"{name} must be a dict or a JSON object string, got {value!r}: {error}") from None
        if not isinstance(parsed, dict):
            raise ValueError(f"{name} must be a JSON object, got {value!r}.")
        return {str(k): float(v) for k, v in parsed.items()}
    raise TypeError(f"{name} must be a dict or a JSON string, got {type(value).__name__}.")


@dataclass
class MultiTaskTrainingArguments(TrainingArguments):
    """Training arguments of :class:`~mthub.training.MultiTaskTrainer`.

    Args:
        layer_decay (`float`, *optional*, defaults to 1.0): Layer-wise LR decay factor in ``(0, 1]``; the LR of a
            parameter at depth ``d`` of ``L + 1`` is multiplied by ``layer_decay ** (L + 1 - d)``
            (:mod:`mthub.training.optim`). 1.0 disables it.
        param_group_lrs (`dict[str, float]`, *optional*): ``{regex: lr}``; the first pattern found in a parameter's
            name sets its base LR (e.g. ``{"head": 1e-3}``). Layer decay multiplies on top.
        task_sampling (`str`, *optional*, defaults to ``"per_task"``): How a ``train_dataset`` given as a dict of
            sources is batched: ``"per_task"`` — one batch of ``per_device_train_batch_size`` from every source per
            step, one forward each, losses summed; ``"mixed"`` — one batch of ``per_device_train_batch_size``
            holding samples of all sources in the fixed proportions of ``mixing_ratios``.
        mixing_ratios (`dict[str, float]`, *optional*): Per-source share of a ``"mixed"`` batch, by sample count
            (``{"real": 3, "synthetic": 1}``); equal shares when omitted.
        epoch_semantics (`str`, *optional*, defaults to ``"max_size_cycle"``): Epoch length for dict train
            datasets, as Lightning's ``CombinedLoader``: ``"max_size_cycle"`` (the source needing the most batches
            sets the length, the others cycle) or ``"min_size"`` (the one needing the fewest does).
        loss_normalization (`str`, *optional*, defaults to ``"global"``): ``"global"`` — each task's loss is the
            mean over all its labelled elements in the optimizer step (every micro-batch, every rank, every source),
            so gradient accumulation and data parallelism give the same update as one big batch even when some
            micro-batches or ranks have no label for a task (transformers' ``num_items_in_batch`` idea, per task;
            one all-reduce of a few integers per optimizer step). ``"batch"`` — transformers' default: each
            micro-batch's loss is its own mean, averaged over micro-batches and ranks.
        freeze_batchnorm (`bool`, *optional*, defaults to False): Keep BatchNorm layers in eval mode while
            training (running statistics frozen, affine parameters still trained) — the usual choice for small
            per-device batches; it also makes split batches exactly equivalent to one big batch.
        sync_batchnorm (`bool`, *optional*, defaults to False): Convert BatchNorm layers to
            ``torch.nn.SyncBatchNorm`` when training on several processes (GPU only: PyTorch's SyncBatchNorm has
            no CPU kernel).
    """

    layer_decay: float = field(default=1.0, metadata={"help": "Layer-wise LR decay factor in (0, 1]; 1 disables it."})
    param_group_lrs: dict[str, float] | str | None = field(
        default=None, metadata={"help": "JSON {regex: lr}; the first matching pattern sets a parameter's base LR."}
    )
    task_sampling: str = field(
        default="per_task",
        metadata={"help": "Batching of a dict train_dataset.", "choices": list(TASK_SAMPLING)},
    )
    mixing_ratios: dict[str, float] | str | None = field(
        default=None, metadata={"help": 'JSON {source: share} for task_sampling="mixed" (by sample count).'}
    )
    epoch_semantics: str = field(
        default="max_size_cycle",
        metadata={"help": "Epoch length of a dict train_dataset.", "choices": list(EPOCH_SEMANTICS)},
    )
    loss_normalization: str = field(
        default="global",
        metadata={
            "help": "Per-task loss denominator: the whole optimizer step ('global') or each micro-batch ('batch').",
            "choices": list(LOSS_NORMALIZATION),
        },
    )
    freeze_batchnorm: bool = field(
        default=False, metadata={"help": "Keep BatchNorm layers in eval mode while training."}
    )
    sync_batchnorm: bool = field(default=False, metadata={"help": "Use SyncBatchNorm across processes (GPU only)."})
    # Defaults that differ from TrainingArguments (see the module docstring).
    batch_eval_metrics: bool = field(
        default=True, metadata={"help": "Stream evaluation metrics batch by batch (MultiTaskTrainer requires it)."}
    )
    remove_unused_columns: bool = field(
        default=False,
        metadata={"help": "Drop dataset columns the model's forward does not take (off: collators pick inputs)."},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        self.param_group_lrs = _parse_dict(self.param_group_lrs, "param_group_lrs")
        self.mixing_ratios = _parse_dict(self.mixing_ratios, "mixing_ratios")
        if not 0 < self.layer_decay <= 1:
            raise ValueError(f"layer_decay must be in (0, 1], got {self.layer_decay}.")
        if self.task_sampling not in TASK_SAMPLING:
            raise ValueError(f"task_sampling={self.task_sampling!r}; expected one of {TASK_SAMPLING}.")
        if self.epoch_semantics not in EPOCH_SEMANTICS:
            raise ValueError(f"epoch_semantics={self.epoch_semantics!r}; expected one of {EPOCH_SEMANTICS}.")
        if self.loss_normalization not in LOSS_NORMALIZATION:
            raise ValueError(f"loss_normalization={self.loss_normalization!r}; expected one of {LOSS_NORMALIZATION}.")
        if self.mixing_ratios and self.task_sampling != "mixed":
            raise ValueError("mixing_ratios is set but task_sampling is not 'mixed'.")


__all__ = ["LOSS_NORMALIZATION", "MultiTaskTrainingArguments"]

"""Multi-task training on top of transformers' Trainer and accelerate.

* :class:`MultiTaskTrainer` / :class:`MultiTaskTrainingArguments` — dict labels and outputs, per-task loss logging,
  streaming per-task metrics, multi-dataset sampling, layer-wise LR decay, exact split-batch loss normalisation,
  corrupt-sample accounting, resume from the last complete checkpoint.
* :class:`VideoCollator` — variable-length clips with frame masks, dict labels with missing tasks.
* :mod:`~mthub.training.sampling` — one batch per source per step, fixed-ratio mixing, epoch semantics.
* :class:`StreamingMetrics`, :class:`MetricsByTask` — stateful metrics as batch-wise ``compute_metrics``.

Example::

    from mthub.training import MultiTaskTrainer, MultiTaskTrainingArguments

    args = MultiTaskTrainingArguments(output_dir="out", per_device_train_batch_size=8, layer_decay=0.75,
                                      task_sampling="mixed", mixing_ratios={"real": 3, "synthetic": 1})
    trainer = MultiTaskTrainer(model=model, args=args, train_dataset={"real": real, "synthetic": synthetic},
                               eval_dataset=val, metrics=MultiTaskMetrics.from_tasks(["semseg", "depth"], "nyud"))
    trainer.train()
"""

from .arguments import LOSS_NORMALIZATION, MultiTaskTrainingArguments
from .collators import (
    CORRUPT_COUNT_KEY,
    AllSamplesCorruptError,
    CorruptSample,
    CorruptSampleFilter,
    SkipCorruptDataset,
    VideoCollator,
)
from .evaluation import MetricsByTask, StreamingMetrics
from .optim import build_param_groups, lr_decay_depths
from .sampling import (
    EPOCH_SEMANTICS,
    SOURCES_KEY,
    TASK_SAMPLING,
    MultiSourceBatchSampler,
    MultiSourceCollator,
    MultiSourceDataset,
    RankShardSampler,
    SourcedItem,
    samples_per_batch,
)
from .trainer import MultiTaskTrainer, last_complete_checkpoint, pop_corrupt_count

__all__ = [
    "CORRUPT_COUNT_KEY",
    "EPOCH_SEMANTICS",
    "LOSS_NORMALIZATION",
    "SOURCES_KEY",
    "TASK_SAMPLING",
    "AllSamplesCorruptError",
    "CorruptSample",
    "CorruptSampleFilter",
    "MetricsByTask",
    "MultiSourceBatchSampler",
    "MultiSourceCollator",
    "MultiSourceDataset",
    "MultiTaskTrainer",
    "MultiTaskTrainingArguments",
    "RankShardSampler",
    "SkipCorruptDataset",
    "SourcedItem",
    "StreamingMetrics",
    "VideoCollator",
    "build_param_groups",
    "last_complete_checkpoint",
    "lr_decay_depths",
    "pop_corrupt_count",
    "samples_per_batch",
]

"""``MultiTaskTrainer``: :class:`transformers.Trainer` for multi-task models with dict labels and dict outputs.

What it changes in transformers' Trainer, and why (each override's docstring has the details):

* **Data** (:meth:`get_train_dataloader`, :meth:`get_eval_dataloader`, :meth:`get_test_dataloader`): a
  ``train_dataset`` may be ``{source: dataset}`` — batched one batch per source per step or mixed by fixed ratios,
  with ``max_size_cycle``/``min_size`` epochs (:mod:`mthub.training.sampling`); datasets are wrapped so that
  :class:`~mthub.data.errors.CorruptSampleError` items are skipped and counted instead of killing the run; the
  default collator is :class:`~mthub.training.VideoCollator`. Evaluation shards are exact (no padded repeats).
* **Loss** (:meth:`get_batch_samples`, :meth:`compute_loss`): per-task losses from ``outputs.losses`` are
  accumulated for logging, one forward per source is summed in ``per_task`` mode, and with
  ``loss_normalization="global"`` each task's loss is normalised by its labelled-element count over the whole
  optimizer step (all micro-batches and ranks), so gradient accumulation and DDP equal one big batch.
* **Logging** (:meth:`log`): ``loss/<task>`` (label-weighted mean over the logging interval, across ranks) and
  ``corrupt_samples_skipped`` (cumulative, all ranks) join transformers' ``loss``.
* **Evaluation** (:meth:`evaluation_loop`): streams batches into stateful metrics and keeps no logits, so memory
  does not grow with the eval set (the stock loop gathers and, without ``batch_eval_metrics``, concatenates every
  batch's logits; with it, it still all-gathers dict logits and cannot handle ``None`` labels).
* **Optimizer** (:meth:`create_optimizer`): layer-wise LR decay and per-group LRs (:mod:`mthub.training.optim`).
* **BatchNorm**: optional frozen BN (``freeze_batchnorm``) and SyncBatchNorm (``sync_batchnorm``).
* **Resume** (:meth:`train`): ``resume_from_checkpoint=True`` picks the newest *complete* checkpoint, so a run
  killed while writing a checkpoint resumes from the previous one instead of failing on a half-written folder.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset
from transformers import Trainer
from transformers.trainer_pt_utils import BatchRebalanceSampler, find_batch_size
from transformers.trainer_utils import (
    PREFIX_CHECKPOINT_DIR,
    EvalLoopOutput,
    EvalPrediction,
    denumpify_detensorize,
    seed_worker,
)

from ..losses import count_loss_elements
from .arguments import MultiTaskTrainingArguments
from .collators import CORRUPT_COUNT_KEY, CorruptSampleFilter, SkipCorruptDataset, VideoCollator
from .evaluation import StreamingMetrics
from .optim import build_param_groups
from .sampling import (
    SOURCES_KEY,
    MultiSourceBatchSampler,
    MultiSourceCollator,
    MultiSourceDataset,
    RankShardSampler,
    samples_per_batch,
)

logger = logging.getLogger(__name__)

TRAINER_STATE_NAME = "trainer_state.json"


def last_complete_checkpoint(output_dir: str | os.PathLike) -> str | None:
    """Newest ``checkpoint-N`` folder of ``output_dir`` that holds ``trainer_state.json``.

    transformers writes ``trainer_state.json`` last, so its presence means the weights, optimizer, scheduler and
    RNG files before it were written completely. ``transformers.trainer_utils.get_last_checkpoint`` takes the
    highest number even when that folder is half-written (a process killed mid-save).
    """
    pattern = re.compile(rf"^{PREFIX_CHECKPOINT_DIR}-(\d+)$")
    found = []
    for name in os.listdir(output_dir):
        match = pattern.match(name)
        path = os.path.join(output_dir, name)
        if match and os.path.isdir(path):
            if os.path.isfile(os.path.join(path, TRAINER_STATE_NAME)):
                found.append((int(match.group(1)), path))
            else:
                logger.warning("Ignoring incomplete checkpoint %s (no %s).", path, TRAINER_STATE_NAME)
    return max(found)[1] if found else None


def pop_corrupt_count(batch: Any) -> int:
    """Remove and return the corrupt-sample count(s) a collator put into ``batch`` (per-source batches too)."""
    if not isinstance(batch, dict):
        return 0
    count = int(batch.pop(CORRUPT_COUNT_KEY, 0) or 0)
    for sub_batch in (batch.get(SOURCES_KEY) or {}).values():
        count += pop_corrupt_count(sub_batch)
    return count


def _source_batches(batch: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(batch[SOURCES_KEY].values()) if SOURCES_KEY in batch else [batch]


class MultiTaskTrainer(Trainer):
    """A :class:`transformers.Trainer` for mthub multi-task models (see the module docstring for what changes).

    Args:
        model: an mthub model returning :class:`~mthub.MultiTaskOutput` (``loss``, ``losses``, ``logits`` dicts).
        args: :class:`~mthub.training.MultiTaskTrainingArguments`.
        train_dataset: a map-style dataset, or ``{source: dataset}`` for multi-dataset sampling.
        eval_dataset: a dataset or ``{name: dataset}`` (evaluated separately, keys prefix the metrics).
        data_collator: defaults to :meth:`VideoCollator.for_model`; other collators are wrapped in
            :class:`~mthub.training.collators.CorruptSampleFilter`.
        compute_metrics: a batch-wise function ``(EvalPrediction, compute_result) -> dict`` (see
            :mod:`mthub.training.evaluation` for the protocol).
        metrics: alternatively a stateful container (``update``/``compute``/``reset``, e.g.
            :class:`mthub.metrics.MultiTaskMetrics`), wrapped in :class:`~mthub.training.StreamingMetrics`.
        **kwargs: passed to :class:`transformers.Trainer`.
    """

    def __init__(
        self,
        model: nn.Module | None = None,
        args: MultiTaskTrainingArguments | None = None,
        data_collator: Any = None,
        train_dataset: Dataset | Mapping[str, Dataset] | None = None,
        eval_dataset: Dataset | Mapping[str, Dataset] | None = None,
        compute_metrics: Any = None,
        metrics: Any = None,
        **kwargs: Any,
    ) -> None:
        if args is None:
            args = MultiTaskTrainingArguments(output_dir="trainer_output")
        if not isinstance(args, MultiTaskTrainingArguments):
            raise TypeError(
                f"MultiTaskTrainer needs MultiTaskTrainingArguments, got {type(args).__name__}; "
                "build it with the same keyword arguments."
            )
        if metrics is not None:
            if compute_metrics is not None:
                raise ValueError("Give either compute_metrics or metrics, not both.")
            compute_metrics = StreamingMetrics(metrics)
        if compute_metrics is not None and not args.batch_eval_metrics:
            raise ValueError(
                "MultiTaskTrainer evaluates with batch_eval_metrics=True only: concatenating dense per-task logits "
                "of a whole eval set does not fit in memory. Make compute_metrics take (eval_pred, compute_result) and "
                "keep state (or pass metrics=...)."
            )
        if model is None and kwargs.get("model_init") is None:
            raise ValueError("MultiTaskTrainer needs a model (or model_init).")
        if data_collator is None:
            if model is None:
                raise ValueError(
                    "With model_init, pass data_collator explicitly (e.g. VideoCollator.from_config(config))."
                )
            data_collator = VideoCollator.for_model(model)
        super().__init__(
            model=model,
            args=args,
            data_collator=data_collator,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            compute_metrics=compute_metrics,
            **kwargs,
        )
        # Global normalisation already divides by the whole step's label count, so the Trainer must not divide the
        # loss by the number of accumulation steps again (transformers' documented switch for custom losses).
        self.loss_is_scaled_for_ga = args.loss_normalization == "global"
        # Task specs are parsed once (``config.task_specs`` builds new TaskSpec objects on every access).
        self._task_specs = list(self._unwrapped_config().task_specs)
        self._task_names: list[str] = [spec.name for spec in self._task_specs]
        self._loss_weights = {spec.name: spec.loss_weight for spec in self._task_specs}
        self._reset_task_stats()
        self._corrupt_skipped = 0
        self._combination_checked = False

    # ----- helpers ----------------------------------------------------------------------------------------------
    def _unwrapped(self) -> nn.Module:
        return self.accelerator.unwrap_model(self.model)

    def _unwrapped_config(self) -> Any:
        config = getattr(self._unwrapped(), "config", None)
        if config is None or not hasattr(config, "task_specs"):
            raise TypeError(
                f"MultiTaskTrainer needs an mthub model (config with task specs); got {type(self.model).__name__}."
            )
        return config

    def _reset_task_stats(self) -> None:
        size = len(self._task_names)
        self._task_loss_sum = torch.zeros(size, dtype=torch.float32, device=self.args.device)
        self._task_loss_count = torch.zeros(size, dtype=torch.float32, device=self.args.device)

    def _label_counts(self, batch: Mapping[str, Any]) -> torch.Tensor:
        """``(K,)`` int64 labelled-element counts per task of one (possibly per-source) batch."""
        model = self._unwrapped()
        counts = torch.zeros(len(self._task_names), dtype=torch.long, device=self.args.device)
        for sub_batch in _source_batches(batch):
            labels = sub_batch.get("labels") or {}
            for index, spec in enumerate(self._task_specs):
                counts[index] += count_loss_elements(model, spec, labels.get(spec.name)).to(counts.device)
        return counts

    def _reduce(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum over ranks (identity on one process)."""
        if self.accelerator.num_processes <= 1:
            return tensor
        return self.accelerator.reduce(tensor.to(self.args.device), reduction="sum")

    def _collate_fn(self) -> Any:
        collator = self.data_collator
        return collator if isinstance(collator, (VideoCollator, CorruptSampleFilter)) else CorruptSampleFilter(collator)

    def _loader_kwargs(self, training: bool) -> dict[str, Any]:
        args = self.args
        # Pinned memory only helps host→accelerator copies (torch warns when there is no accelerator).
        pin = args.dataloader_pin_memory and args.device.type not in ("cpu", "mps")
        kwargs: dict[str, Any] = {"num_workers": args.dataloader_num_workers, "pin_memory": pin}
        if args.dataloader_num_workers > 0:
            kwargs.update(
                persistent_workers=args.dataloader_persistent_workers,
                prefetch_factor=args.dataloader_prefetch_factor,
                multiprocessing_context=args.dataloader_multiprocessing_context,
            )
            if training:
                kwargs["worker_init_fn"] = functools.partial(
                    seed_worker, num_workers=args.dataloader_num_workers, rank=args.process_index
                )
        return kwargs

    # ----- data ---------------------------------------------------------------------------------------------------
    def get_train_dataloader(self) -> DataLoader:
        """Overrides ``Trainer.get_train_dataloader``.

        transformers builds one DataLoader over one dataset, strips columns the model's ``forward`` does not name
        and collates with ``default_data_collator``. Here: a dict of sources becomes a :class:`MultiSourceDataset`
        batched by :class:`MultiSourceBatchSampler` (``task_sampling``, ``mixing_ratios``, ``epoch_semantics``;
        shuffled unless ``train_sampling_strategy="sequential"``, seeded by ``data_seed``/``seed``); a single
        dataset keeps transformers' sampler (``_get_train_sampler``); every map-style dataset is wrapped in
        :class:`SkipCorruptDataset`. The loader is still ``accelerator.prepare``-d, so accelerate shards batches
        across ranks and ``skip_first_batches`` works on resume.
        """
        if self.train_dataset is None:
            raise ValueError("MultiTaskTrainer: training requires a train_dataset.")
        args, dataset, collate = self.args, self.train_dataset, self._collate_fn()
        kwargs = self._loader_kwargs(training=True)
        if isinstance(dataset, Mapping):
            sources = MultiSourceDataset(dataset)
            per_batch = samples_per_batch(sources.names, self._train_batch_size, args.task_sampling, args.mixing_ratios)
            sampler = MultiSourceBatchSampler(
                sources,
                per_batch,
                epoch_semantics=args.epoch_semantics,
                shuffle=args.train_sampling_strategy != "sequential",
                seed=args.data_seed if args.data_seed is not None else args.seed,
                drop_last=args.dataloader_drop_last,
            )
            loader = DataLoader(
                sources,
                batch_sampler=sampler,
                collate_fn=MultiSourceCollator(collate, sources.names, args.task_sampling),
                **kwargs,
            )
        elif isinstance(dataset, IterableDataset):
            loader = DataLoader(dataset, batch_size=self._train_batch_size, collate_fn=collate, **kwargs)
        else:
            sampler = self._get_train_sampler(dataset)
            if isinstance(sampler, BatchRebalanceSampler):  # yields whole batches
                loader = DataLoader(SkipCorruptDataset(dataset), batch_sampler=sampler, collate_fn=collate, **kwargs)
            else:
                loader = DataLoader(
                    SkipCorruptDataset(dataset),
                    batch_size=self._train_batch_size,
                    sampler=sampler,
                    drop_last=args.dataloader_drop_last,
                    collate_fn=collate,
                    **kwargs,
                )
        return self.accelerator.prepare(loader)

    def _eval_loader(self, dataset: Dataset) -> DataLoader:
        if isinstance(dataset, Mapping):
            raise TypeError("Evaluate a dict of eval datasets through evaluate(), which runs one loop per entry.")
        collate, kwargs = self._collate_fn(), self._loader_kwargs(training=False)
        if isinstance(dataset, IterableDataset):
            return self.accelerator.prepare(
                DataLoader(dataset, batch_size=self.args.eval_batch_size, collate_fn=collate, **kwargs)
            )
        sampler = RankShardSampler(len(dataset), self.args.process_index, self.args.world_size)
        return DataLoader(
            SkipCorruptDataset(dataset),
            batch_size=self.args.eval_batch_size,
            sampler=sampler,
            collate_fn=collate,
            **kwargs,
        )

    def get_eval_dataloader(self, eval_dataset: str | Dataset | None = None) -> DataLoader:
        """Overrides ``Trainer.get_eval_dataloader``: an exact, unpadded shard per rank (:class:`RankShardSampler`),
        corrupt samples skipped, the mthub collator. Not passed through ``accelerator.prepare``: its
        ``even_batches`` padding repeats samples, which rank-local stateful metrics would count twice, and
        :meth:`evaluation_loop` moves batches to the device itself."""
        if eval_dataset is None and self.eval_dataset is None:
            raise ValueError("MultiTaskTrainer: evaluation requires an eval_dataset.")
        if isinstance(eval_dataset, str):
            eval_dataset = self.eval_dataset[eval_dataset]
        return self._eval_loader(eval_dataset if eval_dataset is not None else self.eval_dataset)

    def get_test_dataloader(self, test_dataset: Dataset) -> DataLoader:
        """Overrides ``Trainer.get_test_dataloader`` like :meth:`get_eval_dataloader`."""
        return self._eval_loader(test_dataset)

    # ----- training ----------------------------------------------------------------------------------------------
    def train(
        self,
        resume_from_checkpoint: str | bool | None = None,
        trial: Any = None,
        ignore_keys_for_eval: Any = None,
        **kwargs: Any,
    ):
        """Overrides ``Trainer.train`` only to resolve ``resume_from_checkpoint=True`` with
        :func:`last_complete_checkpoint` (see there) and to convert BatchNorm to SyncBatchNorm when asked."""
        if resume_from_checkpoint is True:
            resume_from_checkpoint = (
                last_complete_checkpoint(self.args.output_dir) if os.path.isdir(self.args.output_dir) else None
            )
            if resume_from_checkpoint is None:
                raise ValueError(f"No complete checkpoint found in output directory {self.args.output_dir!r}.")
        if self.args.sync_batchnorm and self.args.world_size > 1:
            if self.args.device.type != "cuda":
                raise ValueError("sync_batchnorm=True needs CUDA: torch.nn.SyncBatchNorm has no CPU implementation.")
            self.model = nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
            self.model_wrapped = self.model
        self._reset_task_stats()
        self._corrupt_skipped = 0
        return super().train(
            resume_from_checkpoint=resume_from_checkpoint,
            trial=trial,
            ignore_keys_for_eval=ignore_keys_for_eval,
            **kwargs,
        )

    def get_batch_samples(self, epoch_iterator: Any, num_batches: int, device: torch.device) -> tuple[list, Any]:
        """Overrides ``Trainer.get_batch_samples`` (which counts ``labels != -100`` of a tensor ``labels``).

        Fetches the optimizer step's micro-batches, pops their corrupt-sample counts, and with
        ``loss_normalization="global"`` returns the per-task labelled-element counts of the whole step summed over
        micro-batches and ranks — a ``(K,)`` tensor that the Trainer passes to :meth:`compute_loss` as
        ``num_items_in_batch``. One all-reduce per optimizer step; every rank calls it the same number of times.
        """
        batches = []
        for _ in range(num_batches):
            try:
                batches.append(next(epoch_iterator))
            except StopIteration:
                break
        for batch in batches:
            self._corrupt_skipped += pop_corrupt_count(batch)
        if self.args.loss_normalization != "global":
            return batches, None
        counts = torch.zeros(len(self._task_names), dtype=torch.long, device=self.args.device)
        for batch in batches:
            counts += self._label_counts(batch)
        return batches, self._reduce(counts)

    def _freeze_batchnorm(self, model: nn.Module) -> None:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()

    def _check_combination(self, outputs: Any) -> None:
        """Global normalisation rebuilds the step loss from ``outputs.losses`` and the tasks' ``loss_weight``;
        refuse models whose ``loss`` is combined differently (e.g. learned task weights)."""
        if self._combination_checked or outputs.loss is None or not outputs.losses:
            return
        rebuilt = sum(self._loss_weights[task] * loss.detach().float() for task, loss in outputs.losses.items())
        if not torch.allclose(outputs.loss.detach().float(), rebuilt, rtol=1e-4, atol=1e-6):
            raise ValueError(
                f"{type(self._unwrapped()).__name__}: outputs.loss={outputs.loss.item():.6g} is not the "
                f"loss_weight-weighted sum of outputs.losses ({rebuilt.item():.6g}); loss_normalization='global' "
                "cannot rebuild it. Use loss_normalization='batch'."
            )
        self._combination_checked = True

    def _source_loss(
        self, model: nn.Module, inputs: Mapping[str, Any], num_items: torch.Tensor | None
    ) -> tuple[torch.Tensor, Any]:
        outputs = model(**inputs)
        losses = outputs.losses or {}
        labels = inputs.get("labels") or {}
        unwrapped = self._unwrapped()
        counts = {spec.name: count_loss_elements(unwrapped, spec, labels.get(spec.name)) for spec in self._task_specs}
        if model.training:
            with torch.no_grad():  # tensors only: no host sync per step (a task without labels adds 0 · 0)
                for index, task in enumerate(self._task_names):
                    if task in losses:
                        count = counts[task].to(self._task_loss_sum.device).float()
                        self._task_loss_sum[index] += losses[task].detach().float() * count
                        self._task_loss_count[index] += count
        if outputs.loss is None:
            # No labels dict at all: 0·logits keeps every head in the graph (DDP needs a gradient for every
            # parameter); with labels, the model's own loss already carries these zero terms.
            zero = sum(0.0 * logits.float().sum() for logits in outputs.logits.values())
        else:
            zero = 0.0 * outputs.loss
        if num_items is None:
            return (outputs.loss if outputs.loss is not None else zero), outputs
        self._check_combination(outputs)
        loss, world = zero, self.accelerator.num_processes
        for index, task in enumerate(self._task_names):
            if task in losses:
                # mean_local · n_local / N_step is this piece's share of the step's mean (0 when the step has no
                # label for the task); DDP then averages over the ranks, which the factor `world` undoes.
                total = num_items[index].to(losses[task].device).float().clamp(min=1.0)
                share = counts[task].to(losses[task].device).float() / total
                loss = loss + self._loss_weights[task] * losses[task].float() * share * world
        return loss, outputs

    def compute_loss(
        self, model: nn.Module, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> torch.Tensor | tuple[torch.Tensor, Any]:
        """Overrides ``Trainer.compute_loss`` (which takes ``outputs["loss"]`` and, with ``num_items_in_batch``,
        lets the model normalise a token loss).

        * ``per_task`` batches (``{"per_source": {source: batch}}``): one forward per source, losses summed, one
          backward (a single backward keeps DDP's one-reduction-per-step contract).
        * per-task losses are accumulated (weighted by their labelled-element counts) for :meth:`log`.
        * ``loss_normalization="global"``: ``num_items_in_batch`` is the step's per-task count from
          :meth:`get_batch_samples`; the loss is rebuilt as ``Σ_t w_t · mean_t · n_t / N_t · world_size``.
        * ``freeze_batchnorm``: BatchNorm layers are switched back to eval mode after ``training_step``'s
          ``model.train()``.

        With ``return_outputs=True`` the outputs are the model's :class:`~mthub.MultiTaskOutput`, or
        ``{source: output}`` for per-source batches.
        """
        self._corrupt_skipped += pop_corrupt_count(inputs)
        if self.args.freeze_batchnorm and model.training:
            self._freeze_batchnorm(model)
        if SOURCES_KEY in inputs:
            total, outputs = None, {}
            for source, batch in inputs[SOURCES_KEY].items():
                loss, outputs[source] = self._source_loss(model, batch, num_items_in_batch)
                total = loss if total is None else total + loss
        else:
            total, outputs = self._source_loss(model, inputs, num_items_in_batch)
        return (total, outputs) if return_outputs else total

    def floating_point_ops(self, inputs: dict[str, Any]) -> int:
        """Overrides ``Trainer.floating_point_ops`` to add up the per-source batches of ``per_task`` steps."""
        return sum(super(MultiTaskTrainer, self).floating_point_ops(batch) for batch in _source_batches(inputs))

    def create_optimizer(self, model: nn.Module | None = None) -> torch.optim.Optimizer:
        """Overrides ``Trainer.create_optimizer`` to build parameter groups with layer-wise LR decay and per-group
        LRs (:func:`~mthub.training.optim.build_param_groups`), keeping transformers' weight-decay rule and its
        optimizer choice (``optim``, ``optim_args``). Without either option it is transformers' method."""
        args = self.args
        if self.optimizer is not None or (args.layer_decay == 1.0 and not args.param_group_lrs):
            return super().create_optimizer(model)
        opt_model = self.model if model is None else model
        groups = build_param_groups(
            opt_model,
            learning_rate=args.learning_rate,
            weight_decay=args.weight_decay,
            decay_parameter_names=self.get_decay_parameter_names(opt_model),
            layer_decay=args.layer_decay,
            param_group_lrs=args.param_group_lrs,
        )
        if self.optimizer_cls_and_kwargs is not None:
            optimizer_cls, optimizer_kwargs = self.optimizer_cls_and_kwargs
        else:
            optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(args, opt_model)
        for key in ("params", "model", "optimizer_dict"):
            if key in optimizer_kwargs:
                raise ValueError(
                    f"optim={args.optim!r} builds its own parameter groups; it cannot be combined with "
                    "layer_decay/param_group_lrs."
                )
        self.optimizer = optimizer_cls(groups, **optimizer_kwargs)
        return self.optimizer

    # ----- logging -------------------------------------------------------------------------------------------------
    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Overrides ``Trainer.log`` to add, to each training log (the one carrying ``loss``), the per-task losses
        ``loss/<task>`` — ``Σ mean·n / Σ n`` over the micro-batches since the previous log, summed over ranks —
        and ``corrupt_samples_skipped``, the cumulative number of corrupt samples dropped on all ranks in this
        ``train()`` call. ``Trainer.log`` runs on every rank for training logs, so the reductions are collective."""
        if self.is_in_train and "loss" in logs:
            sums, counts = self._reduce(self._task_loss_sum.clone()), self._reduce(self._task_loss_count.clone())
            for index, task in enumerate(self._task_names):
                if counts[index] > 0:
                    logs[f"loss/{task}"] = float(sums[index] / counts[index])
            corrupt = self._reduce(torch.tensor([self._corrupt_skipped], dtype=torch.long, device=self.args.device))
            logs[CORRUPT_COUNT_KEY] = int(corrupt.item())
            self._reset_task_stats()
        super().log(logs, start_time)

    # ----- evaluation ----------------------------------------------------------------------------------------------
    def evaluation_loop(
        self,
        dataloader: DataLoader,
        description: str,
        prediction_loss_only: bool | None = None,
        ignore_keys: list[str] | None = None,
        metric_key_prefix: str = "eval",
    ) -> EvalLoopOutput:
        """Overrides ``Trainer.evaluation_loop`` with a streaming loop that keeps no predictions.

        transformers' loop pads and all-gathers every batch's logits and labels and — unless
        ``batch_eval_metrics`` — concatenates them for one ``compute_metrics`` call at the end; dense multi-task
        logits of a whole eval set do not fit in memory, and dict labels with ``None`` tasks cannot be gathered.
        Here each batch goes through the (unwrapped) model under the same autocast, its per-task losses are summed,
        ``compute_metrics`` gets this rank's batch (``compute_result=True`` with the rank's last batch, or with empty
        dicts if its shard is empty), and losses are reduced across ranks once at the end. Metrics keys:
        ``{prefix}_loss`` (sample-weighted mean of the model loss), ``{prefix}_loss/<task>`` (label-weighted), the
        ``compute_metrics`` results, and ``{prefix}_corrupt_samples_skipped``. ``EvalLoopOutput.predictions`` is
        ``None`` (``Trainer.predict`` returns metrics only; run the pipeline for predictions).
        """
        args = self.args
        prediction_loss_only = args.prediction_loss_only if prediction_loss_only is None else prediction_loss_only
        if self.is_deepspeed_enabled or self.is_fsdp_enabled:
            raise NotImplementedError("MultiTaskTrainer's streaming evaluation does not support DeepSpeed/FSDP yet.")
        model = self._wrap_model(self.model, training=False)
        if len(self.accelerator._models) == 0 and model is self.model:
            # Evaluation before train(): let accelerate add its autocast wrapper, as the stock loop does.
            start = time.time()
            model = self.accelerator.prepare_model(model, evaluation_mode=True)
            self.model_preparation_time = round(time.time() - start, 4)
        if not self.is_in_train and args.bf16_full_eval:
            model = model.to(dtype=torch.bfloat16, device=args.device)
        elif not self.is_in_train and args.fp16_full_eval:
            model = model.to(dtype=torch.float16, device=args.device)
        model.eval()
        self.callback_handler.eval_dataloader = dataloader
        unwrapped = self._unwrapped()
        size = len(self._task_names)
        device = args.device
        wide = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
        loss_sum = torch.zeros(2, dtype=wide, device=device)  # Σ loss·B, Σ B (batches with labels)
        task_stats = torch.zeros(2, size, dtype=wide, device=device)  # Σ mean·n, Σ n
        samples, skipped = 0, 0
        metric_fn = None if prediction_loss_only else self.compute_metrics
        metrics: dict[str, Any] = {}

        iterator = iter(dataloader)
        current = next(iterator, None)
        if current is None and metric_fn is not None:
            metrics = metric_fn(EvalPrediction(predictions={}, label_ids={}), compute_result=True)
        while current is not None:
            following = next(iterator, None)
            skipped += pop_corrupt_count(current)
            inputs = self._prepare_inputs(current)
            batch_size = find_batch_size(inputs) or 0
            samples += batch_size
            with torch.no_grad(), self.compute_loss_context_manager():
                outputs = model(**inputs)
            labels = inputs.get("labels") or {}
            if outputs.loss is not None and outputs.losses:
                loss_sum[0] += outputs.loss.detach().to(device, wide) * batch_size
                loss_sum[1] += batch_size
            for index, spec in enumerate(self._task_specs):
                if outputs.losses and spec.name in outputs.losses:
                    count = count_loss_elements(unwrapped, spec, labels.get(spec.name)).to(device, wide)
                    task_stats[0, index] += outputs.losses[spec.name].detach().to(device, wide) * count
                    task_stats[1, index] += count
            if metric_fn is not None:
                result = metric_fn(
                    EvalPrediction(
                        predictions={k: v.detach() for k, v in outputs.logits.items()}, label_ids=dict(labels)
                    ),
                    compute_result=following is None,
                )
                if following is None:
                    metrics = result
            self.control = self.callback_handler.on_prediction_step(args, self.state, self.control)
            del inputs, outputs, labels
            current = following

        totals = self._reduce(
            torch.cat([loss_sum, task_stats.flatten(), torch.tensor([samples, skipped], dtype=wide, device=device)])
        )
        metrics = denumpify_detensorize(dict(metrics or {}))
        if totals[1] > 0:
            metrics["loss"] = float(totals[0] / totals[1])
        stats = totals[2 : 2 + 2 * size].view(2, size)
        for index, task in enumerate(self._task_names):
            if stats[1, index] > 0:
                metrics[f"loss/{task}"] = float(stats[0, index] / stats[1, index])
        metrics[CORRUPT_COUNT_KEY] = int(totals[-1])
        if hasattr(self, "model_preparation_time"):
            metrics["model_preparation_time"] = self.model_preparation_time
        metrics = {
            key if key.startswith(f"{metric_key_prefix}_") else f"{metric_key_prefix}_{key}": value
            for key, value in metrics.items()
        }
        return EvalLoopOutput(predictions=None, label_ids=None, metrics=metrics, num_samples=int(totals[-2]))


__all__ = ["MultiTaskTrainer", "last_complete_checkpoint", "pop_corrupt_count"]

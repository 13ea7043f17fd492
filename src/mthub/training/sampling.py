"""Multi-dataset sampling: one batch per source per step, or fixed-ratio mixing inside each batch, with
Lightning ``CombinedLoader`` epoch semantics (``max_size_cycle`` / ``min_size``).

The sources (``{"nyud": ds1, "pascal": ds2}`` or ``{"real": ds, "synthetic": ds}``) are concatenated into one
:class:`MultiSourceDataset`; a :class:`MultiSourceBatchSampler` yields lists of global indices, ``k_s`` consecutive
draws from each source's stream per batch. Everything that decides the data order is a pure function of
``(seed, epoch, source, cycle)``, so a run resumed from a checkpoint replays the same batches (the Trainer skips the
batches already consumed with accelerate's ``skip_first_batches``), and the stream does not depend on the batch
size: ``k`` draws per batch on two ranks see the same samples as ``2k`` draws on one process.

Per-source stream in epoch ``e``: ``perm(e, s, 0) ++ perm(e, s, 1) ++ ...`` where each ``perm`` is a seeded
permutation of the source (identity when ``shuffle=False``). A source that runs out before the epoch ends simply
continues into its next permutation ("cycles"); the last batch of a source is completed the same way, so every
batch holds exactly ``k_s`` samples of each source and fixed ratios hold in every batch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from .collators import SkipCorruptDataset

#: Key of the per-source sub-batches in a ``task_sampling="per_task"`` batch: ``{SOURCES_KEY: {source: batch}}``.
SOURCES_KEY = "per_source"

EPOCH_SEMANTICS = ("max_size_cycle", "min_size")
TASK_SAMPLING = ("per_task", "mixed")


class SourcedItem(NamedTuple):
    """A dataset item tagged with the name of the source it came from."""

    source: str
    item: Any


class MultiSourceDataset(Dataset):
    """Concatenation of named map-style datasets; ``dataset[i]`` is a :class:`SourcedItem`.

    Each source is wrapped in :class:`~mthub.training.collators.SkipCorruptDataset`, so a corrupt sample becomes a
    marker for the collator instead of an exception. ``epoch`` is the state read by
    :class:`MultiSourceBatchSampler`: accelerate's ``DataLoaderShard.set_epoch`` reaches the dataset even when the
    batch sampler is hidden behind ``BatchSamplerShard``/``SkipBatchSampler`` after a resume, so keeping it here
    makes resumed epochs draw the right permutation.
    """

    def __init__(self, datasets: Mapping[str, Dataset]) -> None:
        if not datasets:
            raise ValueError("MultiSourceDataset needs at least one source dataset.")
        self.names = list(datasets)
        self.datasets = [d if isinstance(d, SkipCorruptDataset) else SkipCorruptDataset(d) for d in datasets.values()]
        self.sizes = {name: len(d) for name, d in zip(self.names, self.datasets)}
        empty = [name for name, size in self.sizes.items() if size == 0]
        if empty:
            raise ValueError(f"MultiSourceDataset: sources {empty} are empty.")
        self.offsets = dict(zip(self.names, np.cumsum([0] + list(self.sizes.values()))[:-1].tolist()))
        self.epoch = 0

    def __len__(self) -> int:
        return sum(self.sizes.values())

    def locate(self, index: int) -> tuple[str, int]:
        """``(source, index within the source)`` of a global index."""
        if not 0 <= index < len(self):
            raise IndexError(f"MultiSourceDataset index {index} out of range [0, {len(self)}).")
        for name in reversed(self.names):
            if index >= self.offsets[name]:
                return name, index - self.offsets[name]
        raise AssertionError("unreachable")

    def __getitem__(self, index: int) -> SourcedItem:
        name, local = self.locate(int(index))
        return SourcedItem(name, self.datasets[self.names.index(name)][local])

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        for dataset in self.datasets:
            dataset.set_epoch(epoch)


def samples_per_batch(
    sources: Sequence[str], batch_size: int, task_sampling: str, mixing_ratios: Mapping[str, float] | None = None
) -> dict[str, int]:
    """Per-source sample counts ``k_s`` of one batch.

    ``per_task``: every source contributes a full batch of ``batch_size`` (one batch per source per step).
    ``mixed``: one batch of ``batch_size`` split by ``mixing_ratios`` (equal shares when ``None``); the shares must be
    whole numbers, e.g. ``{"real": 3, "synthetic": 1}`` with ``batch_size=8`` → 6 + 2.
    """
    if task_sampling not in TASK_SAMPLING:
        raise ValueError(f"task_sampling={task_sampling!r}; expected one of {TASK_SAMPLING}.")
    if task_sampling == "per_task":
        if mixing_ratios:
            raise ValueError("mixing_ratios only apply to task_sampling='mixed'.")
        return {name: batch_size for name in sources}
    ratios = dict(mixing_ratios) if mixing_ratios else {name: 1.0 for name in sources}
    if set(ratios) != set(sources):
        raise ValueError(f"mixing_ratios keys {sorted(ratios)} must equal the train_dataset sources {sorted(sources)}.")
    if any(r < 0 for r in ratios.values()) or sum(ratios.values()) <= 0:
        raise ValueError(f"mixing_ratios must be non-negative with a positive sum, got {ratios}.")
    total = sum(ratios.values())
    shares = {name: batch_size * ratios[name] / total for name in sources}
    if any(abs(share - round(share)) > 1e-9 for share in shares.values()):
        raise ValueError(
            f"mixing_ratios {ratios} split a batch of {batch_size} into {shares}: use a batch size that the ratios "
            "divide into whole samples (e.g. ratios 3:1 need a multiple of 4)."
        )
    return {name: int(round(share)) for name, share in shares.items()}


class MultiSourceBatchSampler(Sampler[list[int]]):
    """Batches of global indices into a :class:`MultiSourceDataset`: ``k_s`` samples of each source per batch.

    Args:
        dataset: the concatenated sources.
        samples_per_batch: ``{source: k_s}`` (see :func:`samples_per_batch`).
        epoch_semantics: ``"max_size_cycle"`` — an epoch lasts as many batches as the source needing the most
            (smaller sources cycle); ``"min_size"`` — as many as the source needing the fewest (larger sources are
            cut short). A source "needs" ``ceil(len_s / k_s)`` batches (``floor`` with ``drop_last=True``).
        shuffle: draw seeded permutations (``False``: each source in order).
        seed: data-order seed (``TrainingArguments.data_seed`` or ``seed``).
        drop_last: count only full passes over a source when measuring its batches; also tells accelerate's
            ``BatchSamplerShard`` to drop, rather than repeat, trailing batches that do not fill every rank.
    """

    def __init__(
        self,
        dataset: MultiSourceDataset,
        samples_per_batch: Mapping[str, int],
        *,
        epoch_semantics: str = "max_size_cycle",
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if epoch_semantics not in EPOCH_SEMANTICS:
            raise ValueError(f"epoch_semantics={epoch_semantics!r}; expected one of {EPOCH_SEMANTICS}.")
        if set(samples_per_batch) != set(dataset.names):
            raise ValueError(f"samples_per_batch keys {sorted(samples_per_batch)} != sources {dataset.names}.")
        self.dataset = dataset
        self.samples_per_batch = {name: int(samples_per_batch[name]) for name in dataset.names}
        self.epoch_semantics = epoch_semantics
        self.shuffle = shuffle
        self.seed = int(seed)
        self.drop_last = drop_last
        self.batch_size = sum(self.samples_per_batch.values())
        if self.batch_size <= 0:
            raise ValueError("MultiSourceBatchSampler: every source has 0 samples per batch.")
        if len(self) == 0:
            raise ValueError(
                f"MultiSourceBatchSampler: an epoch would have no batch (sources {dataset.sizes}, samples per batch "
                f"{self.samples_per_batch}, {epoch_semantics}, drop_last={drop_last})."
            )

    def batches_per_source(self) -> dict[str, int]:
        """How many batches each source fills in one pass (sources with ``k_s = 0`` are left out)."""
        out = {}
        for name, k in self.samples_per_batch.items():
            if k > 0:
                size = self.dataset.sizes[name]
                out[name] = size // k if self.drop_last else math.ceil(size / k)
        return out

    def __len__(self) -> int:
        counts = self.batches_per_source().values()
        return max(counts) if self.epoch_semantics == "max_size_cycle" else min(counts)

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)

    def _permutation(self, epoch: int, source: int, cycle: int, size: int) -> list[int]:
        if not self.shuffle:
            return list(range(size))
        state = np.random.SeedSequence([self.seed, epoch, source, cycle]).generate_state(2, dtype=np.uint32)
        generator = torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
        return torch.randperm(size, generator=generator).tolist()

    def _stream(self, epoch: int, source: int, size: int) -> Iterator[int]:
        cycle = 0
        while True:
            yield from self._permutation(epoch, source, cycle, size)
            cycle += 1

    def __iter__(self) -> Iterator[list[int]]:
        epoch = self.dataset.epoch
        streams = {
            name: self._stream(epoch, position, self.dataset.sizes[name])
            for position, name in enumerate(self.dataset.names)
        }
        for _ in range(len(self)):
            batch: list[int] = []
            for name, k in self.samples_per_batch.items():
                offset = self.dataset.offsets[name]
                batch.extend(offset + next(streams[name]) for _ in range(k))
            yield batch


class MultiSourceCollator:
    """Collates :class:`SourcedItem` lists.

    ``per_task``: ``{SOURCES_KEY: {source: collate_fn(items of source)}}`` — the trainer runs one forward per
    source and sums the losses. ``mixed``: ``collate_fn(all items)`` — one forward over the mixed batch, where a task
    that a source does not label is filled with its ignore value by the collator.
    """

    def __init__(self, collate_fn: Any, sources: Sequence[str], task_sampling: str) -> None:
        if task_sampling not in TASK_SAMPLING:
            raise ValueError(f"task_sampling={task_sampling!r}; expected one of {TASK_SAMPLING}.")
        self.collate_fn = collate_fn
        self.sources = list(sources)
        self.task_sampling = task_sampling

    def __call__(self, items: list[SourcedItem]) -> dict[str, Any]:
        if self.task_sampling == "mixed":
            return self.collate_fn([item.item for item in items])
        grouped: dict[str, list[Any]] = {name: [] for name in self.sources}
        for item in items:
            grouped[item.source].append(item.item)
        return {SOURCES_KEY: {name: self.collate_fn(group) for name, group in grouped.items() if group}}


class RankShardSampler(Sampler[int]):
    """Contiguous, unpadded shard ``rank`` of ``range(size)`` for evaluation.

    accelerate's evaluation sharding pads the last batch with repeated samples so all ranks step together (and
    ``gather_for_metrics`` trims them); metrics that are updated on each rank and reduced as states instead would
    count those repeats. Evaluation needs no lockstep (no gradients), so each rank reads its own exact shard.
    """

    def __init__(self, size: int, rank: int = 0, world_size: int = 1) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world size {world_size}.")
        base, extra = divmod(size, world_size)
        self.start = rank * base + min(rank, extra)
        self.stop = self.start + base + (1 if rank < extra else 0)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.start, self.stop))

    def __len__(self) -> int:
        return self.stop - self.start


__all__ = [
    "EPOCH_SEMANTICS",
    "SOURCES_KEY",
    "TASK_SAMPLING",
    "MultiSourceBatchSampler",
    "MultiSourceCollator",
    "MultiSourceDataset",
    "RankShardSampler",
    "SourcedItem",
    "samples_per_batch",
]

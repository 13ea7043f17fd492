"""Multi-dataset sampling: fixed-ratio mixing, epoch semantics, determinism, batch-size-invariant streams."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from mthub.training import MultiSourceBatchSampler, MultiSourceDataset, MultiTaskTrainer, samples_per_batch
from tests.training.helpers import FamilyDataset, build_model, make_args


class Indexed(torch.utils.data.Dataset):
    def __init__(self, size):
        self.size = size

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        return index


def sampler(sizes, per_batch, **kwargs):
    data = MultiSourceDataset({name: Indexed(n) for name, n in sizes.items()})
    return data, MultiSourceBatchSampler(data, per_batch, **kwargs)


def test_samples_per_batch_splits_by_ratio_and_rejects_fractions():
    assert samples_per_batch(["real", "synthetic"], 8, "mixed", {"real": 3, "synthetic": 1}) == {
        "real": 6,
        "synthetic": 2,
    }
    assert samples_per_batch(["a", "b"], 4, "per_task") == {"a": 4, "b": 4}
    assert samples_per_batch(["a", "b"], 4, "mixed") == {"a": 2, "b": 2}
    with pytest.raises(ValueError, match="whole samples"):
        samples_per_batch(["real", "synthetic"], 6, "mixed", {"real": 3, "synthetic": 1})
    with pytest.raises(ValueError, match="must equal the train_dataset sources"):
        samples_per_batch(["real", "synthetic"], 8, "mixed", {"real": 3})


def test_epoch_semantics_lengths_and_cycling():
    data, cycle = sampler({"big": 12, "small": 4}, {"big": 2, "small": 2}, epoch_semantics="max_size_cycle")
    assert len(cycle) == 6  # the largest source: 12 / 2 batches; the small one cycles 3 times
    small = Counter(i for batch in cycle for i in batch if i >= 12)
    assert sorted(small) == [12, 13, 14, 15] and set(small.values()) == {3}
    big = [i for batch in cycle for i in batch if i < 12]
    assert sorted(big) == list(range(12))  # every sample of the big source exactly once
    _, shortest = sampler({"big": 12, "small": 4}, {"big": 2, "small": 2}, epoch_semantics="min_size")
    assert len(shortest) == 2
    _, ragged = sampler({"big": 13, "small": 4}, {"big": 2, "small": 2})
    assert len(ragged) == 7 and all(len(b) == 4 for b in ragged)  # the last big batch is completed by cycling
    _, dropped = sampler({"big": 13, "small": 4}, {"big": 2, "small": 2}, drop_last=True)
    assert len(dropped) == 6


def test_streams_are_seeded_per_epoch_and_do_not_depend_on_the_batch_size():
    data, by2 = sampler({"a": 8, "b": 6}, {"a": 2, "b": 2}, seed=5)
    first = list(by2)
    assert first == list(by2)  # same epoch, same batches
    by2.set_epoch(1)
    assert list(by2) != first and data.epoch == 1
    _, other_seed = sampler({"a": 8, "b": 6}, {"a": 2, "b": 2}, seed=6)
    assert list(other_seed) != first
    # k draws per batch on two ranks read what 2k draws per batch read on one process.
    _, by4 = sampler({"a": 8, "b": 6}, {"a": 4, "b": 4}, seed=5)
    for pair, merged in zip(zip(first[0::2], first[1::2]), by4):
        a = [i for i in pair[0] + pair[1] if i < 8]
        assert a == [i for i in merged if i < 8]


def test_ratio_mixing_through_the_trainer(tmp_path):
    """real:synthetic = 3:1 by sample count in every batch, deterministic under the seed."""
    family, config, model = build_model()
    real = FamilyDataset(family, config, size=12, seed=1, marker=100.0)
    synthetic = FamilyDataset(family, config, size=8, seed=2, marker=-100.0, tasks=["segmentation"])

    def batches(seed):
        args = make_args(
            tmp_path,
            per_device_train_batch_size=8,
            task_sampling="mixed",
            mixing_ratios={"real": 3, "synthetic": 1},
            seed=seed,
        )
        trainer = MultiTaskTrainer(model=model, args=args, train_dataset={"real": real, "synthetic": synthetic})
        return list(trainer.get_train_dataloader())

    first = batches(0)
    assert len(first) == 4  # max_size_cycle: synthetic needs 8 / 2 = 4 batches, real 12 / 6 = 2 (cycled)
    for batch in first:
        means = batch["pixel_values"].mean(dim=(1, 2, 3, 4))
        assert (means > 50).sum() == 6 and (means < -50).sum() == 2
        action = batch["labels"]["action"]
        assert (action[means < -50] == -100).all()  # the synthetic source has no action labels: masked
        assert (action[means > 50] != -100).all()
    again = batches(0)
    assert all(torch.equal(a["pixel_values"], b["pixel_values"]) for a, b in zip(first, again))
    assert not all(torch.equal(a["pixel_values"], b["pixel_values"]) for a, b in zip(first, batches(1)))


@pytest.mark.parametrize(("semantics", "steps"), [("max_size_cycle", 6), ("min_size", 2)])
def test_epoch_semantics_set_the_steps_per_epoch(tmp_path, semantics, steps):
    family, config, model = build_model()
    sources = {
        "action": FamilyDataset(family, config, size=12, tasks=["action"]),
        "segmentation": FamilyDataset(family, config, size=4, tasks=["segmentation"]),
    }
    args = make_args(
        tmp_path, per_device_train_batch_size=2, num_train_epochs=1, epoch_semantics=semantics, logging_steps=100
    )
    trainer = MultiTaskTrainer(model=model, args=args, train_dataset=sources)
    trainer.train()
    assert trainer.state.global_step == steps and trainer.state.epoch == 1.0

"""Every registered model family trains through MultiTaskTrainer (issue 5, acceptance bullet 1)."""

from __future__ import annotations

import pytest
import torch

import mthub
from mthub.training import SOURCES_KEY, MultiTaskTrainer, VideoCollator
from tests.training.helpers import FamilyDataset, build_model, logged, make_args

FAMILIES = mthub.list_model_families()


class RecordingTrainer(MultiTaskTrainer):
    """Records, for every forward, which sources the batch held and which tasks had labels."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        batches = inputs[SOURCES_KEY] if SOURCES_KEY in inputs else {"": inputs}
        self.seen.append(
            {
                source: {
                    "size": next(iter(b.values())).shape[0],
                    "labelled": sorted(t for t, v in b["labels"].items() if v is not None),
                }
                for source, b in batches.items()
            }
        )
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


@pytest.mark.parametrize("family_name", FAMILIES)
def test_family_trains_one_batch_per_task_and_every_task_loss_drops(family_name, tmp_path):
    family, config, model = build_model(family_name)
    if family.example_labels is None:
        pytest.skip(f"{family_name} declares no example labels")
    tasks = config.task_names
    sources = {task: FamilyDataset(family, config, size=4, seed=i, tasks=[task]) for i, task in enumerate(tasks)}
    steps, batch = 30, 4
    trainer = RecordingTrainer(
        model=model,
        args=make_args(tmp_path, max_steps=steps, per_device_train_batch_size=batch, learning_rate=1e-2),
        train_dataset=sources,
    )
    trainer.seen = []
    trainer.train()

    # One batch per task per step, each holding only its own task's labels.
    assert len(trainer.seen) == steps
    for step in trainer.seen:
        assert step == {task: {"size": batch, "labelled": [task]} for task in tasks}
    # Every task's logged loss falls: mean of the last 5 logs < 0.7 x mean of the first 5.
    for task in tasks:
        history = logged(trainer, f"loss/{task}")
        assert len(history) == steps, task
        first, last = sum(history[:5]) / 5, sum(history[-5:]) / 5
        assert last < 0.7 * first, (task, first, last)
    # The summed step loss is what transformers logs as "loss".
    total = logged(trainer, "loss")
    per_task = [sum(logged(trainer, f"loss/{t}")[i] * config.task(t).loss_weight for t in tasks) for i in range(steps)]
    torch.testing.assert_close(torch.tensor(total), torch.tensor(per_task), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("family_name", FAMILIES)
def test_missing_labels_are_masked(family_name):
    """A task's labels missing for half the batch give the loss of the labelled half; missing for the whole batch,
    the task has no loss but its head still gets a (zero) gradient, so DDP reductions see every parameter."""
    family, config, model = build_model(family_name)
    if family.example_labels is None:
        pytest.skip(f"{family_name} declares no example labels")
    model.eval()  # BatchNorm on running statistics: samples do not influence each other
    collate = VideoCollator.for_model(model)
    for task in config.task_names:
        data = FamilyDataset(family, config, size=4, seed=3, missing={task: {2, 3}})
        full = collate([data[i] for i in range(4)])
        assert full["labels"][task] is not None
        half = collate([data[i] for i in range(2)])
        loss_full = model(**{k: v for k, v in full.items() if k != "corrupt_samples_skipped"}).losses[task]
        loss_half = model(**{k: v for k, v in half.items() if k != "corrupt_samples_skipped"}).losses[task]
        torch.testing.assert_close(loss_full, loss_half, rtol=1e-5, atol=1e-6)

        absent = collate([data[i] for i in (2, 3)])
        assert absent["labels"][task] is None
        model.zero_grad()
        outputs = model(**{k: v for k, v in absent.items() if k != "corrupt_samples_skipped"})
        assert task not in (outputs.losses or {})
        outputs.loss.backward()
        assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
        assert torch.isfinite(outputs.loss)

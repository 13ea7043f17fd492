"""Shared pieces of the training tests: learnable family datasets, argument defaults, the example script."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from torch.utils.data import Dataset
from transformers import AutoModel

import mthub
from mthub.data.errors import CorruptSampleError
from mthub.training import MultiTaskTrainingArguments

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "train_multitask.py"


def load_example():
    """The example training script as a module (its ``main(argv)`` runs a whole training in-process)."""
    spec = importlib.util.spec_from_file_location("train_multitask_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def accelerate_bin() -> str:
    """The ``accelerate`` launcher of the interpreter running the tests (``.venv/bin/accelerate``)."""
    path = Path(sys.executable).parent / "accelerate"
    if not path.exists():
        raise FileNotFoundError(f"no accelerate launcher next to {sys.executable}")
    return str(path)


@contextlib.contextmanager
def single_thread():
    """Run in-process training with one intra-op thread, like the ``OMP_NUM_THREADS=1`` subprocesses it is
    compared with (a different thread count may change float summation order)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def build_model(family_name: str = "mthub_tiny_mt", seed: int = 0, **overrides):
    family = mthub.get_family(family_name)
    config = family.tiny_config()
    for key, value in overrides.items():
        setattr(config, key, value)
    torch.manual_seed(seed)
    return family, config, AutoModel.from_config(config)


def make_args(tmp_path, **kwargs) -> MultiTaskTrainingArguments:
    defaults = dict(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=4,
        learning_rate=3e-3,
        lr_scheduler_type="constant",
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
        seed=0,
    )
    defaults.update(kwargs)
    return MultiTaskTrainingArguments(**defaults)


class FamilyDataset(Dataset):
    """``size`` fixed samples of a family (``example_inputs`` / ``example_labels``, seeded) that a tiny model can fit.

    Dense labels are made constant over each sample's map (a random per-pixel map is not learnable by a model
    that predicts at patch resolution); other labels are memorisable per sample. ``tasks`` keeps only those tasks'
    labels; ``missing[task]`` lists samples without that task's label. A ``marker`` is added to the pixels so that
    tests can tell sources apart.
    """

    def __init__(
        self,
        family,
        config,
        size: int = 8,
        seed: int = 0,
        tasks: Iterable[str] | None = None,
        missing: Mapping[str, Iterable[int]] | None = None,
        marker: float = 0.0,
        corrupt: Iterable[int] = (),
    ) -> None:
        state = torch.get_rng_state()
        torch.manual_seed(seed)
        try:
            self.inputs = family.example_inputs(config, size)
            labels = family.example_labels(config, size)
        finally:
            torch.set_rng_state(state)
        kinds = {spec.name: spec.kind for spec in config.task_specs}
        for task, value in labels.items():
            if kinds[task].startswith("dense"):
                first = value.reshape(size, -1)[:, :1]
                labels[task] = first.expand(size, value[0].numel()).reshape(value.shape).clone()
        self.inputs = {k: v + marker if v.is_floating_point() else v for k, v in self.inputs.items()}
        self.labels = labels
        self.tasks = list(tasks) if tasks is not None else list(labels)
        self.missing = {task: set(indices) for task, indices in (missing or {}).items()}
        self.corrupt = set(corrupt)
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict:
        if index in self.corrupt:
            raise CorruptSampleError(f"/data/clip_{index:03d}.mp4", "moov atom not found")
        sample = {key: value[index] for key, value in self.inputs.items()}
        sample["labels"] = {
            task: self.labels[task][index] for task in self.tasks if index not in self.missing.get(task, ())
        }
        return sample


def logged(trainer, key: str) -> list[float]:
    return [entry[key] for entry in trainer.state.log_history if key in entry]


def params(model) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}

"""Cached TS features for EgoT2 stage II: extraction through the frozen TS models into safetensors shards, the
map-style dataset that reads them, and a learnable synthetic fixture.

Stage II trains only the translator, so the frozen TS models' outputs can be computed once (the paper's Eq. 1) and
read back every epoch — the official code recomputes them in every step. Layout of a feature folder::

    index.json                 {"format": "mthub-egot2-features", "version": 1, "streams": [...], "tasks": [...],
                                "num_samples": N, "shards": [{"file": "shard-00000.safetensors", "num_samples": n}],
                                "metadata": {...}}
    shard-00000.safetensors    per sample i (shard-local): "{i}/{stream}_features" (T_k, D_k),
                               "{i}/labels/{task}" (label-space tensor), and any "{i}/{extra}" tensors

Samples are stored one by one (variable-length TTM/ASD segments need no padding); shards are memory-mapped, so a
dataset costs no RAM until items are read. CLI (videos through :class:`~mthub.models.egot2.EgoT2Processor`)::

    python -m mthub.models.egot2.features_egot2 --model mthub/egot2-s-oscc --videos a.mp4 b.mp4 --output feats/
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch.utils.data import Dataset

__all__ = ["FORMAT", "EgoT2FeatureDataset", "FeatureShardWriter", "extract_features", "main", "synthetic_samples", "write_synthetic_features"]

FORMAT = "mthub-egot2-features"
INDEX = "index.json"


class FeatureShardWriter:
    """Writes samples ``{"<stream>_features": (T, D), "labels": {task: tensor}, ...}`` into safetensors shards of
    ``shard_size`` samples and an ``index.json`` (:meth:`close`)."""

    def __init__(self, output_dir: str | os.PathLike, shard_size: int = 256, metadata: Mapping[str, Any] | None = None) -> None:
        if shard_size < 1:
            raise ValueError(f"shard_size must be ≥ 1, got {shard_size}")
        self.directory = Path(output_dir)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.shard_size = shard_size
        self.metadata = dict(metadata or {})
        self._buffer: dict[str, torch.Tensor] = {}
        self._count = 0
        self._shards: list[dict[str, Any]] = []
        self._streams: set[str] = set()
        self._tasks: set[str] = set()
        self.num_samples = 0

    def add(self, sample: Mapping[str, Any]) -> None:
        index = self._count
        for key, value in sample.items():
            if key == "labels":
                for task, label in (value or {}).items():
                    if label is not None:
                        self._buffer[f"{index}/labels/{task}"] = torch.as_tensor(label).detach().cpu().contiguous()
                        self._tasks.add(task)
            elif isinstance(value, torch.Tensor):
                self._buffer[f"{index}/{key}"] = value.detach().cpu().contiguous()
                if key.endswith("_features"):
                    self._streams.add(key[: -len("_features")])
        self._count += 1
        self.num_samples += 1
        if self._count == self.shard_size:
            self._flush()

    def add_batch(self, batch: Mapping[str, Any]) -> None:
        """Split a batch (leading axis ``B`` on every tensor and label) into samples."""
        sizes = {v.shape[0] for v in batch.values() if isinstance(v, torch.Tensor)}
        sizes |= {v.shape[0] for v in (batch.get("labels") or {}).values() if v is not None}
        if len(sizes) != 1:
            raise ValueError(f"batch tensors disagree on the batch size: {sorted(sizes)}")
        for i in range(sizes.pop()):
            sample = {k: v[i] for k, v in batch.items() if isinstance(v, torch.Tensor)}
            sample["labels"] = {t: v[i] for t, v in (batch.get("labels") or {}).items() if v is not None}
            self.add(sample)

    def _flush(self) -> None:
        if not self._count:
            return
        name = f"shard-{len(self._shards):05d}.safetensors"
        save_file(self._buffer, str(self.directory / name), metadata={"format": FORMAT})
        self._shards.append({"file": name, "num_samples": self._count})
        self._buffer, self._count = {}, 0

    def close(self) -> Path:
        self._flush()
        index = {
            "format": FORMAT,
            "version": 1,
            "streams": sorted(self._streams),
            "tasks": sorted(self._tasks),
            "num_samples": self.num_samples,
            "shards": self._shards,
            "metadata": self.metadata,
        }
        path = self.directory / INDEX
        path.write_text(json.dumps(index, indent=1) + "\n")
        return path

    def __enter__(self) -> FeatureShardWriter:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.close()


class EgoT2FeatureDataset(Dataset):
    """A feature folder (module docstring) as a map-style dataset: ``dataset[i]`` is
    ``{"<stream>_features": (T_k, D_k), ..., "labels": {task: tensor}}``, ready for
    :class:`~mthub.training.VideoCollator` and :class:`~mthub.training.MultiTaskTrainer`.

    Args:
        directory: the folder with ``index.json``.
        tasks: keep only these tasks' labels (e.g. one EgoT2-g source per task).
        streams: keep only these streams.
    """

    def __init__(self, directory: str | os.PathLike, tasks: Iterable[str] | None = None, streams: Iterable[str] | None = None) -> None:
        self.directory = Path(directory)
        path = self.directory / INDEX
        if not path.is_file():
            raise FileNotFoundError(f"{path}: not an EgoT2 feature folder (no {INDEX}; write one with FeatureShardWriter).")
        self.index = json.loads(path.read_text())
        if self.index.get("format") != FORMAT:
            raise ValueError(f"{path}: format {self.index.get('format')!r}, expected {FORMAT!r}.")
        self.tasks = None if tasks is None else set(tasks)
        self.streams = None if streams is None else set(streams)
        self._locations: list[tuple[int, int]] = [
            (shard, local) for shard, entry in enumerate(self.index["shards"]) for local in range(entry["num_samples"])
        ]
        self._handles: dict[int, Any] = {}
        self._keys: dict[int, dict[int, list[str]]] = {}

    def __len__(self) -> int:
        return len(self._locations)

    def _open(self, shard: int):
        if shard not in self._handles:  # opened lazily: DataLoader workers each get their own handles
            handle = safe_open(str(self.directory / self.index["shards"][shard]["file"]), framework="pt")
            keys: dict[int, list[str]] = {}
            for key in handle.keys():
                local, _, _ = key.partition("/")
                keys.setdefault(int(local), []).append(key)
            self._handles[shard], self._keys[shard] = handle, keys
        return self._handles[shard], self._keys[shard]

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        shard, local = self._locations[index]
        handle, keys = self._open(shard)
        sample: dict[str, Any] = {"labels": {}}
        for key in keys[local]:
            name = key.split("/", 1)[1]
            if name.startswith("labels/"):
                task = name[len("labels/"):]
                if self.tasks is None or task in self.tasks:
                    sample["labels"][task] = handle.get_tensor(key)
            elif self.streams is None or not name.endswith("_features") or name[: -len("_features")] in self.streams:
                sample[name] = handle.get_tensor(key)
        return sample

    def __getstate__(self) -> dict[str, Any]:  # safetensors handles are not picklable (DataLoader workers)
        state = dict(self.__dict__)
        state["_handles"], state["_keys"] = {}, {}
        return state


@torch.no_grad()
def extract_features(model, batches: Iterable[Mapping[str, Any]], output_dir: str | os.PathLike, shard_size: int = 256, streams: Iterable[str] | None = None) -> Path:
    """Run the frozen TS models of an EgoT2 ``model`` on raw-input ``batches`` (``<source>_pixel_values`` …, plus
    optional ``labels``) and cache every stream's tokens. Returns the ``index.json`` path."""
    if getattr(model, "ts_models", None) is None:
        raise ValueError("feature extraction needs an EgoT2 model with TS models (config.use_ts_models=True).")
    config = model.config
    names = list(streams or config.stream_names)
    metadata = {"model": str(config.name_or_path or ""), "streams": {n: config.stream(n) for n in names}}
    was_training = model.training
    model.eval()
    try:
        with FeatureShardWriter(output_dir, shard_size, metadata) as writer:
            for batch in batches:
                raw = {k: v for k, v in batch.items() if k != "labels" and isinstance(v, torch.Tensor)}
                cache: dict = {}
                features = {f"{n}_features": model.ts_models.extract(config.stream(n), raw, cache).float() for n in names}
                writer.add_batch({**features, "labels": batch.get("labels") or {}})
    finally:
        model.train(was_training)
    return Path(output_dir) / INDEX


def synthetic_samples(config, num_samples: int, seed: int = 0, tasks: Iterable[str] | None = None, num_frames: int = 6) -> Iterator[dict[str, Any]]:
    """A learnable fixture in the shapes of ``config``'s streams: every task's label is written into the features
    (class ``c`` adds ``+2`` to channel ``c mod D_k`` of every token of every stream; ASD per frame), on top of
    N(0, 1) noise. Yields samples with labels for ``tasks`` (default: all)."""
    generator = torch.Generator().manual_seed(seed)
    tasks = list(tasks) if tasks is not None else list(config.task_order)
    for _ in range(num_samples):
        labels: dict[str, torch.Tensor] = {}
        for task in tasks:
            classes = config.num_classes(task)
            if task == "asd":
                labels[task] = torch.randint(0, classes, (num_frames,), generator=generator)
            elif task.startswith("lta") and config.variant == "s":
                labels[task] = torch.randint(0, classes, (config.num_future,), generator=generator)
            else:
                labels[task] = torch.randint(0, classes, (), generator=generator)
        sample: dict[str, Any] = {"labels": labels}
        for stream in config.streams:
            length = stream["num_tokens"] or num_frames
            features = torch.randn(length, stream["input_dim"], generator=generator)
            for offset, (task, label) in enumerate(labels.items()):
                if label.dim() == 1 and task == "asd" and length == label.shape[0]:
                    features[torch.arange(length), (label + 2 * offset) % stream["input_dim"]] += 2.0
                else:
                    first = label.reshape(-1)[0]
                    features[:, (first + 7 * offset) % stream["input_dim"]] += 2.0
            sample[f"{stream['name']}_features"] = features
        yield sample


def write_synthetic_features(config, output_dir: str | os.PathLike, num_samples: int, seed: int = 0, tasks: Iterable[str] | None = None, shard_size: int = 64) -> Path:
    """:func:`synthetic_samples` written as a feature folder; returns the folder."""
    with FeatureShardWriter(output_dir, shard_size, {"synthetic": True, "seed": seed}) as writer:
        for sample in synthetic_samples(config, num_samples, seed, tasks):
            writer.add(sample)
    return Path(output_dir)


def main(argv: list[str] | None = None) -> Path:
    """CLI: videos (+ optional audio / face tracks) → processor → frozen TS models → feature shards."""
    parser = argparse.ArgumentParser(description="Cache EgoT2 TS features (safetensors shards) for stage-II training.")
    parser.add_argument("--model", required=True, help="EgoT2 model folder / Hub id, or an mthub preset name")
    parser.add_argument("--videos", nargs="+", required=True, help="video files (one sample each)")
    parser.add_argument("--labels", default=None, help="JSON: {video path: {task: label}} (optional)")
    parser.add_argument("--output", required=True)
    parser.add_argument("--shard-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=1)
    opts = parser.parse_args(argv)

    from transformers import AutoModel

    import mthub

    from .processing_egot2 import EgoT2Processor

    if opts.model in mthub.list_presets("mthub_egot2"):
        model = AutoModel.from_config(mthub.preset_config(opts.model))
        processor = EgoT2Processor.from_config(model.config)
    else:
        model = AutoModel.from_pretrained(opts.model)
        processor = EgoT2Processor.from_pretrained(opts.model)
    labels = json.loads(Path(opts.labels).read_text()) if opts.labels else {}

    def batches() -> Iterator[dict[str, Any]]:
        for start in range(0, len(opts.videos), opts.batch_size):
            paths = opts.videos[start : start + opts.batch_size]
            inputs = [processor(video=path) for path in paths]
            batch = {k: torch.cat([i[k] for i in inputs]) for k in inputs[0]}
            per_task: dict[str, list] = {}
            for path in paths:
                for task, value in labels.get(path, {}).items():
                    per_task.setdefault(task, []).append(torch.as_tensor(value))
            batch["labels"] = {t: torch.stack(v) for t, v in per_task.items() if len(v) == len(paths)}
            yield batch

    index = extract_features(model, batches(), opts.output, opts.shard_size)
    print(f"wrote {json.loads(index.read_text())['num_samples']} samples to {opts.output}")
    return index


if __name__ == "__main__":
    main()

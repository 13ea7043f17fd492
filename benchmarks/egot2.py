"""EgoT2: stage-II training step from cached TS features vs from raw clips, and per-task inference latency, side by
side (``benchmarks/harness.py``: median / IQR of interleaved calls, CUDA-synchronised, peak memory).

Two comparisons per preset:

* ``step/<preset>``: **candidate** = one optimizer step of the translator on cached TS features
  (``<stream>_features``, what ``examples/train_egot2_*.py`` train on); **reference** = the same step on raw
  clips, the frozen TS models running inside the step (what the official code does every iteration). The ratio
  is the saving of caching features (:mod:`mthub.models.egot2.features_egot2`).
* ``infer/<preset>/<task>``: **candidate** = the prediction of one task from raw inputs (TS models + translator;
  EgoT2-g: the task's prompt, greedy decoding); **reference** = the TS feature extraction alone (of the streams the task reads). The difference is
  the translator's share of the latency; decoding a video (PyAV) is excluded (inputs are tensors).

Defaults: CPU — the tiny layouts of every main preset plus full-size ``egot2-s-ttm`` / ``egot2-g-hhi`` (TS models
at full size, random weights, 32-frame segments); GPU — the full-size main presets. Usage::

    PYTHONPATH=src python benchmarks/egot2.py                         # CPU
    PYTHONPATH=src python benchmarks/egot2.py --device cuda --out benchmarks/results/egot2-cuda.json
    PYTHONPATH=src python benchmarks/egot2.py --presets egot2-s-oscc --tiny --iters 5

Only torch / transformers are needed at import (``mthub`` is imported inside the functions; no datasets, no PyAV).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
MAIN_PRESETS = ("egot2-s-pnr", "egot2-s-oscc", "egot2-s-ar", "egot2-s-lta", "egot2-s-ttm", "egot2-s-asd", "egot2-g-hhi", "egot2-g-hoi-po")
CPU_FULL_SIZE = ("egot2-s-ttm", "egot2-g-hhi")


def _harness():
    """``benchmarks/harness.py`` loaded by path (it is a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("mthub_benchmark_harness", HERE / "harness.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(preset: str, tiny: bool, device: torch.device, frames: int = 32):
    """The model (TS models attached, random weights), raw inputs and features of one batch, and labels."""
    import mthub
    from mthub.models.egot2 import EgoT2Model, example_labels, tiny_egot2_config
    from mthub.models.egot2.tiny_egot2 import example_raw_inputs

    torch.manual_seed(0)
    if tiny:
        config = tiny_egot2_config(preset, with_ts=True)
    else:
        config = mthub.preset_config(preset, ts_checkpoints=None)
        for sub in config.ts_configs.values():  # full-size inputs of the TS models
            sub.setdefault("num_frames", {"pnr": 16, "oscc": 16, "ar": 32, "lta": 32}.get(sub["ego4d_task"]))
            sub.setdefault("image_size", {"pnr": 225, "oscc": 225, "asd": 112}.get(sub["ego4d_task"], 224))
    model = EgoT2Model(config).to(device)
    raw = {k: v.to(device) for k, v in example_raw_inputs(config, 1, num_frames=frames).items()}
    with torch.no_grad():
        cache: dict = {}
        features = {f"{n}_features": model.ts_models.extract(config.stream(n), raw, cache) for n in config.stream_names}
    labels = example_labels(config, 1)
    if "asd" in labels:
        labels["asd"] = torch.randint(0, 2, (1, next(v.shape[1] for k, v in features.items() if k.startswith("asd"))))
    labels = {k: v.to(device) for k, v in labels.items()}
    return model, raw, features, labels


def step_case(preset: str, tiny: bool, device: torch.device, frames: int = 32):
    """(candidate: step on cached features, reference: step on raw clips) of one preset."""
    model, raw, features, labels = build(preset, tiny, device, frames)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

    def step(inputs):
        def run():
            optimizer.zero_grad(set_to_none=True)
            model(**inputs, labels=labels).loss.backward()
            optimizer.step()

        return run

    return step(features), step(raw)


def inference_cases(preset: str, tiny: bool, device: torch.device, frames: int = 32) -> dict[str, tuple]:
    """``{task: (candidate: predict task from raw inputs, reference: TS extraction alone)}``."""
    model, raw, _, _ = build(preset, tiny, device, frames)
    model.eval()
    config = model.config

    def extraction(streams):
        def run():
            with torch.inference_mode():
                cache: dict = {}
                return [model.ts_models.extract(config.stream(n), raw, cache) for n in streams]

        return run

    cases = {}
    for task in config.task_order:
        streams = config.prompt(task)["streams"] if config.variant == "g" else config.stream_names
        if config.variant == "g":
            def predict(task=task):
                with torch.inference_mode():
                    return model.generate(**raw, task=task)
        else:
            def predict():
                with torch.inference_mode():
                    return model(**raw).logits
        cases[task] = (predict, extraction(streams))
    return cases


def run(presets: list[str], tiny_presets: set[str], device: torch.device, iters: int, warmup: int, frames: int) -> list[dict[str, Any]]:
    harness = _harness()
    results = []
    for preset in presets:
        tiny = preset in tiny_presets
        tag = f"{preset}{' (tiny)' if tiny else ''}"
        candidate, reference = step_case(preset, tiny, device, frames)
        result = harness.benchmark(candidate, reference, name=f"step/{tag}: cached features vs raw clips", warmup=warmup, iters=iters, device=device)
        results.append({**result, "preset": preset, "tiny": tiny, "kind": "stage2_step"})
        for task, (candidate, reference) in inference_cases(preset, tiny, device, frames).items():
            result = harness.benchmark(candidate, reference, name=f"infer/{tag}/{task}: TS + translator vs TS only", warmup=warmup, iters=iters, device=device)
            results.append({**result, "preset": preset, "tiny": tiny, "task": task, "kind": "inference"})
    return results


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="*", default=None)
    parser.add_argument("--tiny", action="store_true", help="tiny layouts only")
    parser.add_argument("--device", default=None)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--frames", type=int, default=32, help="frames of the social (LAM/TTM/ASD) segments")
    parser.add_argument("--out", default=None)
    opts = parser.parse_args(argv)
    device = torch.device(opts.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if opts.presets:
        presets, tiny = list(opts.presets), set(opts.presets) if opts.tiny else set()
    elif opts.tiny:
        presets, tiny = list(MAIN_PRESETS), set(MAIN_PRESETS)
    elif device.type == "cpu":  # tiny layouts of every main preset, then the full-size HHI presets
        results = run(list(MAIN_PRESETS), set(MAIN_PRESETS), device, opts.iters, opts.warmup, 8)
        results += run(list(CPU_FULL_SIZE), set(), device, max(3, opts.iters // 3), 1, opts.frames)
        return _finish(results, opts.out, device)
    else:
        presets, tiny = list(MAIN_PRESETS), set()
    return _finish(run(presets, tiny, device, opts.iters, opts.warmup, opts.frames), opts.out, device)


def _finish(results: list[dict[str, Any]], out: str | None, device: torch.device) -> list[dict[str, Any]]:
    harness = _harness()
    path = out or str(HERE / "results" / f"egot2-{device.type}.json")
    harness.write_results(results, path)
    print(f"wrote {len(results)} results to {path}", file=sys.stderr)
    return results


if __name__ == "__main__":
    main()

"""TIF presets: parameters, GMACs, throughput and peak memory, side by side with the encoder alone.

For every preset, at its dataset's input size (NYUD 448×576, PASCAL 512×512, tiny 64×64):

* **candidate** = the whole TIF forward (encoder + SAFF + task decoders), **reference** = the backbone alone (timm
  feature extractor, plus the ViT neck for ViT-B), timed side by side by ``benchmarks/harness.py`` (median / IQR,
  interleaved calls, CUDA-synchronised) — the difference is the decoder's share of the cost;
* parameters: total, backbone (the paper's "encoder" column), the rest;
* GMACs (1 MAC = 1 multiply-add; the paper's "GFLOPs" are MACs from an unknown counter at an unknown resolution)
  of both callables, counted on the meta device by :func:`mthub.analysis.count_macs` — next to the paper's figures;
* throughput (images / s) from the median time, and peak memory of one call above the resident weights.

Default preset lists: on CPU the tiny, HRNet18 and Swin-T presets; on a GPU every preset. Usage::

    PYTHONPATH=src python benchmarks/tif.py                          # CPU: tiny, HRNet18, Swin-T
    PYTHONPATH=src python benchmarks/tif.py --device cuda --amp --out benchmarks/results/tif-cuda.json
    PYTHONPATH=src python benchmarks/tif.py --presets tif-swin-l-nyud --device cuda --batch-size 8

Only torch / transformers / timm are needed (``mthub`` is imported inside the functions; no datasets, no PyAV).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
CPU_PRESETS = ("tif-tiny-test", "tif-hrnet18-nyud", "tif-swin-t-nyud")


def _harness():
    """``benchmarks/harness.py`` loaded by path (it is a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("mthub_benchmark_harness", HERE / "harness.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def default_presets(device: torch.device) -> list[str]:
    import mthub

    return list(CPU_PRESETS) if device.type == "cpu" else mthub.list_presets("mthub_tif")


def measure_costs(name: str, batch_size: int = 1) -> dict[str, Any]:
    """Parameters and GMACs of preset ``name`` and of its backbone alone, counted on the meta device."""
    from transformers import AutoModel

    import mthub
    from mthub.analysis import build_on_meta, count_macs, count_parameters

    preset = mthub.get_preset(name)
    size = (preset.input_size["height"], preset.input_size["width"])
    model = build_on_meta(AutoModel.from_config, mthub.preset_config(name))
    backbone = model.encoder.backbone
    inputs = (torch.empty(batch_size, 3, *size, device="meta"),)
    total = count_parameters(model).total
    encoder = backbone.num_encoder_parameters
    model_macs = count_macs(model, inputs, module_depth=1)
    backbone_macs = count_macs(backbone, inputs, module_depth=1)
    return {
        "preset": name,
        "input_size": list(size),
        "batch_size": batch_size,
        "params": {
            "total": total,
            "encoder": encoder,  # the timm feature extractor: the paper's "Encoder" column
            "backbone_module": count_parameters(backbone).total,  # + ViT neck for ViT-B
            "decoder": total - encoder,  # SAFF + (ViT neck) + task decoders
        },
        "gmacs": {
            "model": model_macs.total_gmacs,
            "backbone": backbone_macs.total_gmacs,
            "decoder_share": model_macs.total_gmacs - backbone_macs.total_gmacs,
            "per_image_model": model_macs.total_gmacs / batch_size,
            "convention": model_macs.convention,
        },
        "paper": {key: preset.reported[key] for key in ("params_M", "GFLOPs") if key in preset.reported},
    }


def build_callables(name: str, device: torch.device, batch_size: int, amp: bool):
    """``(candidate, reference)``: the full model and the backbone alone, random weights, one random batch."""
    from transformers import AutoModel

    import mthub

    preset = mthub.get_preset(name)
    size = (preset.input_size["height"], preset.input_size["width"])
    torch.manual_seed(0)
    model = AutoModel.from_config(mthub.preset_config(name)).to(device).eval()
    pixels = torch.randn(batch_size, 3, *size, device=device)
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16) if amp else contextlib.nullcontext()

    def candidate():
        with torch.inference_mode(), autocast:
            return model(pixels).logits

    def reference():
        with torch.inference_mode(), autocast:
            return model.encoder.backbone(pixels)

    return candidate, reference


def run(
    presets: list[str] | None = None,
    device: str | None = None,
    batch_size: int | None = None,
    warmup: int = 2,
    iters: int = 10,
    amp: bool = False,
) -> list[dict[str, Any]]:
    harness = _harness()
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    batch = batch_size or (1 if dev.type == "cpu" else 8)
    results = []
    for name in presets or default_presets(dev):
        costs = measure_costs(name, batch)
        candidate, reference = build_callables(name, dev, batch, amp)
        timing = harness.benchmark(
            candidate, reference, name=name, warmup=warmup, iters=iters, device=dev, verbose=False
        )
        timing["throughput_img_per_s"] = {
            "model": batch * 1000.0 / timing["candidate"]["median_ms"],
            "backbone": batch * 1000.0 / timing["reference"]["median_ms"],
        }
        timing["amp_bf16"] = amp
        results.append({**costs, **timing})
        print(format_row(results[-1]), flush=True)
        del candidate, reference
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return results


def format_row(result: dict[str, Any]) -> str:
    params, gmacs, paper = result["params"], result["gmacs"], result["paper"]
    paper_text = ", ".join(f"{k} {v}" for k, v in paper.items()) or "—"
    mem = result["candidate"]["peak_mem_bytes"]
    return (
        f"{result['preset']:<36} {result['input_size'][0]}×{result['input_size'][1]} b{result['batch_size']}: "
        f"params {params['total'] / 1e6:.2f} M (encoder {params['encoder'] / 1e6:.2f} M) | "
        f"GMACs/img {gmacs['per_image_model']:.4g} (backbone {gmacs['backbone'] / result['batch_size']:.4g}) | "
        f"{result['throughput_img_per_s']['model']:.2f} img/s (backbone {result['throughput_img_per_s']['backbone']:.2f}) | "
        f"peak {'n/a' if mem is None else f'{mem / 2**20:.0f} MiB'} | paper: {paper_text}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/tif.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="*", default=None, help="preset names (default: CPU trio or all on GPU)")
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda if available)")
    parser.add_argument("--batch-size", type=int, default=None, help="images per call (default: 1 on CPU, 8 on GPU)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--amp", action="store_true", help="bf16 autocast (GPU)")
    parser.add_argument("--out", type=Path, default=None, help="JSON file for the results")
    args = parser.parse_args(argv)
    results = run(args.presets, args.device, args.batch_size, args.warmup, args.iters, args.amp)
    if args.out is not None:
        print(f"wrote {_harness().write_results(results, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

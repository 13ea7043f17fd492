"""Side-by-side benchmark harness: time a candidate against a reference callable in one process.

Needs only ``torch`` (``transformers``/``timm`` versions are recorded when installed) and runs from
a checkout::

    PYTHONPATH=src python benchmarks/harness.py --list
    PYTHONPATH=src python benchmarks/harness.py sdpa --device cuda --out benchmarks/results/sdpa.json

Library use::

    from harness import benchmark, write_results
    result = benchmark(lambda: model(x), lambda: reference_model(x), name="tiny-mt")
    write_results(result, "benchmarks/results/tiny-mt.json")

What is measured (see ``benchmarks/README.md``):

* time: wall-clock per call with ``time.perf_counter``, bracketed by ``torch.cuda.synchronize()``
  on CUDA so that queued kernels are included; ``warmup`` untimed calls first (kernel selection,
  caches, lazy init); then ``iters`` timed calls of candidate and reference *interleaved*
  (alternating which goes first) so that clock/thermal drift affects both alike. Reported: median
  and inter-quartile range (IQR = Q3 − Q1) in milliseconds, and ``ratio = candidate median /
  reference median`` (< 1: the candidate is faster).
* peak memory of one extra call, above what was allocated just before it (weights and other
  resident state are excluded; activations, workspace and the returned output are included):
  CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``. CPU (Linux): growth
  of the resident set's high-water mark (``VmHWM`` reset through ``/proc/self/clear_refs`` after a
  ``gc.collect()`` and glibc ``malloc_trim``), which includes allocator overhead; elsewhere
  ``None``.

The callables decide gradient mode, dtype and autocast (wrap them in ``torch.inference_mode()``
for inference benchmarks); the harness only calls them.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import difflib
import gc
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "BenchmarkFactory",
    "benchmark",
    "describe_device",
    "discover_benchmarks",
    "format_result",
    "main",
    "write_results",
]

BenchmarkFactory = Callable[[torch.device, bool], tuple[Callable[[], Any], Callable[[], Any] | None]]
"""``factory(device, small) -> (candidate, reference or None)``; ``small`` asks for a size that
finishes in seconds on a CPU (used by the test suite)."""


# ---------------------------------------------------------------------------------------------
# device description and synchronisation


def _resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return device


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def describe_device(device: str | torch.device | None = None) -> str:
    """Human-readable name of the device: the GPU's name and memory, or the CPU model and the
    number of cores torch may use (e.g. ``"AMD EPYC (2 logical cores, torch threads: 2)"``)."""
    device = _resolve_device(device)
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"{torch.cuda.get_device_name(device)} ({props.total_memory / 2**30:.0f} GiB)"
    if device.type == "cpu":
        return f"{_cpu_model()} ({os.cpu_count()} logical cores, torch threads: {torch.get_num_threads()})"
    return str(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------------------------------------
# memory


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_rss_peak() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux ≥ 4.0); False where not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _malloc_trim() -> None:
    # Freed heap memory stays resident under glibc; trimming makes the RSS baseline honest.
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def memory_method(device: torch.device) -> str:
    """One line saying how ``peak_mem_bytes`` is measured on ``device``."""
    if device.type == "cuda":
        return "torch.cuda.max_memory_allocated during one call minus memory_allocated before it"
    if device.type == "cpu" and _status_kib("VmHWM") is not None and _reset_rss_peak():
        return "resident-set high-water mark (VmHWM) growth during one call, after gc + malloc_trim"
    return "not measured on this platform"


def _peak_memory(fn: Callable[[], Any], device: torch.device) -> int | None:
    gc.collect()
    if device.type == "cuda":
        _sync(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        out = fn()
        _sync(device)
        peak = torch.cuda.max_memory_allocated(device) - before
        del out
        return int(peak)
    if device.type == "cpu":
        _malloc_trim()
        before = _status_kib("VmRSS")
        if before is None or not _reset_rss_peak():
            return None
        out = fn()
        peak = _status_kib("VmHWM")
        del out
        return None if peak is None else max(0, peak - before) * 1024
    return None


# ---------------------------------------------------------------------------------------------
# timing


def _timed(fn: Callable[[], Any], device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return (time.perf_counter() - start) * 1e3


def _stats(times_ms: list[float]) -> dict[str, Any]:
    q1, _, q3 = statistics.quantiles(times_ms, n=4, method="inclusive")
    return {
        "median_ms": statistics.median(times_ms),
        "iqr_ms": q3 - q1,
        "mean_ms": statistics.fmean(times_ms),
        "min_ms": min(times_ms),
        "times_ms": times_ms,
    }


def _versions() -> dict[str, str | None]:
    def version(dist: str) -> str | None:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {
        "torch_version": torch.__version__,
        "transformers_version": version("transformers"),
        "timm_version": version("timm"),
        "python_version": platform.python_version(),
    }


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def benchmark(
    candidate: Callable[[], Any],
    reference: Callable[[], Any] | None = None,
    *,
    name: str,
    warmup: int = 3,
    iters: int = 20,
    device: str | torch.device | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    """Time ``candidate`` (and ``reference``, interleaved) and measure their peak memory.

    Args:
        candidate: zero-argument callable (e.g. ``lambda: model(**inputs)``).
        reference: the callable to compare against, or ``None`` to time the candidate alone.
        name: benchmark name recorded in the result.
        warmup: untimed calls of each callable before timing.
        iters: timed calls of each callable (≥ 2, for the IQR).
        device: where the callables run, for synchronisation and memory (default: CUDA if
            available, else CPU).
        verbose: print :func:`format_result` when done.

    Returns:
        A JSON-serialisable dict: ``name``, ``device`` (human-readable), ``device_type``, versions,
        ``timestamp`` (UTC ISO 8601), ``git_commit``, ``warmup``, ``iters``, ``memory_method``,
        ``candidate``/``reference`` (``median_ms``, ``iqr_ms``, ``mean_ms``, ``min_ms``,
        ``times_ms``, ``peak_mem_bytes``; ``reference`` is ``None`` without one) and ``ratio``
        (candidate median / reference median, ``None`` without a reference).
    """
    if iters < 2:
        raise ValueError(f"benchmark {name!r}: iters must be >= 2 (for the IQR), got {iters}")
    if warmup < 0:
        raise ValueError(f"benchmark {name!r}: warmup must be >= 0, got {warmup}")
    dev = _resolve_device(device)
    fns = {"candidate": candidate} | ({"reference": reference} if reference is not None else {})

    for fn in fns.values():
        for _ in range(warmup):
            fn()
    _sync(dev)
    times: dict[str, list[float]] = {k: [] for k in fns}
    order = list(fns)
    for i in range(iters):
        for key in order if i % 2 == 0 else order[::-1]:
            times[key].append(_timed(fns[key], dev))

    sides: dict[str, dict[str, Any] | None] = {"reference": None}
    for key, fn in fns.items():
        sides[key] = {**_stats(times[key]), "peak_mem_bytes": _peak_memory(fn, dev)}
    cand, ref = sides["candidate"], sides["reference"]
    result = {
        "name": name,
        "device": describe_device(dev),
        "device_type": dev.type,
        **_versions(),
        "timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "warmup": warmup,
        "iters": iters,
        "memory_method": memory_method(dev),
        "candidate": cand,
        "reference": ref,
        "ratio": cand["median_ms"] / ref["median_ms"] if ref is not None else None,
    }
    if verbose:
        print(format_result(result))
    return result


def _mib(n: int | None) -> str:
    return "n/a" if n is None else f"{n / 2**20:.1f} MiB"


def format_result(result: dict[str, Any]) -> str:
    """One line per side plus the ratio, e.g. for printing after a run."""
    lines = [f"[{result['name']}] {result['device']}, {result['iters']} iters after {result['warmup']} warm-up"]
    for key in ("candidate", "reference"):
        side = result.get(key)
        if side is not None:
            lines.append(
                f"  {key:<9} median {side['median_ms']:.3f} ms (IQR {side['iqr_ms']:.3f} ms), "
                f"peak memory {_mib(side['peak_mem_bytes'])}"
            )
    if result.get("ratio") is not None:
        lines.append(f"  ratio {result['ratio']:.3f} (candidate / reference median time; < 1: candidate faster)")
    return "\n".join(lines)


def write_results(results: dict[str, Any] | list[dict[str, Any]], path: str | os.PathLike) -> Path:
    """Write one result (or a list of results) as indented JSON; parent folders are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, allow_nan=False) + "\n")
    return path


# ---------------------------------------------------------------------------------------------
# named benchmarks


def _sdpa_case(device: torch.device, small: bool) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """Fused F.scaled_dot_product_attention vs explicit softmax(QK^T/sqrt(d))V, video-ViT size.

    Full size: batch 8, 12 heads, 1568 tokens (8×14×14 patches), 64 dims; fp16 on CUDA, fp32 on
    CPU. Small: 1 × 2 × 64 × 16.
    """
    b, h, n, d = (1, 2, 64, 16) if small else (8, 12, 1568, 64)
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    gen = torch.Generator(device="cpu").manual_seed(0)
    q, k, v = (torch.randn(b, h, n, d, generator=gen).to(device, dtype) for _ in range(3))

    @torch.inference_mode()
    def fused() -> torch.Tensor:
        return torch.nn.functional.scaled_dot_product_attention(q, k, v)

    @torch.inference_mode()
    def explicit() -> torch.Tensor:
        return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d), dim=-1) @ v

    return fused, explicit


BUILTIN_BENCHMARKS: dict[str, BenchmarkFactory] = {"sdpa": _sdpa_case}


def discover_benchmarks(directory: str | os.PathLike | None = None) -> dict[str, BenchmarkFactory]:
    """Built-in benchmarks plus the ``BENCHMARKS`` dicts of every ``bench_*.py`` next to this file.

    A benchmark module only defines ``BENCHMARKS = {"name": factory}`` with
    ``factory(device: torch.device, small: bool) -> (candidate, reference | None)``; it does not
    import this harness (run as a script, the harness is ``__main__``, and a second import would
    be a separate module).
    """
    found: dict[str, BenchmarkFactory] = dict(BUILTIN_BENCHMARKS)
    directory = Path(directory) if directory is not None else Path(__file__).resolve().parent
    for file in sorted(directory.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(f"mthub_benchmarks_{file.stem}", file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for key, factory in getattr(module, "BENCHMARKS", {}).items():
            if key in found:
                raise ValueError(f"{file}: benchmark name {key!r} is already defined")
            found[key] = factory
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/harness.py",
        description=(
            "Time a named benchmark's candidate against its reference side by side in one process "
            "(warm-up, CUDA sync, median and IQR of N interleaved calls, peak memory), print the "
            "ratio and write JSON naming the device. Run from a checkout with PYTHONPATH=src."
        ),
        epilog=(
            "examples:\n"
            "  PYTHONPATH=src python benchmarks/harness.py --list\n"
            "  PYTHONPATH=src python benchmarks/harness.py sdpa --device cuda --iters 50 "
            "--out benchmarks/results/sdpa.json\n"
            "Benchmarks: built-in 'sdpa' plus BENCHMARKS dicts in benchmarks/bench_*.py."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", nargs="?", help="benchmark to run (see --list)")
    parser.add_argument("--list", action="store_true", help="list the available benchmarks and exit")
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda if available)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls per side (default 3)")
    parser.add_argument("--iters", type=int, default=20, help="timed calls per side (default 20)")
    parser.add_argument("--small", action="store_true", help="tiny sizes, for smoke tests on a CPU")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write (default: print only)")
    args = parser.parse_args(argv)

    available = discover_benchmarks()
    if args.list:
        for key, factory in available.items():
            doc = (factory.__doc__ or "").strip().splitlines()
            print(f"{key}: {doc[0] if doc else ''}")
        return 0
    if args.name is None:
        parser.error("give a benchmark name (see --list)")
    if args.name not in available:
        close = difflib.get_close_matches(args.name, list(available), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        parser.error(f"unknown benchmark {args.name!r} (available: {', '.join(available)}){hint}")
    device = _resolve_device(args.device)
    candidate, reference = available[args.name](device, args.small)
    result = benchmark(
        candidate, reference, name=args.name, warmup=args.warmup, iters=args.iters, device=device
    )
    if args.out is not None:
        print(f"wrote {write_results(result, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

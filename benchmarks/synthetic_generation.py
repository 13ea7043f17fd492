"""Benchmark: generate the quickstart's synthetic dataset (issue 9: 200 clips x 16 frames at 128x128 on 2 cores,
target under a minute) and record the time with the machine it ran on.

Wall-clock time of :func:`mthub.data.synthetic.generate_dataset` from start to the last file written (render +
labels + H.264 encode + PNG/npy/JSON writes), with ``--workers`` processes, pinned to ``--cores`` CPUs (so
that a bigger machine measures what a 2-core one would do). The load average before the run and the CPU time
used (this process + workers) are recorded too: other processes on a shared machine slow the wall-clock time
down (it is then an upper bound), while ``cpu_seconds / cores`` estimates the time on an idle machine.

Usage::

    PYTHONPATH=src python benchmarks/synthetic_generation.py                     # 200 x 16 x 128^2, 2 workers
    PYTHONPATH=src python benchmarks/synthetic_generation.py --small             # seconds
    PYTHONPATH=src python benchmarks/synthetic_generation.py --out benchmarks/results/synthetic_generation.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/harness.py: device description

BUDGET_S = 60.0  # issue 9: "200 clips of 16 frames at 128² takes under a minute on 2 cores"


def _dir_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _describe_cpu(cores: list[int] | None) -> str:
    try:
        from harness import _cpu_model  # type: ignore[import-not-found]

        model = _cpu_model()
    except ImportError:  # harness needs torch; the benchmark itself does not
        model = platform.processor() or platform.machine()
    n = len(cores) if cores is not None else os.cpu_count()
    return f"{model} ({n} cores used of {os.cpu_count()} logical)"


def run(num_clips: int, num_frames: int, size: int, workers: int, cores: list[int] | None, out_dir: str | None) -> dict[str, Any]:
    from mthub.data.synthetic import GENERATOR_VERSION, generate_dataset

    if cores is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(cores))  # inherited by the worker processes
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    tmp = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="mthub-synth-bench-"))
    def cpu_s() -> float:
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    try:
        start, cpu0 = time.perf_counter(), cpu_s()
        generate_dataset(tmp, num_clips, num_frames=num_frames, height=size, width=size, seed=0, num_workers=workers,
                         overwrite=True)  # fmt: skip
        seconds, cpu = time.perf_counter() - start, cpu_s() - cpu0
        size_bytes = _dir_size(tmp)
    finally:
        if not out_dir:
            shutil.rmtree(tmp, ignore_errors=True)
    return {
        "name": "synthetic_generation",
        "num_clips": num_clips,
        "num_frames": num_frames,
        "height": size,
        "width": size,
        "workers": workers,
        "seconds": round(seconds, 3),
        "seconds_per_clip": round(seconds / max(num_clips, 1), 4),
        # CPU time of this process and its workers: independent of other load on the machine; cpu_seconds /
        # cores is the wall time an otherwise idle machine with those cores would need at best.
        "cpu_seconds": round(cpu, 3),
        "cpu_seconds_per_clip": round(cpu / max(num_clips, 1), 4),
        "budget_s": BUDGET_S if (num_clips, num_frames, size) == (200, 16, 128) else None,
        "within_budget": seconds < BUDGET_S if (num_clips, num_frames, size) == (200, 16, 128) else None,
        "dataset_bytes": size_bytes,
        "device": _describe_cpu(cores),
        "cores": cores,
        "load_average_before": [round(x, 2) for x in load_before] if load_before else None,
        "generator_version": GENERATOR_VERSION,
        "python_version": platform.python_version(),
        "host": platform.node(),
        "timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--num-clips", type=int, default=200)
    ap.add_argument("--num-frames", type=int, default=16)
    ap.add_argument("--size", type=int, default=128, help="frame height and width")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cores", default="0,1", help="CPU ids to pin to ('all' = no pinning)")
    ap.add_argument("--small", action="store_true", help="8 clips x 8 frames at 64^2 (seconds)")
    ap.add_argument("--keep", default=None, help="write the dataset here and keep it (default: a temp dir)")
    ap.add_argument("--out", default=None, help="write the result as JSON here")
    args = ap.parse_args(argv)
    cores = None
    if args.cores != "all":
        available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        cores = [int(c) for c in args.cores.split(",")]
        if available is not None and not set(cores) <= set(available):
            cores = available[: len(cores)]
    n, t, s = (8, 8, 64) if args.small else (args.num_clips, args.num_frames, args.size)
    result = run(n, t, s, args.workers, cores, args.keep)
    print(json.dumps(result, indent=2))
    if args.out:
        path = Path(args.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

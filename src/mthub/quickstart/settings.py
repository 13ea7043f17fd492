"""What the quickstart builds: dataset size, model, training schedule (full and ``--toy``), and the model config.

The full settings were chosen by measurement (single-thread CPU time on the 2-core reference machine, which bounds
the wall time of an idle 2-core run with two threads from above):

* data: 256 clips × 8 frames at 96² (2048 frames; 205 clips train, 51 clips held out), generated in ≈10 s;
* model: TIF (SAFF + SFD + LTHD) on the tiny Swin backbone (channels 8–64, one block per stage) with decoder width
  ``D = 32`` — 0.38 M parameters — for semantic segmentation (the generator's 7 classes), depth and normals;
* training: 800 AdamW steps of 16 frames (≈8 epochs), ≈0.21 s of single-thread CPU per step at 96².

Trial runs with these settings beat the trivial baseline by far more than the required 10 % on every task
(mIoU ≈ 37 vs ≈ 10, depth RMSE ≈ 1.3 m vs ≈ 6.8 m, mean normal angle ≈ 5.7° vs ≈ 12.0°), and the whole Python part
took about 3 minutes (2 threads, idle) to 4 minutes (1 thread, a busy machine), so both the assertion and the time
budget hold with a wide margin; the numbers printed by a run are always that run's own.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

from ..data.synthetic import CLASS_NAMES
from ..models.tif import TIFConfig, tif_tasks

__all__ = [
    "FULL",
    "QUICKSTART_REPO_ID",
    "QUICKSTART_TASKS",
    "TOY",
    "QuickstartSettings",
    "available_cores",
    "busy_cores",
    "choose_threads",
    "quickstart_config",
]

#: Hub id the quickstart pushes to (and reloads from) on its local Hub server.
QUICKSTART_REPO_ID = "mthub/quickstart-tif"
#: The three dense tasks the quickstart trains and evaluates, in head order.
QUICKSTART_TASKS = ("semseg", "depth", "normals")


@dataclasses.dataclass(frozen=True)
class QuickstartSettings:
    """Sizes and schedule of one quickstart run.

    Args:
        num_clips, num_frames, image_size: the generated dataset (square frames of ``image_size`` pixels).
        split_fractions: ``{split: fraction}`` of the clips; the model trains on ``"train"`` and is evaluated on
            ``"test"`` (held-out clips: no frame of a test clip is seen in training).
        seed: dataset seed (clip ``i`` uses ``SeedSequence([seed, i])``) and training seed.
        video_seed, video_frames: the NEW clip the pipeline runs on; its seed is outside the dataset's clip seeds.
        decoder_dim: TIF decoder width ``D``.
        max_steps, batch_size, learning_rate, warmup_steps, weight_decay: the AdamW schedule (cosine decay).
        min_relative_gain: required relative improvement over the trivial baseline per task (``None``: no
            assertion, as in ``--toy``).
        reload_frames: held-out frames whose outputs are compared after reloading the model from the Hub.
        num_workers: processes that generate clips.
    """

    num_clips: int = 256
    num_frames: int = 8
    image_size: int = 96
    split_fractions: tuple[tuple[str, float], ...] = (("train", 0.8), ("test", 0.2))
    seed: int = 0
    video_seed: int = 2024_0601
    video_frames: int = 16
    decoder_dim: int = 32
    max_steps: int = 800
    batch_size: int = 16
    learning_rate: float = 3e-3
    warmup_steps: int = 50
    weight_decay: float = 1e-4
    min_relative_gain: float | None = 0.10
    reload_frames: int = 8
    num_workers: int = 2

    def replace(self, **changes: Any) -> QuickstartSettings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["split_fractions"] = dict(self.split_fractions)
        return out


FULL = QuickstartSettings()
#: Seconds-long run for tests: 6 clips × 4 frames at 64², 4 steps, no baseline assertion.
TOY = QuickstartSettings(
    num_clips=6,
    num_frames=4,
    image_size=64,
    split_fractions=(("train", 2 / 3), ("test", 1 / 3)),
    video_frames=4,
    decoder_dim=16,
    max_steps=4,
    batch_size=4,
    warmup_steps=0,
    min_relative_gain=None,
    reload_frames=4,
    num_workers=0,
)


def available_cores() -> int:
    """CPU cores this process may run on (``sched_getaffinity``; ``os.cpu_count`` where that is missing)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def busy_cores(window_s: float = 1.0) -> float | None:
    """How many cores other processes keep busy: the machine's non-idle CPU time over ``window_s`` seconds of
    ``/proc/stat`` (this process sleeps meanwhile), in cores. ``None`` where ``/proc/stat`` is missing."""

    def busy_and_total() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields[:8]) - idle, sum(fields[:8])

    try:
        busy0, _ = busy_and_total()
        start = time.monotonic()
        time.sleep(window_s)
        busy1, _ = busy_and_total()
    except (OSError, ValueError, IndexError):
        return None
    return max(0.0, (busy1 - busy0) / os.sysconf("SC_CLK_TCK") / (time.monotonic() - start))


def choose_threads(requested: int | None = None) -> tuple[int, str]:
    """Torch threads for the run and why: ``requested`` if given, else one per available core — minus the cores
    other processes keep busy right now. On an idle machine that is every core. On a busy one, a thread per core
    would make every parallel op wait for a core that another process holds (measured here: a 2-thread training
    step went from 0.2 s to 2–8 s while another process used one of 2 cores), so those cores are left out."""
    cores = available_cores()
    if requested is not None:
        return max(1, int(requested)), f"--threads {requested}"
    busy = busy_cores()
    if busy is None:
        return cores, f"{cores} cores"
    threads = max(1, min(cores, cores - int(busy + 0.5)))
    return threads, f"{cores} cores, {busy:.1f} busy with other processes"


def quickstart_config(settings: QuickstartSettings = FULL) -> TIFConfig:
    """The TIF config the quickstart trains: tiny Swin backbone, decoder width ``settings.decoder_dim``, the three
    tasks of :data:`QUICKSTART_TASKS` with the paper's losses and weights (semseg CE 1, depth L1 1, normals L1 10;
    TIF §3.4), semseg over the generator's classes (``mthub.data.synthetic.CLASS_NAMES``), built for square
    ``settings.image_size`` inputs. It is a plain :class:`TIFConfig` (no preset), so ``AutoModel`` loads it anywhere
    once ``import mthub`` has run."""
    tasks = tif_tasks("nyud", QUICKSTART_TASKS)
    for task in tasks:
        if task["name"] == "semseg":
            task["labels"] = list(CLASS_NAMES)
    size = int(settings.image_size)
    return TIFConfig(
        backbone="tiny-swin",
        decoder_dim=int(settings.decoder_dim),
        image_size=[size, size],
        dataset="synthetic_scenes",
        tasks=tasks,
        training_defaults={
            "max_steps": settings.max_steps,
            "train_batch_size": settings.batch_size,
            "learning_rate": settings.learning_rate,
            "optim": "adamw_torch",
            "lr_scheduler_type": "cosine",
            "warmup_steps": settings.warmup_steps,
            "weight_decay": settings.weight_decay,
        },
    )

"""The one-command quickstart (``bash scripts/quickstart.sh`` → ``mthub quickstart``): generate procedural
multi-task scene videos, train a small TIF on semantic segmentation, depth and normals on the CPU, compare it with a
trivial baseline on held-out clips, push it to mthub's local Hub server, reload it in a fresh process with
``AutoModel.from_pretrained("mthub/quickstart-tif")``, run ``pipeline()`` on a new video and write PNG panels and a
metrics JSON — offline, every number measured in the run.

Modules: :mod:`~.settings` (sizes, schedule, the TIF config), :mod:`~.data` (generation, builder, Trainer samples),
:mod:`~.evaluation` (baseline, metrics, comparison), :mod:`~.training` (MultiTaskTrainer), :mod:`~.hub` and
:mod:`~.hub_client` (server, push and pull processes), :mod:`~.panels`, :mod:`~.report`, :mod:`~.run` (``main``).
The ``examples/`` scripts reuse these pieces one step at a time.
"""

from __future__ import annotations

from .settings import (
    FULL,
    QUICKSTART_REPO_ID,
    QUICKSTART_TASKS,
    TOY,
    QuickstartSettings,
    available_cores,
    quickstart_config,
)

__all__ = [
    "FULL",
    "QUICKSTART_REPO_ID",
    "QUICKSTART_TASKS",
    "TOY",
    "QuickstartSettings",
    "available_cores",
    "main",
    "quickstart_config",
    "run_quickstart",
]


def __getattr__(name: str):
    # run.py imports the training stack; keep ``import mthub.quickstart`` light until it is needed.
    if name in ("main", "run_quickstart"):
        from . import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Step timing and the printed / written reports of a quickstart run (every number comes from the run itself)."""

from __future__ import annotations

import contextlib
import math
import resource
import time
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["CARD_RESULTS_HEADING", "StepTimer", "card_section", "comparison_table"]

#: Heading of the card section with the run's measured results (the pull process checks the pulled card has it).
CARD_RESULTS_HEADING = "## Measured in the quickstart run"


def _cpu_seconds() -> float:
    """User + system CPU of this process and of its finished children (hub clients, generator workers)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


class StepTimer:
    """Times named steps (wall and CPU seconds) and prints ``[i/n] name`` headers and ``done`` lines."""

    def __init__(self, total_steps: int) -> None:
        self.total_steps = total_steps
        self.steps: dict[str, dict[str, float]] = {}
        self._start_wall, self._start_cpu = time.perf_counter(), _cpu_seconds()

    @contextlib.contextmanager
    def step(self, name: str, description: str) -> Iterator[None]:
        index = len(self.steps) + 1
        print(f"\n[{index}/{self.total_steps}] {description}", flush=True)
        wall, cpu = time.perf_counter(), _cpu_seconds()
        yield
        self.steps[name] = {"wall_s": time.perf_counter() - wall, "cpu_s": _cpu_seconds() - cpu}
        print(f"    done in {self.steps[name]['wall_s']:.1f} s (CPU {self.steps[name]['cpu_s']:.1f} s)", flush=True)

    def totals(self) -> dict[str, float]:
        return {"wall_s": time.perf_counter() - self._start_wall, "cpu_s": _cpu_seconds() - self._start_cpu}

    def table(self) -> str:
        lines = [f"{'step':12s} {'wall (s)':>9s} {'CPU (s)':>9s}"]
        for name, t in self.steps.items():
            lines.append(f"{name:12s} {t['wall_s']:9.1f} {t['cpu_s']:9.1f}")
        total = self.totals()
        lines.append(f"{'total':12s} {total['wall_s']:9.1f} {total['cpu_s']:9.1f}")
        return "\n".join(lines)


def _gain(value: float) -> str:
    return "n/a" if math.isinf(value) or math.isnan(value) else f"{100 * value:+.1f}%"


def comparison_table(rows: Mapping[str, Mapping[str, Any]]) -> str:
    """The held-out comparison as aligned text: task, metric, baseline, model, relative gain, verdict."""
    lines = [f"{'task':8s} {'metric':18s} {'baseline':>9s} {'TIF':>9s} {'gain':>9s}  check"]
    for task, row in rows.items():
        arrow = "↑" if row["higher_is_better"] else "↓"
        required = row["required_gain"]
        verdict = "—" if required is None else ("ok" if row["passed"] else "FAILED") + f" (needs ≥ {100 * required:.0f}%)"
        lines.append(
            f"{task:8s} {row['label'] + ' ' + arrow:18s} {row['baseline']:9.3f} {row['model']:9.3f} "
            f"{_gain(row['relative_gain']):>9s}  {verdict}"
        )
    return "\n".join(lines)


def card_section(
    rows: Mapping[str, Mapping[str, Any]], settings: Mapping[str, Any], dataset: Mapping[str, Any], params: int
) -> str:
    """Markdown appended to the pushed model card: what was trained on what, and the measured comparison."""
    table = "\n".join(
        f"| {task} | {row['label']} {'↑' if row['higher_is_better'] else '↓'} | {row['baseline']:.3f} | "
        f"{row['model']:.3f} | {_gain(row['relative_gain'])} |"
        for task, row in rows.items()
    )
    return f"""{CARD_RESULTS_HEADING}

Trained by `mthub quickstart` (`bash scripts/quickstart.sh`) on CPU, from random initialisation, on procedural scene
videos from `mthub.data.synthetic` ({dataset['train_clips']} training clips, {dataset['train_frames']} frames at
{settings['image_size']}×{settings['image_size']}), for {settings['max_steps']} AdamW steps of {settings['batch_size']}
frames. {params:,} parameters. Evaluated on {dataset['test_clips']} held-out clips ({dataset['test_frames']} frames)
next to a trivial baseline fitted on the training split (majority class, mean depth, mean normal). These numbers
were measured in that run; they describe this toy setting only, not any benchmark.

| task | metric | trivial baseline | this model | relative gain |
|---|---|---|---|---|
{table}
"""

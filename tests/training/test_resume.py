"""SIGKILL mid-run, then ``resume_from_checkpoint=True``: the same final weights as an uninterrupted run (issue 5,
item 3). The run uses ``per_task`` sampling over two shuffled sources (16 and 8 clips, 4 per batch: 4 steps per
epoch), so the resumed run has to replay the seeded per-epoch permutations, skip the batches already consumed,
and restore optimizer, scheduler and RNG state exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from mthub.training import last_complete_checkpoint
from tests.training.helpers import EXAMPLE, ROOT, load_example, single_thread

ARGS = [
    "--sampling",
    "per_task",
    "--train-samples",
    "16",
    "--batch-size",
    "4",
    "--max-steps",
    "12",
    "--save-steps",
    "3",
    "--logging-steps",
    "3",
]


@pytest.mark.slow
def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path):
    killed = tmp_path / "killed"
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    log = open(tmp_path / "killed.log", "w")
    # --sleep-per-step slows the run so that the kill lands between checkpoint-6 (mid-epoch 1: 4 steps per epoch)
    # and the end; resuming there exercises the per-epoch permutation and the skipped batches.
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--output-dir", str(killed), "--sleep-per-step", "0.3", *ARGS],
        env=env,
        stdout=log,
        stderr=log,
    )
    deadline = time.time() + 300
    try:
        while not (killed / "checkpoint-6" / "trainer_state.json").exists():
            assert process.poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
            assert time.time() < deadline, "no checkpoint-6 within 300 s"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill() if process.poll() is None else None
        process.wait()
        log.close()
    assert process.returncode == -signal.SIGKILL
    resumed_from = last_complete_checkpoint(killed)
    assert resumed_from is not None and not (killed / "checkpoint-12").exists()  # killed mid-run

    example = load_example()
    with single_thread():
        resumed = example.main(["--output-dir", str(killed), "--resume", *ARGS])
        uninterrupted = example.main(["--output-dir", str(tmp_path / "uninterrupted"), *ARGS])
    assert resumed.state.global_step == uninterrupted.state.global_step == 12
    assert resumed.state.epoch == uninterrupted.state.epoch == 3.0
    got, expected = resumed.model.state_dict(), uninterrupted.model.state_dict()
    assert got.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(
            got[name], expected[name], rtol=0, atol=1e-7, msg=f"{name} (resumed from {resumed_from})"
        )
    # The loss logged after the resume equals the uninterrupted run's at the same step.
    last = [e["loss"] for e in resumed.state.log_history if e.get("step") == 12 and "loss" in e]
    assert last == pytest.approx(
        [e["loss"] for e in uninterrupted.state.log_history if e.get("step") == 12 and "loss" in e]
    )

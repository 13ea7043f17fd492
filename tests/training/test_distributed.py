"""Two gloo ranks through ``accelerate launch`` equal one process with the same global batch (issue 5, item 2).

The example script runs on 2 CPU ranks (``ACCELERATE_USE_CPU=true accelerate launch --multi_gpu --num_processes 2``),
each with 2 samples per step, and in this process with 4 samples per step. Data order is sequential, so rank 0
reads samples ``{0, 1, 4, 5, ...}`` and rank 1 ``{2, 3, 6, 7, ...}`` — its own shard — and one process reads
both halves of every global batch. ``--drop-segmentation 2:4`` removes the segmentation labels of samples 0-1,
8-9, 16-17: rank 0 has no segmentation label at all in steps 0, 2 and 4, while rank 1 has. With
``loss_normalization="global"`` the per-task means are taken over the global batch, so the runs must agree.

Settings that make "equal" well defined:
* ``--freeze-batchnorm``: BatchNorm with batch statistics normalises over 2 samples per rank vs 4 in one process
  (a different function; SyncBatchNorm, the usual fix, has no CPU kernel).
* ``--adam-epsilon 1e-6``: the attention key bias has an exactly-zero true gradient (softmax is invariant to a
  per-query shift) and Adam with eps=1e-8 turns its ~1e-12 rounding noise into lr-sized steps, so any change of
  summation order (all-reduce vs one batch) moves it by ~lr. A larger eps keeps noise-only coordinates still.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess

import pytest
import torch
from safetensors.torch import load_file

from tests.training.helpers import EXAMPLE, ROOT, accelerate_bin, load_example, single_thread

COMMON = [
    "--sampling", "single", "--sequential", "--train-samples", "24", "--max-steps", "6", "--drop-segmentation", "2:4",
    "--freeze-batchnorm", "--adam-epsilon", "1e-6", "--learning-rate", "1e-3", "--logging-steps", "1",
    "--eval-samples", "11",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_ranks_equal_one_process_with_the_same_global_batch(tmp_path):
    env = {
        **os.environ,
        "ACCELERATE_USE_CPU": "true",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    launch = [
        accelerate_bin(), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()), str(EXAMPLE),
        "--output-dir", str(tmp_path / "ddp"), "--batch-size", "2", "--expect-world-size", "2",
        "--record-dir", str(tmp_path / "ddp_rec"), *COMMON,
    ]  # fmt: skip
    result = subprocess.run(launch, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]

    example = load_example()
    with single_thread():
        example.main(
            [
                "--output-dir",
                str(tmp_path / "one"),
                "--batch-size",
                "4",
                "--record-dir",
                str(tmp_path / "one_rec"),
                *COMMON,
            ]
        )
        example.main(
            [
                "--output-dir",
                str(tmp_path / "shard0"),
                "--batch-size",
                "2",
                "--shard-only",
                "0/2",
                "--record-dir",
                str(tmp_path / "shard0_rec"),
                *COMMON,
            ]
        )

    records = [json.loads((tmp_path / "ddp_rec" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in records] == [2, 2]
    reads = [r["reads"][0] for r in records]
    assert set(reads[0]).isdisjoint(reads[1]) and sorted(reads[0] + reads[1]) == list(range(24))  # disjoint shards
    data = example.MovingSquares(24, drop_segmentation=(2, 4))
    rank0_steps_without = [
        step for step in range(6) if not any(data.has_segmentation(i) for i in reads[0][2 * step : 2 * step + 2])
    ]
    assert rank0_steps_without == [0, 2, 4]
    assert all(data.has_segmentation(i) for i in reads[1][:12])  # rank 1 always had them

    ranks = [load_file(str(tmp_path / "ddp_rec" / f"weights-rank{r}.safetensors")) for r in (0, 1)]
    one = load_file(str(tmp_path / "one_rec" / "weights-rank0.safetensors"))
    alone = load_file(str(tmp_path / "shard0_rec" / "weights-rank0.safetensors"))
    for name in one:
        torch.testing.assert_close(ranks[1][name], ranks[0][name], rtol=0, atol=0, msg=name)  # identical on both ranks
        torch.testing.assert_close(ranks[0][name], one[name], rtol=0, atol=1e-6, msg=name)
    assert max((alone[n].float() - one[n].float()).abs().max().item() for n in one) > 1e-3  # one shard alone differs

    # Per-task losses logged across ranks equal the one-process values; so do the streamed eval metrics.
    def logs(history, key):
        return [entry[key] for entry in history if key in entry]

    one_history = json.loads((tmp_path / "one_rec" / "rank0.json").read_text())["log_history"]
    for key in (
        "loss",
        "loss/action",
        "loss/segmentation",
        "eval_loss",
        "eval_action/accuracy",
        "eval_segmentation/mIoU",
    ):
        expected = logs(one_history, key)
        assert expected, key
        for record in records:
            assert logs(record["log_history"], key) == pytest.approx(expected, rel=1e-5, abs=1e-6), key

"""Evaluation memory does not grow with the eval set (issue 5, acceptance).

Measured in a fresh process with glibc's ``mallinfo2()``: the bytes currently allocated through ``malloc`` (heap +
mmapped blocks) — every torch CPU tensor lives there — sampled before and after every module's forward, after every
metric update and after every evaluation step; the peak minus the value before ``evaluate`` is the evaluation's
peak memory. Unlike resident-set sizes (a few MB of allocator and page-cache noise) these counts are exact, and
unlike ``tracemalloc`` they see torch's tensors (torch keeps no CPU allocator statistics). A control evaluation
whose ``compute_metrics`` keeps every batch's logits — what a non-streaming loop holds — must grow by the extra
logits, which shows the measurement sees growth.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.training.helpers import EXAMPLE, ROOT

SCRIPT = r"""
import ctypes, importlib.util, json, sys
import torch
import mthub
from transformers import AutoModel, TrainerCallback
from mthub.training import MultiTaskTrainer, MultiTaskTrainingArguments, StreamingMetrics, VideoCollator

spec = importlib.util.spec_from_file_location("example", sys.argv[1]); example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(example)

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
def allocated():
    info = libc.mallinfo2()
    return info.uordblks + info.hblkhd
peak = [0]
def sample(*_):
    peak[0] = max(peak[0], allocated())

class Sample(TrainerCallback):
    def on_prediction_step(self, args, state, control, **kwargs):
        sample()

class KeepLogits:
    def __init__(self): self.kept = []
    def __call__(self, eval_pred, compute_result):
        self.kept.append({k: v.clone() for k, v in eval_pred.predictions.items()})
        return {}

class SampledMetrics(StreamingMetrics):
    def __call__(self, eval_pred, compute_result):
        out = super().__call__(eval_pred, compute_result)
        sample()
        return out

config = mthub.preset_config("tiny-mt")
torch.manual_seed(0)
model = AutoModel.from_config(config)
for module in model.modules():
    module.register_forward_pre_hook(sample)
    module.register_forward_hook(sample)
args = MultiTaskTrainingArguments(
    output_dir=sys.argv[2], per_device_eval_batch_size=8, report_to="none", use_cpu=True, disable_tqdm=True
)
collate = VideoCollator.for_model(model, input_keys=("pixel_values",))
result = {}
for name in ("streaming", "keep_logits"):
    fn = SampledMetrics(example.build_metrics(config)) if name == "streaming" else KeepLogits()
    trainer = MultiTaskTrainer(model=model, args=args, data_collator=collate, compute_metrics=fn, callbacks=[Sample()])
    trainer.evaluate(example.MovingSquares(16, seed=2))  # warm-up: lazy initialisation, first allocations
    for size in (24, 240):
        data = example.MovingSquares(size, seed=1)
        before = allocated()
        peak[0] = before
        metrics = trainer.evaluate(data)
        result[f"{name}_{size}"] = peak[0] - before
        result[f"metrics_{name}_{size}"] = metrics
        if name == "keep_logits":
            fn.kept.clear()
print(json.dumps(result))
"""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallinfo2 is glibc's")
def test_eval_peak_memory_does_not_grow_with_the_eval_set(tmp_path):
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(EXAMPLE), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    small, large = result["streaming_24"], result["streaming_240"]
    assert small > 1_000_000, result  # a batch's activations and logits were seen
    assert abs(large - small) <= 0.1 * small, result
    # The control keeps 216 more samples of logits: segmentation (4 frames x 3 classes x 32 x 32) + action (5), fp32.
    extra_logits = 216 * (4 * 3 * 32 * 32 + 5) * 4
    grown = result["keep_logits_240"] - result["keep_logits_24"]
    assert 0.95 * extra_logits < grown < 1.2 * extra_logits, (grown, extra_logits, result)
    assert 0 <= result["metrics_streaming_240"]["eval_segmentation/mIoU"] <= 1  # metrics were streamed

"""The benchmark harness (benchmarks/harness.py): result fields and CLI, never a speed.

``CASES`` lists ``name -> factory(device, small) -> (candidate, reference)`` exactly like a
``BENCHMARKS`` dict in ``benchmarks/bench_*.py``; the test-model case can be added to it (or the
harness's discovered benchmarks can be looped over) without changing the tests.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
HARNESS_PATH = ROOT / "benchmarks" / "harness.py"


def _load_harness():
    spec = importlib.util.spec_from_file_location("mthub_benchmark_harness", HARNESS_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


harness = _load_harness()


def _mlp_case(device: torch.device, small: bool):
    """A small nn.Sequential against the same computation written with F.linear."""
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 4)).to(device).eval()
    x = torch.randn(8, 16, device=device)

    @torch.inference_mode()
    def candidate():
        return mlp(x)

    @torch.inference_mode()
    def reference():
        h = F.gelu(F.linear(x, mlp[0].weight, mlp[0].bias))
        return F.linear(h, mlp[2].weight, mlp[2].bias)

    return candidate, reference


def _tiny_mt_case(device: torch.device, small: bool):
    """The test model (SDPA) against itself with the eager attention kernel (benchmarks/bench_tiny_mt.py)."""
    return harness.discover_benchmarks()["tiny-mt-sdpa-vs-eager"](device, small)


CASES = {"mlp": _mlp_case, "tiny-mt": _tiny_mt_case}


@pytest.mark.parametrize("case", sorted(CASES))
def test_result_fields_are_sane(case, tmp_path):
    device = torch.device("cpu")
    candidate, reference = CASES[case](device, True)
    torch.testing.assert_close(candidate(), reference())  # the comparison is like for like
    result = harness.benchmark(candidate, reference, name=case, warmup=1, iters=5, device=device, verbose=False)

    assert result["name"] == case and result["iters"] == 5 and result["warmup"] == 1
    assert result["device"] == harness.describe_device(device) and "logical cores" in result["device"]
    assert result["device_type"] == "cpu"
    assert result["torch_version"] == torch.__version__
    assert result["transformers_version"] and result["timm_version"]
    assert result["timestamp"].endswith("+00:00")
    for side in ("candidate", "reference"):
        stats = result[side]
        assert len(stats["times_ms"]) == 5 and all(t > 0 for t in stats["times_ms"])
        assert min(stats["times_ms"]) <= stats["median_ms"] <= max(stats["times_ms"])
        assert 0 <= stats["iqr_ms"] <= max(stats["times_ms"]) - min(stats["times_ms"])
        assert stats["peak_mem_bytes"] is None or stats["peak_mem_bytes"] >= 0
    assert result["ratio"] == result["candidate"]["median_ms"] / result["reference"]["median_ms"]

    path = harness.write_results(result, tmp_path / "out" / f"{case}.json")
    assert json.loads(path.read_text()) == result


def test_candidate_alone_and_bad_arguments():
    result = harness.benchmark(lambda: torch.ones(3).sum(), name="alone", warmup=0, iters=2, device="cpu", verbose=False)
    assert result["reference"] is None and result["ratio"] is None
    assert "ratio" not in harness.format_result(result)
    with pytest.raises(ValueError, match="iters"):
        harness.benchmark(lambda: None, name="x", iters=1, device="cpu")


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_cpu_peak_memory_sees_an_allocation():
    if harness.memory_method(torch.device("cpu")).startswith("not measured"):
        pytest.skip("resident-set peak cannot be reset here")
    mib = 2**20
    result = harness.benchmark(
        lambda: torch.ones(16 * mib),  # 64 MiB of float32, written so it becomes resident
        lambda: torch.ones(4),
        name="memory", warmup=1, iters=2, device="cpu", verbose=False,
    )  # fmt: skip
    assert 60 * mib <= result["candidate"]["peak_mem_bytes"] <= 80 * mib
    assert result["reference"]["peak_mem_bytes"] < 8 * mib


def test_cli_help_runs_as_a_script():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(HARNESS_PATH), "--help"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "--list" in proc.stdout and "benchmarks/harness.py sdpa" in proc.stdout


def test_cli_list_and_a_small_named_run(tmp_path, capsys):
    assert harness.main(["--list"]) == 0
    assert capsys.readouterr().out.startswith("sdpa: ")
    out = tmp_path / "sdpa.json"
    assert harness.main(["sdpa", "--small", "--iters", "3", "--warmup", "1", "--device", "cpu", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ratio" in printed and "wrote" in printed
    result = json.loads(out.read_text())
    assert result["name"] == "sdpa" and result["iters"] == 3 and result["ratio"] > 0
    with pytest.raises(SystemExit):
        harness.main(["sdpaa"])
    assert "did you mean sdpa" in capsys.readouterr().err

"""The ``mthub`` command line."""

from __future__ import annotations

import json
import time

import mthub
from mthub.cli import main


def test_info_for_every_preset_is_fast_and_complete(capsys):
    from mthub.info import _preset_summary

    _preset_summary.cache_clear()  # time the real meta-device counts, not the per-process cache
    start = time.process_time()  # CPU time of this process: stable when other jobs load the machine
    assert main(["info", "--all", "--json"]) == 0
    elapsed = time.process_time() - start
    summaries = json.loads(capsys.readouterr().out)
    assert [s["preset"] for s in summaries] == mthub.list_presets()
    for summary in summaries:
        assert summary["params_total"] > 0 and summary["gmacs"] > 0
        assert "1 MAC = 1 multiply-add" in summary["macs_convention"]
        assert summary["tasks"]
    assert elapsed < 30, f"mthub info --all took {elapsed:.1f} s of CPU (limit 30 s)"


def test_info_text_and_unknown_preset(capsys):
    from transformers import AutoModel

    real = sum(p.numel() for p in AutoModel.from_config(mthub.preset_config("tiny-mt")).parameters())
    assert main(["info", "tiny-mt"]) == 0
    text = capsys.readouterr().out
    assert f"params: {real:,} total" in text and "GMACs" in text
    try:
        main(["info", "tiny-m"])
    except KeyError as error:
        assert "tiny-mt" in str(error)
    else:
        raise AssertionError("unknown preset accepted")


def test_demo_runs_end_to_end(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "demo.json").read_text())
    assert report["params_total"] > 0 and report["gmacs"] > 0
    assert len(report["action"]) == 3
    assert "pipeline('multi-task-video')" in capsys.readouterr().out

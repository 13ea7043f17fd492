"""model_summary / format_summary: what `mthub info <preset>` prints."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from mthub.analysis import CONVENTION, build_on_meta, count_macs, count_parameters, format_summary, model_summary


class _Video(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Conv3d(3, 8, (2, 4, 4), stride=(2, 4, 4))
        self.head = nn.Linear(8, 4)
        self.head.requires_grad_(False)

    def forward(self, pixel_values):
        return self.head(self.backbone(pixel_values).flatten(2).mean(-1))


def test_summary_fields_match_the_counters_and_are_json():
    model = build_on_meta(_Video)
    x = torch.empty(1, 3, 8, 32, 32, device="meta")
    extra = {"tasks": ["action (classification, 4 labels)"], "input": "8 frames at 32x32"}
    summary = model_summary(model, (x,), extra=extra)
    params, macs = count_parameters(model), count_macs(model, (x,), module_depth=1)
    assert summary["params"] == params.total == 3 * 8 * 32 + 8 + 36
    assert (summary["params_trainable"], summary["params_frozen"]) == (3 * 8 * 32 + 8, 36)
    assert summary["gmacs"] == macs.total_gmacs
    assert summary["gmacs"] * 1e9 == pytest.approx(8 * 3 * 32 * (4 * 8 * 8) + 8 * 4)
    assert summary["gmacs_by_module"] == macs.by_module and summary["params_by_module"] == params.by_module
    assert summary["convention"] == CONVENTION
    assert summary["inputs"] == {"pixel_values": "(1, 3, 8, 32, 32) float32"}
    assert list(summary)[:2] == ["tasks", "input"]
    assert json.loads(json.dumps(summary)) == summary


def test_format_summary_states_the_convention_next_to_the_figure():
    model = build_on_meta(_Video)
    text = format_summary(model_summary(model, {"pixel_values": torch.empty(1, 3, 8, 32, 32)}, extra={"tasks": ["a", "b"]}))
    assert "compute: 0.000197 GMACs (1 MAC = 1 multiply-add; papers' 'GFLOPs')" in text
    assert "input pixel_values: (1, 3, 8, 32, 32) float32" in text
    assert "tasks: a, b" in text
    assert "parameters: 812 (trainable 776, frozen 36)" in text
    assert "backbone" in text and "head" in text

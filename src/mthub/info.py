"""``mthub info``: what a preset is — tasks, input geometry, parameters and GMACs — computed on the meta device."""

from __future__ import annotations

import copy
import functools
from typing import Any

import torch

from .registry import get_family, get_preset, preset_config


def preset_example_inputs(name: str, batch_size: int = 1, device: str | torch.device = "meta") -> dict[str, Any]:
    """Inputs at the preset's input geometry (``Preset.input_size``), on ``device``.

    The family's ``example_inputs`` gives the input structure; tensors called ``pixel_values`` are re-shaped to the
    preset's ``num_frames`` / ``height`` / ``width`` where the preset names them.
    """
    preset = get_preset(name)
    family = get_family(preset.family)
    config = preset_config(name)
    with torch.device("meta"):
        inputs = family.example_inputs(config, batch_size)
    geometry = dict(preset.input_size)
    out = {}
    for key, value in inputs.items():
        if isinstance(value, torch.Tensor):
            shape = list(value.shape)
            if key == "pixel_values" and geometry:
                if "height" in geometry:
                    shape[-2] = geometry["height"]
                if "width" in geometry:
                    shape[-1] = geometry["width"]
                if value.dim() == 5 and "num_frames" in geometry:
                    shape[1] = geometry["num_frames"]
            value = torch.zeros(shape, dtype=value.dtype, device=device)
        out[key] = value
    return out


def preset_summary(name: str, macs: bool = True) -> dict[str, Any]:
    """Tasks, input geometry, parameter counts and (optionally) GMACs of a preset, without allocating weights.

    Presets are immutable data, so the (meta-device) count is computed once per process.
    """
    return copy.deepcopy(_preset_summary(name, macs))


@functools.lru_cache(maxsize=None)
def _preset_summary(name: str, macs: bool) -> dict[str, Any]:
    from .analysis import CONVENTION, CONVENTION_DETAIL, count_macs, count_parameters, format_macs

    preset = get_preset(name)
    family = get_family(preset.family)
    config = preset_config(name)
    with torch.device("meta"):
        model = family.model_class(config)
    model.eval()
    params = count_parameters(model)
    summary: dict[str, Any] = {
        "preset": preset.name,
        "hub_id": preset.hub_id,
        "family": preset.family,
        "tasks": [{"name": t.name, "kind": t.kind, "num_outputs": t.num_outputs} for t in config.task_specs],
        "input_size": dict(preset.input_size),
        "params_total": params.total,
        "params_trainable": params.trainable,
    }
    lines = [
        f"{preset.name}  ({preset.hub_id}, {preset.family})",
        f"  {preset.description}",
        "  tasks: " + ", ".join(f"{t['name']} [{t['kind']}, {t['num_outputs']}]" for t in summary["tasks"]),
        f"  input: {summary['input_size'] or 'see config'}",
        f"  params: {params.total:,} total, {params.trainable:,} trainable",
    ]
    if macs:
        inputs = preset_example_inputs(name, device="meta")
        count = count_macs(model, inputs)
        summary["gmacs"] = count.total_gmacs
        summary["macs_convention"] = f"{CONVENTION}. {CONVENTION_DETAIL}"
        lines.append(f"  cost: {format_macs(count.total_gmacs)} at batch 1")
    summary["text"] = "\n".join(lines)
    return summary


__all__ = ["preset_example_inputs", "preset_summary"]

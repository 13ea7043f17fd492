"""One call that gathers what ``mthub info <preset>`` prints: parameters, GMACs and the convention.

The CLI only builds the model on meta and calls::

    summary = model_summary(model, example_inputs, extra={"tasks": ..., "input": ...})
    print(format_summary(summary))        # or json.dumps(summary) for --json
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .flops import count_macs
from .params import count_parameters
from .units import CONVENTION, CONVENTION_DETAIL, format_macs, format_params

__all__ = ["format_summary", "model_summary"]


def _input_specs(model: nn.Module, inputs: Any) -> dict[str, str]:
    """``{argument name: "shape dtype"}`` for the tensors passed to ``model``'s forward."""
    if isinstance(inputs, torch.Tensor):
        inputs = (inputs,)
    if isinstance(inputs, Mapping):
        named = dict(inputs)
    else:
        try:
            params = list(inspect.signature(model.forward).parameters)
        except (TypeError, ValueError):
            params = []
        named = {params[i] if i < len(params) else f"arg{i}": x for i, x in enumerate(inputs)}
    return {
        k: f"{tuple(v.shape)} {str(v.dtype).removeprefix('torch.')}"
        for k, v in named.items()
        if isinstance(v, torch.Tensor)
    }


def model_summary(
    model: nn.Module,
    example_inputs: Any,
    *,
    device: str | torch.device | None = "meta",
    module_depth: int | None = 1,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Parameters and GMACs of ``model`` for ``example_inputs``, as a JSON-serialisable dict.

    GMACs follow the convention 1 MAC = 1 multiply-add (the papers' "GFLOPs"); the dict carries it
    under ``"convention"``. Counting runs on the meta device by default (see
    :func:`~mthub.analysis.flops.count_macs`), so full-size presets are cheap.

    Args:
        model: the model (typically built with :func:`~mthub.analysis.meta.build_on_meta`).
        example_inputs: tuple / dict / tensor as for ``count_macs``.
        device: forwarded to ``count_macs``.
        module_depth: depth of the per-module breakdowns.
        extra: more entries for the caller to show (e.g. ``tasks``, ``input`` geometry); they are
            put first in the returned dict and printed by :func:`format_summary`.

    Returns:
        ``{**extra, "model", "model_type", "inputs", "params", "params_trainable",
        "params_frozen", "params_by_module", "gmacs", "gmacs_by_module", "gmacs_by_operator",
        "unsupported_ops", "convention", "counted"}``.
    """
    params = count_parameters(model, depth=module_depth)
    macs = count_macs(model, example_inputs, device=device, module_depth=module_depth)
    config = getattr(model, "config", None)
    return {
        **dict(extra or {}),
        "model": type(model).__name__,
        "model_type": getattr(config, "model_type", None),
        "inputs": _input_specs(model, example_inputs),
        "params": params.total,
        "params_trainable": params.trainable,
        "params_frozen": params.frozen,
        "params_by_module": params.by_module,
        "gmacs": macs.total_gmacs,
        "gmacs_by_module": macs.by_module,
        "gmacs_by_operator": macs.by_operator,
        "unsupported_ops": sorted(macs.unsupported_ops),
        "convention": CONVENTION,
        "counted": CONVENTION_DETAIL,
    }


def _fmt_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_fmt_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple) and not all(isinstance(v, int) for v in value):
        return ", ".join(_fmt_value(v) for v in value)
    return str(value)


def format_summary(summary: Mapping[str, Any]) -> str:
    """Human-readable text of a :func:`model_summary` dict; every GMACs figure carries the
    convention."""
    own = {
        "model", "model_type", "inputs", "params", "params_trainable", "params_frozen",
        "params_by_module", "gmacs", "gmacs_by_module", "gmacs_by_operator", "unsupported_ops",
        "convention", "counted",
    }  # fmt: skip
    title = summary["model"] + (f" ({summary['model_type']})" if summary.get("model_type") else "")
    lines = [title]
    lines += [f"{k}: {_fmt_value(v)}" for k, v in summary.items() if k not in own]
    for name, spec in summary["inputs"].items():
        lines.append(f"input {name}: {spec}")
    lines.append(
        f"parameters: {format_params(summary['params'])} (trainable {format_params(summary['params_trainable'])}, "
        f"frozen {format_params(summary['params_frozen'])})"
    )
    lines.append(f"compute: {format_macs(summary['gmacs'])}")
    lines.append(f"  {summary['counted']}")
    keys = sorted(set(summary["params_by_module"]) | set(summary["gmacs_by_module"]), key=list(
        {**summary["params_by_module"], **summary["gmacs_by_module"]}).index)
    width = max((len(k) for k in keys), default=0)
    lines.append(f"  {'module':<{width}}  {'params':>10}  {'GMACs':>10}")
    for k in keys:
        p = summary["params_by_module"].get(k, 0)
        g = summary["gmacs_by_module"].get(k, 0.0)
        lines.append(f"  {k:<{width}}  {format_params(p):>10}  {g:10.4f}")
    ops = ", ".join(f"{k} {v:.4f}" for k, v in summary["gmacs_by_operator"].items())
    lines.append(f"  GMACs by operator: {ops}")
    if summary["unsupported_ops"]:
        lines.append("  not counted (no formula): " + ", ".join(summary["unsupported_ops"]))
    return "\n".join(lines)

"""Convert the official Ego4D TS checkpoints (as redistributed by EgoT2, ``pretrained_models/``) to
``mthub_ego4d_ts`` models.

=====  =====================================  ===========================================  ===========================
Task   File                                   Layout                                       Prefix rules (→ ``net.``)
=====  =====================================  ===========================================  ===========================
PNR    ``ts_pnr.ckpt``                        Lightning ``state_dict``, ``model.`` prefix  ``Keyframe_localisation_head``
                                                                                           → ``head``
OSCC   ``ts_oscc.ckpt``                       same                                         ``State_detection_head`` → ``head``
AR     ``recognition_ego4d_slowfast8x8.ckpt``  same                                        ``s*`` → ``backbone.s*``
LTA    ``lta_slowfast_trf.ckpt``               same                                        ``backbone.head.projection`` →
                                                                                           ``backbone.head.projections.0``;
                                                                                           ``pos_encoder.pe`` dropped
LAM    ``ts_lam.pth``                         ``{"epoch", "state_dict", "mAP"}``,          ``base_model.fc1`` →
                                              optional ``module.`` prefix                  ``base_model.resnet.fc`` …
TTM    ``ts_ttm.pth``                         same (+ top-level ``criterion.weight`` in     ``video_encoder.*`` as LAM;
                                              Lightning files: ignored)                    ``audio_encoder.torchfb.*`` dropped
ASD    ``ts_asd.pth``                         flat dict of the Lightning module:            ``visualFrontend`` →
                                              ``model.*``, ``lossAV.*``, ``lossA.*``, …     ``visual_frontend`` …;
                                                                                           ``loss*.criterion.weight`` dropped
=====  =====================================  ===========================================  ===========================

Dropped keys are derived constants (positional table, mel filterbank, window, loss class weights — the config
holds the latter) and are listed in the conversion report. The filters are idempotent (timm's
``checkpoint_filter_fn`` style): keys already in mthub form (``net.…``) pass through unchanged, so filtering a
converted state dict again is a no-op.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .safe_load import extract_state_dict, safe_load_checkpoint

__all__ = [
    "OFFICIAL_FILES",
    "TASK_PRESETS",
    "ConversionReport",
    "convert_ego4d_ts_checkpoint",
    "ego4d_ts_checkpoint_filter_fn",
    "main",
]

#: Official file name of each task's TS checkpoint (EgoT2 ``pretrained_models/``).
OFFICIAL_FILES = {
    "pnr": "ts_pnr.ckpt",
    "oscc": "ts_oscc.ckpt",
    "ar": "recognition_ego4d_slowfast8x8.ckpt",
    "lta": "lta_slowfast_trf.ckpt",
    "lam": "ts_lam.pth",
    "ttm": "ts_ttm.pth",
    "asd": "ts_asd.pth",
}

#: Preset of each task.
TASK_PRESETS = {
    "pnr": "ego4d-pnr-i3d-r50",
    "oscc": "ego4d-oscc-i3d-r50",
    "ar": "ego4d-ar-slowfast-r101",
    "lta": "ego4d-lta-slowfast",
    "lam": "ego4d-lam-resnet18-bilstm",
    "ttm": "ego4d-ttm-resnet18-resnetse",
    "asd": "ego4d-asd-talknet",
}

# (pattern, replacement) applied in order to the official key after the container prefixes are stripped.
_RULES: dict[str, list[tuple[str, str]]] = {
    "pnr": [(r"^Keyframe_localisation_head\.", "head."), (r"^(s\d)", r"backbone.\1")],
    "oscc": [(r"^State_detection_head\.", "head."), (r"^(s\d)", r"backbone.\1")],
    "ar": [(r"^(s\d)", r"backbone.\1")],
    "lta": [(r"^backbone\.head\.projection\.", "backbone.head.projections.0.")],
    "lam": [
        (r"^base_model\.fc1\.", "base_model.resnet.fc."),
        (r"^base_model\.(?!fc2\.|resnet\.)", "base_model.resnet."),
        (r"^lstm\.(?!lstm\.)", "lstm.lstm."),
    ],
    "ttm": [
        (r"^video_encoder\.fc1\.", "video_encoder.resnet.fc."),
        (r"^video_encoder\.(?!fc2\.|resnet\.)", "video_encoder.resnet."),
        (r"^lstm\.(?!lstm\.)", "lstm.lstm."),
    ],
    "asd": [
        (r"^visualFrontend\.", "visual_frontend."),
        (r"^visualTCN\.", "visual_tcn."),
        (r"^visualConv1D\.", "visual_conv1d."),
        (r"^audioEncoder\.", "audio_encoder."),
        (r"^crossA2V\.", "cross_a2v."),
        (r"^crossV2A\.", "cross_v2a."),
        (r"^selfAV\.", "self_av."),
    ],
}

# Official keys that hold derived constants (dropped, listed in the report).
_DROPPED = [
    r"(^|\.)pos_encoder\.pe$",  # LTA aggregator sinusoidal table (recomputed)
    r"^audio_encoder\.torchfb\.",  # TTM pre-emphasis filter, STFT window and mel filterbank (recomputed)
    r"(^|\.)criterion\.weight$",  # loss class weights (in the config: class_weights)
]


def _strip_container(key: str) -> str:
    """Remove DDP (``module.``) and Lightning (``model.``) prefixes."""
    for prefix in ("module.", "model."):
        key = key.removeprefix(prefix)
    return key


def ego4d_ts_checkpoint_filter_fn(state_dict: Mapping[str, torch.Tensor], ego4d_task: str) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Map an official TS state dict to :class:`~mthub.models.ego4d_ts.Ego4DTSModel` keys.

    Returns:
        ``(converted, dropped)``: the renamed tensors and the official keys dropped as derived constants.
        Keys already starting with ``net.`` are kept as they are (idempotence).
    """
    if ego4d_task not in _RULES:
        raise ValueError(f"unknown Ego4D task {ego4d_task!r}; choose one of {sorted(_RULES)}")
    converted: dict[str, torch.Tensor] = {}
    dropped: list[str] = []
    for key, value in state_dict.items():
        if key.startswith("net."):
            converted[key] = value
            continue
        # ASD files keep loss heads at the top level, next to model.*: only strip the container prefix
        name = _strip_container(key)
        if any(re.search(pattern, name) for pattern in _DROPPED):
            dropped.append(key)
            continue
        for pattern, replacement in _RULES[ego4d_task]:
            name = re.sub(pattern, replacement, name)
        converted[f"net.{name}"] = value
    return converted, dropped


@dataclass
class ConversionReport:
    """Outcome of a conversion: keys the model lacked / did not expect (both empty for a faithful conversion),
    dropped official keys and the pickled classes the safe loader replaced by stubs."""

    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)
    dropped_keys: list[str] = field(default_factory=list)
    stubbed_globals: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing_keys and not self.unexpected_keys


def convert_ego4d_ts_checkpoint(
    checkpoint: str | Path | Mapping[str, torch.Tensor],
    ego4d_task: str,
    output_dir: str | Path | None = None,
    config=None,
    strict: bool = True,
):
    """Build the TS model of ``ego4d_task`` and load an official checkpoint into it.

    Args:
        checkpoint: path of the official file (loaded with :func:`safe_load_checkpoint`: no pickled code runs),
            or an already loaded state dict (official or mthub keys).
        ego4d_task: ``pnr``, ``oscc``, ``ar``, ``lta``, ``lam``, ``ttm`` or ``asd``.
        output_dir: if given, ``save_pretrained`` there (safetensors + config).
        config: an :class:`~mthub.models.ego4d_ts.Ego4DTSConfig` (default: the task's preset).
        strict: raise when keys are missing or unexpected (shapes are always checked by ``load_state_dict``).

    Returns:
        ``(model, ConversionReport)``.
    """
    from ..models.ego4d_ts import Ego4DTSModel
    from ..registry import preset_config

    stubbed: list[str] = []
    if isinstance(checkpoint, Mapping):
        state_dict = extract_state_dict(checkpoint) if "state_dict" in checkpoint else dict(checkpoint)
    else:
        loaded = safe_load_checkpoint(checkpoint)
        state_dict, stubbed = extract_state_dict(loaded), loaded.stubbed
    converted, dropped = ego4d_ts_checkpoint_filter_fn(state_dict, ego4d_task)
    config = config if config is not None else preset_config(TASK_PRESETS[ego4d_task])
    if config.ego4d_task != ego4d_task:
        raise ValueError(f"config is for {config.ego4d_task!r}, the checkpoint for {ego4d_task!r}")
    model = Ego4DTSModel(config)
    result = model.load_state_dict(converted, strict=False)
    report = ConversionReport(list(result.missing_keys), list(result.unexpected_keys), dropped, stubbed)
    if strict and not report.ok:
        raise KeyError(
            f"{ego4d_task}: checkpoint does not match the mthub model: missing {report.missing_keys[:8]} "
            f"({len(report.missing_keys)}), unexpected {report.unexpected_keys[:8]} ({len(report.unexpected_keys)})"
        )
    model.eval()
    if output_dir is not None:
        model.save_pretrained(output_dir)
    return model, report


def main(argv: list[str] | None = None) -> int:
    """``python conversion/convert_ego4d_ts.py --task pnr --checkpoint ts_pnr.ckpt --output out/``."""
    parser = argparse.ArgumentParser(description="Convert an official Ego4D TS checkpoint to an mthub model (safetensors).")
    parser.add_argument("--task", required=True, choices=sorted(OFFICIAL_FILES), help="Ego4D task of the checkpoint")
    parser.add_argument("--checkpoint", required=True, help="official file, e.g. " + ", ".join(sorted(OFFICIAL_FILES.values())))
    parser.add_argument("--output", required=True, help="output folder (save_pretrained)")
    args = parser.parse_args(argv)
    _, report = convert_ego4d_ts_checkpoint(args.checkpoint, args.task, args.output)
    print(f"converted {args.checkpoint} → {args.output} ({TASK_PRESETS[args.task]})")
    if report.dropped_keys:
        print(f"dropped derived constants: {report.dropped_keys}")
    if report.stubbed_globals:
        print(f"pickled classes replaced by inert stubs (not needed for the weights): {report.stubbed_globals}")
    return 0

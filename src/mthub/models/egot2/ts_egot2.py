"""The frozen task-specific (TS) models inside an EgoT2 model and the raw-input → token-stream extraction.

The TS models are ``mthub_ego4d_ts`` models built through the Auto API from ``config.ts_configs`` (composition
by ``model_type``, as transformers' composite models do; no import of that family's package) and read through
the shared networks of :mod:`mthub.backbones.ego4d` they hold under ``.net``. Each token stream names an
*extractor* (:data:`~mthub.models.egot2.configuration_egot2.EXTRACTORS`) that turns the raw inputs of its source
model into ``(B, T_k, D_k)`` tokens (spec §2.1 and the cross-task input adaptation, paper §4.1 / A.2.2).

Raw inputs are keyword arguments named ``<source>_<kind>``:

==========================  ==========================================================  ====================
input                       shape                                                       read by
==========================  ==========================================================  ====================
``pnr_pixel_values``        ``(B, 16, 3, 225, 225)`` raw 0–255 (one 8 s clip at 2 fps)  PNR, OSCC
                            or ``(B, N, 16, 3, 225, 225)`` (N 8 s windows, LTA)
``ar_pixel_values``         ``(B, 32, 3, 224, 224)`` normalised (2.1 s at 15 fps)       AR
                            or ``(B, N, 32, 3, 224, 224)`` (one per clip)
``lta_pixel_values``        ``(B, N, 32, 3, 224, 224)``                                  LTA (and AR)
``lam_pixel_values``        ``(B, T, 3, 224, 224)`` face crops                           LAM, TTM
``ttm_pixel_values``        same                                                         TTM, LAM
``asd_pixel_values``        ``(B, T, 112, 112)`` grey 0–255 faces                         ASD
``asd_input_features``      ``(B, 4T, 13)`` MFCC                                         ASD
==========================  ==========================================================  ====================

A source that finds no input of its own reads the input of a model with the same input format (PNR ↔ OSCC: the
official code feeds both the same clip; LAM ↔ TTM: LAM runs on the TTM face crops; AR ← LTA clips), or of the TS
task its config names (the three TTM models of the no-auxiliary ablation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

__all__ = ["RAW_INPUT_KINDS", "SIBLING_SOURCES", "TSModelBank", "raw_input_names"]

#: Raw input kinds per TS task.
RAW_INPUT_KINDS = {
    "pnr": ("pixel_values",),
    "oscc": ("pixel_values",),
    "ar": ("pixel_values",),
    "lta": ("pixel_values",),
    "lam": ("pixel_values",),
    "ttm": ("pixel_values",),
    "asd": ("pixel_values", "input_features"),
}
#: Tasks whose TS models take inputs of the same format (fallbacks when a source has no input of its own).
SIBLING_SOURCES = {"pnr": ("oscc",), "oscc": ("pnr",), "lam": ("ttm",), "ttm": ("lam",), "ar": ("lta",), "lta": ("ar",)}


def raw_input_names(sources: Mapping[str, str]) -> set[str]:
    """Every raw-input keyword an EgoT2 model with TS models ``{source: task}`` accepts."""
    names = set()
    for source, task in sources.items():
        for kind in RAW_INPUT_KINDS[task]:
            names.add(f"{source}_{kind}")
            names.add(f"{task}_{kind}")
            names.update(f"{sibling}_{kind}" for sibling in SIBLING_SOURCES.get(task, ()) if kind in RAW_INPUT_KINDS[sibling])
    return names


def _slow_index(num_frames: int, alpha: int) -> list[int]:
    """Slow-pathway frames among ``num_frames``: ``linspace(0, T−1, T/α)`` truncated (PyTorchVideo's
    ``UniformTemporalSubsample``; the TS family's convention)."""
    return torch.linspace(0, num_frames - 1, num_frames // alpha, device="cpu").long().tolist()


class TSModelBank(nn.Module):
    """The TS models of an EgoT2 model (``models.<source>``) and the stream extractors.

    Args:
        ts_configs: ``{source: mthub_ego4d_ts config dict}``.
        freeze: ``requires_grad=False`` and eval mode for every TS model (the EgoT2 default); the bank's
            ``train()`` then keeps them in eval mode, so BatchNorm statistics never change.
    """

    def __init__(self, ts_configs: Mapping[str, Mapping[str, Any]], freeze: bool = True) -> None:
        super().__init__()
        from transformers import AutoConfig, AutoModel  # the Auto registry (mthub registers its families on import)

        self.freeze = freeze
        self.models = nn.ModuleDict()
        self.tasks: dict[str, str] = {}
        for source, sub in ts_configs.items():
            sub = dict(sub)
            sub.pop("model_type", None)
            config = AutoConfig.for_model("mthub_ego4d_ts", **sub)
            self.models[source] = AutoModel.from_config(config)
            self.tasks[source] = config.ego4d_task
        if freeze:
            self.requires_grad_(False)
            self.eval()

    def train(self, mode: bool = True) -> TSModelBank:
        super().train(mode and not self.freeze)
        return self

    # ----- raw inputs ----------------------------------------------------------------------------------------------
    def _input(self, source: str, kind: str, raw: Mapping[str, torch.Tensor]) -> torch.Tensor:
        task = self.tasks[source]
        candidates = [f"{source}_{kind}", f"{task}_{kind}", *(f"{s}_{kind}" for s in SIBLING_SOURCES.get(task, ()))]
        for name in candidates:
            if raw.get(name) is not None:
                return raw[name]
        raise ValueError(f"the {task.upper()} TS model ({source!r}) needs one of the inputs {candidates}; got {sorted(raw)}.")

    def _pathways(self, source: str, frames: torch.Tensor) -> list[torch.Tensor]:
        """``(..., T, 3, H, W)`` → SlowFast ``[slow (..., 3, T/α, H, W), fast (..., 3, T, H, W)]``."""
        config = self.models[source].config
        fast = frames.transpose(-4, -3)
        slow = fast[..., _slow_index(frames.shape[-4], config.slowfast_alpha), :, :]
        return [slow, fast]

    def _net(self, source: str) -> nn.Module:
        return self.models[source].net

    def extract(self, stream: Mapping[str, Any], raw: Mapping[str, torch.Tensor], cache: dict) -> torch.Tensor:
        """Tokens ``(B, T_k, D_k)`` of one stream from the raw inputs (memoised in ``cache`` per source/view)."""
        source, extractor = stream["source"], stream["extractor"]
        if source not in self.models:
            raise ValueError(f"stream {stream['name']!r} reads TS model {source!r}, which this model does not hold; "
                             f"pass `{stream['name']}_features` instead.")
        if extractor is None:
            raise ValueError(f"stream {stream['name']!r} has no extractor: pass `{stream['name']}_features`.")
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze):
            return self._extract(source, extractor, raw, cache)

    def _cached(self, cache: dict, key: tuple, compute):
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    def _extract(self, source: str, extractor: str, raw: Mapping[str, torch.Tensor], cache: dict) -> torch.Tensor:
        net = self._net(source)
        if extractor.startswith("i3d"):
            pixels = self._input(source, "pixel_values", raw)
            if extractor == "i3d_clip_mean":
                if pixels.dim() != 6:
                    raise ValueError(f"{source}: i3d_clip_mean needs (B, N, T, 3, H, W) windows, got {tuple(pixels.shape)}.")
                batch, clips = pixels.shape[:2]
                tokens = self._cached(cache, (source, "i3d", "clips"), lambda: net.tokens(pixels.flatten(0, 1).transpose(1, 2)))
                return tokens.mean(dim=1).view(batch, clips, -1)
            tokens = self._cached(cache, (source, "i3d"), lambda: net.tokens(pixels.transpose(1, 2)))  # (B, T, C·cells)
            return tokens if extractor == "i3d_frames" else tokens.mean(dim=1, keepdim=True)
        if extractor in ("slowfast_slow", "slowfast_fast"):
            pixels = self._input(source, "pixel_values", raw)
            if pixels.dim() == 6:  # the AR model on the last observed clip of an LTA window (Tab. 9 "*")
                pixels = pixels[:, -1]
            slow, fast = self._cached(cache, (source, "slowfast"), lambda: net.tokens(self._pathways(source, pixels)))
            return slow if extractor == "slowfast_slow" else fast
        if extractor == "slowfast_pooled":
            pixels = self._input(source, "pixel_values", raw)
            clips = pixels.dim() == 6
            frames = pixels.flatten(0, 1) if clips else pixels

            def pooled() -> torch.Tensor:
                features = net.features(self._pathways(source, frames))
                head = net.head if hasattr(net.head, "pooled") else net.backbone.head
                return head.pooled(features).mean(dim=1)  # (B', 2304): one position at 224²

            vectors = self._cached(cache, (source, "pooled"), pooled)
            return vectors.view(pixels.shape[0], pixels.shape[1] if clips else 1, -1)
        if extractor == "lta_aggregator":
            pixels = self._input(source, "pixel_values", raw)
            return self._cached(cache, (source, "lta"), lambda: net.tokens(self._pathways(source, pixels)))
        if extractor in ("social_frames", "social_mean"):
            pixels = self._input(source, "pixel_values", raw)
            tokens = self._cached(cache, (source, "social"), lambda: net.tokens(pixels))
            return tokens if extractor == "social_frames" else tokens.mean(dim=1, keepdim=True)
        if extractor in ("talknet_frames", "talknet_mean"):
            faces = self._input(source, "pixel_values", raw)
            if faces.dim() == 5 and faces.shape[2] == 1:
                faces = faces[:, :, 0]
            mfcc = self._input(source, "input_features", raw)
            tokens = self._cached(cache, (source, "talknet"), lambda: net.tokens(faces, mfcc))
            return tokens if extractor == "talknet_frames" else tokens.mean(dim=1, keepdim=True)
        raise ValueError(f"unknown extractor {extractor!r}")

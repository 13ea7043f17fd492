"""Tiny EgoT2 configs (any preset's layout at toy widths) and example inputs / labels, for tests and the family
registry. ``with_ts=True`` attaches tiny TS models and sizes the streams to their token widths (raw-input mode)."""

from __future__ import annotations

import copy
from typing import Any

import torch

from ...backbones.ego4d.tiny_configs import TINY_TS_TASKS, tiny_ts_overrides
from .configuration_egot2 import EgoT2Config
from .tokenization_egot2 import EgoT2Tokenizer

__all__ = ["TINY_TAXONOMY", "TINY_TS_CONFIGS", "example_inputs", "example_labels", "example_raw_inputs", "tiny_egot2_config"]

#: Feature widths of the tiny configs without TS models (full width → tiny width).
TINY_DIMS = {8192: 24, 2304: 12, 2048: 16, 256: 8}
#: Token counts of the tiny HOI layouts (PNR/OSCC 16 → 4, AR slow/fast 8 → 2).
TINY_TOKENS = {16: 4, 8: 2}
#: Frames of variable-length (LAM/TTM/ASD) streams in example inputs.
EXAMPLE_FRAMES = 6
#: A toy taxonomy: 3 verbs, 4 nouns, "drill" both a verb and a noun (V = 30 deduped, 31 kept apart).
TINY_TAXONOMY = {"verbs": ["cut_(chop,_slice)", "take", "drill"], "nouns": ["knife", "drill", "pot", "tomato_(fruit)"]}

#: Tiny ``mthub_ego4d_ts`` sub-configs (seconds on CPU), per TS task, with the label space of :data:`TINY_TAXONOMY`.
TINY_TS_CONFIGS: dict[str, dict[str, Any]] = {
    task: tiny_ts_overrides(task, num_verbs=len(TINY_TAXONOMY["verbs"]), num_nouns=len(TINY_TAXONOMY["nouns"]))
    for task in TINY_TS_TASKS
}


def tiny_egot2_config(preset: str = "egot2-g-hhi", with_ts: bool = False, **overrides: Any) -> EgoT2Config:
    """``preset``'s layout at toy sizes: D=16, 2 heads, FFN 32, 1 (+1) layer, small feature widths and token counts,
    3 verbs / 4 nouns / Z=3; EgoT2-g HOI gets the vocabulary of :data:`TINY_TAXONOMY`. ``with_ts=True`` attaches
    tiny TS models (:data:`TINY_TS_CONFIGS`) and sizes every stream to their tokens."""
    from ...registry import get_preset

    base = copy.deepcopy(dict(get_preset(preset).config))
    streams = []
    for stream in base["streams"]:
        stream = dict(stream)
        stream["input_dim"] = TINY_DIMS.get(stream["input_dim"], stream["input_dim"])
        if stream.get("num_tokens") in TINY_TOKENS and stream.get("extractor") not in ("i3d_clip_mean",):
            stream["num_tokens"] = TINY_TOKENS[stream["num_tokens"]]
        streams.append(stream)
    config: dict[str, Any] = {
        **base,
        "streams": streams,
        "hidden_size": 16,
        "num_attention_heads": 2,
        "ffn_dim": 32,
        "num_hidden_layers": 1,
        "num_decoder_layers": 1,
        "num_verbs": len(TINY_TAXONOMY["verbs"]),
        "num_nouns": len(TINY_TAXONOMY["nouns"]),
        "num_future": 3,
        "ts_checkpoints": None,
    }
    if base.get("variant") == "g" and "action_verb" in {p["task"] for p in base["prompts"]}:
        config.update(EgoT2Tokenizer.from_taxonomy(TINY_TAXONOMY).config_kwargs())
        config["verb_labels"], config["noun_labels"] = list(TINY_TAXONOMY["verbs"]), list(TINY_TAXONOMY["nouns"])
    for stream in streams:
        if stream.get("projection_type") == "identity":
            stream["input_dim"] = config["hidden_size"]
    if with_ts:
        sources = {s["source"]: dict(base["ts_configs"][s["source"]]) for s in streams}
        config["ts_configs"] = {source: {**sub, **TINY_TS_CONFIGS[sub["ego4d_task"]]} for source, sub in sources.items()}
        config["use_ts_models"] = True
    else:
        config["ts_configs"] = None
        config["use_ts_models"] = False
    config.update(overrides)
    result = EgoT2Config(**config)
    if with_ts:
        _fit_streams_to_ts(result)
    return result


def _fit_streams_to_ts(config: EgoT2Config) -> None:
    """Set every stream's ``input_dim`` / ``num_tokens`` to what its tiny TS model produces (a meta-device run)."""
    from .ts_egot2 import TSModelBank

    with torch.device("meta"):
        bank = TSModelBank(config.ts_configs)
        raw = example_raw_inputs(config, 1, device="meta")
        cache: dict = {}
        for stream in config.streams:
            tokens = bank.extract(stream, raw, cache)
            stream["input_dim"] = int(tokens.shape[-1])
            if stream["num_tokens"] is not None:
                stream["num_tokens"] = int(tokens.shape[1])
    if config.pos_embedding_type == "learned_absolute" or any(s["projection_type"] == "identity" for s in config.streams):
        for stream in config.streams:
            if stream["projection_type"] == "identity":
                stream["projection_type"] = "linear"  # tiny TS widths differ from D


def example_raw_inputs(config: EgoT2Config, batch_size: int = 2, num_frames: int = EXAMPLE_FRAMES, device: str | torch.device | None = None) -> dict[str, torch.Tensor]:
    """Random raw inputs of every TS model of ``config`` (shapes of :mod:`~mthub.models.egot2.ts_egot2`)."""
    out: dict[str, torch.Tensor] = {}
    clip_streams = {s["source"] for s in config.streams if s.get("extractor") in ("i3d_clip_mean",)}
    pooled_clips = any(s.get("extractor") == "slowfast_pooled" and (s["num_tokens"] or 1) > 1 for s in config.streams)
    for source, sub in (config.ts_configs or {}).items():
        task = sub["ego4d_task"]
        size = sub.get("image_size") or TINY_TS_CONFIGS[task]["image_size"]
        frames = sub.get("num_frames") or num_frames
        if task in ("pnr", "oscc"):
            shape = (batch_size, 2, frames, 3, size, size) if source in clip_streams else (batch_size, frames, 3, size, size)
            out[f"{source}_pixel_values"] = torch.rand(shape, device=device) * 255
        elif task in ("ar", "lta"):
            clips = task == "lta" or pooled_clips
            shape = (batch_size, 2, frames, 3, size, size) if clips else (batch_size, frames, 3, size, size)
            out[f"{source}_pixel_values"] = torch.randn(shape, device=device)
        elif task in ("lam", "ttm"):
            out[f"{source}_pixel_values"] = torch.randn(batch_size, num_frames, 3, size, size, device=device)
        else:
            out[f"{source}_pixel_values"] = torch.rand(batch_size, num_frames, size, size, device=device) * 255
            out[f"{source}_input_features"] = torch.randn(batch_size, 4 * num_frames, 13, device=device)
    return out


def example_inputs(config: EgoT2Config, batch_size: int = 2) -> dict[str, torch.Tensor]:
    """Random precomputed features ``<stream>_features (B, T_k, D_k)`` of every stream (variable-length streams get
    :data:`EXAMPLE_FRAMES` tokens)."""
    return {
        f"{s['name']}_features": torch.randn(batch_size, s["num_tokens"] or EXAMPLE_FRAMES, s["input_dim"]) for s in config.streams
    }


def example_labels(config: EgoT2Config, batch_size: int = 2) -> dict[str, torch.Tensor]:
    """Random labels of every task (label space): PNR keyframe (the last clip without a state change, ``-100``),
    LTA ``(B, Z)`` for EgoT2-s, ASD per frame ``(B, T)``."""
    labels = {}
    for task in config.task_order:
        classes = config.num_classes(task)
        if task == "asd":
            frames = next((s["num_tokens"] or EXAMPLE_FRAMES) for s in config.streams if s["source"].startswith("asd"))
            labels[task] = torch.randint(0, classes, (batch_size, frames))
        elif task.startswith("lta") and config.variant == "s":
            labels[task] = torch.randint(0, classes, (batch_size, config.num_future))
        else:
            labels[task] = torch.randint(0, classes, (batch_size,))
        if task == "pnr":
            labels[task][-1] = -100
    return labels

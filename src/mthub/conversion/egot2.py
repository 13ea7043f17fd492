"""Official EgoT2 Lightning checkpoints (``facebookresearch/EgoT2``) → mthub ``mthub_egot2`` state dicts.

What a real ``.ckpt`` holds (spec §8, "Checkpoint layout facts"), and what happens to it here:

* ``state_dict`` keys of the Lightning module: the translator under ``model.`` (stripped); the frozen TS models
  under ``model.<task>_model.*`` (``lam``, ``ttm``, ``asd``, ``pnr``, ``oscc``, ``recognition``/``action``,
  ``lta``; ``oscc_model{1,2,3}`` in the no-auxiliary ablation) — split off as official TS state dicts (convert them
  with :mod:`mthub.conversion.ego4d_ts`; mthub checkpoints reference the TS models by ``config.ts_checkpoints``) —
  except the *trainable* SlowFast head ``{action,recognition}_model.head.projection`` of the LTA / EgoT2-g-HOI /
  pooled classes, which is part of the translator;
* top-level (outside ``model.``) ``lossAV.FC.*`` (ASD: the per-frame classifier — kept) and
  ``lossAV.criterion.weight`` / ``criterion.weight`` (loss class weights — ignored);
* ``pos_embed.pe``: the fixed sinusoidal buffer — checked against :func:`mthub.layers.sinusoidal_position_table`
  and dropped (mthub computes it on the fly);
* in HOI classes one LayerNorm is saved under several names (``ln`` = ``linear_head.0`` = ``linear_head1.0`` =
  ``linear_head2.0``): the copies are checked equal and deduplicated;
* ``nn.TransformerEncoder/DecoderLayer`` fused ``self_attn.in_proj_{weight,bias}`` → ``q_proj``/``k_proj``/``v_proj``;
  ``multihead_attn`` → ``cross_attn``;
* ``hyper_parameters``: nothing (HHI EgoT2-s), ``{"cfg": yacs CfgNode}`` (HOI) or ``{"args": Namespace}`` (EgoT2-g),
  read through :func:`mthub.conversion.safe_load.safe_load_checkpoint` (no pickled code runs) and used only to
  cross-check the attention-head count; sizes come from the tensors.

The official class is recognised from the keys and shapes (:func:`detect_preset`); a preset name can be given
instead. Converting an mthub state dict again returns it unchanged (:func:`convert_state_dict` is idempotent).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..layers.post_norm_transformer import sinusoidal_position_table
from .safe_load import LoadedCheckpoint, extract_state_dict, safe_load_checkpoint

__all__ = [
    "ConversionResult",
    "OfficialCheckpoint",
    "convert_checkpoint",
    "convert_state_dict",
    "detect_preset",
    "is_mthub_state_dict",
    "load_embedded_ts_weights",
    "load_official_checkpoint",
    "official_heads",
    "translator_projection_map",
]

#: Official TS-model attribute → mthub TS source (``config.ts_configs`` key).
TS_ATTRIBUTES = {
    "lam_model": "lam",
    "ttm_model": "ttm",
    "asd_model": "asd",
    "pnr_model": "pnr",
    "oscc_model": "oscc",
    "oscc_model1": "oscc",
    "oscc_model2": "oscc_2",
    "oscc_model3": "oscc_3",
    "recognition_model": "ar",
    "action_model": "ar",
    "lta_model": "lta",
}
#: The trainable SlowFast head that some classes keep inside their TS attribute.
TRAINABLE_TS_HEADS = ("action_model.head.projection.", "recognition_model.head.projection.")
IGNORED_TOP_LEVEL = ("criterion.weight", "lossAV.criterion.weight")
MTHUB_MARKERS = ("embeddings.norm.weight",)


@dataclass
class OfficialCheckpoint:
    """An official checkpoint as read by :func:`load_official_checkpoint`.

    Attributes:
        translator: translator tensors (``model.`` stripped; ``lossAV.FC.*`` included).
        ts_state_dicts: ``{official TS attribute: {key: tensor}}`` of the frozen TS models it embeds.
        ignored: keys dropped (loss weights, unknown top-level modules).
        hyper_parameters: the (stubbed) ``hyper_parameters`` object, or ``None``.
        stubbed: pickled globals replaced by inert stubs while loading.
    """

    translator: dict[str, torch.Tensor]
    ts_state_dicts: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    hyper_parameters: Any = None
    stubbed: list[str] = field(default_factory=list)


def split_lightning_state_dict(state_dict: Mapping[str, torch.Tensor]) -> OfficialCheckpoint:
    """Separate translator, embedded TS models and ignorable keys of a Lightning ``state_dict``."""
    translator: dict[str, torch.Tensor] = {}
    ts: dict[str, dict[str, torch.Tensor]] = {}
    ignored: list[str] = []
    for key, value in state_dict.items():
        if key.startswith("model."):
            inner = key[len("model."):]
            attribute, _, rest = inner.partition(".")
            if inner.startswith(TRAINABLE_TS_HEADS):
                translator[inner] = value
            elif attribute in TS_ATTRIBUTES:
                ts.setdefault(attribute, {})[rest] = value
            else:
                translator[inner] = value
        elif key.startswith("lossAV.FC."):
            translator[key] = value
        else:
            ignored.append(key)  # criterion.weight, lossAV.criterion.weight, metric states …
    return OfficialCheckpoint(translator, ts, ignored)


def load_official_checkpoint(path: str | Path) -> OfficialCheckpoint:
    """Read an official ``.ckpt`` without executing pickled code and split it (see the module docstring)."""
    loaded: LoadedCheckpoint = safe_load_checkpoint(path)
    data = loaded.data
    state_dict = extract_state_dict(data)
    checkpoint = split_lightning_state_dict(state_dict) if any(k.startswith("model.") for k in state_dict) else OfficialCheckpoint(dict(state_dict))
    checkpoint.hyper_parameters = data.get("hyper_parameters") if isinstance(data, Mapping) else None
    checkpoint.stubbed = loaded.stubbed
    return checkpoint


def is_mthub_state_dict(state_dict: Mapping[str, torch.Tensor]) -> bool:
    return any(key in state_dict for key in MTHUB_MARKERS)


# --------------------------------------------------------------------------------------------------------------------
# Recognising the official class
# --------------------------------------------------------------------------------------------------------------------


def _layers(state_dict: Mapping[str, torch.Tensor], prefix: str) -> int:
    pattern = re.compile(rf"^{re.escape(prefix)}\.layers\.(\d+)\.")
    found = {int(m.group(1)) for key in state_dict if (m := pattern.match(key))}
    return max(found) + 1 if found else 0


def detect_preset(translator: Mapping[str, torch.Tensor]) -> str:
    """The mthub preset whose layout the official translator tensors have (released classes and subsets)."""
    keys = set(translator)
    has = keys.__contains__
    if has("transformer_decoder.layers.0.linear1.weight"):
        if has("proj_action_slow.weight"):
            return "egot2-g-hoi"
        if has("proj_lam.weight") and has("proj_pnr.weight"):
            return "egot2-g-cross"
        if has("proj_lam.weight"):
            return "egot2-g-hhi" if translator["proj_lam.weight"].shape[0] == 128 and _layers(translator, "transformer_encoder") == 1 else "egot2-g-hhi-code-defaults"
        return "egot2-g-hoi-po"
    if has("lossAV.FC.weight"):
        return "egot2-s-asd"
    if has("proj_ttm.weight"):
        return "egot2-s-ttm" if has("proj_asd.weight") else "egot2-s-ttm-lam"
    if has("head.projections.0.weight"):
        if has("proj_pnr.weight"):
            return "egot2-s-lta"
        return "egot2-s-lta-ar" if translator["pe"].shape[-1] == 1024 else "egot2-s-lta-ar-cfg"
    if has("linear_head1.1.weight"):
        return "egot2-s-ar-lta" if has("proj_lta.weight") else "egot2-s-ar"
    if has("proj3.weight"):
        return "egot2-s-oscc-noaux"
    if has("recognition_model.head.projection.weight") and has("proj1.weight"):
        return "egot2-s-oscc-pooled"
    if has("proj1.weight") and not has("proj3_slow.weight"):
        primary = "pnr" if translator["linear_head.weight"].shape[0] == 16 else "oscc"
        return f"egot2-s-{primary}-po"
    if has("proj3_slow.weight"):
        if translator["linear_head.1.weight"].shape[0] == 2:
            return "egot2-s-oscc"
        return "egot2-s-pnr" if _layers(translator, "transformer") == 6 else "egot2-s-pnr-paper"
    raise ValueError(f"not a known EgoT2 translator (keys: {sorted(keys)[:12]} …)")


# --------------------------------------------------------------------------------------------------------------------
# Key maps
# --------------------------------------------------------------------------------------------------------------------

#: Official projection attribute → mthub projection name, per official naming family.
_PROJECTIONS = {
    "hhi": {"proj_ttm": "ttm", "proj_lam": "lam", "proj_asd": "asd"},
    "hoi_clip": {"proj1": "pnr", "proj2": "oscc", "proj3_slow": "ar_slow", "proj3_fast": "ar_fast"},
    "noaux": {"proj1": "oscc", "proj2": "oscc_2", "proj3": "oscc_3"},
    "pooled": {"proj1": "pnr", "proj2": "oscc", "recognition_model.head.projection": "ar_pooled"},
    "lta": {"proj_pnr": "pnr_clips", "proj_oscc": "oscc_clips", "proj_lta": "lta", "action_model.head.projection": "ar_pooled"},
    "ar_lta": {"proj_slow": "ar_slow", "proj_fast": "ar_fast", "proj_lta": "lta"},
    "g": {
        "proj_lam": "lam", "proj_ttm": "ttm", "proj_asd": "asd", "proj_pnr": "pnr", "proj_oscc": "oscc",
        "proj_action_slow": "ar_slow", "proj_action_fast": "ar_fast", "proj_lta": "lta",
        "recognition_model.head.projection": "ar_pooled",
    },
}


def translator_projection_map(preset: str) -> dict[str, str]:
    """Official projection attribute → mthub ``embeddings.projections.<name>`` for ``preset``'s class."""
    if preset.startswith("egot2-g"):
        return _PROJECTIONS["g"]
    if preset in ("egot2-s-ttm", "egot2-s-asd", "egot2-s-ttm-lam", "egot2-s-ttm-pooled", "egot2-s-ttm-unfrozen"):
        return _PROJECTIONS["hhi"]
    if preset in ("egot2-s-lta", "egot2-s-lta-ar", "egot2-s-lta-ar-cfg"):
        return _PROJECTIONS["lta"]
    if preset == "egot2-s-ar-lta":
        return _PROJECTIONS["ar_lta"]
    if preset == "egot2-s-oscc-noaux":
        return _PROJECTIONS["noaux"]
    if preset == "egot2-s-oscc-pooled":
        return _PROJECTIONS["pooled"]
    return _PROJECTIONS["hoi_clip"]


def official_heads(preset: str, primary_task: str | None) -> dict[str, str]:
    """Official head key prefix → mthub key prefix (LayerNorm copies shared with ``ln`` map to ``None``-marked keys
    handled separately)."""
    if preset == "egot2-s-asd":
        return {"lossAV.FC": "head.classifiers.asd", "linear_head.0": "head.clip_norm", "linear_head.1": "head.clip_classifier"}
    if preset.startswith(("egot2-s-ttm",)):
        return {"linear_head.0": "head.norm", "linear_head.1": "head.classifiers.ttm"}
    if primary_task == "lta":
        return {"head.projections": "head.projections"}
    if primary_task == "ar":
        return {"linear_head1.1": "head.classifiers.action_verb", "linear_head2.1": "head.classifiers.action_noun"}
    if preset.endswith("-po"):
        return {"linear_head": f"head.classifiers.{primary_task}"}
    return {"linear_head.1": f"head.classifiers.{primary_task}"}


#: HOI copies of the input LayerNorm (one module saved under several names).
_SHARED_NORM_COPIES = ("linear_head.0", "linear_head1.0", "linear_head2.0")


def _layer_keys(prefix_in: str, prefix_out: str, key: str, value: torch.Tensor) -> dict[str, torch.Tensor]:
    """One official transformer-layer tensor → mthub tensors (fused q/k/v split; names mapped)."""
    rest = key[len(prefix_in) + 1:]  # "{i}.self_attn.in_proj_weight" …
    index, _, name = rest.partition(".")
    base = f"{prefix_out}.{index}."
    for attention, target in (("self_attn", "self_attn"), ("multihead_attn", "cross_attn")):
        if name == f"{attention}.in_proj_weight":
            q, k, v = value.chunk(3, dim=0)
            return {f"{base}{target}.q_proj.weight": q, f"{base}{target}.k_proj.weight": k, f"{base}{target}.v_proj.weight": v}
        if name == f"{attention}.in_proj_bias":
            q, k, v = value.chunk(3, dim=0)
            return {f"{base}{target}.q_proj.bias": q, f"{base}{target}.k_proj.bias": k, f"{base}{target}.v_proj.bias": v}
        if name.startswith(f"{attention}.out_proj."):
            return {f"{base}{target}.out_proj.{name.rsplit('.', 1)[1]}": value}
    for ffn in ("linear1", "linear2"):
        if name.startswith(f"{ffn}."):
            return {f"{base}mlp.{name}": value}
    if name.startswith(("norm1.", "norm2.", "norm3.")):
        return {base + name: value}
    raise KeyError(f"unexpected transformer-layer tensor {key!r}")


@dataclass
class ConversionResult:
    """Output of :func:`convert_state_dict`: the mthub translator tensors and what was dropped, and why."""

    state_dict: dict[str, torch.Tensor]
    dropped: dict[str, str] = field(default_factory=dict)
    ts_report: dict[str, dict[str, Any]] | None = None


def convert_state_dict(translator: Mapping[str, torch.Tensor], preset: str, primary_task: str | None = None, hidden_size: int | None = None) -> ConversionResult:
    """Official translator tensors (``model.`` stripped) → mthub ``EgoT2Model`` translator tensors.

    Idempotent: an mthub state dict (``embeddings.norm.weight`` present) is returned unchanged.

    Raises:
        KeyError: a tensor the map does not know (nothing is silently dropped but the documented copies/buffers).
        ValueError: a "shared" LayerNorm copy differs from ``ln``, or ``pos_embed.pe`` is not the sinusoidal table.
    """
    if is_mthub_state_dict(translator):
        return ConversionResult(dict(translator))
    projections = translator_projection_map(preset)
    heads = official_heads(preset, primary_task)
    out: dict[str, torch.Tensor] = {}
    dropped: dict[str, str] = {}
    for key, value in translator.items():
        if key.startswith(("transformer_encoder.layers.", "transformer.layers.")):
            prefix = key.split(".layers.")[0] + ".layers"
            out.update(_layer_keys(prefix, "encoder.layers", key, value))
        elif key.startswith("transformer_decoder.layers."):
            out.update(_layer_keys("transformer_decoder.layers", "decoder.layers", key, value))
        elif key in ("ln.weight", "ln.bias"):
            out[f"embeddings.norm.{key.split('.')[1]}"] = value
        elif key == "task_embed":
            out["embeddings.task_embeddings"] = value.reshape(value.shape[-2], value.shape[-1])
        elif key == "pe":
            out["embeddings.position_embeddings"] = value.reshape(value.shape[-2], value.shape[-1])
        elif key == "pos_embed.pe":
            table = sinusoidal_position_table(value.shape[0], value.shape[-1], dtype=torch.float64)
            if not value.is_meta and not torch.allclose(value.reshape(value.shape[0], -1).double(), table, atol=1e-5):
                raise ValueError("pos_embed.pe is not the sinusoidal table: this checkpoint's positions cannot be reproduced.")
            dropped[key] = "fixed sinusoidal table (recomputed on the fly)"
        elif key == "embedding.weight":
            out["decoder.embed_tokens.weight"] = value
        elif key.startswith("fc."):
            out[f"decoder.lm_head.{key.split('.', 1)[1]}"] = value
        else:
            module, _, leaf = key.rpartition(".")
            if module in projections:
                out[f"embeddings.projections.{projections[module]}.{leaf}"] = value
            elif any(key.startswith(prefix + ".") for prefix in heads):
                prefix = next(p for p in heads if key.startswith(p + "."))
                out[heads[prefix] + key[len(prefix):]] = value
            elif module in _SHARED_NORM_COPIES:
                dropped[key] = "copy of the shared LayerNorm ln"
            else:
                raise KeyError(f"official tensor {key!r} has no mthub counterpart in preset {preset!r}'s map")
    for key, reason in list(dropped.items()):
        if reason.startswith("copy"):
            original = translator[f"ln.{key.rsplit('.', 1)[1]}"]
            if not original.is_meta and not torch.equal(translator[key], original):
                raise ValueError(f"{key} should be the shared LayerNorm `ln` (HOI classes) but differs from it.")
    return ConversionResult(out, dropped)


# --------------------------------------------------------------------------------------------------------------------
# Whole checkpoints
# --------------------------------------------------------------------------------------------------------------------


def _heads_from_hyper_parameters(hyper_parameters: Any) -> int | None:
    """``num_heads`` / ``MODEL.TRANSLATION_HEADS`` from stubbed hyper-parameters (cross-check only)."""
    if hyper_parameters is None:
        return None
    args = hyper_parameters.get("args") if isinstance(hyper_parameters, Mapping) else None
    if isinstance(args, argparse.Namespace) and hasattr(args, "num_heads"):
        return int(args.num_heads)
    cfg = hyper_parameters.get("cfg") if isinstance(hyper_parameters, Mapping) else None
    model = cfg.get("MODEL") if isinstance(cfg, Mapping) else None
    if isinstance(model, Mapping) and "TRANSLATION_HEADS" in model:
        return int(model["TRANSLATION_HEADS"])
    return None


def load_embedded_ts_weights(model, official: OfficialCheckpoint) -> dict[str, dict[str, Any]]:
    """Load the frozen TS models an official EgoT2 checkpoint embeds (``model.<task>_model.*``) into ``model``'s TS
    models, through the TS key map of :func:`mthub.conversion.ego4d_ts.ego4d_ts_checkpoint_filter_fn`.

    The embedded models are the official *backbones* (``LAMBackbone``, ``TTMBackbone``, ``SlowFast`` without its
    head, ``ForecastingEncoderDecoder`` without its decoder …): their task heads are absent and stay as initialised
    (EgoT2 never reads them). Returns ``{source: {"loaded", "missing", "unexpected", "dropped"}}``.
    """
    from .ego4d_ts import ego4d_ts_checkpoint_filter_fn

    if getattr(model, "ts_models", None) is None:
        raise ValueError("the model holds no TS models (build it with use_ts_models=True)")
    report: dict[str, dict[str, Any]] = {}
    for attribute, state in official.ts_state_dicts.items():
        source = TS_ATTRIBUTES[attribute]
        if source not in model.ts_models.models:
            report[source] = {"loaded": 0, "missing": [], "unexpected": sorted(state), "dropped": [], "skipped": True}
            continue
        converted, dropped = ego4d_ts_checkpoint_filter_fn(state, model.ts_models.tasks[source])
        result = model.ts_models.models[source].load_state_dict(converted, strict=False)
        report[source] = {
            "loaded": len(converted) - len(result.unexpected_keys),
            "missing": list(result.missing_keys),
            "unexpected": list(result.unexpected_keys),
            "dropped": dropped,
        }
    model.freeze_ts_models()
    return report


def convert_checkpoint(
    path: str | Path,
    preset: str | None = None,
    config_overrides: Mapping[str, Any] | None = None,
    use_ts_models: bool = False,
    include_ts: bool = False,
):
    """Build an :class:`~mthub.models.egot2.EgoT2Model` from an official ``.ckpt`` (or an mthub folder/safetensors).

    Args:
        path: official Lightning checkpoint.
        preset: mthub preset of the official class (default: recognised from the tensors).
        config_overrides: config fields to override (e.g. the vocabulary of an EgoT2-g-HOI checkpoint).
        use_ts_models: build the TS models too (their weights come from ``config.ts_checkpoints``).
        include_ts: build the TS models and load the ones the checkpoint embeds (:func:`load_embedded_ts_weights`;
            the report is ``result.ts_report``).

    Returns:
        ``(model, official_checkpoint, result)``; the model is in eval mode, translator weights loaded strictly.
    """
    from transformers import AutoModel

    import mthub  # noqa: F401  (registers the families)
    from mthub.registry import preset_config

    official = load_official_checkpoint(path)
    preset = preset or detect_preset(official.translator)
    config = preset_config(preset, use_ts_models=use_ts_models or include_ts, **dict(config_overrides or {}))
    heads = _heads_from_hyper_parameters(official.hyper_parameters)
    if heads is not None and heads != config.num_attention_heads:
        config.num_attention_heads = heads
    result = convert_state_dict(official.translator, preset, config.primary_task)
    model = AutoModel.from_config(config)
    missing, unexpected = model.load_state_dict(result.state_dict, strict=False)
    missing = [k for k in missing if not k.startswith("ts_models.")]
    if missing or unexpected:
        raise ValueError(f"{path}: converted tensors do not fit {preset!r}: missing {missing[:8]}, unexpected {unexpected[:8]}.")
    if include_ts:
        result.ts_report = load_embedded_ts_weights(model, official)
    return model.eval(), official, result

"""Token-stream layouts of the official EgoT2 classes (spec §2.2–2.3, §3), as data for the presets.

Each function returns the ``streams`` (and ``prompts``) of one official class; the order is the class's
concatenation order and ``task_id`` its task-embedding index. Feature widths (spec §2.1): PNR/OSCC res5 cells
8192 = 2048·2·2 (16 tokens per 8 s clip), AR SlowFast slow 2048 / fast 256 (8 + 8 tokens), AR pooled 2304 (one
per clip, through the trainable SlowFast head), LTA aggregator 2048 (2 clips), LAM/TTM/ASD 256 per frame.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "TS_CHECKPOINTS",
    "ar_lta_streams",
    "cross_g_layout",
    "hhi_g_layout",
    "hhi_streams",
    "hoi_clip_streams",
    "hoi_g_layout",
    "lta_ar_streams",
    "lta_streams",
    "oscc_noaux_streams",
    "oscc_pooled_streams",
    "pnr_oscc_g_layout",
    "ts_checkpoints",
    "ts_configs",
]

I3D, SLOW, FAST, POOLED, LTA, SOCIAL = 8192, 2048, 256, 2304, 2048, 256

#: Hub ids of the converted TS models (family ``mthub_ego4d_ts``).
TS_CHECKPOINTS = {
    "pnr": "mthub/ego4d-pnr-i3d-r50",
    "oscc": "mthub/ego4d-oscc-i3d-r50",
    "ar": "mthub/ego4d-ar-slowfast-r101",
    "lta": "mthub/ego4d-lta-slowfast",
    "lam": "mthub/ego4d-lam-resnet18-bilstm",
    "ttm": "mthub/ego4d-ttm-resnet18-resnetse",
    "asd": "mthub/ego4d-asd-talknet",
}


def ts_configs(*sources: str, **tasks: str) -> dict[str, dict[str, Any]]:
    """Full-size TS sub-configs: ``ts_configs("pnr", "ar")`` → ``{"pnr": {"ego4d_task": "pnr"}, ...}``; extra
    models of one task by keyword (``ttm_2="ttm"``)."""
    out = {source: {"ego4d_task": source} for source in sources}
    out.update({source: {"ego4d_task": task} for source, task in tasks.items()})
    return out


def ts_checkpoints(*sources: str) -> dict[str, str]:
    return {source: TS_CHECKPOINTS[source] for source in sources}


def _i3d(name: str, source: str, task_id: int, tokens: int = 16, extractor: str = "i3d_frames", projection: str | None = None) -> dict:
    return {"name": name, "source": source, "input_dim": I3D, "num_tokens": tokens, "task_id": task_id, "extractor": extractor,
            "projection": projection or name}


def _slow(task_id: int, name: str = "ar_slow", projection: str | None = None) -> dict:
    return {"name": name, "source": "ar", "input_dim": SLOW, "num_tokens": 8, "task_id": task_id, "extractor": "slowfast_slow",
            "projection": projection or name}


def _fast(task_id: int, name: str = "ar_fast", projection: str | None = None) -> dict:
    return {"name": name, "source": "ar", "input_dim": FAST, "num_tokens": 8, "task_id": task_id, "extractor": "slowfast_fast",
            "projection": projection or name}


def _pooled(task_id: int, tokens: int = 2, name: str = "ar_pooled") -> dict:
    """Pooled SlowFast features through the trainable head ``Linear(2304, D)`` (dropout 0.5 before it)."""
    return {"name": name, "source": "ar", "input_dim": POOLED, "num_tokens": tokens, "task_id": task_id,
            "extractor": "slowfast_pooled", "projection_dropout": 0.5}


def _lta(task_id: int, identity: bool = False) -> dict:
    return {"name": "lta", "source": "lta", "input_dim": LTA, "num_tokens": 2, "task_id": task_id, "extractor": "lta_aggregator",
            "projection_type": "identity" if identity else "linear"}


def _social(name: str, task_id: int, source: str | None = None, pooled: bool = False) -> dict:
    source = source or name
    task = source.split("_")[0]
    extractor = ("talknet" if task == "asd" else "social") + ("_mean" if pooled else ("_frames"))
    return {"name": name, "source": source, "input_dim": SOCIAL, "num_tokens": 1 if pooled else None, "task_id": task_id,
            "extractor": extractor}


def hoi_clip_streams(order: tuple[str, ...] = ("pnr", "oscc", "ar_slow", "ar_fast")) -> list[dict]:
    """The 48 tokens of an 8 s HOI clip (``TaskFusionMFTransformer3Task[Dropout]``): PNR 16, OSCC 16, AR slow 8 +
    fast 8, in ``order`` (PNR/OSCC primary: P, O, slow, fast; AR primary: slow, fast, P, O)."""
    makers = {"pnr": lambda i: _i3d("pnr", "pnr", i), "oscc": lambda i: _i3d("oscc", "oscc", i), "ar_slow": _slow, "ar_fast": _fast}
    return [makers[name](index) for index, name in enumerate(order)]


def lta_streams() -> list[dict]:
    """``TaskFusionMFTransformerLTA4Task``: PNR 2, OSCC 2 (time-averaged per 8 s window of the 16 s input), AR 2
    (pooled, trainable SlowFast head), LTA 2 — 8 tokens."""
    return [
        _i3d("pnr_clips", "pnr", 0, 2, "i3d_clip_mean"),
        _i3d("oscc_clips", "oscc", 1, 2, "i3d_clip_mean"),
        _pooled(2),
        _lta(3),
    ]


def hhi_streams(order: tuple[str, ...], task_ids: dict[str, int], pooled: bool = False) -> list[dict]:
    """HHI EgoT2-s streams (per-frame 256-d features) in concatenation ``order`` with the class's ``task_ids``."""
    return [_social(name, task_ids[name], pooled=pooled) for name in order]


def hhi_g_layout() -> dict[str, Any]:
    """HHI EgoT2-g (``TaskTranslationPromptTransformer``): ids lam 0, ttm 1, asd 2; ``lam`` encodes LAM tokens
    only, ``ttm`` LAM|TTM|ASD (3T), ``asd`` the same 3T regrouped into a 3-token memory per frame."""
    streams = [_social("lam", 0), _social("ttm", 1), _social("asd", 2)]
    prompts = [
        {"task": "lam", "streams": ["lam"]},
        {"task": "ttm", "streams": ["lam", "ttm", "asd"]},
        {"task": "asd", "streams": ["lam", "ttm", "asd"], "memory": "per_frame"},
    ]
    return {"streams": streams, "prompts": prompts}


def hoi_g_layout() -> dict[str, Any]:
    """HOI EgoT2-g (``TaskTranslationPromptTransformer6Task``): 4 task embeddings (PNR 0, OSCC 1, AR 2, LTA 3).
    PNR/OSCC/AR prompts: 48 tokens (AR = one 16-token segment, slow + fast); LTA prompts: 8 tokens (PNR 2,
    OSCC 2 time-averaged, AR 2 through the trainable SlowFast head, LTA 2). PNR/OSCC share ``proj_pnr``/``proj_oscc``
    between the two layouts."""
    streams = [
        _i3d("pnr", "pnr", 0),
        _i3d("oscc", "oscc", 1),
        _slow(2),
        _fast(2),
        _i3d("pnr_clips", "pnr", 0, 2, "i3d_clip_mean", projection="pnr"),
        _i3d("oscc_clips", "oscc", 1, 2, "i3d_clip_mean", projection="oscc"),
        _pooled(2),
        _lta(3),
    ]
    clip = ["pnr", "oscc", "ar_slow", "ar_fast"]
    window = ["pnr_clips", "oscc_clips", "ar_pooled", "lta"]
    prompts = [{"task": t, "streams": clip} for t in ("pnr", "oscc", "action_verb", "action_noun")]
    prompts += [{"task": t, "streams": window} for t in ("lta_verb", "lta_noun")]
    return {"streams": streams, "prompts": prompts}


def pnr_oscc_g_layout() -> dict[str, Any]:
    """``TaskTranslationPromptTransformer2Task`` (Table 5 "P & O"): PNR 16 + OSCC 16 for both prompts."""
    streams = [_i3d("pnr", "pnr", 0), _i3d("oscc", "oscc", 1)]
    return {"streams": streams, "prompts": [{"task": t, "streams": ["pnr", "oscc"]} for t in ("pnr", "oscc")]}


def cross_g_layout() -> dict[str, Any]:
    """Cross-cluster EgoT2-g (Table 13; no released code [I]): PNR/OSCC prompts read PNR + OSCC tokens, the LAM
    prompt its own LAM tokens (the clusters' videos are disjoint, Table 7)."""
    streams = [_i3d("pnr", "pnr", 0), _i3d("oscc", "oscc", 1), _social("lam", 2)]
    prompts = [{"task": "pnr", "streams": ["pnr", "oscc"]}, {"task": "oscc", "streams": ["pnr", "oscc"]}, {"task": "lam", "streams": ["lam"]}]
    return {"streams": streams, "prompts": prompts}


def oscc_pooled_streams() -> list[dict]:
    """Temporal-pooling ablation of OSCC (``TaskFusionLFTransformer3TaskDropout``, Table 10 (b)): one token per
    task — PNR and OSCC time-averaged, AR through the trainable SlowFast head."""
    return [_i3d("pnr", "pnr", 0, 1, "i3d_mean"), _i3d("oscc", "oscc", 1, 1, "i3d_mean"), _pooled(2, tokens=1)]


def oscc_noaux_streams() -> list[dict]:
    """``NoAuxTaskMFTransformer3TaskDropout`` (Table 10 (a)): three OSCC models, 16 tokens each."""
    return [_i3d(name, name, i) for i, name in enumerate(("oscc", "oscc_2", "oscc_3"))]


def ar_lta_streams() -> list[dict]:
    """``TaskFusionMFTransformer2TaskAR`` (Table 9 "*"): AR slow 8 + fast 8 (last observed clip) + LTA 2."""
    return [_slow(0), _fast(1), _lta(2)]


def lta_ar_streams(identity: bool = False) -> list[dict]:
    """``TaskFusionMFTransformer2Task`` (LTA with AR only, Table 9): AR 2 (trainable head) + LTA 2."""
    return [_pooled(0), _lta(1, identity=identity)]

"""Stage-II baselines of EgoT2 (paper Sec. 4.1 "Models and Baselines", Tables 2/3; dims from Appendix A.2.2): small
heads trained on the features of *frozen* TS models, the comparisons against which EgoT2-s is measured.

* **FT** (Finetuning [13]): a head on the primary task's own TS features.
* **Transfer** [62]: the same kind of head on one auxiliary task's TS features.
* **LF** (Late Fusion [45]): every task's features, each projected to ``H``, concatenated, then the task head.

A baseline is an EgoT2-s config (``variant="s"``, one primary task) with ``baseline_kind`` set; its head is
described by ``config.baseline_head`` (data, like the streams)::

    v_k   = reduce_k(Proj_k(Drop_k(h_k)))          per stream h_k (B, T_k, D_k); Proj_k = Linear(D_k, H_p) if projection_dim
    f     = [ReLU] cat_k(v_k)                       fused_activation
    f     = ReLU(Linear(f)) for each of hidden_sizes
    logits = classifiers(Dropout(f))                same names and shapes as the EgoT2-s model of the primary task

``reduce_k`` (``reductions[stream]``): ``mean`` over tokens ``(B, D)``; ``duplicate`` — the mean concatenated with
itself ``(B, 2D)`` (the official PNR/OSCC FT and Transfer classes duplicate the pooled vector "for dimension
consistency" with their late-fusion input); ``flatten`` ``(B, T·D)`` (LTA: the two observed clips side by side);
``pool:N`` — adaptive average pooling of the tokens to ``N`` then flatten ``(B, N·D)`` (AR FT: slow 8 → 2, fast → 16);
``frames`` — every token is a sample ``(B·T, D)`` (ASD: per-frame head, outputs ``(B·T, 2)``).

Outputs equal EgoT2-s's: pnr ``(B, 16)``, oscc ``(B, 2)``, action_verb ``(B, 115)`` + action_noun ``(B, 478)``,
lta_verb ``(B, Z, 115)`` + lta_noun ``(B, Z, 478)`` (``Z`` independent ``Linear(·, 593)`` after dropout, the
official ``MultiTaskHead``), ttm ``(B, 2)``, asd ``(B·T, 2)`` — so losses, metrics and the pipeline are shared.

Trainable counts reproduce Tables 2/3 by arithmetic (spec §3 "Baselines"), e.g. PNR FT: 16384·512 + 512 + 512·16
+ 16 = 8,397,328 (8.4 M); LTA LF (H = 2048): 2·(8192·2048 + 2048) + (2304·2048 + 2048) + (2048·2048 + 2048) +
(8192·2048 + 2048) + 20·(2048·593 + 593) = 83,555,924 (83.6 M). The multi-task hard-sharing baselines of Table 5
(PNR+OSCC 32.2 M, TTM+LAM 20.2 M) are TS models trained jointly, not heads over frozen features: no preset here.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .configuration_egot2 import output_tasks
from .layouts_egot2 import _fast, _i3d, _lta, _pooled, _slow, _social

__all__ = ["BASELINE_KINDS", "BASELINE_REDUCTIONS", "EgoT2BaselineHead", "baseline_layout", "coerce_baseline_head"]

BASELINE_KINDS = ("ft", "transfer", "lf")
BASELINE_REDUCTIONS = ("mean", "duplicate", "flatten", "frames", "pool")


def coerce_baseline_head(head: Mapping[str, Any], streams: Sequence[Mapping[str, Any]], primary_task: str) -> dict[str, Any]:
    """Validate ``config.baseline_head``: ``{"reductions": {stream: reduction}, "projection_dim": int | None,
    "fused_activation": bool, "hidden_sizes": [int]}`` against the config's ``streams``."""
    unknown = set(head) - {"reductions", "projection_dim", "fused_activation", "hidden_sizes"}
    if unknown:
        raise ValueError(f"baseline_head has unknown fields {sorted(unknown)}.")
    names = [s["name"] for s in streams]
    reductions = {str(k): str(v) for k, v in (head.get("reductions") or {}).items()}
    if sorted(reductions) != sorted(names):
        raise ValueError(f"baseline_head.reductions must name every stream {names}, got {sorted(reductions)}.")
    for name, reduction in reductions.items():
        kind, _, size = reduction.partition(":")
        if kind not in BASELINE_REDUCTIONS or (kind == "pool") != bool(size) or (size and not size.isdigit()):
            raise ValueError(f"baseline_head.reductions[{name!r}] = {reduction!r}; use one of mean, duplicate, flatten, frames, pool:N.")
        stream = next(s for s in streams if s["name"] == name)
        if kind == "flatten" and stream["num_tokens"] is None:
            raise ValueError(f"baseline stream {name!r}: 'flatten' needs a fixed num_tokens.")
        if kind == "frames" and (primary_task != "asd" or len(names) != 1):
            raise ValueError("'frames' (a per-frame head) is the ASD baseline's reduction, over its single stream.")
    projection = head.get("projection_dim")
    return {
        "reductions": reductions,
        "projection_dim": None if projection is None else int(projection),
        "fused_activation": bool(head.get("fused_activation", False)),
        "hidden_sizes": [int(h) for h in head.get("hidden_sizes") or []],
    }


def _reduced_dim(reduction: str, tokens: int | None, dim: int) -> int:
    kind, _, size = reduction.partition(":")
    return {"mean": dim, "frames": dim, "duplicate": 2 * dim, "pool": int(size or 0) * dim}.get(kind) or (tokens or 0) * dim


class EgoT2BaselineHead(nn.Module):
    """The FT / Transfer / LF head of a baseline config (module docstring).

    Parameters: ``projections.<stream>`` (``Linear(D_k, projection_dim)``; for pooled AR streams this is the
    trainable SlowFast head, dropout 0.5 before it), ``hidden.<i>`` (``Linear`` + ReLU), ``classifiers.<task>``
    (pooled/ASD heads) or ``future.<z>`` (LTA ``Linear(·, V + N)``).
    """

    def __init__(self, config) -> None:
        super().__init__()
        self.config = config
        spec = config.baseline_head
        self.reductions = spec["reductions"]
        self.projections = nn.ModuleDict()
        self.projection_dropouts = nn.ModuleDict()
        fused = 0
        for stream in config.streams:
            name, dim = stream["name"], stream["input_dim"]
            self.projection_dropouts[name] = nn.Dropout(stream["projection_dropout"])
            if spec["projection_dim"] is not None:
                self.projections[name] = nn.Linear(dim, spec["projection_dim"])
                dim = spec["projection_dim"]
            fused += _reduced_dim(self.reductions[name], stream["num_tokens"], dim)
        self.fused_activation = spec["fused_activation"]
        self.hidden = nn.ModuleList()
        for size in spec["hidden_sizes"]:
            self.hidden.append(nn.Linear(fused, size))
            fused = size
        self.dropout = nn.Dropout(config.head_dropout)
        self.classifiers = nn.ModuleDict()
        self.future = None
        if config.primary_task == "lta":
            self.future = nn.ModuleList(nn.Linear(fused, config.num_verbs + config.num_nouns) for _ in range(config.num_future))
        else:
            for task in output_tasks(config.primary_task):
                self.classifiers[task] = nn.Linear(fused, config.num_classes(task))

    def _stream_vector(self, name: str, features: torch.Tensor) -> torch.Tensor:
        stream = self.config.stream(name)
        if features.dim() != 3 or features.shape[-1] != stream["input_dim"]:
            raise ValueError(
                f"baseline stream {name!r} ({stream['source']} features) must have shape (B, T, {stream['input_dim']}), "
                f"got {tuple(features.shape)}."
            )
        if stream["num_tokens"] is not None and features.shape[1] != stream["num_tokens"]:
            raise ValueError(f"baseline stream {name!r} must have {stream['num_tokens']} tokens, got {tuple(features.shape)}.")
        reduction = self.reductions[name]
        kind, _, size = reduction.partition(":")
        dropout = self.projection_dropouts[name]
        projection = self.projections[name] if name in self.projections else None
        if projection is not None:
            features = features.to(projection.weight.dtype)
        if kind in ("mean", "duplicate") and dropout.p == 0:
            # a mean commutes with the affine projection: pool first (16× fewer FLOPs on PNR/OSCC cells)
            vector = features.mean(dim=1)
            vector = projection(vector) if projection is not None else vector
            return torch.cat([vector, vector], dim=-1) if kind == "duplicate" else vector
        tokens = projection(dropout(features)) if projection is not None else dropout(features)  # (B, T, D)
        if kind == "mean":
            return tokens.mean(dim=1)
        if kind == "duplicate":
            vector = tokens.mean(dim=1)
            return torch.cat([vector, vector], dim=-1)
        if kind == "flatten":
            return tokens.flatten(1)
        if kind == "frames":
            return tokens.flatten(0, 1)  # (B·T, D)
        # pool:N — adaptive average over time (the official AdaptiveAvgPool3d((N, 1, 1)) on spatially pooled tokens)
        return F.adaptive_avg_pool1d(tokens.transpose(1, 2), int(size)).transpose(1, 2).flatten(1)

    def forward(self, features: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``features[stream] (B, T_k, D_k)`` → ``{task: logits}`` with the EgoT2-s shapes (module docstring)."""
        missing = [s["name"] for s in self.config.streams if features.get(s["name"]) is None]
        if missing:
            raise ValueError(f"the {self.config.baseline_kind} baseline needs features of streams {missing} "
                             f"(inputs {[f'{n}_features' for n in missing]}) or the raw inputs of their TS models.")
        vectors = [self._stream_vector(s["name"], features[s["name"]]) for s in self.config.streams]
        fused = torch.cat(vectors, dim=-1)
        if self.fused_activation:
            fused = F.relu(fused)
        for layer in self.hidden:
            fused = F.relu(layer(fused))
        fused = self.dropout(fused)
        if self.future is not None:
            logits = torch.stack([projection(fused) for projection in self.future], dim=1)  # (B, Z, V + N)
            verb, noun = torch.split(logits, [self.config.num_verbs, self.config.num_nouns], dim=-1)
            return {"lta_verb": verb, "lta_noun": noun}
        return {task: classifier(fused) for task, classifier in self.classifiers.items()}


# ----- layouts of the paper's baselines (A.2.2; counts in spec §3) -------------------------------------------------
def _clip_stream(source: str, task_id: int) -> dict:
    """One TS task's features on an 8 s HOI clip (PNR/OSCC 16 cells, AR one pooled 2304-d vector)."""
    return _pooled(task_id, tokens=1) if source == "ar" else _i3d(source, source, task_id)


def _window_stream(source: str, task_id: int) -> dict:
    """One TS task's features over the 16 s LTA window (2 clips)."""
    if source in ("pnr", "oscc"):
        return _i3d(f"{source}_clips", source, task_id, 2, "i3d_clip_mean")
    return _pooled(task_id) if source == "ar" else _lta(task_id)


def baseline_layout(primary: str, kind: str, sources: Sequence[str], hidden: Sequence[int]) -> dict[str, Any]:
    """Config fields (``streams``, ``baseline_*``, ``head_dropout``) of the paper's ``kind`` baseline for ``primary``
    reading the TS features of ``sources`` with the A.2.2 widths ``hidden`` (see :data:`BASELINE_SPECS`)."""
    if kind not in BASELINE_KINDS:
        raise ValueError(f"baseline kind must be one of {BASELINE_KINDS}, got {kind!r}.")
    sources = list(sources)
    head: dict[str, Any] = {"projection_dim": None, "fused_activation": False, "hidden_sizes": list(hidden)}
    extra: dict[str, Any] = {}
    if primary in ("pnr", "oscc"):
        streams = [_clip_stream(s, i) for i, s in enumerate(sources)]
        if kind == "lf" or sources == ["ar"]:
            # LF: Linear(8192, H) per I3D task + the SlowFast head Linear(2304, H), concatenated → ReLU → Linear
            # Transfer(AR): the SlowFast head Linear(2304, 4096) → ReLU → Linear
            head.update(projection_dim=hidden[0], fused_activation=True, hidden_sizes=list(hidden[1:]))
            reductions = {s["name"]: "mean" for s in streams}
        else:  # FT / Transfer(I3D): mean cells, duplicated → Linear(16384, 512) → ReLU → Linear
            reductions = {s["name"]: "duplicate" for s in streams}
    elif primary == "ar":
        if kind == "ft":  # slow pooled to 2 + fast pooled to 16 positions: 2·2048 + 16·256 = 8192 → Linear
            slow, fast = _slow(0), {**_fast(1), "num_tokens": None}
            streams, reductions = [slow, fast], {"ar_slow": "pool:2", "ar_fast": "pool:16"}
        else:
            streams = [_clip_stream(s, i) for i, s in enumerate(sources)]
            reductions = {s["name"]: "mean" for s in streams}
            if kind == "lf":
                head.update(projection_dim=hidden[0], fused_activation=True, hidden_sizes=list(hidden[1:]))
    elif primary == "lta":
        streams = [_window_stream(s, i) for i, s in enumerate(sources)]
        extra["head_dropout"] = 0.5
        if kind == "lf":  # per-clip projections, averaged over clips, cat → ReLU → Linear(4H, H) → ReLU → heads
            head.update(projection_dim=hidden[0], fused_activation=True, hidden_sizes=list(hidden[1:]))
            reductions = {s["name"]: "mean" for s in streams}
        else:  # the two clips side by side (FT: raw LTA features; Transfer: Linear(D_k, H) per clip first)
            head.update(projection_dim=None if kind == "ft" else hidden[0], hidden_sizes=[])
            reductions = {s["name"]: "flatten" for s in streams}
    elif primary in ("ttm", "asd"):
        if kind == "lf":
            raise ValueError("HHI late-fusion baselines are not provided (no count to check them against in spec §3).")
        streams = [_social(s, i) for i, s in enumerate(sources)]
        reductions = {s["name"]: "frames" if primary == "asd" else "mean" for s in streams}
    else:
        raise ValueError(f"no baseline layout for primary task {primary!r}.")
    head["reductions"] = reductions
    return {"streams": copy.deepcopy(streams), "baseline_kind": kind, "baseline_source_tasks": sorted(set(sources)),
            "baseline_head": head, **extra}


#: ``preset suffix: (primary, kind, sources, hidden widths, trainable count)`` — dims from A.2.2, counts = spec §3.
BASELINE_SPECS: dict[str, tuple[str, str, tuple[str, ...], tuple[int, ...], int]] = {
    "pnr-ft": ("pnr", "ft", ("pnr",), (512,), 8_397_328),
    "pnr-transfer-oscc": ("pnr", "transfer", ("oscc",), (512,), 8_397_328),
    "pnr-transfer-ar": ("pnr", "transfer", ("ar",), (4096,), 9_506_832),
    "pnr-lf": ("pnr", "lf", ("pnr", "oscc", "ar"), (512,), 9_594_384),
    "oscc-ft": ("oscc", "ft", ("oscc",), (512,), 8_390_146),
    "oscc-transfer-pnr": ("oscc", "transfer", ("pnr",), (512,), 8_390_146),
    "oscc-transfer-ar": ("oscc", "transfer", ("ar",), (4096,), 9_449_474),
    "oscc-lf": ("oscc", "lf", ("pnr", "oscc", "ar"), (512,), 9_572_866),
    "ar-ft": ("ar", "ft", ("ar",), (), 4_858_449),
    "ar-transfer-pnr": ("ar", "transfer", ("pnr",), (), 4_858_449),
    "ar-transfer-oscc": ("ar", "transfer", ("oscc",), (), 4_858_449),
    "ar-lf": ("ar", "lf", ("pnr", "oscc", "ar"), (256,), 5_240_913),
    "lta-ft": ("lta", "ft", ("lta",), (), 48_590_420),
    "lta-transfer-pnr": ("lta", "transfer", ("pnr",), (2048,), 65_369_684),
    "lta-transfer-oscc": ("lta", "transfer", ("oscc",), (2048,), 65_369_684),
    "lta-transfer-ar": ("lta", "transfer", ("ar",), (2048,), 53_311_060),
    "lta-lf": ("lta", "lf", ("pnr", "oscc", "ar", "lta"), (2048, 2048), 83_555_924),
    "ttm-ft": ("ttm", "ft", ("ttm",), (1024, 512), 788_994),
    "ttm-transfer-lam": ("ttm", "transfer", ("lam",), (1024, 512), 788_994),
    "ttm-transfer-asd": ("ttm", "transfer", ("asd",), (1024, 512), 788_994),
    "asd-ft": ("asd", "ft", ("asd",), (4096,), 1_060_866),
    "asd-transfer-lam": ("asd", "transfer", ("lam",), (6144,), 1_591_298),
    "asd-transfer-ttm": ("asd", "transfer", ("ttm",), (6144,), 1_591_298),
}

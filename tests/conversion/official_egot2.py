"""Reference translators with the *official* EgoT2 attribute names and forward logic, built from stock ``torch.nn``
modules (written from reading facebookresearch/EgoT2; the TS models are replaced by precomputed features). Used by
the conversion parity tests: save these in the official Lightning layout, convert, compare outputs.

Shapes are those of the official forwards: sequence-first HHI classes, batch-first HOI classes; OSCC returns
``(B, 2, 1)``, PNR ``(B, 1, 16)``, AR ``[verb, noun]``, LTA ``(verb (B, Z, V), noun (B, Z, N))``, ASD ``(B·T, D)``
features (``lossAV.FC`` sits beside the model), EgoT2-g ``(B', V, L)``.
"""

from __future__ import annotations

import argparse
import math
import sys
import types
from pathlib import Path

import torch
from torch import nn


class PositionalEncoding(nn.Module):
    """Sinusoidal table as a persistent buffer ``pe (max_len, 1, D)`` + dropout (seq-first inputs)."""

    def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 1000) -> None:
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len, dtype=torch.float).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div)
        pe[:, 1::2] = torch.cos(position * div)
        self.register_buffer("pe", pe.unsqueeze(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x + self.pe[: x.size(0)])


class HHITranslator(nn.Module):
    """``TaskFusionMFTransformer{2,3}Task`` (TTM) / ASD's ``TaskFusionMFTransformer3Task``.

    ``ids``: task → task-embedding index (TTM/ASD classes: ttm 0, lam 1, asd 2); ``order``: concatenation order
    (TTM: ttm, lam, asd; ASD: asd, ttm, lam).
    """

    def __init__(self, dim: int, heads: int, layers: int, dropout: float, ids: dict[str, int], order: tuple[str, ...], asd: bool = False) -> None:
        super().__init__()
        self.ids, self.order, self.asd = ids, order, asd
        for task in ids:
            setattr(self, f"proj_{task}", nn.Linear(256, dim))
        self.task_embed = nn.Parameter(torch.randn(1, len(ids), dim))
        self.pos_embed = PositionalEncoding(dim, dropout=0.1)
        self.transformer_encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(d_model=dim, nhead=heads, dropout=dropout), num_layers=layers)
        self.ln = nn.LayerNorm(dim)
        self.linear_head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 2))

    def encode_prepare(self, x: torch.Tensor, task_id: int) -> torch.Tensor:
        x = self.ln(x) + self.task_embed[:, task_id, :]
        return self.pos_embed(x.permute(1, 0, 2))

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        parts = [self.encode_prepare(getattr(self, f"proj_{t}")(features[t]), self.ids[t]) for t in self.order]
        output = self.transformer_encoder(torch.cat(parts, dim=0))
        if self.asd:
            frames = features["asd"].shape[1]
            return output.permute(1, 0, 2)[:, :frames].reshape(-1, output.shape[-1])
        return self.linear_head(output.mean(dim=0))


class LossAV(nn.Module):
    """ASD's loss module (a sibling of ``model`` in the Lightning module): ``FC`` + weighted CE."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.criterion = nn.CrossEntropyLoss(weight=torch.FloatTensor([1, 4]))
        self.FC = nn.Linear(dim, 2)


class HOIClipTranslator(nn.Module):
    """``TaskFusionMFTransformer3TaskDropout`` (PNR/OSCC primary; order P, O, slow, fast; FFN 2D) and the AR class
    ``TaskFusionMFTransformer3Task`` (order slow, fast, P, O; FFN 2048; two heads sharing ``ln``)."""

    def __init__(self, dim: int, layers: int, num_classes: int | tuple[int, int], ar: bool = False, heads: int = 8, dropout: float = 0.1, feat_dropout: float = 0.5) -> None:
        super().__init__()
        self.ar = ar
        self.proj1, self.proj2 = nn.Linear(8192, dim), nn.Linear(8192, dim)
        self.proj3_slow, self.proj3_fast = nn.Linear(2048, dim), nn.Linear(256, dim)
        self.avg_pool_slow = nn.AdaptiveAvgPool3d((None, 1, 1))
        self.pe = nn.Parameter(torch.randn(1, 48, dim))
        self.ln = nn.LayerNorm(dim)
        self.dp = nn.Dropout(feat_dropout)
        layer = nn.TransformerEncoderLayer(d_model=dim, nhead=heads, dropout=dropout, dim_feedforward=2048 if ar else dim * 2, batch_first=True)
        self.transformer = nn.TransformerEncoder(layer, num_layers=layers)
        if ar:
            self.linear_head1 = nn.Sequential(self.ln, nn.Linear(dim, num_classes[0]))
            self.linear_head2 = nn.Sequential(self.ln, nn.Linear(dim, num_classes[1]))
        else:
            self.num_classes = num_classes
            self.linear_head = nn.Sequential(self.ln, nn.Linear(dim, num_classes))

    def forward(self, f: dict[str, torch.Tensor]):
        if self.ar:
            feat = torch.cat((self.proj3_slow(f["ar_slow"]), self.proj3_fast(f["ar_fast"]), self.proj1(f["pnr"]), self.proj2(f["oscc"])), dim=1)
            out = self.transformer(self.ln(feat) + self.pe).mean(dim=1)
            return [self.linear_head1(out), self.linear_head2(out)]
        feat = torch.cat((self.dp(self.proj1(f["pnr"])), self.dp(self.proj2(f["oscc"])), self.dp(self.proj3_slow(f["ar_slow"])), self.dp(self.proj3_fast(f["ar_fast"]))), dim=1)
        out = self.linear_head(self.transformer(self.ln(feat) + self.pe).mean(dim=1))
        return out.unsqueeze(1 if self.num_classes == 16 else 2)


class _Head(nn.Module):
    """The trainable SlowFast ``ResNetBasicHead`` on pooled features: dropout + ``projection``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dropout = nn.Dropout(0.5)
        self.projection = nn.Linear(2304, dim)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.projection(self.dropout(pooled))


class _MultiTaskHead(nn.Module):
    def __init__(self, dim: int, classes: int, count: int) -> None:
        super().__init__()
        self.dropout = nn.Dropout(0.5)
        self.projections = nn.ModuleList(nn.Linear(dim, classes) for _ in range(count))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.dropout(x)
        return [p(x) for p in self.projections]


class LTATranslator(nn.Module):
    """``TaskFusionMFTransformerLTA4Task``: tokens [PNR 2, OSCC 2, AR 2 (head), LTA 2], mean, Z linear heads."""

    def __init__(self, dim: int, heads: int = 8, layers: int = 1, num_classes: tuple[int, int] = (115, 478), num_future: int = 20) -> None:
        super().__init__()
        self.num_classes = list(num_classes)
        self.pe = nn.Parameter(torch.randn(1, 8, dim))
        self.proj_pnr, self.proj_oscc, self.proj_lta = nn.Linear(8192, dim), nn.Linear(8192, dim), nn.Linear(2048, dim)
        self.transformer = nn.TransformerEncoder(nn.TransformerEncoderLayer(d_model=dim, nhead=heads, dropout=0.5, batch_first=True), num_layers=layers)
        self.ln = nn.LayerNorm(dim)
        self.action_model = nn.Module()
        self.action_model.head = _Head(dim)
        self.head = _MultiTaskHead(dim, sum(num_classes), num_future)

    def forward(self, f: dict[str, torch.Tensor]):
        feat = torch.cat((self.proj_pnr(f["pnr_clips"]), self.proj_oscc(f["oscc_clips"]), self.action_model.head(f["ar_pooled"]), self.proj_lta(f["lta"])), dim=1)
        out = self.transformer(self.ln(feat) + self.pe).mean(dim=1)
        x = torch.stack(self.head(out), dim=1)
        return torch.split(x, self.num_classes, dim=-1)


class HHIGeneralTranslator(nn.Module):
    """HHI EgoT2-g ``TaskTranslationPromptTransformer`` (ids lam 0, ttm 1, asd 2; vocabulary of 7)."""

    def __init__(self, dim: int, heads: int, layers: int, dropout: float, vocab: dict[str, int]) -> None:
        super().__init__()
        self.dim, self.vocab = dim, vocab
        self.transformer_encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(d_model=dim, nhead=heads, dropout=dropout), num_layers=layers)
        self.transformer_decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(d_model=dim, nhead=heads, dropout=dropout), num_layers=layers)
        self.ln = nn.LayerNorm(dim)
        self.task_embed = nn.Parameter(torch.randn(1, 3, dim))
        self.pos_embed = PositionalEncoding(dim, dropout=0.1)
        self.embedding = nn.Embedding(len(vocab), dim)
        self.proj_lam, self.proj_ttm, self.proj_asd = nn.Linear(256, dim), nn.Linear(256, dim), nn.Linear(256, dim)
        self.fc = nn.Linear(dim, len(vocab))
        mask = torch.tril(torch.ones(2, 2) == 1).float()
        self.y_mask = mask.masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, 0.0)  # a plain attribute

    def encode_prepare(self, x: torch.Tensor, task_id: int) -> torch.Tensor:
        return self.pos_embed((self.ln(x) + self.task_embed[:, task_id, :]).permute(1, 0, 2))

    def encode(self, f: dict[str, torch.Tensor], task: str) -> torch.Tensor:
        if task == "lam":
            x = self.encode_prepare(self.proj_lam(f["lam"]), 0)
        else:
            x = torch.cat((self.encode_prepare(self.proj_lam(f["lam"]), 0), self.encode_prepare(self.proj_ttm(f["ttm"]), 1),
                           self.encode_prepare(self.proj_asd(f["asd"]), 2)), dim=0)
        encoded = self.transformer_encoder(x)
        if task == "asd":
            encoded = encoded.permute(1, 0, 2)
            frames = encoded.shape[1] // 3
            parts = [encoded[:, i * frames:(i + 1) * frames].reshape(-1, self.dim) for i in range(3)]
            encoded = torch.stack(parts, dim=0)
        return encoded

    def decode(self, y: torch.Tensor, encoded: torch.Tensor) -> torch.Tensor:
        length = y.size(1)
        y = self.pos_embed(self.embedding(y.permute(1, 0)) * math.sqrt(self.dim))
        return self.fc(self.transformer_decoder(y, encoded, self.y_mask[:length, :length].type_as(encoded)))

    def forward(self, f: dict[str, torch.Tensor], target: torch.Tensor, task: str) -> torch.Tensor:
        return self.decode(target, self.encode(f, task)).permute(1, 2, 0)  # (B', V, L)


def randomize_(module: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial values everywhere: LayerNorm weights in [0.5, 1.5], every bias in [-0.3, 0.3], learned position
    / task tables ~ N(0, 1), weights uniform in ±1/√fan_in (so that a wrong mapping cannot hide behind 1s and 0s)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if name.endswith("bias"):
                parameter.copy_(torch.rand(parameter.shape, generator=generator) * 0.6 - 0.3)
            elif parameter.dim() == 1:
                parameter.copy_(torch.rand(parameter.shape, generator=generator) + 0.5)
            elif name.endswith(("pe", "task_embed")):
                parameter.copy_(torch.randn(parameter.shape, generator=generator))
            else:
                bound = 1.0 / math.sqrt(parameter.shape[-1])
                parameter.copy_((torch.rand(parameter.shape, generator=generator) * 2 - 1) * bound)
    return module


def save_lightning(path: Path, model: nn.Module, extra_top_level: dict | None = None, hyper_parameters=None, ts: dict[str, int] | None = None) -> Path:
    """Save ``model`` the way Lightning 1.6 saves a module holding it as ``self.model``: ``state_dict`` keys
    ``model.*`` + the module's other children (``criterion``, ``lossAV``), fake frozen TS weights under
    ``model.<name>.*``, optimizer / loop entries, and ``hyper_parameters``."""
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    for name, width in (ts or {}).items():
        state[f"model.{name}.fc.weight"] = torch.randn(width, 4)
        state[f"model.{name}.bn.running_mean"] = torch.randn(width)
    state.update(extra_top_level or {})
    checkpoint = {
        "epoch": 3,
        "global_step": 120,
        "pytorch-lightning_version": "1.6.4",
        "state_dict": state,
        "optimizer_states": [{"state": {}, "param_groups": [{"lr": 1e-4}]}],
        "lr_schedulers": [],
        "callbacks": {},
    }
    if hyper_parameters is not None:
        checkpoint["hyper_parameters"] = hyper_parameters
    torch.save(checkpoint, path)
    return path


def yacs_like_cfg(**model_fields) -> object:
    """A dict subclass pickled as ``yacs.config.CfgNode`` (a module the loader must never import): the module is
    registered only while saving, through :func:`pickle_as_yacs`."""
    module = types.ModuleType("yacs.config")

    class CfgNode(dict):
        pass

    CfgNode.__module__, CfgNode.__qualname__ = "yacs.config", "CfgNode"
    module.CfgNode = CfgNode
    sys.modules.setdefault("yacs", types.ModuleType("yacs"))
    sys.modules["yacs.config"] = module
    return CfgNode({"MODEL": CfgNode(model_fields)})


def forget_yacs() -> None:
    sys.modules.pop("yacs.config", None)
    sys.modules.pop("yacs", None)


def namespace(**kwargs) -> argparse.Namespace:
    return argparse.Namespace(**kwargs)

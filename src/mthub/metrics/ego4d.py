"""Metrics of the Ego4D tasks in EgoT2 (spec ``egot2.md`` §6), as the official evaluation code computes them.

Streaming :class:`torchmetrics.Metric` s: ``update(preds, target, ...)`` per batch, ``compute() -> dict[str,
float]``, ``reset()``; states are registered with DDP reductions (sums, or concatenation where a ranking needs every
score). Percentages are percentages (as the paper prints them); the PNR error is in seconds and ED@Z in [0, 1].

=============================  =====================================  =============================================
Task                           Metric                                 ``compute()`` keys
=============================  =====================================  =============================================
PNR                            :class:`PNRLocalizationError`          ``localization_error_s``
OSCC, AR verb / noun           :class:`Ego4DAccuracy`                 ``accuracy`` (``top1``, ``top5`` with top_k)
LTA                            :class:`LTAEditDistance`               ``ED@Z``
LAM, TTM                       :class:`SocialMeanAveragePrecision`    ``mAP``, ``AP_positive``, ``AP_negative``
ASD                            :class:`Ego4DAccuracy` (per frame)     ``frame_accuracy``
=============================  =====================================  =============================================

About the ASD number: Table 3 of the paper heads the ASD column "mAP", Table 5 "Acc.", and the code computes frame
accuracy (``round(softmax)[1] == label``); :class:`Ego4DAccuracy` with ``key="frame_accuracy"`` is that.

About LAM/TTM "mAP": the official (AVA-ASD-derived) script averages the VOC-style interpolated AP of the positive
class (scores ``p``) and of the negative class (scores ``1 − p``); that mean is ``mAP``. TTM first averages the logits
of the sub-segments of one long segment, then applies softmax (``group_ids``).

LTA ED@Z follows the official ``edit_distance``: for each sample the *minimum over K* sampled sequences of the
Levenshtein distance (insert / delete / substitute, cost 1; the ``editdistance`` package the official code calls)
divided by ``Z``, averaged over samples; verb and noun are separate metrics. The Levenshtein distance is
implemented here in torch, batched over all (sample, k) pairs (one vectorised DP row per step), so no extra
dependency is needed and it runs on GPU.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

__all__ = [
    "Ego4DAccuracy",
    "LTAEditDistance",
    "PNRLocalizationError",
    "SocialMeanAveragePrecision",
    "edit_distance_at_z",
    "levenshtein_distance",
    "pnr_localization_errors",
    "sample_action_sequences",
    "voc_average_precision",
]


# ---------------------------------------------------------------------------------------------------------------
# PNR
# ---------------------------------------------------------------------------------------------------------------
def pnr_localization_errors(
    preds: Tensor, start_frame: Tensor, end_frame: Tensor, pnr_frame: Tensor, fps: Tensor
) -> Tensor:
    """Per-clip PNR temporal localisation error in seconds (official ``keyframe_distance``).

    The predicted keyframe index ``i = argmax(preds)`` among the ``T`` (16) sampled frames maps to the frame
    offset ``(end − start) / T · i``; the error is ``|offset − (pnr − start)| / fps`` with the clip's
    ``fps = (end − start + 1) / (end_sec − start_sec)``.

    Args:
        preds: ``(B, T)`` keyframe scores (logits or probabilities).
        start_frame, end_frame, pnr_frame: ``(B,)`` absolute frame numbers of the clip bounds and the PNR.
        fps: ``(B,)`` frames per second of the clip.
    """
    index = preds.argmax(dim=-1).double()
    start, end = start_frame.double(), end_frame.double()
    predicted = (end - start) / preds.shape[-1] * index
    return (predicted - (pnr_frame.double() - start)).abs() / fps.double()


class PNRLocalizationError(Metric):
    """Mean PNR temporal localisation error (s), over clips with a state change (a PNR frame ≥ 0).

    ``update(preds (B, T), target)``: ``target`` is a mapping with ``start_frame``, ``end_frame``, ``pnr_frame``
    (``-1`` / negative for clips without a state change, which are skipped) and either ``fps`` or
    ``start_sec``/``end_sec`` (then ``fps = (end_frame − start_frame + 1)/(end_sec − start_sec)``), or a
    ``(B, 4)`` tensor ``[start_frame, end_frame, pnr_frame, fps]``.
    """

    is_differentiable = False
    higher_is_better = False
    full_state_update = False
    higher_is_better_by_key: ClassVar[dict[str, bool]] = {"localization_error_s": False}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("error_sum", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    @staticmethod
    def _fields(target: Tensor | Mapping[str, Any], device) -> tuple[Tensor, ...]:
        if isinstance(target, Tensor):
            if target.ndim != 2 or target.shape[1] != 4:
                raise ValueError(f"PNR target tensor must be (B, 4) [start, end, pnr, fps], got {tuple(target.shape)}.")
            return tuple(target[:, i] for i in range(4))
        get = lambda key: torch.as_tensor(target[key], device=device, dtype=torch.float64)
        missing = {"start_frame", "end_frame", "pnr_frame"} - set(target)
        if missing:
            raise KeyError(f"PNR target lacks {sorted(missing)}.")
        start, end = get("start_frame"), get("end_frame")
        if "fps" in target:
            fps = get("fps")
        elif "start_sec" in target and "end_sec" in target:
            fps = (end - start + 1) / (get("end_sec") - get("start_sec"))
        else:
            raise KeyError("PNR target needs 'fps' or 'start_sec' and 'end_sec'.")
        return start, end, get("pnr_frame"), fps

    def update(self, preds: Tensor, target: Tensor | Mapping[str, Any]) -> None:
        start, end, pnr, fps = self._fields(target, preds.device)
        keep = pnr >= 0
        if keep.any():
            errors = pnr_localization_errors(preds.detach()[keep], start[keep], end[keep], pnr[keep], fps[keep])
            self.error_sum += errors.sum().to(self.error_sum)
            self.count += int(keep.sum())

    def compute(self) -> dict[str, float]:
        if self.count == 0:
            return {}
        return {"localization_error_s": float(self.error_sum / self.count)}


# ---------------------------------------------------------------------------------------------------------------
# Accuracy (OSCC, AR, ASD frames)
# ---------------------------------------------------------------------------------------------------------------
class Ego4DAccuracy(Metric):
    """Micro top-k accuracy (%) over samples or frames (exact integer counts, summed across ranks).

    Args:
        num_classes: classes (OSCC/ASD 2, verbs 115, nouns 478); predictions must have this many scores.
        top_k: also report top-k (``top{k}``) next to top-1 when > 1.
        key: name of the top-1 value (``"accuracy"``; ``"top1"`` for AR; ``"frame_accuracy"`` for ASD).
        ignore_index: labels to skip (padded frames).

    ``update(preds (..., C) logits, target (...))``: any leading shape (``(B, T, C)`` / ``(B, T)`` for ASD).
    Top-1 is ``argmax`` (for two classes the official ASD ``round(softmax)[1] == label``, ties going to class 0).
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, num_classes: int, top_k: int = 1, key: str = "accuracy", ignore_index: int = -100, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.key = key
        self.top_k = top_k
        self.ignore_index = ignore_index
        self.add_state("correct", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("correct_k", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    @property
    def higher_is_better_by_key(self) -> dict[str, bool]:
        keys = {self.key: True}
        if self.top_k > 1:
            keys[f"top{self.top_k}"] = True
        return keys

    def update(self, preds: Tensor, target: Tensor) -> None:
        if preds.shape[-1] != self.num_classes or preds.shape[:-1] != target.shape:
            raise ValueError(
                f"{self.key}: preds must be (..., {self.num_classes}) matching target (...); got {tuple(preds.shape)} "
                f"and {tuple(target.shape)}."
            )
        preds = preds.detach().reshape(-1, self.num_classes)
        target = target.reshape(-1).long()
        valid = target != self.ignore_index
        preds, target = preds[valid], target[valid]
        ranked = preds.topk(min(self.top_k, self.num_classes), dim=1).indices
        hits = ranked == target[:, None]
        self.correct += hits[:, 0].sum()
        self.correct_k += hits.any(dim=1).sum()
        self.total += target.numel()

    def compute(self) -> dict[str, float]:
        if self.total == 0:
            return {}
        out = {self.key: float(100.0 * self.correct / self.total)}
        if self.top_k > 1:
            out[f"top{self.top_k}"] = float(100.0 * self.correct_k / self.total)
        return out


# ---------------------------------------------------------------------------------------------------------------
# LTA: edit distance
# ---------------------------------------------------------------------------------------------------------------
def levenshtein_distance(a: Tensor, b: Tensor) -> Tensor:
    """Levenshtein distance between rows of ``a (N, La)`` and ``b (N, Lb)`` (integer tokens), ``(N,)`` long.

    Row-by-row DP, vectorised over the N pairs and over each row: with ``t_j = min(D[i−1, j] + 1,
    D[i−1, j−1] + [a_i ≠ b_j])``, the insertion chain ``D[i, j] = min_{k ≤ j} t_k + (j − k)`` is a cumulative
    minimum of ``t_k − k`` plus ``j``.
    """
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        raise ValueError(f"levenshtein_distance needs (N, La) and (N, Lb) tensors, got {tuple(a.shape)} and {tuple(b.shape)}.")
    n, lb = b.shape
    steps = torch.arange(lb + 1, device=b.device)
    row = steps.expand(n, lb + 1).clone()
    for i in range(a.shape[1]):
        cost = (a[:, i : i + 1] != b).long()
        t = torch.empty_like(row)
        t[:, 0] = i + 1
        t[:, 1:] = torch.minimum(row[:, 1:] + 1, row[:, :-1] + cost)
        row = torch.cummin(t - steps, dim=1).values + steps
    return row[:, -1]


def edit_distance_at_z(preds: Tensor, target: Tensor) -> Tensor:
    """Per-sample ED@Z: ``min_k Levenshtein(preds[:, k], target) / Z``.

    Args:
        preds: ``(B, K, Z)`` predicted sequences (K samples).
        target: ``(B, Z)`` ground-truth sequence.

    Returns:
        ``(B,)`` float.
    """
    if preds.ndim != 3 or target.ndim != 2 or preds.shape[0] != target.shape[0] or preds.shape[2] != target.shape[1]:
        raise ValueError(f"ED@Z needs preds (B, K, Z) and target (B, Z); got {tuple(preds.shape)} and {tuple(target.shape)}.")
    batch, k, z = preds.shape
    distances = levenshtein_distance(preds.reshape(batch * k, z), target.repeat_interleave(k, dim=0))
    return distances.view(batch, k).min(dim=1).values.double() / z


def sample_action_sequences(logits: Tensor, num_samples: int, generator: torch.Generator | None = None) -> Tensor:
    """K sequences sampled from per-step categorical distributions (the official ``generate(k)``): ``logits
    (B, Z, C)`` → ``(B, K, Z)`` long. ``num_samples=1`` takes the argmax, as the official code."""
    if num_samples == 1:
        return logits.argmax(dim=-1)[:, None]
    batch, z, c = logits.shape
    probs = torch.softmax(logits.detach().float(), dim=-1).reshape(batch * z, c)
    draws = torch.multinomial(probs, num_samples, replacement=True, generator=generator)  # (B·Z, K)
    return draws.view(batch, z, num_samples).transpose(1, 2)


class LTAEditDistance(Metric):
    """Mean ED@Z (lower is better) of one label type (verbs or nouns).

    Args:
        num_samples: ``K`` sequences sampled per clip when ``update`` receives logits (5).
        seed: seed of the sampling generator (sampling is reproducible per metric instance).

    ``update(preds, target (B, Z))``: ``preds`` are logits ``(B, Z, C)`` (K sequences are sampled) or predicted
    sequences ``(B, K, Z)`` (integer). Samples whose target contains ``ignore_index`` are skipped.
    """

    is_differentiable = False
    higher_is_better = False
    full_state_update = False

    def __init__(self, num_samples: int = 5, seed: int = 0, ignore_index: int = -100, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_samples = num_samples
        self.seed = seed
        self.ignore_index = ignore_index
        self._generator: torch.Generator | None = None
        self.add_state("distance_sum", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.key = "ED@Z"

    @property
    def higher_is_better_by_key(self) -> dict[str, bool]:
        return {self.key: False}

    def update(self, preds: Tensor, target: Tensor) -> None:
        keep = (target != self.ignore_index).all(dim=1)
        if not keep.any():
            return
        preds, target = preds.detach()[keep], target[keep]
        if preds.is_floating_point():
            if self._generator is None or self._generator.device != preds.device:
                self._generator = torch.Generator(device=preds.device).manual_seed(self.seed)
            preds = sample_action_sequences(preds, self.num_samples, self._generator)
        self.key = f"ED@{target.shape[1]}"
        self.distance_sum += edit_distance_at_z(preds, target).sum().to(self.distance_sum)
        self.count += int(keep.sum())

    def compute(self) -> dict[str, float]:
        if self.count == 0:
            return {}
        return {self.key: float(self.distance_sum / self.count)}

    def reset(self) -> None:
        super().reset()
        self._generator = None


# ---------------------------------------------------------------------------------------------------------------
# LAM / TTM: AVA-style mAP
# ---------------------------------------------------------------------------------------------------------------
def voc_average_precision(scores: Tensor, labels: Tensor) -> Tensor:
    """VOC-style interpolated AP of binary ``labels`` ranked by ``scores`` (both ``(N,)``), as the AVA active-speaker
    script the Ego4D social baselines use: precision made non-increasing from the right, summed over the recall
    steps. Ties keep input order (stable sort). Returns ``nan`` when there is no positive."""
    order = torch.sort(scores.double(), descending=True, stable=True).indices
    hits = labels[order].double()
    positives = hits.sum()
    if positives == 0:
        return torch.tensor(float("nan"), dtype=torch.float64)
    tp = torch.cumsum(hits, 0)
    precision = tp / torch.arange(1, len(hits) + 1, device=hits.device, dtype=torch.float64)
    recall = tp / positives
    zero = torch.zeros(1, dtype=torch.float64, device=hits.device)
    recall = torch.cat([zero, recall, zero + 1])
    precision = torch.cat([zero, precision, zero])
    precision = torch.flip(torch.cummax(torch.flip(precision, [0]), 0).values, [0])
    changed = torch.nonzero(recall[1:] != recall[:-1]).flatten() + 1
    return torch.sum((recall[changed] - recall[changed - 1]) * precision[changed])


class SocialMeanAveragePrecision(Metric):
    """LAM / TTM ``mAP`` (%): mean of the VOC AP of the positive class (scores ``p``) and of the negative class
    (scores ``1 − p``), the official social-benchmark evaluation; ``AP_positive`` and ``AP_negative`` too.

    ``update(preds, target, group_ids=None)``: ``preds`` are 2-way logits ``(B, 2)`` (or positive-class
    probabilities ``(B,)``), ``target (B,)`` in {0, 1}. With ``group_ids (B,)`` (TTM sub-segments of one segment)
    the logits of a group are averaged before the softmax and the group counts once, with its first label.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False
    higher_is_better_by_key: ClassVar[dict[str, bool]] = {"mAP": True, "AP_positive": True, "AP_negative": True}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("preds", default=[], dist_reduce_fx="cat")
        self.add_state("target", default=[], dist_reduce_fx="cat")
        self.add_state("groups", default=[], dist_reduce_fx="cat")

    def update(self, preds: Tensor, target: Tensor, group_ids: Tensor | None = None) -> None:
        preds = preds.detach().float()
        if preds.ndim == 1:  # probabilities of the positive class → logits of a 2-way softmax with equal effect
            p = preds.clamp(1e-12, 1 - 1e-12)
            preds = torch.stack([torch.zeros_like(p), torch.log(p) - torch.log1p(-p)], dim=1)
        if preds.ndim != 2 or preds.shape[1] != 2:
            raise ValueError(f"SocialMeanAveragePrecision expects (B, 2) logits or (B,) probabilities, got {tuple(preds.shape)}.")
        self.preds.append(preds)
        self.target.append(target.reshape(-1).long())
        self.groups.append(torch.full_like(target.reshape(-1), -1).long() if group_ids is None else group_ids.reshape(-1).long())

    def compute(self) -> dict[str, float]:
        if not self.preds:
            return {}
        logits, target, groups = dim_zero_cat(self.preds), dim_zero_cat(self.target), dim_zero_cat(self.groups)
        grouped = groups >= 0
        if grouped.any():
            ids, inverse = torch.unique(groups[grouped], return_inverse=True)
            sums = torch.zeros(len(ids), 2, device=logits.device).index_add_(0, inverse, logits[grouped])
            counts = torch.zeros(len(ids), device=logits.device).index_add_(0, inverse, torch.ones_like(inverse, dtype=torch.float32))
            first = torch.full((len(ids),), len(inverse), device=logits.device, dtype=torch.long).scatter_reduce_(
                0, inverse, torch.arange(len(inverse), device=logits.device), reduce="amin"
            )
            logits = torch.cat([logits[~grouped], sums / counts[:, None]])
            target = torch.cat([target[~grouped], target[grouped][first]])
        score = torch.softmax(logits, dim=1)[:, 1]
        ap_pos = voc_average_precision(score, target == 1)
        ap_neg = voc_average_precision(1 - score, target == 0)
        return {"mAP": float(100 * (ap_pos + ap_neg) / 2), "AP_positive": float(100 * ap_pos), "AP_negative": float(100 * ap_neg)}

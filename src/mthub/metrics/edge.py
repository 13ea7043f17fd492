"""Boundary-detection odsF/oisF: a documented Python approximation of SEISM's ``fb`` benchmark.

What SEISM / the BSDS boundary benchmark do (used by ATRC, MTL-PyTorch, InvPT; tif.md §6,
efficient_mtl.md §6): for each threshold t in 0.01, 0.02, …, 0.99 (MTL-PyTorch's SEISM parameter file),
binarise the boundary probability (``pb >= t``), thin it to one pixel (``bwmorph(…, 'thin', Inf)``),
then match predicted to ground-truth boundary pixels one-to-one within a distance tolerance
``d = maxDist · sqrt(H² + W²)`` (maxDist 0.0075 for PASCAL-Context, 0.011 for NYUD) with a min-cost
bipartite assignment (CSA). Per image and threshold it records cntR (matched GT pixels), sumR (GT pixels),
cntP (matched predicted pixels), sumP (predicted pixels). **ODS**: sum the counts over the dataset per
threshold, R = cntR/sumR, P = cntP/sumP, F = 2PR/(P+R), odsF = max over thresholds. **OIS**: pick each
image's best threshold, sum those counts, F of the sums.

This module computes the same counts with these differences (hence "approximation"):

* ``matching="nearest"`` (default, GPU-friendly, fast): a GT pixel counts as matched when *some*
  predicted pixel lies within d, and a predicted pixel when some GT pixel does (disk dilations, no
  one-to-one constraint). One predicted pixel may thus explain several GT pixels and vice versa, which
  over-counts wherever predictions or labels are thicker than one pixel or cluster; on thin maps
  (thinned or NMS'd predictions, 1-px GT) it agrees with a one-to-one matching except where two
  boundaries run within d of each other.
* ``matching="bipartite"``: the one-to-one count is the size of a maximum-cardinality matching between
  GT and predicted pixels within d (``scipy.sparse.csgraph.maximum_bipartite_matching``, Hopcroft–Karp),
  which is what SEISM's min-cost assignment maximises (its outlier cost exceeds every real edge). It
  ignores the distance cost among equal-size matchings (no effect on the counts) and is exact on the graph,
  where BSDS's CSA runs on a degree-limited sparse graph. CPU only and slow on full-size sets (one
  matching per threshold and image): use it to validate the fast mode or on small sets.
* ``thin=False`` (default) skips thinning the thresholded predictions; ``thin=True`` applies Zhang–Suen
  thinning per threshold (MATLAB uses Lam–Lee–Suen: skeletons can differ by a pixel). Thinning makes the
  thresholded maps non-nested, so it costs one pass per threshold and many thinning iterations at low
  thresholds (about 30 s per 425×560 image on 2 CPU cores; use a GPU or small sets).
* No interpolation between thresholds (BSDS interpolates the PR curve to refine ODS/OIS): the maximum is
  taken over the 99 sampled thresholds. Predictions are float probabilities, not 8-bit PNGs.

Labels: ``target > 0.5`` is boundary, ``ignore_index`` (255) pixels are excluded from both sides (a
prediction there can neither match nor count as a false positive).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from torch import Tensor

from ._morphology import disk_max_filter, thin
from .base import DenseMetric, as_bhw, counts_at_thresholds
from .saliency import binary_update_inputs

__all__ = ["MAX_DIST", "SEISM_THRESHOLDS", "EdgeMetric"]

SEISM_THRESHOLDS: tuple[float, ...] = tuple(round(0.01 * k, 2) for k in range(1, 100))
MAX_DIST: dict[str, float] = {"pascal": 0.0075, "nyud": 0.011}


def _f_measure(cnt_r: Tensor, sum_r: Tensor, cnt_p: Tensor, sum_p: Tensor) -> Tensor:
    """BSDS F = 2PR/(P+R), with R, P set to 0 where their denominator is 0."""
    r = torch.where(sum_r > 0, cnt_r / sum_r.clamp_min(1), torch.zeros_like(cnt_r))
    p = torch.where(sum_p > 0, cnt_p / sum_p.clamp_min(1), torch.zeros_like(cnt_p))
    return torch.where(p + r > 0, 2 * p * r / (p + r).clamp_min(1e-300), torch.zeros_like(p))


def _disk_offsets(radius: float) -> np.ndarray:
    r = math.floor(radius + 1e-9)
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    keep = dy * dy + dx * dx <= radius * radius + 1e-9
    return np.stack([dy[keep], dx[keep]], 1)


class EdgeMetric(DenseMetric):
    """Boundary odsF / oisF (percent) accumulated per threshold over the dataset.

    ``update(preds, target)``: ``preds`` ``[B, H, W]`` / ``[B, 1, H, W]`` boundary logits (or probabilities
    with ``from_logits=False``); ``target`` same shape, {0, 1} with 255 = ignore.
    ``compute()`` → ``{"odsF": %, "oisF": %}``.

    Args:
        max_dist: tolerance as a fraction of the image diagonal (``MAX_DIST["pascal"]`` = 0.0075,
            ``MAX_DIST["nyud"]`` = 0.011).
        thresholds: probability thresholds (default SEISM's 0.01…0.99); positive where ``p >= t``.
        matching: ``"nearest"`` or ``"bipartite"`` (module docstring).
        thin: thin each thresholded prediction map before matching.
    """

    higher_is_better_by_key: ClassVar[dict[str, bool]] = {"odsF": True, "oisF": True}

    def __init__(
        self,
        max_dist: float = 0.0075,
        thresholds: tuple[float, ...] = SEISM_THRESHOLDS,
        matching: Literal["nearest", "bipartite"] = "nearest",
        thin: bool = False,
        from_logits: bool = True,
        ignore_index: float = 255.0,
        resize_preds: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(resize_preds=resize_preds, **kwargs)
        if matching not in ("nearest", "bipartite"):
            raise ValueError(f"EdgeMetric: matching must be 'nearest' or 'bipartite', got {matching!r}")
        self.max_dist = max_dist
        self.matching = matching
        self.thin = thin
        self.from_logits = from_logits
        self.ignore_index = ignore_index
        self.register_buffer("thresholds", torch.tensor(sorted(thresholds), dtype=torch.float32), persistent=False)
        t = len(thresholds)
        for name in ("cnt_r", "cnt_p", "sum_p"):
            self._add_sum_state(name, (t,))
        self._add_sum_state("sum_r")
        for name in ("ois_cnt_r", "ois_sum_r", "ois_cnt_p", "ois_sum_p"):
            self._add_sum_state(name)
        self._add_sum_state("num_images", dtype=torch.long)

    def valid_mask(self, target: Tensor) -> Tensor:
        target = as_bhw(target, "target", type(self).__name__)
        return target != self.ignore_index

    def radius(self, height: int, width: int) -> float:
        """Match tolerance in pixels for an ``height × width`` image."""
        return self.max_dist * math.sqrt(height * height + width * width)

    # -- per-image counts [B, T] -----------------------------------------------------------------------
    def _counts_nearest(self, probs: Tensor, valid: Tensor, gt: Tensor, r: float) -> tuple[Tensor, ...]:
        b = probs.shape[0]
        img = torch.arange(b, device=probs.device).view(b, 1, 1).expand_as(probs)
        gt_near = disk_max_filter(gt.float(), r, fill=0.0) > 0
        if not self.thin:
            # The thresholded maps are nested, so one dilation of the probability map serves every
            # threshold: a GT pixel is recalled at t iff the max prob within d is >= t.
            pmax = disk_max_filter(probs, r, fill=-1.0).contiguous()
            cnt_r = counts_at_thresholds(pmax, gt, self.thresholds, True, img, b)
            cnt_p = counts_at_thresholds(probs, valid & gt_near, self.thresholds, True, img, b)
            sum_p = counts_at_thresholds(probs, valid, self.thresholds, True, img, b)
            return cnt_r.double(), cnt_p.double(), sum_p.double()
        # Thinned maps are not nested across thresholds: thin every (threshold, image) map, batched over
        # chunks of thresholds to bound memory (about 2**24 pixels per chunk).
        h, w = probs.shape[-2:]
        chunk = max(1, (1 << 24) // max(1, b * h * w))
        cols_r, cols_p, cols_s = [], [], []
        for start in range(0, self.thresholds.numel(), chunk):
            thr = self.thresholds[start : start + chunk].view(-1, 1, 1, 1)
            binary = thin((probs[None] >= thr).flatten(0, 1)).view(-1, b, h, w)  # [t, B, H, W]
            near_pred = disk_max_filter(binary.flatten(0, 1).float(), r, fill=0.0).view_as(binary) > 0
            cols_r.append((gt[None] & near_pred).flatten(2).sum(2))
            cols_p.append((binary & gt_near[None]).flatten(2).sum(2))
            cols_s.append(binary.flatten(2).sum(2))
        return tuple(torch.cat(c, 0).T.double() for c in (cols_r, cols_p, cols_s))

    def _counts_bipartite(self, probs: Tensor, gt: Tensor, r: float) -> tuple[Tensor, ...]:
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import maximum_bipartite_matching

        thr = self.thresholds.cpu().numpy()
        offsets = _disk_offsets(r)
        out = np.zeros((3, probs.shape[0], thr.size))
        for i in range(probs.shape[0]):
            p_all = probs[i].cpu().numpy()
            g = gt[i].cpu().numpy()
            h, w = p_all.shape
            maps = [thin(torch.from_numpy(p_all >= t)[None])[0].numpy() for t in thr] if self.thin else None
            cand = p_all >= thr[0] if maps is None else np.logical_or.reduce(maps)
            pred_index = np.full((h, w), -1, dtype=np.int64)
            pred_index[cand] = np.arange(int(cand.sum()))
            gy, gx = np.nonzero(g)
            rows, cols = [], []
            for dy, dx in offsets:
                y, x = gy + dy, gx + dx
                ok = (y >= 0) & (y < h) & (x >= 0) & (x < w)
                idx = np.full(gy.shape, -1, dtype=np.int64)
                idx[ok] = pred_index[y[ok], x[ok]]
                keep = idx >= 0
                rows.append(np.nonzero(keep)[0])
                cols.append(idx[keep])
            rows_a, cols_a = np.concatenate(rows), np.concatenate(cols)
            cand_yx = np.nonzero(cand)
            for j, t in enumerate(thr):
                on = (p_all[cand_yx] >= t) if maps is None else maps[j][cand_yx]
                sel = on[cols_a]
                matched = 0
                if gy.size and sel.any():
                    graph = csr_matrix(
                        (np.ones(int(sel.sum())), (rows_a[sel], cols_a[sel])), shape=(gy.size, int(cand.sum()))
                    )
                    matched = int((maximum_bipartite_matching(graph, perm_type="column") >= 0).sum())
                out[:, i, j] = (matched, matched, int(on.sum()))
        return tuple(torch.from_numpy(o).to(probs.device) for o in out)

    def update(self, preds: Tensor, target: Tensor) -> None:  # type: ignore[override]
        probs, valid, target = binary_update_inputs(self, preds, target)
        keep = valid.flatten(1).any(1)
        if not bool(keep.any()):
            return
        probs, valid, target = probs[keep], valid[keep], target[keep]
        gt = valid & (target.float() > 0.5)
        probs = torch.where(valid, probs, torch.full_like(probs, -1.0))  # ignored pixels never count
        r = self.radius(*target.shape[-2:])
        if self.matching == "nearest":
            cnt_r, cnt_p, sum_p = self._counts_nearest(probs, valid, gt, r)
        else:
            cnt_r, cnt_p, sum_p = self._counts_bipartite(probs, gt, r)
        sum_r = gt.flatten(1).sum(1).double()
        self.cnt_r += cnt_r.sum(0)
        self.cnt_p += cnt_p.sum(0)
        self.sum_p += sum_p.sum(0)
        self.sum_r += sum_r.sum()
        # OIS: each image's best threshold (first maximum, as BSDS's ``max``).
        f = _f_measure(cnt_r, sum_r[:, None].expand_as(cnt_r), cnt_p, sum_p)
        best = f.argmax(1, keepdim=True)
        self.ois_cnt_r += cnt_r.gather(1, best).sum()
        self.ois_cnt_p += cnt_p.gather(1, best).sum()
        self.ois_sum_p += sum_p.gather(1, best).sum()
        self.ois_sum_r += sum_r.sum()
        self.num_images += keep.sum()

    def compute(self) -> dict[str, float]:  # type: ignore[override]
        if self.num_images == 0:
            return {}
        ods = _f_measure(self.cnt_r, self.sum_r.expand_as(self.cnt_r), self.cnt_p, self.sum_p).max()
        ois = _f_measure(self.ois_cnt_r, self.ois_sum_r, self.ois_cnt_p, self.ois_sum_p)
        return {"odsF": self._f(100.0 * ods), "oisF": self._f(100.0 * ois)}

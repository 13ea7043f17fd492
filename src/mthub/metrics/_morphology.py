"""Small torch morphology helpers for the boundary benchmark: disk dilation and binary thinning.

Both are vectorised over a batch of maps (no loops over pixels), so they run on GPU as well as CPU.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["disk_max_filter", "thin"]


def disk_max_filter(x: Tensor, radius: float, fill: float) -> Tensor:
    """Grey dilation of ``x`` (``[N, H, W]`` float) with a Euclidean disk ``dy² + dx² <= radius²``.

    The disk is a union of horizontal segments: row ``dy`` spans ``|dx| <= floor(sqrt(r² − dy²))``.
    Each distinct half-width is one 1-D max-pool along W; rows are then combined by shifting along H.
    Pixels outside the image behave as ``fill``.
    """
    h = x.shape[1]
    r_int = math.floor(radius + 1e-9)
    if r_int <= 0:
        return x.clone()
    half_widths = [math.floor(math.sqrt(max(radius * radius - dy * dy, 0.0)) + 1e-9) for dy in range(r_int + 1)]
    pooled: dict[int, Tensor] = {}
    for hw in set(half_widths):
        if hw == 0:
            pooled[hw] = x
        else:
            xp = F.pad(x[:, None], (hw, hw, 0, 0), value=fill)
            pooled[hw] = F.max_pool2d(xp, kernel_size=(1, 2 * hw + 1), stride=1)[:, 0]
    out = pooled[half_widths[0]].clone()
    for dy in range(1, r_int + 1):
        row = F.pad(pooled[half_widths[dy]], (0, 0, dy, dy), value=fill)
        out = torch.maximum(out, row[:, :h, :])  # value from row y − dy
        out = torch.maximum(out, row[:, 2 * dy : 2 * dy + h, :])  # value from row y + dy
    return out


def _zhang_suen_tables() -> Tensor:
    """``[2, 256]`` bool: may the centre pixel be removed in sub-iteration 0 / 1, given its 8-neighbour code.

    Bits 0..7 of the code are Zhang–Suen's P2..P9 (N, NE, E, SE, S, SW, W, NW).
    """
    table = torch.zeros(2, 256, dtype=torch.bool)
    for code in range(256):
        n = [(code >> i) & 1 for i in range(8)]
        p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
        transitions = sum(1 for i in range(8) if n[i] == 0 and n[(i + 1) % 8] == 1)
        base = 2 <= sum(n) <= 6 and transitions == 1
        table[0, code] = base and p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0
        table[1, code] = base and p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0
    return table


_TABLES = _zhang_suen_tables()
# 3×3 cross-correlation weights giving the neighbour code: w[dy + 1, dx + 1] = 2**bit.
_CODE_WEIGHTS = torch.tensor([[128.0, 1.0, 2.0], [64.0, 0.0, 4.0], [32.0, 16.0, 8.0]]).view(1, 1, 3, 3)


def thin(mask: Tensor, max_iter: int = 10000) -> Tensor:
    """Zhang–Suen thinning of binary maps ``[N, H, W]`` (bool) to 1-pixel-wide skeletons.

    Stands in for MATLAB's ``bwmorph(b, 'thin', Inf)`` that BSDS/SEISM apply to each thresholded
    boundary map. MATLAB uses the Lam–Lee–Suen variant, so skeletons can differ by a pixel at junctions.
    Each sub-iteration is one 3×3 convolution (neighbour code) and a 256-entry table lookup; the number of
    iterations grows with the half-width of the widest blob.
    """
    b = mask.clone()
    tables = _TABLES.to(mask.device)
    weights = _CODE_WEIGHTS.to(mask.device)
    for _ in range(max_iter):
        changed = False
        for step in (0, 1):
            code = F.conv2d(b[:, None].float(), weights, padding=1)[:, 0].long()
            remove = b & tables[step][code]
            if bool(remove.any()):
                b &= ~remove
                changed = True
        if not changed:
            break
    return b

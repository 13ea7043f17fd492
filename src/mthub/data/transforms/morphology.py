"""Binary morphology used to derive PASCAL-Context edge labels from the context ``LabelMap``.

The multi-task PASCAL loaders (ASTMT → MTL-PyTorch → ATRC/InvPT, see ``shared/specs/tif.md`` §5.2 C) define
the edge ground truth as ``thin(|Laplacian(LabelMap)| > 0)`` with OpenCV's 3×3 Laplacian and
scikit-image's ``morphology.thin``. Neither OpenCV nor scikit-image is a dependency of mthub, so both steps are
re-implemented here with numpy/scipy:

* :func:`laplacian_nonzero`: the 4-neighbour Laplacian kernel ``[[0,1,0],[1,-4,1],[0,1,0]]`` (what
  ``cv2.Laplacian(x, cv2.CV_64F)`` applies with its default ``ksize=1``), with OpenCV's default border
  (``BORDER_REFLECT_101`` = scipy's ``mode="mirror"``).
* :func:`thin`: the two-subiteration parallel thinning of Guo & Hall, "Parallel thinning with two-subiteration
  algorithms", Comm. ACM 32(3), 1989 (algorithm A1), iterated to convergence. Every subiteration evaluates the
  deletion conditions for all pixels at once from shifted copies of the image (no Python loop over pixels);
  only the number of passes (≈ half the stroke width) is a Python loop.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["laplacian_nonzero", "thin", "label_map_edges"]

_LAPLACIAN_4 = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def laplacian_nonzero(label_map: np.ndarray) -> np.ndarray:
    """``|Laplacian(label_map)| > 0`` as a boolean ``(H, W)`` mask (pixels next to a label change).

    Args:
        label_map: ``(H, W)`` integer label ids (e.g. the uint16 PASCAL-Context ``LabelMap``).
    """
    if label_map.ndim != 2:
        raise ValueError(f"laplacian_nonzero expects an (H, W) label map, got shape {label_map.shape}")
    lap = ndimage.convolve(label_map.astype(np.float64), _LAPLACIAN_4, mode="mirror")
    return np.abs(lap) > 0


def _neighbours(img: np.ndarray) -> list[np.ndarray]:
    """The 8 neighbours x1..x8 of every pixel, x1 = east, counter-clockwise (Guo & Hall's numbering).

    Pixels outside the image count as background.
    """
    p = np.pad(img, 1, mode="constant", constant_values=False)
    h, w = img.shape

    def at(dr: int, dc: int) -> np.ndarray:
        return p[1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w]

    # E, NE, N, NW, W, SW, S, SE (row index grows downwards, so "north" is dr = -1).
    return [at(0, 1), at(-1, 1), at(-1, 0), at(-1, -1), at(0, -1), at(1, -1), at(1, 0), at(1, 1)]


def thin(mask: np.ndarray, max_num_iter: int | None = None) -> np.ndarray:
    """Thin a binary mask to 1-pixel-wide, 8-connected curves (Guo & Hall 1989, algorithm A1).

    A foreground pixel p with neighbours x1..x8 (x1 = east, counter-clockwise, x9 = x1) is deleted in a
    subiteration when all of

    * G1: ``C(p) == 1`` with ``C(p) = Σ_{i=1..4} (¬x_{2i-1}) ∧ (x_{2i} ∨ x_{2i+1})`` (p is a simple point);
    * G2: ``2 ≤ min(N1(p), N2(p)) ≤ 3`` with ``N1 = Σ_k x_{2k-1} ∨ x_{2k}``, ``N2 = Σ_k x_{2k} ∨ x_{2k+1}``
      (p is not an end point and not interior);
    * G3 (odd subiterations): ``(x2 ∨ x3 ∨ ¬x8) ∧ x1 == 0``; G3' (even): ``(x6 ∨ x7 ∨ ¬x4) ∧ x5 == 0``

    hold. Subiterations alternate until a full pass deletes nothing.

    Args:
        mask: ``(H, W)`` array, nonzero = foreground.
        max_num_iter: optional cap on the number of full passes (``None``: until convergence).

    Returns:
        ``(H, W)`` bool array.
    """
    if mask.ndim != 2:
        raise ValueError(f"thin expects an (H, W) mask, got shape {mask.shape}")
    img = mask.astype(bool).copy()
    n_iter = 0
    while max_num_iter is None or n_iter < max_num_iter:
        n_iter += 1
        changed = False
        for odd in (True, False):
            x1, x2, x3, x4, x5, x6, x7, x8 = _neighbours(img)
            xs = (x1, x2, x3, x4, x5, x6, x7, x8, x1)
            c = sum(((~xs[2 * i]) & (xs[2 * i + 1] | xs[2 * i + 2])).astype(np.uint8) for i in range(4))
            n1 = sum((xs[2 * k] | xs[2 * k + 1]).astype(np.uint8) for k in range(4))
            n2 = sum((xs[2 * k + 1] | xs[2 * k + 2]).astype(np.uint8) for k in range(4))
            n = np.minimum(n1, n2)
            if odd:
                g3 = ~((x2 | x3 | ~x8) & x1)
            else:
                g3 = ~((x6 | x7 | ~x4) & x5)
            delete = img & (c == 1) & (n >= 2) & (n <= 3) & g3
            if delete.any():
                img &= ~delete
                changed = True
        if not changed:
            break
    return img


def label_map_edges(label_map: np.ndarray) -> np.ndarray:
    """PASCAL-Context multi-task edge ground truth: ``thin(|Laplacian(LabelMap)| > 0)`` as ``(H, W)`` uint8 {0, 1}."""
    return thin(laplacian_nonzero(label_map)).astype(np.uint8)

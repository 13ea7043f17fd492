"""Units and the counting convention shared by every figure mthub prints.

mthub reports compute in **GMACs**: 1 MAC = one multiply-add (a multiplication followed by an
accumulation). The "GFLOPs" in the papers mthub implements (and in fvcore, timm and most vision
papers) are MACs in this sense, i.e. half of ``torch.utils.flop_counter``'s FLOPs
(resnet50 at 224² = 8.18 GFLOPs in PyTorch's convention = 4.09 GMACs = the "4.1 GFLOPs" of papers).

What is counted: convolutions (any dimension, grouped/depthwise, transposed), matrix products
(linear layers, ``matmul``/``bmm``/``einsum``) and attention (the two matrix products
``Q Kᵀ`` and ``softmax(·) V``; causal masks are not discounted). Not counted: normalisation,
activations, softmax, pooling, elementwise arithmetic, interpolation and ``grid_sample``. This is
PyTorch's ``FlopCounterMode`` convention; fvcore additionally estimates norms, upsampling,
adaptive pooling and grid sampling, which changes totals by well under 1% for the models here
(resnet50: 4.09 vs 4.11). Operators that do arithmetic but have no formula are reported as
``unsupported_ops`` so that a reader knows what a figure leaves out.
"""

from __future__ import annotations

__all__ = ["CONVENTION", "CONVENTION_DETAIL", "format_macs", "format_params", "format_bytes"]

CONVENTION = "1 MAC = 1 multiply-add; papers' 'GFLOPs' are MACs"
"""One-line statement of the MAC convention; printed next to every GMACs figure."""

CONVENTION_DETAIL = (
    "Counted: convolutions, matrix products (linear, matmul, einsum) and attention (QK^T and AV, "
    "causal masks not discounted). Not counted: norms, activations, softmax, pooling, "
    "elementwise ops, interpolation, grid_sample."
)
"""What the count includes and excludes (see the module docstring)."""


def _number(value: float) -> str:
    # Two decimals for the usual magnitudes (4.09, 17.56, 64.22); three significant digits for
    # tiny test models so that they do not print as "0.00".
    if value == 0:
        return "0"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def format_macs(gmacs: float) -> str:
    """Format a GMACs figure together with the convention.

    >>> format_macs(4.089184256)
    "4.09 GMACs (1 MAC = 1 multiply-add; papers' 'GFLOPs')"
    """
    return f"{_number(gmacs)} GMACs (1 MAC = 1 multiply-add; papers' 'GFLOPs')"


def format_params(count: int) -> str:
    """Format a parameter count: ``25557032`` -> ``"25.56 M"``, ``1536`` -> ``"1.54 K"``."""
    if count >= 1e6:
        return f"{_number(count / 1e6)} M"
    if count >= 1e3:
        return f"{_number(count / 1e3)} K"
    return str(count)


def format_bytes(count: int | None) -> str:
    """Format a byte count in MiB (``None`` -> ``"n/a"``)."""
    if count is None:
        return "n/a"
    return f"{count / 2**20:.1f} MiB"

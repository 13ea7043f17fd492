"""MAC formulas per ATen operator, on top of ``torch.utils.flop_counter.flop_registry``.

PyTorch's registry covers ``mm``/``addmm``/``bmm``/``baddbmm``, convolutions (any dimension,
grouped — its formula multiplies by ``weight.shape[1] = C_in / groups``, so depthwise and grouped
convolutions are right — and transposed) and the CUDA SDPA kernels. Verified here
(torch 2.14) to be missing, and added below:

* ``_scaled_dot_product_flash_attention_for_cpu`` — what ``F.scaled_dot_product_attention``
  dispatches to on CPU; without it SDPA counts 0 on CPU but (via the math fallback's ``bmm``)
  the full amount on meta.
* ``_scaled_dot_product_fused_attention_overrideable`` (XPU/PrivateUse1) and
  ``_scaled_dot_product_attention_math_for_mps``.
* ``_native_multi_head_attention`` and ``_transformer_encoder_layer_fwd`` — the inference fast
  paths of ``nn.MultiheadAttention`` / ``nn.TransformerEncoderLayer`` (eval mode, no grad, CPU/CUDA);
  both counted 0 before.
* ``mv``/``addmv``/``dot``/``vdot``/``addbmm``/``_addmm_activation``.

``linear`` and ``einsum`` need no entry: they are composite and reach the dispatcher as
``addmm``/``mm``/``bmm``. Every formula here returns MACs per category
(``convolution``/``matmul``/``attention``); ``torch``'s return FLOPs = 2 × MACs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import inspect

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import flop_registry

__all__ = [
    "CATEGORIES",
    "FUNCTION_FORMULAS",
    "MacFormula",
    "builtin_formulas",
    "is_negligible",
    "mha_forward_macs",
    "sdpa_macs",
]

aten = torch.ops.aten

CATEGORIES = ("convolution", "matmul", "attention")

MacFormula = Callable[[tuple, dict, Any], dict[str, int]]
"""``formula(args, kwargs, out) -> {category: MACs}`` for one call of an operator."""


def _category(op: Any) -> str:
    name = str(getattr(op, "__name__", op)).lower()
    if "attention" in name:
        return "attention"
    if "conv" in name:
        return "convolution"
    return "matmul"


def sdpa_macs(q_shape: Sequence[int], k_shape: Sequence[int], v_shape: Sequence[int]) -> int:
    """MACs of ``softmax(Q Kᵀ) V`` for ``Q: (..., Hq, L, E)``, ``K: (..., Hk, S, E)``,
    ``V: (..., Hk, S, Ev)``: ``Q Kᵀ`` costs ``L·S·E`` and the product with ``V`` costs ``L·S·Ev`` per
    query head (grouped-query attention broadcasts K/V heads, so the count follows ``Q``)."""
    rows = math.prod(q_shape[:-1])  # every batch/head/query row
    return rows * k_shape[-2] * (q_shape[-1] + v_shape[-1])


def _from_torch(op: Any) -> MacFormula:
    """Adapt an entry of PyTorch's ``flop_registry`` (raw call signature, returns FLOPs)."""
    counter = flop_registry[op]
    category = _category(op)

    def formula(args: tuple, kwargs: dict, out: Any) -> dict[str, int]:
        return {category: int(counter(*args, **kwargs, out_val=out)) // 2}

    return formula


def _sdpa(args: tuple, kwargs: dict, out: Any) -> dict[str, int]:
    q, k, v = args[:3]
    return {"attention": sdpa_macs(q.shape, k.shape, v.shape)}


def _lengths(x: torch.Tensor) -> list[int]:
    """Sequence lengths of a ``(B, L, E)`` tensor or of a nested (jagged) ``(B, *, E)`` tensor."""
    if x.is_nested:
        return [int(t.shape[0]) for t in x.unbind()]
    return [int(x.shape[-2])] * math.prod(x.shape[:-2])


def _native_mha(args: tuple, kwargs: dict, out: Any) -> dict[str, int]:
    # (query, key, value, embed_dim, num_head, qkv_weight, qkv_bias, proj_weight, proj_bias, ...)
    query, key = args[0], args[1]
    embed_dim = int(args[3])
    lq, lk = _lengths(query), _lengths(key)
    proj = (sum(lq) + 2 * sum(lk)) * embed_dim * embed_dim + sum(lq) * embed_dim * embed_dim
    attn = sum(a * b for a, b in zip(lq, lk, strict=True)) * 2 * embed_dim
    return {"matmul": proj, "attention": attn}


def _encoder_layer(args: tuple, kwargs: dict, out: Any) -> dict[str, int]:
    # (src, embed_dim, num_heads, qkv_weight, qkv_bias, proj_weight, proj_bias, use_gelu,
    #  norm_first, eps, norm_w1, norm_b1, norm_w2, norm_b2, ffn_w1, ffn_b1, ffn_w2, ffn_b2, ...)
    src, embed_dim = args[0], int(args[1])
    qkv_w, proj_w, ffn_w1, ffn_w2 = args[3], args[5], args[14], args[16]
    lengths = _lengths(src)
    tokens = sum(lengths)
    dense = tokens * (qkv_w.numel() + proj_w.numel() + ffn_w1.numel() + ffn_w2.numel())
    attn = sum(n * n for n in lengths) * 2 * embed_dim
    return {"matmul": dense, "attention": attn}


def _mv(args: tuple, kwargs: dict, out: Any) -> dict[str, int]:
    mat = args[0] if args[0].dim() == 2 else args[1]  # mv(mat, vec) / addmv(self, mat, vec)
    return {"matmul": mat.numel()}


def _dot(args: tuple, kwargs: dict, out: Any) -> dict[str, int]:
    return {"matmul": args[0].numel()}


def _addbmm(args: tuple, kwargs: dict, out: Any) -> dict[str, int]:
    b1, b2 = args[1], args[2]
    return {"matmul": b1.shape[0] * b1.shape[1] * b1.shape[2] * b2.shape[2]}


def _addmm_activation(args: tuple, kwargs: dict, out: Any) -> dict[str, int]:
    m1, m2 = args[1], args[2]
    return {"matmul": m1.shape[0] * m1.shape[1] * m2.shape[1]}


def _sdpa_call(args: tuple, kwargs: dict) -> dict[str, int]:
    """MACs of a ``F.scaled_dot_product_attention(query, key, value, ...)`` call."""
    q = kwargs["query"] if "query" in kwargs else args[0]
    k = kwargs["key"] if "key" in kwargs else args[1]
    v = kwargs["value"] if "value" in kwargs else args[2]
    return {"attention": sdpa_macs(q.shape, k.shape, v.shape)}


_MHA_SIGNATURE = inspect.signature(F.multi_head_attention_forward)


def mha_forward_macs(args: tuple, kwargs: dict) -> dict[str, int]:
    """MACs of ``F.multi_head_attention_forward`` (the body of ``nn.MultiheadAttention``).

    Inputs are ``query: (L, B, E)``, ``key``/``value: (S, B, E_k/E_v)`` (or unbatched ``(L, E)``).
    ``matmul``: the in-projections ``L·B·E·E + S·B·E·E_k + S·B·E·E_v`` and the out-projection
    ``L·B·E·E``; ``attention``: ``2·B·L·S'·E`` where ``S'`` counts the extra key of ``bias_k`` and
    of ``add_zero_attn`` (or is ``static_k``'s length; the projection of ``key`` runs anyway).
    """
    bound = _MHA_SIGNATURE.bind(*args, **kwargs)
    bound.apply_defaults()
    a = bound.arguments
    query, key, value = a["query"], a["key"], a["value"]
    batch = query.shape[1] if query.dim() == 3 else 1
    lq, lk, lv = query.shape[0], key.shape[0], value.shape[0]
    if a["use_separate_proj_weight"]:
        wq, wk, wv = a["q_proj_weight"].numel(), a["k_proj_weight"].numel(), a["v_proj_weight"].numel()
    else:
        wq = wk = wv = a["in_proj_weight"].numel() // 3
    dense = batch * (lq * wq + lk * wk + lv * wv + lq * a["out_proj_weight"].numel())
    if a["static_k"] is not None:
        src = a["static_k"].shape[1]
    else:
        src = lk + (a["bias_k"] is not None)
    src += bool(a["add_zero_attn"])
    embed = query.shape[-1]
    return {"matmul": dense, "attention": 2 * batch * lq * src * embed}


FUNCTION_FORMULAS: dict[Any, tuple[str, Callable[[tuple, dict], dict[str, int]]]] = {
    F.scaled_dot_product_attention: ("F.scaled_dot_product_attention", _sdpa_call),
    F.multi_head_attention_forward: ("F.multi_head_attention_forward", mha_forward_macs),
}
"""Torch functions counted as a whole (their inner kernels are not counted again), so that the
breakdown into ``attention``/``matmul`` does not depend on which kernels a device runs: SDPA is the
math fallback's ``bmm`` on meta but a fused kernel on CPU/CUDA, and ``nn.MultiheadAttention``
computes its attention with ``bmm`` or SDPA depending on ``need_weights``."""


def builtin_formulas() -> dict[Any, MacFormula]:
    """Every operator mthub counts, keyed by ``OpOverloadPacket`` (or higher-order operator)."""
    formulas: dict[Any, MacFormula] = {op: _from_torch(op) for op in flop_registry}
    formulas.update(
        {
            aten._scaled_dot_product_flash_attention_for_cpu: _sdpa,
            aten._scaled_dot_product_fused_attention_overrideable: _sdpa,
            aten._scaled_dot_product_attention_math_for_mps: _sdpa,
            aten._native_multi_head_attention: _native_mha,
            aten._transformer_encoder_layer_fwd: _encoder_layer,
            aten.mv: _mv,
            aten.addmv: _mv,
            aten.dot: _dot,
            aten.vdot: _dot,
            aten.addbmm: _addbmm,
            aten._addmm_activation: _addmm_activation,
        }
    )
    return formulas


# Operators without a formula that, by convention, cost no MACs: data movement and creation,
# indexing, randomness, normalisation, softmax, pooling and reductions (pointwise, view and
# reduction ops are recognised by their ATen tags; these are the untagged ones).
_NEGLIGIBLE_NAMES = frozenset(
    """
    _to_copy copy copy_ clone _unsafe_view lift_fresh lift_fresh_copy alias detach contiguous
    empty empty_like empty_strided new_empty new_empty_strided zeros zeros_like new_zeros ones
    ones_like new_ones full full_like new_full scalar_tensor arange linspace logspace eye fill
    fill_ zero_ cat stack split split_with_sizes index index_select index_put index_put_
    _unsafe_index _unsafe_index_put _unsafe_masked_index gather scatter scatter_ scatter_add
    scatter_add_ scatter_reduce masked_scatter masked_select embedding take take_along_dim
    repeat repeat_interleave roll flip tile constant_pad_nd pad _pad_circular tril triu sort
    argsort topk kthvalue nonzero one_hot unique _unique2 unique_consecutive _local_scalar_dense
    item is_nonzero equal resize_ set_ as_strided_ diag_embed bucketize searchsorted im2col
    col2im native_dropout dropout bernoulli bernoulli_ cumsum cumprod logcumsumexp diff
    count_nonzero bincount histc pixel_shuffle pixel_unshuffle channel_shuffle
    native_channel_shuffle _softmax _log_softmax _safe_softmax softmax log_softmax
    native_layer_norm layer_norm native_group_norm group_norm native_batch_norm batch_norm
    instance_norm _fused_rms_norm rms_norm _weight_norm_interface cudnn_batch_norm
    miopen_batch_norm _batch_norm_impl_index sum mean amax amin max min argmax argmin var std
    var_mean std_mean norm linalg_vector_norm logsumexp prod all any aminmax
    """.split()
)
_NEGLIGIBLE_PREFIXES = (
    "max_pool",
    "avg_pool",
    "_adaptive_avg_pool",
    "adaptive_avg_pool",
    "adaptive_max_pool",
    "fractional_max_pool",
    "reflection_pad",
    "replication_pad",
    "_native_batch_norm",
    "rand",
    "normal",
    "uniform",
    "_assert",
    "sym_",
    "_functional_assert",
)
_NEGLIGIBLE_TAGS = (
    torch.Tag.pointwise,
    torch.Tag.reduction,
    torch.Tag.inplace_view,
    torch.Tag.view_copy,
    torch.Tag.nondeterministic_seeded,
)


def is_negligible(op: torch._ops.OpOverload) -> bool:
    """True for operators that cost no MACs under the convention (see module docstring);
    operators with no formula for which this is False are reported as ``unsupported_ops``
    (e.g. ``upsample_bilinear2d``, ``grid_sampler_2d``, FFTs, custom ops)."""
    if op.namespace in ("prim", "prims"):
        return True
    if op.namespace != "aten":
        return False  # custom/third-party kernels: never silently treated as free
    if op.is_view or any(tag in op.tags for tag in _NEGLIGIBLE_TAGS):
        return True
    name = op._opname
    return name in _NEGLIGIBLE_NAMES or name.startswith(_NEGLIGIBLE_PREFIXES)

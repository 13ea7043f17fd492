"""TIF building blocks (paper §3, spec §2): SAFF (Eq. 2–5), SFD (Eq. 6–10), LTHD (Eq. 11–13), FeatureFuse (Eq. 14).

Notation: scale ``i`` has stride ``2^(i+2)`` and size ``hᵢ×wᵢ`` (``Lᵢ = hᵢwᵢ`` tokens); ``D`` is the decoder width;
``B`` the batch. Feature maps are ``(B, D, hᵢ, wᵢ)``, token sequences ``(B, Lᵢ, D)``, affinities ``(B, L, L)``.

Paper typos handled here (each also documented where it applies):

* Eq. 6 indexes the key/value branches ``W_0, W_2 … W_N`` (skipping ``W_1``): read as ``N`` branches ``W_1..W_N``.
* Eq. 7 takes the query from ``X̂_0ⁱ``: read as the target task ``X̂_tⁱ`` (config ``sfd_query_source``).
* Eq. 8 writes ``A = Q × K``: read as ``A = QKᵀ/√D`` (config ``sfd_scale_logits``).
* Eq. 12 writes ``Pool(X̂ᵏ)Wᵏ × Softmax(A⁰)``: the only shape-consistent order is ``Softmax(A⁰)·(Pool(X̂ᵏ)Wᵏ)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ...layers import MLP

__all__ = [
    "ConvBNAct",
    "CrossTaskMemory",
    "FeatureFuse",
    "LowToHighDiffusion",
    "ScaleAttentiveFeatureFusion",
    "SelfFeatureDistillation",
    "fuse_resized",
    "resize_map",
    "upsample_affinity",
]


class ConvBNAct(nn.Sequential):
    """``Conv(k×k, no bias) → BatchNorm → ReLU`` (ReLU optional). ``(B, C_in, h, w) → (B, C_out, h, w)``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, act: bool = True) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        if act:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


def resize_map(x: torch.Tensor, size: tuple[int, int], mode: str = "bilinear") -> torch.Tensor:
    """``P_{h×w}`` of Eq. 2: resize ``(B, C, h', w')`` to ``size``.

    ``mode="bilinear"``: bilinear (``align_corners=False``) both ways (DeMT's convention); ``"bilinear_avgpool"``:
    adaptive average pooling when shrinking, bilinear when enlarging.
    """
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if mode == "bilinear_avgpool" and x.shape[-2] >= size[0] and x.shape[-1] >= size[1]:
        return F.adaptive_avg_pool2d(x, size)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def _bilinear(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def fuse_resized(
    conv: nn.Conv2d, parts: Sequence[torch.Tensor], size: tuple[int, int], resize: Callable = _bilinear
) -> torch.Tensor:
    """``conv(cat([resize(p, size) for p in parts]))`` for a bias-free 1×1 ``conv``, without the concatenation.

    A 1×1 convolution mixes channels per pixel; bilinear resizing (and average pooling) mixes pixels per channel.
    Both are linear, so they commute: each part is multiplied by its slice of the weight at whichever of its own
    or the target resolution has fewer pixels, then resized, and the parts are summed. Same function and parameters
    as the concatenation (up to float rounding), without the wide full-resolution tensor: the final FeatureFuse
    concatenates 4D channels at H/4 × W/4 and SAFF's scale-0 alignment Σ_{j≠0} Cʲ channels.
    """
    out = None
    start = 0
    pixels = size[0] * size[1]
    for part in parts:
        # A contiguous slice: a strided weight makes CPU convolutions return channels-last outputs.
        weight = conv.weight[:, start : start + part.shape[1]].contiguous()
        start += part.shape[1]
        if tuple(part.shape[-2:]) == tuple(size):
            mixed = F.conv2d(part, weight)
        elif part.shape[-2] * part.shape[-1] < pixels:  # smaller source: mix, then enlarge
            mixed = resize(F.conv2d(part, weight), size)
        else:  # larger source: shrink, then mix
            mixed = F.conv2d(resize(part, size), weight)
        out = mixed if out is None else out + mixed
    return out


def _fuse(
    block: ConvBNAct, parts: Sequence[torch.Tensor], size: tuple[int, int], resize: Callable = _bilinear
) -> torch.Tensor:
    """``block`` (Conv → BN [→ ReLU]) applied to ``cat([resize(p) for p in parts])`` (:func:`fuse_resized` for 1×1)."""
    conv = block[0]
    if conv.kernel_size == (1, 1) and conv.bias is None:
        out = fuse_resized(conv, parts, size, resize)
        for layer in list(block)[1:]:  # BatchNorm, ReLU
            out = layer(out)
        return out
    resized = [p if tuple(p.shape[-2:]) == tuple(size) else resize(p, size) for p in parts]
    return block(torch.cat(resized, dim=1))


class ScaleAttentiveFeatureFusion(nn.Module):
    """SAFF for one target scale ``i`` = Scale Alignment (Eq. 2) + Scale Enhanced Feature Fusion (Eq. 3–5).

    ``XLⁱ = BN(Conv1×1(Xⁱ))`` (Cⁱ → D); ``Yⁱ = BN(Conv1×1(cat_{j≠i} P(Xʲ)))`` (Σ_{j≠i} Cʲ → D, the learnable
    "reshape" ``W_i``); ``SFXⁱ = SFF(XLⁱ, Yⁱ) + XLⁱ`` with SFF = Conv k×k (2D → D) → ReLU → Conv k×k (D → D)
    (Eq. 3, "two convolution layers and ReLU"); ``SPⁱ = ReLU(DWConv3×3(SFXⁱ))`` (Eq. 4, groups = channels);
    ``X̂ⁱ = Conv1×1(SPⁱ)`` (Eq. 5, D → D, no extra residual or norm, as in the paper).

    Args:
        in_channels: backbone channels ``C⁰..C³``.
        target: the scale ``i`` this module enhances.
        dim: ``D``.
        sff_kernel_size: kernel of SFF's two convs (unstated in the paper; 3 reproduces its parameter counts).
        resize: :func:`resize_map` mode.

    Shapes: ``forward(features: 4 × (B, Cʲ, hʲ, wʲ)) → (B, D, hⁱ, wⁱ)``.
    """

    def __init__(
        self, in_channels: Sequence[int], target: int, dim: int, sff_kernel_size: int = 3, resize: str = "bilinear"
    ) -> None:
        super().__init__()
        self.target = target
        self.resize = resize
        sources = sum(c for j, c in enumerate(in_channels) if j != target)
        self.reduce = ConvBNAct(in_channels[target], dim, 1, act=False)  # XLⁱ
        self.align = ConvBNAct(sources, dim, 1, act=False)  # W_i of Eq. 2
        padding = sff_kernel_size // 2
        self.sff = nn.Sequential(  # Eq. 3
            nn.Conv2d(2 * dim, dim, sff_kernel_size, padding=padding),
            nn.ReLU(inplace=True),
            nn.Conv2d(dim, dim, sff_kernel_size, padding=padding),
        )
        self.spatial = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)  # f_group of Eq. 4
        self.mixer = nn.Conv2d(dim, dim, 1)  # f_1×1 of Eq. 5

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        target = features[self.target]
        size = (target.shape[-2], target.shape[-1])
        low = self.reduce(target)
        sources = [x for j, x in enumerate(features) if j != self.target]
        other = _fuse(self.align, sources, size, lambda x, s: resize_map(x, s, self.resize))  # Eq. 2
        fused = self.sff(torch.cat([low, other], dim=1)) + low
        return self.mixer(F.relu(self.spatial(fused)))


class CrossTaskMemory(nn.Module):
    """Cross-distillation (Table 8) key/value shared by all target tasks at one scale (``cross_projection="shared"``).

    ``K = Σ_s LN_s(X̂_sⁱ) W^K_s`` and ``V = Σ_s LN_s(X̂_sⁱ) W^V_s`` over the tasks ``s``: every task's tokens are
    projected once into a key and a value, as in the cross-task attention of InvPT / DeMT.

    Shapes: ``forward(tokens: N × (B, L, D)) → (K, V)``, each ``(B, L, D)``.
    """

    def __init__(self, num_tasks: int, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.norms = nn.ModuleList(nn.LayerNorm(dim, eps=eps) for _ in range(num_tasks))
        self.keys = nn.ModuleList(nn.Linear(dim, dim) for _ in range(num_tasks))
        self.values = nn.ModuleList(nn.Linear(dim, dim) for _ in range(num_tasks))

    def forward(self, tokens: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        if len(tokens) != len(self.keys):
            raise ValueError(f"CrossTaskMemory: {len(tokens)} task token sets for {len(self.keys)} tasks.")
        normed = [norm(x) for norm, x in zip(self.norms, tokens)]
        key = sum(proj(x) for proj, x in zip(self.keys, normed))
        value = sum(proj(x) for proj, x in zip(self.values, normed))
        return key, value


class SelfFeatureDistillation(nn.Module):
    """SFD for one task at one low scale (Eq. 6–10), or its cross-distillation variant (Table 8).

    * ``Flat`` = flatten + LayerNorm ("linear normalization"): ``T = LN(X̂_tⁱ)``.
    * Eq. 6: ``K = V = Σ_{n=1..N} T W_n`` — ``N`` branches on the *same* target-task tokens (the paper's
      ``W_0, W_2 … W_N`` skips ``W_1``: a typo). A sum of linear maps of one input is one linear map, so the
      branches are applied as ``T (Σ_n W_n)`` (same function, one matmul); they are kept as separate weights for
      parameter parity with the paper (``kv_branches``).
    * Cross mode (Table 8) with per-target weights: ``K = V = Σ_s LN(X̂_sⁱ) W_s`` over the tasks ``s``; with the
      shared memory, ``K``/``V`` come from :class:`CrossTaskMemory` and this module has no K/V weights.
    * Eq. 7: ``Q = T W_ta`` (the paper's ``X̂_0ⁱ`` read as ``X̂_tⁱ``; ``query_tokens`` overrides the input).
    * Eq. 8: ``A = QKᵀ/√D`` (paper: ``Q × K``, no transpose or scale). One head: ``A`` is reused by LTHD.
    * Eq. 9: ``RX = Softmax(A) V + X̂_tⁱ`` (residual to the un-normalised tokens); Eq. 10: ``RX = FFN(LN(RX)) + RX``
      (pre-LN, ``Linear(D, rD) → act → Linear(rD, D)``).

    Args:
        dim: ``D``. kv_branches: ``N`` of Eq. 6 (0 = K/V given from outside). ffn_ratio, act, eps: FFN settings.
        scale_logits: divide ``QKᵀ`` by ``√D``.

    Shapes: ``forward(tokens (B, L, D)) → (RX (B, L, D), A (B, L, L) pre-softmax logits or None)``.
    """

    def __init__(
        self,
        dim: int,
        kv_branches: int,
        ffn_ratio: float = 4.0,
        act: str = "gelu",
        eps: float = 1e-5,
        scale_logits: bool = True,
    ) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.kv = nn.ModuleList(nn.Linear(dim, dim) for _ in range(kv_branches))
        self.query = nn.Linear(dim, dim)
        self.ffn_norm = nn.LayerNorm(dim, eps=eps)
        self.ffn = MLP(dim, int(dim * ffn_ratio), act=act)
        self.scaling = dim**-0.5 if scale_logits else 1.0

    def _branch_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``N`` branch weights stacked: ``(N, D, D)`` and biases ``(N, D)``."""
        return torch.stack([b.weight for b in self.kv]), torch.stack([b.bias for b in self.kv])

    def key_value(self, normed: torch.Tensor, sources: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """``K = V`` (Eq. 6) from the normalised target tokens, or (cross, per target) from every task's tokens."""
        weights, biases = self._branch_weights()
        if sources is None:  # self-distillation: Σ_n T W_n = T (Σ_n W_n)
            return F.linear(normed, weights.sum(0), biases.sum(0))
        if len(sources) != len(self.kv):
            raise ValueError(f"SFD cross mode: {len(sources)} source tasks for {len(self.kv)} K/V branches.")
        stacked = torch.stack([self.norm(x) for x in sources])  # (N, B, L, D)
        return torch.einsum("nbld,ned->ble", stacked, weights) + biases.sum(0)

    def forward(
        self,
        tokens: torch.Tensor,
        query_tokens: torch.Tensor | None = None,
        sources: Sequence[torch.Tensor] | None = None,
        key_value: tuple[torch.Tensor, torch.Tensor] | None = None,
        return_affinity: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """
        Args:
            tokens: ``X̂_tⁱ`` as ``(B, L, D)``.
            query_tokens: tokens the query is taken from (default ``tokens``; ``X̂ⁱ`` when
                ``sfd_query_source="shared"``).
            sources: cross mode with per-target weights: every task's ``X̂_sⁱ`` tokens, in task order.
            key_value: cross mode with the shared memory: ``(K, V)`` from :class:`CrossTaskMemory`.
            return_affinity: return the pre-softmax ``A`` (needed by LTHD); otherwise a fused SDPA kernel runs.
        """
        normed = self.norm(tokens)
        query = self.query(normed if query_tokens is None else self.norm(query_tokens))
        if key_value is not None:
            key, value = key_value
        else:
            key = value = self.key_value(normed, sources)
        if return_affinity:
            affinity = torch.matmul(query, key.transpose(-2, -1)) * self.scaling  # Eq. 8
            weights = torch.softmax(affinity.float(), dim=-1).to(value.dtype)  # fp32 softmax: bf16-safe
            attended = torch.matmul(weights, value)
        else:
            affinity = None
            attended = F.scaled_dot_product_attention(query, key, value, scale=self.scaling)
        refined = attended + tokens  # Eq. 9
        refined = refined + self.ffn(self.ffn_norm(refined))  # Eq. 10
        return refined, affinity


def _nearest_index(src: int, dst: int, device: torch.device) -> torch.Tensor:
    """Source index of every destination index under PyTorch's ``nearest`` rule ``floor(d · src / dst)``."""
    return torch.div(torch.arange(dst, device=device) * src, dst, rounding_mode="floor")


def upsample_affinity(
    affinity: torch.Tensor, src: tuple[int, int], dst: tuple[int, int], mode: str = "nearest"
) -> torch.Tensor:
    """``f_up`` of Eq. 11: resize an affinity ``(B, h·w, h·w)`` over its query *and* key spatial axes.

    The matrix is a 4-D field ``(h, w, h, w)``; resizing the flattened ``(hw × hw)`` matrix as an image would mix
    unrelated positions. ``"nearest"``: every fine position takes its parent cell's row and column (an index
    gather); ``"bilinear"``: separable bilinear (``align_corners=False``) over the key axes, then the query axes.
    Explicit sizes (not a ×2 factor) keep odd grids exact.

    Shapes: ``(B, h_s·w_s, h_s·w_s) → (B, h_d·w_d, h_d·w_d)``.
    """
    (hs, ws), (hd, wd) = src, dst
    if (hs, ws) == (hd, wd):
        return affinity
    batch = affinity.shape[0]
    if mode == "nearest":
        rows = _nearest_index(hs, hd, affinity.device)
        cols = _nearest_index(ws, wd, affinity.device)
        index = (rows[:, None] * ws + cols[None, :]).reshape(-1)  # parent cell of every fine position
        return affinity.index_select(1, index).index_select(2, index)
    if mode != "bilinear":
        raise ValueError(f"upsample_affinity: mode must be 'nearest' or 'bilinear', got {mode!r}.")
    # Key axes: (B·L_s, 1, h_s, w_s) → (B, L_s, L_d); then the query axes after a transpose.
    keys = F.interpolate(affinity.reshape(-1, 1, hs, ws), size=dst, mode="bilinear", align_corners=False)
    keys = keys.reshape(batch, hs * ws, hd * wd).transpose(1, 2)
    both = F.interpolate(keys.reshape(-1, 1, hs, ws), size=dst, mode="bilinear", align_corners=False)
    return both.reshape(batch, hd * wd, hd * wd).transpose(1, 2)


class LowToHighDiffusion(nn.Module):
    """LTHD for one task at one high scale ``k`` (Eq. 12–13), given the diffused attention ``Softmax(A⁰_t)``.

    * ``Pool``: adaptive average pooling of ``X̂_tᵏ`` to the scale-2 grid ``(h₂, w₂)`` (so the token count
      matches ``A⁰``; the paper leaves "Pool" undefined).
    * Eq. 12: ``RX = Softmax(A⁰) · (Pool(X̂_tᵏ) Wᵏ)`` (the paper's "V × Softmax(A)" order is not shape-consistent).
    * Eq. 13: ``RX = FeatureFuse(FFN(RX), X̂_tᵏ)``: FFN (pre-LN, as in SFD; no residual, as written, unless
      ``ffn_residual``), reshaped to ``(h₂, w₂)``, bilinearly upsampled to scale ``k``, concatenated with
      ``X̂_tᵏ`` and fused by Conv k×k (2D → D) + BN + ReLU ("convolutional layers followed by BatchNorm"; with a
      1×1 kernel the RX half is mixed on the scale-2 grid before upsampling, :func:`fuse_resized`).

    Shapes: ``forward(x (B, D, h_k, w_k), attention (B, L₂, L₂) softmax weights, grid (h₂, w₂)) → (B, D, h_k, w_k)``.
    """

    def __init__(
        self,
        dim: int,
        ffn_ratio: float = 4.0,
        act: str = "gelu",
        eps: float = 1e-5,
        fuse_kernel_size: int = 1,
        ffn_residual: bool = False,
    ) -> None:
        super().__init__()
        self.value = nn.Linear(dim, dim)  # Wᵏ_t of Eq. 12
        self.ffn_norm = nn.LayerNorm(dim, eps=eps)
        self.ffn = MLP(dim, int(dim * ffn_ratio), act=act)
        self.ffn_residual = ffn_residual
        self.fuse = ConvBNAct(2 * dim, dim, fuse_kernel_size)

    def forward(self, x: torch.Tensor, attention: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        batch, dim = x.shape[:2]
        pooled = F.adaptive_avg_pool2d(x, grid).flatten(2).transpose(1, 2)  # (B, L₂, D)
        diffused = torch.matmul(attention.to(pooled.dtype), self.value(pooled))  # Eq. 12
        refined = self.ffn(self.ffn_norm(diffused))
        if self.ffn_residual:
            refined = refined + diffused
        refined = refined.transpose(1, 2).reshape(batch, dim, grid[0], grid[1])
        return _fuse(self.fuse, [refined, x], tuple(x.shape[-2:]))  # Eq. 13: FeatureFuse(up(RX), X̂)


class FeatureFuse(nn.Module):
    """Final FeatureFuse (Eq. 14): upsample ``RX⁰..RX³`` to scale 0 (bilinear), concatenate (4D channels) and fuse
    with Conv k×k (4D → D) + BN + ReLU. With a 1×1 kernel the concatenation is never built (:func:`fuse_resized`).

    Shapes: ``forward(4 × (B, D, hᵢ, wᵢ)) → (B, D, h₀, w₀)``.
    """

    def __init__(self, dim: int, num_scales: int = 4, kernel_size: int = 1) -> None:
        super().__init__()
        self.fuse = ConvBNAct(num_scales * dim, dim, kernel_size)

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        return _fuse(self.fuse, features, tuple(features[0].shape[-2:]))

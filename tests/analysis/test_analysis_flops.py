"""GMACs (mthub.analysis.flops): acceptance figures, hand-computed operators, meta == real.

Convention under test: 1 MAC = 1 multiply-add (the papers' "GFLOPs" = PyTorch FLOPs / 2).
"""

from __future__ import annotations

import pytest
import timm
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from mthub.analysis import ROOT, MetaDeviceError, build_on_meta, count_macs, format_macs


def meta(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.empty(*shape, device="meta", dtype=dtype)


class Fn(nn.Module):
    """Wraps a function of the inputs so that it can be counted as a model."""

    def __init__(self, fn, **modules: nn.Module) -> None:
        super().__init__()
        self.fn = fn
        self.mods = nn.ModuleDict(modules)

    def forward(self, *args):
        return self.fn(self.mods, *args)


# ------------------------------------------------------------------ acceptance (issue 3)


def test_resnet50_224_is_4_09_gmacs():
    model = build_on_meta(torchvision.models.resnet50)
    count = count_macs(model, (meta(1, 3, 224, 224),), module_depth=1)
    assert count.total_gmacs == pytest.approx(4.09, abs=0.02)
    assert count.total_macs == 4_089_184_256
    assert set(count.by_module) == {"conv1", "layer1", "layer2", "layer3", "layer4", "fc"}
    assert count.by_module["fc"] == pytest.approx(2048 * 1000 / 1e9)
    assert count.unsupported_ops == set()
    assert "aten._native_batch_norm_legit_no_training" in count.ignored_ops


def test_vit_base_patch16_224_is_17_56_gmacs_with_attention():
    model = build_on_meta(timm.create_model, "vit_base_patch16_224", pretrained=False)
    assert model.blocks[0].attn.fused_attn  # timm calls F.scaled_dot_product_attention
    count = count_macs(model, (meta(1, 3, 224, 224),), module_depth=1)
    assert count.total_gmacs == pytest.approx(17.56, abs=0.1)
    # QK^T and AV of 12 blocks: 2 * 197^2 tokens * 768 channels each
    assert count.by_operator["attention"] * 1e9 == pytest.approx(12 * 2 * 197 * 197 * 768)
    assert count.by_operator["convolution"] * 1e9 == pytest.approx(196 * 768 * 3 * 16 * 16)
    assert sum(count.by_module.values()) == pytest.approx(count.total_gmacs)
    assert count.unsupported_ops == set()


def test_convention_next_to_figures():
    assert format_macs(4.089184256) == "4.09 GMACs (1 MAC = 1 multiply-add; papers' 'GFLOPs')"
    assert format_macs(0.000312) .startswith("0.000312 GMACs (1 MAC")
    count = count_macs(nn.Linear(4, 3), (meta(2, 4),))
    assert count.total_macs == 24
    assert "GMACs (1 MAC = 1 multiply-add; papers' 'GFLOPs')" in str(count)


# ------------------------------------------------------------------ operators, hand-computed


@pytest.mark.parametrize(
    ("module", "shape", "expected"),
    [
        # B * C_out * (C_in / groups) * prod(kernel) * prod(output spatial)
        (nn.Conv3d(3, 8, 3, padding=1, stride=(1, 2, 2)), (2, 3, 4, 8, 8), 2 * 8 * 3 * 27 * (4 * 4 * 4)),
        (nn.Conv2d(8, 8, 3, padding=1, groups=8), (2, 8, 6, 6), 2 * 8 * 1 * 9 * 36),  # depthwise
        (nn.Conv2d(8, 6, 3, groups=2), (1, 8, 5, 5), 1 * 6 * 4 * 9 * 9),  # grouped
        (nn.Conv2d(4, 8, 3, padding="same"), (1, 4, 8, 8), 8 * 4 * 9 * 64),
        # transposed: B * C_in * (C_out / groups) * prod(kernel) * prod(input spatial)
        (nn.ConvTranspose3d(4, 6, (1, 2, 2), stride=(1, 2, 2), groups=2), (1, 4, 2, 3, 3), 4 * 3 * 4 * 18),
        (nn.Linear(4, 3), (2, 5, 4), 2 * 5 * 4 * 3),
        (nn.Linear(4, 3), (4,), 12),
    ],
)
def test_conv_and_linear_hand_computed(module, shape, expected):
    x = torch.randn(shape)
    assert count_macs(module, (x,)).total_macs == expected
    assert count_macs(module, (x,), device=None).total_macs == expected


def test_matmul_family_hand_computed():
    def fn(_, a, b, c, v):
        torch.einsum("bij,bjk->bik", a, b)  # 2*3*4*5 = 120
        a @ b  # 120
        torch.mv(c, v)  # 3*4 = 12
        torch.addmv(torch.zeros(3), c, v)  # 12
        torch.dot(v, v)  # 4
        torch.addbmm(torch.zeros(3, 5), a, b)  # 120
        return torch._addmm_activation(torch.zeros(5), c, b[0])  # 3*4*5 = 60

    inputs = (torch.randn(2, 3, 4), torch.randn(2, 4, 5), torch.randn(3, 4), torch.randn(4))
    for device in ("meta", None):
        count = count_macs(Fn(fn), inputs, device=device)
        assert count.total_macs == 120 + 120 + 12 + 12 + 4 + 120 + 60, device
        assert set(count.by_operator) == {"matmul"}


@pytest.mark.parametrize(
    ("q", "k", "v", "kwargs", "expected"),
    [
        ((2, 4, 10, 8), (2, 4, 12, 8), (2, 4, 12, 6), {}, 2 * 4 * 10 * 12 * (8 + 6)),
        ((2, 4, 10, 8), (2, 4, 10, 8), (2, 4, 10, 8), {"is_causal": True}, 2 * 4 * 10 * 10 * 16),  # mask not discounted
        ((1, 8, 10, 16), (1, 2, 12, 16), (1, 2, 12, 16), {"enable_gqa": True}, 8 * 10 * 12 * 32),
        ((3, 10, 8), (3, 7, 8), (3, 7, 8), {}, 3 * 10 * 7 * 16),
    ],
)
def test_scaled_dot_product_attention_hand_computed(q, k, v, kwargs, expected):
    model = Fn(lambda _, q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs))
    inputs = (torch.randn(q), torch.randn(k), torch.randn(v))
    for device in ("meta", None):
        count = count_macs(model, inputs, device=device)
        assert count.total_macs == expected, device
        assert count.by_operator == {"attention": expected / 1e9}
    # called below the torch-function level, the kernel the CPU picks is counted by its formula
    direct = Fn(lambda _, q, k, v: torch.ops.aten.scaled_dot_product_attention(q, k, v, **kwargs))
    assert count_macs(direct, inputs, device=None).total_macs == expected


def test_cpu_fused_attention_kernel_has_a_formula():
    # torch's own registry lacks this kernel: without mthub's formula SDPA counts 0 on CPU
    kernel = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    model = Fn(lambda _, q, k, v: kernel(q, k, v)[0])
    inputs = (torch.randn(2, 4, 10, 8), torch.randn(2, 4, 12, 8), torch.randn(2, 4, 12, 8))
    count = count_macs(model, inputs, device=None)
    assert count.by_op == {"aten._scaled_dot_product_flash_attention_for_cpu": 2 * 4 * 10 * 12 * 16 / 1e9}


def _mha_expected(b, lq, lk, e, kdim, vdim, extra_keys=0):
    proj = b * (lq * e * e + lk * e * kdim + lk * e * vdim + lq * e * e)
    return proj, 2 * b * lq * (lk + extra_keys) * e


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize(
    ("kwargs", "kdim", "vdim", "extra_keys"),
    [({}, 16, 16, 0), ({"kdim": 12, "vdim": 10}, 12, 10, 0), ({"add_bias_kv": True, "add_zero_attn": True}, 16, 16, 2)],
)
def test_multihead_attention_hand_computed(need_weights, kwargs, kdim, vdim, extra_keys):
    mha = nn.MultiheadAttention(16, 4, batch_first=True, **kwargs)
    model = Fn(lambda m, q, k, v: m["mha"](q, k, v, need_weights=need_weights)[0], mha=mha)
    inputs = (torch.randn(2, 5, 16), torch.randn(2, 7, kdim), torch.randn(2, 7, vdim))
    proj, attn = _mha_expected(2, 5, 7, 16, kdim, vdim, extra_keys)
    for device in ("meta", None):
        count = count_macs(model, inputs, device=device)
        assert count.by_operator == {"matmul": proj / 1e9, "attention": attn / 1e9}, device
        assert count.by_module == {"mods.mha": (proj + attn) / 1e9}


def test_fused_inference_fast_paths_have_formulas():
    # nn.MultiheadAttention / TransformerEncoderLayer call these kernels in eval mode; the
    # counting mode disables those fast paths, so call them directly to test their formulas.
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True, dropout=0.0).eval()
    sa = layer.self_attn

    def native_mha(_, x):
        return torch._native_multi_head_attention(
            x, x, x, 16, 4, sa.in_proj_weight, sa.in_proj_bias, sa.out_proj.weight, sa.out_proj.bias,
            need_weights=False,
        )[0]  # fmt: skip

    def encoder_fwd(_, x):
        return torch._transformer_encoder_layer_fwd(
            x, 16, 4, sa.in_proj_weight, sa.in_proj_bias, sa.out_proj.weight, sa.out_proj.bias,
            False, False, 1e-5, layer.norm1.weight, layer.norm1.bias, layer.norm2.weight,
            layer.norm2.bias, layer.linear1.weight, layer.linear1.bias, layer.linear2.weight,
            layer.linear2.bias, None, None,
        )  # fmt: skip

    x = torch.randn(2, 6, 16)
    proj, attn = _mha_expected(2, 6, 6, 16, 16, 16)
    native = count_macs(Fn(native_mha), (x,), device=None)
    assert native.by_operator == {"matmul": proj / 1e9, "attention": attn / 1e9}
    assert native.by_op == {"aten._native_multi_head_attention": (proj + attn) / 1e9}
    ffn = 2 * 6 * 2 * 16 * 32
    fused = count_macs(Fn(encoder_fwd), (x,), device=None)
    assert fused.total_macs == proj + attn + ffn
    # the module's own (unfused) path gives the same total, on meta and on real tensors
    assert count_macs(layer, (x,)).total_macs == proj + attn + ffn
    assert count_macs(layer, (x,), device=None).total_macs == proj + attn + ffn


# ------------------------------------------------------------------ meta == real, attribution


class _CnnAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv3d(3, 8, 3, padding=1), nn.BatchNorm3d(8), nn.GELU())
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.block = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, dropout=0.0)
        self.head = nn.Linear(8, 5)

    def forward(self, x):
        x = self.dw(self.stem(x).mean(2))
        t = x.flatten(2).transpose(1, 2)
        t = t + self.attn(t, t, t)[0]
        t = self.block(t)
        q = t.view(t.shape[0], t.shape[1], 2, 4).transpose(1, 2)  # SDPA called by the model itself
        t = t + F.scaled_dot_product_attention(q, q, q).transpose(1, 2).reshape(t.shape)
        return self.head(torch.einsum("bld,bmd->blm", t, t).softmax(-1) @ t)


def test_meta_equals_real_and_modules_partition_the_total():
    model = _CnnAttention()
    model.stem.eval()  # a mixed train/eval state that must survive counting
    flags = [m.training for m in model.modules()]
    x = torch.randn(2, 3, 4, 6, 6)
    on_meta = count_macs(model, (x,), module_depth=None)
    real = count_macs(model, (x,), device=None, module_depth=None)
    assert on_meta.total_macs == real.total_macs > 0
    assert on_meta.macs_by_path == real.macs_by_path
    assert on_meta.by_operator == real.by_operator and on_meta.by_op == real.by_op
    assert set(on_meta.by_operator) == {"convolution", "matmul", "attention"}
    for depth in (1, 2, None):
        assert sum(on_meta.at_depth(depth).values()) == pytest.approx(on_meta.total_gmacs, rel=1e-12)
    # ops run by the model's own forward (SDPA, einsum, @) are attributed to the model itself
    b, t, e = 2, 36, 8  # batch, tokens, channels; SDPA + einsum + matmul
    assert on_meta.by_module[ROOT] * 1e9 == b * t * t * 2 * e + b * t * t * e + b * t * t * e
    assert on_meta.by_module["stem.0"] * 1e9 == 2 * 8 * 3 * 27 * (4 * 36)
    # the model was neither moved nor switched to eval
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert [m.training for m in model.modules()] == flags


def test_accepts_dict_inputs_and_meta_models():
    class KW(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Linear(4, 6)

        def forward(self, pixel_values, scale=1.0):
            return self.proj(pixel_values) * scale

    model = build_on_meta(KW)
    count = count_macs(model, {"pixel_values": meta(3, 4), "scale": 2.0}, module_depth=1)
    assert count.total_macs == 3 * 4 * 6 and count.by_module == {"proj": 72 / 1e9}


def test_unsupported_ops_are_reported_and_extra_formulas_count_them():
    def fn(_, x, grid):
        y = F.interpolate(x, scale_factor=2, mode="bilinear")
        z = F.interpolate(x, scale_factor=2, mode="nearest")  # pure indexing: not reported
        return F.grid_sample(y + z, grid, align_corners=False)

    inputs = (torch.randn(1, 2, 4, 4), torch.zeros(1, 3, 3, 2))
    count = count_macs(Fn(fn), inputs)
    assert count.total_macs == 0
    assert count.unsupported_ops == {"aten.upsample_bilinear2d", "aten.grid_sampler_2d"}

    def bilinear_grid_sample(args, kwargs, out):  # 4 taps per output value
        return {"interpolation": 4 * out.numel()}

    extra = {torch.ops.aten.grid_sampler_2d: bilinear_grid_sample}
    count = count_macs(Fn(fn), inputs, extra_formulas=extra)
    assert count.total_macs == 4 * 2 * 9
    assert count.unsupported_ops == {"aten.upsample_bilinear2d"}


@torch.library.custom_op("mthub_analysis_test::scale", mutates_args=())
def _custom_scale(x: torch.Tensor) -> torch.Tensor:
    return x * 2


@_custom_scale.register_fake
def _(x):
    return torch.empty_like(x)


def test_custom_ops_are_never_silently_free():
    count = count_macs(Fn(lambda _, x: _custom_scale(x)), (torch.randn(3),))
    assert count.unsupported_ops == {"mthub_analysis_test.scale"}


def test_value_dependent_forward_names_the_module_on_meta():
    class Gate(nn.Module):
        def forward(self, x):
            return x * 2 if x.sum().item() > 0 else x

    model = Fn(lambda m, x: m["proj"](m["gate"](x)), gate=Gate(), proj=nn.Linear(3, 3))
    with pytest.raises(MetaDeviceError, match=r"_local_scalar_dense.*'mods.gate'.*device=None"):
        count_macs(model, (torch.ones(2, 3),))
    assert count_macs(model, (torch.ones(2, 3),), device=None).total_macs == 18


def test_explicit_device_checks_the_model():
    x = torch.randn(2, 4)
    assert count_macs(nn.Linear(4, 3), (x,), device="cpu").total_macs == 24
    with pytest.raises(ValueError, match="weight"):
        count_macs(build_on_meta(nn.Linear, 4, 3), (x,), device="cpu")


def test_genuine_model_errors_are_not_blamed_on_meta():
    with pytest.raises(RuntimeError, match="same reduction dim") as info:
        count_macs(nn.Linear(4, 3), (torch.randn(2, 5),))
    assert not isinstance(info.value, MetaDeviceError)


@pytest.mark.parametrize("channels_last", [False, True])
def test_meta_upsample_shortcut_matches_the_meta_kernel(channels_last):
    from mthub.analysis.flops import _meta_upsample

    x = meta(2, 3, 5, 7)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    op = torch.ops.aten.upsample_bilinear2d.default
    fast = _meta_upsample(op, (x, [10, 14], False), {})
    slow = op(x, [10, 14], False)
    assert (fast.shape, fast.stride(), fast.dtype) == (slow.shape, slow.stride(), slow.dtype)
    assert _meta_upsample(op, (torch.zeros(1, 1, 2, 2), [4, 4], False), {}) is None  # real input: run it

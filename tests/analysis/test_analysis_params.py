"""Parameter counts and meta-device construction (mthub.analysis.params / .meta)."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from mthub.analysis import ROOT, build_on_meta, count_parameters, is_on_meta, meta_copy, to_meta
from mthub.analysis.params import module_key


class _Small(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))  # 3*4*9+4 + 4+4
        self.head = nn.Linear(4, 2)  # 4*2+2
        self.scale = nn.Parameter(torch.ones(3))  # owned by the model itself
        for p in self.backbone.parameters():
            p.requires_grad_(False)


def test_counts_total_trainable_frozen_and_partition():
    count = count_parameters(_Small(), depth=1)
    frozen = (3 * 4 * 9 + 4) + (4 + 4)
    trainable = (4 * 2 + 2) + 3
    assert (count.total, count.trainable, count.frozen) == (frozen + trainable, trainable, frozen)
    assert count.by_module == {"backbone": frozen, "head": 10, ROOT: 3}
    assert sum(count.by_module.values()) == count.total


def test_depth_none_gives_owning_modules():
    count = count_parameters(_Small(), depth=None)
    assert count.by_module == {"backbone.0": 112, "backbone.1": 8, "head": 10, ROOT: 3}
    assert count_parameters(_Small(), depth=2).by_module == count.by_module


def test_tied_parameters_counted_once():
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(10, 4)
            self.out = nn.Linear(4, 10, bias=False)
            self.out.weight = self.embed.weight  # tied input/output embedding

    count = count_parameters(Tied())
    assert count.total == 40
    assert count.by_module == {"embed": 40}


def test_uninitialised_lazy_module_raises_with_name():
    with pytest.raises(ValueError, match="lazy"):
        count_parameters(nn.Sequential(nn.LazyLinear(3)))


def test_module_key():
    assert module_key("backbone.blocks.3.attn", 2) == "backbone.blocks"
    assert module_key("backbone.blocks.3.attn", None) == "backbone.blocks.3.attn"
    assert module_key("", 1) == ROOT
    with pytest.raises(ValueError):
        module_key("a", 0)


def test_build_on_meta_matches_real_counts():
    model = build_on_meta(torchvision.models.resnet50)
    assert is_on_meta(model)
    assert count_parameters(model).total == 25_557_032  # torchvision's documented figure
    meta18 = count_parameters(build_on_meta(torchvision.models.resnet18), depth=None)
    real18 = count_parameters(torchvision.models.resnet18(), depth=None)
    assert meta18 == real18 and real18.total == 11_689_512


def test_build_on_meta_falls_back_when_constructor_reads_values():
    class NeedsValues(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            # a drop-path schedule computed with tensors, as several backbones do
            rates = torch.linspace(0, 0.1, 3).tolist()
            self.layers = nn.ModuleList(nn.Linear(8, 8) for _ in rates)
            self.register_buffer("table", torch.arange(6.0))

    with pytest.raises(RuntimeError, match="meta"):
        with torch.device("meta"):
            NeedsValues()
    model = build_on_meta(NeedsValues)
    assert is_on_meta(model)
    assert count_parameters(model).total == 3 * 72


def test_build_on_meta_reraises_unrelated_errors():
    def broken() -> nn.Module:
        raise RuntimeError("bad config field 'depth'")

    with pytest.raises(RuntimeError, match="bad config field"):
        build_on_meta(broken)


def test_meta_copy_leaves_original_untouched_and_keeps_ties():
    class WithCache(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.b = nn.Linear(4, 4)
            self.b.weight = self.a.weight
            self.cache = torch.ones(5)  # plain tensor attribute, not a buffer

    model = WithCache()
    before = model.a.weight.detach().clone()
    copy = meta_copy(model)
    assert copy.a.weight.is_meta and copy.cache.is_meta and copy.a.bias.is_meta
    assert copy.b.weight is copy.a.weight
    assert isinstance(copy.a.weight, nn.Parameter) and copy.a.weight.requires_grad
    assert not model.a.weight.is_meta and not model.cache.is_meta
    torch.testing.assert_close(model.a.weight.detach(), before)


def test_to_meta_converts_nested_tensors_only():
    out = to_meta({"x": torch.ones(2, 3, dtype=torch.int64), "n": 3, "l": [torch.zeros(1)]})
    assert out["x"].is_meta and out["x"].shape == (2, 3) and out["x"].dtype == torch.int64
    assert out["n"] == 3 and out["l"][0].is_meta

"""Shared multi-scale encoders over timm ``features_only`` (channels, strides, exact parameter counts, meta builds)."""

from __future__ import annotations

import pytest
import torch

from mthub.backbones import BACKBONES, BackboneSpec, TimmMultiScaleEncoder, get_backbone_spec, register_backbone


def _meta(name: str, size=(448, 576)) -> TimmMultiScaleEncoder:
    with torch.device("meta"):
        return TimmMultiScaleEncoder(name, image_size=size)


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_channels_and_four_strides_on_meta(name):
    encoder = _meta(name)
    assert encoder.channels == list(BACKBONES[name].channels)
    assert encoder.reductions == [4, 8, 16, 32]
    assert all(p.device.type == "meta" for p in encoder.parameters())


def test_table_2_encoder_parameters_are_exact():
    # Paper Table 2 (M): Swin-T 27.52, Swin-S 48.84 — timm's feature extractors without the classifier.
    assert round(_meta("swin-t").num_encoder_parameters / 1e6, 2) == 27.52
    assert round(_meta("swin-s").num_encoder_parameters / 1e6, 2) == 48.84
    assert _meta("hrnet18").num_encoder_parameters == 3_860_720  # ATRC's HRNetV2-W18-small-v2


def test_vit_is_adapted_to_four_scales():
    encoder = _meta("vit-b")
    assert encoder.num_encoder_parameters == 86_088_960  # ViT-B/16-384 at its own grid: the position table is kept
    features = encoder(torch.empty(1, 3, 448, 576, device="meta"))
    assert [tuple(f.shape) for f in features] == [
        (1, 96, 112, 144),
        (1, 192, 56, 72),
        (1, 384, 28, 36),
        (1, 768, 14, 18),
    ]


def test_tiny_swin_returns_channels_first_maps_equal_to_timm_s():
    torch.manual_seed(0)
    encoder = TimmMultiScaleEncoder("tiny-swin", image_size=(64, 64)).eval()
    x = torch.randn(2, 3, 64, 96)  # other sizes than the build one work (dynamic window masks)
    with torch.no_grad():
        features = encoder(x)
        reference = encoder.model(x)  # timm's Swin features are channels-last
    assert [tuple(f.shape) for f in features] == [(2, 8, 16, 24), (2, 16, 8, 12), (2, 32, 4, 6), (2, 64, 2, 3)]
    for ours, theirs in zip(features, reference):
        torch.testing.assert_close(ours, theirs.permute(0, 3, 1, 2))


def test_hrnet_forward_on_cpu():
    torch.manual_seed(0)
    encoder = TimmMultiScaleEncoder("hrnet18").eval()
    with torch.no_grad():
        features = encoder(torch.randn(1, 3, 64, 64))
    assert [tuple(f.shape) for f in features] == [(1, 18, 16, 16), (1, 36, 8, 8), (1, 72, 4, 4), (1, 144, 2, 2)]


def test_errors_name_the_problem():
    encoder = TimmMultiScaleEncoder("tiny-swin", image_size=(64, 64))
    with pytest.raises(ValueError, match="tiny-swin: input 50×64 is not a multiple of 32"):
        encoder(torch.randn(1, 3, 50, 64))
    with pytest.raises(KeyError, match="Closest: \\['swin-t'"):
        get_backbone_spec("swin-tt")
    with pytest.raises(ValueError, match="already registered"):
        register_backbone("swin-t", BackboneSpec("swin_small_patch4_window7_224", (96, 192, 384, 768)))
    with pytest.raises(ValueError, match="four output channels"):
        BackboneSpec("resnet18", (64, 128, 256))


def test_pretrained_is_never_requested():
    # A pretrained=True override is dropped: building must not touch the network (HF_HUB_OFFLINE in tests).
    encoder = TimmMultiScaleEncoder("tiny-swin", image_size=(64, 64), timm_kwargs={"pretrained": True})
    assert encoder.channels == [8, 16, 32, 64]

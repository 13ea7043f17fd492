"""Generic multi-scale image encoder over timm ``features_only`` models.

:class:`TimmMultiScaleEncoder` turns any registered backbone into four feature maps at strides 4/8/16/32::

    pixel_values (B, 3, H, W)  →  [ (B, C_0, H/4, W/4), (B, C_1, H/8, W/8), (B, C_2, H/16, W/16), (B, C_3, H/32, W/32) ]

with ``H`` and ``W`` multiples of :attr:`TimmMultiScaleEncoder.size_divisor` (32; models pad their inputs).
Hierarchical backbones (Swin, HRNet) give these scales directly; plain ViTs (a single stride 16) go through
:class:`~mthub.backbones.vit_adapter.ViTFeaturePyramid` (see there for the documented 4-scale adaptation).

Backbones are named by short keys of :data:`BACKBONES` (``"swin-t"``, ``"hrnet18"``, ``"vit-b"`` …); each key
fixes the timm model id and the keyword arguments that make the channel lists and parameter counts of the papers
(e.g. HRNet-W18-small-v2 taps the stage outputs, ``feature_location=''``, not timm's default "incre" heads).
Weights are never downloaded here: ``pretrained`` is always ``False`` (mthub checkpoints carry trained weights;
ImageNet initialisation is a training-script concern). Building under ``with torch.device("meta"):`` works, so
full-size models can be counted without memory.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping, Sequence
from typing import Any

import timm
import torch
from torch import nn

from .vit_adapter import ViTFeaturePyramid

__all__ = ["BACKBONES", "BackboneSpec", "TimmMultiScaleEncoder", "get_backbone_spec", "register_backbone"]


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """A named timm backbone and how to tap four scales from it.

    Args:
        timm_name: timm model id (built with ``features_only=True``, ``pretrained=False``).
        channels: channels ``C_0..C_3`` of the four output maps (after the ViT adaptation, for ViTs).
        timm_kwargs: extra ``timm.create_model`` keyword arguments (``out_indices``, model-size overrides …).
        kind: ``"hierarchical"`` (four strides 4..32 straight from timm) or ``"vit"`` (single stride, adapted).
        image_size_kwarg: how the build resolution is passed to timm: ``"img_size"`` (Swin: attention windows and
            shifts depend on it), ``None`` (resolution-free CNNs, and ViTs whose position embedding stays at the
            pretraining grid and is interpolated at run time, so the parameter count stays the paper's).
        pretrained_tags: timm weight tags the paper's numbers were (probably) obtained with, for documentation.
        description: one line for cards.
    """

    timm_name: str
    channels: tuple[int, int, int, int]
    timm_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    kind: str = "hierarchical"
    image_size_kwarg: str | None = None
    pretrained_tags: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("hierarchical", "vit"):
            raise ValueError(
                f"BackboneSpec({self.timm_name!r}): kind must be 'hierarchical' or 'vit', got {self.kind!r}."
            )
        if len(self.channels) != 4:
            raise ValueError(f"BackboneSpec({self.timm_name!r}): four output channels expected, got {self.channels}.")


_SWIN = {"image_size_kwarg": "img_size"}

#: Registered backbones by short name. Parameter counts (timm 1.0.31, no classifier) match the papers' Table 2.
BACKBONES: dict[str, BackboneSpec] = {
    "hrnet18": BackboneSpec(
        "hrnet_w18_small_v2",
        (18, 36, 72, 144),
        {"feature_location": "", "out_indices": (1, 2, 3, 4)},
        pretrained_tags=("ms_in1k",),
        description="HRNetV2-W18-small-v2 (ATRC's 'HRNet18'), stage outputs at strides 4–32; 3.861 M parameters.",
    ),
    "swin-t": BackboneSpec(
        "swin_tiny_patch4_window7_224",
        (96, 192, 384, 768),
        **_SWIN,
        pretrained_tags=("ms_in1k", "ms_in22k", "ms_in22k_ft_in1k"),
        description="Swin-T (window 7); 27.52 M parameters.",
    ),
    "swin-s": BackboneSpec(
        "swin_small_patch4_window7_224",
        (96, 192, 384, 768),
        **_SWIN,
        pretrained_tags=("ms_in1k", "ms_in22k", "ms_in22k_ft_in1k"),
        description="Swin-S (window 7); 48.84 M parameters.",
    ),
    "swin-b": BackboneSpec(
        "swin_base_patch4_window7_224",
        (128, 256, 512, 1024),
        **_SWIN,
        pretrained_tags=("ms_in1k", "ms_in22k", "ms_in22k_ft_in1k"),
        description="Swin-B (window 7); 86.74 M parameters.",
    ),
    "swin-l": BackboneSpec(
        "swin_large_patch4_window7_224",
        (192, 384, 768, 1536),
        **_SWIN,
        pretrained_tags=("ms_in22k", "ms_in22k_ft_in1k"),
        description="Swin-L (window 7); 195.00 M parameters.",
    ),
    "swin-l-w12": BackboneSpec(
        "swin_large_patch4_window12_384",
        (192, 384, 768, 1536),
        **_SWIN,
        pretrained_tags=("ms_in22k", "ms_in22k_ft_in1k"),
        description="Swin-L (window 12, as in MQTransformer's configs); 195.20 M parameters.",
    ),
    "vit-b": BackboneSpec(
        "vit_base_patch16_384",
        (96, 192, 384, 768),
        {"out_indices": (2, 5, 8, 11), "dynamic_img_size": True},
        kind="vit",
        pretrained_tags=("augreg_in21k_ft_in1k",),
        description="ViT-B/16-384 (86.09 M) tapped after blocks 3/6/9/12 and reassembled to strides 4–32 (DPT-style).",
    ),
    # Random-init test backbone: Swin with one block per stage and channels (8, 16, 32, 64): ~79 k parameters,
    # same code path as the paper's Swin presets.
    "tiny-swin": BackboneSpec(
        "swin_tiny_patch4_window7_224",
        (8, 16, 32, 64),
        {"embed_dim": 8, "depths": (1, 1, 1, 1), "num_heads": (1, 1, 1, 2), "window_size": 4},
        **_SWIN,
        description="Tiny random-init Swin for tests (channels 8–64, one block per stage).",
    ),
}


def register_backbone(name: str, spec: BackboneSpec) -> BackboneSpec:
    """Add a backbone under ``name`` (an existing different spec under that name is an error)."""
    if name in BACKBONES and BACKBONES[name] != spec:
        raise ValueError(f"Backbone {name!r} is already registered with another spec.")
    BACKBONES[name] = spec
    return spec


def get_backbone_spec(name: str) -> BackboneSpec:
    try:
        return BACKBONES[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(BACKBONES), n=3, cutoff=0.4)
        hint = f" Closest: {close}." if close else ""
        raise KeyError(f"Unknown backbone {name!r}.{hint} Registered: {sorted(BACKBONES)}.") from None


class TimmMultiScaleEncoder(nn.Module):
    """Four-scale encoder over a timm ``features_only`` model (see the module docstring).

    Args:
        backbone: a key of :data:`BACKBONES`.
        image_size: ``(H, W)`` the model is built for. Swin builds its shifted-window layout for it; other inputs
            still work (attention masks are then made per forward), provided H and W are multiples of 32.
        timm_kwargs: overrides merged over the spec's ``timm_kwargs`` (e.g. ``drop_path_rate``).
        vit_neck_channels: ViT only: channels of the four reassembled maps (default: the spec's ``channels``).

    Attributes:
        channels (`list[int]`): output channels ``C_0..C_3``.
        reductions (`list[int]`): output strides, always ``[4, 8, 16, 32]``.
        size_divisor (`int`): H and W must be multiples of it (32).
        model: the timm feature extractor (its parameter count is the paper's "encoder").
        neck: :class:`ViTFeaturePyramid` for ViTs, else ``None``.

    Shapes: ``forward(pixel_values (B, 3, H, W)) -> list of 4 tensors (B, C_i, H / 2^(i+2), W / 2^(i+2))``.
    """

    size_divisor = 32

    def __init__(
        self,
        backbone: str,
        image_size: Sequence[int] | None = None,
        timm_kwargs: Mapping[str, Any] | None = None,
        vit_neck_channels: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        spec = get_backbone_spec(backbone)
        self.backbone_name = backbone
        self.spec = spec
        kwargs: dict[str, Any] = {**spec.timm_kwargs, **(timm_kwargs or {})}
        if spec.image_size_kwarg is not None and image_size is not None:
            kwargs[spec.image_size_kwarg] = tuple(int(s) for s in image_size)
            # Other resolutions than the build one must still run (425×560 → padded 448×576, PASCAL 512²…).
            kwargs.setdefault("strict_img_size", False)
        kwargs.pop("pretrained", None)  # never download (module docstring)
        self.model = timm.create_model(spec.timm_name, pretrained=False, features_only=True, **kwargs)
        # Swin's features come channels-last; timm records it on the wrapper.
        self._channels_last = str(getattr(self.model, "output_fmt", "NCHW")).endswith("NHWC")
        timm_channels = list(self.model.feature_info.channels())
        timm_reductions = list(self.model.feature_info.reduction())
        if spec.kind == "vit":
            if len(set(timm_reductions)) != 1:
                raise ValueError(
                    f"Backbone {backbone!r}: a 'vit' spec expects a single stride, timm gives {timm_reductions}."
                )
            out_channels = tuple(vit_neck_channels or spec.channels)
            self.neck: ViTFeaturePyramid | None = ViTFeaturePyramid(timm_channels, out_channels, timm_reductions[0])
            self.channels = list(out_channels)
        else:
            if timm_reductions != [4, 8, 16, 32]:
                raise ValueError(
                    f"Backbone {backbone!r} ({spec.timm_name}) gives strides {timm_reductions}; four scales at "
                    "strides [4, 8, 16, 32] are required (check out_indices)."
                )
            if list(spec.channels) != timm_channels:
                raise ValueError(
                    f"Backbone {backbone!r}: spec channels {spec.channels} but timm gives {timm_channels}."
                )
            self.neck = None
            self.channels = timm_channels
        self.reductions = [4, 8, 16, 32]

    @property
    def num_encoder_parameters(self) -> int:
        """Parameters of the timm feature extractor alone (the papers' "encoder" column; no ViT neck)."""
        return sum(p.numel() for p in self.model.parameters())

    def forward(self, pixel_values: torch.Tensor) -> list[torch.Tensor]:
        height, width = pixel_values.shape[-2:]
        if height % self.size_divisor or width % self.size_divisor:
            raise ValueError(
                f"{self.backbone_name}: input {height}×{width} is not a multiple of {self.size_divisor}; pad it first."
            )
        features = self.model(pixel_values)
        if self._channels_last:
            features = [f.permute(0, 3, 1, 2).contiguous() for f in features]
        if self.neck is not None:
            features = self.neck(features)
        return list(features)

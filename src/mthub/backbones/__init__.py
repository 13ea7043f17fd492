"""Shared image backbones (model-agnostic): multi-scale encoders over timm ``features_only`` models."""

from .timm_encoder import BACKBONES, BackboneSpec, TimmMultiScaleEncoder, get_backbone_spec, register_backbone
from .vit_adapter import ViTFeaturePyramid

__all__ = [
    "BACKBONES",
    "BackboneSpec",
    "TimmMultiScaleEncoder",
    "ViTFeaturePyramid",
    "get_backbone_spec",
    "register_backbone",
]

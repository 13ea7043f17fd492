"""Image processor of ``mthub_tif``: declarative (geometry and normalisation only)."""

from __future__ import annotations

from ...processing import MTHubDenseImageProcessor

__all__ = ["TIFImageProcessor"]


class TIFImageProcessor(MTHubDenseImageProcessor):
    """Resize to the NYUD training resolution 448×576 (the model pads other sizes to a multiple of 32 and crops
    its outputs back, so ``do_resize=False`` keeps native resolution, e.g. NYUD's 425×560 as in the paper's
    evaluation), rescale to [0, 1] and normalise with the ImageNet mean/std the timm backbones were trained with.
    PASCAL presets use ``size={"height": 512, "width": 512}``."""

    size = {"height": 448, "width": 576}

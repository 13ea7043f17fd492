"""Model families. Each folder follows transformers' layout (``configuration_*``, ``modeling_*``, ``processing_*``)
and declares its :class:`~mthub.registry.ModelFamily` and presets in its ``__init__``; this module lists them
explicitly (no discovery by import side effects)."""

from __future__ import annotations

from . import ego4d_ts, egot2, tif, tiny_mt

#: Every model package, in registration order.
MODEL_PACKAGES = (tiny_mt, tif, ego4d_ts, egot2)

__all__ = ["MODEL_PACKAGES"]

"""Data: the dataset catalog and its ``datasets`` builders, PyAV video/audio I/O, dense transforms, errors.

Submodules import lazily so that ``import mthub.data.video`` does not pull in ``datasets``.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "list_datasets": ("catalog", "list_datasets"),
    "load": ("catalog", "load"),
    "register_dataset": ("catalog", "register_dataset"),
}


def __getattr__(name: str):
    if name in _LAZY:
        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = list(_LAZY)

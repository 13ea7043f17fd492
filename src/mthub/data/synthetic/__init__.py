"""Procedural multi-task scene videos with exact labels, their on-disk format and their ``datasets`` builder.

* :func:`generate_clip` / :func:`generate_dataset` — seeded scenes (textured cubes, spheres, cylinders,
  capsules and articulated 25-joint figures on a ground plane under a moving camera), ray-cast with numpy:
  RGB, depth, normals, semantic/instance segmentation, boxes, 3D keypoints, a clip action label.
* :mod:`~mthub.data.synthetic.format` — the documented on-disk format (``docs/synthetic_format.md``):
  :func:`write_clip`, :func:`read_clip`, :class:`Clip`, :class:`DatasetMeta`.
* :class:`SyntheticScenes` — the ``datasets`` builder (configs ``frames`` and ``clips``); imported lazily so that
  generating data does not import ``datasets``.
"""

from __future__ import annotations

import importlib
from typing import Any

from mthub.data.synthetic.format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    IGNORE_INDEX,
    Clip,
    DatasetMeta,
    list_splits,
    read_clip,
    read_meta,
    read_split,
    write_clip,
)
from mthub.data.synthetic.generator import (
    GENERATOR_VERSION,
    generate_clip,
    generate_dataset,
)
from mthub.data.synthetic.scene import (
    ACTION_NAMES,
    CLASS_NAMES,
    CLASS_PALETTE,
    SceneConfig,
)

_LAZY = {
    "SyntheticScenes": "mthub.data.synthetic.builder",
    "SyntheticScenesConfig": "mthub.data.synthetic.builder",
    "decode_frame_example": "mthub.data.synthetic.decode",
    "decode_clip_example": "mthub.data.synthetic.decode",
    "batch_transform": "mthub.data.synthetic.decode",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        if _LAZY[name].endswith(".builder"):
            # The builders package registers SyntheticScenes in the catalog and imports this builder while doing so;
            # importing it first keeps that cycle in one direction (builders → synthetic.builder).
            importlib.import_module("mthub.data.builders")
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ACTION_NAMES",
    "CLASS_NAMES",
    "CLASS_PALETTE",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "GENERATOR_VERSION",
    "IGNORE_INDEX",
    "Clip",
    "DatasetMeta",
    "SceneConfig",
    "SyntheticScenes",
    "SyntheticScenesConfig",
    "batch_transform",
    "decode_clip_example",
    "decode_frame_example",
    "generate_clip",
    "generate_dataset",
    "list_splits",
    "read_clip",
    "read_meta",
    "read_split",
    "write_clip",
]

"""``datasets`` builders for the benchmarks mthub trains on, and their registration in the catalog.

This module is the single place where built-in datasets are registered (detectron2's ``builtin.py``):
it imports each builder module and calls :func:`mthub.data.catalog.register_dataset` for it. Builders added by
other benchmarks get one import and one ``register_dataset`` call here.
"""

from __future__ import annotations

from mthub.data.builders.base import (
    REPORT_FILENAME,
    BadSample,
    BadSampleReport,
    MTHubBuilder,
    MTHubBuilderConfig,
    read_report,
)
from mthub.data.builders.dense_schema import decode_dense_example, dense_features
from mthub.data.builders.nyud import NYUDv2, NYUDv2Config
from mthub.data.builders.pascal_context import PASCALContext, PASCALContextConfig
from mthub.data.catalog import register_dataset

__all__ = [
    "REPORT_FILENAME",
    "BadSample",
    "BadSampleReport",
    "MTHubBuilder",
    "MTHubBuilderConfig",
    "read_report",
    "decode_dense_example",
    "dense_features",
    "NYUDv2",
    "NYUDv2Config",
    "PASCALContext",
    "PASCALContextConfig",
]

register_dataset(
    "nyud_v2",
    NYUDv2,
    description="NYUD-v2 multi-task (795/654): semseg (40), depth, normals, edge; NYUD_MT and ATRC NYUDv2 layouts",
    tasks=NYUDv2.TASKS,
)
register_dataset(
    "pascal_context",
    PASCALContext,
    description="PASCAL-Context multi-task (4998/5105): semseg (21), human parts (7), saliency, normals, edge",
    tasks=PASCALContext.TASKS,
)

# Builders that live beside their data code (mthub.data.synthetic) register here too: one place lists every dataset.
from mthub.data.synthetic.builder import SyntheticScenes  # noqa: E402

register_dataset(
    SyntheticScenes.CATALOG_NAME,
    SyntheticScenes,
    description=SyntheticScenes.CATALOG_DESCRIPTION,
    tasks=SyntheticScenes.TASKS,
)

from mthub.data.builders.ego4d_av import Ego4DAVActiveSpeaker  # noqa: E402
from mthub.data.builders.ego4d_fho import Ego4DFHOLTA, Ego4DOSCCPNR  # noqa: E402
from mthub.data.builders.ego4d_social import Ego4DSocial  # noqa: E402

register_dataset(
    "ego4d_fho_oscc_pnr",
    Ego4DOSCCPNR,
    description="Ego4D FHO PNR + OSCC clips (fho_oscc-pnr_*.json)",
    tasks=Ego4DOSCCPNR.TASKS,
)
register_dataset(
    "ego4d_fho_ar",
    Ego4DFHOLTA,
    description="Ego4D FHO action recognition clips (fho_lta_*.json)",
    tasks=("action_verb", "action_noun"),
    config_defaults={"mode": "recognition"},
)
register_dataset(
    "ego4d_fho_lta",
    Ego4DFHOLTA,
    description="Ego4D FHO long-term anticipation windows (2 observed + 20 future actions)",
    tasks=("lta_verb", "lta_noun"),
    config_defaults={"mode": "forecasting"},
)
register_dataset(
    "ego4d_social",
    Ego4DSocial,
    description="Ego4D social LAM/TTM (pass tasks=('lam',) or ('ttm',))",
    tasks=Ego4DSocial.TASKS,
)
register_dataset(
    "ego4d_av",
    Ego4DAVActiveSpeaker,
    description="Ego4D AV active speaker detection face tracks (av_*.json)",
    tasks=Ego4DAVActiveSpeaker.TASKS,
)

"""Conversion of official research checkpoints into mthub models (safetensors via ``save_pretrained``).

* :mod:`mthub.conversion.safe_load` — load ``.pth`` / ``.ckpt`` files without executing pickled code (generic).
* :mod:`mthub.conversion.ego4d_ts` — key-mapping filters and the converter of the Ego4D TS baselines.
"""

from .safe_load import (
    LoadedCheckpoint,
    PickleStub,
    StubUnpickler,
    extract_state_dict,
    find_stubs,
    safe_load_checkpoint,
)

__all__ = ["LoadedCheckpoint", "PickleStub", "StubUnpickler", "extract_state_dict", "find_stubs", "safe_load_checkpoint"]

"""Convert an official Ego4D task-specific checkpoint (EgoT2 ``pretrained_models/``) to an mthub model.

    python conversion/convert_ego4d_ts.py --task pnr --checkpoint pretrained_models/ts_pnr.ckpt --output ego4d-pnr-i3d-r50

The checkpoint is read with :func:`mthub.conversion.safe_load_checkpoint` (no pickled code is executed; pickled
config classes need not be installed). Output: ``config.json`` + ``model.safetensors`` (converted weights inherit
the licence of the official files: CC BY-NC-SA 4.0).
"""

from __future__ import annotations

import sys

from mthub.conversion.ego4d_ts import main

if __name__ == "__main__":
    sys.exit(main())

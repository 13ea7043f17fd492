#!/usr/bin/env bash
# Set up everything on a fresh machine, then run the mthub quickstart (src/mthub/quickstart): generate procedural
# multi-task scene videos, train a small TIF on CPU (semseg, depth, normals), compare it with a trivial baseline on
# held-out clips (exit 1 unless it wins by >= 10% on every task), push it to the local Hub server, reload it in a
# fresh process, run pipeline() on a new video and write PNG panels + metrics.json to outputs/quickstart.
# Extra arguments pass through: `bash scripts/quickstart.sh --toy` (seconds), `--out DIR`, `--threads N`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
# The quickstart itself needs no network: its Hub clients talk to the local server it starts (they set their own
# HF_ENDPOINT), everything else stays offline.
export HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
exec .venv/bin/mthub quickstart --out outputs/quickstart "$@"

#!/usr/bin/env bash
# Set up everything on a fresh machine, then run mthub's main demonstration.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
export HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
exec .venv/bin/mthub demo --out outputs/demo "$@"

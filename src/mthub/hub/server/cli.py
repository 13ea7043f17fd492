"""Command line: ``python -m mthub.hub.server --root DIR [--port N] [--host 127.0.0.1] [--token-file F]``.

Also the body of ``mthub hub serve``. Tokens come from ``--token-file`` (``name:token`` lines) and
``$MTHUB_HUB_TOKENS`` (comma-separated ``name:token`` entries). Clients point ``HF_ENDPOINT`` at the
printed URL and set ``HF_HUB_DISABLE_XET=1`` and ``HF_TOKEN``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
from pathlib import Path
from typing import Sequence

from .app import FAULT_ENV, faults_from_env, make_server, warn
from .auth import TOKENS_ENV, TokenRegistry
from .context import FAULT_POINTS


def build_parser(prog: str = "mthub hub serve") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a Hugging Face Hub-compatible repository store over HTTP (models, datasets, spaces).",
    )
    parser.add_argument("--root", required=True, type=Path, help="storage directory (created if missing)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="TCP port; 0 picks a free one (default: 8765)")
    parser.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help=f"file of 'name:token' lines granting write access (also ${TOKENS_ENV}, comma-separated)",
    )
    parser.add_argument(
        "--fault-after-blobs",
        action="store_true",
        help=f"TESTS ONLY: exit hard after a commit's blobs are stored, before its ref moves (also ${FAULT_ENV})",
    )
    parser.add_argument(
        "--ready-file",
        type=Path,
        default=None,
        help="write {'url', 'port', 'pid'} as JSON to this file once the server accepts connections",
    )
    parser.add_argument("--verbose", action="store_true", help="also log every request to stderr")
    return parser


def _on_sigterm(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        tokens = TokenRegistry.from_sources(args.token_file)
    except (OSError, ValueError) as err:
        warn(f"cannot read tokens: {err}")
        return 2
    faults = set(faults_from_env())
    if args.fault_after_blobs:
        faults.add("after-blobs")
    try:
        server = make_server(
            args.root, host=args.host, port=args.port, tokens=tokens, faults=faults, verbose=args.verbose
        )
    except (OSError, ValueError) as err:
        warn(f"cannot start on {args.host}:{args.port}: {err}")
        return 2
    if len(tokens) == 0:
        warn(f"no tokens configured (--token-file / ${TOKENS_ENV}): the hub is read-only")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        warn(f"listening on {args.host}: traffic is plain HTTP, put a TLS proxy in front for untrusted networks")
    if faults:
        warn(f"fault injection armed: {sorted(faults)} (known: {list(FAULT_POINTS)})")
    print(f"mthub hub: serving {server.context.storage.root} at {server.url}", flush=True)
    if args.ready_file is not None:
        tmp = args.ready_file.with_name(args.ready_file.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"url": server.url, "port": server.server_address[1], "pid": os.getpid()}))
        os.replace(tmp, args.ready_file)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        server.serve_forever(poll_interval=0.2)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0

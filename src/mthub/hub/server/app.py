"""The server object: ``ThreadingHTTPServer`` + storage + tokens + router.

Why the standard library: the server needs no async framework -- each connection gets a thread,
the expensive parts (hashing, file copies via ``sendfile``) release the GIL, and correctness rests
on file-system atomicity (``os.replace``) and ``flock``, not on the HTTP layer. Staying on stdlib
keeps ``mthub`` free of a web-framework dependency and lets tests start a server in well under a
second.
"""

from __future__ import annotations

import os
import sys
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Iterable, Mapping

from .auth import TokenRegistry, UrlSigner
from .context import FAULT_POINTS, HubContext
from .protocol import AccessLog, HubRequestHandler, Request, Response
from .routes import Router
from .storage import HubStorage

ACCESS_LOG_NAME = "access.log"
FAULT_ENV = "MTHUB_HUB_FAULT"


class HubServer(ThreadingHTTPServer):
    """A Hub-compatible HTTP server over one storage root."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], context: HubContext, *, verbose: bool = False):
        self.context = context
        self.router = Router()
        self.verbose = verbose
        super().__init__(address, HubRequestHandler)

    def dispatch(self, request: Request) -> Response:
        return self.router.dispatch(self.context, request)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def server_close(self) -> None:
        super().server_close()
        self.context.access_log.close()


def make_server(
    root: Path | str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tokens: Mapping[str, str] | TokenRegistry | None = None,
    faults: Iterable[str] = (),
    verbose: bool = False,
) -> HubServer:
    """Build (and bind) a server; ``port=0`` picks a free port (see ``server.url``).

    ``tokens`` maps token -> user name (or is a :class:`TokenRegistry`); ``faults`` names injection
    points from :data:`FAULT_POINTS` (tests only).
    """
    faults = frozenset(faults)
    unknown = faults - set(FAULT_POINTS)
    if unknown:
        raise ValueError(f"unknown fault point(s) {sorted(unknown)}; known: {list(FAULT_POINTS)}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    storage = HubStorage(root)
    storage.blobs.clean_tmp()
    registry = tokens if isinstance(tokens, TokenRegistry) else TokenRegistry(tokens)
    context = HubContext(
        storage=storage,
        tokens=registry,
        signer=UrlSigner(storage.root),
        access_log=AccessLog(storage.root / ACCESS_LOG_NAME),
        faults=faults,
    )
    return HubServer((host, port), context, verbose=verbose)


def faults_from_env(env: Mapping[str, str] | None = None) -> list[str]:
    value = (os.environ if env is None else env).get(FAULT_ENV, "")
    return [f.strip() for f in value.split(",") if f.strip()]


def warn(message: str) -> None:
    print(f"mthub hub: {message}", file=sys.stderr, flush=True)

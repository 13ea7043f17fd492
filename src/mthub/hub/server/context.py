"""State shared by all request handlers of one server, and the access checks they use."""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from .auth import TokenRegistry, UrlSigner, require_user
from .errors import RepoNotFound
from .naming import API_TYPES, RepoId, make_repo_id
from .protocol import AccessLog, Request
from .storage import Commit, HubStorage, RepoMeta

#: Names of the fault-injection points (see :meth:`HubContext.fault_hook`).
FAULT_POINTS = ("after-blobs",)
#: Exit status of a server stopped by an injected fault.
FAULT_EXIT_CODE = 75
#: Access-log status of the request during which an injected fault stopped the server.
FAULT_LOG_STATUS = 599


@dataclass
class HubContext:
    storage: HubStorage
    tokens: TokenRegistry
    signer: UrlSigner
    access_log: AccessLog
    faults: frozenset[str] = frozenset()
    #: Per-thread ``(method, path, user, started)`` of the request being served (for fault logging).
    current: threading.local = field(default_factory=threading.local)

    @staticmethod
    def repo_id(api_type: str, namespace: str, name: str) -> RepoId:
        """Repo id from route parts; ``api_type`` is ``models``/``datasets``/``spaces`` or a singular type."""
        repo_type = API_TYPES.get(api_type, api_type)
        if repo_type not in API_TYPES.values():
            raise RepoNotFound(f"unknown repo type {api_type!r}")
        return make_repo_id(repo_type, namespace, name)

    def readable(self, req: Request, repo: RepoId) -> RepoMeta:
        """Metadata of a repo the requester may read; private repos look absent to anonymous users."""
        meta = self.storage.get_repo(repo)
        if meta.private and req.user is None:
            raise RepoNotFound(f"{repo} not found (private repos need a token)")
        return meta

    def writable(self, req: Request, repo: RepoId, action: str) -> RepoMeta:
        require_user(req.user, action)
        return self.storage.get_repo(repo)

    def fault_hook(self, point: str) -> Callable[[Commit], None] | None:
        """A callback for ``point`` that hard-exits the process when that fault is armed.

        ``os._exit`` skips every cleanup (no finally blocks, no flushing), which is what a power
        cut or ``kill -9`` between "blobs stored" and "ref moved" looks like to the storage.
        """
        if point not in self.faults:
            return None

        def crash(commit: Commit) -> None:
            info = getattr(self.current, "info", None)
            if info is not None:
                method, path, user, started = info
                self.access_log.write(
                    method,
                    path,
                    FAULT_LOG_STATUS,
                    user,
                    time.monotonic() - started,
                    f"fault={point} commit={commit.id} (server exits before moving the ref)",
                )
            print(
                f"mthub hub: injected fault '{point}': exiting before the ref move of {commit.id}",
                file=sys.stderr,
                flush=True,
            )
            os._exit(FAULT_EXIT_CODE)

        return crash

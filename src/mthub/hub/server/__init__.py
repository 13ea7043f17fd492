"""A Hugging Face Hub-compatible HTTP server (``mthub hub serve``).

Implements the routes the unmodified ``huggingface_hub`` client uses for model, dataset and space
repos -- repo create/delete/info/tree/paths-info, preupload, LFS batch + PUT, NDJSON commits,
resolve (HEAD/GET, ranges), commits, refs, branches and tags, whoami, validate-yaml -- over a
content-addressed on-disk store with atomic commits. Clients set ``HF_ENDPOINT`` to the server URL,
``HF_HUB_DISABLE_XET=1`` and ``HF_TOKEN``.

Programmatic use::

    from mthub.hub.server import make_server
    server = make_server("/data/hub", port=8765, tokens={"secret-token": "alice"})
    server.serve_forever()

Tests use :func:`mthub.testing.hub.start_hub_server`, which runs it in a subprocess.
"""

from .app import ACCESS_LOG_NAME, FAULT_ENV, HubServer, make_server
from .auth import TOKENS_ENV, TokenRegistry
from .cli import build_parser, main
from .context import FAULT_EXIT_CODE, FAULT_LOG_STATUS, FAULT_POINTS
from .storage import Commit, FileEntry, HubStorage

__all__ = [
    "ACCESS_LOG_NAME",
    "FAULT_ENV",
    "FAULT_EXIT_CODE",
    "FAULT_LOG_STATUS",
    "FAULT_POINTS",
    "TOKENS_ENV",
    "Commit",
    "FileEntry",
    "HubServer",
    "HubStorage",
    "TokenRegistry",
    "build_parser",
    "main",
    "make_server",
]

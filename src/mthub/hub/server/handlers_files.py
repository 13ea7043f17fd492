"""``HEAD``/``GET /{repo}/resolve/{revision}/{path}``: file metadata and content.

Headers the client relies on: ``X-Repo-Commit`` (the resolved commit, names the cache snapshot),
``ETag`` (git blob id for regular files, sha256 for LFS files -- the cache's blob name) and, for LFS
files, ``X-Linked-Etag`` / ``X-Linked-Size`` (the real Hub sends them with its CDN redirect; this
server serves the content directly). ``Range: bytes=a-b`` gets 206 with ``Content-Range``
(``datasets`` and ``HfFileSystem`` read parquet footers that way; resumed downloads too).
"""

from __future__ import annotations

import mimetypes
import re

from .context import HubContext
from .errors import EntryNotFound, RangeNotSatisfiable
from .naming import validate_repo_path
from .protocol import Request, Response

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, length)`` for a single ``bytes=`` range; ``None`` = whole file (absent/multi-range)."""
    if not header:
        return None
    match = _RANGE_RE.match(header.strip().replace(" ", ""))
    if match is None:
        return None  # multi-range or another unit: RFC 9110 lets a server ignore Range
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # suffix range: the last N bytes
        n = int(last)
        if n == 0:
            raise RangeNotSatisfiable(f"unsatisfiable range {header!r}", headers={"Content-Range": f"bytes */{size}"})
        n = min(n, size)
        return size - n, n
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(
            f"range {header!r} is outside the {size}-byte file", headers={"Content-Range": f"bytes */{size}"}
        )
    return start, end - start + 1


def resolve(ctx: HubContext, req: Request, ns: str, name: str, rev: str, path: str, tp: str = "models") -> Response:
    repo = ctx.repo_id(tp, ns, name)
    ctx.readable(req, repo)
    commit = ctx.storage.resolve(repo, rev)
    path = validate_repo_path(path)
    entry = commit.files.get(path)
    if entry is None:
        raise EntryNotFound(f"{path} does not exist on '{rev}' of {repo}", headers={"X-Repo-Commit": commit.id})
    headers = {
        "X-Repo-Commit": commit.id,
        "ETag": f'"{entry.sha256 if entry.lfs else entry.oid}"',
        "Accept-Ranges": "bytes",
        "Content-Type": mimetypes.guess_type(path)[0] or "application/octet-stream",
        "Cache-Control": "private, max-age=0, must-revalidate",
    }
    if entry.lfs:
        headers["X-Linked-Etag"] = f'"{entry.sha256}"'
        headers["X-Linked-Size"] = str(entry.size)
    blob = ctx.storage.blobs.path(entry.sha256)
    span = parse_range(req.headers.get("Range"), entry.size)
    if span is None:
        return Response(200, headers, file=blob, offset=0, length=entry.size)
    start, length = span
    headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{entry.size}"
    return Response(206, headers, file=blob, offset=start, length=length)

"""Raw HTTP access to the hub for what the client refuses to send (traversal paths, torn bodies)."""

from __future__ import annotations

import base64
import http.client
import json
from urllib.parse import urlsplit


def request(
    hub,
    method: str,
    path: str,
    body: bytes | dict | None = None,
    *,
    token: str | None = "hub",
    headers: dict | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request; ``token="hub"`` sends the hub's token, ``None`` none. Returns (status, headers, body)."""
    parts = urlsplit(hub.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {hub.token if token == 'hub' else token}"
    if isinstance(body, dict):
        body = json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def ndjson_commit(
    summary: str,
    files: dict[str, bytes] | None = None,
    deleted: tuple[str, ...] = (),
    parent: str | None = None,
    lfs: tuple[dict, ...] | list[dict] = (),
) -> bytes:
    files = files or {}
    header = {"summary": summary, "description": ""}
    if parent is not None:
        header["parentCommit"] = parent
    lines = [{"key": "header", "value": header}]
    for path, data in files.items():
        lines.append(
            {"key": "file", "value": {"path": path, "content": base64.b64encode(data).decode(), "encoding": "base64"}}
        )
    for item in lfs:
        lines.append({"key": "lfsFile", "value": {"algo": "sha256", **item}})
    for path in deleted:
        lines.append({"key": "deletedFile", "value": {"path": path}})
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)

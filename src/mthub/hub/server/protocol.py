"""HTTP plumbing: request/response objects, body reading, the request handler and the access log.

The handler speaks HTTP/1.1 with keep-alive (the client's connection pool reuses connections).
Request bodies are read completely -- ``Content-Length`` or ``Transfer-Encoding: chunked`` -- before
a write is applied; a short body (client killed or disconnected mid-upload) raises
:class:`IncompleteBody`, nothing is applied, and the access log records status 499.
Errors are answered with the status, ``X-Error-Code`` / ``X-Error-Message`` headers and a JSON
``{"error": ...}`` body (no body for HEAD, as the client expects).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .errors import BadRequest, HubError, IncompleteBody

#: Upper bound on bodies read into memory (JSON requests, NDJSON commits are spooled to disk).
MAX_JSON_BODY = 64 * 1024 * 1024
#: Status logged when the client went away before the request completed (nginx's convention).
CLIENT_CLOSED = 499


def header_safe(text: str) -> str:
    """Header values must be single-line latin-1."""
    return text.replace("\r", " ").replace("\n", " ").encode("latin-1", "backslashreplace").decode("latin-1")


class AccessLog:
    """``<time> <METHOD> <path> <status> user=<name> <ms>ms`` lines, appended by all server processes."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(
        self, method: str, path: str, status: int | str, user: str | None, elapsed_s: float, note: str = ""
    ) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"
        line = f"{stamp} {method} {path} {status} user={user or '-'} {elapsed_s * 1000:.1f}ms"
        if note:
            line += f" {note}"
        with self._lock:  # one write() per line: O_APPEND keeps lines whole across processes
            os.write(self._fd, (line.replace("\n", " ") + "\n").encode("utf-8", "backslashreplace"))

    def close(self) -> None:
        os.close(self._fd)


@dataclass
class Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: Stream this file (``length`` bytes from ``offset``) instead of ``body``.
    file: Path | None = None
    offset: int = 0
    length: int = 0


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data).encode()
    return Response(status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, body)


class BodyReader:
    """Reads a request body exactly once (``Content-Length`` or chunked); short reads -> IncompleteBody."""

    def __init__(self, rfile, headers: Message):
        self._rfile = rfile
        self.chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        try:
            self.length = None if self.chunked else int(headers.get("Content-Length") or 0)
        except ValueError:
            raise BadRequest(f"invalid Content-Length {headers.get('Content-Length')!r}") from None
        self._remaining = self.length or 0
        self._chunk_left = 0
        self._done = not self.chunked and self._remaining == 0
        self.started = False

    @property
    def finished(self) -> bool:
        return self._done

    def _read_exact(self, n: int) -> bytes:
        try:
            data = self._rfile.read(n)
        except (TimeoutError, ConnectionError, OSError) as err:
            raise IncompleteBody(f"connection lost while reading the body: {err}") from None
        if len(data) < n:
            raise IncompleteBody(f"body ended after a short read ({len(data)} of {n} bytes)")
        return data

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; ``b""`` at the end of the body."""
        self.started = True
        if self._done or n <= 0:
            return b""
        if not self.chunked:
            data = self._read_exact(min(n, self._remaining))
            self._remaining -= len(data)
            self._done = self._remaining == 0
            return data
        if self._chunk_left == 0:
            line = self._rfile.readline(65537)
            if not line.endswith(b"\n"):
                raise IncompleteBody("connection lost inside a chunk header")
            try:
                self._chunk_left = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise BadRequest(f"malformed chunk size line {line[:40]!r}") from None
            if self._chunk_left == 0:
                while self._rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                self._done = True
                return b""
        data = self._read_exact(min(n, self._chunk_left))
        self._chunk_left -= len(data)
        if self._chunk_left == 0:
            self._read_exact(2)  # CRLF after the chunk
        return data

    def read_all(self, limit: int = MAX_JSON_BODY) -> bytes:
        parts, total = [], 0
        while True:
            data = self.read(1 << 20)
            if not data:
                return b"".join(parts)
            total += len(data)
            if total > limit:
                raise HubError(f"request body larger than {limit} bytes", status=413)
            parts.append(data)


@dataclass
class Request:
    method: str
    path: str  # raw (percent-encoded) path, no query
    segments: list[str]  # unquoted path segments
    query: dict[str, list[str]]
    headers: Message
    user: str | None
    base_url: str
    body: BodyReader

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def flag(self, name: str) -> bool:
        return (self.param(name) or "").lower() in ("1", "true", "yes")

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (``{}`` when empty); 400 for anything else."""
        raw = self.body.read_all()
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except ValueError as err:
            raise BadRequest(f"request body is not valid JSON: {err}") from None
        if not isinstance(data, dict):
            raise BadRequest(f"request body must be a JSON object, got {type(data).__name__}")
        return data

    def form(self) -> dict[str, list[str]]:
        """``application/x-www-form-urlencoded`` body (repeated keys kept), or a JSON object."""
        if "json" in (self.headers.get("Content-Type") or ""):
            return {k: v if isinstance(v, list) else [v] for k, v in self.json().items()}
        raw = self.body.read_all()
        try:
            return parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise BadRequest("form body is not UTF-8") from None


class HubRequestHandler(BaseHTTPRequestHandler):
    """One instance per connection; ``self.server`` is the ``HubServer`` (see app.py)."""

    protocol_version = "HTTP/1.1"
    server_version = "mthub-hub/1"
    timeout = 300  # seconds of socket inactivity before a stalled client is dropped

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def _handle(self) -> None:
        started = time.monotonic()
        raw_path = self.path
        status: int = 500
        user = None
        note = ""
        body = self._body = None
        self._responded = False
        try:
            split = urlsplit(raw_path)
            raw_path = split.path
            body = self._body = BodyReader(self.rfile, self.headers)
            user = self.server.context.tokens.authenticate(self.headers.get("Authorization"))
            request = Request(
                method=self.command,
                path=split.path,
                segments=[unquote(s) for s in split.path.split("/")[1:]],
                query=parse_qs(split.query, keep_blank_values=True),
                headers=self.headers,
                user=user,
                base_url=self._base_url(),
                body=body,
            )
            self.server.context.current.info = (self.command, raw_path, user, started)
            response = self.server.dispatch(request)
            status = self._send(response)
        except IncompleteBody as err:
            status, note = CLIENT_CLOSED, f"incomplete-body: {err}"
            self.close_connection = True
        except HubError as err:
            status = self._send_error(err)
            note = f"error={err.message[:200]!r}"
        except (BrokenPipeError, ConnectionResetError):
            status, note = CLIENT_CLOSED, "client-closed-connection"
            self.close_connection = True
        except Exception as err:  # a bug: answer 500, keep serving, leave a trace on stderr
            traceback.print_exc(file=sys.stderr)
            if self._responded:  # failed mid-body: the status line is out, only closing is left
                status, note = 500, f"failed-while-sending: {type(err).__name__}: {err}"
                self.close_connection = True
            else:
                status = self._send_error(HubError(f"internal server error: {type(err).__name__}: {err}", status=500))
        finally:
            if body is not None and not body.finished and status != CLIENT_CLOSED:
                # Unread body bytes would be parsed as the next request: drop the connection.
                self.close_connection = True
            self.server.context.current.info = None
            self.server.context.access_log.write(self.command, raw_path, status, user, time.monotonic() - started, note)

    def _base_url(self) -> str:
        host = self.headers.get("Host")
        if not host:
            address, port = self.server.server_address[:2]
            host = f"{address}:{port}"
        return f"http://{host}"

    def _send(self, response: Response) -> int:
        if self._body is not None and not self._body.finished:
            self.close_connection = True
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, header_safe(str(value)))
        length = response.length if response.file is not None else len(response.body)
        self.send_header("Content-Length", str(length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self._responded = True
        if self.command != "HEAD":
            if response.file is not None:
                if response.length > 0:  # socket.sendfile(count=0) would mean "to the end"
                    with open(response.file, "rb") as f:
                        self.wfile.flush()
                        self.connection.sendfile(f, response.offset, response.length)
            elif response.body:
                self.wfile.write(response.body)
        return response.status

    def _drain_body(self) -> None:
        """Consume an unread body before an error answer: closing a socket with unread input makes
        the kernel reset the connection, and the client would see that instead of our error."""
        body = self._body
        if body is None or body.finished:
            return
        try:
            drained = 0
            while drained <= MAX_JSON_BODY:
                chunk = body.read(1 << 20)
                if not chunk:
                    return
                drained += len(chunk)
        except (IncompleteBody, HubError):
            pass

    def _send_error(self, err: HubError) -> int:
        self._drain_body()
        headers = dict(err.headers)
        headers["X-Error-Message"] = err.message
        if err.error_code:
            headers["X-Error-Code"] = err.error_code
        if self.command == "HEAD":
            response = Response(err.status, headers)
        else:
            response = json_response({"error": err.detail or err.message}, err.status, headers)
        try:
            return self._send(response)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return err.status

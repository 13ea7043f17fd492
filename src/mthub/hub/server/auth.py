"""Access tokens and signed LFS upload URLs.

Tokens map to user names. Sources (merged): a token file with one ``name:token`` per line (``#``
comments and blank lines ignored; a bare ``token`` line belongs to user ``user``) and the
environment variable ``MTHUB_HUB_TOKENS`` holding the same entries separated by commas.

Policy (a single-team server): reads of public repos need no token; writes, and reads of private
repos, need a known token (any known user may write to any namespace). A *wrong* token is always
rejected with 401, even on public reads, like the real Hub -- silently ignoring it would hide a
misconfigured client.

The client PUTs LFS content to the ``href`` the batch endpoint returns *without* its
Authorization header, so those URLs carry an HMAC signature over repo, oid, size and expiry.
The signing key lives in ``<root>/.secret`` so URLs stay valid across server restarts.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Mapping

from .errors import Unauthorized

TOKENS_ENV = "MTHUB_HUB_TOKENS"
DEFAULT_USER = "user"
#: Exactly the message the client special-cases so a bad token is reported as 401, not as a missing repo.
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


def parse_token_entries(entries: list[str], source: str) -> dict[str, str]:
    """``["alice:tok1", "tok2"]`` -> ``{"tok1": "alice", "tok2": "user"}``."""
    tokens: dict[str, str] = {}
    for lineno, raw in enumerate(entries, start=1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        name, sep, token = entry.partition(":")
        if not sep:
            name, token = DEFAULT_USER, entry
        name, token = name.strip(), token.strip()
        if not name or not token or any(c.isspace() for c in token):
            raise ValueError(f"{source}: entry {lineno} is not 'name:token' (got {entry!r})")
        tokens[token] = name
    return tokens


class TokenRegistry:
    """Known tokens (token -> user name)."""

    def __init__(self, tokens: Mapping[str, str] | None = None):
        self.tokens = dict(tokens or {})

    @classmethod
    def from_sources(cls, token_file: Path | str | None = None, env: Mapping[str, str] | None = None) -> TokenRegistry:
        env = os.environ if env is None else env
        tokens: dict[str, str] = {}
        if token_file is not None:
            path = Path(token_file)
            tokens.update(parse_token_entries(path.read_text().splitlines(), f"token file {path}"))
        if env.get(TOKENS_ENV):
            tokens.update(parse_token_entries(env[TOKENS_ENV].split(","), f"${TOKENS_ENV}"))
        return cls(tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    def authenticate(self, authorization: str | None) -> str | None:
        """User name for an ``Authorization`` header; ``None`` when absent; 401 when wrong."""
        if authorization is None or authorization.strip() == "":
            return None
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(INVALID_CREDENTIALS, detail="expected 'Authorization: Bearer <token>'")
        token = token.strip()
        for known, user in self.tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return user
        raise Unauthorized(
            INVALID_CREDENTIALS,
            detail=f"{INVALID_CREDENTIALS}: this token is not known to the hub (check HF_TOKEN on the client and"
            f" the server's --token-file / ${TOKENS_ENV})",
        )


def require_user(user: str | None, action: str) -> str:
    if user is None:
        raise Unauthorized(
            f"Authorization required: {action} needs a token of this hub (send 'Authorization: Bearer <token>';"
            " with huggingface_hub set HF_TOKEN or pass token=...)"
        )
    return user


class UrlSigner:
    """HMAC-SHA256 signatures for pre-authorised LFS upload URLs."""

    def __init__(self, root: Path, ttl_s: float = 3600.0):
        self.ttl_s = ttl_s
        self.key = self._load_key(Path(root) / ".secret")

    @staticmethod
    def _load_key(path: Path) -> bytes:
        try:
            return bytes.fromhex(path.read_text().strip())
        except FileNotFoundError:
            pass
        key = secrets.token_bytes(32)
        tmp = path.with_name(f".secret-{os.getpid()}-{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key.hex())
        try:
            os.link(tmp, path)  # first writer wins when several servers start on one root
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
        return bytes.fromhex(path.read_text().strip())

    def _mac(self, scope: str, oid: str, size: int, expires: int) -> str:
        message = f"{scope}\n{oid}\n{size}\n{expires}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def sign(self, scope: str, oid: str, size: int) -> tuple[int, str]:
        expires = int(time.time() + self.ttl_s)
        return expires, self._mac(scope, oid, size, expires)

    def check(self, scope: str, oid: str, size: int, expires: int, signature: str) -> None:
        if expires < time.time():
            raise Unauthorized("this LFS upload URL has expired: request a new one from the LFS batch endpoint")
        if not hmac.compare_digest(self._mac(scope, oid, size, expires), signature):
            raise Unauthorized("invalid signature on LFS upload URL")

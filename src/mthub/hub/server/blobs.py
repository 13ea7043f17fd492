"""Content-addressed blob store: ``<root>/blobs/sha256/<ab>/<sha256>``.

Invariant: a file under ``blobs/`` exists only if its content hashes to its name. Every write
streams into a temporary file under ``<root>/tmp`` (same file system) while hashing, checks the
size and the expected sha256, fsyncs, and only then ``os.replace``-s it into place. A client that
disconnects mid-upload or a server killed mid-write therefore never leaves a partial blob
visible -- at worst an orphan temp file, which :meth:`BlobStore.clean_tmp` removes later.
Blobs are immutable (mode 0444) and shared by all repos; which repo may *reference* an LFS blob
is tracked separately by the storage (see ``HubStorage.link_lfs``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Callable

from .errors import BadRequest, IncompleteBody
from .naming import is_sha256

CHUNK = 1 << 20


class BlobStore:
    """Blobs keyed by sha256 under ``root/blobs``; temp files under ``root/tmp``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.dir = self.root / "blobs" / "sha256"
        self.tmp = self.root / "tmp"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise BadRequest(f"invalid sha256 {sha256!r}: expected 64 lowercase hex digits")
        return self.dir / sha256[:2] / sha256

    def size(self, sha256: str) -> int | None:
        """Size of a stored blob, or ``None`` if absent."""
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def has(self, sha256: str, size: int | None = None) -> bool:
        stored = self.size(sha256)
        return stored is not None and (size is None or stored == size)

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` and return its sha256 (a no-op when the blob already exists)."""
        sha256 = hashlib.sha256(data).hexdigest()
        if not self.has(sha256, len(data)):
            self._install(sha256, lambda f: f.write(data))
        return sha256

    def put_stream(self, read: Callable[[int], bytes], size: int, expected_sha256: str | None = None) -> str:
        """Stream exactly ``size`` bytes from ``read`` into the store, verifying the hash.

        Raises :class:`IncompleteBody` when ``read`` runs dry before ``size`` bytes (client gone) and
        :class:`BadRequest` when the content does not hash to ``expected_sha256``. In both cases
        nothing is installed. The stream is always consumed (and hashed) even when the blob already
        exists: the content is the proof that the uploader holds the data.
        """
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix="blob-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                remaining = size
                while remaining > 0:
                    chunk = read(min(CHUNK, remaining))
                    if not chunk:
                        raise IncompleteBody(f"upload ended after {size - remaining} of {size} bytes")
                    digest.update(chunk)
                    f.write(chunk)
                    remaining -= len(chunk)
                f.flush()
                os.fsync(f.fileno())
            sha256 = digest.hexdigest()
            if expected_sha256 is not None and sha256 != expected_sha256:
                raise BadRequest(
                    f"uploaded content does not match its LFS oid: expected sha256 {expected_sha256}, got {sha256}"
                )
            target = self.path(sha256)
            if target.exists():
                os.unlink(tmp_name)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(tmp_name, 0o444)
                os.replace(tmp_name, target)
            return sha256
        except BaseException:
            _unlink_quietly(tmp_name)
            raise

    def _install(self, sha256: str, write: Callable[[BinaryIO], object]) -> None:
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix="blob-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp_name, 0o444)
            os.replace(tmp_name, target)
        except BaseException:
            _unlink_quietly(tmp_name)
            raise

    def verify(self, sha256: str, size: int) -> None:
        """Re-hash a stored blob (used by ``fsck``-style checks in tests and tools)."""
        digest = hashlib.sha256()
        with open(self.path(sha256), "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                digest.update(chunk)
        if digest.hexdigest() != sha256 or self.size(sha256) != size:
            raise ValueError(f"blob {sha256} is corrupt (content hash or size mismatch)")

    def clean_tmp(self, older_than_s: float = 3600.0) -> int:
        """Remove temp files/dirs older than ``older_than_s`` (leftovers of killed uploads/servers).

        Only old files are removed so that another server process sharing the root keeps its
        in-flight uploads.
        """
        removed = 0
        now = time.time()
        for entry in self.tmp.iterdir():
            try:
                if now - entry.stat().st_mtime <= older_than_s:
                    continue
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink()
                removed += 1
            except FileNotFoundError:
                continue
        return removed


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass

"""Names, paths and object ids of the Hub storage model.

* :class:`RepoId` -- ``(type, namespace, name)``; the Hub's ``"namespace/name"`` plus a repo type.
* ``validate_*`` -- every name that reaches the file system or a commit tree goes through one of
  these: repo names, branch/tag names and in-repo file paths (``..``, absolute paths, NUL,
  backslashes and control characters are rejected with 400 naming the offending value).
* git object ids -- the client compares the ``oid`` it gets from ``preupload`` with
  ``sha1(b"blob <size>\\0" + content)`` for regular files (git's blob id) and with the sha256 for
  LFS files; the ``blobId`` of an LFS file is the git blob id of its LFS pointer file.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .errors import BadRequest

REPO_TYPES = ("model", "dataset", "space")
#: URL prefix of non-model repos in resolve / LFS URLs (``/datasets/org/name/resolve/...``).
URL_PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}
#: ``/api/{models|datasets|spaces}/...`` -> repo type.
API_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_HEX40_RE = re.compile(r"^[0-9a-f]{40}$")
_HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
_BAD_REF_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")

DEFAULT_BRANCH = "main"


@dataclass(frozen=True)
class RepoId:
    """A repository: ``type`` in :data:`REPO_TYPES`, ``namespace/name`` validated."""

    type: str
    namespace: str
    name: str

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def url_path(self) -> str:
        """Path of the repo's web URL, e.g. ``datasets/org/name`` (``org/name`` for models)."""
        return f"{URL_PREFIXES[self.type]}{self.id}"

    def __str__(self) -> str:
        return f"{self.type} repo '{self.id}'"


def validate_repo_name(value: object, what: str) -> str:
    """Check one half of ``namespace/name`` (the Hub's rules, which also make it a safe dir name)."""
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise BadRequest(
            f"invalid {what} {value!r}: use 1-96 characters from [A-Za-z0-9._-], starting with a letter or digit"
        )
    if ".." in value or value.endswith((".", ".git")):
        raise BadRequest(f"invalid {what} {value!r}: '..' and a trailing '.' or '.git' are not allowed")
    return value


def make_repo_id(repo_type: str, namespace: object, name: object) -> RepoId:
    if repo_type not in REPO_TYPES:
        raise BadRequest(f"invalid repo type {repo_type!r}: expected one of {', '.join(REPO_TYPES)}")
    return RepoId(repo_type, validate_repo_name(namespace, "namespace"), validate_repo_name(name, "repo name"))


def validate_repo_path(path: object, *, what: str = "path") -> str:
    """Validate a file path inside a repo and return it unchanged.

    Rejected (400, the message names the path): non-strings, empty paths, absolute paths, Windows drive
    prefixes, NUL and other control characters, backslashes, empty / ``.`` / ``..`` segments and a
    ``.git`` segment (git's own directory can never be part of a tree).
    """
    if not isinstance(path, str):
        raise BadRequest(f"invalid {what} {path!r}: expected a string")
    reason = _path_problem(path)
    if reason is not None:
        raise BadRequest(f"invalid {what} {path!r}: {reason}")
    return path


def _path_problem(path: str) -> str | None:
    if path == "":
        return "empty path"
    if len(path.encode("utf-8", "surrogatepass")) > 4096:
        return "longer than 4096 bytes"
    if "\x00" in path:
        return "contains a NUL byte"
    if "\\" in path:
        return "contains a backslash"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path):
        return "contains a control character"
    if path.startswith("/"):
        return "absolute paths are not allowed"
    if re.match(r"^[A-Za-z]:", path):
        return "drive-letter paths are not allowed"
    for segment in path.split("/"):
        if segment == "":
            return "empty path segment ('//' or a trailing '/')"
        if segment in (".", ".."):
            return f"'{segment}' segments are not allowed"
        if segment == ".git":
            return "'.git' segments are not allowed"
    return None


def validate_folder_path(path: object, *, what: str = "folder") -> str:
    """A folder path: like a file path, but a trailing ``/`` is dropped first (``deletedFolder``)."""
    if isinstance(path, str) and path.endswith("/") and path != "/":
        path = path[:-1]
    return validate_repo_path(path, what=what)


def validate_ref_name(name: object, what: str = "branch") -> str:
    """A branch or tag name (git ``check-ref-format`` rules); ``refs/heads/x`` is accepted as ``x``."""
    if not isinstance(name, str):
        raise BadRequest(f"invalid {what} name {name!r}: expected a string")
    short = name
    for prefix in ("refs/heads/", "refs/tags/"):
        if short.startswith(prefix):
            short = short[len(prefix) :]
    problem = None
    if short == "" or len(short) > 255:
        problem = "must be 1-255 characters"
    elif short.startswith("refs/"):
        problem = "only plain branch and tag names are supported (no refs/pr/ or refs/convert/)"
    elif _BAD_REF_CHARS.search(short):
        problem = "contains a space, control character or one of ~^:?*[\\"
    elif ".." in short or "//" in short or "@{" in short:
        problem = "contains '..', '//' or '@{'"
    elif short.startswith(("/", "-", ".")) or short.endswith(("/", ".", ".lock")):
        problem = "must not start with '/', '-' or '.' nor end with '/', '.' or '.lock'"
    elif _HEX40_RE.match(short):
        problem = "a 40-hex-digit name would be ambiguous with a commit id"
    if problem is not None:
        raise BadRequest(f"invalid {what} name {name!r}: {problem}")
    return short


def is_commit_id(value: str) -> bool:
    return bool(_HEX40_RE.match(value))


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and bool(_HEX64_RE.match(value))


def git_blob_id(data: bytes) -> str:
    """git's blob object id: ``sha1(b"blob <len>\\0" + data)``."""
    digest = hashlib.sha1(b"blob %d\x00" % len(data))
    digest.update(data)
    return digest.hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The Git LFS pointer file that git stores in place of an LFS file's content."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def lfs_blob_id(sha256: str, size: int) -> str:
    return git_blob_id(lfs_pointer(sha256, size))

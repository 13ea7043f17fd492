"""On-disk repositories: commits with parent ids, one ref file per branch/tag, atomic ref moves.

Layout under the server root::

    blobs/sha256/<ab>/<sha256>                 file contents (see blobs.py)
    repos/<type>s/<namespace>/<name>/
        repo.json                              visibility, creation time, creator
        commits/<commit id>.json               parents + the *full* file tree (path -> sha256, size, lfs, oid)
        refs/heads/<quoted branch>             a 40-hex commit id
        refs/tags/<quoted tag>
        lfs/<sha256>                           marker: this repo may reference that LFS blob
        lock                                   fcntl lock serialising ref moves
    tmp/                                       temp files and staging dirs (same file system)

Every write goes to a temp file first and is ``os.replace``-d into place, so readers (other threads
and other server processes on the same root) always see either the old or the new object. A commit
is made visible only by moving its branch ref, under an exclusive ``flock`` on the repo's lock file,
after its blobs and commit object are stored: a crash at any point leaves the previous revision.
Commit objects are immutable and every one stays readable by id, so every past revision is
downloadable.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence
from urllib.parse import quote, unquote

from .blobs import BlobStore
from .errors import BadRequest, Conflict, EntryNotFound, Forbidden, PreconditionFailed, RepoNotFound, RevisionNotFound
from .naming import DEFAULT_BRANCH, REPO_TYPES, RepoId, git_blob_id, is_commit_id, lfs_blob_id, validate_ref_name

_COMMIT_CACHE_SIZE = 512


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class FileEntry:
    """One file of a commit tree. ``oid`` is the git blob id (of the LFS pointer for LFS files)."""

    path: str
    sha256: str
    size: int
    lfs: bool
    oid: str

    @classmethod
    def regular(cls, path: str, sha256: str, data: bytes) -> FileEntry:
        return cls(path, sha256, len(data), False, git_blob_id(data))

    @classmethod
    def lfs_file(cls, path: str, sha256: str, size: int) -> FileEntry:
        return cls(path, sha256, size, True, lfs_blob_id(sha256, size))

    def to_json(self) -> dict:
        return {"sha256": self.sha256, "size": self.size, "lfs": self.lfs, "oid": self.oid}

    @classmethod
    def from_json(cls, path: str, data: Mapping) -> FileEntry:
        return cls(path, data["sha256"], int(data["size"]), bool(data["lfs"]), data["oid"])


@dataclass(frozen=True)
class Commit:
    id: str
    parents: tuple[str, ...]
    files: Mapping[str, FileEntry]
    title: str
    message: str
    author: str
    date: str

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "parents": list(self.parents),
            "title": self.title,
            "message": self.message,
            "author": self.author,
            "date": self.date,
            "files": {path: entry.to_json() for path, entry in sorted(self.files.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping) -> Commit:
        files = {path: FileEntry.from_json(path, entry) for path, entry in data["files"].items()}
        return cls(
            data["id"], tuple(data["parents"]), files, data["title"], data["message"], data["author"], data["date"]
        )


@dataclass
class RepoMeta:
    repo: RepoId
    private: bool
    created_at: str
    created_by: str
    uid: str = field(default_factory=lambda: uuid.uuid4().hex[:24])

    def to_json(self) -> dict:
        return {
            "type": self.repo.type,
            "id": self.repo.id,
            "private": self.private,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "uid": self.uid,
        }


# Commit operations, in the order the client sent them.
@dataclass(frozen=True)
class AddFile:
    entry: FileEntry


@dataclass(frozen=True)
class DeleteFile:
    path: str


@dataclass(frozen=True)
class DeleteFolder:
    path: str


Operation = AddFile | DeleteFile | DeleteFolder


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class HubStorage:
    """All repository state of one server root (safe to share between threads and processes)."""

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()
        self.blobs = BlobStore(self.root)
        self.tmp = self.blobs.tmp
        (self.root / "repos").mkdir(parents=True, exist_ok=True)
        self._cache: OrderedDict[tuple[str, str], Commit] = OrderedDict()
        self._cache_lock = threading.Lock()

    # ------------------------------------------------------------------ helpers
    def repo_dir(self, repo: RepoId) -> Path:
        return self.root / "repos" / f"{repo.type}s" / repo.namespace / repo.name

    def _write_atomic(self, target: Path, data: bytes, *, sync_dir: bool = False) -> None:
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix="obj-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        if sync_dir:
            _fsync_dir(target.parent)

    @contextlib.contextmanager
    def locked(self, repo: RepoId) -> Iterator[Path]:
        """Exclusive per-repo lock (``flock``: excludes other threads *and* other processes)."""
        repo_dir = self.repo_dir(repo)
        try:
            f = open(repo_dir / "lock", "a+b")
        except FileNotFoundError:
            raise RepoNotFound(f"{repo} not found") from None
        with f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                if not (repo_dir / "repo.json").exists():  # deleted while we waited
                    raise RepoNotFound(f"{repo} not found")
                yield repo_dir
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    # ------------------------------------------------------------------ repos
    def create_repo(self, repo: RepoId, *, private: bool, user: str, initial_files: Mapping[str, bytes]) -> RepoMeta:
        """Create ``repo`` with an initial commit on ``main``; :class:`Conflict` if it exists.

        The repo is assembled in a staging dir and renamed into place: ``rename`` of a directory onto
        an existing non-empty one fails, which makes creation atomic under concurrency.
        """
        final = self.repo_dir(repo)
        if (final / "repo.json").exists():
            raise Conflict(f"You already created this {repo.type} repo: {repo.id}")
        meta = RepoMeta(repo, private, utc_now(), user)
        staging = Path(tempfile.mkdtemp(dir=self.tmp, prefix="repo-"))
        try:
            for sub in ("commits", "refs/heads", "refs/tags", "lfs"):
                (staging / sub).mkdir(parents=True)
            (staging / "lock").touch()
            files = {}
            for path, data in initial_files.items():
                files[path] = FileEntry.regular(path, self.blobs.put_bytes(data), data)
            commit = self._new_commit((), files, "initial commit", "", "system")
            (staging / "commits" / f"{commit.id}.json").write_text(json.dumps(commit.to_json()))
            (staging / "refs" / "heads" / quote(DEFAULT_BRANCH, safe="")).write_text(commit.id)
            (staging / "repo.json").write_text(json.dumps(meta.to_json()))
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(staging, final)
            except OSError:
                raise Conflict(f"You already created this {repo.type} repo: {repo.id}") from None
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return meta

    def get_repo(self, repo: RepoId) -> RepoMeta:
        try:
            data = json.loads((self.repo_dir(repo) / "repo.json").read_text())
        except FileNotFoundError:
            raise RepoNotFound(f"{repo} not found") from None
        return RepoMeta(repo, bool(data["private"]), data["created_at"], data["created_by"], data["uid"])

    def update_repo(self, repo: RepoId, *, private: bool | None = None) -> RepoMeta:
        with self.locked(repo) as repo_dir:
            meta = self.get_repo(repo)
            if private is not None:
                meta.private = private
            self._write_atomic(repo_dir / "repo.json", json.dumps(meta.to_json()).encode())
        return meta

    def delete_repo(self, repo: RepoId) -> None:
        """Move the repo dir out of ``repos/`` atomically, then remove it (its blobs stay in the store)."""
        trash = self.tmp / f"deleted-{uuid.uuid4().hex}"
        # Under the lock, so no commit is half-way through writing into the directory we move away;
        # commits waiting for the lock then find no repo.json and answer RepoNotFound.
        with self.locked(repo) as repo_dir:
            os.rename(repo_dir, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def list_repos(self, repo_type: str) -> list[RepoMeta]:
        if repo_type not in REPO_TYPES:
            return []
        base = self.root / "repos" / f"{repo_type}s"
        metas = []
        for meta_file in sorted(base.glob("*/*/repo.json")):
            with contextlib.suppress(FileNotFoundError, RepoNotFound):
                metas.append(self.get_repo(RepoId(repo_type, meta_file.parent.parent.name, meta_file.parent.name)))
        return metas

    # ------------------------------------------------------------------ refs
    def refs(self, repo: RepoId, kind: str = "heads") -> dict[str, str]:
        """``{name: commit id}`` of all branches (``kind="heads"``) or tags (``"tags"``)."""
        ref_dir = self.repo_dir(repo) / "refs" / kind
        out = {}
        for entry in sorted(ref_dir.iterdir()) if ref_dir.exists() else []:
            with contextlib.suppress(FileNotFoundError):
                out[unquote(entry.name)] = entry.read_text().strip()
        return out

    def read_ref(self, repo: RepoId, kind: str, name: str) -> str | None:
        try:
            return (self.repo_dir(repo) / "refs" / kind / quote(name, safe="")).read_text().strip()
        except OSError:  # missing, or a name no file can have (too long, a directory, ...)
            return None

    def branch_head(self, repo: RepoId, branch: str) -> str:
        self.get_repo(repo)
        short = branch[len("refs/heads/") :] if branch.startswith("refs/heads/") else branch
        head = self.read_ref(repo, "heads", short)
        if head is None:
            raise RevisionNotFound(f"Invalid rev id: branch '{branch}' not found in {repo}")
        return head

    def resolve(self, repo: RepoId, revision: str) -> Commit:
        """Branch, tag, full commit id or unique commit-id prefix (>= 7 hex digits) -> commit."""
        self.get_repo(repo)
        for kind, prefix in (("heads", "refs/heads/"), ("tags", "refs/tags/")):
            name = revision[len(prefix) :] if revision.startswith(prefix) else revision
            if "\x00" in name or name in ("", ".", ".."):
                continue
            target = self.read_ref(repo, kind, name)
            if target is not None:
                return self.read_commit(repo, target)
        lowered = revision.lower()
        if is_commit_id(lowered):
            try:
                return self.read_commit(repo, lowered)
            except RevisionNotFound:
                pass
        elif 7 <= len(lowered) < 40 and all(c in "0123456789abcdef" for c in lowered):
            matches = [p.stem for p in (self.repo_dir(repo) / "commits").glob(f"{lowered}*.json")]
            if len(matches) == 1:
                return self.read_commit(repo, matches[0])
        raise RevisionNotFound(f"Invalid rev id: {revision!r} is not a branch, tag or commit of {repo}")

    def create_ref(self, repo: RepoId, kind: str, name: str, target: str) -> None:
        name = validate_ref_name(name, "branch" if kind == "heads" else "tag")
        with self.locked(repo) as repo_dir:
            if self.read_ref(repo, "heads", name) is not None or self.read_ref(repo, "tags", name) is not None:
                raise Conflict(f"Reference already exists: '{name}' in {repo}")
            self.read_commit(repo, target)
            self._write_atomic(repo_dir / "refs" / kind / quote(name, safe=""), target.encode(), sync_dir=True)

    def delete_ref(self, repo: RepoId, kind: str, name: str) -> None:
        if kind == "heads" and name == DEFAULT_BRANCH:
            raise Forbidden(f"Cannot delete the default branch '{DEFAULT_BRANCH}' of {repo}")
        with self.locked(repo) as repo_dir:
            try:
                os.unlink(repo_dir / "refs" / kind / quote(name, safe=""))
            except FileNotFoundError:
                what = "branch" if kind == "heads" else "tag"
                raise RevisionNotFound(f"Invalid rev id: {what} '{name}' not found in {repo}") from None

    # ------------------------------------------------------------------ commits
    def read_commit(self, repo: RepoId, commit_id: str) -> Commit:
        if not is_commit_id(commit_id):
            raise RevisionNotFound(f"Invalid rev id: {commit_id!r}")
        path = self.repo_dir(repo) / "commits" / f"{commit_id}.json"
        key = (str(path.parent), commit_id)
        with self._cache_lock:
            cached = self._cache.get(key)
        # Commits are immutable, but a deleted-and-recreated repo must not see its predecessor's.
        if cached is not None and path.exists():
            with self._cache_lock:
                self._cache[key] = cached
                self._cache.move_to_end(key)
            return cached
        try:
            commit = Commit.from_json(json.loads(path.read_text()))
        except FileNotFoundError:
            raise RevisionNotFound(f"Invalid rev id: commit {commit_id} not found in {repo}") from None
        with self._cache_lock:
            self._cache[key] = commit
            while len(self._cache) > _COMMIT_CACHE_SIZE:
                self._cache.popitem(last=False)
        return commit

    def history(self, repo: RepoId, commit: Commit) -> Iterator[Commit]:
        """``commit`` and its first-parent ancestors, newest first."""
        current: Commit | None = commit
        while current is not None:
            yield current
            current = self.read_commit(repo, current.parents[0]) if current.parents else None

    def _new_commit(
        self, parents: Sequence[str], files: Mapping[str, FileEntry], title: str, message: str, author: str
    ) -> Commit:
        date = utc_now()
        body = {
            "parents": list(parents),
            "files": {p: e.to_json() for p, e in sorted(files.items())},
            "title": title,
            "message": message,
            "author": author,
            "date": date,
            # Two clients committing the same tree on the same parent in the same millisecond must
            # still get distinct commits (each one moves the ref once).
            "nonce": uuid.uuid4().hex,
        }
        commit_id = hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()
        return Commit(commit_id, tuple(parents), dict(files), title, message, author, date)

    def commit(
        self,
        repo: RepoId,
        branch: str,
        operations: Sequence[Operation],
        *,
        title: str,
        message: str,
        author: str,
        parent: str | None = None,
        before_ref_move: Callable[[Commit], None] | None = None,
    ) -> Commit:
        """Apply ``operations`` on the head of ``branch`` and move the branch to the new commit.

        All blobs referenced by ``operations`` must already be in the blob store (the caller stores
        and verifies them first). Under the repo lock: read the head; if ``parent`` is given it must
        be the head (else :class:`PreconditionFailed`, HTTP 412); otherwise the operations are
        applied on whatever the head is now, so concurrent commits without a parent serialise and
        none is lost. The commit object is written, ``before_ref_move`` runs (fault-injection hook),
        and the ref is replaced atomically.
        """
        branch = branch[len("refs/heads/") :] if branch.startswith("refs/heads/") else branch
        with self.locked(repo) as repo_dir:
            head_id = self.read_ref(repo, "heads", branch)
            if head_id is None:
                if self.read_ref(repo, "tags", branch) is not None:
                    raise BadRequest(f"cannot commit to tag '{branch}' of {repo}: tags are immutable")
                raise RevisionNotFound(f"Invalid rev id: branch '{branch}' not found in {repo}")
            if parent is not None and not (len(parent) >= 5 and head_id.startswith(parent.lower())):
                raise PreconditionFailed(
                    f"conflict: parent commit {parent} is not the head {head_id} of branch '{branch}' of {repo}"
                    " (someone committed in between): fetch the new head and retry"
                )
            head = self.read_commit(repo, head_id)
            files = apply_operations(head.files, operations)
            commit = self._new_commit((head_id,), files, title, message, author)
            for entry in files.values():
                if not self.blobs.has(entry.sha256, entry.size):
                    raise BadRequest(f"blob of '{entry.path}' (sha256 {entry.sha256}) is missing from the store")
            self._write_atomic(repo_dir / "commits" / f"{commit.id}.json", json.dumps(commit.to_json()).encode())
            if before_ref_move is not None:
                before_ref_move(commit)
            self._write_atomic(repo_dir / "refs" / "heads" / quote(branch, safe=""), commit.id.encode(), sync_dir=True)
        with self._cache_lock:
            self._cache[(str(repo_dir / "commits"), commit.id)] = commit
        return commit

    # ------------------------------------------------------------------ LFS ownership
    def link_lfs(self, repo: RepoId, sha256: str) -> None:
        """Record that ``repo`` received the content of ``sha256`` (so its commits may reference it).

        Blobs are shared between repos, but knowing a hash is no proof of holding the content: a repo
        may only reference LFS blobs that were uploaded to it (or were already in its history).
        """
        marker = self.repo_dir(repo) / "lfs" / sha256
        if not marker.exists():
            with contextlib.suppress(FileNotFoundError):
                marker.touch()

    def is_lfs_linked(self, repo: RepoId, sha256: str) -> bool:
        return (self.repo_dir(repo) / "lfs" / sha256).exists()

    def last_commits(self, repo: RepoId, commit: Commit, paths: Sequence[str]) -> dict[str, Commit]:
        """For each path (file or folder) the newest commit in ``commit``'s history that changed it."""
        pending = set(paths)
        found: dict[str, Commit] = {}
        for current in self.history(repo, commit):
            if not pending:
                break
            parent_files = self.read_commit(repo, current.parents[0]).files if current.parents else {}
            changed = {p for p in set(current.files) | set(parent_files) if current.files.get(p) != parent_files.get(p)}
            for path in list(pending):
                prefix = path + "/"
                if path in changed or any(c.startswith(prefix) for c in changed):
                    found[path] = current
                    pending.discard(path)
        return found


def apply_operations(files: Mapping[str, FileEntry], operations: Sequence[Operation]) -> dict[str, FileEntry]:
    """New tree = ``files`` with ``operations`` applied in order; checks file/folder clashes."""
    out = dict(files)
    for op in operations:
        if isinstance(op, AddFile):
            out[op.entry.path] = op.entry
        elif isinstance(op, DeleteFile):
            if op.path not in out:
                raise EntryNotFound(f"A file with this name doesn't exist: '{op.path}'")
            del out[op.path]
        else:
            prefix = op.path + "/"
            doomed = [p for p in out if p.startswith(prefix)]
            if not doomed:
                raise EntryNotFound(f"A folder with this name doesn't exist: '{op.path}'")
            for p in doomed:
                del out[p]
    for path in out:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder in out:
                raise BadRequest(f"path '{path}' conflicts with the file '{folder}' (a path cannot be file and folder)")
    return out


def folder_paths(files: Mapping[str, FileEntry]) -> set[str]:
    folders = set()
    for path in files:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folders.add("/".join(parts[:depth]))
    return folders


def folder_oid(files: Mapping[str, FileEntry], folder: str) -> str:
    """A stable id for a folder's content (stands in for git's tree id)."""
    prefix = folder + "/"
    digest = hashlib.sha1(b"tree\x00")
    for path in sorted(p for p in files if p.startswith(prefix)):
        digest.update(f"{path[len(prefix) :]}\x00{files[path].oid}\n".encode())
    return digest.hexdigest()

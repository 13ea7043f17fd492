"""Write path: preupload, LFS batch + signed PUT, and the NDJSON commit.

The client uploads in three steps: ``preupload`` (which files go to LFS), the LFS batch call plus one
PUT per LFS object, then one ``commit`` request whose NDJSON body holds a header line and one line
per operation (regular files inline as base64, LFS files by oid). The commit is atomic: the whole
body is read (spooled to disk) before anything is applied, every blob is stored and checked, and
only then does the storage move the branch ref under its lock.
"""

from __future__ import annotations

import base64
import binascii
import json
import tempfile
from typing import Any

from .context import HubContext
from .errors import BadRequest, HubError
from .metadata import DEFAULT_GITATTRIBUTES, gitignore_matcher, lfs_patterns, upload_mode
from .naming import is_sha256, validate_folder_path, validate_repo_path
from .protocol import Request, Response, json_response
from .storage import AddFile, Commit, DeleteFile, DeleteFolder, FileEntry, Operation

_LFS_JSON = "application/vnd.git-lfs+json"
#: Commit bodies up to this size stay in memory while being read; larger ones spill to ``<root>/tmp``.
_SPOOL_IN_MEMORY = 16 * 1024 * 1024
#: Hard cap on one commit body (inline files are < 10 MB each; LFS files travel separately).
MAX_COMMIT_BODY = 4 * 1024 * 1024 * 1024


def _text_file(ctx: HubContext, commit: Commit, path: str) -> str | None:
    entry = commit.files.get(path)
    if entry is None or entry.size > 1024 * 1024:
        return None
    return ctx.storage.blobs.path(entry.sha256).read_bytes().decode("utf-8", "replace")


def preupload(ctx: HubContext, req: Request, tp: str, ns: str, name: str, rev: str) -> Response:
    repo = ctx.repo_id(tp, ns, name)
    ctx.writable(req, repo, "uploading files")
    if req.flag("create_pr"):
        raise BadRequest("pull requests (create_pr=True) are not supported by this hub")
    head = ctx.storage.resolve(repo, rev)
    body = req.json()
    files = body.get("files")
    if not isinstance(files, list):
        raise BadRequest("preupload expects {'files': [{'path', 'sample', 'size'}, ...]}")
    patterns = lfs_patterns(_text_file(ctx, head, ".gitattributes") or DEFAULT_GITATTRIBUTES)
    ignored = gitignore_matcher(body.get("gitIgnore") if "gitIgnore" in body else _text_file(ctx, head, ".gitignore"))
    answers = []
    for item in files:
        if not isinstance(item, dict):
            raise BadRequest(f"preupload: each file must be an object, got {item!r}")
        path = validate_repo_path(item.get("path"))
        size = item.get("size")
        if not isinstance(size, int) or size < 0:
            raise BadRequest(f"preupload: invalid size {size!r} for '{path}'")
        try:
            sample = base64.b64decode(item.get("sample") or "", validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest(f"preupload: 'sample' of '{path}' is not valid base64") from None
        mode = upload_mode(path, size, sample, patterns)
        existing = head.files.get(path)
        # The client skips files whose oid is unchanged: git blob id for regular files, sha256 for LFS.
        oid = None
        if existing is not None:
            oid = existing.sha256 if mode == "lfs" else (existing.oid if not existing.lfs else None)
        answers.append({"path": path, "uploadMode": mode, "shouldIgnore": ignored(path), "oid": oid})
    return json_response({"files": answers, "commitOid": head.id})


def lfs_batch(ctx: HubContext, req: Request, ns: str, namegit: str, tp: str = "models") -> Response:
    if not namegit.endswith(".git"):
        raise BadRequest(f"LFS batch URLs end in '<repo>.git/info/lfs/objects/batch', got '{namegit}'")
    repo = ctx.repo_id(tp, ns, namegit[: -len(".git")])
    ctx.writable(req, repo, "uploading LFS objects")
    body = req.json()
    if body.get("operation") != "upload":
        raise BadRequest("this hub's LFS batch endpoint supports operation 'upload' only (download via /resolve)")
    objects = body.get("objects")
    if not isinstance(objects, list):
        raise BadRequest("LFS batch expects {'operation': 'upload', 'objects': [{'oid', 'size'}, ...]}")
    scope = f"{repo.type}/{repo.id}"
    answers: list[dict[str, Any]] = []
    for obj in objects:
        oid, size = (obj.get("oid"), obj.get("size")) if isinstance(obj, dict) else (None, None)
        if not is_sha256(oid) or not isinstance(size, int) or size < 0:
            answers.append(
                {
                    "oid": str(oid),
                    "size": size if isinstance(size, int) else 0,
                    "error": {"code": 422, "message": "oid must be a sha256 hex digest and size an int >= 0"},
                }
            )
            continue
        answer: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
        if not (ctx.storage.is_lfs_linked(repo, oid) and ctx.storage.blobs.has(oid, size)):
            expires, signature = ctx.signer.sign(scope, oid, size)
            href = (
                f"{req.base_url}/api/mthub/lfs/{repo.type}s/{repo.id}/{oid}"
                f"?size={size}&expires={expires}&sig={signature}"
            )
            answer["actions"] = {"upload": {"href": href, "expires_in": int(ctx.signer.ttl_s)}}
        answers.append(answer)
    return json_response(
        {"transfer": "basic", "objects": answers, "hash_algo": "sha256"}, headers={"Content-Type": _LFS_JSON}
    )


def lfs_put(ctx: HubContext, req: Request, tp: str, ns: str, name: str, oid: str) -> Response:
    """PUT of one LFS object to a signed URL: stream to a temp file, verify sha256 + size, install."""
    repo = ctx.repo_id(tp, ns, name)
    try:
        size = int(req.param("size") or "")
        expires = int(req.param("expires") or "")
    except ValueError:
        raise BadRequest("LFS upload URL lacks integer 'size'/'expires' parameters") from None
    if not is_sha256(oid):
        raise BadRequest(f"invalid LFS oid {oid!r}")
    ctx.signer.check(f"{repo.type}/{repo.id}", oid, size, expires, req.param("sig") or "")
    ctx.storage.get_repo(repo)
    if req.body.length is not None and req.body.length != size:
        raise BadRequest(f"LFS object {oid}: body has {req.body.length} bytes, the batch request announced {size}")
    ctx.storage.blobs.put_stream(req.body.read, size, expected_sha256=oid)
    if req.body.read(1):
        raise BadRequest(f"LFS object {oid}: body is longer than the announced {size} bytes")
    ctx.storage.link_lfs(repo, oid)
    return json_response({})


def _spool_body(ctx: HubContext, req: Request):
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY, dir=ctx.storage.tmp)
    total = 0
    try:
        while True:
            chunk = req.body.read(1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > MAX_COMMIT_BODY:
                raise HubError(f"commit body larger than {MAX_COMMIT_BODY} bytes", status=413)
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _parse_operations(ctx: HubContext, repo, lines) -> tuple[dict, list[Operation]]:
    header: dict | None = None
    operations: list[Operation] = []
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
            key, value = item["key"], item["value"]
        except (ValueError, KeyError, TypeError):
            raise BadRequest(f"commit line {lineno} is not a JSON object with 'key' and 'value'") from None
        if not isinstance(value, dict):
            raise BadRequest(f"commit line {lineno}: 'value' must be an object")
        if key == "header":
            header = value
        elif key == "file":
            path = validate_repo_path(value.get("path"))
            content = value.get("content")
            if not isinstance(content, str):
                raise BadRequest(f"commit: file '{path}' has no string 'content'")
            if value.get("encoding", "base64") == "base64":
                try:
                    data = base64.b64decode(content, validate=True)
                except (binascii.Error, ValueError):
                    raise BadRequest(f"commit: content of '{path}' is not valid base64") from None
            else:
                data = content.encode("utf-8")
            sha256 = ctx.storage.blobs.put_bytes(data)
            operations.append(AddFile(FileEntry.regular(path, sha256, data)))
        elif key == "lfsFile":
            path = validate_repo_path(value.get("path"))
            oid, size = value.get("oid"), value.get("size")
            if value.get("algo", "sha256") != "sha256" or not is_sha256(oid):
                raise BadRequest(f"commit: LFS file '{path}' needs a sha256 'oid', got {oid!r}")
            stored = ctx.storage.blobs.size(oid)
            if stored is None or not ctx.storage.is_lfs_linked(repo, oid):
                raise BadRequest(
                    f"commit: LFS object {oid} of '{path}' was not uploaded to {repo} "
                    "(upload it through the LFS batch endpoint before committing)"
                )
            if size is not None and size != stored:
                raise BadRequest(f"commit: LFS file '{path}' announces {size} bytes but object {oid} has {stored}")
            operations.append(AddFile(FileEntry.lfs_file(path, oid, stored)))
        elif key == "deletedFile":
            operations.append(DeleteFile(validate_repo_path(value.get("path"))))
        elif key == "deletedFolder":
            operations.append(DeleteFolder(validate_folder_path(value.get("path"))))
        else:
            raise BadRequest(f"commit line {lineno}: unknown operation key {key!r}")
    if header is None:
        raise BadRequest("commit body has no 'header' line")
    return header, operations


def commit(ctx: HubContext, req: Request, tp: str, ns: str, name: str, rev: str) -> Response:
    repo = ctx.repo_id(tp, ns, name)
    ctx.writable(req, repo, "committing")
    if req.flag("create_pr"):
        raise BadRequest("pull requests (create_pr=True) are not supported by this hub")
    # 1. The whole body first: a client that dies mid-stream changes nothing.
    with _spool_body(ctx, req) as spool:
        # 2. Store (and hash) every blob; LFS objects must already be stored and linked to the repo.
        header, operations = _parse_operations(ctx, repo, spool)
    summary = str(header.get("summary") or "").strip() or "Upload files"
    parent = header.get("parentCommit")
    if parent is not None and not isinstance(parent, str):
        raise BadRequest(f"commit: 'parentCommit' must be a string, got {parent!r}")
    # 3. Move the ref under the repo lock (stale parent -> 412).
    new = ctx.storage.commit(
        repo,
        rev,
        operations,
        title=summary,
        message=str(header.get("description") or ""),
        author=req.user or "unknown",
        parent=parent,
        before_ref_move=ctx.fault_hook("after-blobs"),
    )
    return json_response(
        {
            "success": True,
            "commitOid": new.id,
            "commitUrl": f"{req.base_url}/{repo.url_path}/commit/{new.id}",
            "commitMessage": summary,
            "hookOutput": "",
            "pullRequestUrl": None,
        }
    )

"""Read-side and repo-management routes: whoami, repos, info, tree, paths-info, commits, refs, branches."""

from __future__ import annotations

import contextlib
from typing import Any

from .auth import require_user
from .context import HubContext
from .errors import BadRequest, Conflict, EntryNotFound, HubError, NotImplementedOnThisHub
from .metadata import (
    DEFAULT_GITATTRIBUTES,
    card_data,
    config_summary,
    json_safe,
    safetensors_parameters,
    validate_card_yaml,
)
from .naming import DEFAULT_BRANCH, RepoId, lfs_pointer, make_repo_id, validate_folder_path, validate_ref_name
from .protocol import Request, Response, json_response
from .storage import Commit, FileEntry, RepoMeta, folder_oid, folder_paths

#: Metadata files larger than this are not parsed into repo info.
_MAX_METADATA_FILE = 1024 * 1024


# ---------------------------------------------------------------------------- account / misc
def whoami(ctx: HubContext, req: Request) -> Response:
    user = require_user(req.user, "whoami")
    return json_response(
        {
            "type": "user",
            "id": user,
            "name": user,
            "fullname": user,
            "email": None,
            "emailVerified": False,
            "isPro": False,
            "orgs": [],
            "auth": {"type": "access_token", "accessToken": {"displayName": "mthub hub token", "role": "write"}},
        }
    )


def health(ctx: HubContext, req: Request) -> Response:
    return json_response({"status": "ok", "root": str(ctx.storage.root)})


def agent_harnesses(ctx: HubContext, req: Request) -> Response:
    # Fetched (best effort) by every fresh client cache; an empty registry means "no agent detection".
    return json_response({"standardEnvVars": [], "harnesses": {}})


def validate_yaml(ctx: HubContext, req: Request) -> Response:
    body = req.json()
    content = body.get("content")
    if not isinstance(content, str):
        raise BadRequest("validate-yaml expects {'content': <README text>, 'repoType': ...}")
    errors = validate_card_yaml(content)
    status = 400 if errors else 200
    headers = {"X-Error-Message": "; ".join(errors)} if errors else {}
    return json_response({"errors": [{"message": e} for e in errors], "warnings": []}, status, headers)


def xet_unsupported(ctx: HubContext, req: Request, **_: str) -> Response:
    raise NotImplementedOnThisHub(
        "this hub does not implement the Xet storage protocol: set HF_HUB_DISABLE_XET=1 in the client's environment"
    )


# ---------------------------------------------------------------------------- repo management
def _repo_from_body(req: Request, body: dict, user: str | None) -> RepoId:
    namespace = body.get("organization") or user
    return make_repo_id(body.get("type") or "model", namespace, body.get("name"))


def create_repo(ctx: HubContext, req: Request) -> Response:
    user = require_user(req.user, "creating a repo")
    body = req.json()
    repo = _repo_from_body(req, body, user)
    visibility = body.get("visibility")
    private = visibility in ("private", "protected") if visibility is not None else bool(body.get("private", False))
    url = f"{req.base_url}/{repo.url_path}"
    try:
        meta = ctx.storage.create_repo(
            repo, private=private, user=user, initial_files={".gitattributes": DEFAULT_GITATTRIBUTES.encode()}
        )
    except Conflict as err:
        # The client's ``exist_ok=True`` path reads ``url`` from this 409 body.
        return json_response({"error": err.message, "url": url}, 409, {"X-Error-Message": err.message})
    return json_response({"url": url, "name": repo.id, "id": meta.uid})


def delete_repo(ctx: HubContext, req: Request) -> Response:
    user = require_user(req.user, "deleting a repo")
    repo = _repo_from_body(req, req.json(), user)
    ctx.storage.delete_repo(repo)
    return json_response({})


def update_settings(ctx: HubContext, req: Request, tp: str, ns: str, name: str) -> Response:
    repo = ctx.repo_id(tp, ns, name)
    ctx.writable(req, repo, "changing repo settings")
    body = req.json()
    private = body.get("private")
    if body.get("visibility") is not None:
        private = body["visibility"] in ("private", "protected")
    ctx.storage.update_repo(repo, private=None if private is None else bool(private))
    return json_response({})


def list_repos(ctx: HubContext, req: Request, tp: str) -> Response:
    repo_type = {"models": "model", "datasets": "dataset", "spaces": "space"}.get(tp)
    if repo_type is None:
        raise EntryNotFound(f"no such listing: /api/{tp}")
    author, search = req.param("author"), (req.param("search") or "").lower()
    out = []
    for meta in ctx.storage.list_repos(repo_type):
        if meta.private and req.user is None:
            continue
        if author and meta.repo.namespace != author or search and search not in meta.repo.id.lower():
            continue
        with contextlib.suppress(HubError):
            head = ctx.storage.resolve(meta.repo, DEFAULT_BRANCH)
            out.append(_base_info(meta, head))
    limit = req.param("limit")
    return json_response(out[: int(limit)] if limit and limit.isdigit() else out)


# ---------------------------------------------------------------------------- repo info
def _base_info(meta: RepoMeta, commit: Commit) -> dict[str, Any]:
    repo = meta.repo
    info: dict[str, Any] = {
        "_id": meta.uid,
        "id": repo.id,
        "author": repo.namespace,
        "sha": commit.id,
        "lastModified": commit.date,
        "createdAt": meta.created_at,
        "private": meta.private,
        "gated": False,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "tags": [],
    }
    if repo.type == "model":
        info["modelId"] = repo.id
    return info


def _read_small(ctx: HubContext, entry: FileEntry | None) -> bytes | None:
    if entry is None or entry.size > _MAX_METADATA_FILE:
        return None
    return ctx.storage.blobs.path(entry.sha256).read_bytes()


def _sibling(entry: FileEntry) -> dict[str, Any]:
    sibling: dict[str, Any] = {"rfilename": entry.path, "size": entry.size, "blobId": entry.oid}
    if entry.lfs:
        sibling["lfs"] = {"sha256": entry.sha256, "size": entry.size, "pointerSize": _pointer_size(entry)}
    return sibling


def _pointer_size(entry: FileEntry) -> int:
    return len(lfs_pointer(entry.sha256, entry.size))


def repo_info(ctx: HubContext, req: Request, tp: str, ns: str, name: str, rev: str = DEFAULT_BRANCH) -> Response:
    repo = ctx.repo_id(tp, ns, name)
    meta = ctx.readable(req, repo)
    commit = ctx.storage.resolve(repo, rev)
    info = _base_info(meta, commit)
    info["siblings"] = [_sibling(e) for _, e in sorted(commit.files.items())]
    info["usedStorage"] = sum(e.size for e in commit.files.values())
    card = card_data(_read_small(ctx, commit.files.get("README.md")) or b"")
    if card is not None:
        card = json_safe(card)
        info["cardData"] = card
        tags = card.get("tags") or []
        info["tags"] = [tags] if isinstance(tags, str) else [str(t) for t in tags]
        for key in ("library_name", "pipeline_tag"):
            if isinstance(card.get(key), str):
                info[key] = card[key]
                if key == "library_name" and card[key] not in info["tags"]:
                    info["tags"].insert(0, card[key])
    if repo.type == "model":
        config = config_summary(_read_small(ctx, commit.files.get("config.json")) or b"")
        if config is not None:
            info["config"] = config
        info["spaces"] = []
        params = _safetensors_info(ctx, commit)
        if params is not None:
            info["safetensors"] = params
    return json_response(info)


def _safetensors_info(ctx: HubContext, commit: Commit) -> dict[str, Any] | None:
    shards = [e for p, e in sorted(commit.files.items()) if p.endswith(".safetensors") and "/" not in p]
    if not shards:
        return None
    counts: dict[str, int] = {}
    for entry in shards:
        with open(ctx.storage.blobs.path(entry.sha256), "rb") as f:
            for dtype, n in safetensors_parameters(f).items():
                counts[dtype] = counts.get(dtype, 0) + n
    return {"parameters": counts, "total": sum(counts.values())}


# ---------------------------------------------------------------------------- tree / paths-info
def _file_json(entry: FileEntry) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "file", "oid": entry.oid, "size": entry.size, "path": entry.path}
    if entry.lfs:
        out["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": _pointer_size(entry)}
    return out


def _folder_json(commit: Commit, path: str) -> dict[str, Any]:
    return {"type": "directory", "oid": folder_oid(commit.files, path), "size": 0, "path": path}


def _with_last_commits(ctx: HubContext, repo: RepoId, commit: Commit, items: list[dict]) -> list[dict]:
    last = ctx.storage.last_commits(repo, commit, [item["path"] for item in items])
    for item in items:
        found = last.get(item["path"])
        if found is not None:
            item["lastCommit"] = {"id": found.id, "title": found.title, "date": found.date}
    return items


def _readable_commit(ctx: HubContext, req: Request, tp: str, ns: str, name: str, rev: str) -> tuple[RepoId, Commit]:
    """The repo ``tp/ns/name`` (after the read-permission check) and its commit at ``rev``."""
    repo = ctx.repo_id(tp, ns, name)
    ctx.readable(req, repo)
    return repo, ctx.storage.resolve(repo, rev)


def _listed(path: str, prefix: str, recursive: bool) -> bool:
    """Whether ``path`` is listed under the folder ``prefix`` (``"a/b/"``; ``""`` = root): strictly inside it, and
    a direct child unless ``recursive``."""
    rest = path[len(prefix) :] if path.startswith(prefix) else None
    return bool(rest) and (recursive or "/" not in rest)


def _entries_response(ctx: HubContext, repo: RepoId, commit: Commit, items: list[dict], expand: bool) -> Response:
    """JSON list of tree entries, each with its ``lastCommit`` when ``expand`` (``?expand=true``)."""
    if expand:
        items = _with_last_commits(ctx, repo, commit, items)
    return json_response(items)


def tree(ctx: HubContext, req: Request, tp: str, ns: str, name: str, rev: str, path: str = "") -> Response:
    repo, commit = _readable_commit(ctx, req, tp, ns, name, rev)
    path = path.strip("/")
    if path:
        validate_folder_path(path)
    folders = folder_paths(commit.files)
    if path and path not in folders:
        raise EntryNotFound(f"{path} does not exist on '{rev}'", headers={"X-Repo-Commit": commit.id})
    prefix = f"{path}/" if path else ""
    recursive = req.flag("recursive")
    items = [_folder_json(commit, folder) for folder in sorted(folders) if _listed(folder, prefix, recursive)]
    items += [_file_json(entry) for file_path, entry in sorted(commit.files.items()) if _listed(file_path, prefix, recursive)]
    return _entries_response(ctx, repo, commit, items, req.flag("expand"))


def paths_info(ctx: HubContext, req: Request, tp: str, ns: str, name: str, rev: str) -> Response:
    repo, commit = _readable_commit(ctx, req, tp, ns, name, rev)
    form = req.form()
    folders = folder_paths(commit.files)
    items = []
    for raw in form.get("paths", []):
        path = validate_folder_path(raw) if raw not in ("", ".", "/") else ""
        if path in commit.files:
            items.append(_file_json(commit.files[path]))
        elif path in folders:
            items.append(_folder_json(commit, path))
    return _entries_response(ctx, repo, commit, items, (form.get("expand") or ["false"])[0].lower() in ("1", "true"))


# ---------------------------------------------------------------------------- history and refs
def list_commits(ctx: HubContext, req: Request, tp: str, ns: str, name: str, rev: str) -> Response:
    repo, commit = _readable_commit(ctx, req, tp, ns, name, rev)
    items = [
        {
            "id": c.id,
            "title": c.title,
            "message": c.message,
            "authors": [{"user": c.author}],
            "date": c.date,
            "parents": list(c.parents),
        }
        for c in ctx.storage.history(repo, commit)
    ]
    return json_response(items)


def list_refs(ctx: HubContext, req: Request, tp: str, ns: str, name: str) -> Response:
    repo = ctx.repo_id(tp, ns, name)
    ctx.readable(req, repo)

    def refs(kind: str, prefix: str) -> list[dict]:
        return [
            {"name": n, "ref": f"{prefix}{n}", "targetCommit": target}
            for n, target in ctx.storage.refs(repo, kind).items()
        ]

    return json_response(
        {
            "branches": refs("heads", "refs/heads/"),
            "converts": [],
            "tags": refs("tags", "refs/tags/"),
            "pullRequests": [],
        }
    )


def create_branch(ctx: HubContext, req: Request, tp: str, ns: str, name: str, branch: str) -> Response:
    repo = ctx.repo_id(tp, ns, name)
    ctx.writable(req, repo, "creating a branch")
    branch = validate_ref_name(branch, "branch")
    start = req.json().get("startingPoint") or DEFAULT_BRANCH
    target = ctx.storage.resolve(repo, str(start)).id
    ctx.storage.create_ref(repo, "heads", branch, target)
    return json_response({"name": branch, "targetCommit": target})


def delete_ref(ctx: HubContext, req: Request, tp: str, ns: str, name: str, kind: str, ref: str) -> Response:
    repo = ctx.repo_id(tp, ns, name)
    ctx.writable(req, repo, f"deleting a {kind}")
    short = ref.split("/", 2)[-1] if ref.startswith(("refs/heads/", "refs/tags/")) else ref
    ctx.storage.delete_ref(repo, "heads" if kind == "branch" else "tags", short)
    return json_response({})


def delete_branch(ctx: HubContext, req: Request, tp: str, ns: str, name: str, branch: str) -> Response:
    return delete_ref(ctx, req, tp, ns, name, "branch", branch)


def create_tag(ctx: HubContext, req: Request, tp: str, ns: str, name: str, tag: str) -> Response:
    # POST .../tag/{revision} with {"tag": name}: the URL names the *target*, the body the tag.
    repo = ctx.repo_id(tp, ns, name)
    ctx.writable(req, repo, "creating a tag")
    body = req.json()
    tag_name = validate_ref_name(body.get("tag"), "tag")
    target = ctx.storage.resolve(repo, tag).id
    ctx.storage.create_ref(repo, "tags", tag_name, target)
    return json_response({"name": tag_name, "targetCommit": target})


def delete_tag(ctx: HubContext, req: Request, tp: str, ns: str, name: str, tag: str) -> Response:
    return delete_ref(ctx, req, tp, ns, name, "tag", tag)

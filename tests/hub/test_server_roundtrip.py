"""Round trips through the hub with the unmodified client in fresh processes: upload (regular + LFS),
download (file, snapshot, older revision), branches/tags, errors, path validation, the ``hf`` CLI."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from .raw_http import ndjson_commit, request


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def local_model_dir(tmp_path):
    from safetensors.numpy import save_file

    root = tmp_path / "model"
    (root / "nested").mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"model_type": "tiny", "architectures": ["TinyModel"]}))
    (root / "nested" / "notes.md").write_text("# notes\nsmall text file\n")
    rng = np.random.default_rng(0)
    save_file(
        {"w": rng.standard_normal((4, 8)).astype(np.float32), "b": np.zeros(8, np.float32)},
        str(root / "model.safetensors"),
    )
    (root / "big.bin").write_bytes(rng.bytes(11 * 1024 * 1024))  # > 10 MB: LFS by size
    return root


def test_upload_download_round_trip(hub_client, hub_server, hub_repo_id, local_model_dir):
    expected = {
        p.relative_to(local_model_dir).as_posix(): _sha(p.read_bytes())
        for p in local_model_dir.rglob("*")
        if p.is_file()
    }
    mark = hub_server.access_log_mark()
    up = hub_client(f"""
        from huggingface_hub import HfApi
        api = HfApi()
        url = api.create_repo({hub_repo_id!r})
        again = api.create_repo({hub_repo_id!r}, exist_ok=True)   # 409 + url -> no error
        card = "---\\nlicense: apache-2.0\\ntags: [video, mthub]\\nlibrary_name: mthub\\n---\\n# Tiny\\n"
        api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id={hub_repo_id!r})
        info = api.upload_folder(folder_path={str(local_model_dir)!r}, repo_id={hub_repo_id!r})
        model = api.model_info({hub_repo_id!r}, files_metadata=True)
        emit({{
            "url": str(url), "again": again.repo_id, "commit": info.oid, "files": api.list_repo_files({hub_repo_id!r}),
            "sha": model.sha, "card": model.card_data.to_dict(), "tags": model.tags,
            "siblings": {{s.rfilename: [s.size, s.lfs.sha256 if s.lfs else None] for s in model.siblings}},
            "safetensors_total": model.safetensors.total if model.safetensors else None,
        }})
    """).result
    assert up["url"] == f"{hub_server.url}/{hub_repo_id}" and up["again"] == hub_repo_id
    assert up["sha"] == up["commit"]
    assert sorted(up["files"]) == sorted([".gitattributes", "README.md", *expected])
    assert up["card"]["license"] == "apache-2.0" and "video" in up["tags"]
    assert up["safetensors_total"] == 4 * 8 + 8
    # LFS for the large and the binary-format files, regular git blobs for the small text files.
    assert up["siblings"]["big.bin"] == [11 * 1024 * 1024, expected["big.bin"]]
    assert up["siblings"]["model.safetensors"][1] == expected["model.safetensors"]
    assert up["siblings"]["config.json"][1] is None and up["siblings"]["nested/notes.md"][1] is None

    down = hub_client(f"""
        import hashlib, os
        from huggingface_hub import HfApi, HfFileSystem, hf_hub_download, snapshot_download
        sha = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
        files = {{f: sha(hf_hub_download({hub_repo_id!r}, f)) for f in {sorted(expected)!r}}}
        snap = snapshot_download({hub_repo_id!r})
        snapshot = {{os.path.relpath(os.path.join(d, f), snap): sha(os.path.join(d, f))
                    for d, _, fs in os.walk(snap) for f in fs}}
        with HfFileSystem().open({hub_repo_id!r} + "/big.bin", "rb", block_size=1 << 16) as f:  # ranged reads
            f.seek(5_000_000)
            chunk = f.read(16)
        paths = HfApi().get_paths_info({hub_repo_id!r}, ["config.json", "nested", "missing.txt"])
        emit({{"files": files, "snapshot": snapshot, "snapshot_dir": os.path.basename(snap), "chunk": chunk.hex(),
              "paths": [(type(p).__name__, p.path) for p in paths], "whoami": HfApi().whoami()["name"]}})
    """).result
    assert down["files"] == expected
    assert down["chunk"] == (local_model_dir / "big.bin").read_bytes()[5_000_000:5_000_016].hex()
    assert down["paths"] == [["RepoFile", "config.json"], ["RepoFolder", "nested"]]
    assert down["whoami"] == hub_server.user
    assert {k: v for k, v in down["snapshot"].items() if k in expected} == expected
    assert set(down["snapshot"]) == {".gitattributes", "README.md", *expected}
    assert down["snapshot_dir"] == up["commit"]  # the cache snapshot is named by X-Repo-Commit

    for method, fragment in [
        ("POST", f"/api/models/{hub_repo_id}/preupload/main"),
        ("POST", f"/{hub_repo_id}.git/info/lfs/objects/batch"),
        ("PUT", "/api/mthub/lfs/models/"),
        ("POST", f"/api/models/{hub_repo_id}/commit/main"),
        ("HEAD", f"/{hub_repo_id}/resolve/main/big.bin"),
        ("GET", f"/{hub_repo_id}/resolve/main/big.bin"),
    ]:
        hub_server.assert_requested(method, fragment, status=200, since=mark)
    hub_server.assert_requested("POST", "/api/repos/create", status=409, since=mark)
    hub_server.assert_requested("GET", f"/{hub_repo_id}/resolve/main/big.bin", status=206, since=mark)

    # Resolve headers the client's cache relies on; errors on HEAD carry no body.
    status, headers, body = request(hub_server, "HEAD", f"/{hub_repo_id}/resolve/main/big.bin", token=None)
    assert status == 200 and body == b"" and headers["x-repo-commit"] == up["commit"]
    assert headers["x-linked-etag"] == headers["etag"] == f'"{expected["big.bin"]}"'
    assert headers["x-linked-size"] == headers["content-length"] == str(11 * 1024 * 1024)
    status, headers, body = request(
        hub_server, "GET", f"/{hub_repo_id}/resolve/main/big.bin", headers={"Range": "bytes=-10"}, token=None
    )
    assert status == 206 and body == (local_model_dir / "big.bin").read_bytes()[-10:]
    assert headers["content-range"] == f"bytes {11 * 1024 * 1024 - 10}-{11 * 1024 * 1024 - 1}/{11 * 1024 * 1024}"
    status, headers, _ = request(
        hub_server, "GET", f"/{hub_repo_id}/resolve/main/config.json", headers={"Range": "bytes=999999-"}, token=None
    )
    assert status == 416 and headers["content-range"].startswith("bytes */")
    status, headers, body = request(hub_server, "HEAD", f"/{hub_repo_id}/resolve/main/nope.txt", token=None)
    assert (status, headers["x-error-code"], body) == (404, "EntryNotFound", b"")
    assert headers["x-repo-commit"] == up["commit"]


def test_older_revisions_and_history(hub_client, hub_repo_id):
    commits = hub_client(f"""
        from huggingface_hub import HfApi
        api = HfApi()
        api.create_repo({hub_repo_id!r})
        c1 = api.upload_file(path_or_fileobj=b"version 1", path_in_repo="a.txt", repo_id={hub_repo_id!r}).oid
        c2 = api.upload_file(path_or_fileobj=b"version 2", path_in_repo="a.txt", repo_id={hub_repo_id!r},
                             commit_message="second").oid
        same = api.upload_file(path_or_fileobj=b"version 2", path_in_repo="a.txt", repo_id={hub_repo_id!r}).oid
        emit([c1, c2, same])
    """).result
    c1, c2, same = commits
    assert same == c2  # unchanged file: preupload's oid lets the client skip the empty commit
    got = hub_client(f"""
        from huggingface_hub import HfApi, hf_hub_download
        api = HfApi()
        read = lambda rev: open(hf_hub_download({hub_repo_id!r}, "a.txt", revision=rev)).read()
        short = api.model_info({hub_repo_id!r}, revision={c1[:10]!r}).sha
        emit({{"old": read({c1!r}), "new": read("main"), "short": short,
              "history": [(c.commit_id, c.title, c.authors) for c in api.list_repo_commits({hub_repo_id!r})],
              "old_tree": [f.path for f in api.list_repo_tree({hub_repo_id!r}, revision={c1!r})]}})
    """).result
    assert got["old"] == "version 1" and got["new"] == "version 2" and got["short"] == c1
    assert [h[0] for h in got["history"][:2]] == [c2, c1] and len(got["history"]) == 3
    assert got["history"][0][1] == "second" and got["history"][0][2] == ["mthub"]
    assert got["history"][-1][1] == "initial commit"
    assert sorted(got["old_tree"]) == [".gitattributes", "a.txt"]


def test_branches_and_tags(hub_client, hub_server, hub_repo_id):
    mark = hub_server.access_log_mark()
    got = hub_client(f"""
        from huggingface_hub import HfApi, hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError, RevisionNotFoundError
        api = HfApi()
        repo = {hub_repo_id!r}
        api.create_repo(repo)
        api.upload_file(path_or_fileobj=b"main", path_in_repo="f.txt", repo_id=repo)
        api.create_branch(repo, branch="dev")
        api.create_branch(repo, branch="dev", exist_ok=True)
        dev = api.upload_file(path_or_fileobj=b"dev", path_in_repo="f.txt", repo_id=repo, revision="dev").oid
        api.create_tag(repo, tag="v1.0", revision="dev")
        refs = api.list_repo_refs(repo)
        out = {{"refs": sorted((b.name, b.target_commit) for b in refs.branches), "tags": [t.name for t in refs.tags],
               "main": open(hf_hub_download(repo, "f.txt")).read(),
               "dev": open(hf_hub_download(repo, "f.txt", revision="dev")).read(),
               "tag": open(hf_hub_download(repo, "f.txt", revision="v1.0")).read(), "dev_sha": dev}}
        out["paths"] = [p.path for p in api.get_paths_info(repo, ["f.txt"], revision="v1.0")]
        api.delete_branch(repo, branch="dev")
        try:
            api.model_info(repo, revision="dev")
        except RevisionNotFoundError:
            out["deleted"] = True
        try:
            api.delete_branch(repo, branch="main")
        except HfHubHTTPError as err:
            out["main_delete_status"] = err.response.status_code
        api.delete_repo(repo)
        out["exists_after_delete"] = api.repo_exists(repo)
        api.delete_repo(repo, missing_ok=True)
        emit(out)
    """).result
    assert got["main"] == "main" and got["dev"] == "dev" and got["tag"] == "dev"
    assert [name for name, _ in got["refs"]] == ["dev", "main"] and dict(got["refs"])["dev"] == got["dev_sha"]
    assert got["tags"] == ["v1.0"] and got["deleted"] and got["main_delete_status"] == 403
    assert got["paths"] == ["f.txt"] and got["exists_after_delete"] is False
    hub_server.assert_requested("POST", f"/api/models/{hub_repo_id}/branch/dev", status=200, since=mark)
    hub_server.assert_requested("POST", f"/api/models/{hub_repo_id}/branch/dev", status=409, since=mark)
    hub_server.assert_requested("DELETE", f"/api/models/{hub_repo_id}/branch/dev", status=200, since=mark)


def test_client_errors(hub_client, hub_server, hub_repo_id):
    mark = hub_server.access_log_mark()
    got = hub_client(f"""
        from huggingface_hub import HfApi, hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError
        api = HfApi()
        repo = {hub_repo_id!r}
        api.create_repo(repo)
        api.create_repo(repo + "-private", private=True)
        assert api.model_info(repo + "-private").private is True  # visible with a token
        def kind(fn):
            try:
                fn()
            except Exception as err:
                known = (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError)
                return type(err).__name__, isinstance(err, known)
            return "no error", False
        emit({{
            "repo": kind(lambda: hf_hub_download("mthub/does-not-exist", "x.txt")),
            "repo_info": kind(lambda: api.model_info("mthub/does-not-exist")),
            "revision": kind(lambda: hf_hub_download(repo, ".gitattributes", revision="no-such-branch")),
            "encoded_revision": kind(lambda: api.model_info(repo, revision="refs/convert/parquet")),
            "entry": kind(lambda: hf_hub_download(repo, "missing.txt")),
            "dataset_repo": kind(lambda: api.dataset_info(repo)),
        }})
    """).result
    assert got["repo"] == ["RepositoryNotFoundError", True] and got["repo_info"] == ["RepositoryNotFoundError", True]
    assert got["dataset_repo"] == ["RepositoryNotFoundError", True]  # a model repo is not a dataset repo
    assert got["revision"] == ["RevisionNotFoundError", True] and got["encoded_revision"] == [
        "RevisionNotFoundError",
        True,
    ]
    assert got["entry"][1] and "EntryNotFound" in got["entry"][0]
    hub_server.assert_requested(
        "GET", f"/api/models/{hub_repo_id}/revision/refs%2Fconvert%2Fparquet", status=404, since=mark
    )

    # Bad token -> 401 with the server's message (also on reads); no token -> reads OK, writes 401.
    bad = hub_client(
        f"""
        from huggingface_hub import HfApi
        from huggingface_hub.errors import HfHubHTTPError
        out = {{}}
        write = lambda: HfApi().upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id={hub_repo_id!r})
        for name, fn in [("write", write), ("read", lambda: HfApi().list_repo_files({hub_repo_id!r}))]:
            try:
                fn()
            except HfHubHTTPError as err:
                out[name] = [err.response.status_code, str(err)]
        emit(out)
    """,
        token="not-a-valid-token",
    ).result
    assert bad["write"][0] == 401 and "Invalid credentials in Authorization header" in bad["write"][1]
    assert bad["read"][0] == 401
    anon = hub_client(
        f"""
        from huggingface_hub import HfApi
        from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
        api = HfApi()
        out = {{"files": api.list_repo_files({hub_repo_id!r})}}
        try:
            api.create_repo("mthub/anonymous-attempt")
        except HfHubHTTPError as err:
            out["create"] = [err.response.status_code, str(err)]
        try:
            api.model_info({hub_repo_id + "-private"!r})
        except RepositoryNotFoundError:
            out["private_hidden"] = True
        emit(out)
    """,
        token=False,
    ).result
    assert anon["files"] == [".gitattributes"]
    assert anon["create"][0] == 401 and "Authorization required" in anon["create"][1]
    assert anon["private_hidden"]
    hub_server.assert_requested("POST", f"/api/models/{hub_repo_id}/preupload/main", status=401, since=mark)


@pytest.mark.parametrize(
    "bad_path", ["../escape.txt", "a/../../escape.txt", "/etc/passwd", "a\\b.txt", "nul\x00.txt", "a//b.txt"]
)
def test_unsafe_paths_rejected(hub_server, bad_path):
    repo = f"mthub/paths-{hashlib.md5(bad_path.encode()).hexdigest()[:8]}"
    status, _, _ = request(
        hub_server, "POST", "/api/repos/create", {"name": repo.split("/")[1], "organization": "mthub"}
    )
    assert status == 200
    mark = hub_server.access_log_mark()
    status, headers, body = request(
        hub_server,
        "POST",
        f"/api/models/{repo}/commit/main",
        ndjson_commit("evil", {bad_path: b"x"}),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert status == 400, body
    assert repr(bad_path) in json.loads(body)["error"] and "invalid path" in headers["x-error-message"]
    status, _, body = request(
        hub_server,
        "POST",
        f"/api/models/{repo}/preupload/main",
        {"files": [{"path": bad_path, "sample": "", "size": 1}]},
    )
    assert status == 400 and repr(bad_path) in json.loads(body)["error"]
    hub_server.assert_requested("POST", f"/api/models/{repo}/commit/main", status=400, since=mark)
    # Nothing was committed.
    status, _, body = request(hub_server, "GET", f"/api/models/{repo}/tree/main?recursive=1")
    assert [e["path"] for e in json.loads(body)] == [".gitattributes"]


def test_unsafe_resolve_and_repo_names(hub_server):
    for path in ["/mthub/x/resolve/main/..%2F..%2Frepo.json", "/mthub/x/resolve/main/a%00b"]:
        status, headers, _ = request(hub_server, "GET", path, token=None)
        assert status in (400, 404), path
    status, headers, _ = request(hub_server, "GET", "/api/models/mthub/..", token=None)
    assert status == 400 and "'..'" in headers["x-error-message"]
    status, _, body = request(hub_server, "POST", "/api/repos/create", {"name": "..", "organization": "mthub"})
    assert status == 400


def test_hf_cli_upload_download(hub_client, hub_server, hub_repo_id, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha\n")
    (src / "sub" / "b.npy").write_bytes(np.arange(1000, dtype=np.int64).tobytes())
    mark = hub_server.access_log_mark()
    hub_client.cli(["upload", hub_repo_id, str(src), ".", "--commit-message", "cli upload"])
    (tmp_path / "dev.txt").write_text("on dev\n")
    hub_client.cli(["upload", hub_repo_id, str(tmp_path / "dev.txt"), "dev.txt", "--revision", "dev"])  # new branch
    out = tmp_path / "out"
    hub_client.cli(["download", hub_repo_id, "--local-dir", str(out)])
    assert (out / "a.txt").read_text() == "alpha\n"
    assert (out / "sub" / "b.npy").read_bytes() == (src / "sub" / "b.npy").read_bytes()
    assert not (out / "dev.txt").exists()
    single = hub_client.cli(
        ["download", hub_repo_id, "dev.txt", "--revision", "dev", "--local-dir", str(tmp_path / "d")]
    )
    assert (tmp_path / "d" / "dev.txt").read_text() == "on dev\n" and "dev.txt" in single.stdout
    hub_server.assert_requested("POST", f"/api/models/{hub_repo_id}/branch/dev", status=200, since=mark)
    hub_server.assert_requested("POST", f"/api/models/{hub_repo_id}/commit/main", status=200, since=mark)
    hub_server.assert_requested("GET", f"/{hub_repo_id}/resolve/", status=200, since=mark)
    history = hub_client(f"""
        from huggingface_hub import HfApi
        emit([c.title for c in HfApi().list_repo_commits({hub_repo_id!r})])
    """).result
    assert history[0] == "cli upload"


def test_deletes_and_card_validation(hub_client, hub_repo_id):
    got = hub_client(f"""
        from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
        api = HfApi()
        repo = {hub_repo_id!r}
        api.create_repo(repo)
        api.create_commit(repo, operations=[CommitOperationAdd(f"d/{{i}}.txt", str(i).encode()) for i in range(3)]
                          + [CommitOperationAdd("keep.txt", b"k")], commit_message="add")
        api.create_commit(repo, operations=[CommitOperationDelete("d/"), CommitOperationDelete("keep.txt")],
                          commit_message="delete")
        out = {{"files": api.list_repo_files(repo)}}
        try:
            api.upload_file(path_or_fileobj=b"---\\ntags: [unclosed\\n---\\n", path_in_repo="README.md", repo_id=repo)
        except ValueError as err:
            out["invalid_card"] = str(err)
        emit(out)
    """).result
    assert got["files"] == [".gitattributes"]
    assert "Invalid metadata in README.md" in got["invalid_card"]

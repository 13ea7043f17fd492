"""Atomic commits: a client killed mid-body, a server stopped between blob storage and the ref move,
20 concurrent committers from separate processes, stale parent commits."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mthub.hub.server import FAULT_EXIT_CODE, FAULT_LOG_STATUS, HubStorage
from mthub.testing.hub import run_client

from .raw_http import ndjson_commit


def _wait_for(predicate, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _assert_store_consistent(root: Path) -> None:
    """No temp/partial files in the blob store and every blob hashes to its name."""
    storage = HubStorage(root)
    blobs = [p for p in (root / "blobs").rglob("*") if p.is_file()]
    assert blobs and not [p for p in blobs if p.name.endswith(".part")]
    for blob in blobs:
        storage.blobs.verify(blob.name, blob.stat().st_size)


_READ_STATE = """
        from huggingface_hub import HfApi, hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError
        api = HfApi()
        repo = {repo!r}
        def read(name):
            try:
                return open(hf_hub_download(repo, name), "rb").read().decode("latin-1")
            except EntryNotFoundError:
                return None
        emit({{"sha": api.model_info(repo).sha, "files": sorted(api.list_repo_files(repo)),
              "a": read("a.txt"), "new": read("new.txt"), "commits": len(api.list_repo_commits(repo))}})
"""


def test_client_killed_while_streaming_commit_body(hub_client, hub_server, hub_repo_id):
    before = hub_client(
        f"""
        from huggingface_hub import HfApi
        api = HfApi()
        api.create_repo({hub_repo_id!r})
        api.upload_file(path_or_fileobj=b"v1", path_in_repo="a.txt", repo_id={hub_repo_id!r})
    """
        + _READ_STATE.format(repo=hub_repo_id)
    ).result
    body = ndjson_commit(
        "torn commit", {"a.txt": b"v2", "new.txt": b"new", "pad.txt": os.urandom(3 << 20).hex().encode()}
    )
    mark = hub_server.access_log_mark()
    # A real client process that sends the headers and half of the body, then is killed (SIGKILL).
    sender = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"""
import http.client, sys, time
conn = http.client.HTTPConnection("127.0.0.1", {hub_server.port})
conn.putrequest("POST", "/api/models/{hub_repo_id}/commit/main")
conn.putheader("Authorization", "Bearer {hub_server.token}")
conn.putheader("Content-Type", "application/x-ndjson")
conn.putheader("Content-Length", "{len(body)}")
conn.endheaders()
body = sys.stdin.buffer.read()
conn.send(body[: len(body) // 2])
print("half sent", flush=True)
time.sleep(120)
""",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    sender.stdin.write(body)
    sender.stdin.close()
    assert sender.stdout.readline().strip() == b"half sent"
    sender.send_signal(signal.SIGKILL)
    sender.wait(10)
    _wait_for(
        lambda: hub_server.find_requests("POST", f"/api/models/{hub_repo_id}/commit/main", since=mark),
        what="the torn commit in the access log",
    )
    hub_server.assert_requested("POST", f"/api/models/{hub_repo_id}/commit/main", status=499, since=mark)

    after = hub_client(_READ_STATE.format(repo=hub_repo_id)).result
    assert after == before and after["a"] == "v1" and after["new"] is None
    retry = hub_client(
        f"""
        from huggingface_hub import CommitOperationAdd, HfApi
        HfApi().create_commit({hub_repo_id!r}, operations=[CommitOperationAdd("a.txt", b"v2"),
                              CommitOperationAdd("new.txt", b"new")], commit_message="retry")
    """
        + _READ_STATE.format(repo=hub_repo_id)
    ).result
    assert retry["a"] == "v2" and retry["new"] == "new" and retry["commits"] == before["commits"] + 1
    _assert_store_consistent(hub_server.root)


def test_fault_between_blob_storage_and_ref_move(hub_server_factory, tmp_path):
    root, repo = tmp_path / "hub", "mthub/faulty"
    hub = hub_server_factory(root)
    before = run_client(
        f"""
        from huggingface_hub import HfApi
        api = HfApi()
        api.create_repo({repo!r})
        api.upload_file(path_or_fileobj=b"v1", path_in_repo="a.txt", repo_id={repo!r})
    """
        + _READ_STATE.format(repo=repo),
        hub,
    ).result
    hub.stop()

    payload = tmp_path / "payload"
    payload.mkdir()
    (payload / "a.txt").write_bytes(b"v2")
    (payload / "new.txt").write_bytes(b"new")
    weights = os.urandom(2 << 20)
    (payload / "weights.bin").write_bytes(weights)  # LFS (by extension): PUT before the commit
    upload = f"""
        from huggingface_hub import HfApi
        info = HfApi().upload_folder(folder_path={str(payload)!r}, repo_id={repo!r}, commit_message="payload")
        emit(info.oid)
    """
    faulty = hub_server_factory(root, tokens=hub.tokens, fault="after-blobs")
    crashed = run_client(upload, faulty, check=False)
    # The client sees the connection drop (httpx: "Server disconnected without sending a response").
    dropped = ("Server disconnected", "Connection reset", "RemoteProtocolError", "ReadError")
    assert crashed.returncode != 0 and any(m in crashed.stderr for m in dropped), crashed.stderr[-2000:]
    assert faulty.wait(15) == FAULT_EXIT_CODE
    faulty.assert_requested("POST", f"/api/models/{repo}/commit/main", status=FAULT_LOG_STATUS)
    # The blobs were stored (that is the point of the fault) ...
    assert HubStorage(root).blobs.has(hashlib.sha256(weights).hexdigest(), len(weights))

    restarted = hub_server_factory(root, tokens=hub.tokens)
    after = run_client(_READ_STATE.format(repo=repo), restarted).result
    # ... but the ref did not move: the previous revision is intact, nothing of the commit is visible.
    assert after == before and after["a"] == "v1" and after["new"] is None and "weights.bin" not in after["files"]
    _assert_store_consistent(root)

    retried = run_client(upload + _READ_STATE.format(repo=repo), restarted).result
    assert retried["files"] == sorted([".gitattributes", "a.txt", "new.txt", "weights.bin"])
    assert retried["a"] == "v2" and retried["commits"] == before["commits"] + 1
    restarted.assert_requested("POST", f"/api/models/{repo}/commit/main", status=200)


def test_concurrent_commits_from_separate_processes(hub_client, hub_server, hub_repo_id):
    n = 20
    got = hub_client(
        f"""
        import multiprocessing as mp
        from huggingface_hub import HfApi, hf_hub_download
        REPO = {hub_repo_id!r}

        def commit(i):
            HfApi().upload_file(path_or_fileobj=f"content {{i}}".encode(), path_in_repo=f"c/file_{{i:02d}}.txt",
                                repo_id=REPO, commit_message=f"concurrent {{i}}")

        if __name__ == "__main__":
            api = HfApi()
            api.create_repo(REPO)
            before = len(api.list_repo_commits(REPO))
            procs = [mp.get_context("fork").Process(target=commit, args=(i,)) for i in range({n})]
            for p in procs:
                p.start()
            for p in procs:
                p.join(120)
            history = api.list_repo_commits(REPO)
            names = [f for f in api.list_repo_files(REPO) if f.startswith("c/")]
            files = {{f: open(hf_hub_download(REPO, f)).read() for f in names}}
            emit({{"exit": [p.exitcode for p in procs], "before": before, "after": len(history),
                  "titles": sorted(c.title for c in history[: {n}]), "files": files}})
    """,
        timeout=180,
    ).result
    assert got["exit"] == [0] * n
    assert got["after"] - got["before"] == n
    assert got["titles"] == sorted(f"concurrent {i}" for i in range(n))
    assert got["files"] == {f"c/file_{i:02d}.txt": f"content {i}" for i in range(n)}
    commits = hub_server.find_requests("POST", f"/api/models/{hub_repo_id}/commit/main", status=200)
    assert len(commits) == n


def test_stale_parent_commit_is_a_conflict(hub_client, hub_server, hub_repo_id):
    got = hub_client(f"""
        from huggingface_hub import HfApi
        from huggingface_hub.errors import HfHubHTTPError
        api = HfApi()
        repo = {hub_repo_id!r}
        api.create_repo(repo)
        base = api.model_info(repo).sha
        first = api.upload_file(path_or_fileobj=b"1", path_in_repo="one.txt", repo_id=repo, parent_commit=base).oid
        try:
            api.upload_file(path_or_fileobj=b"2", path_in_repo="two.txt", repo_id=repo, parent_commit=base)
            emit({{"error": None}})
        except HfHubHTTPError as err:
            emit({{"status": err.response.status_code, "error": str(err), "base": base, "head": first,
                  "files": api.list_repo_files(repo)}})
    """).result
    assert got["status"] == 412
    assert f"conflict: parent commit {got['base']} is not the head {got['head']}" in got["error"]
    assert got["files"] == [".gitattributes", "one.txt"]
    hub_server.assert_requested("POST", f"/api/models/{hub_repo_id}/commit/main", status=412)


def test_lfs_put_is_verified_and_atomic(hub_server):
    import json
    import socket
    from urllib.parse import urlsplit

    from .raw_http import request

    assert request(hub_server, "POST", "/api/repos/create", {"name": "lfs-put", "organization": "mthub"})[0] == 200
    data = os.urandom(1 << 20)
    oid = hashlib.sha256(data).hexdigest()
    status, _, body = request(
        hub_server,
        "POST",
        "/mthub/lfs-put.git/info/lfs/objects/batch",
        {"operation": "upload", "objects": [{"oid": oid, "size": len(data)}]},
    )
    assert status == 200
    href = urlsplit(json.loads(body)["objects"][0]["actions"]["upload"]["href"])
    target = f"{href.path}?{href.query}"
    storage = HubStorage(hub_server.root)

    # Torn upload: headers + half the content, then the connection drops -> nothing stored, no temp file left.
    mark = hub_server.access_log_mark()
    with socket.create_connection(("127.0.0.1", hub_server.port)) as sock:
        sock.sendall(
            f"PUT {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data[: len(data) // 2]
        )
    _wait_for(lambda: hub_server.find_requests("PUT", href.path, since=mark), what="the torn PUT in the access log")
    hub_server.assert_requested("PUT", href.path, status=499, since=mark)
    assert not storage.blobs.has(oid) and not list((hub_server.root / "tmp").glob("*.part"))

    # Content that does not hash to the oid is rejected; a forged signature is refused; the real upload lands.
    status, headers, _ = request(hub_server, "PUT", target, os.urandom(len(data)), token=None)
    assert status == 400 and "does not match its LFS oid" in headers["x-error-message"] and not storage.blobs.has(oid)
    forged = target.replace("sig=", "sig=0")
    assert request(hub_server, "PUT", forged, data, token=None)[0] == 401
    assert request(hub_server, "PUT", target, data, token=None)[0] == 200
    assert storage.blobs.has(oid, len(data))
    # The commit may now reference it; an oid never uploaded to this repo may not.
    status, _, body = request(
        hub_server,
        "POST",
        "/api/models/mthub/lfs-put/commit/main",
        ndjson_commit("lfs", lfs=[{"path": "w.bin", "oid": oid, "size": len(data)}]),
    )
    assert status == 200, body
    status, headers, _ = request(
        hub_server,
        "POST",
        "/api/models/mthub/lfs-put/commit/main",
        ndjson_commit("lfs", lfs=[{"path": "x.bin", "oid": "ab" * 32, "size": 3}]),
    )
    assert status == 400 and "was not uploaded" in headers["x-error-message"]

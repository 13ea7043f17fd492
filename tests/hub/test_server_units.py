"""In-process checks of the server's building blocks (no sockets): names, paths, ranges, tokens, upload modes."""

from __future__ import annotations

import pytest

from mthub.hub.server.auth import INVALID_CREDENTIALS, TokenRegistry, parse_token_entries
from mthub.hub.server.errors import BadRequest, Conflict, PreconditionFailed, RangeNotSatisfiable, Unauthorized
from mthub.hub.server.handlers_files import parse_range
from mthub.hub.server.metadata import DEFAULT_GITATTRIBUTES, gitignore_matcher, lfs_patterns, upload_mode
from mthub.hub.server.naming import git_blob_id, make_repo_id, validate_ref_name, validate_repo_path
from mthub.hub.server.storage import AddFile, FileEntry, HubStorage


@pytest.mark.parametrize("path", ["a.txt", "dir/sub/file.bin", "weird name (1).txt", "ünïcode/ok"])
def test_valid_paths(path):
    assert validate_repo_path(path) == path


@pytest.mark.parametrize(
    "path, reason",
    [
        ("", "empty"),
        ("../x", "'..'"),
        ("a/../../x", "'..'"),
        ("/abs", "absolute"),
        ("a\\b", "backslash"),
        ("a\x00b", "NUL"),
        ("a//b", "empty path segment"),
        ("a/./b", "'.'"),
        (".git/config", ".git"),
        ("C:/x", "drive"),
        ("a\nb", "control"),
        (None, "string"),
    ],
)
def test_invalid_paths_name_the_path(path, reason):
    with pytest.raises(BadRequest) as err:
        validate_repo_path(path)
    assert repr(path) in err.value.message and reason in err.value.message


def test_repo_and_ref_names():
    assert make_repo_id("dataset", "org", "name.v2").url_path == "datasets/org/name.v2"
    for bad in ["..", "a..b", "x.git", "-x", "a/b", ""]:
        with pytest.raises(BadRequest):
            make_repo_id("model", "org", bad)
    assert validate_ref_name("refs/heads/feature/x") == "feature/x"
    for bad in ["refs/pr/1", "a..b", "a b", "x.lock", "a" * 40, "0123456789abcdef0123456789abcdef01234567"]:
        with pytest.raises(BadRequest):
            validate_ref_name(bad)


def test_git_blob_id_matches_git():
    # `printf 'hello world\n' | git hash-object --stdin`
    assert git_blob_id(b"hello world\n") == "3b18e512dba79e4c8300dd08aeb37f8e728b8dad"


def test_parse_range():
    assert parse_range(None, 100) is None
    assert parse_range("bytes=0-9", 100) == (0, 10)
    assert parse_range("bytes=90-", 100) == (90, 10)
    assert parse_range("bytes=-5", 100) == (95, 5)
    assert parse_range("bytes=50-1000", 100) == (50, 50)
    assert parse_range("bytes=0-1,5-6", 100) is None  # multi-range: whole file
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=100-", 100)


def test_tokens():
    tokens = parse_token_entries(["# comment", "alice:tok-a", "", "tok-bare"], "test")
    assert tokens == {"tok-a": "alice", "tok-bare": "user"}
    registry = TokenRegistry.from_sources(env={"MTHUB_HUB_TOKENS": "bob:tok-b, carol:tok-c"})
    assert registry.authenticate("Bearer tok-c") == "carol" and registry.authenticate(None) is None
    with pytest.raises(Unauthorized) as err:
        registry.authenticate("Bearer wrong")
    assert err.value.message == INVALID_CREDENTIALS
    with pytest.raises(ValueError, match="entry 1"):
        parse_token_entries(["alice:"], "test")


def test_upload_modes():
    patterns = lfs_patterns(DEFAULT_GITATTRIBUTES)
    assert upload_mode("config.json", 100, b"{}", patterns) == "regular"
    assert upload_mode("model.safetensors", 100, b"xx", patterns) == "lfs"
    assert upload_mode("sub/dir/x.parquet", 100, b"PAR1", patterns) == "lfs"
    assert upload_mode("blob.dat", 100, b"ab\x00cd", patterns) == "lfs"  # binary content
    assert upload_mode("notes.txt", 11 * 1024 * 1024, b"text", patterns) == "lfs"  # > 10 MB
    assert upload_mode("empty.bin", 0, b"", patterns) == "regular"


def test_gitignore_matcher():
    ignored = gitignore_matcher("*.log\n/build/\n!keep.log\ncache/\n")
    assert ignored("a.log") and ignored("x/y/z.log") and not ignored("keep.log")
    assert ignored("build/out.bin") and not ignored("src/build/out.bin")
    assert ignored("a/cache/x") and not ignored("cache")


def test_storage_commit_parent_and_tree_checks(tmp_path):
    storage = HubStorage(tmp_path)
    repo = make_repo_id("model", "org", "r")
    storage.create_repo(repo, private=False, user="u", initial_files={"a.txt": b"a"})
    head = storage.resolve(repo, "main")
    data = b"bbb"
    entry = FileEntry.regular("d/b.txt", storage.blobs.put_bytes(data), data)
    new = storage.commit(repo, "main", [AddFile(entry)], title="t", message="", author="u", parent=head.id[:7])
    assert storage.resolve(repo, "main").id == new.id and new.parents == (head.id,)
    assert storage.resolve(repo, head.id).files.keys() == {"a.txt"}  # the old revision stays readable
    with pytest.raises(PreconditionFailed, match="is not the head"):
        storage.commit(repo, "main", [], title="t", message="", author="u", parent=head.id)
    clash = FileEntry.regular("a.txt/c", entry.sha256, data)
    with pytest.raises(BadRequest, match="conflicts with the file 'a.txt'"):
        storage.commit(repo, "main", [AddFile(clash)], title="t", message="", author="u")
    with pytest.raises(Conflict):
        storage.create_repo(repo, private=False, user="u", initial_files={})
    assert [c.id for c in storage.history(repo, storage.resolve(repo, "main"))] == [new.id, head.id]

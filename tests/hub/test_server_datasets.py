"""``datasets`` round trip through the hub: ``push_to_hub`` then ``load_dataset("org/name")`` in fresh processes."""

from __future__ import annotations


def test_dataset_push_to_hub_and_load_dataset(hub_client, hub_server):
    repo = f"{hub_server.user}/tiny-dataset"
    rows = {
        "clip": [f"clip_{i}" for i in range(12)],
        "label": [i % 3 for i in range(12)],
        "score": [i / 4 for i in range(12)],
    }
    mark = hub_server.access_log_mark()
    hub_client(f"""
        from datasets import Dataset, DatasetDict
        rows = {rows!r}
        full = Dataset.from_dict(rows)
        DatasetDict({{"train": full.select(range(8)), "test": full.select(range(8, 12))}}).push_to_hub({repo!r})
    """)
    got = hub_client(f"""
        from datasets import load_dataset
        from huggingface_hub import HfApi
        ds = load_dataset({repo!r})
        emit({{"splits": sorted(ds), "train": ds["train"].to_dict(), "test": ds["test"].to_dict(),
              "files": HfApi().list_repo_files({repo!r}, repo_type="dataset")}})
    """).result
    expected = {k: v[:8] for k, v in rows.items()}
    assert got["splits"] == ["test", "train"]
    assert got["train"] == expected and got["test"] == {k: v[8:] for k, v in rows.items()}
    assert "README.md" in got["files"] and any(f.endswith(".parquet") for f in got["files"])
    # The dataset-typed routes were used: preupload, LFS batch (parquet is LFS), commit with a parent, resolve.
    hub_server.assert_requested("POST", f"/api/datasets/{repo}/preupload/main", status=200, since=mark)
    hub_server.assert_requested("POST", f"/datasets/{repo}.git/info/lfs/objects/batch", status=200, since=mark)
    hub_server.assert_requested("POST", f"/api/datasets/{repo}/commit/main", status=200, since=mark)
    hub_server.assert_requested("GET", f"/datasets/{repo}/resolve/", status=200, since=mark)

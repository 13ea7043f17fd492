"""Every mthub model family through the hub (issue 4 acceptance), with the unmodified client in fresh processes.

One process pushes, for every family, the processor and two versions of a tiny model
(:func:`~mthub.testing.roundtrip.push_family_versions`); another fresh process loads them with ``AutoModel`` and
the family's processor Auto class at ``main`` and at the older commit and downloads snapshots
(:func:`~mthub.testing.roundtrip.pull_family_versions`). Two processes serve all families because each start
imports torch + transformers + mthub (seconds); failures are still reported per family. Outputs travel as
safetensors files and are compared here. Families come from the registry: one added later is tested without edits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

import mthub
from mthub.testing.hub import run_client

FAMILIES = mthub.list_model_families()


@dataclass
class RoundTrip:
    repo_id: str
    work_dir: Path
    pushed: dict
    pulled: dict | None


@pytest.fixture(scope="module")
def round_trips(hub_server, tmp_path_factory) -> tuple[dict[str, RoundTrip], int]:
    """Push every family from one fresh process, then load every family from another; returns the per-family
    results and the access-log mark taken before the first push."""
    work = tmp_path_factory.mktemp("family-roundtrip")
    repos = {model_type: f"{hub_server.user}/roundtrip-{model_type.replace('_', '-')}" for model_type in FAMILIES}
    for model_type in FAMILIES:
        (work / model_type).mkdir()
    mark = hub_server.access_log_mark()
    push_jobs = {t: {"model_type": t, "repo_id": repos[t], "work_dir": str(work / t)} for t in FAMILIES}
    pushed = run_client(f"""
        from mthub.testing.roundtrip import push_family_versions, run_each
        emit(run_each(push_family_versions, {push_jobs!r}))
    """, hub_server, timeout=120 + 60 * len(FAMILIES)).result
    pull_jobs = {
        t: {
            "repo_id": repos[t],
            "older_revision": pushed[t]["commits"]["v1"],
            "work_dir": str(work / t),
            "auto_class": mthub.get_family(t).processor_auto_class,
        }
        for t in FAMILIES
        if "error" not in pushed[t]
    }
    pulled = run_client(f"""
        from mthub.testing.roundtrip import pull_family_versions, run_each
        emit(run_each(pull_family_versions, {pull_jobs!r}))
    """, hub_server, timeout=120 + 60 * len(FAMILIES)).result
    return {t: RoundTrip(repos[t], work / t, pushed[t], pulled.get(t)) for t in FAMILIES}, mark


def _read(path: Path) -> dict[str, np.ndarray]:
    assert path.exists(), f"{path} was not written by the client process"
    return load_file(str(path))


def _assert_same_outputs(got: dict[str, np.ndarray], expected: dict[str, np.ndarray], what: str) -> None:
    assert sorted(got) == sorted(expected), f"{what}: output names differ"
    for name, value in expected.items():
        # Same weights, same inputs, same machine and thread count: loading must reproduce the outputs exactly.
        np.testing.assert_array_equal(got[name], value, err_msg=f"{what}: {name}")


def _max_abs_difference(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    return max(float(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)).max(initial=0.0)) for k in a)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.slow  # two fresh processes importing torch + transformers + mthub (shared by all families)
@pytest.mark.parametrize("model_type", FAMILIES)
def test_family_push_and_from_pretrained(model_type, round_trips, hub_server):
    results, mark = round_trips
    trip = results[model_type]
    family = mthub.get_family(model_type)
    assert "error" not in trip.pushed, f"pushing {model_type} failed:\n{trip.pushed.get('error')}"
    assert "error" not in trip.pulled, f"loading {model_type} failed:\n{trip.pulled.get('error')}"
    pushed, pulled, work, repo_id = trip.pushed, trip.pulled, trip.work_dir, trip.repo_id
    commits = pushed["commits"]

    # Model: main gives version 2, revision=<older commit sha> gives version 1, and the versions really differ.
    assert pulled["model_class"] == pushed["model_class"] == family.model_class.__name__
    v1, v2 = _read(work / "v1.safetensors"), _read(work / "v2.safetensors")
    _assert_same_outputs(_read(work / "main.safetensors"), v2, f"{model_type} at main")
    _assert_same_outputs(_read(work / "older.safetensors"), v1, f"{model_type} at {commits['v1']}")
    assert _max_abs_difference(v1, v2) > 1e-4, "version 2 has the same outputs as version 1: the check would be void"
    assert len(set(commits.values())) == len(commits)

    # Processor: same class and settings through the family's Auto class, same outputs on the same raw sample.
    if family.processor_class is not None:
        assert pulled["processor_class"] == pushed["processor_class"] == family.processor_class.__name__
        assert pulled["processor"] == pushed["processor"]
        if (work / "processor_outputs.safetensors").exists():
            _assert_same_outputs(
                _read(work / "processor_loaded.safetensors"),
                _read(work / "processor_outputs.safetensors"),
                f"{model_type} processor",
            )

    # snapshot_download returns every file, byte-identical to a local save_pretrained, at both revisions.
    for version, revision in (("v2", "main"), ("v1", "older")):
        expected = {**pushed["files"][version], "README.md": _sha256(pushed["card"])}
        snapshot = pulled["snapshots"][revision]
        assert set(snapshot) == set(expected) | {".gitattributes"}, f"snapshot at {revision}"
        assert {name: snapshot[name] for name in expected} == expected, f"snapshot at {revision}"
        assert {"config.json", "README.md"} <= set(snapshot)
        assert any(name.endswith(".safetensors") for name in snapshot)
        if family.processor_class is not None:
            assert pushed["processor_files"] and set(pushed["processor_files"]) <= set(snapshot)
    assert sorted(pulled["info"]["siblings"]) == sorted(pulled["snapshots"]["main"])
    assert pulled["info"]["sha"] == commits["v2"]

    # The README is mthub's generated card (not transformers' generic one written by the processor push).
    assert pulled["readme"] == pushed["card"]
    assert "import mthub" in pulled["readme"] and "🤗 transformers model" not in pulled["readme"]
    assert {"mthub", model_type} <= set(pulled["info"]["tags"])

    # The requests reached the server: one commit per push, LFS uploads, downloads of the older revision.
    commit_requests = hub_server.find_requests("POST", f"/api/models/{repo_id}/commit/main", 200, since=mark)
    assert len(commit_requests) == len(commits)
    hub_server.assert_requested("POST", f"/{repo_id}.git/info/lfs/objects/batch", 200, since=mark)
    hub_server.assert_requested("PUT", "/api/mthub/lfs/models/", 200, since=mark)
    hub_server.assert_requested("GET", f"/api/models/{repo_id}", 200, since=mark)  # transformers resolves main → sha
    for version in ("v1", "v2"):
        for name in pushed["files"][version]:
            if name.endswith(".safetensors"):
                hub_server.assert_requested("GET", f"/{repo_id}/resolve/{commits[version]}/{name}", 200, since=mark)

"""NYUD-v2 (both layouts) and PASCAL-Context builders read their code-generated fixtures exactly, report bad
samples with path and reason, raise under strict=True, and reject wrong directory layouts."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from mthub.data.builders import NYUDv2, PASCALContext, decode_dense_example, read_report
from mthub.data.errors import CorruptSampleError, DatasetLayoutError
from mthub.data.transforms.dense import PASCAL_CROP_SIZE, dense_train_transforms
from mthub.testing.fixtures import corrupt_file, write_nyud_atrc, write_nyud_mt, write_pascal_context

WRITERS = {"nyud_mt": write_nyud_mt, "atrc": write_nyud_atrc}


def _prepare(builder_cls, data_dir, cache_dir, **kwargs):
    b = builder_cls(data_dir=str(data_dir), cache_dir=str(cache_dir), **kwargs)
    b.download_and_prepare()
    return b


def _rows(builder, split, fmt=None):
    ds = builder.as_dataset(split=split)
    if fmt:
        ds = ds.with_format(fmt)
    return {ex["id"] if isinstance(ex["id"], str) else str(ex["id"]): decode_dense_example(ex) for ex in ds}


def _assert_same(got, expected, tasks):
    np.testing.assert_array_equal(got["image"], expected["image"])
    assert (int(got["height"]), int(got["width"])) == expected["image"].shape[:2]
    for t in tasks:
        if expected[t] is None:
            assert got[t] is None, t
        else:
            assert got[t].dtype == expected[t].dtype, t
            np.testing.assert_array_equal(got[t], expected[t], err_msg=t)


# ------------------------------------------------------------------------------------------------- NYUD
@pytest.mark.parametrize("layout", ["nyud_mt", "atrc"])
def test_nyud_reads_fixture_exactly(tmp_path, layout):
    fx = WRITERS[layout](tmp_path / "data", n_train=2, n_val=1, size=(24, 32))
    # data_dir = the folder containing NYUD_MT/ or NYUDv2/, layout auto-detected
    b = _prepare(NYUDv2, tmp_path / "data", tmp_path / "cache")
    assert set(b.info.splits) == {"train", "val"}
    for split, ids in fx.splits.items():
        rows = _rows(b, split, fmt="numpy")
        assert sorted(rows) == sorted(ids)
        for sid in ids:
            _assert_same(rows[sid], fx.expected[sid], NYUDv2.TASKS)
    # value mappings: void 0 -> 255, classes 1..40 -> 0..39; depth zeros kept for AddIgnoreRegions
    ex = fx.expected[fx.splits["train"][0]]
    assert ex["semseg"][0, 0] == 255 and ex["semseg"][0, 1] == 0 and ex["semseg"][0, 2] == 39
    assert read_report(b).counts == {"train": 0, "val": 0}


def test_nyud_explicit_layout_root_dir_and_task_subset(tmp_path):
    fx = write_nyud_atrc(tmp_path, n_train=1, n_val=1, size=(16, 20))
    b = _prepare(NYUDv2, fx.root, tmp_path / "cache", layout="atrc", tasks=("depth", "semseg"))
    ds = b.as_dataset(split="val")
    assert set(ds.column_names) == {"id", "image", "height", "width", "semseg", "depth"}
    got = decode_dense_example(ds.with_format("torch")[0])
    np.testing.assert_array_equal(got["depth"], fx.expected[fx.splits["val"][0]]["depth"])
    with pytest.raises(ValueError, match="unknown task 'sal'"):
        NYUDv2(data_dir=str(fx.root), cache_dir=str(tmp_path / "c2"), tasks=("sal",))
    with pytest.raises(ValueError, match="layout must be one of"):
        NYUDv2(data_dir=str(fx.root), cache_dir=str(tmp_path / "c3"), layout="nyu")


@pytest.mark.parametrize(
    ("key", "mode", "reason"),
    [
        ("depth", "garbage", "cannot load .npy"),
        ("image", "truncate", "cannot decode image"),
        ("edge", "delete", "file not found"),
    ],
)
def test_nyud_bad_file_is_reported_and_skipped(tmp_path, key, mode, reason):
    fx = write_nyud_mt(tmp_path / "data", n_train=3, n_val=1, size=(24, 32))
    bad_id = fx.splits["train"][1]
    bad_path = corrupt_file(fx.path(bad_id, key), mode)
    b = _prepare(NYUDv2, tmp_path / "data", tmp_path / "cache")
    rows = _rows(b, "train")
    assert sorted(rows) == sorted(set(fx.splits["train"]) - {bad_id})
    report = read_report(b)
    assert report.counts == {"train": 1, "val": 0}
    (rec,) = report.records
    assert (rec.split, rec.path, rec.id) == ("train", str(bad_path), bad_id)
    assert reason in rec.reason
    assert report.path.parent == b.report_path.parent and report.path.is_file()
    # the same report is reachable from the Dataset / DatasetDict objects
    assert read_report(b.as_dataset(split="train")).records == [rec]
    assert read_report(b.as_dataset(split="val")).counts == {"val": 0}
    assert read_report(b.as_dataset()).counts == {"train": 1, "val": 0}


def test_nyud_strict_raises_naming_the_file(tmp_path):
    fx = write_nyud_mt(tmp_path / "data", n_train=2, n_val=1, size=(16, 20))
    bad = corrupt_file(fx.path(fx.splits["val"][0], "normals"), "garbage")
    with pytest.raises(CorruptSampleError) as err:
        _prepare(NYUDv2, tmp_path / "data", tmp_path / "cache", strict=True)
    assert err.value.path == str(bad) and str(bad) in str(err.value)
    # A cache prepared non-strictly (which skipped the sample) is not silently accepted by strict=True either.
    _prepare(NYUDv2, tmp_path / "data", tmp_path / "cache2")
    with pytest.raises(CorruptSampleError, match="strict=True"):
        _prepare(NYUDv2, tmp_path / "data", tmp_path / "cache2", strict=True)


def test_nyud_shape_and_value_problems_are_bad_samples(tmp_path):
    fx = write_nyud_mt(tmp_path / "data", n_train=2, n_val=1, size=(16, 20))
    np.save(fx.path(fx.splits["train"][0], "depth"), np.ones((8, 8), np.float32))
    from PIL import Image

    Image.fromarray(np.full((16, 20), 41, np.uint8)).save(fx.path(fx.splits["train"][1], "semseg"))
    b = _prepare(NYUDv2, tmp_path / "data", tmp_path / "cache")
    reasons = {r.id: r.reason for r in read_report(b).records}
    assert "(8, 8)" in reasons[fx.splits["train"][0]] and "(16, 20)" in reasons[fx.splits["train"][0]]
    assert "0..40" in reasons[fx.splits["train"][1]]
    assert b.info.splits["train"].num_examples == 0


def test_nyud_wrong_layout_names_expected_paths(tmp_path):
    fx = write_nyud_mt(tmp_path / "data", n_train=1, n_val=1, size=(16, 20))
    shutil.rmtree(fx.root / "depth")
    with pytest.raises(DatasetLayoutError) as err:
        _prepare(NYUDv2, fx.root, tmp_path / "cache")
    assert "MISSING depth/" in str(err.value) and str(fx.root) in str(err.value)
    assert err.value.missing == ["depth/"]
    # without the depth task the same folder is fine
    b = _prepare(NYUDv2, fx.root, tmp_path / "cache", tasks=("semseg", "normals", "edge"))
    assert b.info.splits["train"].num_examples == 1

    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetLayoutError) as err:
        _prepare(NYUDv2, tmp_path / "empty", tmp_path / "cache3")
    assert isinstance(err.value, FileNotFoundError)
    assert "NYUD_MT/gt_sets/" in str(err.value) and "NYUDv2/gt_sets/" in str(err.value)


# ----------------------------------------------------------------------------------------------- PASCAL
@pytest.mark.parametrize("root_name", ["PASCAL_MT", "PASCALContext"])
def test_pascal_reads_fixture_exactly(tmp_path, root_name):
    fx = write_pascal_context(tmp_path / "data", n_train=2, n_val=2, size=(24, 30), root_name=root_name)
    b = _prepare(PASCALContext, tmp_path / "data", tmp_path / "cache")
    for split, ids in fx.splits.items():
        rows = _rows(b, split, fmt="numpy")
        assert sorted(rows) == sorted(ids)
        for sid in ids:
            _assert_same(rows[sid], fx.expected[sid], PASCALContext.TASKS)
    rows = {**_rows(b, "train"), **_rows(b, "val")}
    ids = fx.ids
    # human parts: person images have labels in 0..6 (head 1, torso 2, upper arm 3); no person -> missing
    assert set(np.unique(rows[ids[0]]["human_parts"]).tolist()) == {0, 1, 2, 3}
    assert rows[ids[1]]["human_parts"] is None and rows[ids[3]]["human_parts"] is None
    # semseg/VOC12 wins over semseg/pascal-context (which holds a constant 7 for ids[0])
    assert not (rows[ids[0]]["semseg"] == 7).all()
    assert 255 in rows[ids[1]]["semseg"]  # fallback file read, ignore value kept
    # normals: kept on chair / tvmonitor pixels, zero on aeroplane pixels
    lm = fx.expected[ids[0]]["label_map"]
    n = rows[ids[0]]["normals"]
    assert (n[lm == 2] == 0).all() and (np.linalg.norm(n[lm == 72], axis=-1) > 0.5).all()
    assert (np.linalg.norm(n[lm == 427], axis=-1) > 0.5).all()
    # saliency and edges are binary
    assert set(np.unique(rows[ids[0]]["sal"]).tolist()) <= {0, 1}


def test_pascal_edge_is_one_pixel_thin_on_the_boundary(tmp_path):
    fx = write_pascal_context(tmp_path / "data", n_train=1, n_val=1, size=(24, 30))
    b = _prepare(PASCALContext, tmp_path / "data", tmp_path / "cache", tasks=("edge",))
    sid = fx.splits["train"][0]
    edge = _rows(b, "train")[sid]["edge"]
    lm = fx.expected[sid]["label_map"]
    boundary = int(np.argmax(lm[0] != lm[0, 0]))  # first aeroplane column
    # Rows away from the tvmonitor block and the image border: exactly one edge pixel, next to the boundary.
    for r in range(1, 24 - 24 // 4 - 2):
        cols = np.flatnonzero(edge[r])
        assert len(cols) == 1 and cols[0] in (boundary - 1, boundary), (r, cols)


def test_pascal_parts_mat_reads_with_the_official_positional_indexing(tmp_path):
    """The fixture's ``anno`` struct is what the official loaders index positionally (tif.md §5.2 C)."""
    from scipy.io import loadmat

    from mthub.data.builders._pascal_meta import HUMAN_PART_TO_LABEL

    fx = write_pascal_context(tmp_path / "data", n_train=2, n_val=0, size=(24, 30))
    b = _prepare(PASCALContext, tmp_path / "data", tmp_path / "cache", tasks=("human_parts",))
    rows = _rows(b, "train")
    for sid in fx.splits["train"]:
        objects = loadmat(fx.path(sid, "human_parts"))["anno"][0][0][1][0]
        target = None
        for obj in objects:
            if obj[1][0][0] == 15 and len(obj[3]) != 0:
                target = np.zeros(obj[2].shape, np.uint8) if target is None else target
                for k in range(len(obj[3][0])):
                    target[obj[3][0][k][1].astype(bool)] = HUMAN_PART_TO_LABEL[str(obj[3][0][k][0][0])]
        if target is None:
            assert sid not in rows  # human_parts-only: images without persons are left out
        else:
            np.testing.assert_array_equal(rows[sid]["human_parts"], target)
            assert set(np.unique(target).tolist()) <= set(range(7))


def test_pascal_human_parts_only_drops_images_without_persons(tmp_path):
    fx = write_pascal_context(tmp_path / "data", n_train=4, n_val=1, size=(24, 30))
    b = _prepare(PASCALContext, tmp_path / "data", tmp_path / "cache", tasks=("parts",))
    rows = _rows(b, "train")
    assert sorted(rows) == [fx.splits["train"][0], fx.splits["train"][2]]  # the even ones have a person
    assert all(r["human_parts"] is not None for r in rows.values())
    assert read_report(b).counts == {"train": 0, "val": 0}  # a documented filter, not bad data


def test_pascal_corrupt_parts_mat_is_reported_and_strict_raises(tmp_path):
    fx = write_pascal_context(tmp_path / "data", n_train=2, n_val=1, size=(24, 30))
    bad_id = fx.splits["train"][0]
    bad = corrupt_file(fx.path(bad_id, "human_parts"), "truncate")
    b = _prepare(PASCALContext, tmp_path / "data", tmp_path / "cache")
    (rec,) = read_report(b).records
    assert (rec.path, rec.split, rec.id) == (str(bad), "train", bad_id) and "cannot load .mat" in rec.reason
    assert sorted(_rows(b, "train")) == [fx.splits["train"][1]]
    with pytest.raises(CorruptSampleError) as err:
        _prepare(PASCALContext, tmp_path / "data", tmp_path / "cache_strict", strict=True)
    assert err.value.path == str(bad)


def test_pascal_wrong_layout(tmp_path):
    fx = write_pascal_context(tmp_path / "data", n_train=1, n_val=1, size=(24, 30))
    shutil.rmtree(fx.root / "sal_distill")
    with pytest.raises(DatasetLayoutError, match="MISSING sal_distill/"):
        _prepare(PASCALContext, tmp_path / "data", tmp_path / "cache")
    with pytest.raises(DatasetLayoutError, match="PASCAL_MT/JPEGImages/"):
        _prepare(PASCALContext, tmp_path / "nowhere", tmp_path / "cache")


def test_missing_float_map_round_trips_as_none():
    import datasets as hfds

    from mthub.data.builders.dense_schema import dense_features, encode_flat

    feats = dense_features(["depth", "normals"])
    depth = np.arange(6, dtype=np.float32).reshape(2, 3)
    rows = [
        {"id": "a", "image": np.zeros((2, 3, 3), np.uint8), "height": 2, "width": 3,
         "depth": encode_flat(depth, 1), "normals": encode_flat(None, 3)},
    ]
    ds = hfds.Dataset.from_list(rows, features=feats)
    for fmt in (None, "numpy", "torch"):
        ex = decode_dense_example(ds.with_format(fmt)[0])
        np.testing.assert_array_equal(ex["depth"], depth)
        assert ex["normals"] is None and ex["image"].shape == (2, 3, 3)


def test_decoded_example_feeds_the_train_transforms(tmp_path):
    write_pascal_context(tmp_path / "data", n_train=2, n_val=1, size=(24, 30))
    b = _prepare(PASCALContext, tmp_path / "data", tmp_path / "cache")
    ds = b.as_dataset(split="train").with_format("numpy")
    tf = dense_train_transforms((16, 16), generator=torch.Generator().manual_seed(0), fill_missing=("human_parts",))
    for ex in ds:
        out = tf(decode_dense_example(ex))
        assert out["image"].shape == (3, 16, 16) and out["image"].dtype == torch.float32
        assert out["semseg"].shape == (1, 16, 16) and out["semseg"].dtype == torch.int64
        assert out["normals"].shape == (3, 16, 16) and out["human_parts"].shape == (1, 16, 16)
    assert PASCAL_CROP_SIZE == (512, 512)

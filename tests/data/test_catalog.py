"""The dataset catalog: explicit registration, close-match errors, load() over the builders."""

from __future__ import annotations

import datasets
import numpy as np
import pytest

from mthub.data.builders import NYUDv2, decode_dense_example, read_report
from mthub.data.catalog import (
    UnknownDatasetError,
    get_dataset_entry,
    list_datasets,
    load,
    load_builder,
    register_dataset,
    unregister_dataset,
)
from mthub.data.errors import CorruptSampleError, DatasetLayoutError, MTHubDataError
from mthub.testing.fixtures import corrupt_file, write_nyud_mt


class _Squares(datasets.GeneratorBasedBuilder):
    """A minimal real builder: n rows of (x, x²)."""

    VERSION = datasets.Version("0.0.1")

    def _info(self):
        feats = datasets.Features({"x": datasets.Value("int32"), "y": datasets.Value("int32")})
        return datasets.DatasetInfo(features=feats)

    def _split_generators(self, dl_manager):
        return [datasets.SplitGenerator(name="train", gen_kwargs={"n": 4})]

    def _generate_examples(self, n):
        for x in range(n):
            yield x, {"x": x, "y": x * x}


@pytest.fixture
def squares():
    register_dataset("test_squares", _Squares, description="squares", tasks=("y",))
    yield "test_squares"
    unregister_dataset("test_squares")


def test_builtins_are_listed():
    names = list_datasets()
    assert {"nyud_v2", "pascal_context"} <= set(names) and names == sorted(names)
    e = get_dataset_entry("pascal_context")
    assert e.tasks == ("semseg", "human_parts", "normals", "sal", "edge") and e.description
    assert get_dataset_entry("nyud_v2").builder_cls is NYUDv2


def test_unknown_name_lists_close_matches():
    with pytest.raises(UnknownDatasetError) as err:
        load("nyud_v3", data_dir="/nonexistent")
    msg = str(err.value)
    assert "unknown dataset 'nyud_v3'" in msg and "Did you mean 'nyud_v2'" in msg
    assert "pascal_context" in msg  # all registered names are listed too
    assert isinstance(err.value, KeyError) and isinstance(err.value, MTHubDataError)
    assert err.value.suggestions == ["nyud_v2"]
    assert "Did you mean 'pascal_context'" in str(UnknownDatasetError("pascal-contxt", list_datasets()))


def test_registration_rules(squares, tmp_path):
    assert squares in list_datasets()
    register_dataset("test_squares", _Squares, description="squares", tasks=("y",))  # identical: no-op
    with pytest.raises(ValueError, match="already registered"):
        register_dataset("test_squares", NYUDv2)
    with pytest.raises(ValueError, match="already registered"):
        register_dataset("test_squares", _Squares, description="other")
    register_dataset("test_squares", _Squares, description="v2", overwrite=True)
    assert get_dataset_entry("test_squares").description == "v2"
    with pytest.raises(ValueError, match="dataset name"):
        register_dataset("Bad Name", _Squares)
    with pytest.raises(TypeError, match="DatasetBuilder subclass"):
        register_dataset("not_a_builder", dict)
    with pytest.raises(UnknownDatasetError):
        unregister_dataset("never_registered")
    ds = load(squares, cache_dir=str(tmp_path / "cache"), split="train")
    assert ds["y"] == [0, 1, 4, 9]
    with pytest.raises(ValueError, match="strict=True needs an mthub builder"):
        load(squares, cache_dir=str(tmp_path / "cache"), strict=True)


def test_load_nyud_through_the_catalog(tmp_path):
    fx = write_nyud_mt(tmp_path / "data", n_train=2, n_val=1, size=(16, 20))
    dd = load("nyud_v2", data_dir=str(tmp_path / "data"), cache_dir=str(tmp_path / "cache"), tasks=("semseg", "depth"))
    assert isinstance(dd, datasets.DatasetDict) and set(dd) == {"train", "val"}
    assert dd["train"].num_rows == 2 and "normals" not in dd["train"].column_names
    ex = decode_dense_example(dd["val"][0])
    np.testing.assert_array_equal(ex["semseg"], fx.expected[ex["id"]]["semseg"])
    ds = load("nyud_v2", data_dir=str(tmp_path / "data"), cache_dir=str(tmp_path / "cache"), split="train[:1]",
              tasks=("semseg", "depth"))
    assert ds.num_rows == 1

    # strict passes through the catalog, and the report is reachable from what load() returns
    bad = corrupt_file(fx.path(fx.splits["train"][0], "image"), "garbage")
    with pytest.raises(CorruptSampleError) as err:
        load("nyud_v2", data_dir=str(tmp_path / "data"), cache_dir=str(tmp_path / "c2"), strict=True)
    assert err.value.path == str(bad)
    ds = load("nyud_v2", data_dir=str(tmp_path / "data"), cache_dir=str(tmp_path / "c3"), split="train")
    assert ds.num_rows == 1 and read_report(ds).counts == {"train": 1}
    ds = load("nyud_v2", data_dir=str(tmp_path / "data"), cache_dir=str(tmp_path / "c3"), split="train[:1]+val")
    report = read_report(ds)
    assert report.counts == {"train": 1, "val": 0} and report.records[0].path == str(bad)
    b = load_builder("nyud_v2", str(tmp_path / "data"), cache_dir=str(tmp_path / "c3"))
    assert isinstance(b, NYUDv2) and not b.strict
    with pytest.raises(DatasetLayoutError):
        load("pascal_context", data_dir=str(tmp_path / "data"), cache_dir=str(tmp_path / "c4"))


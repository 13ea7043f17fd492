"""The naming and serialisation contract: task specs, mthub_version, migrations, registry look-ups."""

from __future__ import annotations

import json

import pytest

import mthub
from mthub.configuration_utils import MTHubConfig, TaskSpec, migrate_config_dict, register_config_migration
from mthub.models.tiny_mt import TinyMTConfig


def test_task_spec_validation_names_the_problem():
    with pytest.raises(ValueError, match="unknown kind 'dense'"):
        TaskSpec(name="depth", kind="dense", num_outputs=1)
    with pytest.raises(ValueError, match="num_outputs=3 but 2 label names"):
        TaskSpec(name="seg", kind="dense_classification", num_outputs=3, labels=["a", "b"])
    with pytest.raises(ValueError, match="unknown fields \\['colour'\\]"):
        TaskSpec.coerce({"name": "x", "kind": "classification", "num_outputs": 2, "colour": 1})
    with pytest.raises(ValueError, match="Duplicate task names \\['a'\\]"):
        TinyMTConfig(tasks=[{"name": "a", "kind": "classification", "num_outputs": 2}] * 2)


def test_two_label_maps_live_side_by_side(tmp_path):
    config = TinyMTConfig(action_labels=["run", "walk"], segmentation_labels=["bg", "person", "car", "dog"])
    config.save_pretrained(tmp_path)
    stored = json.loads((tmp_path / "config.json").read_text())
    assert stored["model_type"] == "mthub_tiny_mt"
    assert stored["mthub_version"] == mthub.__version__
    reloaded = TinyMTConfig.from_pretrained(tmp_path)
    assert reloaded.task("action").id2label == {0: "run", 1: "walk"}
    assert reloaded.task("segmentation").label2id["dog"] == 3
    assert reloaded.task("segmentation").ignore_index == 255
    with pytest.raises(KeyError, match="its tasks are \\['action', 'segmentation'\\]"):
        reloaded.task("depth")


def test_migrations_apply_to_older_configs_only():
    calls = []

    @register_config_migration("mthub_tiny_mt", "0.0.5")
    def _rename(config_dict):
        calls.append(config_dict.get("mthub_version"))
        config_dict["hidden_size"] = config_dict.pop("width", config_dict.get("hidden_size"))
        return config_dict

    old = migrate_config_dict({"mthub_version": "0.0.1", "width": 48}, "mthub_tiny_mt")
    assert old["hidden_size"] == 48 and calls == ["0.0.1"]
    current = migrate_config_dict({"mthub_version": mthub.__version__, "hidden_size": 8}, "mthub_tiny_mt")
    assert current["hidden_size"] == 8 and calls == ["0.0.1"]
    with pytest.raises(ValueError, match="newer than the installed mthub"):
        migrate_config_dict({"mthub_version": "99.0"}, "mthub_tiny_mt")


def test_presets_and_families_registry():
    assert "mthub_tiny_mt" in mthub.list_model_families()
    assert "tiny-mt" in mthub.list_presets()
    assert mthub.get_preset("mthub/tiny-mt").hub_id == "mthub/tiny-mt"
    config = mthub.preset_config("tiny-mt", hidden_size=64)
    assert isinstance(config, MTHubConfig) and config.hidden_size == 64
    with pytest.raises(KeyError, match="Closest names: \\['tiny-mt'"):
        mthub.preset_config("tiny-mtt")
    for family in mthub.list_model_families():
        assert family.startswith("mthub_")


def test_unknown_model_type_error_names_the_package(tmp_path):
    from tests.helpers import run_python

    TinyMTConfig().save_pretrained(tmp_path)
    out = run_python(
        "from transformers import AutoConfig\n"
        f"try:\n    AutoConfig.from_pretrained({str(tmp_path)!r})\nexcept Exception as e:\n    print(e)\n"
    )
    assert "mthub_tiny_mt" in out

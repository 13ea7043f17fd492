"""Converting official Ego4D TS checkpoints: synthetic files in each official layout (Lightning ``.ckpt`` whose
``hyper_parameters`` pickle an ``argparse.Namespace`` and a class from a module that cannot be imported; the social
``.pth`` files; TalkNet's flat dict) convert under the safe loader with no missing or unexpected keys, give the
same outputs as the source model, and converting again is a no-op."""

from __future__ import annotations

import argparse
import os
import re
import sys
import types

import pytest
import torch
from transformers import AutoModel

from mthub.conversion import find_stubs, safe_load_checkpoint
from mthub.conversion.ego4d_ts import (
    convert_ego4d_ts_checkpoint,
    ego4d_ts_checkpoint_filter_fn,
    main,
)
from mthub.models.ego4d_ts import (
    EGO4D_TASKS,
    Ego4DTSModel,
    example_inputs,
    tiny_ego4d_ts_config,
)

_ASD_NAMES = {
    "visual_frontend": "visualFrontend", "visual_tcn": "visualTCN", "visual_conv1d": "visualConv1D",
    "audio_encoder": "audioEncoder", "cross_a2v": "crossA2V", "cross_v2a": "crossV2A", "self_av": "selfAV",
}


def _official_key(task: str, key: str) -> str:
    """The released checkpoints' name of an mthub key (written independently of the converter's rules)."""
    key = key.removeprefix("net.")
    if task in ("pnr", "oscc"):
        head = "Keyframe_localisation_head" if task == "pnr" else "State_detection_head"
        return key.removeprefix("backbone.") if key.startswith("backbone.") else key.replace("head.", f"{head}.", 1)
    if task == "ar":
        return key.removeprefix("backbone.")
    if task == "lta":
        return key.replace("backbone.head.projections.0.", "backbone.head.projection.")
    if task in ("lam", "ttm"):
        branch = "base_model" if task == "lam" else "video_encoder"
        key = key.replace(f"{branch}.resnet.fc.", f"{branch}.fc1.").replace(f"{branch}.resnet.", f"{branch}.")
        return key.replace("lstm.lstm.", "lstm.")
    top, _, rest = key.partition(".")
    return f"{_ASD_NAMES.get(top, top)}.{rest}"


@pytest.fixture()
def unimportable_config_class():
    """A ``CfgNode``-like class whose module disappears before loading (as yacs on a machine without it)."""
    module = types.ModuleType("ego4d_missing_config_module")
    cls = type("CfgNode", (dict,), {"__module__": module.__name__})
    module.CfgNode = cls
    sys.modules[module.__name__] = module
    yield cls
    sys.modules.pop(module.__name__, None)


class _RunsCode:
    """An object whose unpickling would run a shell command: the safe loader must not execute it."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _official_checkpoint(task: str, model: Ego4DTSModel, cfg_cls, marker) -> dict:
    tensors = {_official_key(task, k): v.clone() for k, v in model.state_dict().items()}
    if task in ("pnr", "oscc", "ar", "lta"):  # Lightning: model.* + pickled configs
        state = {f"model.{k}": v for k, v in tensors.items()}
        if task == "lta":
            state["model.clip_aggregator.pos_encoder.pe"] = torch.zeros(1000, 1, model.config.lta_feature_dim)
        cfg = cfg_cls(MODEL={"ARCH": "slow_layer5"})
        return {
            "epoch": 3, "global_step": 100, "pytorch-lightning_version": "1.6.4", "state_dict": state,
            "hyper_parameters": {"cfg": cfg, "args": argparse.Namespace(lr=1e-4, tasks=["pnr"]), "hook": _RunsCode(marker)},
            "optimizer_states": [{"state": {}, "param_groups": [{"lr": 1e-4}]}],
        }
    if task in ("lam", "ttm"):  # EGO4D/social-interactions save_checkpoint under DataParallel
        state = {f"module.{k}": v for k, v in tensors.items()}
        if task == "ttm":
            state["module.audio_encoder.torchfb.0.flipped_filter"] = torch.tensor([[[-0.97, 1.0]]])
            state["module.audio_encoder.torchfb.1.mel_scale.fb"] = torch.zeros(257, model.config.n_mels)
        return {"epoch": 7, "state_dict": state, "mAP": 0.59}
    state = {k if k.startswith("loss") else f"model.{k}": v for k, v in tensors.items()}  # TalkNet saveParameters
    state["lossAV.criterion.weight"] = torch.tensor([1.0, 4.0])
    return state


@pytest.mark.parametrize("task", EGO4D_TASKS)
def test_official_layout_converts_exactly(task, tmp_path, unimportable_config_class):
    config = tiny_ego4d_ts_config(task)
    torch.manual_seed(0)
    source = Ego4DTSModel(config).eval()
    marker = tmp_path / "code_ran"
    path = tmp_path / "official.ckpt"
    torch.save(_official_checkpoint(task, source, unimportable_config_class, marker), path)
    sys.modules.pop(unimportable_config_class.__module__)  # the class can no longer be imported

    model, report = convert_ego4d_ts_checkpoint(path, task, config=config)
    assert report.ok, (report.missing_keys, report.unexpected_keys)
    assert not marker.exists(), "the safe loader executed pickled code"
    expected_dropped = {"lta": 1, "ttm": 2, "asd": 1}.get(task, 0)
    assert len(report.dropped_keys) == expected_dropped
    if task in ("pnr", "oscc", "ar", "lta"):
        assert "ego4d_missing_config_module.CfgNode" in report.stubbed_globals
        assert "posix.system" in report.stubbed_globals or "nt.system" in report.stubbed_globals
    inputs = example_inputs(config, 2)
    with torch.no_grad():
        expected, actual = source(**inputs).logits, model(**inputs).logits
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=0, atol=0)

    # converting again is a no-op: the filter keeps mthub keys, and re-converting gives the same weights
    converted = model.state_dict()
    again, dropped = ego4d_ts_checkpoint_filter_fn(converted, task)
    assert not dropped and again.keys() == converted.keys() and all(again[k] is converted[k] for k in converted)
    model2, report2 = convert_ego4d_ts_checkpoint(converted, task, config=config)
    assert report2.ok and not report2.dropped_keys
    for key, value in model2.state_dict().items():
        assert torch.equal(value, converted[key]), key


def test_safe_loader_keeps_config_contents_readable(tmp_path, unimportable_config_class):
    cfg = unimportable_config_class(MODEL={"ARCH": "slowfast"})
    cfg.frozen = True
    torch.save({"state_dict": {"w": torch.ones(1)}, "hyper_parameters": {"cfg": cfg, "args": argparse.Namespace(x=1)}}, tmp_path / "c.ckpt")
    sys.modules.pop(unimportable_config_class.__module__)
    loaded = safe_load_checkpoint(tmp_path / "c.ckpt")
    assert loaded.loader == "stub_unpickler"
    stub = loaded.data["hyper_parameters"]["cfg"]
    assert stub.stub_for == "ego4d_missing_config_module.CfgNode" and stub["MODEL"] == {"ARCH": "slowfast"}
    assert stub.state == {"frozen": True}
    assert loaded.data["hyper_parameters"]["args"] == argparse.Namespace(x=1)
    assert [s.stub_for for s in find_stubs(loaded.data)] == ["ego4d_missing_config_module.CfgNode"]
    # a checkpoint of tensors and a Namespace needs no stub: PyTorch's weights-only loader reads it
    torch.save({"state_dict": {"w": torch.ones(1)}, "args": argparse.Namespace(y=2)}, tmp_path / "plain.ckpt")
    assert safe_load_checkpoint(tmp_path / "plain.ckpt").loader == "weights_only"


def test_mismatched_checkpoint_is_an_error_naming_the_keys():
    config = tiny_ego4d_ts_config("oscc")
    state = {f"net.{k}": v for k, v in Ego4DTSModel(config).net.state_dict().items() if "head" not in k}
    with pytest.raises(KeyError, match=re.escape("net.head.projection.weight")):
        convert_ego4d_ts_checkpoint(state, "oscc", config=config)


def test_converted_model_round_trips_through_save_pretrained(tmp_path):
    config = tiny_ego4d_ts_config("asd")
    source = Ego4DTSModel(config).eval()
    state = {_official_key("asd", k) if k.startswith("net.lossA") else f"model.{_official_key('asd', k)}": v for k, v in source.state_dict().items()}
    convert_ego4d_ts_checkpoint(state, "asd", output_dir=tmp_path / "out", config=config)
    assert (tmp_path / "out" / "model.safetensors").is_file()
    loaded = AutoModel.from_pretrained(tmp_path / "out").eval()
    inputs = example_inputs(config, 1)
    with torch.no_grad():
        torch.testing.assert_close(loaded(**inputs).logits["asd"], source(**inputs).logits["asd"], rtol=0, atol=0)


def test_cli_rejects_an_unknown_task(capsys):
    with pytest.raises(SystemExit):
        main(["--task", "nope", "--checkpoint", "x.ckpt", "--output", "out"])
    assert "invalid choice" in capsys.readouterr().err

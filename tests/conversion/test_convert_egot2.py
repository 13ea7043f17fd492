"""Official EgoT2 checkpoints → mthub: parity of eval outputs (max |Δ| < 1e-5) for every translator with a released
checkpoint (TTM 2- and 3-task, PNR, OSCC, AR, LTA) and EgoT2-g HHI, built from stock torch modules with the
official attribute names and saved in the official Lightning layout; idempotence; safe loading; class detection."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModel

import mthub
from mthub.conversion.egot2 import convert_checkpoint, convert_state_dict, detect_preset, load_official_checkpoint
from mthub.models.egot2 import EgoT2Tokenizer
from tests.conversion import official_egot2 as off

B = 2
HHI_IDS = {"ttm": 0, "lam": 1, "asd": 2}


def _features(shapes: dict[str, tuple[int, ...]], seed: int = 1) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {name: torch.randn(shape, generator=generator) for name, shape in shapes.items()}


def _assert_close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert (actual - expected).abs().max().item() < 1e-5


def _convert(tmp_path, official_model, preset, overrides, **save_kwargs):
    path = off.save_lightning(tmp_path / "official.ckpt", off.randomize_(official_model).eval(), **save_kwargs)
    model, checkpoint, result = convert_checkpoint(path, preset, overrides)
    return model, checkpoint, result, path


HHI_SHAPES = {"ttm": (B, 5, 256), "lam": (B, 5, 256), "asd": (B, 5, 256)}


@pytest.mark.parametrize(
    "preset, ids, order",
    [("egot2-s-ttm", HHI_IDS, ("ttm", "lam", "asd")), ("egot2-s-ttm-lam", {"ttm": 0, "lam": 1}, ("ttm", "lam"))],
)
def test_ttm_parity(tmp_path, preset, ids, order):
    official = off.HHITranslator(32, 4, 1, 0.5, ids, order)
    model, checkpoint, result, _ = _convert(
        tmp_path, official, preset, {"hidden_size": 32},
        extra_top_level={"criterion.weight": torch.tensor([0.266, 0.734])}, ts={"lam_model": 3, "ttm_model": 3, "asd_model": 3},
    )
    assert sorted(checkpoint.ts_state_dicts) == ["asd_model", "lam_model", "ttm_model"]
    assert checkpoint.ignored == ["criterion.weight"]
    assert "pos_embed.pe" in result.dropped
    features = _features({k: v for k, v in HHI_SHAPES.items() if k in ids})
    with torch.no_grad():
        expected = official(features)
        actual = model(features=features).logits["ttm"]
    _assert_close(actual, expected)


def test_asd_parity_with_top_level_loss_module(tmp_path):
    official = off.HHITranslator(32, 4, 1, 0.1, HHI_IDS, ("asd", "ttm", "lam"), asd=True)
    loss_av = off.randomize_(off.LossAV(32), seed=5)
    extra = {f"lossAV.{k}": v for k, v in loss_av.state_dict().items()}
    model, checkpoint, _, _ = _convert(tmp_path, official, "egot2-s-asd", {"hidden_size": 32}, extra_top_level=extra)
    assert checkpoint.ignored == ["lossAV.criterion.weight"]
    features = _features(HHI_SHAPES)
    with torch.no_grad():
        expected = loss_av.FC(official(features))  # (B·T, 2)
        actual = model(features=features).logits["asd"]
    _assert_close(actual, expected)
    # the unused official clip head is kept (checkpoint compatibility, Table 3's count)
    torch.testing.assert_close(model.head.clip_classifier.weight, official.linear_head[1].weight, rtol=0, atol=0)


HOI_SHAPES = {"pnr": (B, 16, 8192), "oscc": (B, 16, 8192), "ar_slow": (B, 8, 2048), "ar_fast": (B, 8, 256)}


@pytest.mark.parametrize("preset, classes", [("egot2-s-pnr", 16), ("egot2-s-oscc", 2)])
def test_pnr_oscc_parity_with_yacs_hyper_parameters(tmp_path, preset, classes):
    official = off.HOIClipTranslator(32, 2, classes)
    cfg = off.yacs_like_cfg(TRANSLATION_INPUT_FEATURES=32, TRANSLATION_LAYERS=2, FEAT_DROPOUT_RATE=0.5)
    try:
        path = off.save_lightning(tmp_path / "official.ckpt", off.randomize_(official).eval(), hyper_parameters={"cfg": cfg},
                                  ts={"pnr_model": 3, "oscc_model": 3, "recognition_model": 3})
    finally:
        off.forget_yacs()  # the loader must stub the class: yacs is not importable now
    model, checkpoint, result = convert_checkpoint(path, preset, {"hidden_size": 32, "num_hidden_layers": 2, "ffn_dim": 64})
    assert "yacs.config.CfgNode" in checkpoint.stubbed
    assert checkpoint.hyper_parameters["cfg"]["MODEL"]["TRANSLATION_LAYERS"] == 2
    assert set(result.dropped) == {"linear_head.0.weight", "linear_head.0.bias"}  # the shared LayerNorm copy
    features = _features(HOI_SHAPES)
    with torch.no_grad():
        expected = official(features)
        actual = model(features=features).logits["pnr" if classes == 16 else "oscc"]
    _assert_close(actual, expected.reshape(B, classes))  # official (B, 1, 16) / (B, 2, 1)


def test_ar_parity(tmp_path):
    official = off.HOIClipTranslator(32, 2, (115, 478), ar=True)
    model, _, result, _ = _convert(tmp_path, official, "egot2-s-ar", {"hidden_size": 32, "num_hidden_layers": 2})
    assert {"linear_head1.0.weight", "linear_head2.0.weight"} <= set(result.dropped)
    features = _features(HOI_SHAPES)
    with torch.no_grad():
        verb, noun = official(features)
        logits = model(features=features).logits
    _assert_close(logits["action_verb"], verb)
    _assert_close(logits["action_noun"], noun)


def test_lta_parity_keeps_the_trainable_slowfast_head(tmp_path):
    official = off.LTATranslator(32)
    model, checkpoint, _, _ = _convert(tmp_path, official, "egot2-s-lta", {"hidden_size": 32}, ts={"action_model": 3, "lta_model": 3, "pnr_model": 3})
    # action_model.head.projection is translator, the rest of action_model is a frozen TS model
    assert "head.projection.weight" not in checkpoint.ts_state_dicts["action_model"]
    torch.testing.assert_close(model.embeddings.projections["ar_pooled"].weight, official.action_model.head.projection.weight, rtol=0, atol=0)
    features = _features({"pnr_clips": (B, 2, 8192), "oscc_clips": (B, 2, 8192), "ar_pooled": (B, 2, 2304), "lta": (B, 2, 2048)})
    with torch.no_grad():
        verb, noun = official(features)
        logits = model(features=features).logits
    _assert_close(logits["lta_verb"], verb)
    _assert_close(logits["lta_noun"], noun)


def test_egot2_g_hhi_parity_teacher_forced(tmp_path):
    tokenizer = EgoT2Tokenizer.hhi()
    official = off.HHIGeneralTranslator(32, 4, 1, 0.1, tokenizer.token_to_id)
    args = off.namespace(hidden_dim=32, num_heads=4, num_layers=1, dropout=0.1, lr=5e-4)
    model, checkpoint, _, _ = _convert(tmp_path, official, "egot2-g-hhi", {"hidden_size": 32}, hyper_parameters={"args": args})
    assert checkpoint.hyper_parameters["args"].num_heads == 4
    features = _features({"lam": (B, 5, 256), "ttm": (B, 5, 256), "asd": (B, 5, 256)})
    labels = {"lam": torch.tensor([0, 1]), "ttm": torch.tensor([1, 0]), "asd": torch.tensor([[0, 1, 1, 0, 1], [1, 1, 0, 0, 0]])}
    with torch.no_grad():
        logits = model(features=features, labels=labels).logits
        for task, label in labels.items():
            target = tokenizer.batch_encode(task, label)  # [prompt, label, </s>]
            expected = official(features, target[:, :-1], task)  # (B', V, L)
            _assert_close(logits[task].permute(0, 2, 1), expected)


def test_converting_twice_is_a_no_op_and_cli_round_trip(tmp_path):
    import importlib.util
    from pathlib import Path

    official = off.randomize_(off.HHITranslator(128, 4, 1, 0.5, HHI_IDS, ("ttm", "lam", "asd"))).eval()
    path = off.save_lightning(tmp_path / "ttm.ckpt", official, extra_top_level={"criterion.weight": torch.tensor([0.266, 0.734])})
    first = convert_state_dict(load_official_checkpoint(path).translator, "egot2-s-ttm", "ttm")
    second = convert_state_dict(first.state_dict, "egot2-s-ttm", "ttm")
    assert second.state_dict.keys() == first.state_dict.keys() and not second.dropped
    assert all(torch.equal(second.state_dict[k], v) for k, v in first.state_dict.items())

    script = Path(__file__).resolve().parents[2] / "conversion" / "convert_egot2.py"
    spec = importlib.util.spec_from_file_location("convert_egot2_cli", script)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = cli.main([str(path), str(tmp_path / "out")])  # preset detected: D=128, TTM/LAM/ASD projections
    saved = load_file(str(out / "model.safetensors"))
    assert not any(k.startswith("ts_models.") for k in saved)  # translator only
    assert convert_state_dict(saved, "egot2-s-ttm").state_dict.keys() == saved.keys()
    assert "cc-by-nc-sa-4.0" in (out / "README.md").read_text()
    loaded = AutoModel.from_pretrained(out, use_ts_models=False).eval()
    features = _features(HHI_SHAPES)
    with torch.no_grad():
        _assert_close(loaded(features=features).logits["ttm"], official(features))


def test_detect_preset_on_full_size_official_classes():
    with torch.device("meta"):
        cases = {
            "egot2-s-ttm": off.HHITranslator(128, 4, 1, 0.5, HHI_IDS, ("ttm", "lam", "asd")),
            "egot2-s-ttm-lam": off.HHITranslator(128, 4, 1, 0.5, {"ttm": 0, "lam": 1}, ("ttm", "lam")),
            "egot2-s-pnr": off.HOIClipTranslator(128, 6, 16),
            "egot2-s-oscc": off.HOIClipTranslator(256, 5, 2),
            "egot2-s-ar": off.HOIClipTranslator(128, 3, (115, 478), ar=True),
            "egot2-s-lta": off.LTATranslator(1024),
            "egot2-g-hhi": off.HHIGeneralTranslator(128, 4, 1, 0.1, EgoT2Tokenizer.hhi().token_to_id),
        }
        for preset, module in cases.items():
            assert detect_preset(dict(module.state_dict())) == preset
            config = mthub.preset_config(preset, use_ts_models=False)
            mapped = convert_state_dict(dict(module.state_dict()), preset, config.primary_task).state_dict
            expected = mthub.models.egot2.EgoT2Model(config).state_dict()
            assert mapped.keys() == expected.keys(), preset
            assert all(mapped[k].shape == expected[k].shape for k in mapped), preset


def test_unknown_official_tensor_is_an_error():
    translator = dict(off.HHITranslator(16, 2, 1, 0.1, HHI_IDS, ("ttm", "lam", "asd")).state_dict())
    translator["mystery.weight"] = torch.zeros(1)
    with pytest.raises(KeyError, match="mystery.weight"):
        convert_state_dict(translator, "egot2-s-ttm", "ttm")


def test_include_ts_loads_the_embedded_ts_backbones(tmp_path):
    """``model.lam_model.*`` of an official file (the LAMBackbone: ResNet-18 + fc2 + BiLSTM, no head) → the TS model."""
    from mthub.models.egot2 import EgoT2Model, tiny_egot2_config

    config = tiny_egot2_config("egot2-s-ttm", with_ts=True)
    torch.manual_seed(7)
    reference = EgoT2Model(config)
    official_lam = {}
    for key, value in reference.ts_models.models["lam"].state_dict().items():
        name = key.removeprefix("net.")
        if name.startswith("last_layer"):
            continue  # LAMBackbone has no head
        name = name.replace("base_model.resnet.fc.", "base_model.fc1.").replace("base_model.resnet.", "base_model.").replace("lstm.lstm.", "lstm.")
        official_lam[name] = value
    translator = {k: v for k, v in reference.state_dict().items() if not k.startswith("ts_models.")}  # already mthub keys
    state = {f"model.{k}": v for k, v in translator.items()} | {f"model.lam_model.{k}": v for k, v in official_lam.items()}
    path = tmp_path / "embedded.ckpt"
    torch.save({"state_dict": state, "epoch": 1}, path)
    overrides = {k: v for k, v in config.to_dict().items() if k in ("streams", "hidden_size", "num_attention_heads", "ffn_dim", "ts_configs")}
    model, checkpoint, result = convert_checkpoint(path, "egot2-s-ttm", overrides, include_ts=True)
    assert sorted(checkpoint.ts_state_dicts) == ["lam_model"]
    report = result.ts_report["lam"]
    assert report["unexpected"] == [] and sorted(report["missing"]) == sorted(k for k in reference.ts_models.models["lam"].state_dict() if "last_layer" in k)
    for key, value in reference.ts_models.models["lam"].state_dict().items():
        if "last_layer" not in key:
            assert torch.equal(model.ts_models.models["lam"].state_dict()[key], value), key
    assert not any(p.requires_grad for p in model.ts_models.parameters())

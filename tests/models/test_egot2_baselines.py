"""EgoT2 stage-II baselines (FT / Transfer / LF, paper Tables 2/3, dims from A.2.2): exact trainable counts of every
baseline preset on the meta device, and tiny forward/backward passes whose outputs match EgoT2-s's shapes."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

import mthub
from mthub.analysis import count_parameters
from mthub.models.egot2 import (
    EgoT2Config,
    EgoT2Model,
    example_inputs,
    example_labels,
    tiny_egot2_config,
)

#: spec §3 "Baselines": counts that reproduce Tables 2/3 by arithmetic, and the tables' rounded values (M).
TRAINABLE = {
    "egot2-baseline-pnr-ft": (8_397_328, 8.4),
    "egot2-baseline-pnr-transfer-oscc": (8_397_328, 8.4),
    "egot2-baseline-pnr-transfer-ar": (9_506_832, 9.5),
    "egot2-baseline-pnr-lf": (9_594_384, 9.6),
    "egot2-baseline-oscc-ft": (8_390_146, 8.4),
    "egot2-baseline-oscc-transfer-pnr": (8_390_146, 8.4),
    "egot2-baseline-oscc-transfer-ar": (9_449_474, 9.4),
    "egot2-baseline-oscc-lf": (9_572_866, 9.6),
    "egot2-baseline-ar-ft": (4_858_449, 4.9),
    "egot2-baseline-ar-transfer-pnr": (4_858_449, 4.9),
    "egot2-baseline-ar-transfer-oscc": (4_858_449, 4.9),
    "egot2-baseline-ar-lf": (5_240_913, 5.2),
    "egot2-baseline-lta-ft": (48_590_420, 48.6),
    "egot2-baseline-lta-transfer-pnr": (65_369_684, 65.4),
    "egot2-baseline-lta-transfer-oscc": (65_369_684, 65.4),
    "egot2-baseline-lta-transfer-ar": (53_311_060, 53.3),
    "egot2-baseline-lta-lf": (83_555_924, 83.6),
    "egot2-baseline-ttm-ft": (788_994, 0.8),
    "egot2-baseline-ttm-transfer-lam": (788_994, 0.8),
    "egot2-baseline-ttm-transfer-asd": (788_994, 0.8),
    "egot2-baseline-asd-ft": (1_060_866, 1.1),
    "egot2-baseline-asd-transfer-lam": (1_591_298, 1.6),
    "egot2-baseline-asd-transfer-ttm": (1_591_298, 1.6),
}


def test_every_baseline_preset_is_listed():
    listed = {n for n in mthub.list_presets("mthub_egot2") if n.startswith("egot2-baseline-")}
    assert listed == set(TRAINABLE)


@pytest.mark.parametrize("name", sorted(TRAINABLE))
def test_baseline_trainable_count_is_exact(name):
    config = mthub.preset_config(name, use_ts_models=False)
    with torch.device("meta"):
        model = EgoT2Model(config)
    counts = count_parameters(model)
    exact, paper_m = TRAINABLE[name]
    assert counts.trainable == counts.total == exact
    assert round(exact / 1e6, 1) == paper_m
    assert model.embeddings is None and model.encoder is None and model.head is None  # no translator
    assert mthub.get_preset(name).reported["params_M"] == paper_m


def test_baseline_with_full_size_ts_models_trains_only_the_head():
    config = mthub.preset_config("egot2-baseline-ttm-transfer-lam")
    with torch.device("meta"):
        model = EgoT2Model(config)
    counts = count_parameters(model)
    assert counts.trainable == 788_994
    assert counts.frozen == sum(p.numel() for p in model.ts_models.parameters()) > 1_000_000


def _tiny(preset: str, **head) -> EgoT2Config:
    """Tiny layout of a baseline preset with small head widths (``head`` overrides ``baseline_head`` fields)."""
    spec = copy.deepcopy(mthub.get_preset(preset).config["baseline_head"])
    spec.update(head)
    return tiny_egot2_config(preset, baseline_head=spec)


# (baseline preset, the EgoT2-s preset of the same primary task, tiny head widths)
CASES = [
    ("egot2-baseline-pnr-ft", "egot2-s-pnr", {"hidden_sizes": [8]}),  # FT
    ("egot2-baseline-lta-transfer-ar", "egot2-s-lta", {"projection_dim": 6}),  # Transfer (LTA: (B, Z, ·))
    ("egot2-baseline-ar-lf", "egot2-s-ar", {"projection_dim": 5}),  # LF (two heads)
    ("egot2-baseline-asd-ft", "egot2-s-asd", {"hidden_sizes": [7]}),  # per-frame head (B·T, 2)
]


@pytest.mark.parametrize("baseline,translator,head", CASES)
def test_tiny_baseline_forward_backward_matches_egot2_s_shapes(baseline, translator, head):
    torch.manual_seed(0)
    config = _tiny(baseline, **head)
    model = EgoT2Model(config).train()
    inputs, labels = example_inputs(config, 3), example_labels(config, 3)
    out = model(labels=labels, **inputs)
    assert torch.isfinite(out.loss)
    out.loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert any(p.grad.abs().sum() > 0 for p in model.parameters())

    reference = EgoT2Model(tiny_egot2_config(translator)).eval()
    ref_inputs = example_inputs(reference.config, 3)
    with torch.no_grad():
        expected = reference(**ref_inputs).logits
    assert {k: v.shape for k, v in out.logits.items()} == {k: v.shape for k, v in expected.items()}
    assert set(out.losses) == set(expected)


def test_pnr_ft_matches_a_hand_computed_reference():
    torch.manual_seed(1)
    config = _tiny("egot2-baseline-pnr-ft", hidden_sizes=[8])
    model = EgoT2Model(config).eval()
    features = torch.randn(2, 4, config.stream("pnr")["input_dim"])
    head = model.baseline_head
    pooled = features.mean(dim=1)
    hidden = F.relu(head.hidden[0](torch.cat([pooled, pooled], dim=-1)))  # the official duplicated 2·8192 input
    expected = head.classifiers["pnr"](hidden)
    torch.testing.assert_close(model(pnr_features=features).logits["pnr"], expected)


def test_ar_ft_pools_slow_and_fast_tokens_like_adaptive_avg_pool():
    torch.manual_seed(2)
    config = _tiny("egot2-baseline-ar-ft")
    assert config.baseline_head["reductions"] == {"ar_slow": "pool:2", "ar_fast": "pool:16"}
    model = EgoT2Model(config).eval()
    slow, fast = torch.randn(2, 2, config.stream("ar_slow")["input_dim"]), torch.randn(2, 32, config.stream("ar_fast")["input_dim"])
    # tiny slow stream has 2 tokens → pool:2 keeps them; 32 fast frames → 16 pairs averaged
    vector = torch.cat([slow.flatten(1), fast.view(2, 16, 2, -1).mean(dim=2).flatten(1)], dim=-1)
    head = model.baseline_head
    logits = model(ar_slow_features=slow, ar_fast_features=fast).logits
    torch.testing.assert_close(logits["action_verb"], head.classifiers["action_verb"](vector))
    torch.testing.assert_close(logits["action_noun"], head.classifiers["action_noun"](vector))


def test_lta_lf_averages_projected_clips_before_fusing():
    torch.manual_seed(3)
    config = _tiny("egot2-baseline-lta-lf", projection_dim=4, hidden_sizes=[5])
    model = EgoT2Model(config).eval()
    inputs = example_inputs(config, 2)
    head = model.baseline_head
    parts = [head.projections[s](inputs[f"{s}_features"]).mean(dim=1) for s in config.stream_names]
    fused = F.relu(head.hidden[0](F.relu(torch.cat(parts, dim=-1))))
    out = model(**inputs).logits
    expected = torch.stack([p(fused) for p in head.future], dim=1)
    torch.testing.assert_close(torch.cat([out["lta_verb"], out["lta_noun"]], dim=-1), expected)
    assert out["lta_verb"].shape == (2, config.num_future, config.num_verbs)


def test_baseline_config_round_trip_and_errors(tmp_path):
    config = mthub.preset_config("egot2-baseline-oscc-lf", use_ts_models=False)
    assert (config.baseline_kind, config.baseline_source_tasks) == ("lf", ["ar", "oscc", "pnr"])
    config.save_pretrained(tmp_path)
    loaded = EgoT2Config.from_pretrained(tmp_path)
    assert (loaded.baseline_kind, loaded.baseline_head, loaded.is_baseline) == ("lf", config.baseline_head, True)
    assert not mthub.preset_config("egot2-s-oscc").is_baseline
    fields = dict(mthub.get_preset("egot2-baseline-oscc-lf").config)
    with pytest.raises(ValueError, match="baseline_kind must be one of"):
        EgoT2Config(**{**fields, "baseline_kind": "distill"})
    with pytest.raises(ValueError, match="must name every stream"):
        EgoT2Config(**{**fields, "baseline_head": {**fields["baseline_head"], "reductions": {"pnr": "mean"}}})
    with pytest.raises(ValueError, match="differ from the streams' sources"):
        EgoT2Config(**{**fields, "baseline_source_tasks": ["oscc"]})

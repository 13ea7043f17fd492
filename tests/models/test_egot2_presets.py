"""Exact trainable-parameter counts of every EgoT2 preset (spec §3), built on the meta device with their full-size
frozen TS models; encoder token counts per layout."""

from __future__ import annotations

import pytest
import torch

import mthub
from mthub.analysis import count_parameters
from mthub.models.egot2 import BASELINE_SPECS, EgoT2Model, EgoT2Tokenizer

#: Trainable parameters (translator + heads + trainable SlowFast head), spec §3 / checked by hand-derivation.
TRAINABLE = {
    "egot2-s-pnr": 3_195_920,  # released checkpoint config (Table 2 prints 6.4 M)
    "egot2-s-pnr-paper": 6_383_376,  # Table 2's 6.4 M
    "egot2-s-oscc": 7_433_986,
    "egot2-s-ar": 4_254_545,
    "egot2-s-lta": 41_804_372,
    "egot2-s-ttm": 692_866,
    "egot2-s-asd": 1_515_268,  # incl. lossAV.FC and the unused clip head
    "egot2-s-ttm-lam": 659_842,
    "egot2-s-pnr-po": 5_788_944,
    "egot2-s-oscc-po": 5_785_346,
    "egot2-s-ar-lta": 2_415_569,
    "egot2-s-lta-ar": 25_021_012,
    "egot2-s-lta-ar-cfg": 54_220_372,
    "egot2-s-ttm-noaux": 692_866,
    "egot2-s-oscc-noaux": 8_941_058,
    "egot2-s-ttm-pooled": 692_866,
    "egot2-s-oscc-pooled": 7_422_210,
    "egot2-g-hhi": 1_353_479,
    "egot2-g-hhi-code-defaults": 8_883_719,
    "egot2-g-hoi": 34_487_897,  # V = 601 (the official, deduplicating builder)
    "egot2-g-hoi-po": 5_860_630,
    "egot2-g-cross": 5_893_911,  # inferred layout (no released code)
}
#: Paper's rounded trainable counts (M) that the exact ones must round to (Tables 2–5, 8–10).
PAPER_M = {
    "egot2-s-pnr-paper": 6.4, "egot2-s-oscc": 7.4, "egot2-s-ar": 4.3, "egot2-s-lta": 41.8, "egot2-s-ttm": 0.7,
    "egot2-s-asd": 1.5, "egot2-s-ttm-lam": 0.7, "egot2-s-pnr-po": 5.8, "egot2-s-oscc-po": 5.8, "egot2-s-ar-lta": 2.4,
    "egot2-s-lta-ar": 25.0, "egot2-s-oscc-noaux": 8.9, "egot2-s-oscc-pooled": 7.4, "egot2-g-hhi": 1.4,
    "egot2-g-hoi": 34.5, "egot2-g-hoi-po": 5.9,
}


def _build(name: str, **overrides) -> EgoT2Model:
    config = mthub.preset_config(name, **overrides)
    with torch.device("meta"):
        return EgoT2Model(config)


def test_every_preset_is_listed():
    baselines = {f"egot2-baseline-{suffix}" for suffix in BASELINE_SPECS}
    assert set(mthub.list_presets("mthub_egot2")) == set(TRAINABLE) | {"egot2-s-ttm-unfrozen", "egot2-s-oscc-unfrozen"} | baselines


@pytest.mark.parametrize("name", sorted(TRAINABLE))
def test_trainable_count_is_exact(name):
    counts = count_parameters(_build(name, use_ts_models=False))  # the translator alone: all of it trains
    assert counts.trainable == counts.total == TRAINABLE[name]
    if name in PAPER_M:
        assert round(counts.trainable / 1e6, 1) == PAPER_M[name]


@pytest.mark.parametrize("name", ["egot2-s-ttm", "egot2-s-lta", "egot2-g-hoi"])
def test_full_size_ts_models_are_frozen(name):
    model = _build(name)  # with its full-size TS models
    counts = count_parameters(model)
    assert counts.trainable == TRAINABLE[name]
    assert counts.frozen == sum(p.numel() for p in model.ts_models.parameters()) > 10_000_000


def test_hoi_vocabulary_sizes_and_counts():
    assert count_parameters(_build("egot2-g-hoi", vocab_size=619)).trainable == 34_506_347
    taxonomy = "/work/shared/data/ego4d/fho_lta_taxonomy.json"
    try:
        deduped, separate = EgoT2Tokenizer.from_taxonomy(taxonomy), EgoT2Tokenizer.from_taxonomy(taxonomy, dedupe_vocab=False)
    except FileNotFoundError:
        pytest.skip("Ego4D taxonomy not available")
    assert (deduped.vocab_size, separate.vocab_size) == (601, 619)
    model = _build("egot2-g-hoi", **separate.config_kwargs())
    assert count_parameters(model).trainable == 34_506_347
    # the preset's fixed ids (prompts, specials, digits, True/False) are those of the real vocabulary
    real = deduped.config_kwargs()
    preset = mthub.get_preset("egot2-g-hoi").config
    assert {k: real[k] for k in ("eos_token_id", "unk_token_id", "prompt_token_ids")} == {
        k: preset[k] for k in ("eos_token_id", "unk_token_id", "prompt_token_ids")
    }
    assert {t: real["label_token_ids"][t] for t in ("pnr", "oscc")} == preset["label_token_ids"]


def test_unfrozen_ablations_train_the_ts_models():
    for name in ("egot2-s-ttm-unfrozen", "egot2-s-oscc-unfrozen"):
        model = _build(name)
        ts = [p for p in model.ts_models.parameters()]
        assert sum(p.requires_grad for p in ts) >= len(ts) - 1  # (TalkNet keeps one parameter frozen itself)
        assert count_parameters(model).trainable > 50_000_000


@pytest.mark.parametrize(
    "name, tokens",
    [("egot2-s-pnr", 48), ("egot2-s-oscc", 48), ("egot2-s-ar", 48), ("egot2-s-lta", 8), ("egot2-s-pnr-po", 32), ("egot2-s-ar-lta", 18)],
)
def test_encoder_token_counts_fixed_layouts(name, tokens):
    config = mthub.preset_config(name, use_ts_models=False)
    assert config.num_tokens == tokens


@pytest.mark.parametrize("name, factor", [("egot2-s-ttm", 3), ("egot2-s-asd", 3), ("egot2-s-ttm-lam", 2)])
def test_encoder_token_counts_hhi(name, factor):
    config = mthub.preset_config(name, use_ts_models=False)
    frames = 7
    features = {s: torch.zeros(1, frames, 256, device="meta") for s in config.stream_names}
    with torch.device("meta"):
        model = EgoT2Model(config)
    hidden = model(features=features).last_hidden_state
    assert hidden.shape == (1, factor * frames, config.hidden_size)


def test_egot2_g_memory_sizes():
    hhi = mthub.preset_config("egot2-g-hhi", use_ts_models=False)
    with torch.device("meta"):
        model = EgoT2Model(hhi)
    features = {"lam": torch.zeros(2, 7, 256, device="meta"), "ttm": torch.zeros(2, 7, 256, device="meta"), "asd": torch.zeros(2, 7, 256, device="meta")}
    memories = model(features=features).memories
    assert memories["lam"].shape == (2, 7, 128)  # LAM tokens only
    assert memories["ttm"].shape == (2, 21, 128)  # 3T
    assert memories["asd"].shape == (14, 3, 128)  # per frame [LAM_t, TTM_t, ASD_t]
    hoi = mthub.preset_config("egot2-g-hoi", use_ts_models=False)
    with torch.device("meta"):
        model = EgoT2Model(hoi)
    features = {s["name"]: torch.zeros(1, s["num_tokens"], s["input_dim"], device="meta") for s in hoi.streams}
    memories = model(features=features, task="pnr").memories
    assert memories["pnr"].shape == (1, 48, 512)
    assert model(features=features, task="lta_verb").memories["lta_verb"].shape == (1, 8, 512)

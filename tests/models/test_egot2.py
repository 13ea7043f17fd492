"""EgoT2 translators: output shapes, position schemes, task orders, the EgoT2-g tokenizer / loss / decoding, and
serialisation with and without the frozen TS models (tiny configs)."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from transformers import AutoConfig, AutoModel

import mthub  # noqa: F401  (registers the families)
from mthub.layers.post_norm_transformer import sinusoidal_position_table
from mthub.models.egot2 import (
    EgoT2Model,
    EgoT2Processor,
    EgoT2Tokenizer,
    example_inputs,
    example_labels,
    teacher_forcing_tokens,
    tiny_egot2_config,
)
from mthub.models.egot2.tiny_egot2 import EXAMPLE_FRAMES, TINY_TAXONOMY
from mthub.models.egot2.translator_egot2 import segment_positions

TAXONOMY = "/work/shared/data/ego4d/fho_lta_taxonomy.json"
B, T = 2, EXAMPLE_FRAMES


def _model(preset: str, **overrides) -> EgoT2Model:
    torch.manual_seed(0)
    return EgoT2Model(tiny_egot2_config(preset, **overrides)).eval()


@pytest.mark.parametrize(
    "preset, shapes",
    [
        ("egot2-s-pnr", {"pnr": (B, 16)}),
        ("egot2-s-oscc", {"oscc": (B, 2)}),
        ("egot2-s-ar", {"action_verb": (B, 3), "action_noun": (B, 4)}),
        ("egot2-s-lta", {"lta_verb": (B, 3, 3), "lta_noun": (B, 3, 4)}),
        ("egot2-s-ttm", {"ttm": (B, 2)}),
        ("egot2-s-asd", {"asd": (B * T, 2)}),
    ],
)
def test_egot2_s_output_shapes_and_losses(preset, shapes):
    model = _model(preset)
    config = model.config
    out = model(**example_inputs(config, B), labels=example_labels(config, B))
    assert {k: tuple(v.shape) for k, v in out.logits.items()} == shapes
    assert set(out.losses) == set(shapes) and torch.isfinite(out.loss)
    tokens = config.num_tokens or len(config.streams) * T
    assert out.last_hidden_state.shape == (B, tokens, config.hidden_size)


def test_egot2_g_teacher_forced_logits_and_first_step():
    model = _model("egot2-g-hhi")
    config = model.config
    inputs, labels = example_inputs(config, B), example_labels(config, B)
    forced = model(**inputs, labels=labels).logits
    assert {k: tuple(v.shape) for k, v in forced.items()} == {"lam": (B, 2, 7), "ttm": (B, 2, 7), "asd": (B * T, 2, 7)}
    first = model(**inputs).logits  # no labels: every prompt, first decoding step
    assert {k: tuple(v.shape) for k, v in first.items()} == {"lam": (B, 1, 7), "ttm": (B, 1, 7), "asd": (B * T, 1, 7)}
    # the first step does not depend on the label fed afterwards (causal mask)
    torch.testing.assert_close(forced["ttm"][:, 0], first["ttm"][:, 0], rtol=0, atol=1e-6)
    only = model(**inputs, task="lam").logits
    assert set(only) == {"lam"}


def test_task_orders_and_ids_follow_each_official_class():
    ttm = tiny_egot2_config("egot2-s-ttm")
    assert [(s["name"], s["task_id"]) for s in ttm.streams] == [("ttm", 0), ("lam", 1), ("asd", 2)]
    asd = tiny_egot2_config("egot2-s-asd")
    assert [(s["name"], s["task_id"]) for s in asd.streams] == [("asd", 2), ("ttm", 0), ("lam", 1)]
    g = tiny_egot2_config("egot2-g-hhi")
    assert [(s["name"], s["task_id"]) for s in g.streams] == [("lam", 0), ("ttm", 1), ("asd", 2)]
    assert [p["task"] for p in g.prompts] == ["lam", "ttm", "asd"]
    assert g.prompt("lam")["streams"] == ["lam"] and g.prompt("asd")["memory"] == "per_frame"


def test_sinusoidal_positions_restart_per_task_segment():
    assert segment_positions([3, 2, 2], [0, 1, 1]) == [0, 1, 2, 0, 1, 2, 3]
    model = _model("egot2-s-ttm")
    emb = model.embeddings
    features = {n: torch.randn(B, T, 8) for n in ("ttm", "lam", "asd")}
    with torch.no_grad():
        actual = emb(features, ["ttm", "lam", "asd"])
        table = sinusoidal_position_table(T, 16)
        parts = [emb.norm(emb.projections[n](features[n])) + emb.task_embeddings[i] + table for i, n in enumerate(("ttm", "lam", "asd"))]
    torch.testing.assert_close(actual, torch.cat(parts, dim=1))


def test_learned_absolute_positions_and_feature_dropout():
    model = _model("egot2-s-pnr", feature_dropout=0.5)
    config = model.config
    emb = model.embeddings
    assert emb.task_embeddings is None and emb.position_embeddings.shape == (config.num_tokens, 16)
    inputs = {k[: -len("_features")]: v for k, v in example_inputs(config, B).items()}
    with torch.no_grad():
        expected = emb.norm(torch.cat([emb.projections[n](inputs[n]) for n in config.stream_names], 1)) + emb.position_embeddings
        torch.testing.assert_close(emb(inputs, config.stream_names), expected)
        model.train()  # feature dropout acts in training only
        assert not torch.allclose(emb(inputs, config.stream_names), expected)


def test_shared_head_layer_norm_is_the_input_layer_norm():
    model = _model("egot2-s-ar")
    assert model.head.norm is None and "head.norm.weight" not in model.state_dict()  # one module, one key
    with torch.no_grad():
        model.embeddings.norm.weight.mul_(2.0)
        out = model(**example_inputs(model.config, B))
        pooled = model.embeddings.norm(out.last_hidden_state.mean(dim=1))
    for task in ("action_verb", "action_noun"):
        torch.testing.assert_close(out.logits[task], model.head.classifiers[task](pooled))


# ----- EgoT2-g tokenizer ----------------------------------------------------------------------------------------------


def test_official_small_vocabularies():
    assert EgoT2Tokenizer.hhi().tokens == ["</s>", "<unk>", "ttm", "lam", "asd", "0", "1"]
    assert EgoT2Tokenizer.pnr_oscc().vocab_size == 22 and EgoT2Tokenizer.cross_cluster().vocab_size == 23
    assert EgoT2Tokenizer.hhi().encode("ttm", 1) == [2, 6, 0]


@pytest.mark.parametrize("dedupe, size", [(True, 601), (False, 619)])
def test_hoi_vocabulary_from_taxonomy_round_trips(tmp_path, dedupe, size):
    try:
        tokenizer = EgoT2Tokenizer.from_taxonomy(TAXONOMY, dedupe_vocab=dedupe)
    except FileNotFoundError:
        pytest.skip("Ego4D taxonomy not available")
    assert tokenizer.vocab_size == size
    assert tokenizer.tokens[:10] == ["pnr", "oscc", "action_verb", "action_noun", "lta_verb", "lta_noun", "True", "False", "</s>", "<unk>"]
    assert tokenizer.labels["action_noun"][19:21] == ["bat_sports", "bat_tool"]
    shared = tokenizer.token_to_id["drill"]
    assert (tokenizer.convert_tokens_to_ids(tokenizer.labels["action_noun"]).count(shared) == 1) == dedupe
    for task, words in tokenizer.labels.items():  # round trip: identity on every class of every task
        assert [tokenizer.decode(task, tokenizer.encode(task, c)) for c in range(len(words))] == list(range(len(words)))
    tokenizer.save_pretrained(tmp_path)
    loaded = EgoT2Tokenizer.from_pretrained(tmp_path)  # no taxonomy needed to load
    assert loaded == tokenizer and json.loads((tmp_path / "vocab.json").read_text())["tokens"] == tokenizer.tokens


def test_tokenizer_rejects_ambiguous_labels_and_decodes_out_of_space():
    with pytest.raises(ValueError, match="both clean to"):
        EgoT2Tokenizer.from_taxonomy({"verbs": ["cut_(a)", "cut_(b)"], "nouns": ["x"]})
    tokenizer = EgoT2Tokenizer.from_taxonomy(TINY_TAXONOMY)
    assert tokenizer.decode("action_verb", [tokenizer.token_to_id["knife"]]) == -1  # a noun is not a verb


# ----- EgoT2-g loss and decoding ---------------------------------------------------------------------------------------


def test_sequence_loss_masks_the_prompt_and_trains_eos():
    model = _model("egot2-g-hhi")
    config = model.config
    labels = torch.tensor([0, 1, -100])
    inputs, targets = teacher_forcing_tokens(labels, 2, torch.tensor([5, 6]), 0, 1)
    assert inputs.tolist() == [[2, 5], [2, 6], [2, 1]] and targets.tolist() == [[5, 0], [6, 0], [-100, -100]]
    logits = torch.randn(3, 2, 7, requires_grad=True)
    loss = model.task_loss(config.task("ttm"), logits, labels)
    # mean CE over [label, </s>] of the labelled samples: the prompt is never a target, </s> always is
    manual = F.cross_entropy(logits[:2].reshape(-1, 7), torch.tensor([5, 0, 6, 0]))
    torch.testing.assert_close(loss, manual)
    loss.backward()
    assert logits.grad[:, :, 0][:2, 1].abs().sum() > 0  # the EOS step gets gradient
    assert logits.grad[2].abs().sum() == 0  # the unlabelled sample none
    assert model.count_loss_elements(config.task("ttm"), labels) == 4


def test_constrained_decoding_never_leaves_the_label_space():
    model = _model("egot2-g-hoi")
    config = model.config
    with torch.no_grad():  # make an out-of-space token ("oscc" prompt) win every unconstrained argmax
        model.decoder.lm_head.bias[config.prompt_token_ids["oscc"]] = 100.0
    torch.manual_seed(1)
    inputs = example_inputs(config, 8)
    constrained = model.generate(**inputs)
    free = model.generate(**inputs, constrained=False)
    for task, result in constrained.items():
        classes = config.num_classes(task)
        assert ((result.predictions >= 0) & (result.predictions < classes)).all(), task
        assert (result.sequences[:, -1] == config.eos_token_id).all()
        assert (free[task].predictions == -1).all(), task  # unconstrained: out of space, counted wrong
        assert result.label_scores.shape[-1] == classes


def test_generate_per_frame_prompt_shapes_and_matches_forward_argmax():
    model = _model("egot2-g-hhi")
    inputs = example_inputs(model.config, B)
    result = model.generate(**inputs, task="asd")["asd"]
    assert result.predictions.shape == (B, T) and result.label_scores.shape == (B, T, 2)
    first = model(**inputs, task="asd").logits["asd"][:, 0]  # (B·T, V)
    label_ids = torch.tensor(model.config.label_token_ids["asd"])
    torch.testing.assert_close(result.predictions.reshape(-1), first[:, label_ids].argmax(-1))


# ----- inputs and serialisation ----------------------------------------------------------------------------------------


def test_clear_errors_for_bad_inputs():
    model = _model("egot2-s-ttm")
    inputs = example_inputs(model.config, B)
    with pytest.raises(ValueError, match="'lam'.*must have shape"):
        model(**{**inputs, "lam_features": torch.randn(B, T, 9)})
    with pytest.raises(TypeError, match="unexpected inputs"):
        model(**inputs, video=torch.zeros(1))
    with pytest.raises(ValueError, match="needs features of streams"):
        model(ttm_features=inputs["ttm_features"])


def test_save_pretrained_stores_the_translator_only_unless_asked(tmp_path):
    model = EgoT2Model(tiny_egot2_config("egot2-s-ttm", with_ts=True)).eval()
    model.save_pretrained(tmp_path / "translator")
    model.save_pretrained(tmp_path / "full", include_ts_weights=True)
    from safetensors.torch import load_file

    translator = load_file(str(tmp_path / "translator" / "model.safetensors"))
    full = load_file(str(tmp_path / "full" / "model.safetensors"))
    assert not any(k.startswith("ts_models.") for k in translator)
    assert any(k.startswith("ts_models.models.lam.net.") for k in full)
    assert set(full) - set(translator) == {k for k in model.state_dict() if k.startswith("ts_models.")}
    reloaded = AutoModel.from_pretrained(tmp_path / "full").eval()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(reloaded.state_dict()[key], value, rtol=0, atol=0)


def test_ts_weights_come_from_ts_checkpoints(tmp_path):
    config = tiny_egot2_config("egot2-s-ttm", with_ts=True)
    torch.manual_seed(3)
    references = {}
    for source, sub in config.ts_configs.items():  # stand-ins for mthub/ego4d-*: mthub_ego4d_ts folders
        ts = AutoModel.from_config(AutoConfig.for_model("mthub_ego4d_ts", **sub))
        ts.save_pretrained(tmp_path / source)
        references[source] = ts
    config.ts_checkpoints = {source: str(tmp_path / source) for source in references}
    model = EgoT2Model(config)
    model.save_pretrained(tmp_path / "egot2")
    loaded = AutoModel.from_pretrained(tmp_path / "egot2")
    for source, ts in references.items():
        for key, value in ts.state_dict().items():
            torch.testing.assert_close(loaded.ts_models.models[source].state_dict()[key], value, rtol=0, atol=0)
    assert not any(p.requires_grad for p in loaded.ts_models.parameters())
    translator_only = AutoModel.from_pretrained(tmp_path / "egot2", use_ts_models=False)
    assert translator_only.ts_models is None


def test_raw_inputs_through_the_frozen_ts_models_equal_precomputed_features():
    from mthub.models.egot2.tiny_egot2 import example_raw_inputs

    for preset in ("egot2-g-hhi", "egot2-s-oscc"):
        model = EgoT2Model(tiny_egot2_config(preset, with_ts=True)).eval()
        raw = example_raw_inputs(model.config, B)
        with torch.no_grad():
            cache: dict = {}
            features = {n: model.ts_models.extract(model.config.stream(n), raw, cache) for n in model.config.stream_names}
            from_raw = model(**raw).logits
            from_features = model(features=features).logits
        for task in from_raw:
            torch.testing.assert_close(from_raw[task], from_features[task])


def test_processor_round_trip(tmp_path):
    config = tiny_egot2_config("egot2-g-hhi")
    processor = EgoT2Processor.from_config(config)
    processor.save_pretrained(tmp_path)
    assert (tmp_path / "vocab.json").is_file()
    loaded = EgoT2Processor.from_pretrained(tmp_path)
    assert loaded.tokenizer == EgoT2Tokenizer.hhi() and loaded.to_dict() == processor.to_dict()


def test_processor_builds_the_hoi_vocabulary_from_the_taxonomy_once(tmp_path):
    config = tiny_egot2_config("egot2-g-hoi")
    processor = EgoT2Processor.from_config(config, taxonomy=TINY_TAXONOMY)
    assert processor.tokenizer.config_kwargs()["label_token_ids"] == config.label_token_ids
    assert processor.labels["action_verb"] == ["cut", "take", "drill"]  # verbs as words
    processor.save_pretrained(tmp_path)
    assert EgoT2Processor.from_pretrained(tmp_path).tokenizer == processor.tokenizer
    with pytest.raises(ValueError, match="tokens"):
        EgoT2Processor.from_config(config, taxonomy=TINY_TAXONOMY, dedupe_vocab=False)  # V=31 vs the config's 30


def test_attention_maps_for_interpretation_with_the_eager_kernel():
    """Figures 5/6/8 of the paper read encoder self-attention and decoder cross-attention weights."""
    config = tiny_egot2_config("egot2-g-hhi")
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    model = EgoT2Model(config).eval()
    out = model(**example_inputs(config, B), output_attentions=True, task="ttm")
    (cross,) = out.cross_attentions["ttm"]
    assert cross.shape == (B, 2, 1, 3 * T)  # (B', heads, decoder steps, memory tokens)
    torch.testing.assert_close(cross.sum(-1), torch.ones(B, 2, 1))
    assert out.attentions[0].shape == (B, 2, 3 * T, 3 * T)

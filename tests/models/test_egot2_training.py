"""EgoT2 stage II: training from cached fixture features through the multi-task Trainer (the example scripts),
feature caching through the frozen TS models, and frozen TS models staying bit-identical in ``model.train()``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from mthub.models.egot2 import EgoT2Model, tiny_egot2_config
from mthub.models.egot2.features_egot2 import EgoT2FeatureDataset, FeatureShardWriter, extract_features, write_synthetic_features
from mthub.models.egot2.tiny_egot2 import example_raw_inputs
from tests.training.helpers import logged, single_thread

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _assert_every_task_learns(trainer, tasks):
    for task in tasks:
        history = logged(trainer, f"loss/{task}")
        first, last = sum(history[:5]) / 5, sum(history[-5:]) / 5
        assert last < 0.7 * first, (task, first, last)


@pytest.mark.parametrize("preset", ["egot2-s-oscc", "egot2-s-ttm"])
def test_egot2_s_stage_two_on_fixture_features(tmp_path, preset):
    with single_thread():
        trainer = _example("train_egot2_s").main(
            ["--preset", preset, "--tiny", "--synthetic", "48", "--max-steps", "30", "--batch-size", "8",
             "--learning-rate", "3e-3", "--logging-steps", "1", "--output-dir", str(tmp_path)]
        )
    _assert_every_task_learns(trainer, trainer.model.config.task_names)
    assert (tmp_path / "final" / "model.safetensors").is_file()


def test_egot2_g_stage_two_one_batch_per_task(tmp_path):
    with single_thread():
        trainer = _example("train_egot2_g").main(
            ["--preset", "egot2-g-hhi", "--tiny", "--synthetic", "32", "--max-steps", "30", "--batch-size", "8",
             "--learning-rate", "3e-3", "--logging-steps", "1", "--output-dir", str(tmp_path)]
        )
    assert trainer.args.task_sampling == "per_task"
    _assert_every_task_learns(trainer, ["lam", "ttm", "asd"])
    # the logged step loss is the sum of the three task losses (L = Σ_k L_k, weight 1 each)
    total, parts = logged(trainer, "loss"), [logged(trainer, f"loss/{t}") for t in ("lam", "ttm", "asd")]
    torch.testing.assert_close(torch.tensor(total), torch.tensor([sum(p) for p in zip(*parts)]), rtol=1e-4, atol=1e-5)
    assert (tmp_path / "final" / "vocab.json").is_file()


def test_feature_cache_round_trip_and_extraction_through_ts_models(tmp_path):
    model = EgoT2Model(tiny_egot2_config("egot2-s-oscc", with_ts=True)).eval()
    raw = example_raw_inputs(model.config, 3)
    labels = {"oscc": torch.tensor([0, 1, 1])}
    index = extract_features(model, [{**raw, "labels": labels}], tmp_path / "feats", shard_size=2)
    dataset = EgoT2FeatureDataset(index.parent)
    assert len(dataset) == 3 and len(list(index.parent.glob("shard-*.safetensors"))) == 2
    batch = {k: torch.stack([dataset[i][k] for i in range(3)]) for k in dataset[0] if k != "labels"}
    assert torch.equal(torch.stack([dataset[i]["labels"]["oscc"] for i in range(3)]), labels["oscc"])
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits["oscc"], model(**raw).logits["oscc"])

    config = tiny_egot2_config("egot2-s-ttm")
    folder = write_synthetic_features(config, tmp_path / "synthetic", 5, shard_size=2)
    variable = FeatureShardWriter(tmp_path / "variable")  # variable-length segments need no padding
    variable.add({"ttm_features": torch.zeros(4, 8), "labels": {"ttm": torch.tensor(1)}})
    variable.add({"ttm_features": torch.zeros(9, 8), "labels": {"ttm": torch.tensor(0)}})
    variable.close()
    assert [EgoT2FeatureDataset(tmp_path / "variable")[i]["ttm_features"].shape[0] for i in range(2)] == [4, 9]
    assert EgoT2FeatureDataset(folder, tasks=[])[0]["labels"] == {}


@pytest.mark.parametrize("preset", ["egot2-g-hhi", "egot2-s-lta"])
def test_ts_models_stay_bit_identical_after_three_training_steps(preset):
    torch.manual_seed(0)
    model = EgoT2Model(tiny_egot2_config(preset, with_ts=True))
    model.train()
    assert all(not m.training for m in model.ts_models.modules())  # frozen TS models stay in eval mode
    before_ts = {k: v.clone() for k, v in model.ts_models.state_dict().items()}
    assert any("running_mean" in k for k in before_ts)  # BatchNorm statistics are part of the check
    before_translator = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("ts_models.")}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    from mthub.models.egot2 import example_labels

    raw = example_raw_inputs(model.config, 2)
    labels = example_labels(model.config, 2)
    if "asd" in labels:
        labels["asd"] = torch.randint(0, 2, (2, raw["asd_pixel_values"].shape[1]))
    for _ in range(3):
        optimizer.zero_grad()
        model(**raw, labels=labels).loss.backward()
        optimizer.step()
    after_ts = model.ts_models.state_dict()
    assert before_ts.keys() == after_ts.keys()
    changed_ts = [k for k in before_ts if not torch.equal(before_ts[k], after_ts[k])]
    assert not changed_ts, changed_ts[:5]
    after = model.state_dict()
    changed = [k for k in before_translator if not torch.equal(before_translator[k], after[k])]
    assert changed and len(changed) >= 0.9 * len(before_translator)
    if preset == "egot2-s-lta":  # the trainable SlowFast head (a translator projection) was trained
        assert "embeddings.projections.ar_pooled.weight" in changed

"""MultiTaskTrainer features, one test each: LR decay, per-group LRs, gradient accumulation, gradient checkpointing,
bf16, corrupt samples, streaming evaluation, checkpoint selection."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torchmetrics.classification import MulticlassAccuracy
from transformers import TrainerCallback

from mthub.training import (
    MetricsByTask,
    MultiTaskTrainer,
    build_param_groups,
    last_complete_checkpoint,
    lr_decay_depths,
)
from tests.training.helpers import FamilyDataset, build_model, logged, make_args, params


def expected_depth(name: str) -> int:
    """Tiny model: embeddings 0, blocks.0 → 1, blocks.1 → 2, final norm and heads → 3 (= L + 1)."""
    if name.startswith(("embeddings.", "position_embeddings")):
        return 0
    if name.startswith("blocks."):
        return int(name.split(".")[1]) + 1
    return 3


def lr_by_name(optimizer) -> dict[str, float]:
    return {name: group["lr"] for group in optimizer.param_groups for name in group["param_names"]}


def test_layer_wise_lr_decay(tmp_path):
    _, _, model = build_model()
    assert lr_decay_depths(model) == {name: expected_depth(name) for name, _ in model.named_parameters()}
    trainer = MultiTaskTrainer(
        model=model, args=make_args(tmp_path, learning_rate=1e-3, layer_decay=0.5, weight_decay=0.05)
    )
    lrs = lr_by_name(trainer.create_optimizer())
    assert set(lrs) == {name for name, _ in model.named_parameters()}
    for name, lr in lrs.items():
        assert lr == pytest.approx(1e-3 * 0.5 ** (3 - expected_depth(name)), rel=1e-12), name
    assert trainer.optimizer.param_groups[0]["lr"] == 1e-3  # transformers logs the first group's LR: the base one
    # Weight decay still follows transformers' rule (none for biases and norms).
    for group in trainer.optimizer.param_groups:
        assert (group["weight_decay"] == 0.0) == all(n.endswith("bias") or "norm" in n for n in group["param_names"])


def test_per_group_learning_rates_and_schedule(tmp_path):
    family, config, model = build_model()
    args = make_args(
        tmp_path,
        learning_rate=3e-3,
        layer_decay=0.5,
        param_group_lrs={"_head\\.": 1e-2, "^embeddings\\.": 1e-4},
        lr_scheduler_type="linear",
        max_steps=4,
        logging_steps=100,
    )
    seen = []
    record = type(
        "Record",
        (TrainerCallback,),
        {"on_step_end": lambda self, a, s, c, **kw: seen.append(lr_by_name(kw["optimizer"]))},
    )
    trainer = MultiTaskTrainer(
        model=model, args=args, train_dataset=FamilyDataset(family, config, size=8), callbacks=[record()]
    )
    trainer.train()
    lrs = seen[1]  # after 2 of 4 steps of the linear schedule
    factor = lrs["action_head.weight"] / 1e-2  # the schedule's current factor, the same for every group
    assert factor == pytest.approx(0.5)
    for name, lr in lrs.items():
        base = 1e-2 if "_head." in name else 1e-4 if name.startswith("embeddings.") else 3e-3
        assert lr == pytest.approx(base * 0.5 ** (3 - expected_depth(name)) * factor, rel=1e-9), name
    with pytest.raises(ValueError, match="match no trainable parameter"):
        build_param_groups(
            model, learning_rate=1.0, weight_decay=0.0, decay_parameter_names=[], param_group_lrs={"decoder": 1.0}
        )


def one_step(tmp_path, name, batch, accumulation, normalization="global", **kwargs):
    family, config, model = build_model()
    # Missing labels split unevenly: micro-batch 1 holds 1 action / 4 segmentation labels, micro-batch 2 4 / 0.
    data = FamilyDataset(family, config, size=8, seed=4, missing={"action": {1, 2, 3}, "segmentation": {4, 5, 6, 7}})
    args = make_args(
        tmp_path / name,
        optim="sgd",
        learning_rate=0.5,
        max_steps=1,
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=accumulation,
        train_sampling_strategy="sequential",
        freeze_batchnorm=True,
        loss_normalization=normalization,
        **kwargs,
    )
    trainer = MultiTaskTrainer(model=model, args=args, train_dataset=data)
    before = params(model)
    trainer.train()
    return before, params(model), trainer


def test_gradient_accumulation_2x4_equals_batch_8(tmp_path):
    """One optimizer step on 2 micro-batches of 4 gives the weights of one batch of 8.

    SGD makes the weights a linear function of the gradient, so this compares gradients. BatchNorm is frozen
    (``freeze_batchnorm``): with batch statistics the two set-ups normalise over 4 vs 8 samples — different
    functions, not an accumulation bug. ``loss_normalization="global"`` divides each task by its label count over
    the whole step; the micro-batches hold different numbers of labels, so the per-micro-batch mean ("batch", the
    transformers default) must differ.
    """
    before, whole, _ = one_step(tmp_path, "whole", batch=8, accumulation=1)
    _, accumulated, trainer = one_step(tmp_path, "accumulated", batch=4, accumulation=2)
    _, per_batch_mean, _ = one_step(tmp_path, "batch_mean", batch=4, accumulation=2, normalization="batch")
    assert trainer.state.global_step == 1
    for name in whole:
        torch.testing.assert_close(accumulated[name], whole[name], rtol=0, atol=1e-6, msg=name)
    assert max((whole[n] - before[n]).abs().max() for n in whole) > 1e-2  # the step did move the weights
    assert max((per_batch_mean[n] - whole[n]).abs().max() for n in whole) > 1e-4


def test_gradient_checkpointing_gives_the_same_training(tmp_path):
    calls = {}

    def run(name, checkpointing):
        family, config, model = build_model()
        calls[name] = 0
        # A pre-hook inside the block: transformers checkpoints the block's forward (the block's own hooks run once)
        # and the recomputation stops early once the last saved tensor is rebuilt (post-hooks may never run).
        model.blocks[0].attn.register_forward_pre_hook(lambda *_: calls.__setitem__(name, calls[name] + 1))
        args = make_args(
            tmp_path / name, optim="sgd", learning_rate=0.5, max_steps=2, activation_checkpointing=checkpointing
        )
        trainer = MultiTaskTrainer(model=model, args=args, train_dataset=FamilyDataset(family, config, size=8))
        trainer.train()
        return trainer, params(model)

    plain, plain_weights = run("plain", False)
    ckpt, ckpt_weights = run("ckpt", True)
    assert ckpt.model.is_activation_checkpointing and not plain.model.is_activation_checkpointing
    assert calls == {"plain": 2, "ckpt": 4}  # the checkpointed block is recomputed in every backward
    torch.testing.assert_close(
        torch.tensor(logged(ckpt, "loss")), torch.tensor(logged(plain, "loss")), rtol=0, atol=1e-6
    )
    for name in plain_weights:
        torch.testing.assert_close(ckpt_weights[name], plain_weights[name], rtol=0, atol=1e-6, msg=name)


def test_bf16_autocast_runs_finite_and_close_to_fp32(tmp_path):
    dtypes = {}

    def run(name, bf16):
        family, config, model = build_model()
        model.action_head.register_forward_hook(lambda m, i, out: None if dtypes.setdefault(name, out.dtype) else None)
        args = make_args(tmp_path / name, bf16=bf16, max_steps=3, learning_rate=1e-3)
        trainer = MultiTaskTrainer(model=model, args=args, train_dataset=FamilyDataset(family, config, size=8))
        trainer.train()
        return trainer

    fp32, bf16 = run("fp32", False), run("bf16", True)
    assert dtypes == {"fp32": torch.float32, "bf16": torch.bfloat16}  # autocast really ran in bf16
    for key in ("loss", "loss/action", "loss/segmentation"):
        values = logged(bf16, key)
        assert len(values) == 3 and all(math.isfinite(v) for v in values), key
        assert values[0] == pytest.approx(logged(fp32, key)[0], rel=2e-2), key
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in bf16.model.parameters())


def test_corrupt_samples_are_skipped_counted_and_logged(tmp_path):
    family, config, model = build_model()
    data = FamilyDataset(family, config, size=12, corrupt={3, 7})
    args = make_args(
        tmp_path, num_train_epochs=1, train_sampling_strategy="sequential", eval_strategy="steps", eval_steps=3
    )
    trainer = MultiTaskTrainer(
        model=model, args=args, train_dataset=data, eval_dataset=FamilyDataset(family, config, size=5, corrupt={0})
    )
    trainer.train()
    assert trainer.state.global_step == 3  # training went on past both corrupt samples
    assert logged(trainer, "corrupt_samples_skipped") == [1, 2, 2]  # cumulative: batches 0-3, 4-7, 8-11
    assert logged(trainer, "eval_corrupt_samples_skipped") == [1]


def test_streaming_evaluation_matches_a_direct_computation(tmp_path):
    family, config, model = build_model()
    data = FamilyDataset(family, config, size=10, seed=7, missing={"action": {0, 5, 6}})
    metrics = MetricsByTask(
        {"action": MulticlassAccuracy(5, average="micro", ignore_index=-100)}, names={"action": "accuracy"}
    )
    args = make_args(tmp_path, per_device_eval_batch_size=4)
    trainer = MultiTaskTrainer(model=model, args=args, eval_dataset=data, metrics=metrics)
    result = trainer.evaluate()

    model.eval()
    with torch.no_grad():
        outputs = model(pixel_values=data.inputs["pixel_values"])
    labelled = torch.tensor([i not in {0, 5, 6} for i in range(10)])
    logits, target = outputs.logits["action"][labelled], data.labels["action"][labelled]
    accuracy = (logits.argmax(-1) == target).float().mean().item()
    ce = torch.nn.functional.cross_entropy(logits, target).item()
    seg = torch.nn.functional.cross_entropy(
        outputs.logits["segmentation"].flatten(0, 1), data.labels["segmentation"].flatten(0, 1)
    ).item()
    assert result["eval_action/accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert result["eval_loss/action"] == pytest.approx(ce, rel=1e-5)  # mean over the 7 labelled samples
    assert result["eval_loss/segmentation"] == pytest.approx(seg, rel=1e-5)
    assert trainer.predict(data).predictions is None  # nothing is accumulated

    with pytest.raises(ValueError, match="batch_eval_metrics=True"):
        MultiTaskTrainer(
            model=model,
            args=make_args(tmp_path, batch_eval_metrics=False),
            compute_metrics=lambda p, compute_result: {},
        )


def test_resume_picks_the_last_complete_checkpoint(tmp_path):
    for step, complete in ((2, True), (4, True), (6, False)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"")
        if complete:
            (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-4")

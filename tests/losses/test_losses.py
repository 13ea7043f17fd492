"""Shared losses against hand-computed values, and the loss denominators used for split-batch normalisation."""

from __future__ import annotations

import math

import pytest
import torch

from mthub import TaskSpec
from mthub.losses import (
    MultiTaskLoss,
    balanced_bce_with_logits,
    count_loss_elements,
    default_loss_elements,
    get_loss,
    masked_cross_entropy,
    masked_l1,
)


def test_masked_cross_entropy_averages_over_labelled_elements_only():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [5.0, -5.0]], requires_grad=True)
    target = torch.tensor([0, 1, -100])
    expected = (math.log(1 + math.exp(-2.0)) + math.log(1 + math.exp(-1.0))) / 2
    loss = masked_cross_entropy(logits, target)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert logits.grad[2].abs().sum() == 0  # the ignored sample contributes nothing


def test_fully_masked_losses_are_zero_with_zero_gradients_not_nan():
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    for loss in (
        masked_cross_entropy(logits, torch.full((2, 4, 4), 255), ignore_index=255),
        masked_l1(logits, torch.full((2, 3, 4, 4), 255.0), ignore_value=255.0),
        balanced_bce_with_logits(logits[:, :1], torch.full((2, 1, 4, 4), 255.0)),
    ):
        assert loss.item() == 0.0
        (grad,) = torch.autograd.grad(loss, logits)
        assert torch.equal(grad, torch.zeros_like(logits))  # a gradient exists (DDP) and it is zero


def test_masked_l1_depth_and_normals():
    depth_pred = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    depth_true = torch.tensor([[[[2.0, 0.0], [1.0, 4.5]]]])  # 0 = no measurement
    assert masked_l1(depth_pred, depth_true, ignore_value=0.0).item() == pytest.approx((1 + 2 + 0.5) / 3)
    # Normals: a pixel is missing only when every channel holds the ignore value; (0, 0, 1) is a valid normal.
    pred = torch.zeros(1, 3, 1, 2)
    true = torch.tensor([[[[0.0, 0.0]], [[0.0, 0.0]], [[1.0, 0.0]]]])  # pixel 0: (0, 0, 1); pixel 1: (0, 0, 0)
    assert masked_l1(pred, true, ignore_value=0.0).item() == pytest.approx(1 / 3)  # (0 + 0 + 1) / 3 channels
    with pytest.raises(ValueError, match="predictions"):
        masked_l1(pred, true[:, :2])


def test_balanced_bce_follows_hed_weighting():
    logits = torch.tensor([[[[0.0, 1.0], [-1.0, 2.0]]]])
    target = torch.tensor([[[[1.0, 0.0], [0.0, 255.0]]]])
    beta = 2 / 3  # |Y-| / |Y| over the 3 labelled pixels: positives weighted beta, negatives 1 - beta
    terms = [beta * math.log(2), (1 - beta) * math.log(1 + math.e), (1 - beta) * math.log(1 + math.exp(-1))]
    assert balanced_bce_with_logits(logits, target).item() == pytest.approx(sum(terms) / 3, rel=1e-6)
    fixed = [0.95 * math.log(2), 0.05 * math.log(1 + math.e), 0.05 * math.log(1 + math.exp(-1))]
    assert balanced_bce_with_logits(logits, target, pos_weight=0.95).item() == pytest.approx(sum(fixed) / 3, rel=1e-6)


def test_multi_task_loss_weights_and_errors():
    combine = MultiTaskLoss({"semseg": 1.0, "normals": 10.0})
    total, weighted = combine({"semseg": torch.tensor(0.5), "normals": torch.tensor(0.2)})
    assert total.item() == pytest.approx(2.5) and weighted["normals"].item() == pytest.approx(2.0)
    with pytest.raises(KeyError, match="no weight"):
        combine({"depth": torch.tensor(1.0)})
    with pytest.raises(ValueError, match="no task losses"):
        combine({})
    with pytest.raises(KeyError, match="Known losses"):
        get_loss("focal")


def test_loss_element_counts():
    ce = TaskSpec(name="seg", kind="dense_classification", num_outputs=3, loss="cross_entropy", ignore_index=255)
    assert default_loss_elements(ce, torch.tensor([[0, 255], [2, 1]])).item() == 3
    normals = TaskSpec(name="normals", kind="dense_regression", num_outputs=3, loss="l1", extra={"ignore_value": 0.0})
    labels = torch.zeros(2, 3, 2, 2)
    labels[0, 2, 0, 0] = 1.0  # one valid pixel in sample 0
    labels[1, :, 1, 1] = 0.5  # one in sample 1
    assert default_loss_elements(normals, labels).item() == 2 * 3  # valid pixels x channels
    depth = TaskSpec(
        name="depth",
        kind="dense_regression",
        num_outputs=1,
        loss="l1",
        extra={"ignore_value": 255.0, "invalid_value": 0.0},
    )
    assert default_loss_elements(depth, torch.tensor([[[1.0, 0.0], [255.0, 3.0]]])).item() == 2  # (B, H, W) labels
    per_frame = TaskSpec(
        name="flow", kind="dense_regression", num_outputs=2, loss="l1", extra={"per_frame": True, "ignore_value": -1.0}
    )
    flow = torch.ones(1, 3, 2, 4, 4)  # (B, T, C, H, W)
    flow[0, 1] = -1.0  # a frame without labels
    assert default_loss_elements(per_frame, flow).item() == 2 * 2 * 16
    assert count_loss_elements(None, ce, None).item() == 0

    class Model(torch.nn.Module):
        def count_loss_elements(self, spec, labels):
            return labels.shape[0]

    assert count_loss_elements(Model(), ce, torch.zeros(5, 2, 2)).item() == 5


@pytest.mark.parametrize("kind", ["cross_entropy", "l1"])
def test_split_batch_means_recombine_with_the_counts(kind):
    """Σ_pieces mean_piece · n_piece / N equals the whole batch's mean — what loss_normalization='global' uses."""
    torch.manual_seed(0)
    if kind == "cross_entropy":
        spec = TaskSpec(name="t", kind="dense_classification", num_outputs=4, loss="cross_entropy")
        preds, labels = torch.randn(6, 4, 3, 3), torch.randint(0, 4, (6, 3, 3))
        labels[torch.rand(6, 3, 3) < 0.4] = -100
        labels[2:4] = -100  # a piece without any label

        def loss(p, t):
            return masked_cross_entropy(p, t)
    else:
        spec = TaskSpec(name="t", kind="dense_regression", num_outputs=3, loss="l1", extra={"ignore_value": 0.0})
        preds, labels = torch.randn(6, 3, 3, 3), torch.randn(6, 3, 3, 3)
        labels[..., torch.rand(3, 3) < 0.3] = 0.0
        labels[2:4] = 0.0

        def loss(p, t):
            return masked_l1(p, t, ignore_value=0.0)

    total = default_loss_elements(spec, labels)
    pieces = [slice(0, 2), slice(2, 4), slice(4, 6)]
    recombined = sum(loss(preds[s], labels[s]) * default_loss_elements(spec, labels[s]) / total for s in pieces)
    torch.testing.assert_close(recombined, loss(preds, labels), rtol=1e-6, atol=1e-7)

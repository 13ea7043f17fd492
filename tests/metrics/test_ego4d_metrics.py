"""Ego4D metrics on hand-computed values (spec §6)."""

from __future__ import annotations

import itertools

import pytest
import torch

from mthub.metrics.ego4d import (
    Ego4DAccuracy,
    LTAEditDistance,
    PNRLocalizationError,
    SocialMeanAveragePrecision,
    edit_distance_at_z,
    levenshtein_distance,
    sample_action_sequences,
    voc_average_precision,
)


def _one_hot(index: int, frames: int = 16) -> torch.Tensor:
    scores = torch.zeros(frames)
    scores[index] = 5.0
    return scores


def test_pnr_error_hand_values():
    metric = PNRLocalizationError()
    # clip frames 0–240 over 8 s, PNR at 120: prediction index 8 maps to 240/16·8 = 120 → error 0
    metric.update(_one_hot(8)[None], {"start_frame": [0], "end_frame": [240], "pnr_frame": [120], "start_sec": [0.0], "end_sec": [8.0]})
    assert metric.compute() == {"localization_error_s": 0.0}
    # index 0 → offset 0, error 120 frames at fps 241/8 → 3.9834 s; averaged with the first clip
    metric.update(
        torch.stack([_one_hot(0), _one_hot(3)]),
        torch.tensor([[0.0, 240.0, 120.0, 241 / 8], [1000.0, 1240.0, -1.0, 30.0]]),  # second clip: no PNR, skipped
    )
    assert metric.compute()["localization_error_s"] == pytest.approx((0 + 120 / (241 / 8)) / 2)


def test_pnr_error_needs_fps_or_seconds():
    with pytest.raises(KeyError, match="fps"):
        PNRLocalizationError().update(_one_hot(1)[None], {"start_frame": [0], "end_frame": [240], "pnr_frame": [3]})


def test_accuracy_top1_top5_and_frame_accuracy_with_padding():
    metric = Ego4DAccuracy(num_classes=6, top_k=5, key="top1")
    preds = torch.tensor([[0.0, 1, 2, 3, 4, 5], [5.0, 4, 3, 2, 1, 0]])
    metric.update(preds, torch.tensor([5, 5]))  # first right; second: class 5 is ranked last (not in top-5)
    assert metric.compute() == {"top1": 50.0, "top5": 50.0}
    frames = Ego4DAccuracy(num_classes=2, key="frame_accuracy")
    logits = torch.tensor([[[0.0, 1.0], [1.0, 0.0], [0.3, 0.3]], [[2.0, 0.0], [0.0, 0.0], [0.0, 0.0]]])
    labels = torch.tensor([[1, 1, 0], [0, -100, -100]])  # tie → class 0, as round(softmax)[1] = round(0.5) = 0
    frames.update(logits, labels)
    assert frames.compute() == {"frame_accuracy": 75.0}


def _reference_levenshtein(a, b) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row = row, [i]
        for j, y in enumerate(b, 1):
            row.append(min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (x != y)))
    return row[-1]


def test_levenshtein_matches_a_reference_dp():
    gen = torch.Generator().manual_seed(0)
    a = torch.randint(0, 4, (64, 7), generator=gen)
    b = torch.randint(0, 4, (64, 9), generator=gen)
    expected = [_reference_levenshtein(x.tolist(), y.tolist()) for x, y in zip(a, b)]
    assert levenshtein_distance(a, b).tolist() == expected
    assert levenshtein_distance(torch.tensor([[1, 2, 3, 4]]), torch.tensor([[1, 3, 3]])).item() == 2


def test_edit_distance_takes_the_min_over_k_and_divides_by_z():
    target = torch.tensor([[1, 2, 3, 4]])
    preds = torch.tensor([[[9, 9, 9, 9], [1, 2, 9, 4], [4, 3, 2, 1]]])  # distances 4, 1, 4 → min 1
    assert edit_distance_at_z(preds, target).tolist() == [0.25]
    metric = LTAEditDistance()
    metric.update(preds, target)
    metric.update(torch.tensor([[[1, 2, 3, 4]]]), torch.tensor([[1, 2, 3, 4]]))
    assert metric.compute() == {"ED@4": pytest.approx(0.125)}


def test_lta_sampling_is_seeded_and_argmax_for_one_sample():
    logits = torch.randn(3, 20, 7)
    assert torch.equal(sample_action_sequences(logits, 1), logits.argmax(-1)[:, None])
    draws = sample_action_sequences(logits, 5, torch.Generator().manual_seed(1))
    assert draws.shape == (3, 5, 20) and torch.equal(draws, sample_action_sequences(logits, 5, torch.Generator().manual_seed(1)))
    certain = torch.full((2, 20, 4), -1e4)
    certain[..., 2] = 1e4  # one-hot distributions: every sample is the argmax sequence → ED 0
    metric = LTAEditDistance(num_samples=5)
    metric.update(certain, torch.full((2, 20), 2))
    assert metric.compute() == {"ED@20": 0.0}


def test_voc_ap_hand_values():
    assert voc_average_precision(torch.tensor([0.9, 0.8, 0.3, 0.1]), torch.tensor([1, 1, 0, 0])) == 1.0  # perfect ranking
    # ranking: +, −, + → precision 1, 1/2, 2/3; interpolated (1, 2/3, 2/3); recall steps 1/2 at rank 1 and 3
    ap = voc_average_precision(torch.tensor([0.9, 0.8, 0.7]), torch.tensor([1, 0, 1]))
    assert ap.item() == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert torch.isnan(voc_average_precision(torch.tensor([0.5]), torch.tensor([0])))


def test_social_map_averages_both_classes_and_groups_segments():
    metric = SocialMeanAveragePrecision()
    metric.update(torch.tensor([[0.0, 3.0], [0.0, -3.0], [0.0, 2.0], [0.0, -1.0]]), torch.tensor([1, 0, 1, 0]))
    assert metric.compute() == {"mAP": 100.0, "AP_positive": 100.0, "AP_negative": 100.0}
    grouped = SocialMeanAveragePrecision()
    # two sub-segments of segment 7 average their logits (3 and −1 → 1) before the softmax: one positive at p=σ(1)
    grouped.update(torch.tensor([[0.0, 3.0], [0.0, -1.0], [0.0, 2.0]]), torch.tensor([1, 1, 0]), group_ids=torch.tensor([7, 7, -1]))
    out = grouped.compute()
    # p: ungrouped σ(2) (label 0) ranks above the group's σ(1) (label 1) → AP_pos = 1/2; with 1 − p the group
    # ranks first but is not negative → AP_neg = 1/2. (Without grouping AP_pos would be 1·½ + ⅔·½ = 5/6.)
    assert out == {"mAP": pytest.approx(50.0), "AP_positive": pytest.approx(50.0), "AP_negative": pytest.approx(50.0)}


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_accuracy_is_independent_of_batching(order):
    preds = torch.tensor([[2.0, 1.0], [0.0, 1.0], [1.0, 3.0]])
    labels = torch.tensor([0, 0, 1])
    metric = Ego4DAccuracy(2)
    for i in order:
        metric.update(preds[i : i + 1], labels[i : i + 1])
    assert metric.compute()["accuracy"] == pytest.approx(200 / 3)

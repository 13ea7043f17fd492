"""Turn a task's raw outputs into label-space predictions, by task kind (shared by every mthub pipeline)."""

from __future__ import annotations

import torch

from ..configuration_utils import TaskSpec


def decode_task_output(spec: TaskSpec, logits: torch.Tensor, top_k: int = 5):
    """Predictions of one task for one sample (``logits`` without the batch dimension).

    * ``classification``: ``[{"label", "score"}]``, the ``top_k`` classes by softmax probability (per frame when the
      logits have a leading frame axis ``(T, K)``: a list of such lists).
    * ``multilabel``: labels with sigmoid score ≥ 0.5, with scores.
    * ``dense_classification``: ``{"labels": (…, H, W) int64 argmax map, "names": label names}``.
    * ``dense_regression`` and the rest: the float tensor as is.
    """
    logits = logits.detach().float().cpu()
    if spec.kind == "classification":
        if logits.dim() == 2:
            return [decode_task_output(spec, frame, top_k) for frame in logits]
        probabilities = logits.softmax(-1)
        scores, indices = probabilities.topk(min(top_k, probabilities.numel()))
        names = spec.id2label
        return [{"label": names[int(i)], "score": float(s)} for s, i in zip(scores, indices)]
    if spec.kind == "multilabel":
        probabilities = logits.sigmoid()
        names = spec.id2label
        return [{"label": names[i], "score": float(p)} for i, p in enumerate(probabilities) if p >= 0.5]
    if spec.kind == "dense_classification":
        class_axis = -3
        return {"labels": logits.argmax(dim=class_axis), "names": list(spec.id2label.values())}
    return logits

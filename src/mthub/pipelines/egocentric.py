"""``pipeline("egocentric-video-tasks")``: one egocentric video (+ optional audio and face track) in, every task's
prediction of an EgoT2 model out, in label space.

The model runs end to end: :class:`~mthub.models.egot2.EgoT2Processor` adapts the video to each frozen TS model
(frame rates, windows, crops, MFCC), the TS models produce their token streams and the translator predicts. EgoT2-s
returns its primary task, EgoT2-g every task of its cluster (greedy decoding, constrained to the label space by
default). Outputs per task:

* ``pnr``: ``{"keyframe": k, "time_s": t, "score": p}`` — the state-change keyframe among the 16 sampled frames and
  its time in seconds (``window start + k · window / 16``, the official metric's frame convention);
* ``oscc`` / ``lam`` / ``ttm``: ``{"label": name, "score": p}``;
* ``asd``: ``[{"time_s", "label", "score"}]`` per face-crop frame;
* ``action_verb`` / ``action_noun``: ``[{"label": word, "score": p}]`` (top-k; verbs and nouns as words);
* ``lta_verb`` / ``lta_noun``: EgoT2-s ``[{"label": word, "score": p}]`` per future action (``Z`` of them),
  EgoT2-g the next action.

Call options: ``audio`` (16 kHz samples or a path), ``face_track`` (boxes), ``start_s`` / ``end_s`` (the window),
``fps`` (with a frame array), ``top_k``, ``tasks`` (subset), ``constrained`` (EgoT2-g decoding).
"""

from __future__ import annotations

import os
from typing import Any

import torch
from transformers import Pipeline

__all__ = ["EgocentricVideoTasksPipeline"]

_PREPROCESS = ("audio", "face_track", "start_s", "end_s", "fps")


class EgocentricVideoTasksPipeline(Pipeline):
    _load_processor = False
    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = False
    _load_tokenizer = False

    def __init__(self, *args: Any, egot2_processor: Any = None, **kwargs: Any) -> None:
        processor = kwargs.pop("processor", None)
        super().__init__(*args, **kwargs)
        config = self.model.config
        if getattr(config, "model_type", None) != "mthub_egot2":
            raise ValueError(f"egocentric-video-tasks runs EgoT2 models (mthub_egot2), got {getattr(config, 'model_type', None)!r}.")
        if getattr(self.model, "ts_models", None) is None:
            raise ValueError(
                "this EgoT2 model has no TS models (use_ts_models=False): the pipeline needs them to read videos; load it "
                "with its TS models (the default) or run it on precomputed features directly."
            )
        self.egot2_processor = egot2_processor or processor or self._default_processor()

    def _default_processor(self):
        from ..models.egot2 import EgoT2Processor

        reference = getattr(self.model, "name_or_path", None) or getattr(self.model.config, "_name_or_path", "")
        if reference and os.path.isfile(os.path.join(str(reference), "egot2_processor.json")):
            return EgoT2Processor.from_pretrained(reference)
        return EgoT2Processor.from_config(self.model.config)

    def _sanitize_parameters(self, top_k=None, tasks=None, constrained=None, **kwargs):
        preprocess = {k: kwargs.pop(k) for k in _PREPROCESS if k in kwargs}
        if kwargs:
            raise TypeError(f"egocentric-video-tasks got unknown options {sorted(kwargs)}.")
        forward = {} if constrained is None else {"constrained": constrained}
        post = {}
        if top_k is not None:
            post["top_k"] = top_k
        if tasks is not None:
            post["tasks"] = list(tasks)
        return preprocess, forward, post

    def preprocess(self, inputs, audio=None, face_track=None, start_s=0.0, end_s=None, fps=None):
        if isinstance(inputs, dict):  # {"video": ..., "audio": ..., "face_track": ...}
            audio = inputs.get("audio", audio)
            face_track = inputs.get("face_track", face_track)
            inputs = inputs["video"]
        features = self.egot2_processor(inputs, audio=audio, face_track=face_track, start_s=start_s, end_s=end_s, fps=fps)
        dtype = next(self.model.parameters()).dtype
        model_inputs = {k: v.to(dtype) if v.is_floating_point() else v for k, v in features.items()}
        model_inputs["_window"] = torch.tensor(self.egot2_processor.window, dtype=torch.float64)
        return model_inputs

    def _forward(self, model_inputs, constrained=None):
        window = model_inputs.pop("_window")
        config = self.model.config
        if config.variant == "s":
            return {"window": window, "logits": self.model(**model_inputs).logits}
        generated = self.model.generate(**model_inputs, constrained=constrained)
        return {"window": window, "generated": {k: (v.predictions, v.label_scores) for k, v in generated.items()}}

    # ----- label space ---------------------------------------------------------------------------------------------
    def _names(self, task: str, count: int) -> list[str]:
        names = self.egot2_processor.labels.get(task)
        return list(names) if names and len(names) == count else [f"{task}_{i}" for i in range(count)]

    def postprocess(self, model_outputs, top_k=5, tasks=None):
        config = self.model.config
        start, end = (float(v) for v in model_outputs["window"].reshape(-1)[:2])
        results: dict[str, Any] = {}
        if config.variant == "s":
            for task, logits in model_outputs["logits"].items():
                results[task] = self._decode_s(task, logits.detach().float().cpu(), start, end, top_k)
        else:
            for task, (predictions, scores) in model_outputs["generated"].items():
                results[task] = self._decode_g(task, predictions.cpu(), scores.detach().float().cpu(), start, end, top_k)
        if tasks is not None:
            results = {k: v for k, v in results.items() if k in tasks}
        return results

    def _pnr(self, index: int, score: float, start: float, end: float) -> dict[str, Any]:
        frames = self.model.config.num_keyframes
        return {"keyframe": index, "time_s": start + index * (end - start) / frames, "score": score}

    def _asd_times(self, count: int, start: float, end: float) -> list[float]:
        grid = self.egot2_processor._social_grid(start, end)
        return [float(t) for t in grid[:count]]

    def _decode_s(self, task: str, logits: torch.Tensor, start: float, end: float, top_k: int) -> Any:
        if task == "pnr":
            scores = logits[0].sigmoid()
            index = int(scores.argmax())
            return self._pnr(index, float(scores[index]), start, end)
        if task == "asd":
            probabilities = logits.softmax(-1)  # (B·T, 2), B = 1
            names = self._names(task, 2)
            times = self._asd_times(len(probabilities), start, end)
            return [{"time_s": t, "label": names[int(p.argmax())], "score": float(p.max())} for t, p in zip(times, probabilities)]
        if task in ("lta_verb", "lta_noun"):
            probabilities = logits[0].softmax(-1)  # (Z, K)
            names = self._names(task, probabilities.shape[-1])
            return [{"label": names[int(p.argmax())], "score": float(p.max())} for p in probabilities]
        probabilities = logits[0].softmax(-1)
        names = self._names(task, probabilities.numel())
        if task in ("action_verb", "action_noun"):
            values, indices = probabilities.topk(min(top_k, probabilities.numel()))
            return [{"label": names[int(i)], "score": float(v)} for v, i in zip(values, indices)]
        index = int(probabilities.argmax())
        return {"label": names[index], "score": float(probabilities[index])}

    def _decode_g(self, task: str, predictions: torch.Tensor, scores: torch.Tensor, start: float, end: float, top_k: int) -> Any:
        probabilities = scores.softmax(-1)
        names = self._names(task, probabilities.shape[-1])

        def one(prediction: int, p: torch.Tensor) -> dict[str, Any]:
            if prediction < 0:
                return {"label": None, "score": 0.0, "out_of_label_space": True}
            return {"label": names[prediction], "score": float(p[prediction])}

        if task == "asd":
            flat_p, flat_s = predictions.reshape(-1), probabilities.reshape(-1, probabilities.shape[-1])
            times = self._asd_times(len(flat_p), start, end)
            return [{"time_s": t, **one(int(c), p)} for t, c, p in zip(times, flat_p, flat_s)]
        prediction, p = int(predictions.reshape(-1)[0]), probabilities.reshape(-1, probabilities.shape[-1])[0]
        if task == "pnr":
            return self._pnr(prediction, float(p[prediction]) if prediction >= 0 else 0.0, start, end) if prediction >= 0 else one(prediction, p)
        if task in ("action_verb", "action_noun") and prediction >= 0:
            values, indices = p.topk(min(top_k, p.numel()))
            return [{"label": names[int(i)], "score": float(v)} for v, i in zip(values, indices)]
        return one(prediction, p)

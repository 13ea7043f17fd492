"""``pipeline("multi-task-dense-prediction")``: an image in, every task's dense map out; a video in, per-frame maps.

Generic over mthub dense models: any ``AutoModel`` whose forward takes ``pixel_values (B, 3, H, W)`` and returns
:class:`~mthub.MultiTaskOutput` with ``logits = {task: (B, C_t, h, w)}`` (TIF first; later dense families list
``"multi-task-dense-prediction"`` in their ``pipeline_tasks``). Predictions are decoded per :class:`TaskSpec` kind
(:func:`decode_dense_output`) at the input image's own size.

Inputs:

* an image: ``PIL.Image``, ``(H, W, 3)`` uint8 array, or a path to an image file;
* a video: a path with a video extension (decoded with PyAV through :class:`mthub.data.video.VideoReader`, in
  chunks of ``batch_size`` frames) or a ``(T, H, W, 3)`` array. Frames are processed as they are decoded, with a
  tqdm progress bar; ``stream=True`` returns a generator, otherwise a list, of per-frame results
  ``{"frame_index", "timestamp", task: prediction …}``.

Options: ``tasks`` (subset), ``fps`` / ``max_frames`` (video sampling), ``panel_path`` (image: write a PNG panel
with :func:`~mthub.pipelines.rendering.render_panel`), ``panel_dir`` (video: one panel per frame).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from transformers import Pipeline
from transformers.image_utils import load_image

from ..configuration_utils import TaskSpec
from .rendering import render_panel

__all__ = ["VIDEO_EXTENSIONS", "MultiTaskDensePredictionPipeline", "decode_dense_output"]

VIDEO_EXTENSIONS = frozenset({".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".wmv"})


_VIDEO_OPTIONS = frozenset({"fps", "max_frames", "panel_dir", "progress", "stream"})


def decode_dense_output(spec: TaskSpec, logits: torch.Tensor, size: tuple[int, int] | None = None) -> Any:
    """Decode one task's raw map for one sample (``logits (C, h, w)``), resized to ``size`` first (bilinear).

    * ``dense_classification`` with one channel (``extra["binary"]``, e.g. edges): ``{"probabilities": (H, W)}``
      (sigmoid).
    * ``dense_classification`` with ``C`` > 1: ``{"labels": (H, W) int64, "names": [...]}``; two-class tasks
      (saliency) add ``"probabilities"`` of class 1.
    * ``dense_regression``: float ``(H, W)`` for one channel, ``(C, H, W)`` otherwise; ``extra["clamp_min"]`` clamps
      (depth ≥ 0) and ``extra["normalize"]`` L2-normalises over channels (surface normals).
    """
    logits = logits.detach().float().cpu()
    if logits.dim() != 3:
        raise ValueError(f"Task {spec.name!r}: expected (C, H, W) logits for one sample, got {tuple(logits.shape)}.")
    if size is not None and tuple(logits.shape[-2:]) != tuple(size):
        logits = F.interpolate(logits[None], size=tuple(size), mode="bilinear", align_corners=False)[0]
    if spec.kind == "dense_classification":
        if logits.shape[0] == 1:
            return {"probabilities": logits[0].sigmoid()}
        out = {"labels": logits.argmax(0), "names": list(spec.id2label.values())}
        if logits.shape[0] == 2:
            out["probabilities"] = logits.softmax(0)[1]
        return out
    if spec.kind == "dense_regression":
        if "clamp_min" in spec.extra:
            logits = logits.clamp(min=float(spec.extra["clamp_min"]))
        if spec.extra.get("normalize"):
            logits = F.normalize(logits, dim=0)
        return logits[0] if logits.shape[0] == 1 else logits
    return logits


def _is_video(inputs: Any) -> bool:
    if isinstance(inputs, (str, os.PathLike)):
        return Path(inputs).suffix.lower() in VIDEO_EXTENSIONS
    return isinstance(inputs, np.ndarray) and inputs.ndim == 4


def _to_rgb_array(image: Any) -> np.ndarray:
    """A PIL image, path or array → ``(H, W, 3)`` uint8."""
    if isinstance(image, np.ndarray):
        array = image
    elif isinstance(image, torch.Tensor):
        array = image.detach().cpu().numpy()
        if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[-1] not in (1, 3):
            array = np.moveaxis(array, 0, -1)
    else:
        array = np.array(load_image(image if not isinstance(image, os.PathLike) else str(image)).convert("RGB"))
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(f"multi-task-dense-prediction: expected an (H, W, 3) image, got shape {array.shape}.")
    if array.dtype != np.uint8:
        array = np.clip(array * (255.0 if array.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    return array


class MultiTaskDensePredictionPipeline(Pipeline):
    """See the module docstring. Built with ``pipeline("multi-task-dense-prediction", model=...)``; without a saved
    image processor, the model family's processor is built at the model's ``config.image_size``."""

    _load_processor = False
    _load_image_processor = None  # soft: a model instance has no processor files; see _default_image_processor
    _load_video_processor = False
    _load_feature_extractor = False
    _load_tokenizer = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.image_processor is None:
            self.image_processor = self._default_image_processor()

    def _default_image_processor(self):
        from ..registry import get_family

        config = self.model.config
        try:
            family = get_family(config.model_type)
        except KeyError:
            family = None
        if family is None or family.processor_class is None:
            raise ValueError(
                f"multi-task-dense-prediction needs an image processor; none was saved with {self.model.name_or_path!r} "
                "and its model type has no registered mthub processor. Pass image_processor=…."
            )
        kwargs = {}
        image_size = getattr(config, "image_size", None)
        if isinstance(image_size, (list, tuple)) and len(image_size) == 2:
            kwargs["size"] = {"height": int(image_size[0]), "width": int(image_size[1])}
        return family.processor_class(**kwargs)

    # ----- parameters ------------------------------------------------------------------------------------------
    def _sanitize_parameters(
        self,
        tasks: Sequence[str] | None = None,
        panel_path: str | os.PathLike | None = None,
        **kwargs,
    ):
        postprocess: dict[str, Any] = {}
        if tasks is not None:
            unknown = set(tasks) - set(self.model.config.task_names)
            if unknown:
                raise KeyError(
                    f"Unknown tasks {sorted(unknown)}; this model's tasks are {self.model.config.task_names}."
                )
            postprocess["tasks"] = list(tasks)
        preprocess: dict[str, Any] = {}
        if panel_path is not None:
            postprocess["panel_path"] = panel_path
            preprocess["keep_image"] = True
        # Video options are read by __call__ before this runs; here they mean an image was given.
        video_only = sorted(set(kwargs) & _VIDEO_OPTIONS)
        if video_only:
            raise ValueError(
                f"{video_only} apply to videos only (a video path with one of {sorted(VIDEO_EXTENSIONS)} "
                "or a (T, H, W, 3) array)."
            )
        if kwargs:
            raise TypeError(f"multi-task-dense-prediction got unknown options {sorted(kwargs)}.")
        return preprocess, {}, postprocess

    # ----- image path ------------------------------------------------------------------------------------------
    def preprocess(self, image, keep_image: bool = False):
        array = _to_rgb_array(image)
        inputs = self.image_processor(images=[array], return_tensors="pt")
        model_inputs = {"pixel_values": inputs["pixel_values"].to(self.model.dtype), "target_size": array.shape[:2]}
        if keep_image:
            model_inputs["image"] = array
        return model_inputs

    def _forward(self, model_inputs):
        outputs = self.model(pixel_values=model_inputs["pixel_values"])
        return {
            "logits": outputs.logits,
            "target_size": model_inputs["target_size"],
            "image": model_inputs.get("image"),
        }

    def postprocess(self, model_outputs, tasks=None, panel_path=None):
        predictions = self._decode(model_outputs["logits"], 0, model_outputs["target_size"], tasks)
        if panel_path is not None:
            render_panel(model_outputs["image"], predictions, self.model.config, path=panel_path)
        return predictions

    def _decode(self, logits: dict[str, torch.Tensor], index: int, size, tasks=None) -> dict[str, Any]:
        config = self.model.config
        names = tasks or config.task_names
        return {name: decode_dense_output(config.task(name), logits[name][index], tuple(size)) for name in names}

    # ----- video path ------------------------------------------------------------------------------------------
    def __call__(self, inputs, *args, **kwargs):
        if not _is_video(inputs):
            return super().__call__(inputs, *args, **kwargs)
        video_kwargs = {key: kwargs.pop(key) for key in ("fps", "max_frames", "panel_dir", "progress") if key in kwargs}
        stream = bool(kwargs.pop("stream", False))
        batch_size = kwargs.pop("batch_size", None) or self._batch_size or 8
        _, _, postprocess = self._sanitize_parameters(**kwargs)
        if "panel_path" in postprocess:
            raise ValueError("panel_path is for images; for a video pass panel_dir= (one PNG per frame).")
        frames = self._iter_video(inputs, batch_size=batch_size, tasks=postprocess.get("tasks"), **video_kwargs)
        return frames if stream else list(frames)

    def _frame_chunks(self, video, batch_size: int, fps: float | None, max_frames: int | None):
        """Yield ``(frame_indices, timestamps, frames (N, H, W, 3))`` chunks, decoding lazily; and the total count."""
        if isinstance(video, np.ndarray):
            indices = np.arange(video.shape[0])
            if max_frames is not None:
                indices = indices[:max_frames]

            def chunks():
                for start in range(0, len(indices), batch_size):
                    idx = indices[start : start + batch_size]
                    yield idx, [None] * len(idx), video[idx]

            return len(indices), chunks()

        from ..data.video import VideoReader, fps_indices  # PyAV only when a video is given

        reader = VideoReader(video)
        info = reader.info
        indices = fps_indices(info, fps) if fps else np.arange(info.num_frames)
        if max_frames is not None:
            indices = indices[:max_frames]

        def chunks():
            try:
                for start in range(0, len(indices), batch_size):
                    idx = indices[start : start + batch_size]
                    yield idx, [float(i) / info.fps for i in idx], reader.get_frames(idx)
            finally:
                reader.close()

        return len(indices), chunks()

    def _iter_video(
        self,
        video,
        batch_size: int = 8,
        fps: float | None = None,
        max_frames: int | None = None,
        tasks: Sequence[str] | None = None,
        panel_dir: str | os.PathLike | None = None,
        progress: bool = True,
    ) -> Iterator[dict[str, Any]]:
        from tqdm.auto import tqdm

        total, chunks = self._frame_chunks(video, batch_size, fps, max_frames)
        if panel_dir is not None:
            Path(panel_dir).mkdir(parents=True, exist_ok=True)
        name = video if isinstance(video, (str, os.PathLike)) else "frames"
        with tqdm(
            total=total, desc=f"dense prediction {Path(str(name)).name}", unit="frame", disable=not progress
        ) as bar:
            for indices, times, frames in chunks:
                inputs = self.image_processor(images=list(frames), return_tensors="pt")
                pixel_values = inputs["pixel_values"].to(device=self.device, dtype=self.model.dtype)
                with torch.no_grad():
                    logits = {k: v.cpu() for k, v in self.model(pixel_values=pixel_values).logits.items()}
                for j, (frame_index, timestamp) in enumerate(zip(indices, times)):
                    result = {"frame_index": int(frame_index), "timestamp": timestamp}
                    predictions = self._decode(logits, j, frames[j].shape[:2], tasks)
                    if panel_dir is not None:
                        render_panel(
                            frames[j],
                            predictions,
                            self.model.config,
                            path=Path(panel_dir) / f"frame_{int(frame_index):06d}.png",
                        )
                    result.update(predictions)
                    yield result
                bar.update(len(indices))

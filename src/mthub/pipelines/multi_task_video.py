"""``pipeline("multi-task-video")``: a video in, every task's prediction out, in label space.

Works with every mthub family that has a video processor and an ``AutoModel`` returning
:class:`~mthub.MultiTaskOutput`. Input: a video path (decoded with PyAV by the model's processor) or a frame array
``(T, H, W, 3)``. Output: ``{task: prediction}`` as decoded by :func:`~mthub.pipelines.postprocessing.decode_task_output`.
"""

from __future__ import annotations

from transformers import Pipeline

from .postprocessing import decode_task_output


class MultiTaskVideoPipeline(Pipeline):
    _load_processor = False
    _load_image_processor = False
    _load_video_processor = True
    _load_feature_extractor = False
    _load_tokenizer = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.video_processor is None:
            raise ValueError(
                f"The multi-task-video pipeline needs a video processor; none was found for {self.model.name_or_path!r}. "
                "Pass video_processor=… or save one next to the model."
            )

    def _sanitize_parameters(self, top_k=None, tasks=None, num_frames=None, **kwargs):
        preprocess_params = {} if num_frames is None else {"num_frames": num_frames}
        postprocess_params = {}
        if top_k is not None:
            postprocess_params["top_k"] = top_k
        if tasks is not None:
            postprocess_params["tasks"] = list(tasks)
        return preprocess_params, {}, postprocess_params

    def preprocess(self, video, num_frames=None):
        kwargs = {} if num_frames is None else {"num_frames": num_frames}
        inputs = self.video_processor(video, return_tensors="pt", **kwargs)
        return {"pixel_values": inputs["pixel_values"].to(self.dtype)}

    def _forward(self, model_inputs):
        return {"logits": self.model(**model_inputs).logits}

    def postprocess(self, model_outputs, top_k=5, tasks=None):
        config = self.model.config
        names = tasks or config.task_names
        return {name: decode_task_output(config.task(name), model_outputs["logits"][name][0], top_k) for name in names}


__all__ = ["MultiTaskVideoPipeline"]

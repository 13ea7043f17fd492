"""Pipelines registered with ``transformers.pipeline`` (see :mod:`mthub.auto`)."""

from .multi_task_video import MultiTaskVideoPipeline
from .postprocessing import decode_task_output

#: ``task name → (pipeline class, pipeline type)``; registered with transformers by :mod:`mthub.auto`.
PIPELINES = {"multi-task-video": (MultiTaskVideoPipeline, "video")}

__all__ = ["PIPELINES", "MultiTaskVideoPipeline", "decode_task_output"]

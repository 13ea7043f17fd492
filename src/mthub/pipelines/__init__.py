"""Pipelines registered with ``transformers.pipeline`` (see :mod:`mthub.auto`)."""

from .dense_prediction import MultiTaskDensePredictionPipeline
from .egocentric import EgocentricVideoTasksPipeline
from .multi_task_video import MultiTaskVideoPipeline
from .postprocessing import decode_task_output

#: ``task name → (pipeline class, pipeline type)``; registered with transformers by :mod:`mthub.auto`.
PIPELINES = {
    "multi-task-video": (MultiTaskVideoPipeline, "video"),
    "multi-task-dense-prediction": (MultiTaskDensePredictionPipeline, "image"),
    "egocentric-video-tasks": (EgocentricVideoTasksPipeline, "video"),
}

__all__ = ["PIPELINES", "EgocentricVideoTasksPipeline", "MultiTaskDensePredictionPipeline", "MultiTaskVideoPipeline", "decode_task_output"]

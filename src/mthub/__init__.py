"""mthub: multi-task video and scene understanding models for the Hugging Face ecosystem.

``import mthub`` registers every mthub config, model, processor and pipeline task with transformers, so that
``AutoModel.from_pretrained("mthub/<preset>")`` and ``pipeline("<task>", model=…)`` work.
"""

__version__ = "0.1.0"

from .auto import register_all as _register_all  # noqa: E402
from .configuration_utils import MTHubConfig, TaskSpec  # noqa: E402
from .modeling_utils import MTHubPreTrainedModel, MultiTaskOutput  # noqa: E402
from .registry import get_family, get_preset, list_model_families, list_presets, preset_config  # noqa: E402

_register_all()

__all__ = [
    "MTHubConfig",
    "MTHubPreTrainedModel",
    "MultiTaskOutput",
    "TaskSpec",
    "__version__",
    "get_family",
    "get_preset",
    "list_model_families",
    "list_presets",
    "preset_config",
]

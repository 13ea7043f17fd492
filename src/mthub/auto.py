"""Register every mthub family with transformers' Auto classes and every pipeline task with ``pipeline()``.

Called once by ``import mthub``. No ``trust_remote_code``, no import hooks: transformers' own "unknown model type
``mthub_…``" error names the package to import.
"""

from __future__ import annotations

import transformers
from transformers import AutoConfig, AutoImageProcessor, AutoModel, AutoProcessor, AutoVideoProcessor
from transformers.pipelines import PIPELINE_REGISTRY

from .pipelines import PIPELINES
from .registry import ModelFamily, register_family, register_presets

_PROCESSOR_REGISTRATION = {
    "AutoVideoProcessor": lambda config_class, processor: AutoVideoProcessor.register(
        config_class, video_processor_classes={"torchvision": processor}, exist_ok=True
    ),
    "AutoImageProcessor": lambda config_class, processor: AutoImageProcessor.register(
        config_class, image_processor_classes={"torchvision": processor}, exist_ok=True
    ),
    "AutoProcessor": lambda config_class, processor: AutoProcessor.register(config_class, processor, exist_ok=True),
}

_registered = False


def register_with_transformers(family: ModelFamily) -> None:
    """Register one family's config, models and processor with the transformers Auto classes."""
    AutoConfig.register(family.model_type, family.config_class, exist_ok=True)
    for auto_name, model_class in family.model_classes.items():
        getattr(transformers, auto_name).register(family.config_class, model_class, exist_ok=True)
    if family.processor_class is not None:
        try:
            register = _PROCESSOR_REGISTRATION[family.processor_auto_class]
        except KeyError:
            raise ValueError(
                f"Family {family.model_type!r}: processor_auto_class must be one of {sorted(_PROCESSOR_REGISTRATION)}."
            ) from None
        register(family.config_class, family.processor_class)


def register_all() -> None:
    """Register every model package listed in :data:`mthub.models.MODEL_PACKAGES` and every pipeline (idempotent)."""
    global _registered
    if _registered:
        return
    from .models import MODEL_PACKAGES

    for package in MODEL_PACKAGES:
        register_family(package.FAMILY)
        register_presets(*package.PRESETS)
        register_with_transformers(package.FAMILY)
    for task, (pipeline_class, pipeline_type) in PIPELINES.items():
        PIPELINE_REGISTRY.register_pipeline(task, pipeline_class=pipeline_class, pt_model=AutoModel, type=pipeline_type)
    _registered = True


__all__ = ["register_all", "register_with_transformers"]

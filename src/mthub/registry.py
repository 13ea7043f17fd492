"""Model families and presets as data (timm's ``model_cfgs`` style).

A *family* is one method (one ``model_type``): its config class, model classes keyed by the transformers Auto class
they register with, its processor, pipeline tasks, and a tiny config for tests. A *preset* is one named paper
configuration of a family, whose Hub id is ``mthub/<preset>``.

Families are declared in each model folder and listed explicitly in :mod:`mthub.models` (no import-time discovery);
:mod:`mthub.auto` registers them with transformers.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping
from typing import Any

HUB_ORGANISATION = "mthub"


@dataclasses.dataclass(frozen=True)
class ModelFamily:
    """One registered mthub method.

    Args:
        model_type: ``mthub_<method>``.
        config_class: the family's :class:`~mthub.configuration_utils.MTHubConfig` subclass.
        model_classes: ``{auto_class_name: model_class}``, e.g. ``{"AutoModel": XModel,
            "AutoModelForVideoClassification": XForVideoClassification}``. ``"AutoModel"`` is required.
        processor_class: the family's processor (video, image or composite).
        processor_auto_class: ``"AutoVideoProcessor"``, ``"AutoImageProcessor"`` or ``"AutoProcessor"``.
        pipeline_tasks: pipeline task names the family's models serve.
        tiny_config: builds a tiny randomly-initialisable config (for tests that loop over families).
        example_inputs: ``(config, batch_size) → dict`` of model inputs for that config (random, seeded by caller).
        example_labels: ``(config, batch_size) → dict`` of labels for training tests (optional).
        description: one line for listings and cards.
        paper: ``{"title", "authors", "venue", "url", "bibtex"}`` of the method's paper (``None`` for mthub's own).
    """

    model_type: str
    config_class: type
    model_classes: Mapping[str, type]
    processor_class: type | None
    processor_auto_class: str | None
    pipeline_tasks: tuple[str, ...]
    tiny_config: Callable[[], Any]
    example_inputs: Callable[[Any, int], dict]
    example_labels: Callable[[Any, int], dict] | None = None
    description: str = ""
    paper: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if not self.model_type.startswith("mthub_"):
            raise ValueError(f"model_type {self.model_type!r} must start with 'mthub_' (the naming contract).")
        if "AutoModel" not in self.model_classes:
            raise ValueError(f"Family {self.model_type!r} must register an AutoModel class.")
        if self.config_class.model_type != self.model_type:
            raise ValueError(
                f"{self.config_class.__name__}.model_type={self.config_class.model_type!r} != {self.model_type!r}."
            )

    @property
    def model_class(self) -> type:
        return self.model_classes["AutoModel"]


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named paper configuration.

    Args:
        name: preset name (Hub id ``mthub/<name>``).
        family: the family's ``model_type``.
        config: keyword arguments of the family's config class.
        description: one line.
        paper: short citation key (``"egot2"``, ``"tif"`` …); ``None`` for mthub's own models.
        input_size: example input geometry used for GMACs, e.g. ``{"num_frames": 16, "height": 224, "width": 224}``.
        datasets: Hub dataset names for the card.
        reported: results reported by the paper ``{metric: value}`` (labelled as such on the card).
        license: licence of released weights (``"cc-by-nc-sa-4.0"`` for converted EgoT2 weights).
        notes: paper-vs-code choices, for the card.
    """

    name: str
    family: str
    config: Mapping[str, Any]
    description: str = ""
    paper: str | None = None
    input_size: Mapping[str, int] = dataclasses.field(default_factory=dict)
    datasets: tuple[str, ...] = ()
    reported: Mapping[str, float] = dataclasses.field(default_factory=dict)
    license: str = "apache-2.0"
    notes: tuple[str, ...] = ()

    @property
    def hub_id(self) -> str:
        return f"{HUB_ORGANISATION}/{self.name}"


_FAMILIES: dict[str, ModelFamily] = {}
_PRESETS: dict[str, Preset] = {}


def register_family(family: ModelFamily) -> ModelFamily:
    existing = _FAMILIES.get(family.model_type)
    if existing is not None and existing is not family:
        raise ValueError(f"Model family {family.model_type!r} is already registered.")
    _FAMILIES[family.model_type] = family
    return family


def register_presets(*presets: Preset) -> None:
    for preset in presets:
        if preset.name in _PRESETS and _PRESETS[preset.name] != preset:
            raise ValueError(f"Preset {preset.name!r} is already registered with another configuration.")
        _PRESETS[preset.name] = preset


def _closest(name: str, candidates) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=5, cutoff=0.4)
    return f" Closest names: {close}." if close else ""


def list_model_families() -> list[str]:
    """``model_type`` of every registered family, sorted."""
    return sorted(_FAMILIES)


def get_family(model_type: str) -> ModelFamily:
    try:
        return _FAMILIES[model_type]
    except KeyError:
        raise KeyError(
            f"Unknown mthub model family {model_type!r}.{_closest(model_type, _FAMILIES)} Known: {sorted(_FAMILIES)}."
        ) from None


def list_presets(family: str | None = None) -> list[str]:
    """Names of every preset (optionally of one family), sorted."""
    return sorted(name for name, preset in _PRESETS.items() if family is None or preset.family == family)


def get_preset(name: str) -> Preset:
    name = name.removeprefix(f"{HUB_ORGANISATION}/")
    try:
        return _PRESETS[name]
    except KeyError:
        raise KeyError(f"Unknown mthub preset {name!r}.{_closest(name, _PRESETS)}") from None


def preset_config(name: str, **overrides: Any):
    """The config of preset ``name`` (``overrides`` replace config fields); build it with ``AutoModel.from_config``."""
    preset = get_preset(name)
    family = get_family(preset.family)
    kwargs = {**preset.config, **overrides}
    config = family.config_class(**kwargs)
    config.name_or_path = preset.hub_id
    # Recorded in config.json so that cards of fine-tuned models can name the paper configuration they started from.
    config.mthub_preset = preset.name
    return config


__all__ = [
    "HUB_ORGANISATION",
    "ModelFamily",
    "Preset",
    "get_family",
    "get_preset",
    "list_model_families",
    "list_presets",
    "preset_config",
    "register_family",
    "register_presets",
]

"""The mthub configuration contract: task specs, the base config and config migrations.

Every mthub config is a :class:`transformers.PreTrainedConfig` whose ``model_type`` is ``mthub_<method>`` and whose
``tasks`` field is a list of :class:`TaskSpec` dicts. A single ``id2label`` cannot hold the label maps of several
tasks, so each task carries its own label names; ``id2label``/``label2id`` stay untouched for transformers' own use.

``mthub_version`` is written into every ``config.json``. When a config written by an older mthub is loaded,
:func:`migrate_config_dict` applies the registered migrations in version order before the config is built, so the
on-disk format can evolve without breaking shared checkpoints.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from packaging.version import Version
from transformers import PreTrainedConfig

from . import __version__

#: Task kinds mthub understands. ``classification``: one label per sample (or per frame, see ``per_frame``);
#: ``multilabel``: independent binary labels; ``dense_classification``: a label per pixel (semantic segmentation,
#: human parts, edges as two classes); ``dense_regression``: a vector per pixel (depth, normals); ``sequence``: a
#: token sequence (EgoT2-g); ``detection``: boxes; ``localization``: a position in time (PNR); ``anticipation``:
#: several future labels (LTA).
TASK_KINDS = (
    "classification",
    "multilabel",
    "dense_classification",
    "dense_regression",
    "sequence",
    "detection",
    "localization",
    "anticipation",
)


@dataclasses.dataclass
class TaskSpec:
    """One task of a multi-task model.

    Args:
        name (`str`): Task name, unique within a model (``"semseg"``, ``"depth"``, ``"oscc"`` …). Used as the key of
            ``labels``/``logits``/``losses`` dicts everywhere.
        kind (`str`): One of :data:`TASK_KINDS`.
        num_outputs (`int`, *optional*): Output channels of the task head (classes for classification kinds, 1 for
            depth, 3 for normals). Derived from ``labels`` when omitted.
        labels (`list[str]`, *optional*): Label names in index order (the task's own ``id2label``).
        loss (`str`, *optional*): Name of the loss in :mod:`mthub.losses` (``"cross_entropy"``, ``"l1"`` …).
        loss_weight (`float`, *optional*, defaults to 1.0): Fixed weight of this task's loss in the summed loss.
        metric (`str`, *optional*): Name of the evaluation metric (``"accuracy"``, ``"miou"``, ``"rmse"`` …).
        ignore_index (`int`, *optional*, defaults to -100): Label value that is masked out of loss and metrics.
        extra (`dict`, *optional*): Task-specific settings a model needs (e.g. ``{"per_frame": True}``).
    """

    name: str
    kind: str
    num_outputs: int | None = None
    labels: list[str] | None = None
    loss: str | None = None
    loss_weight: float = 1.0
    metric: str | None = None
    ignore_index: int = -100
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"Task name {self.name!r} must be a Python identifier (it is used as a dict key).")
        if self.kind not in TASK_KINDS:
            raise ValueError(f"Task {self.name!r}: unknown kind {self.kind!r}; expected one of {TASK_KINDS}.")
        if self.labels is not None:
            self.labels = [str(label) for label in self.labels]
            if self.num_outputs is None:
                self.num_outputs = len(self.labels)
            elif self.kind in ("classification", "multilabel", "dense_classification") and self.num_outputs != len(
                self.labels
            ):
                raise ValueError(
                    f"Task {self.name!r}: num_outputs={self.num_outputs} but {len(self.labels)} label names given."
                )
        if self.num_outputs is None:
            raise ValueError(f"Task {self.name!r}: give num_outputs or labels.")

    @property
    def id2label(self) -> dict[int, str]:
        names = self.labels or [f"LABEL_{i}" for i in range(self.num_outputs)]
        return dict(enumerate(names))

    @property
    def label2id(self) -> dict[str, int]:
        return {name: index for index, name in self.id2label.items()}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def coerce(cls, spec: TaskSpec | Mapping[str, Any]) -> TaskSpec:
        if isinstance(spec, TaskSpec):
            return copy.deepcopy(spec)
        if not isinstance(spec, Mapping):
            raise TypeError(f"A task spec must be a TaskSpec or a dict, got {type(spec).__name__}.")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"Task spec {spec.get('name')!r} has unknown fields {sorted(unknown)}; known: {sorted(known)}.")
        return cls(**spec)


def coerce_tasks(tasks: Iterable[TaskSpec | Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Validate task specs and return them as JSON-ready dicts (the form stored in ``config.json``)."""
    specs = [TaskSpec.coerce(task) for task in (tasks or [])]
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"Duplicate task names {duplicates} in config tasks.")
    return [spec.to_dict() for spec in specs]


# --------------------------------------------------------------------------------------------------------------------
# Migrations
# --------------------------------------------------------------------------------------------------------------------

#: ``(model_type or "*", introduced_in_version, function)``: a migration upgrades config dicts written by mthub
#: versions *older* than ``introduced_in_version``. Functions take and return a dict and must be idempotent.
_MIGRATIONS: list[tuple[str, Version, Callable[[dict[str, Any]], dict[str, Any]]]] = []


def register_config_migration(model_type: str, introduced_in: str) -> Callable:
    """Decorator registering a config-dict migration (``"*"`` applies to every mthub model type)."""

    def decorator(function: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable:
        _MIGRATIONS.append((model_type, Version(introduced_in), function))
        _MIGRATIONS.sort(key=lambda item: item[1])
        return function

    return decorator


def migrate_config_dict(config_dict: dict[str, Any], model_type: str) -> dict[str, Any]:
    """Upgrade a config dict written by an older mthub (no-op for current ones)."""
    written_by = Version(str(config_dict.get("mthub_version") or "0.0.0"))
    if written_by > Version(__version__):
        raise ValueError(
            f"This config was written by mthub {written_by}, newer than the installed mthub {__version__}: "
            "upgrade mthub (pip install -U mthub) to load it."
        )
    for target, introduced_in, function in _MIGRATIONS:
        if target in ("*", model_type) and written_by < introduced_in:
            config_dict = function(dict(config_dict))
    return config_dict


# --------------------------------------------------------------------------------------------------------------------
# Base config
# --------------------------------------------------------------------------------------------------------------------


class MTHubConfig(PreTrainedConfig):
    """Base class of every mthub config.

    Subclasses set ``model_type = "mthub_<method>"`` and define an ``__init__`` with documented keyword arguments that
    ends with ``super().__init__(tasks=tasks, **kwargs)``. (A custom ``__init__`` keeps the configs working on both the
    dataclass-based ``PreTrainedConfig`` of transformers ≥ 5.2x and earlier 5.x releases.)

    Args:
        tasks (`list[TaskSpec | dict]`, *optional*): The model's tasks, in head order.
        mthub_version (`str`, *optional*): The mthub version that wrote this config; filled in automatically.
    """

    model_type: ClassVar[str] = ""

    def __init__(self, tasks: Iterable[TaskSpec | Mapping[str, Any]] | None = None, **kwargs: Any) -> None:
        kwargs.pop("mthub_version", None)
        self.tasks = coerce_tasks(tasks)
        self.mthub_version = __version__
        super().__init__(**kwargs)

    # ----- task access ------------------------------------------------------------------------------------------
    @property
    def task_specs(self) -> list[TaskSpec]:
        return [TaskSpec.coerce(task) for task in self.tasks]

    @property
    def task_names(self) -> list[str]:
        return [task["name"] for task in self.tasks]

    def task(self, name: str) -> TaskSpec:
        """The :class:`TaskSpec` called ``name``; the error lists the config's task names."""
        for task in self.tasks:
            if task["name"] == name:
                return TaskSpec.coerce(task)
        raise KeyError(f"{type(self).__name__} has no task {name!r}; its tasks are {self.task_names}.")

    # ----- serialisation ----------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], **kwargs: Any):
        config_dict = migrate_config_dict(dict(config_dict), cls.model_type)
        return super().from_dict(config_dict, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        output = super().to_dict()
        output["mthub_version"] = __version__
        return output


__all__ = [
    "TASK_KINDS",
    "MTHubConfig",
    "TaskSpec",
    "coerce_tasks",
    "migrate_config_dict",
    "register_config_migration",
]

"""mthub's dataset catalog: names → ``datasets`` builder classes, with explicit registration.

Modelled on detectron2's ``DatasetCatalog``: a dataset is added by one explicit call,
``register_dataset(name, BuilderCls, description=..., tasks=...)``; a name cannot silently change meaning
(registering a different builder under a taken name raises); an unknown name raises an error that lists the
closest registered names. The built-in builders are registered in one place,
:mod:`mthub.data.builders` (its ``__init__`` imports the builder modules and registers them), which the catalog
imports the first time it is queried. No other import has registration side effects.

Example::

    >>> import mthub.data as mdata
    >>> mdata.list_datasets()
    ['nyud_v2', 'pascal_context']
    >>> ds = mdata.load("nyud_v2", data_dir="/data/NYUD_MT", split="train", tasks=("semseg", "depth"))
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import datasets

from mthub.data.errors import MTHubDataError

__all__ = [
    "CatalogEntry",
    "UnknownDatasetError",
    "register_dataset",
    "unregister_dataset",
    "list_datasets",
    "get_dataset_entry",
    "load_builder",
    "load",
]

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")


class UnknownDatasetError(MTHubDataError, KeyError):
    """``name`` is not in the catalog; the message lists close matches and all registered names."""

    def __init__(self, name: str, registered: Iterable[str]) -> None:
        self.name = name
        self.registered = sorted(registered)
        self.suggestions = difflib.get_close_matches(name, self.registered, n=3, cutoff=0.5)
        msg = f"unknown dataset {name!r}."
        if self.suggestions:
            msg += f" Did you mean {' or '.join(repr(s) for s in self.suggestions)}?"
        msg += f" Registered datasets: {', '.join(self.registered) or '(none)'}."
        self.message = msg
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return self.message


@dataclass(frozen=True)
class CatalogEntry:
    """One catalog entry.

    Attributes:
        name: catalog name (lower case, ``[a-z0-9_.-]``).
        builder_cls: the ``datasets.DatasetBuilder`` subclass that reads the dataset.
        description: one-line description.
        tasks: tasks the dataset can provide labels for.
        config_defaults: config keyword arguments applied before the caller's (e.g. a fixed ``layout``).
    """

    name: str
    builder_cls: type[datasets.DatasetBuilder]
    description: str = ""
    tasks: tuple[str, ...] = ()
    config_defaults: Mapping[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, CatalogEntry] = {}
_LOCK = threading.RLock()
_BUILTINS_LOADED = False


def register_dataset(
    name: str,
    builder_cls: type[datasets.DatasetBuilder],
    *,
    description: str = "",
    tasks: Iterable[str] = (),
    config_defaults: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> type[datasets.DatasetBuilder]:
    """Register ``builder_cls`` under ``name``.

    Registering the identical entry twice is a no-op (module reloads); registering a *different* entry under a
    taken name raises ``ValueError`` unless ``overwrite=True``.

    Returns:
        ``builder_cls`` (so the call can also be used as a plain function in a registration table).
    """
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"dataset name must match {_NAME_RE.pattern!r}, got {name!r}")
    if not (isinstance(builder_cls, type) and issubclass(builder_cls, datasets.DatasetBuilder)):
        raise TypeError(
            f"register_dataset({name!r}): builder_cls must be a datasets.DatasetBuilder subclass, got {builder_cls!r}"
        )
    entry = CatalogEntry(
        name=name,
        builder_cls=builder_cls,
        description=description,
        tasks=tuple(tasks),
        config_defaults=MappingProxyType(dict(config_defaults or {})),
    )
    with _LOCK:
        old = _REGISTRY.get(name)
        if old is not None and not overwrite and not _same_entry(old, entry):
            taken = f"{old.builder_cls.__module__}.{old.builder_cls.__qualname__}"
            raise ValueError(f"dataset {name!r} is already registered with {taken}; pass overwrite=True to replace it")
        _REGISTRY[name] = entry
    return builder_cls


def _same_entry(a: CatalogEntry, b: CatalogEntry) -> bool:
    # A reloaded module gives a new class object with the same qualified name: still the same dataset.
    def qualname(c: type) -> tuple[str, str]:
        return c.__module__, c.__qualname__

    qual = qualname(a.builder_cls) == qualname(b.builder_cls)
    same_meta = (a.description, a.tasks, dict(a.config_defaults)) == (b.description, b.tasks, dict(b.config_defaults))
    return (a.builder_cls is b.builder_cls or qual) and same_meta


def unregister_dataset(name: str) -> None:
    """Remove ``name`` from the catalog (for tests and interactive use)."""
    with _LOCK:
        if name not in _REGISTRY:
            raise UnknownDatasetError(name, _REGISTRY)
        del _REGISTRY[name]


def _ensure_builtins() -> None:
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    with _LOCK:
        if not _BUILTINS_LOADED:
            import mthub.data.builders  # noqa: F401  (registers the built-in builders, explicitly, in one place)

            _BUILTINS_LOADED = True


def list_datasets() -> list[str]:
    """Sorted names of all registered datasets."""
    _ensure_builtins()
    return sorted(_REGISTRY)


def get_dataset_entry(name: str) -> CatalogEntry:
    """The :class:`CatalogEntry` of ``name``; unknown names raise :class:`UnknownDatasetError`."""
    _ensure_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownDatasetError(name, _REGISTRY) from None


def load_builder(
    name: str,
    data_dir: str | None = None,
    *,
    cache_dir: str | None = None,
    strict: bool = False,
    **config_kwargs: Any,
) -> datasets.DatasetBuilder:
    """Instantiate the builder registered as ``name`` (not yet prepared).

    Args:
        data_dir: the dataset's root on disk (or its parent folder; see each builder).
        cache_dir: ``datasets`` cache root (default ``HF_DATASETS_CACHE``).
        strict: raise at the first bad sample instead of skipping and reporting it (mthub builders only).
        **config_kwargs: builder config fields, e.g. ``tasks=("semseg", "depth")``, ``layout="atrc"``.
    """
    from mthub.data.builders.base import MTHubBuilder

    entry = get_dataset_entry(name)
    kwargs: dict[str, Any] = {**entry.config_defaults, **config_kwargs}
    if strict:
        if not issubclass(entry.builder_cls, MTHubBuilder):
            raise ValueError(f"dataset {name!r}: strict=True needs an mthub builder (MTHubBuilder subclass)")
        kwargs["strict"] = True
    return entry.builder_cls(data_dir=data_dir, cache_dir=cache_dir, **kwargs)


def load(
    name: str,
    data_dir: str | None = None,
    split: str | None = None,
    cache_dir: str | None = None,
    strict: bool = False,
    download_mode: str | datasets.DownloadMode | None = None,
    **config_kwargs: Any,
) -> datasets.Dataset | datasets.DatasetDict:
    """Prepare (or reuse from cache) the dataset ``name`` and return it.

    Args:
        name: a name from :func:`list_datasets`.
        data_dir: the dataset's root on disk.
        split: ``"train"``, ``"val"``, a slice such as ``"train[:10]"``, or ``None`` for a ``DatasetDict``.
        cache_dir: ``datasets`` cache root.
        strict: raise :class:`~mthub.data.errors.CorruptSampleError` at the first undecodable sample (also when
            a cached build had skipped some) instead of skipping it; skipped samples are always listed in the
            report read by :func:`mthub.data.builders.read_report`.
        download_mode: ``"force_redownload"`` rebuilds the cache (e.g. after fixing files on disk).
        **config_kwargs: builder config fields (``tasks=...``, ``layout=...``).

    Raises:
        UnknownDatasetError: ``name`` is not registered.
        mthub.data.errors.DatasetLayoutError: ``data_dir`` does not have the expected layout.
    """
    builder = load_builder(name, data_dir, cache_dir=cache_dir, strict=strict, **config_kwargs)
    builder.download_and_prepare(download_mode=download_mode)
    return builder.as_dataset(split=split)

"""Load official PyTorch / Lightning checkpoints (``.pth``, ``.ckpt``) without executing pickled code.

Released research checkpoints pickle more than tensors: Lightning's ``hyper_parameters`` hold an
``argparse.Namespace`` or a yacs ``CfgNode``, ``callbacks`` hold classes of the training code, and ``torch.load``
with ``weights_only=False`` would import (and run) whatever module a pickle names. :func:`safe_load_checkpoint`
never does:

1. It first tries PyTorch's own ``weights_only=True`` unpickler, with ``argparse.Namespace`` and the caller's
   ``extra_safe_globals`` added to its allow-list (``torch.serialization.safe_globals``).
2. If the pickle names any other global, it loads again through :class:`StubUnpickler`, a ``pickle.Unpickler``
   whose ``find_class`` returns the real object only for an allow-list (PyTorch's weights-only allow-list — tensor
   and storage rebuild functions, dtypes, ``OrderedDict`` … — plus plain containers, ``argparse.Namespace`` and
   numpy array reconstruction) and an inert :class:`PickleStub` subclass for everything else. A stub records the
   name it stands for and whatever arguments / state / items the pickle gives it, and does nothing else: calling a
   stubbed ``os.system`` creates a stub object, it does not run a command. Modules that cannot be imported never
   need to be.

Both paths go through ``torch.load`` (zip and legacy formats, ``persistent_load`` of storages, ``map_location``).
"""

from __future__ import annotations

import argparse
import collections
import io
import os
import pickle
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = [
    "LoadedCheckpoint",
    "PickleStub",
    "StubUnpickler",
    "extract_state_dict",
    "find_stubs",
    "safe_load_checkpoint",
]


class PickleStub(dict):
    """Inert stand-in for a class or function a checkpoint pickles but that is not allow-listed.

    Subclasses are created per pickled name; the class attribute ``stub_for`` is ``"module.name"``. An instance keeps
    ``args`` / ``kwargs`` (constructor or reduce arguments), ``state`` (``__setstate__``), ``items`` (list-like
    appends) and, being a ``dict``, any dict items (yacs ``CfgNode`` is a dict subclass), so that the content of
    e.g. a config object stays readable, while no code of the original class ever runs.
    """

    stub_for: str = "?"

    def __new__(cls, *args: Any, **kwargs: Any):
        obj = super().__new__(cls)
        obj.args, obj.kwargs, obj.state, obj.items_list = args, kwargs, None, []
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # pickle's REDUCE calls the class: record, do nothing
        super().__init__()
        self.args, self.kwargs = args, kwargs

    def __setstate__(self, state: Any) -> None:
        self.state = state
        if isinstance(state, dict):
            self.__dict__.update({k: v for k, v in state.items() if isinstance(k, str) and k not in ("args", "kwargs", "state", "items_list")})

    def append(self, item: Any) -> None:
        self.items_list.append(item)

    def extend(self, items: Iterable[Any]) -> None:
        self.items_list.extend(items)

    def __reduce__(self):  # a stub can be pickled again (e.g. deep-copied) without the original class
        return (_rebuild_stub, (self.stub_for, self.args, self.state, dict(self), self.items_list))

    def __repr__(self) -> str:
        return f"<stub of {self.stub_for}>"


_STUB_CLASSES: dict[str, type[PickleStub]] = {}


def stub_class(module: str, name: str) -> type[PickleStub]:
    """The (cached) :class:`PickleStub` subclass standing for ``module.name``."""
    key = f"{module}.{name}"
    if key not in _STUB_CLASSES:
        _STUB_CLASSES[key] = types.new_class(f"Stub[{key}]", (PickleStub,), {}, lambda ns: ns.update({"stub_for": key}))
    return _STUB_CLASSES[key]


def _rebuild_stub(key: str, args, state, items, items_list):
    module, _, name = key.rpartition(".")
    obj = stub_class(module, name)(*args)
    obj.state, obj.items_list = state, list(items_list)
    obj.update(items)
    return obj


def _numpy_globals() -> dict[str, Any]:
    """numpy's array / scalar reconstruction (data only), under both the numpy 1 and numpy 2 module names."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        return {}
    out: dict[str, Any] = {"numpy.ndarray": np.ndarray, "numpy.dtype": np.dtype}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        out[f"{module}._reconstruct"] = _np_reconstruct()
        out[f"{module}.scalar"] = _np_scalar()
    for name in ("float64", "float32", "int64", "int32", "bool_", "uint8", "float16"):
        out[f"numpy.{name}"] = getattr(np, name)
        out[f"numpy.dtypes.{type(np.dtype(name)).__name__}"] = type(np.dtype(name))
    return out


def _np_reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
    return _reconstruct


def _np_scalar():
    try:
        from numpy._core.multiarray import scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import scalar  # type: ignore[no-redef]
    return scalar


def allowed_globals(extra: Iterable[Any] = ()) -> dict[str, Any]:
    """``"module.name" → object`` the stub unpickler resolves for real: PyTorch's weights-only allow-list, the
    user's ``torch.serialization`` safe globals, plain builtins containers, ``argparse.Namespace``, numpy arrays,
    and ``extra``."""
    from torch import _weights_only_unpickler as wo

    allowed = dict(wo._get_allowed_globals())
    allowed.update(wo._get_user_allowed_globals())
    allowed.update(
        {
            "builtins.set": set,
            "builtins.frozenset": frozenset,
            "builtins.bytearray": bytearray,
            "builtins.complex": complex,
            "builtins.slice": slice,
            "builtins.range": range,
            "collections.OrderedDict": collections.OrderedDict,
            "collections.defaultdict": collections.defaultdict,
            "argparse.Namespace": argparse.Namespace,
            "torch.nn.modules.container.ParameterDict": dict,  # never instantiated as a module: data only
        }
    )
    allowed.update(_numpy_globals())
    for obj in extra:
        allowed[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return allowed


class StubUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only :func:`allowed_globals` and stubs every other global."""

    #: Set by :func:`_pickle_module` on a per-load subclass: the allow-list and where stubbed names are recorded.
    allowed: Mapping[str, Any] = {}
    stubbed_names: set[str] = frozenset()  # type: ignore[assignment]

    def find_class(self, module: str, name: str) -> Any:
        key = f"{module}.{name}"
        if key in self.allowed:
            return self.allowed[key]
        if isinstance(self.stubbed_names, set):
            self.stubbed_names.add(key)
        return stub_class(module, name)


def _pickle_module(extra: Iterable[Any]) -> tuple[types.ModuleType, set[str]]:
    """A module object with ``Unpickler`` = a :class:`StubUnpickler` subclass (what ``torch.load(pickle_module=)``
    expects) and the set into which it records stubbed names."""
    stubbed: set[str] = set()
    unpickler = type("BoundStubUnpickler", (StubUnpickler,), {"allowed": allowed_globals(extra), "stubbed_names": stubbed})
    module = types.ModuleType("mthub_safe_pickle")
    module.Unpickler = unpickler
    module.load = lambda file, **kw: unpickler(file, **kw).load()
    module.__name__ = "mthub_safe_pickle"
    return module, stubbed


@dataclass
class LoadedCheckpoint:
    """What :func:`safe_load_checkpoint` read.

    Attributes:
        data: the unpickled object (usually a dict).
        stubbed: ``"module.name"`` of every global replaced by a stub (empty when the weights-only loader
            sufficed).
        loader: ``"weights_only"`` or ``"stub_unpickler"``.
    """

    data: Any
    stubbed: list[str] = field(default_factory=list)
    loader: str = "weights_only"


def safe_load_checkpoint(
    path: str | os.PathLike | io.BytesIO, map_location: str | torch.device = "cpu", extra_safe_globals: Iterable[Any] = ()
) -> LoadedCheckpoint:
    """Load a checkpoint without executing pickled code (see the module docstring).

    Args:
        path: ``.pth`` / ``.ckpt`` file (or a bytes buffer).
        map_location: device for the tensors (CPU by default).
        extra_safe_globals: further classes / functions to resolve for real (must be data-only).

    Raises:
        FileNotFoundError: no such file.
        pickle.UnpicklingError / RuntimeError: the file is not a PyTorch checkpoint.
    """
    if not isinstance(path, io.BytesIO) and not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    extra = list(extra_safe_globals)
    try:
        with torch.serialization.safe_globals([argparse.Namespace, *extra]):
            if isinstance(path, io.BytesIO):
                path.seek(0)
            return LoadedCheckpoint(torch.load(path, map_location=map_location, weights_only=True))
    except pickle.UnpicklingError:
        pass  # a global outside the allow-list: load again with stubs
    module, stubbed = _pickle_module(extra)
    if isinstance(path, io.BytesIO):
        path.seek(0)
    data = torch.load(path, map_location=map_location, weights_only=False, pickle_module=module)
    return LoadedCheckpoint(data, sorted(stubbed), "stub_unpickler")


def extract_state_dict(checkpoint: Any) -> dict[str, torch.Tensor]:
    """The tensors of a loaded checkpoint: ``checkpoint["state_dict"]`` (Lightning, and the ``{"epoch",
    "state_dict", "mAP"}`` files of the social baselines), ``checkpoint["model_state"]`` (PySlowFast),
    ``checkpoint["model"]``, or the checkpoint itself when it is a flat name → tensor mapping (TalkNet)."""
    if isinstance(checkpoint, LoadedCheckpoint):
        checkpoint = checkpoint.data
    if not isinstance(checkpoint, Mapping):
        raise TypeError(f"expected a checkpoint dict, got {type(checkpoint).__name__}")
    for key in ("state_dict", "model_state", "model"):
        if isinstance(checkpoint.get(key), Mapping):
            checkpoint = checkpoint[key]
            break
    tensors = {k: v for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ValueError(f"no tensors found in the checkpoint (top-level keys: {sorted(checkpoint)[:10]})")
    return tensors


def find_stubs(obj: Any, limit: int = 100) -> list[PickleStub]:
    """Every :class:`PickleStub` reachable from ``obj`` through dicts, lists, tuples and stubs' state."""
    found: list[PickleStub] = []
    stack, seen = [obj], set()
    while stack and len(found) < limit:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, PickleStub):
            found.append(item)
            stack.extend([item.state, list(item.values()), list(item.args), item.items_list])
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set)):
            stack.extend(item)
        elif isinstance(item, argparse.Namespace):
            stack.extend(vars(item).values())
    return found

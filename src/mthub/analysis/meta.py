"""Meta-device helpers: build or mirror a model without allocating its weights.

Tensors on ``torch.device("meta")`` carry shape, dtype and strides but no storage, so a full-size
preset (hundreds of millions of parameters, 16×224² video input) can be constructed and run
through ``count_macs`` in well under a second and with no memory.

Limitation: code that needs tensor *values* cannot run on meta — ``.item()``/``.tolist()``,
``nonzero``/boolean-mask indexing (data-dependent shapes), Python branches on tensor contents.
``build_on_meta`` falls back to an empty-weights construction for constructors that compute Python
numbers from tensors (e.g. drop-path schedules via ``torch.linspace(...).tolist()``); a *forward*
that needs values must be counted on small real tensors instead (``count_macs(..., device=None)``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn
from torch.utils._pytree import tree_map

__all__ = ["build_on_meta", "is_on_meta", "meta_copy", "to_meta"]

M = TypeVar("M")


def _mentions_meta(err: BaseException) -> bool:
    return "meta" in str(err).lower()


def build_on_meta(fn: Callable[..., M], /, *args: Any, **kwargs: Any) -> M:
    """Call ``fn(*args, **kwargs)`` (a model constructor) so that the model lives on the meta device.

    First tries ``with torch.device("meta"): fn(...)`` (every tensor factory then makes meta
    tensors). If the constructor needs tensor values (an error mentioning "meta", e.g. ``.item()``
    on a meta tensor), it is retried under ``accelerate.init_empty_weights`` (parameters are moved
    to meta as they are registered; the small non-parameter tensors are real) and the result is
    moved to meta. Any other error is re-raised unchanged.

    Example::

        model = build_on_meta(AutoModel.from_config, config)
        count_macs(model, (torch.empty(1, 3, 16, 224, 224, device="meta"),))
    """
    try:
        with torch.device("meta"):
            model = fn(*args, **kwargs)
    except (RuntimeError, NotImplementedError, ValueError) as err:
        if not _mentions_meta(err):
            raise
        try:
            from accelerate import init_empty_weights
        except ImportError:  # pragma: no cover - accelerate is a core dependency
            raise err from None
        with init_empty_weights(include_buffers=False):
            model = fn(*args, **kwargs)
    if isinstance(model, nn.Module):
        model = model.to("meta")
    return model


def is_on_meta(model: nn.Module) -> bool:
    """True when every parameter and buffer of ``model`` is a meta tensor (and it has some)."""
    tensors = [*model.parameters(), *model.buffers()]
    return bool(tensors) and all(t.is_meta for t in tensors)


def _meta_like(t: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(t, device="meta")
    if isinstance(t, nn.Parameter):
        out = nn.Parameter(out, requires_grad=t.requires_grad)
    return out


def meta_copy(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` whose parameters, buffers and tensor attributes are meta tensors.

    The original model is left untouched and no weight memory is allocated: ``copy.deepcopy`` is
    given a memo that maps every parameter, buffer and plain tensor attribute of every submodule to
    a meta twin, so tied weights stay tied (same identity -> same twin) and cached tables held as
    plain attributes (not registered as buffers) are moved too. Tensors hidden inside lists/dicts
    are copied as they are.
    """
    memo: dict[int, Any] = {}
    for module in model.modules():
        tensors = [*module._parameters.values(), *module._buffers.values()]
        tensors += [v for k, v in vars(module).items() if isinstance(v, torch.Tensor)]
        for t in tensors:
            if t is not None and id(t) not in memo:
                memo[id(t)] = _meta_like(t)
    try:
        return copy.deepcopy(model, memo)
    except Exception as err:  # deepcopy failures surface as many exception types
        raise RuntimeError(
            f"cannot make a meta-device copy of {type(model).__name__} ({type(err).__name__}: {err}); "
            "build the model on meta instead: mthub.analysis.build_on_meta(constructor, ...)"
        ) from err


def to_meta(inputs: Any) -> Any:
    """Replace every tensor in a (nested) structure of inputs by a meta tensor of the same
    shape/dtype/strides; non-tensor leaves are returned unchanged."""

    def convert(x: Any) -> Any:
        if isinstance(x, torch.Tensor) and not x.is_meta:
            return torch.empty_like(x, device="meta")
        return x

    return tree_map(convert, inputs)

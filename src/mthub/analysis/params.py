"""Parameter counts: total, trainable, frozen and per module (works on meta-device models)."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn
from torch.nn.parameter import UninitializedParameter

from .units import format_params

__all__ = ["ROOT", "ParamCount", "count_parameters", "module_key"]

ROOT = "(root)"
"""Key for parameters/MACs that belong to the model itself rather than to a named submodule."""


def module_key(name: str, depth: int | None) -> str:
    """Truncate a dotted module path to its first ``depth`` components (``None``: keep all).

    ``module_key("backbone.blocks.3.attn", 2) == "backbone.blocks"``; the empty path (the model
    itself) becomes :data:`ROOT`.
    """
    if not name:
        return ROOT
    if depth is None:
        return name
    if depth < 1:
        raise ValueError(f"module depth must be >= 1 or None, got {depth}")
    return ".".join(name.split(".")[:depth])


@dataclass(frozen=True)
class ParamCount:
    """Parameter counts of a model.

    Attributes:
        total: number of scalar parameters, each shared/tied ``Parameter`` counted once.
        trainable: the part of ``total`` with ``requires_grad=True``.
        frozen: ``total - trainable``.
        by_module: parameters per submodule at the requested depth (a partition: the values sum to
            ``total``; parameters owned directly by the model are under :data:`ROOT`). A tied
            parameter is attributed to the first module that registers it.
    """

    total: int
    trainable: int
    frozen: int
    by_module: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return (
            f"{format_params(self.total)} parameters ({format_params(self.trainable)} trainable, "
            f"{format_params(self.frozen)} frozen)"
        )


def count_parameters(model: nn.Module, *, depth: int | None = 1) -> ParamCount:
    """Count the parameters of ``model`` (on any device, meta included: only shapes are read).

    Shared or tied parameters (the same ``Parameter`` object reachable under several names, e.g.
    tied input/output embeddings) are counted once, by identity.

    Args:
        model: the module to count.
        depth: how many dotted components of the module path ``by_module`` keeps (``1``: top-level
            children such as ``backbone``/``heads``; ``None``: the owning module itself).

    Raises:
        ValueError: a lazy module has not been initialised yet (its parameter shapes are unknown).
    """
    total = trainable = 0
    by_module: dict[str, int] = {}
    # named_parameters() already de-duplicates by identity (first name wins).
    for name, param in model.named_parameters(remove_duplicate=True):
        if isinstance(param, UninitializedParameter):
            raise ValueError(
                f"parameter '{name}' of {type(model).__name__} is uninitialised (lazy module): "
                "run one forward pass before counting parameters"
            )
        n = param.numel()
        total += n
        if param.requires_grad:
            trainable += n
        owner = name.rpartition(".")[0]
        key = module_key(owner, depth)
        by_module[key] = by_module.get(key, 0) + n
    return ParamCount(total=total, trainable=trainable, frozen=total - trainable, by_module=by_module)

"""Optimizer parameter groups: layer-wise learning-rate decay and per-group learning rates.

Layer-wise LR decay (BEiT §2.4 / ViT fine-tuning practice): with ``L`` transformer blocks, embeddings get depth 0,
block ``i`` depth ``i + 1`` and everything after the last block (final norm, task heads) depth ``L + 1``; a
parameter at depth ``d`` trains with ``lr · decay^(L + 1 - d)``, so heads keep the full LR and each block closer
to the input gets ``decay`` times less.

Depths come from ``model.lr_decay_depths() -> {param_name: depth}`` when the model defines it (the authoritative
source for models with nested stages or several encoders), else from parameter names: a *block* is a name prefix
ending in ``<container>.<index>`` with container ``blocks``/``layers``/``layer``/``block``/``stages``/``resblocks``
(the innermost such prefix, so ``layers.0.blocks.1`` is one block); blocks are numbered in registration order,
which is forward order for sequential encoders; names containing ``embed``, ``cls_token``, ``mask_token`` or
``patch`` (outside any block) are depth 0.

Per-group LRs: ``{regex: lr}``; the first pattern that ``re.search``-es a parameter name sets its base LR (instead
of ``learning_rate``); layer decay multiplies on top. Weight decay follows transformers' rule (no decay for biases
and norm weights, :meth:`transformers.Trainer.get_decay_parameter_names`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from torch import nn

_EMBEDDING = re.compile(r"embed|cls_token|mask_token|patch")


def _innermost_block(name: str) -> str | None:
    """The longest ``...<container>.<index>`` prefix of ``name``, or ``None``."""
    best = None
    for match in re.finditer(r"(?:^|\.)(?:blocks|layers|layer|block|stages|resblocks)\.\d+(?=\.|$)", name):
        best = name[: match.end()]
    return best


def lr_decay_depths(model: nn.Module) -> dict[str, int]:
    """``{param_name: depth}`` for layer-wise LR decay (see the module docstring); depth ``L + 1`` = no decay."""
    hook = getattr(model, "lr_decay_depths", None)
    if callable(hook):
        depths = dict(hook())
        missing = [name for name, p in model.named_parameters() if p.requires_grad and name not in depths]
        if missing:
            raise KeyError(f"{type(model).__name__}.lr_decay_depths() has no depth for {missing[:5]}...")
        return depths
    blocks: dict[str, int] = {}
    assignment: dict[str, str | None] = {}
    for name, _ in model.named_parameters():
        block = _innermost_block(name)
        assignment[name] = block
        if block is not None and block not in blocks:
            blocks[block] = len(blocks) + 1
    last = len(blocks) + 1
    depths = {}
    for name, block in assignment.items():
        if block is not None:
            depths[name] = blocks[block]
        elif _EMBEDDING.search(name):
            depths[name] = 0
        else:
            depths[name] = last
    return depths


def build_param_groups(
    model: nn.Module,
    *,
    learning_rate: float,
    weight_decay: float,
    decay_parameter_names: Collection[str],
    layer_decay: float = 1.0,
    param_group_lrs: Mapping[str, float] | None = None,
) -> list[dict]:
    """Optimizer parameter groups, one per distinct ``(lr, weight_decay)``.

    Each group carries ``"lr"``, ``"weight_decay"``, and for inspection ``"lr_scale"`` (the layer-decay factor),
    ``"depth"`` and ``"param_names"``. LR schedulers scale each group's own initial ``lr``, so ratios between groups
    hold for the whole schedule.

    Raises:
        ValueError: a ``param_group_lrs`` pattern matches no trainable parameter (a typo would otherwise silently
            train everything at the default LR), or ``layer_decay`` is not in ``(0, 1]``.
    """
    if not 0 < layer_decay <= 1:
        raise ValueError(f"layer_decay must be in (0, 1], got {layer_decay}.")
    patterns = [(re.compile(pattern), float(lr)) for pattern, lr in (param_group_lrs or {}).items()]
    used = [False] * len(patterns)
    depths = lr_decay_depths(model) if layer_decay != 1.0 else {}
    num_depths = max(depths.values(), default=0)
    decay_names = set(decay_parameter_names)
    groups: dict[tuple, dict] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        base_lr = learning_rate
        for position, (pattern, lr) in enumerate(patterns):
            if pattern.search(name):
                base_lr, used[position] = lr, True
                break
        depth = depths.get(name, num_depths)
        scale = layer_decay ** (num_depths - depth)
        wd = weight_decay if name in decay_names else 0.0
        key = (base_lr * scale, wd, depth, base_lr)
        group = groups.setdefault(
            key,
            {
                "params": [],
                "param_names": [],
                "lr": base_lr * scale,
                "weight_decay": wd,
                "lr_scale": scale,
                "depth": depth,
            },
        )
        group["params"].append(parameter)
        group["param_names"].append(name)
    unused = [pattern.pattern for (pattern, _), hit in zip(patterns, used) if not hit]
    if unused:
        raise ValueError(f"param_group_lrs patterns {unused} match no trainable parameter of {type(model).__name__}.")
    # transformers logs ``learning_rate`` from the first group: put one at the base LR (the heads') first.
    return sorted(groups.values(), key=lambda g: (g["lr"] != learning_rate, -g["depth"]))


__all__ = ["build_param_groups", "lr_decay_depths"]

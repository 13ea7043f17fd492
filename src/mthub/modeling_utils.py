"""Base model class and output type shared by every mthub model family."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from .configuration_utils import MTHubConfig, TaskSpec
from .losses import get_loss


@dataclass
class MultiTaskOutput(ModelOutput):
    """Output of every mthub multi-task model.

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*): Weighted sum of the task losses, when labels were given.
        losses (`dict[str, torch.FloatTensor]`, *optional*): Unweighted loss of each task that had labels in the batch.
        logits (`dict[str, torch.FloatTensor]`): Each task's raw outputs; shapes are documented by each model
            (e.g. classification ``(B, num_classes)``, dense ``(B, C, H, W)`` or ``(B, T, C, H, W)``).
        last_hidden_state (`torch.FloatTensor`, *optional*): Final encoder tokens ``(B, L, C)`` (or feature map).
        hidden_states (`tuple[torch.FloatTensor]`, *optional*): Per-layer hidden states when requested.
        attentions (`tuple[torch.FloatTensor]`, *optional*): Per-layer ``(B, H, L, L)`` attention weights (eager only).
    """

    loss: torch.FloatTensor | None = None
    losses: dict[str, torch.Tensor] | None = None
    logits: dict[str, torch.Tensor] | None = None
    last_hidden_state: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None


class MTHubPreTrainedModel(PreTrainedModel):
    """Base class of mthub models: weight init, multi-task loss from the config's task specs, and task lookup.

    Subclasses set ``config_class``, ``base_model_prefix``, ``main_input_name``, ``input_modalities`` and the
    ``_supports_*`` flags, build their modules, and call ``self.post_init()`` at the end of ``__init__``.
    """

    config_class = MTHubConfig
    config: MTHubConfig
    supports_gradient_checkpointing = True
    _supports_sdpa = True

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        std = getattr(self.config, "initializer_range", 0.02)
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            nn.init.trunc_normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.LayerNorm, nn.GroupNorm, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            if module.weight is not None:
                nn.init.ones_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.trunc_normal_(module.weight, std=std)
        elif hasattr(module, "reset_parameters") and module.__module__.startswith("mthub."):
            module.reset_parameters()

    def push_to_hub(self, repo_id: str, **kwargs):
        """Upload weights, config and a model card generated from the preset metadata in one commit (see
        :func:`mthub.hub.push.push_model`; same keyword arguments as transformers' ``push_to_hub``)."""
        from .hub.push import push_model

        return push_model(self, repo_id, **kwargs)

    # ----- multi-task loss --------------------------------------------------------------------------------------
    def task_loss(self, spec: TaskSpec, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Loss of one task from its spec's ``loss`` name. Override for losses that need more than (logits, labels)."""
        if spec.loss is None:
            raise ValueError(f"Task {spec.name!r} has no loss in its TaskSpec; cannot compute a loss from its labels.")
        loss_fn = get_loss(spec.loss)
        if spec.loss == "cross_entropy":
            return loss_fn(logits, labels, ignore_index=spec.ignore_index)
        if spec.loss == "l1":
            return loss_fn(logits, labels, ignore_value=spec.extra.get("ignore_value"))
        return loss_fn(logits, labels)

    def compute_losses(
        self, logits: Mapping[str, torch.Tensor], labels: Mapping[str, torch.Tensor | None] | None
    ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor] | None]:
        """Per-task losses for the tasks that have labels, and their weighted sum (``loss_weight`` of each spec).

        ``labels`` maps task name → labels; a missing key or ``None`` means the batch has no labels for that task.
        Unknown task names raise an error naming the model's tasks.
        """
        if not labels:
            return None, None
        unknown = set(labels) - set(self.config.task_names)
        if unknown:
            raise KeyError(f"labels for unknown tasks {sorted(unknown)}; this model's tasks are {self.config.task_names}.")
        losses: dict[str, torch.Tensor] = {}
        # Heads without labels in this batch still join the graph with a zero term: under DDP every rank must
        # produce a gradient for every parameter, or the reduction hangs / errors (issue 5, "Distributed").
        total = sum(0.0 * task_logits.sum() for task_logits in logits.values())
        for spec in self.config.task_specs:
            target = labels.get(spec.name)
            if target is None:
                continue
            losses[spec.name] = self.task_loss(spec, logits[spec.name], target)
            total = total + spec.loss_weight * losses[spec.name]
        return total, (losses or None)


__all__ = ["MTHubPreTrainedModel", "MultiTaskOutput"]

"""Learned prompt / prefix tokens (one or more per task), as in PViT's task prompts and EgoT2-g's task prompts."""

from __future__ import annotations

import torch
from torch import nn


class TaskPromptTokens(nn.Module):
    """A bank of learned tokens, ``tokens_per_task`` for each named task, prepended to a token sequence.

    Shapes: ``prepend(x (B, L, dim), tasks) → (B, len(tasks)·tokens_per_task + L, dim)``.
    """

    def __init__(self, task_names: list[str], dim: int, tokens_per_task: int = 1, init_std: float = 0.02) -> None:
        super().__init__()
        self.task_names = list(task_names)
        self.tokens_per_task = tokens_per_task
        self.init_std = init_std
        self.tokens = nn.Parameter(torch.zeros(len(task_names), tokens_per_task, dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.trunc_normal_(self.tokens, std=self.init_std)

    def index(self, task: str) -> int:
        try:
            return self.task_names.index(task)
        except ValueError:
            raise KeyError(f"No prompt token for task {task!r}; tasks: {self.task_names}.") from None

    def prepend(self, hidden_states: torch.Tensor, tasks: list[str] | None = None) -> torch.Tensor:
        indices = range(len(self.task_names)) if tasks is None else [self.index(task) for task in tasks]
        prompts = self.tokens[list(indices)].flatten(0, 1)
        prompts = prompts.unsqueeze(0).expand(hidden_states.shape[0], -1, -1).to(hidden_states.dtype)
        return torch.cat([prompts, hidden_states], dim=1)

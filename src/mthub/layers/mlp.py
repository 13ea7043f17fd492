"""Feed-forward blocks."""

from __future__ import annotations

import torch
from torch import nn
from transformers.activations import ACT2FN


class MLP(nn.Module):
    """Two-layer perceptron ``Linear → act → dropout → Linear → dropout``.

    Shapes: ``(*, in_features) → (*, out_features)``.
    """

    def __init__(
        self, in_features: int, hidden_features: int, out_features: int | None = None, act: str = "gelu", drop: float = 0.0
    ) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = ACT2FN[act]
        self.fc2 = nn.Linear(hidden_features, out_features or in_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))

"""The EgoT2 task translator's encoder side and the EgoT2-s task heads (spec §2.2, paper Sec. 3.1, Eq. 2–4).

Token embedding (:class:`EgoT2Embeddings`), for the streams ``h_k (B, T_k, D_k)`` of one forward, in the
config's encoder order::

    x_k = FeatDrop(P_k(Drop_k(h_k)))            Eq. 2 (Drop_k: the SlowFast-head dropout of pooled AR streams)
    z0  = LN([x_1, …, x_K]) + E_task[task_id] + PE      Eq. 3
    z0  = PosDrop(z0)

``E_task`` exists with ``use_task_embedding`` (HHI, EgoT2-g). ``PE`` is either a per-task sinusoidal table whose
positions restart at every task segment (HHI/EgoT2-g: the official ``PositionalEncoding`` applied to each task's
tokens separately) or a learned absolute table ``(N, D)`` over all ``N`` tokens (HOI EgoT2-s ``pe``). One
LayerNorm serves all streams (the official ``ln``). The encoder (:class:`EgoT2Encoder`) is ``L`` post-norm
layers (the stock ``nn.TransformerEncoderLayer``: ReLU, no final norm).

EgoT2-s heads (:class:`EgoT2SHead`), on the encoder output ``z (B, N, D)`` (Eq. 4):

* pooled (PNR, OSCC, AR, TTM): ``mean_N(z)`` → [LayerNorm] → one ``Linear(D, K_t)`` per output task
  (PNR ``(B, 16)``, OSCC ``(B, 2)``, AR verb ``(B, 115)`` + noun ``(B, 478)``, TTM ``(B, 2)``);
* LTA: ``mean_N(z)`` → dropout → ``Z`` independent ``Linear(D, 115 + 478)`` → verb ``(B, Z, 115)``, noun
  ``(B, Z, 478)`` (the official ``MultiTaskHead``);
* ASD: the encoder outputs of the ASD stream's ``T`` tokens → ``Linear(D, 2)`` per frame → ``(B·T, 2)`` (the
  official ``lossAV.FC``); optionally the unused clip head of the official class.

Official output shapes, for comparison: OSCC ``(B, 2, 1)`` and PNR ``(B, 1, 16)`` (an ``unsqueeze``), AR a list
``[verb, noun]``, LTA a tuple ``(verb (B, Z, 115), noun (B, Z, 478))``, ASD ``(B·T, D)`` features fed to
``lossAV``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from ...layers.post_norm_transformer import PostNormEncoderLayer, sinusoidal_position_table
from .configuration_egot2 import EgoT2Config, output_tasks

__all__ = ["EgoT2Embeddings", "EgoT2Encoder", "EgoT2SHead", "segment_positions"]


def segment_positions(lengths: Sequence[int], task_ids: Sequence[int]) -> list[int]:
    """Position of every token when positions restart at each task segment, a run of consecutive streams with the
    same ``task_id`` (EgoT2-g's AR segment = slow 8 + fast 8 tokens at positions 0–15).

    >>> segment_positions([2, 3, 4], [0, 0, 1])
    [0, 1, 2, 3, 4, 0, 1, 2, 3]
    """
    positions: list[int] = []
    previous, offset = None, 0
    for length, task_id in zip(lengths, task_ids):
        offset = offset if task_id == previous else 0
        positions.extend(range(offset, offset + length))
        offset += length
        previous = task_id
    return positions


class EgoT2Embeddings(nn.Module):
    """Per-stream projections, one LayerNorm, task embeddings and positions (module docstring; Eq. 2–3).

    Parameters: ``projections.<name>`` (``Linear(D_k, D)`` or identity), ``norm``, ``task_embeddings``
    ``(num_tasks, D)`` (with ``use_task_embedding``), ``position_embeddings`` ``(N, D)`` (learned positions).
    """

    def __init__(self, config: EgoT2Config) -> None:
        super().__init__()
        self.config = config
        dim = config.hidden_size
        self.projections = nn.ModuleDict()
        self.projection_dropouts = nn.ModuleDict()
        for name, spec in config.projections.items():
            self.projections[name] = nn.Linear(spec["input_dim"], dim) if spec["type"] == "linear" else nn.Identity()
            self.projection_dropouts[name] = nn.Dropout(spec["dropout"])
        self.feature_dropout = nn.Dropout(config.feature_dropout)
        self.norm = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.task_embeddings = nn.Parameter(torch.zeros(config.num_task_embeddings, dim)) if config.use_task_embedding else None
        if config.pos_embedding_type == "learned_absolute":
            self.position_embeddings = nn.Parameter(torch.zeros(config.num_tokens, dim))
        else:
            self.position_embeddings = None
        self.position_dropout = nn.Dropout(config.position_dropout)

    def project(self, name: str, features: torch.Tensor) -> torch.Tensor:
        """``P_k`` of stream ``name``: ``(B, T_k, D_k)`` → ``(B, T_k, D)`` (before the feature dropout)."""
        stream = self.config.stream(name)
        if features.dim() != 3 or features.shape[-1] != stream["input_dim"]:
            raise ValueError(
                f"EgoT2 stream {name!r} ({stream['source']} features) must have shape (B, T, {stream['input_dim']}), "
                f"got {tuple(features.shape)}."
            )
        if stream["num_tokens"] is not None and features.shape[1] != stream["num_tokens"]:
            raise ValueError(
                f"EgoT2 stream {name!r} must have {stream['num_tokens']} tokens (shape (B, {stream['num_tokens']}, "
                f"{stream['input_dim']})), got {tuple(features.shape)}."
            )
        projection = stream["projection"]
        weight = getattr(self.projections[projection], "weight", None)
        if weight is not None:
            features = features.to(weight.dtype)
        return self.projections[projection](self.projection_dropouts[projection](features))

    def forward(self, features: Mapping[str, torch.Tensor], stream_names: Sequence[str]) -> torch.Tensor:
        """Tokens ``z0 (B, ΣT_k, D)`` of ``stream_names`` (encoder order) from ``features[name] (B, T_k, D_k)``."""
        config = self.config
        missing = [name for name in stream_names if features.get(name) is None]
        if missing:
            raise ValueError(
                f"EgoT2 needs features of streams {missing} (inputs {[f'{n}_features' for n in missing]}) "
                f"or the raw inputs of their TS models; got features for {sorted(k for k, v in features.items() if v is not None)}."
            )
        tokens = [self.feature_dropout(self.project(name, features[name])) for name in stream_names]
        batch = {t.shape[0] for t in tokens}
        if len(batch) != 1:
            raise ValueError(f"EgoT2 streams {list(stream_names)} have different batch sizes {sorted(batch)}.")
        lengths = [t.shape[1] for t in tokens]
        task_ids = [config.stream(name)["task_id"] for name in stream_names]
        hidden = self.norm(torch.cat(tokens, dim=1))
        device = hidden.device
        if self.task_embeddings is not None:
            index = torch.tensor([i for i, n in zip(task_ids, lengths) for _ in range(n)], device=device)
            hidden = hidden + self.task_embeddings.to(hidden.dtype)[index]
        if self.position_embeddings is not None:
            if hidden.shape[1] != self.position_embeddings.shape[0]:
                raise ValueError(
                    f"learned positions cover {self.position_embeddings.shape[0]} tokens, the streams give {hidden.shape[1]}."
                )
            hidden = hidden + self.position_embeddings.to(hidden.dtype)
        else:
            positions = segment_positions(lengths, task_ids)
            longest = max(positions) + 1
            if longest > config.max_position_embeddings:
                raise ValueError(
                    f"a task segment has {longest} tokens; the sinusoidal table allows {config.max_position_embeddings} "
                    "(max_position_embeddings)."
                )
            table = sinusoidal_position_table(longest, config.hidden_size, device=device, dtype=hidden.dtype)
            hidden = hidden + table[torch.tensor(positions, device=device)]
        return self.position_dropout(hidden)


class EgoT2Encoder(nn.Module):
    """``num_hidden_layers`` post-norm encoder layers; returns ``(hidden (B, N, D), hidden states, attentions)``."""

    def __init__(self, config: EgoT2Config) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            PostNormEncoderLayer(
                config.hidden_size, config.num_attention_heads, config.ffn_dim, config.dropout, "relu", config.layer_norm_eps
            )
            for _ in range(config.num_hidden_layers)
        )

    def forward(
        self,
        hidden: torch.Tensor,
        attn_implementation: str | None = None,
        output_hidden_states: bool = False,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
        states, attentions = (), ()
        for layer in self.layers:
            if output_hidden_states:
                states += (hidden,)
            hidden, weights = layer(hidden, None, attn_implementation)
            if output_attentions and weights is not None:
                attentions += (weights,)
        if output_hidden_states:
            states += (hidden,)
        return hidden, states, attentions


class EgoT2SHead(nn.Module):
    """EgoT2-s decoder head of the primary task (module docstring, Eq. 4).

    Parameters: ``norm`` (``head_norm="separate"``), ``classifiers.<task>`` (pooled heads and ASD),
    ``projections.{z}`` (LTA), ``clip_norm`` + ``clip_classifier`` (the official ASD ``linear_head``).
    """

    def __init__(self, config: EgoT2Config) -> None:
        super().__init__()
        self.config = config
        dim = config.hidden_size
        self.primary_task = config.primary_task
        pooled_head = self.primary_task not in ("asd", "lta")
        self.norm = nn.LayerNorm(dim, eps=config.layer_norm_eps) if config.head_norm == "separate" and pooled_head else None
        self.dropout = nn.Dropout(config.head_dropout)
        self.classifiers = nn.ModuleDict()
        self.projections = None
        if self.primary_task == "lta":
            self.projections = nn.ModuleList(
                nn.Linear(dim, config.num_verbs + config.num_nouns) for _ in range(config.num_future)
            )
        else:
            for task in output_tasks(self.primary_task):
                self.classifiers[task] = nn.Linear(dim, config.num_classes(task))
        if config.asd_clip_head:
            self.clip_norm = nn.LayerNorm(dim, eps=config.layer_norm_eps)
            self.clip_classifier = nn.Linear(dim, 2)

    def _pool_norm(self, pooled: torch.Tensor, shared_norm: nn.Module) -> torch.Tensor:
        if self.config.head_norm == "shared":
            return shared_norm(pooled)
        if self.norm is not None:
            return self.norm(pooled)
        return pooled

    def forward(self, hidden: torch.Tensor, shared_norm: nn.Module, primary_span: tuple[int, int]) -> dict[str, torch.Tensor]:
        """``hidden (B, N, D)`` → ``{task: logits}``; ``primary_span`` = token range of the primary stream (ASD)."""
        if self.primary_task == "asd":
            start, stop = primary_span
            frames = hidden[:, start:stop]  # (B, T, D): the official output[:, 0:D] (ASD tokens come first)
            return {"asd": self.classifiers["asd"](frames).flatten(0, 1)}
        pooled = hidden.mean(dim=1)
        if self.primary_task == "lta":
            pooled = self.dropout(pooled)
            logits = torch.stack([projection(pooled) for projection in self.projections], dim=1)  # (B, Z, V+N)
            verb, noun = torch.split(logits, [self.config.num_verbs, self.config.num_nouns], dim=-1)
            return {"lta_verb": verb, "lta_noun": noun}
        pooled = self._pool_norm(pooled, shared_norm)
        return {task: classifier(pooled) for task, classifier in self.classifiers.items()}

    def clip_logits(self, hidden: torch.Tensor) -> torch.Tensor | None:
        """The official ASD class's clip head on the mean token, ``(B, 2)`` (unused by its loss)."""
        if not self.config.asd_clip_head:
            return None
        return self.clip_classifier(self.clip_norm(hidden.mean(dim=1)))

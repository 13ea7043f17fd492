"""``mthub_egot2``: EgoT2 task translators over frozen Ego4D task-specific models (Xue et al., CVPR 2023).

:class:`EgoT2Model` is both variants (``config.variant``):

* **EgoT2-s** (Sec. 3.1): streams → embeddings (Eq. 2–3) → encoder → primary-task head (Eq. 4).
  ``logits``: pnr ``(B, 16)``; oscc ``(B, 2)``; action_verb ``(B, 115)`` + action_noun ``(B, 478)``; lta_verb
  ``(B, 20, 115)`` + lta_noun ``(B, 20, 478)``; ttm ``(B, 2)``; asd ``(B·T, 2)``.
  Encoder tokens: 48 (PNR/OSCC/AR: 16 + 16 + 8 + 8), 8 (LTA: 2 per task), 3T (TTM/ASD), 2T (TTM with LAM only),
  32 (P&O subsets).
* **EgoT2-g** (Sec. 3.2): one translator, a task prompt per task; per prompt the memory is the encoded tokens
  of that prompt's streams (HHI: ``lam`` 7 LAM tokens, ``ttm`` 3T, ``asd`` 3T regrouped per frame; HOI: 48 or
  8), and a sequence decoder predicts ``[label, </s>]``. ``logits``: ``{task: (B, L, V)}`` teacher-forced when
  the task has labels (``L = 2``), else the first decoding step ``(B, 1, V)``; ASD ``(B·T, L, V)``.
  :meth:`EgoT2Model.generate` decodes greedily into label space.

* **Baselines** (``config.baseline_kind`` = ``ft`` / ``transfer`` / ``lf``; Tables 2/3): no translator, an
  :class:`~mthub.models.egot2.baselines_egot2.EgoT2BaselineHead` on the TS features, with EgoT2-s's logits.

Inputs: a dict ``features={stream: (B, T_k, D_k)}`` or keyword arguments ``<stream>_features`` (precomputed
TS features, e.g. from ``python -m mthub.models.egot2.features_egot2``), and/or the raw inputs of the TS
models (``pnr_pixel_values``, ``ttm_pixel_values``, ``asd_input_features`` …; see
:mod:`~mthub.models.egot2.ts_egot2`) when the model holds them. Labels: ``labels={task: tensor}`` in label space
(class indices; PNR keyframe index or ``-100`` for clips without a state change; LTA ``(B, Z)``; ASD
``(B, T)``).

Losses [C]: PNR sigmoid + BCE on the one-hot keyframe (state-change clips only); OSCC, AR cross-entropy; LTA
``Σ_z CE``; TTM CE with class weights [0.266, 0.734]; ASD frame CE with weights [1, 4] (``lossAV``); EgoT2-g mean
token CE over ``[label, </s>]`` (prompt masked, EOS trained), summed over tasks with weight 1.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...layers import MultiHeadAttention
from ...losses import default_loss_elements, masked_cross_entropy
from ...modeling_utils import MTHubPreTrainedModel, MultiTaskOutput
from .configuration_egot2 import EgoT2Config
from .baselines_egot2 import EgoT2BaselineHead
from .decoding_egot2 import EgoT2GenerationOutput, EgoT2SequenceDecoder, greedy_decode, teacher_forcing_tokens
from .translator_egot2 import EgoT2Embeddings, EgoT2Encoder, EgoT2SHead
from .ts_egot2 import TSModelBank, raw_input_names

__all__ = ["EgoT2Model", "EgoT2Output", "EgoT2PreTrainedModel", "keyframe_bce_loss"]

TS_PREFIX = "ts_models."


@dataclass
class EgoT2Output(MultiTaskOutput):
    """:class:`~mthub.MultiTaskOutput` plus EgoT2-g's per-prompt memories and the decoder cross-attention.

    Args:
        memories (`dict[str, torch.FloatTensor]`, *optional*): EgoT2-g encoder output per decoded task
            ``(B', M, D)``.
        cross_attentions (`dict[str, tuple[torch.FloatTensor]]`, *optional*): EgoT2-g per task, per decoder layer
            ``(B', H, L, M)`` (eager attention; the paper's Fig. 6/8).
    """

    memories: dict[str, torch.Tensor] | None = None
    cross_attentions: dict[str, tuple[torch.Tensor, ...]] | None = None


def keyframe_bce_loss(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """PNR loss [C]: sigmoid + BCE against the one-hot keyframe, averaged over the frames of state-change clips.

    Args:
        logits: ``(B, 16)``.
        labels: ``(B,)`` keyframe index (``ignore_index`` for clips without a PNR) or ``(B, 16)`` one-hot.
    """
    if labels.dim() == 1:
        keep = labels != ignore_index
        target = F.one_hot(labels.clamp(min=0).long(), logits.shape[1]).to(logits.dtype)
    else:
        keep = (labels != ignore_index).all(dim=1)
        target = labels.to(logits.dtype)
    # masked mean without boolean indexing (no data-dependent shapes): Σ_keep BCE / (n_keep · 16)
    per_element = F.binary_cross_entropy_with_logits(logits.float(), target.float(), reduction="none")
    weight = keep.to(per_element.dtype)[:, None]
    return (per_element * weight).sum() / (weight.sum() * logits.shape[1]).clamp(min=1.0)


class EgoT2PreTrainedModel(MTHubPreTrainedModel):
    config_class = EgoT2Config
    base_model_prefix = "egot2"
    main_input_name = "features"
    input_modalities = ("video", "audio")
    _no_split_modules = ["PostNormEncoderLayer", "PostNormDecoderLayer"]
    # Translator-only checkpoints (the default) carry no TS weights: they come from ``config.ts_checkpoints``.
    _keys_to_ignore_on_load_missing = [r"^ts_models\."]

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """``init_scheme="torch"``: PyTorch's layer defaults (``nn.MultiheadAttention``: xavier-uniform fused q/k/v,
        zero biases), task embeddings / learned positions ~ N(0, 1) (the official ``torch.randn``);
        ``"xavier"``: xavier-uniform on every ≥2-D weight (the official EgoT2-g / LTA ``_init_parameters``)."""
        xavier = self.config.init_scheme == "xavier"
        if isinstance(module, MultiHeadAttention):
            dim = module.q_proj.weight.shape[1]
            bound = math.sqrt(6.0 / (dim + 3 * dim))  # xavier bound of the fused (3D, D) in_proj_weight
            for projection in (module.q_proj, module.k_proj, module.v_proj):
                nn.init.uniform_(projection.weight, -bound, bound)
                nn.init.zeros_(projection.bias)
            if xavier:
                nn.init.xavier_uniform_(module.out_proj.weight)
            else:
                module.out_proj.reset_parameters()
            nn.init.zeros_(module.out_proj.bias)
        elif isinstance(module, nn.Linear):
            # (q/k/v/out projections are re-initialised right after by their MultiHeadAttention: children first)
            module.reset_parameters()
            if xavier:
                nn.init.xavier_uniform_(module.weight)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.xavier_uniform_(module.weight) if xavier else nn.init.normal_(module.weight)
        elif isinstance(module, EgoT2Embeddings):
            for parameter in (module.task_embeddings, module.position_embeddings):
                if parameter is not None:
                    nn.init.xavier_uniform_(parameter) if xavier else nn.init.normal_(parameter)


class EgoT2Model(EgoT2PreTrainedModel):
    """EgoT2-s / EgoT2-g translator (+ frozen TS models); see the module docstring."""

    def __init__(self, config: EgoT2Config) -> None:
        super().__init__(config)
        translator = not config.is_baseline  # baselines (Tables 2/3): a head on the TS features, no translator
        self.embeddings = EgoT2Embeddings(config) if translator else None
        self.encoder = EgoT2Encoder(config) if translator else None
        self.head = EgoT2SHead(config) if config.variant == "s" and translator else None
        self.baseline_head = EgoT2BaselineHead(config) if config.is_baseline else None
        self.decoder = EgoT2SequenceDecoder(config) if config.variant == "g" else None
        self.ts_models = TSModelBank(config.ts_configs, config.freeze_ts_models) if config.use_ts_models else None
        self._raw_inputs = raw_input_names(self.ts_models.tasks) if self.ts_models is not None else set()
        self.gradient_checkpointing = False
        self.post_init()
        self.freeze_ts_models()

    def freeze_ts_models(self) -> None:
        """``requires_grad=False`` and eval mode for the TS models when ``config.freeze_ts_models`` (re-asserted after
        every load: loading may materialise new parameter objects)."""
        if self.ts_models is not None and self.config.freeze_ts_models:
            self.ts_models.requires_grad_(False)
            self.ts_models.eval()

    # ----- TS models ---------------------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> EgoT2Model:
        """Frozen TS models stay in eval mode (no BatchNorm statistics updates, no dropout) whatever ``mode``."""
        super().train(mode)
        if self.ts_models is not None:
            self.ts_models.train(mode)
        return self

    def load_ts_checkpoints(self, checkpoints: dict[str, str] | None = None, **hub_kwargs: Any) -> list[str]:
        """Load each TS model's weights from ``checkpoints`` (default ``config.ts_checkpoints``): an mthub
        ``mthub_ego4d_ts`` folder or Hub id (``model.safetensors``, keys ``net.*``). Returns the sources loaded."""
        from safetensors.torch import load_file
        from transformers.utils import cached_file

        if self.ts_models is None:
            raise ValueError("this EgoT2 model holds no TS models (config.use_ts_models=False).")
        checkpoints = checkpoints if checkpoints is not None else (self.config.ts_checkpoints or {})
        loaded = []
        for source, reference in checkpoints.items():
            if source not in self.ts_models.models:
                raise KeyError(f"ts_checkpoints names {source!r}, which is not a TS model of this config ({sorted(self.ts_models.models)}).")
            path = os.path.join(reference, "model.safetensors") if os.path.isdir(str(reference)) else cached_file(str(reference), "model.safetensors", **hub_kwargs)
            state = load_file(path)
            result = self.ts_models.models[source].load_state_dict(state, strict=False)
            if result.missing_keys or result.unexpected_keys:
                raise ValueError(
                    f"TS checkpoint {reference!r} does not fit TS model {source!r}: missing {result.missing_keys[:5]}, "
                    f"unexpected {result.unexpected_keys[:5]}."
                )
            loaded.append(source)
        self.freeze_ts_models()
        return loaded

    @classmethod
    def from_pretrained(cls, *args: Any, load_ts_checkpoints: bool = True, **kwargs: Any):
        """transformers' ``from_pretrained``; then, for translator-only checkpoints, the TS weights are read from
        ``config.ts_checkpoints`` (``load_ts_checkpoints=False`` skips that; ``use_ts_models=False`` builds the
        translator alone, for precomputed features)."""
        model = super().from_pretrained(*args, **kwargs)
        if load_ts_checkpoints and model.ts_models is not None and not model.config.ts_weights_included and model.config.ts_checkpoints:
            model.load_ts_checkpoints()
        model.freeze_ts_models()
        return model

    def save_pretrained(self, save_directory: str | os.PathLike, *args: Any, include_ts_weights: bool = False, **kwargs: Any) -> None:
        """transformers' ``save_pretrained``, storing the translator only unless ``include_ts_weights`` (the TS
        models of a HOI preset are ~370 M parameters that already live in their own ``mthub_ego4d_ts``
        checkpoints, referenced by ``config.ts_checkpoints``)."""
        state_dict = kwargs.pop("state_dict", None)
        if state_dict is None:
            state_dict = self.state_dict()
        if not include_ts_weights:
            state_dict = {k: v for k, v in state_dict.items() if not k.startswith(TS_PREFIX)}
        previous = self.config.ts_weights_included
        self.config.ts_weights_included = bool(include_ts_weights and self.ts_models is not None)
        try:
            super().save_pretrained(save_directory, *args, state_dict=state_dict, **kwargs)
        finally:
            self.config.ts_weights_included = previous

    # ----- inputs ------------------------------------------------------------------------------------------------
    def _gather_features(self, features: dict[str, torch.Tensor] | None, inputs: dict[str, Any], needed: list[str]) -> dict[str, torch.Tensor]:
        """Stream features from ``features``, ``<stream>_features`` kwargs, or the TS models on raw inputs."""
        config = self.config
        gathered = dict(features or {})
        raw: dict[str, torch.Tensor] = {}
        unknown = []
        for key, value in inputs.items():
            if key.endswith("_features") and key[: -len("_features")] in config.stream_names:
                gathered[key[: -len("_features")]] = value
            elif key in self._raw_inputs:
                raw[key] = value
            elif value is not None:
                unknown.append(key)
        if unknown:
            accepted = sorted([f"{n}_features" for n in config.stream_names] + sorted(self._raw_inputs))
            raise TypeError(f"EgoT2Model got unexpected inputs {sorted(unknown)}; it accepts {accepted}.")
        bad = sorted(set(gathered) - set(config.stream_names))
        if bad:
            raise KeyError(f"features for unknown streams {bad}; this config's streams are {config.stream_names}.")
        cache: dict = {}
        for name in needed:
            if gathered.get(name) is None and raw and self.ts_models is not None:
                gathered[name] = self.ts_models.extract(config.stream(name), raw, cache)
        return gathered

    def _stream_available(self, name: str, gathered: dict[str, torch.Tensor]) -> bool:
        return gathered.get(name) is not None

    # ----- forward ------------------------------------------------------------------------------------------------
    def forward(
        self,
        features: dict[str, torch.Tensor] | None = None,
        labels: dict[str, torch.Tensor | None] | None = None,
        task: str | None = None,
        decoder_input_ids: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **inputs: Any,
    ) -> EgoT2Output:
        r"""
        Args:
            features: ``{stream: (B, T_k, D_k)}`` precomputed TS features (or pass ``<stream>_features=...``).
            labels: ``{task: labels}`` in label space (see the module docstring); missing tasks add no loss.
            task: EgoT2-g: decode this task's prompt only (default: the tasks that have labels, else every task
                whose streams are available).
            decoder_input_ids: EgoT2-g: ``(B', L)`` token ids to feed instead of teacher forcing (one task).
            **inputs: ``<stream>_features`` tensors and raw TS inputs (``<source>_pixel_values`` …).
        """
        output_attentions = output_attentions if output_attentions is not None else self.config.output_attentions
        output_hidden_states = output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        if self.config.is_baseline:
            return self._forward_baseline(features, labels, inputs)
        if self.config.variant == "s":
            return self._forward_s(features, labels, inputs, output_attentions, output_hidden_states)
        return self._forward_g(features, labels, task, decoder_input_ids, inputs, output_attentions, output_hidden_states)

    def _encode(self, streams: list[str], gathered: dict[str, torch.Tensor], output_attentions: bool, output_hidden_states: bool):
        hidden = self.embeddings(gathered, streams)
        return self.encoder(hidden, self.config._attn_implementation, output_hidden_states, output_attentions)

    def _forward_s(self, features, labels, inputs, output_attentions, output_hidden_states) -> EgoT2Output:
        config = self.config
        streams = config.stream_names
        gathered = self._gather_features(features, inputs, streams)
        hidden, states, attentions = self._encode(streams, gathered, output_attentions, output_hidden_states)
        primary = next(s["name"] for s in config.streams if s["source"] == config.primary_task) if config.primary_task == "asd" else None
        span = (0, 0)
        if primary is not None:
            start = 0
            for name in streams:
                length = gathered[name].shape[1]
                if name == primary:
                    span = (start, start + length)
                    break
                start += length
        logits = self.head(hidden, self.embeddings.norm, span)
        loss, losses = self.compute_losses(logits, labels)
        if loss is not None and config.asd_clip_head:
            # The official ASD class's unused clip head: weight 0, so that DDP sees a gradient for its parameters.
            loss = loss + 0.0 * self.head.clip_logits(hidden).sum()
        return EgoT2Output(
            loss=loss,
            losses=losses,
            logits=logits,
            last_hidden_state=hidden,
            hidden_states=states or None,
            attentions=attentions or None,
        )

    def _forward_baseline(self, features, labels, inputs) -> EgoT2Output:
        """FT / Transfer / LF baseline: the same logits, losses and output type as EgoT2-s."""
        gathered = self._gather_features(features, inputs, self.config.stream_names)
        logits = self.baseline_head(gathered)
        loss, losses = self.compute_losses(logits, labels)
        return EgoT2Output(loss=loss, losses=losses, logits=logits)

    # ----- EgoT2-g -----------------------------------------------------------------------------------------------
    def _prompt_tasks(self, labels, task, gathered) -> list[str]:
        config = self.config
        if task is not None:
            config.prompt(task)
            return [task]
        if labels:
            labelled = [t for t in config.task_order if labels.get(t) is not None]
            if labelled:
                return labelled
        available = [p["task"] for p in config.prompts if all(self._stream_available(s, gathered) for s in p["streams"])]
        if not available:
            raise ValueError(
                f"no EgoT2-g prompt has all its streams: prompts need {[(p['task'], p['streams']) for p in config.prompts]}, "
                f"got features for {sorted(k for k, v in gathered.items() if v is not None)}."
            )
        return available

    def encode_prompt(self, task: str, gathered: dict[str, torch.Tensor], output_attentions: bool = False, output_hidden_states: bool = False):
        """Memory of ``task``'s prompt: ``(B, M, D)``, or ``(B·T, K, D)`` for per-frame prompts (ASD)."""
        prompt = self.config.prompt(task)
        hidden, states, attentions = self._encode(prompt["streams"], gathered, output_attentions, output_hidden_states)
        if prompt["memory"] == "per_frame":
            lengths = {gathered[name].shape[1] for name in prompt["streams"]}
            if len(lengths) != 1:
                raise ValueError(f"per-frame prompt {task!r} needs streams of equal length, got {sorted(lengths)}.")
            frames = lengths.pop()
            batch, _, dim = hidden.shape
            # [s_1[t], …, s_K[t]] for every frame t: (B, K, T, D) → (B·T, K, D)
            hidden = hidden.view(batch, len(prompt["streams"]), frames, dim).transpose(1, 2).reshape(batch * frames, -1, dim)
        return hidden, states, attentions

    def _prompt_id(self, task: str) -> int:
        ids = self.config.prompt_token_ids or {}
        if task not in ids:
            raise ValueError(f"this EgoT2-g config has no prompt token for {task!r} (prompt_token_ids={ids}).")
        return ids[task]

    def _token_tables(self, task: str, device: torch.device) -> tuple[int, torch.Tensor]:
        """``(prompt token, label token of every class (K,))`` of ``task``."""
        config = self.config
        if not (config.label_token_ids or {}).get(task) or config.eos_token_id is None:
            raise ValueError(
                f"this EgoT2-g config has no label tokens for {task!r} (label_token_ids / eos_token_id): the HOI verb and "
                "noun tokens come from the Ego4D taxonomy; build them with "
                "EgoT2Tokenizer.from_taxonomy(path).config_kwargs() and pass them to the config."
            )
        return self._prompt_id(task), torch.tensor(config.label_token_ids[task], dtype=torch.long, device=device)

    def _forward_g(self, features, labels, task, decoder_input_ids, inputs, output_attentions, output_hidden_states) -> EgoT2Output:
        config = self.config
        needed = sorted({s for p in config.prompts for s in p["streams"]} if task is None else set(config.prompt(task)["streams"]))
        gathered = self._gather_features(features, inputs, needed)
        tasks = self._prompt_tasks(labels, task, gathered)
        if decoder_input_ids is not None and len(tasks) != 1:
            raise ValueError(f"decoder_input_ids need exactly one task (pass task=...), got {tasks}.")
        logits, memories, cross, all_states, all_attentions = {}, {}, {}, (), ()
        for name in tasks:
            memory, states, attentions = self.encode_prompt(name, gathered, output_attentions, output_hidden_states)
            all_states += states
            all_attentions += attentions
            target = labels.get(name) if labels else None
            if decoder_input_ids is not None:
                ids = decoder_input_ids
            elif target is not None:
                prompt_id, label_ids = self._token_tables(name, memory.device)
                pad = config.unk_token_id if config.unk_token_id is not None else config.eos_token_id
                ids, _ = teacher_forcing_tokens(target.reshape(-1), prompt_id, label_ids, config.eos_token_id, pad)
            else:
                ids = torch.full((memory.shape[0], 1), self._prompt_id(name), dtype=torch.long, device=memory.device)
            if ids.shape[0] != memory.shape[0]:
                raise ValueError(f"task {name!r}: {ids.shape[0]} decoder sequences for a memory batch of {memory.shape[0]}.")
            logits[name], _, cross_weights = self.decoder(ids, memory, config._attn_implementation, output_attentions)
            memories[name] = memory
            if cross_weights:
                cross[name] = cross_weights
        loss, losses = self.compute_losses(logits, labels)
        return EgoT2Output(
            loss=loss,
            losses=losses,
            logits=logits,
            memories=memories,
            cross_attentions=cross or None,
            hidden_states=all_states or None,
            attentions=all_attentions or None,
        )

    @torch.no_grad()
    def generate(
        self,
        features: dict[str, torch.Tensor] | None = None,
        task: str | None = None,
        constrained: bool | None = None,
        max_decode_length: int | None = None,
        **inputs: Any,
    ) -> dict[str, EgoT2GenerationOutput]:
        """EgoT2-g greedy decoding into label space for ``task`` (default: every task whose streams are given).

        Returns ``{task: EgoT2GenerationOutput}`` (``predictions`` ``(B,)`` class indices, ``(B, T)`` for ASD;
        ``-1`` = out of label space, only possible with ``constrained=False``).
        """
        config = self.config
        if config.variant != "g":
            raise ValueError("generate() decodes EgoT2-g prompts; EgoT2-s predictions are the argmax of forward().logits.")
        constrained = config.constrained_decoding if constrained is None else constrained
        length = config.max_decode_length if max_decode_length is None else max_decode_length
        needed = sorted({s for p in config.prompts for s in p["streams"]} if task is None else set(config.prompt(task)["streams"]))
        gathered = self._gather_features(features, inputs, needed)
        outputs = {}
        for name in self._prompt_tasks(None, task, gathered):
            memory = self.encode_prompt(name, gathered)[0]
            prompt_id, label_ids = self._token_tables(name, memory.device)
            result = greedy_decode(
                self.decoder, memory, prompt_id, label_ids, config.eos_token_id, length, constrained, config._attn_implementation
            )
            if config.prompt(name)["memory"] == "per_frame":
                batch = gathered[config.prompt(name)["streams"][0]].shape[0]
                result.predictions = result.predictions.view(batch, -1)
                result.label_scores = result.label_scores.view(batch, -1, result.label_scores.shape[-1])
            outputs[name] = result
        return outputs

    # ----- losses ------------------------------------------------------------------------------------------------
    def task_loss(self, spec, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        weight = spec.extra.get("class_weights")
        weight = None if weight is None else torch.tensor(weight, device=logits.device, dtype=torch.float32)
        if spec.kind == "sequence":
            prompt_id, label_ids = self._token_tables(spec.name, logits.device)
            _, targets = teacher_forcing_tokens(labels.reshape(-1), prompt_id, label_ids, self.config.eos_token_id, 0, spec.ignore_index)
            if logits.shape[1] != targets.shape[1]:
                raise ValueError(f"{spec.name}: teacher-forced logits have {logits.shape[1]} steps, targets {targets.shape[1]}.")
            return masked_cross_entropy(logits.flatten(0, 1), targets.flatten(), spec.ignore_index)
        if spec.name == "pnr":
            return keyframe_bce_loss(logits, labels, spec.ignore_index)
        if spec.kind == "anticipation":  # Σ_z CE(logits_z, labels_z), the official LTA loss
            if labels.shape != logits.shape[:2]:
                raise ValueError(f"{spec.name}: labels must have shape (B, Z)={tuple(logits.shape[:2])}, got {tuple(labels.shape)}.")
            return sum(masked_cross_entropy(logits[:, z], labels[:, z], spec.ignore_index) for z in range(logits.shape[1]))
        if spec.extra.get("per_frame"):  # ASD: (B·T, 2) vs (B, T)
            return masked_cross_entropy(logits, labels.reshape(-1), spec.ignore_index, weight=weight)
        return masked_cross_entropy(logits, labels, spec.ignore_index, weight=weight)

    def count_loss_elements(self, spec, labels: torch.Tensor) -> torch.Tensor:
        """Label elements behind each task loss (for split-batch normalisation): EgoT2-g counts target tokens."""
        if spec.kind == "sequence":
            return (labels != spec.ignore_index).sum() * self.config.max_decode_length
        return default_loss_elements(spec, labels)

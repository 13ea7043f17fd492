"""Configuration of ``mthub_egot2``: EgoT2 task translators (Xue et al., "Egocentric Video Task Translation",
CVPR 2023; spec ``shared/specs/egot2.md`` §2.2–2.3, §3).

A translator reads *token streams*: the temporal features of frozen task-specific (TS) models (Eq. 1), each
projected to the shared width ``D`` (Eq. 2) and concatenated into one sequence (Eq. 3). A stream is described by
a small dict (see :func:`coerce_stream`) so that every official arrangement — EgoT2-s per primary task, the task
subsets, the ablations, EgoT2-g's per-prompt memories — is data, not code.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from ...configuration_utils import MTHubConfig

__all__ = [
    "EGOT2_VARIANTS",
    "EXTRACTORS",
    "HEAD_NORMS",
    "POSITION_EMBEDDING_TYPES",
    "PRIMARY_TASKS",
    "TS_TASKS",
    "EgoT2Config",
    "coerce_prompt",
    "coerce_stream",
    "output_tasks",
]

EGOT2_VARIANTS = ("s", "g")
#: Ego4D tasks with a TS model (Table 1).
TS_TASKS = ("pnr", "oscc", "ar", "lta", "lam", "ttm", "asd")
#: EgoT2-s primary tasks (LAM is never primary: its 0.2 s window is shorter than every other task's, A.2.2).
PRIMARY_TASKS = ("pnr", "oscc", "ar", "lta", "ttm", "asd")
POSITION_EMBEDDING_TYPES = ("sinusoidal_per_task", "learned_absolute")
#: ``shared``: the head LayerNorm *is* the input LayerNorm (HOI classes: one module saved as ``ln`` and
#: ``linear_head.0``); ``separate``: its own LayerNorm (HHI classes); ``none``: a bare Linear (P&O, LTA).
HEAD_NORMS = ("shared", "separate", "none")

#: How raw inputs become a stream's tokens (raw-input mode; spec §2.1 and the cross-task input adaptation of
#: §4.1 / A.2.2). ``source`` names the TS model; shapes are the stream's ``(B, num_tokens, input_dim)``.
EXTRACTORS = {
    "i3d_frames": "PNR/OSCC I3D res5 cells of one 8 s clip, (B, 16, 8192)",
    "i3d_clip_mean": "PNR/OSCC cells of each 8 s window, time-averaged per window, (B, N, 8192)",
    "i3d_mean": "PNR/OSCC cells time-averaged over the clip, (B, 1, 8192) (temporal-pooling ablation)",
    "slowfast_slow": "AR SlowFast slow-pathway tokens, (B, 8, 2048)",
    "slowfast_fast": "AR SlowFast fast-pathway tokens pooled to 8, (B, 8, 256)",
    "slowfast_pooled": "AR SlowFast head-pooled 2304-d vector of each clip, (B, N, 2304)",
    "lta_aggregator": "LTA transformer-aggregator outputs of the observed clips, (B, N, 2048)",
    "social_frames": "LAM/TTM per-frame ResNet-18 features (video branch), (B, T, 256)",
    "social_mean": "LAM/TTM per-frame features time-averaged, (B, 1, 256) (temporal-pooling ablation)",
    "talknet_frames": "ASD TalkNet audio-visual backend outputs, (B, T, 256)",
    "talknet_mean": "ASD TalkNet outputs time-averaged, (B, 1, 256)",
}

_STREAM_FIELDS = {
    "name", "source", "input_dim", "num_tokens", "task_id", "projection", "projection_type", "projection_dropout",
    "extractor",
}


def coerce_stream(stream: Mapping[str, Any]) -> dict[str, Any]:
    """Validate one token stream and fill its defaults.

    Fields:
        name (`str`): unique stream name; the model input is ``<name>_features``.
        source (`str`): the TS model that produces it: a key of ``ts_configs``, normally the TS task itself
            (:data:`TS_TASKS`); ablations with several models of one task use e.g. ``"ttm_2"``.
        input_dim (`int`): per-token feature width ``D_k`` (8192 PNR/OSCC cells, 2048/256 SlowFast slow/fast, 2304
            SlowFast pooled, 2048 LTA, 256 LAM/TTM/ASD).
        num_tokens (`int` | None): tokens ``T_k`` (``None``: variable, e.g. TTM/ASD segments of T frames).
        task_id (`int`): index of the task embedding / position segment (positions restart for every run of
            consecutive tokens with one ``task_id`` under ``sinusoidal_per_task``).
        projection (`str`): name of the projection ``P_k`` (streams may share one, e.g. EgoT2-g's ``pnr`` and
            ``pnr_clips``); defaults to ``name``.
        projection_type (`str`): ``"linear"`` (``Linear(D_k, D)``) or ``"identity"`` (needs ``D_k == D``).
        projection_dropout (`float`): dropout *before* the projection (0.5 for the trainable SlowFast head that LTA
            and EgoT2-g-HOI put on the pooled AR features: the official ``ResNetBasicHead`` dropout).
        extractor (`str`): how raw inputs become these tokens (:data:`EXTRACTORS`).
    """
    unknown = set(stream) - _STREAM_FIELDS
    if unknown:
        raise ValueError(f"stream {stream.get('name')!r} has unknown fields {sorted(unknown)}; known: {sorted(_STREAM_FIELDS)}.")
    missing = {"name", "source", "input_dim", "task_id"} - set(stream)
    if missing:
        raise ValueError(f"stream {stream.get('name')!r} lacks fields {sorted(missing)}.")
    out = {
        "name": str(stream["name"]),
        "source": str(stream["source"]),
        "input_dim": int(stream["input_dim"]),
        "num_tokens": None if stream.get("num_tokens") is None else int(stream["num_tokens"]),
        "task_id": int(stream["task_id"]),
        "projection": str(stream.get("projection") or stream["name"]),
        "projection_type": str(stream.get("projection_type", "linear")),
        "projection_dropout": float(stream.get("projection_dropout", 0.0)),
        "extractor": stream.get("extractor"),
    }
    if not out["name"].isidentifier():
        raise ValueError(f"stream name {out['name']!r} must be an identifier (the model input is '<name>_features').")
    if not out["source"].isidentifier():
        raise ValueError(f"stream {out['name']!r}: source {out['source']!r} must be an identifier (a TS model name).")
    if out["projection_type"] not in ("linear", "identity"):
        raise ValueError(f"stream {out['name']!r}: projection_type must be 'linear' or 'identity', got {out['projection_type']!r}.")
    if out["extractor"] is not None and out["extractor"] not in EXTRACTORS:
        raise ValueError(f"stream {out['name']!r}: unknown extractor {out['extractor']!r}; known: {sorted(EXTRACTORS)}.")
    return out


def coerce_prompt(prompt: Mapping[str, Any], stream_names: Sequence[str]) -> dict[str, Any]:
    """Validate one EgoT2-g prompt: ``{"task", "streams": [names, encoder order], "memory": "all" | "per_frame"}``.

    ``memory="per_frame"`` (the ASD prompt) regroups the encoded ``K·T`` tokens into one ``K``-token memory per
    frame ``[stream_1[t], …, stream_K[t]]`` and decodes every frame separately (all streams need ``T`` tokens).
    """
    unknown = set(prompt) - {"task", "streams", "memory"}
    if unknown:
        raise ValueError(f"prompt {prompt.get('task')!r} has unknown fields {sorted(unknown)}.")
    streams = [str(s) for s in prompt.get("streams") or []]
    bad = [s for s in streams if s not in stream_names]
    if not streams or bad:
        raise ValueError(f"prompt {prompt.get('task')!r}: streams {bad or streams} not among the config's streams {list(stream_names)}.")
    memory = prompt.get("memory", "all")
    if memory not in ("all", "per_frame"):
        raise ValueError(f"prompt {prompt.get('task')!r}: memory must be 'all' or 'per_frame', got {memory!r}.")
    return {"task": str(prompt["task"]), "streams": streams, "memory": memory}


def output_tasks(primary_task: str) -> list[str]:
    """Task names (logits keys) of an EgoT2-s translator for ``primary_task``."""
    return {"ar": ["action_verb", "action_noun"], "lta": ["lta_verb", "lta_noun"]}.get(primary_task, [primary_task])


_BINARY_LABELS = {
    "oscc": ["no_state_change", "state_change"],
    "lam": ["not_looking_at_me", "looking_at_me"],
    "ttm": ["not_talking_to_me", "talking_to_me"],
    "asd": ["not_speaking", "speaking"],
}
_METRICS = {
    "pnr": "pnr_localization_error_s",
    "oscc": "accuracy",
    "action_verb": "accuracy",
    "action_noun": "accuracy",
    "lta_verb": "edit_distance",
    "lta_noun": "edit_distance",
    "lam": "mAP",
    "ttm": "mAP",
    "asd": "frame_accuracy",
}


class EgoT2Config(MTHubConfig):
    r"""Configuration of :class:`EgoT2Model`: an EgoT2-s (``variant="s"``) or EgoT2-g (``variant="g"``) translator
    and, optionally, the frozen TS models it reads.

    Args:
        variant (`str`, defaults to ``"s"``): ``"s"`` — one primary task, transformer encoder + task head (Sec.
            3.1, Eq. 1–4); ``"g"`` — encoder + autoregressive sequence decoder with task prompts (Sec. 3.2).
        primary_task (`str`, *optional*): EgoT2-s primary task (:data:`PRIMARY_TASKS`).
        streams (`list[dict]`): token streams in encoder order (:func:`coerce_stream`).
        prompts (`list[dict]`, *optional*): EgoT2-g prompts (:func:`coerce_prompt`), in task order.
        hidden_size (`int`, defaults to 128): translator width ``D``.
        num_hidden_layers (`int`, defaults to 1): encoder layers ``L``.
        num_decoder_layers (`int`, defaults to 1): EgoT2-g decoder layers.
        num_attention_heads (`int`, defaults to 4): attention heads (not given in the paper; per class in the code).
        ffn_dim (`int`, defaults to 2048): FFN width (2048 = PyTorch's default in most classes, ``2·D`` in the HOI
            PNR/OSCC classes).
        dropout (`float`, defaults to 0.1): transformer dropout.
        feature_dropout (`float`, defaults to 0.0): dropout on the projected tokens (HOI PNR/OSCC ``FEAT_DROPOUT``).
        position_dropout (`float`, defaults to 0.0): dropout after adding positions (0.1 in the sinusoidal classes).
        pos_embedding_type (`str`): ``"sinusoidal_per_task"`` (positions restart per task segment; HHI and
            EgoT2-g) or ``"learned_absolute"`` (a learned ``(N, D)`` table over all tokens; HOI EgoT2-s).
        use_task_embedding (`bool`, defaults to True): add a learned embedding per ``task_id`` (HHI, EgoT2-g).
        max_position_embeddings (`int`, defaults to 1000): longest task segment the sinusoidal table allows
            (1000 HHI, 200 HOI EgoT2-g: the official buffer lengths).
        head_norm (`str`, defaults to ``"separate"``): EgoT2-s head LayerNorm (:data:`HEAD_NORMS`).
        head_dropout (`float`, defaults to 0.0): dropout before the LTA heads (0.5).
        num_future (`int`, defaults to 20): LTA future actions ``Z``.
        asd_clip_head (`bool`, defaults to False): build the official ASD model's clip head (``linear_head``, unused
            by its loss; part of Table 3's 1.5 M). It joins the loss with weight 0 so that DDP sees a gradient.
        num_verbs, num_nouns (`int`): 115, 478 (Ego4D v1).
        verb_labels, noun_labels (`list[str]`, *optional*): class names (taxonomy order).
        num_keyframes (`int`, defaults to 16): PNR frames.
        vocab_size (`int`, *optional*): EgoT2-g vocabulary size ``V``.
        eos_token_id, unk_token_id (`int`, *optional*): EgoT2-g special tokens.
        prompt_token_ids (`dict[str, int]`, *optional*): EgoT2-g prompt token of every task.
        label_token_ids (`dict[str, list[int]]`, *optional*): EgoT2-g token of every class of every task (class
            index order). Built by :class:`~mthub.models.egot2.EgoT2Tokenizer` (``config_kwargs()``).
        constrained_decoding (`bool`, defaults to True): greedy decoding restricted to the task's label tokens (the
            official HHI/PNR evaluation) instead of the whole vocabulary (the paper's text; out-of-space = wrong).
        max_decode_length (`int`, defaults to 2): decoded tokens after the prompt (label, ``</s>``).
        init_scheme (`str`, defaults to ``"torch"``): ``"torch"`` (PyTorch's layer defaults; task embeddings and
            learned positions ~ N(0, 1), as the official ``torch.randn``) or ``"xavier"`` (xavier-uniform on every ≥2-D
            translator weight, as the official EgoT2-g and LTA classes).
        ts_configs (`dict[str, dict]`, *optional*): ``mthub_ego4d_ts`` config dicts of the frozen TS models, by
            source task; the models are built with ``AutoModel.from_config`` when ``use_ts_models``.
        ts_checkpoints (`dict[str, str]`, *optional*): Hub id or path of each TS model's weights, loaded after
            ``from_pretrained`` (translator-only checkpoints).
        use_ts_models (`bool`, *optional*): build the TS models (raw-input mode); defaults to ``bool(ts_configs)``.
        freeze_ts_models (`bool`, defaults to True): TS models frozen and kept in eval mode (Table 4/10 (c) sets it
            False).
        ts_weights_included (`bool`, defaults to False): set by ``save_pretrained(include_ts_weights=True)``: the
            checkpoint holds the TS weights, so ``from_pretrained`` does not read ``ts_checkpoints``.
        layer_norm_eps (`float`, defaults to 1e-5).
        baseline_kind (`str`, *optional*): turns an EgoT2-s config into one of the paper's stage-II baselines
            (Sec. 4.1, Tables 2/3, dims from A.2.2): ``"ft"`` (Finetuning: a head on the primary task's own TS
            features), ``"transfer"`` (the head on one auxiliary task's TS features) or ``"lf"`` (Late Fusion of
            every task's features). The model then builds
            :class:`~mthub.models.egot2.baselines_egot2.EgoT2BaselineHead` instead of the translator (no
            embeddings / encoder); its logits have the EgoT2-s shapes of ``primary_task``. ``None`` (default): the
            translator.
        baseline_source_tasks (`list[str]`, *optional*): the TS tasks whose features the baseline reads (defaults to
            the streams' sources; must equal them).
        baseline_head (`dict`, *optional*): the baseline head as data: ``{"reductions": {stream: "mean" |
            "duplicate" | "flatten" | "frames" | "pool:N"}, "projection_dim": int | None, "fused_activation": bool,
            "hidden_sizes": [int]}`` (see :mod:`~mthub.models.egot2.baselines_egot2`).
    """

    model_type = "mthub_egot2"

    def __init__(
        self,
        variant: str = "s",
        primary_task: str | None = "ttm",
        streams: list[dict] | None = None,
        prompts: list[dict] | None = None,
        hidden_size: int = 128,
        num_hidden_layers: int = 1,
        num_decoder_layers: int = 1,
        num_attention_heads: int = 4,
        ffn_dim: int = 2048,
        dropout: float = 0.1,
        feature_dropout: float = 0.0,
        position_dropout: float = 0.0,
        pos_embedding_type: str = "sinusoidal_per_task",
        use_task_embedding: bool = True,
        max_position_embeddings: int = 1000,
        head_norm: str = "separate",
        head_dropout: float = 0.0,
        num_future: int = 20,
        asd_clip_head: bool = False,
        num_verbs: int = 115,
        num_nouns: int = 478,
        verb_labels: list[str] | None = None,
        noun_labels: list[str] | None = None,
        num_keyframes: int = 16,
        vocab_size: int | None = None,
        eos_token_id: int | None = None,
        unk_token_id: int | None = None,
        prompt_token_ids: dict[str, int] | None = None,
        label_token_ids: dict[str, list[int]] | None = None,
        constrained_decoding: bool = True,
        max_decode_length: int = 2,
        init_scheme: str = "torch",
        ts_configs: dict[str, dict] | None = None,
        ts_checkpoints: dict[str, str] | None = None,
        use_ts_models: bool | None = None,
        freeze_ts_models: bool = True,
        ts_weights_included: bool = False,
        layer_norm_eps: float = 1e-5,
        tasks: list[Any] | None = None,
        baseline_kind: str | None = None,
        baseline_source_tasks: list[str] | None = None,
        baseline_head: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if variant not in EGOT2_VARIANTS:
            raise ValueError(f"variant must be one of {EGOT2_VARIANTS} (EgoT2-s / EgoT2-g), got {variant!r}.")
        if pos_embedding_type not in POSITION_EMBEDDING_TYPES:
            raise ValueError(f"pos_embedding_type must be one of {POSITION_EMBEDDING_TYPES}, got {pos_embedding_type!r}.")
        if head_norm not in HEAD_NORMS:
            raise ValueError(f"head_norm must be one of {HEAD_NORMS}, got {head_norm!r}.")
        if init_scheme not in ("torch", "xavier"):
            raise ValueError(f"init_scheme must be 'torch' or 'xavier', got {init_scheme!r}.")
        if hidden_size % num_attention_heads:
            raise ValueError(f"hidden_size={hidden_size} is not divisible by num_attention_heads={num_attention_heads}.")
        self.variant = variant
        self.primary_task = primary_task if variant == "s" else None
        if variant == "s" and primary_task not in PRIMARY_TASKS:
            raise ValueError(f"EgoT2-s needs primary_task in {PRIMARY_TASKS}, got {primary_task!r}.")
        self.streams = [coerce_stream(s) for s in (streams or [])]
        names = [s["name"] for s in self.streams]
        if not names:
            raise ValueError("EgoT2Config needs at least one token stream (see mthub.models.egot2.presets for layouts).")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate stream names {duplicates}.")
        self.prompts = [coerce_prompt(p, names) for p in (prompts or [])] if variant == "g" else []
        if variant == "g" and not self.prompts:
            raise ValueError("EgoT2-g needs prompts: [{'task': ..., 'streams': [...]}, ...].")
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_decoder_layers = num_decoder_layers if variant == "g" else 0
        self.num_attention_heads = num_attention_heads
        self.ffn_dim = ffn_dim
        self.dropout = dropout
        self.feature_dropout = feature_dropout
        self.position_dropout = position_dropout
        self.pos_embedding_type = pos_embedding_type
        self.use_task_embedding = use_task_embedding
        self.max_position_embeddings = max_position_embeddings
        self.head_norm = head_norm
        self.head_dropout = head_dropout
        self.num_future = num_future
        self.asd_clip_head = bool(asd_clip_head and variant == "s" and primary_task == "asd")
        self.verb_labels = list(verb_labels) if verb_labels else None
        self.noun_labels = list(noun_labels) if noun_labels else None
        self.num_verbs = len(self.verb_labels) if self.verb_labels else num_verbs
        self.num_nouns = len(self.noun_labels) if self.noun_labels else num_nouns
        self.num_keyframes = num_keyframes
        self.vocab_size = vocab_size
        self.eos_token_id = eos_token_id
        self.unk_token_id = unk_token_id
        self.prompt_token_ids = dict(prompt_token_ids) if prompt_token_ids else None
        self.label_token_ids = {k: [int(i) for i in v] for k, v in label_token_ids.items()} if label_token_ids else None
        self.constrained_decoding = constrained_decoding
        self.max_decode_length = max_decode_length
        self.init_scheme = init_scheme
        self.ts_configs = copy.deepcopy(dict(ts_configs)) if ts_configs else None
        self.ts_checkpoints = dict(ts_checkpoints) if ts_checkpoints else None
        self.use_ts_models = bool(self.ts_configs) if use_ts_models is None else bool(use_ts_models)
        self.freeze_ts_models = freeze_ts_models
        self.ts_weights_included = ts_weights_included
        self.layer_norm_eps = layer_norm_eps
        self._set_baseline(baseline_kind, baseline_source_tasks, baseline_head)
        self._validate_layout()
        if tasks is None:
            tasks = self._default_tasks()
        super().__init__(tasks=tasks, **kwargs)

    def _set_baseline(self, kind: str | None, sources: list[str] | None, head: dict[str, Any] | None) -> None:
        """Validate the baseline fields (``baseline_kind`` documents them)."""
        self.baseline_kind = kind
        self.baseline_source_tasks = None
        self.baseline_head = None
        if kind is None:
            return
        from .baselines_egot2 import BASELINE_KINDS, coerce_baseline_head  # (that module imports this one)

        if kind not in BASELINE_KINDS:
            raise ValueError(f"baseline_kind must be one of {BASELINE_KINDS} (FT / Transfer / Late Fusion) or None, got {kind!r}.")
        if self.variant != "s":
            raise ValueError("baselines are single-primary-task models: baseline_kind needs variant='s'.")
        stream_sources = sorted({s["source"] for s in self.streams})
        self.baseline_source_tasks = sorted(sources) if sources else stream_sources
        if self.baseline_source_tasks != stream_sources:
            raise ValueError(f"baseline_source_tasks {self.baseline_source_tasks} differ from the streams' sources {stream_sources}.")
        if head is None:
            raise ValueError("baseline_kind needs baseline_head (see mthub.models.egot2.baselines_egot2.baseline_layout).")
        self.baseline_head = coerce_baseline_head(head, self.streams, self.primary_task)

    @property
    def is_baseline(self) -> bool:
        """An FT / Transfer / LF baseline head instead of the translator (``baseline_kind`` is set)."""
        return self.baseline_kind is not None

    # ----- derived layout --------------------------------------------------------------------------------------
    def stream(self, name: str) -> dict[str, Any]:
        for stream in self.streams:
            if stream["name"] == name:
                return stream
        raise KeyError(f"EgoT2Config has no stream {name!r}; streams: {[s['name'] for s in self.streams]}.")

    @property
    def stream_names(self) -> list[str]:
        return [s["name"] for s in self.streams]

    @property
    def num_task_embeddings(self) -> int:
        return max(s["task_id"] for s in self.streams) + 1

    @property
    def projections(self) -> dict[str, dict[str, Any]]:
        """``{projection name: {"input_dim", "type", "dropout"}}`` in first-use order."""
        out: dict[str, dict[str, Any]] = {}
        for s in self.streams:
            spec = {"input_dim": s["input_dim"], "type": s["projection_type"], "dropout": s["projection_dropout"]}
            if s["projection"] in out and out[s["projection"]] != spec:
                raise ValueError(
                    f"streams sharing projection {s['projection']!r} disagree: {out[s['projection']]} vs {spec} (stream {s['name']!r})."
                )
            out.setdefault(s["projection"], spec)
        return out

    @property
    def num_tokens(self) -> int | None:
        """Total encoder tokens of an EgoT2-s translator (``None`` when a stream has a variable length)."""
        counts = [s["num_tokens"] for s in self.streams]
        return None if any(c is None for c in counts) else sum(counts)

    @property
    def task_order(self) -> list[str]:
        """EgoT2-s: output task names; EgoT2-g: prompt tasks in order."""
        return output_tasks(self.primary_task) if self.variant == "s" else [p["task"] for p in self.prompts]

    def prompt(self, task: str) -> dict[str, Any]:
        for prompt in self.prompts:
            if prompt["task"] == task:
                return prompt
        raise KeyError(f"EgoT2-g config has no prompt for task {task!r}; prompts: {[p['task'] for p in self.prompts]}.")

    def _validate_layout(self) -> None:
        _ = self.projections  # consistency of shared projections
        for s in self.streams:
            if s["projection_type"] == "identity" and s["input_dim"] != self.hidden_size:
                raise ValueError(f"stream {s['name']!r}: identity projection needs input_dim == hidden_size ({s['input_dim']} != {self.hidden_size}).")
        if self.pos_embedding_type == "learned_absolute":
            if self.variant == "g":
                raise ValueError("EgoT2-g uses per-task sinusoidal positions (its memories differ per prompt).")
            if self.num_tokens is None:
                raise ValueError("learned_absolute positions need a fixed num_tokens for every stream.")
        if self.variant == "g":
            if self.vocab_size is None:
                raise ValueError("EgoT2-g needs vocab_size (build it with EgoT2Tokenizer(...).config_kwargs()).")
            for p in self.prompts:
                if p["memory"] == "per_frame" and len(p["streams"]) < 1:
                    raise ValueError("per_frame memory needs streams.")
            if self.label_token_ids is not None:
                for task, ids in self.label_token_ids.items():
                    bad = [i for i in ids if not 0 <= i < self.vocab_size]
                    if bad:
                        raise ValueError(f"label_token_ids[{task!r}] has ids {bad[:5]} outside the vocabulary (size {self.vocab_size}).")
        if self.ts_configs:
            sources = {s["source"] for s in self.streams}
            missing = sorted(sources - set(self.ts_configs))
            if self.use_ts_models and missing:
                raise ValueError(f"use_ts_models=True but ts_configs lacks the TS models {missing} that streams read.")

    def num_classes(self, task: str) -> int:
        """Classes of ``task`` in label space."""
        if task in ("action_verb", "lta_verb"):
            return self.num_verbs
        if task in ("action_noun", "lta_noun"):
            return self.num_nouns
        if task == "pnr":
            return self.num_keyframes
        return 2

    def class_names(self, task: str) -> list[str] | None:
        if task in ("action_verb", "lta_verb"):
            return self.verb_labels
        if task in ("action_noun", "lta_noun"):
            return self.noun_labels
        if task == "pnr":
            return [str(i) for i in range(self.num_keyframes)]
        return list(_BINARY_LABELS[task])

    def _default_tasks(self) -> list[dict[str, Any]]:
        specs = []
        for task in self.task_order:
            names = self.class_names(task)
            count = self.num_classes(task)
            base: dict[str, Any] = {"name": task, "metric": _METRICS.get(task)}
            if self.variant == "g":
                extra: dict[str, Any] = {"num_classes": count}
                if task == "asd":
                    extra["per_frame"] = True
                spec = {**base, "kind": "sequence", "num_outputs": self.vocab_size, "loss": "sequence_cross_entropy", "extra": extra}
                if names:
                    spec["labels"] = names
                specs.append(spec)
                continue
            label_info = {"labels": names} if names else {"num_outputs": count}
            if task == "pnr":
                specs.append({**base, "kind": "localization", "num_outputs": count, "loss": "keyframe_bce"})
            elif task in ("lta_verb", "lta_noun"):
                specs.append({**base, "kind": "anticipation", "loss": "cross_entropy", "extra": {"num_future": self.num_future}, **label_info})
            elif task == "ttm":
                specs.append({**base, "kind": "classification", "loss": "cross_entropy", "extra": {"class_weights": [0.266, 0.734]}, **label_info})
            elif task == "asd":
                specs.append(
                    {**base, "kind": "classification", "loss": "cross_entropy", "extra": {"class_weights": [1.0, 4.0], "per_frame": True}, **label_info}
                )
            else:
                specs.append({**base, "kind": "classification", "loss": "cross_entropy", **label_info})
        return specs

"""Configuration of ``mthub_ego4d_ts``: the seven Ego4D task-specific baselines EgoT2 builds on (stage I)."""

from __future__ import annotations

from typing import Any

from ...configuration_utils import MTHubConfig

#: The Ego4D tasks of EgoT2 (Table 1) and the network each one uses.
EGO4D_TASKS = ("pnr", "oscc", "ar", "lta", "lam", "ttm", "asd")

#: Per-task defaults that differ between tasks (``None`` config fields take these values).
_TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "pnr": {"num_frames": 16, "image_size": 225, "resnet_depth": [3, 4, 6, 3], "temporal_kernels": [3, 3, 3, 3, 3]},
    "oscc": {"num_frames": 16, "image_size": 225, "resnet_depth": [3, 4, 6, 3], "temporal_kernels": [3, 3, 3, 3, 3]},
    "ar": {"num_frames": 32, "image_size": 224, "resnet_depth": [3, 4, 23, 3]},
    "lta": {"num_frames": 32, "image_size": 224, "resnet_depth": [3, 4, 23, 3]},
    "lam": {"num_frames": 7, "image_size": 224, "class_weights": None},
    "ttm": {"num_frames": None, "image_size": 224, "class_weights": [0.266, 0.734]},
    "asd": {"num_frames": None, "image_size": 112, "class_weights": [1.0, 4.0]},
}

# Label names of the binary tasks, index order as in the official loaders (1 = the positive event).
_BINARY_LABELS = {
    "oscc": ["no_state_change", "state_change"],
    "lam": ["not_looking_at_me", "looking_at_me"],
    "ttm": ["not_talking_to_me", "talking_to_me"],
    "asd": ["not_speaking", "speaking"],
}


def ego4d_ts_tasks(config: Ego4DTSConfig) -> list[dict[str, Any]]:
    """The :class:`~mthub.configuration_utils.TaskSpec` dicts of one TS model (its head outputs)."""
    task = config.ego4d_task
    weights = {"class_weights": config.class_weights} if config.class_weights else {}
    if task == "pnr":
        return [
            {
                "name": "pnr",
                "kind": "localization",
                "num_outputs": config.num_frames,
                "loss": "keyframe_bce",
                "metric": "pnr_localization_error_s",
                "extra": {"per_frame": True},
            }
        ]
    if task in ("oscc", "lam", "ttm"):
        return [
            {
                "name": task,
                "kind": "classification",
                "labels": _BINARY_LABELS[task],
                "loss": "cross_entropy",
                "metric": "accuracy" if task == "oscc" else "mAP",
                "extra": weights,
            }
        ]
    if task == "asd":
        extra = {"per_frame": True, **weights, "aux_loss_weight": config.aux_loss_weight}
        return [
            {"name": "asd", "kind": "classification", "labels": _BINARY_LABELS["asd"], "loss": "cross_entropy",
             "metric": "frame_accuracy", "extra": extra}
        ]
    verbs = {"num_outputs": config.num_verbs, **({"labels": config.verb_labels} if config.verb_labels else {})}
    nouns = {"num_outputs": config.num_nouns, **({"labels": config.noun_labels} if config.noun_labels else {})}
    if task == "ar":
        return [
            {"name": "action_verb", "kind": "classification", "loss": "cross_entropy", "metric": "accuracy", **verbs},
            {"name": "action_noun", "kind": "classification", "loss": "cross_entropy", "metric": "accuracy", **nouns},
        ]
    extra = {"num_future": config.num_future, "num_samples": config.num_samples}
    return [
        {"name": "lta_verb", "kind": "anticipation", "loss": "cross_entropy", "metric": "edit_distance", "extra": extra, **verbs},
        {"name": "lta_noun", "kind": "anticipation", "loss": "cross_entropy", "metric": "edit_distance", "extra": extra, **nouns},
    ]


class Ego4DTSConfig(MTHubConfig):
    r"""Configuration of :class:`Ego4DTSModel`, one Ego4D task-specific baseline (spec ``egot2.md`` §2.1).

    ``ego4d_task`` selects the network; the other fields size it (defaults = the released models, so every preset
    only names its task). Fields left ``None`` take the task's default.

    Args:
        ego4d_task (`str`, defaults to ``"oscc"``): one of :data:`EGO4D_TASKS`.
        num_frames (`int`, *optional*): frames per clip: 16 (PNR/OSCC, 8 s at 2 fps), 32 (AR/LTA fast pathway),
            7 (LAM). TTM/ASD take segments of any length: there it is only the example length used by
            ``example_inputs`` and cost reports (``None`` by default).
        image_size (`int`, *optional*): input side: 225 (PNR/OSCC), 224 (AR/LTA/LAM/TTM), 112 (ASD faces).
        resnet_depth (`list[int]`, *optional*): blocks per stage res2..res5 of the 3D ResNet / SlowFast
            (``[3, 4, 6, 3]`` R50, ``[3, 4, 23, 3]`` R101).
        resnet_width (`int`, defaults to 64): width per group of the 3D ResNet / SlowFast slow pathway.
        temporal_kernels (`list[int]`, *optional*): PNR/OSCC temporal kernels (stem, res2..res5), ``slow_layer5``.
        slowfast_alpha, slowfast_beta_inv, slowfast_fusion_ratio, slowfast_fusion_kernel (`int`): SlowFast 8×8
            settings (4, 8, 2, 5).
        num_verbs, num_nouns (`int`): Ego4D v1 forecasting classes (115, 478).
        verb_labels, noun_labels (`list[str]`, *optional*): class names (e.g. from ``fho_lta_taxonomy.json``).
        num_input_clips (`int`, defaults to 2): LTA observed clips ``N_in``.
        num_future (`int`, defaults to 20): LTA future actions ``Z``.
        num_samples (`int`, defaults to 5): LTA sequences sampled for ED@Z (``K``).
        lta_feature_dim (`int`, defaults to 2048): LTA clip feature width.
        aggregator_layers, aggregator_heads, aggregator_ffn_dim (`int`): LTA transformer aggregator (6, 8, 2048).
        freeze_backbone (`bool`, defaults to True): freeze the LTA SlowFast body (the baseline trains only the
            head, aggregator and decoder: 180 M of 242 M parameters).
        frame_feature_dim, frame_hidden_dim (`int`): per-frame ResNet-18 ``fc2`` / ``fc1`` widths (256, 1000).
        frame_resnet_layers (`list[int]`): per-frame ResNet blocks per stage (``[2, 2, 2, 2]``).
        lstm_layers (`int`): BiLSTM layers (2). head_dim (`int`): LAM/TTM head hidden width (128).
        audio_filters, audio_layers (`list[int]`), n_mels, audio_dim, audio_attention_dim (`int`): TTM ResNetSE.
        visual_channels (`list[int]`), tcn_blocks, visual_hidden (`int`), talknet_audio_filters,
            talknet_audio_layers (`list[int]`), talknet_heads (`int`): TalkNet sizes.
        head_dropout (`float`, defaults to 0.5): dropout before the PNR/OSCC/AR/LTA heads.
        class_weights (`list[float]`, *optional*): cross-entropy class weights (TTM ``[0.266, 0.734]``, ASD
            ``[1, 4]``).
        aux_loss_weight (`float`, defaults to 0.4): weight of TalkNet's audio-only and visual-only losses.
        sample_rate (`int`, defaults to 16000): audio rate (TTM, ASD).
        initializer_range (`float`, defaults to 0.02): std of the truncated-normal init of linear/conv weights.
        tasks (`list`, *optional*): derived from ``ego4d_task`` when omitted.
    """

    model_type = "mthub_ego4d_ts"

    def __init__(
        self,
        ego4d_task: str = "oscc",
        num_frames: int | None = None,
        image_size: int | None = None,
        resnet_depth: list[int] | None = None,
        resnet_width: int = 64,
        temporal_kernels: list[int] | None = None,
        slowfast_alpha: int = 4,
        slowfast_beta_inv: int = 8,
        slowfast_fusion_ratio: int = 2,
        slowfast_fusion_kernel: int = 5,
        num_verbs: int = 115,
        num_nouns: int = 478,
        verb_labels: list[str] | None = None,
        noun_labels: list[str] | None = None,
        num_input_clips: int = 2,
        num_future: int = 20,
        num_samples: int = 5,
        lta_feature_dim: int = 2048,
        aggregator_layers: int = 6,
        aggregator_heads: int = 8,
        aggregator_ffn_dim: int = 2048,
        freeze_backbone: bool = True,
        frame_feature_dim: int = 256,
        frame_hidden_dim: int = 1000,
        frame_resnet_layers: list[int] | None = None,
        lstm_layers: int = 2,
        head_dim: int = 128,
        audio_filters: list[int] | None = None,
        audio_layers: list[int] | None = None,
        n_mels: int = 64,
        audio_dim: int = 512,
        audio_attention_dim: int = 128,
        visual_channels: list[int] | None = None,
        tcn_blocks: int = 5,
        visual_hidden: int = 256,
        talknet_audio_filters: list[int] | None = None,
        talknet_audio_layers: list[int] | None = None,
        talknet_heads: int = 8,
        head_dropout: float = 0.5,
        class_weights: list[float] | None = None,
        aux_loss_weight: float = 0.4,
        sample_rate: int = 16000,
        initializer_range: float = 0.02,
        tasks: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if ego4d_task not in EGO4D_TASKS:
            raise ValueError(f"ego4d_task={ego4d_task!r} is not an Ego4D TS task; choose one of {EGO4D_TASKS}.")
        defaults = _TASK_DEFAULTS[ego4d_task]
        self.ego4d_task = ego4d_task
        self.num_frames = num_frames if num_frames is not None else defaults.get("num_frames")
        self.image_size = image_size if image_size is not None else defaults["image_size"]
        self.resnet_depth = list(resnet_depth if resnet_depth is not None else defaults.get("resnet_depth", [3, 4, 6, 3]))
        self.resnet_width = resnet_width
        self.temporal_kernels = list(temporal_kernels if temporal_kernels is not None else defaults.get("temporal_kernels", [3] * 5))
        self.slowfast_alpha = slowfast_alpha
        self.slowfast_beta_inv = slowfast_beta_inv
        self.slowfast_fusion_ratio = slowfast_fusion_ratio
        self.slowfast_fusion_kernel = slowfast_fusion_kernel
        self.num_verbs = len(verb_labels) if verb_labels else num_verbs
        self.num_nouns = len(noun_labels) if noun_labels else num_nouns
        self.verb_labels = list(verb_labels) if verb_labels else None
        self.noun_labels = list(noun_labels) if noun_labels else None
        self.num_input_clips = num_input_clips
        self.num_future = num_future
        self.num_samples = num_samples
        self.lta_feature_dim = lta_feature_dim
        self.aggregator_layers = aggregator_layers
        self.aggregator_heads = aggregator_heads
        self.aggregator_ffn_dim = aggregator_ffn_dim
        self.freeze_backbone = freeze_backbone
        self.frame_feature_dim = frame_feature_dim
        self.frame_hidden_dim = frame_hidden_dim
        self.frame_resnet_layers = list(frame_resnet_layers or [2, 2, 2, 2])
        self.lstm_layers = lstm_layers
        self.head_dim = head_dim
        self.audio_filters = list(audio_filters or [32, 64, 128, 256])
        self.audio_layers = list(audio_layers or [2, 2, 2, 2])
        self.n_mels = n_mels
        self.audio_dim = audio_dim
        self.audio_attention_dim = audio_attention_dim
        self.visual_channels = list(visual_channels or [64, 64, 128, 256, 512])
        self.tcn_blocks = tcn_blocks
        self.visual_hidden = visual_hidden
        self.talknet_audio_filters = list(talknet_audio_filters or [16, 32, 64, 128])
        self.talknet_audio_layers = list(talknet_audio_layers or [3, 4, 6, 3])
        self.talknet_heads = talknet_heads
        self.head_dropout = head_dropout
        self.class_weights = list(class_weights) if class_weights is not None else defaults.get("class_weights")
        self.aux_loss_weight = aux_loss_weight
        self.sample_rate = sample_rate
        self.initializer_range = initializer_range
        if self.ego4d_task in ("ar", "lta") and self.num_frames % slowfast_alpha:
            raise ValueError(f"num_frames={self.num_frames} must be a multiple of slowfast_alpha={slowfast_alpha}.")
        if tasks is None:
            tasks = ego4d_ts_tasks(self)
        super().__init__(tasks=tasks, **kwargs)


__all__ = ["EGO4D_TASKS", "Ego4DTSConfig", "ego4d_ts_tasks"]

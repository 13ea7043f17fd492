"""Configuration of ``mthub_tif``: TIF, task-interaction-free multi-scale multi-task dense prediction.

Every choice the paper leaves open is a field here, defaulting to the reading of ``shared/specs/tif.md`` §2 (the
one calibrated on the paper's parameter counts, §2.8). Task specs carry the paper's fixed loss weights (§3.4,
"follow [1]" = ATRC): semseg 1, depth 1, normals 10, edge 50, human_parts 2, sal 5.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...configuration_utils import MTHubConfig

__all__ = ["NYUD_SEMSEG_LABELS", "PASCAL_HUMAN_PARTS_LABELS", "PASCAL_SEMSEG_LABELS", "TIFConfig", "tif_tasks"]

#: The 40 NYUD-v2 classes of Gupta et al. (2013), in label order (0..39; void is 255 after the loaders' ``v - 1``).
NYUD_SEMSEG_LABELS = [
    "wall", "floor", "cabinet", "bed", "chair", "sofa", "table", "door", "window", "bookshelf",
    "picture", "counter", "blinds", "desk", "shelves", "curtain", "dresser", "pillow", "mirror", "floor mat",
    "clothes", "ceiling", "books", "refrigerator", "television", "paper", "towel", "shower curtain", "box",
    "whiteboard", "person", "night stand", "toilet", "sink", "lamp", "bathtub", "bag", "otherstructure",
    "otherfurniture", "otherprop",
]  # fmt: skip
#: PASCAL-Context multi-task semseg: the 21 PASCAL VOC classes (background first).
PASCAL_SEMSEG_LABELS = [
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
]  # fmt: skip
#: PASCAL-Context human parts (ASTMT grouping of PASCAL-Part): background + 6 parts.
PASCAL_HUMAN_PARTS_LABELS = ["background", "head", "torso", "upper_arms", "lower_arms", "upper_legs", "lower_legs"]

_IGNORE = 255  # ATRC's AddIgnoreRegions value for every task


def _task(name: str, dataset: str) -> dict[str, Any]:
    """One TIF task spec with the paper's loss and weight (spec §6)."""
    edge_pos_weight = 0.8 if dataset == "nyud" else 0.95  # ATRC: 0.8 NYUD, 0.95 PASCAL
    specs: dict[str, dict[str, Any]] = {
        "semseg": {
            "kind": "dense_classification",
            "labels": NYUD_SEMSEG_LABELS if dataset == "nyud" else PASCAL_SEMSEG_LABELS,
            "loss": "cross_entropy",
            "loss_weight": 1.0,
            "metric": "miou",
        },
        "human_parts": {
            "kind": "dense_classification",
            "labels": PASCAL_HUMAN_PARTS_LABELS,
            "loss": "cross_entropy",
            "loss_weight": 2.0,
            "metric": "miou",
        },
        "depth": {
            "kind": "dense_regression",
            "num_outputs": 1,
            "loss": "l1",
            "loss_weight": 1.0,
            "metric": "rmse",
            # depth 0 marks missing measurements; predictions are clamped at 0 at evaluation (DeMT).
            "extra": {"ignore_value": _IGNORE, "invalid_value": 0.0, "clamp_min": 0.0},
        },
        "normals": {
            "kind": "dense_regression",
            "num_outputs": 3,
            "loss": "l1",
            "loss_weight": 10.0,
            "metric": "mean_angle",
            # L1 on the L2-normalised prediction (ATRC); all-zero label vectors are invalid.
            "extra": {"ignore_value": _IGNORE, "normalize": True},
        },
        "edge": {
            "kind": "dense_classification",
            "num_outputs": 1,
            "loss": "balanced_bce",
            "loss_weight": 50.0,
            "metric": "odsF",
            # one logit per pixel (sigmoid), class-balanced BCE with ATRC's fixed positive weight
            "extra": {"binary": True, "pos_weight": edge_pos_weight},
        },
        "sal": {
            "kind": "dense_classification",
            "labels": ["background", "salient"],
            "loss": "cross_entropy",
            "loss_weight": 5.0,
            "metric": "maxF",
            # ATRC: 2-class CE with the positive class weighted by the batch's fraction of negatives
            "extra": {"balanced": True},
        },
    }
    if name not in specs:
        raise ValueError(f"TIF: unknown task {name!r}; known tasks: {sorted(specs)}.")
    return {"name": name, "ignore_index": _IGNORE, **specs[name]}


#: Tasks of each dataset, in head order (spec §5.1).
DATASET_TASKS = {
    "nyud": ("semseg", "depth", "normals", "edge"),
    "pascal": ("semseg", "human_parts", "sal", "normals", "edge"),
}


def tif_tasks(dataset: str = "nyud", tasks: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """TaskSpec dicts of ``dataset`` (``"nyud"`` or ``"pascal"``), optionally a subset ``tasks`` of them."""
    if dataset not in DATASET_TASKS:
        raise ValueError(f"TIF: unknown dataset {dataset!r}; expected one of {sorted(DATASET_TASKS)}.")
    names = DATASET_TASKS[dataset] if tasks is None else tuple(tasks)
    return [_task(name, dataset) for name in names]


_SCALES = (0, 1, 2, 3)


def _scales(name: str, value: Sequence[int], allowed: Sequence[int]) -> tuple[int, ...]:
    scales = tuple(sorted({int(s) for s in value}))
    if not set(scales) <= set(allowed):
        raise ValueError(f"TIFConfig.{name}={list(value)}: scales must be drawn from {list(allowed)}.")
    return scales


class TIFConfig(MTHubConfig):
    r"""Configuration of :class:`~mthub.models.tif.TIFModel` (paper §3, spec §2).

    Scale ``i`` has stride ``2^(i+2)``: scales 0, 1 are "high", 2, 3 "low". ``D`` = ``decoder_dim``.

    Args:
        backbone (`str`, *optional*, defaults to ``"swin-t"``): key of :data:`mthub.backbones.BACKBONES`
            (``hrnet18``, ``swin-t``/``-s``/``-b``/``-l``, ``swin-l-w12``, ``vit-b``, ``tiny-swin``).
        backbone_kwargs (`dict`, *optional*): extra timm keyword arguments (e.g. ``{"drop_path_rate": 0.2}``).
        vit_neck_channels (`list[int]`, *optional*): ViT backbones: channels of the reassembled 4-scale pyramid.
        image_size (`list[int]`, *optional*, defaults to ``[448, 576]``): ``[H, W]`` the backbone is built for
            (Swin windows) and the processor resizes to. Inputs of any size work: they are padded inside the model
            to a multiple of 32 (NYUD 425×560 → 448×576) and the outputs cropped back.
        num_channels (`int`, *optional*, defaults to 3): input channels.
        decoder_dim (`int`, *optional*, defaults to 120): ``D``, the one decoder width (spec §2.8: HRNet18 64,
            Swin-T 120, Swin-B 128, Swin-L 148).
        use_saff (`bool`, *optional*, defaults to True): Scale Attentive-Feature Fusion (Eq. 2–5). Off (Table 6
            row 1, Table 9 "W/O SAFF"): ``X̂ⁱ = BN(Conv1×1(Xⁱ))``.
        saff_scales (`list[int]`, *optional*, defaults to ``[0, 1, 2, 3]``): target scales that get a SAFF
            (Table 9 "W/2 SAFF" = ``[2, 3]``); the others take the plain projection above.
        saff_resize (`str`, *optional*, defaults to ``"bilinear"``): ``P`` of Eq. 2 for sources coarser *and*
            finer than the target (``"bilinear"``, DeMT's convention), or ``"bilinear_avgpool"`` (bilinear up,
            adaptive average pooling down).
        sff_kernel_size (`int`, *optional*, defaults to 3): kernel of SFF's two convs (Eq. 3; unstated).
        task_proj_kernel_size (`int`, *optional*, defaults to 1): kernel of the per-task, per-scale
            Conv-BN-ReLU that makes ``X̂_tⁱ`` from ``X̂ⁱ`` (§3.3 "we abuse X̂_tⁱ"; undefined in the paper).
        use_sfd (`bool`, *optional*, defaults to True): Self-Feature Distillation (Eq. 6–10). Off: the low
            scales pass through.
        sfd_scales (`list[int]`, *optional*, defaults to ``[2, 3]``): Table 7 "W/1 SFD" = ``[3]``.
        sfd_kv_branches (`int`, *optional*): branches ``W_n`` summed into K = V (Eq. 6); ``None`` = number of
            tasks ``N`` (the paper's form, parameter parity with Table 8); ``1`` is the same function class.
        sfd_query_source (`str`, *optional*, defaults to ``"task"``): Eq. 7 writes ``X̂_0ⁱ``, read as a typo for
            the target task ``X̂_tⁱ`` (``"task"``); ``"shared"`` takes Q from the task-agnostic ``X̂ⁱ``.
        sfd_scale_logits (`bool`, *optional*, defaults to True): Eq. 8 ``A = QKᵀ/√D`` (the paper omits the
            transpose and the scale).
        distill_mode (`str`, *optional*, defaults to ``"self"``): ``"self"`` (SFD) or ``"cross"`` (Table 8's
            cross-task distillation: K and V from every task's tokens).
        cross_projection (`str`, *optional*, defaults to ``"shared"``): cross mode only. ``"shared"``: each task's
            tokens are projected once per scale into a key and a value shared by all target tasks (cross-task
            attention as in InvPT/DeMT; 16 fewer D×D layers than self-distillation on NYUD = Table 8's −0.22 M);
            ``"per_target"``: ``K = V = Σ_s LN(X̂_s) W_{t,s}`` with per-target weights (same parameters as self).
        use_lthd (`bool`, *optional*, defaults to True): Low-To-High scale Feature Diffusion (Eq. 11–13); needs
            SFD (it reuses SFD's affinities). Off: the high scales pass through.
        lthd_scales (`list[int]`, *optional*, defaults to ``[0, 1]``): high scales that get an LTHD.
        affinity_upsample (`str`, *optional*, defaults to ``"nearest"``): ``f_up`` of Eq. 11, applied to A³ over
            both its query and key spatial axes (``"nearest"`` = each fine position takes its parent cell's row /
            column; ``"bilinear"`` = separable bilinear over both axes).
        lthd_ffn_residual (`bool`, *optional*, defaults to False): Eq. 13 writes ``FFN(RX)`` without residual.
        ffn_ratio (`float`, *optional*, defaults to 4.0): hidden width / D of the SFD and LTHD FFNs (pre-LN, GELU).
        hidden_act (`str`, *optional*, defaults to ``"gelu"``): FFN activation.
        layer_norm_eps (`float`, *optional*, defaults to 1e-5): LayerNorm epsilon ("Flat" normalisation, FFNs).
        fuse_kernel_size (`int`, *optional*, defaults to 1): kernel of the LTHD FeatureFuse (Eq. 13) and the
            final FeatureFuse (Eq. 14).
        head_init_std (`float`, *optional*, defaults to 0.01): std of the normal init of the 1×1 task logits
            convs (ATRC ``init_weights``), bias 0.
        initializer_range (`float`, *optional*, defaults to 0.02): std of the truncated-normal init elsewhere.
        dataset (`str`, *optional*, defaults to ``"nyud"``): ``"nyud"`` or ``"pascal"``; picks the default tasks.
        task_subset (`list[str]`, *optional*): a subset of the dataset's tasks (default: all).
        training_defaults (`dict`, *optional*): the paper's schedule as ``TrainingArguments`` fields (§4.2:
            50k iterations, batch 8, weight decay 5e-4; lr per backbone; SGD momentum 0.9 + poly(0.9) from ATRC).
        tasks (`list`, *optional*): explicit task specs (override ``dataset`` / ``task_subset``).

    Example:

    ```python
    >>> import mthub
    >>> from transformers import AutoModel
    >>> model = AutoModel.from_config(mthub.preset_config("tif-tiny-test"))
    ```
    """

    model_type = "mthub_tif"

    def __init__(
        self,
        backbone: str = "swin-t",
        backbone_kwargs: dict[str, Any] | None = None,
        vit_neck_channels: Sequence[int] | None = None,
        image_size: Sequence[int] = (448, 576),
        num_channels: int = 3,
        decoder_dim: int = 120,
        use_saff: bool = True,
        saff_scales: Sequence[int] = (0, 1, 2, 3),
        saff_resize: str = "bilinear",
        sff_kernel_size: int = 3,
        task_proj_kernel_size: int = 1,
        use_sfd: bool = True,
        sfd_scales: Sequence[int] = (2, 3),
        sfd_kv_branches: int | None = None,
        sfd_query_source: str = "task",
        sfd_scale_logits: bool = True,
        distill_mode: str = "self",
        cross_projection: str = "shared",
        use_lthd: bool = True,
        lthd_scales: Sequence[int] = (0, 1),
        affinity_upsample: str = "nearest",
        lthd_ffn_residual: bool = False,
        ffn_ratio: float = 4.0,
        hidden_act: str = "gelu",
        layer_norm_eps: float = 1e-5,
        fuse_kernel_size: int = 1,
        head_init_std: float = 0.01,
        initializer_range: float = 0.02,
        dataset: str = "nyud",
        task_subset: Sequence[str] | None = None,
        training_defaults: dict[str, Any] | None = None,
        tasks: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.backbone = backbone
        self.backbone_kwargs = dict(backbone_kwargs or {})
        self.vit_neck_channels = None if vit_neck_channels is None else [int(c) for c in vit_neck_channels]
        self.image_size = [int(s) for s in image_size]
        if len(self.image_size) != 2:
            raise ValueError(f"TIFConfig.image_size must be [H, W], got {image_size}.")
        self.num_channels = num_channels
        self.decoder_dim = decoder_dim
        self.use_saff = use_saff
        self.saff_scales = list(_scales("saff_scales", saff_scales, _SCALES))
        self.saff_resize = _choice("saff_resize", saff_resize, ("bilinear", "bilinear_avgpool"))
        self.sff_kernel_size = sff_kernel_size
        self.task_proj_kernel_size = task_proj_kernel_size
        self.use_sfd = use_sfd
        self.sfd_scales = list(_scales("sfd_scales", sfd_scales, (2, 3)))
        self.sfd_kv_branches = sfd_kv_branches
        self.sfd_query_source = _choice("sfd_query_source", sfd_query_source, ("task", "shared"))
        self.sfd_scale_logits = sfd_scale_logits
        self.distill_mode = _choice("distill_mode", distill_mode, ("self", "cross"))
        self.cross_projection = _choice("cross_projection", cross_projection, ("shared", "per_target"))
        self.use_lthd = use_lthd
        self.lthd_scales = list(_scales("lthd_scales", lthd_scales, (0, 1)))
        self.affinity_upsample = _choice("affinity_upsample", affinity_upsample, ("nearest", "bilinear"))
        self.lthd_ffn_residual = lthd_ffn_residual
        self.ffn_ratio = ffn_ratio
        self.hidden_act = hidden_act
        self.layer_norm_eps = layer_norm_eps
        self.fuse_kernel_size = fuse_kernel_size
        self.head_init_std = head_init_std
        self.initializer_range = initializer_range
        self.dataset = dataset
        self.task_subset = None if task_subset is None else list(task_subset)
        if use_lthd and not (use_sfd and self.sfd_scales):
            raise ValueError(
                "TIFConfig: use_lthd=True needs SFD (LTHD diffuses SFD's low-scale affinities A² / A³, Eq. 11); "
                "set use_sfd=True or use_lthd=False."
            )
        if sfd_kv_branches is not None and sfd_kv_branches < 1:
            raise ValueError(
                f"TIFConfig.sfd_kv_branches must be ≥ 1 or None (= number of tasks), got {sfd_kv_branches}."
            )
        self.training_defaults = dict(training_defaults or _default_training(backbone, dataset))
        if tasks is None:
            tasks = tif_tasks(dataset, task_subset)
        super().__init__(tasks=tasks, **kwargs)

    def training_arguments(self, num_processes: int = 1) -> dict[str, Any]:
        """``training_defaults`` as keyword arguments of ``(MultiTask)TrainingArguments`` on ``num_processes`` devices
        (the total batch of 8 split evenly: ``per_device_train_batch_size = 8 / num_processes``).

        Example: ``MultiTaskTrainingArguments(output_dir="out", **config.training_arguments(num_processes=2))``.
        """
        kwargs = dict(self.training_defaults)
        total = int(kwargs.pop("train_batch_size", 8))
        if num_processes < 1 or total % num_processes:
            raise ValueError(f"TIF: the batch of {total} cannot be split evenly over {num_processes} processes.")
        kwargs["per_device_train_batch_size"] = total // num_processes
        return kwargs

    @property
    def num_kv_branches(self) -> int:
        """``N`` of Eq. 6: ``sfd_kv_branches`` or the number of tasks."""
        return self.sfd_kv_branches or len(self.tasks)


def _choice(name: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"TIFConfig.{name}={value!r}; expected one of {list(allowed)}.")
    return value


def _default_training(backbone: str, dataset: str) -> dict[str, Any]:
    """The paper's schedule (§4.2) as ``TrainingArguments`` fields; lr by backbone/dataset (spec §6)."""
    if dataset == "pascal":
        lr = 1e-4  # paper: "0.0001 for PASCAL-Context" (DeMT's Swin configs use 1e-3; the paper rules)
    else:
        lr = 0.01 if backbone.startswith("hrnet") else 0.001
    return {
        "max_steps": 50_000,
        "train_batch_size": 8,  # total over devices
        "learning_rate": lr,
        "weight_decay": 5e-4,
        "optim": "sgd",  # not stated; ATRC/DeMT: SGD momentum 0.9, poly(0.9) per iteration
        "optim_args": "momentum=0.9",
        "lr_scheduler_type": "polynomial",
        "lr_scheduler_kwargs": {"power": 0.9, "lr_end": 0.0},
    }

"""``mthub_tif``: TIF — Task-Interaction-Free multi-task dense prediction (paper §3, Fig. 2; spec §2).

Data flow (``B`` batch, ``D`` decoder width, scale ``i`` at stride ``2^(i+2)``, ``N`` tasks)::

    pixel_values (B, 3, H, W) ──pad to a multiple of 32──► backbone (timm features_only)
        → X⁰..X³ (B, Cⁱ, H/2^(i+2), W/2^(i+2))                                     Eq. 1
        → SAFF per scale (or BN(Conv1×1) without SAFF) → X̂⁰..X̂³ (B, D, hᵢ, wᵢ)      Eq. 2–5, task-agnostic
    per task t:
        → Conv-BN-ReLU per scale → X̂_tⁱ                                            §3.3 "we abuse X̂_tⁱ"
        → SFD on scales 2, 3 → RX_t², RX_t³ and affinities A_t², A_t³ (B, Lᵢ, Lᵢ)  Eq. 6–10
        → A_t⁰ = f_up(A_t³) + A_t²; LTHD on scales 0, 1 → RX_t⁰, RX_t¹            Eq. 11–13
        → FeatureFuse(RX_t⁰..RX_t³) → FX_t (B, D, H/4, W/4)                         Eq. 14
        → Conv1×1 logits, bilinear ×4, crop the padding → (B, C_t, H, W)

No module mixes features of different tasks (except the Table 8 ablation ``distill_mode="cross"``).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ...backbones import TimmMultiScaleEncoder
from ...configuration_utils import TaskSpec
from ...losses import balanced_bce_with_logits, masked_cross_entropy, masked_l1
from ...modeling_utils import MTHubPreTrainedModel, MultiTaskOutput
from .configuration_tif import TIFConfig
from .modules_tif import (
    ConvBNAct,
    CrossTaskMemory,
    FeatureFuse,
    LowToHighDiffusion,
    ScaleAttentiveFeatureFusion,
    SelfFeatureDistillation,
    upsample_affinity,
)

__all__ = ["TIFEncoder", "TIFModel", "TIFPreTrainedModel", "TIFTaskDecoder"]

NUM_SCALES = 4


class TIFEncoder(nn.Module):
    """The task-sharing encoder (Fig. 2 left): backbone + one SAFF per target scale.

    Scales without SAFF (``use_saff=False``, or not in ``saff_scales``) take ``X̂ⁱ = BN(Conv1×1(Xⁱ))`` (Cⁱ → D).

    Shapes: ``pixel_values (B, 3, H, W)`` (H, W multiples of 32) → 4 × ``(B, D, H/2^(i+2), W/2^(i+2))``.
    """

    def __init__(self, config: TIFConfig) -> None:
        super().__init__()
        self.backbone = TimmMultiScaleEncoder(
            config.backbone, config.image_size, config.backbone_kwargs, config.vit_neck_channels
        )
        channels = self.backbone.channels
        saff_scales = set(config.saff_scales) if config.use_saff else set()
        self.scales = nn.ModuleList(
            ScaleAttentiveFeatureFusion(channels, i, config.decoder_dim, config.sff_kernel_size, config.saff_resize)
            if i in saff_scales
            else ConvBNAct(channels[i], config.decoder_dim, 1, act=False)
            for i in range(NUM_SCALES)
        )

    def forward(self, pixel_values: torch.Tensor) -> list[torch.Tensor]:
        features = self.backbone(pixel_values)
        return [
            module(features) if isinstance(module, ScaleAttentiveFeatureFusion) else module(features[i])
            for i, module in enumerate(self.scales)
        ]


class TIFTaskDecoder(nn.Module):
    """Decoder of one task: per-scale projection, SFD (low scales), LTHD (high scales), FeatureFuse and head.

    Module names follow the paper: ``project[i]`` makes ``X̂_tⁱ``; ``sfd["2"]``, ``sfd["3"]``; ``lthd["0"]``,
    ``lthd["1"]``; ``fuse`` (Eq. 14); ``head`` (Conv1×1 D → C_t).
    """

    def __init__(self, config: TIFConfig, num_outputs: int) -> None:
        super().__init__()
        dim = config.decoder_dim
        self.project = nn.ModuleList(ConvBNAct(dim, dim, config.task_proj_kernel_size) for _ in range(NUM_SCALES))
        if config.distill_mode == "cross" and config.cross_projection == "shared":
            kv_branches = 0  # K/V come from the shared CrossTaskMemory
        elif config.distill_mode == "cross":
            kv_branches = len(config.tasks)  # one weight per source task
        else:
            kv_branches = config.num_kv_branches
        sfd_scales = config.sfd_scales if config.use_sfd else []
        self.sfd = nn.ModuleDict(
            {
                str(i): SelfFeatureDistillation(
                    dim,
                    kv_branches,
                    config.ffn_ratio,
                    config.hidden_act,
                    config.layer_norm_eps,
                    config.sfd_scale_logits,
                )
                for i in sfd_scales
            }
        )
        lthd_scales = config.lthd_scales if config.use_lthd else []
        self.lthd = nn.ModuleDict(
            {
                str(k): LowToHighDiffusion(
                    dim,
                    config.ffn_ratio,
                    config.hidden_act,
                    config.layer_norm_eps,
                    config.fuse_kernel_size,
                    config.lthd_ffn_residual,
                )
                for k in lthd_scales
            }
        )
        self.fuse = FeatureFuse(dim, NUM_SCALES, config.fuse_kernel_size)
        self.head = nn.Conv2d(dim, num_outputs, kernel_size=1)


def _tokens(x: torch.Tensor) -> torch.Tensor:
    """``(B, D, h, w) → (B, h·w, D)``."""
    return x.flatten(2).transpose(1, 2)


def _pad_to_multiple(pixel_values: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad bottom/right so H and W are multiples of ``multiple`` (0 = the mean colour after normalisation,
    ATRC's ``PadImage`` fill)."""
    height, width = pixel_values.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h or pad_w:
        pixel_values = F.pad(pixel_values, (0, pad_w, 0, pad_h))
    return pixel_values


class TIFPreTrainedModel(MTHubPreTrainedModel):
    config_class = TIFConfig
    base_model_prefix = "tif"
    main_input_name = "pixel_values"
    input_modalities = ("image",)
    _no_split_modules = ["TIFTaskDecoder", "TIFEncoder"]

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        # timm keeps derived tables in non-persistent buffers (Swin's relative-position index and shifted-window
        # masks): they are not in checkpoints, so they must be rebuilt when transformers materialises the model.
        if hasattr(module, "init_non_persistent_buffers") and type(module).__module__.startswith("timm."):
            module.init_non_persistent_buffers()
        if isinstance(module, TIFTaskDecoder):  # ATRC init of the logits convs: N(0, 0.01), bias 0
            nn.init.normal_(module.head.weight, std=self.config.head_init_std)
            nn.init.zeros_(module.head.bias)


class TIFModel(TIFPreTrainedModel):
    """TIF (see the module docstring): ``forward(pixel_values) → MultiTaskOutput(logits={task: (B, C_t, H, W)})``."""

    def __init__(self, config: TIFConfig) -> None:
        super().__init__(config)
        self.encoder = TIFEncoder(config)
        self.decoders = nn.ModuleDict(
            {spec.name: TIFTaskDecoder(config, spec.num_outputs) for spec in config.task_specs}
        )
        cross_shared = config.use_sfd and config.distill_mode == "cross" and config.cross_projection == "shared"
        self.cross_memory = nn.ModuleDict(
            {
                str(i): CrossTaskMemory(len(config.tasks), config.decoder_dim, config.layer_norm_eps)
                for i in config.sfd_scales
            }
            if cross_shared
            else {}
        )
        self.gradient_checkpointing = False
        self.post_init()

    def _set_gradient_checkpointing(self, enable: bool = True, *args, **kwargs) -> None:
        # The backbone is the memory-heavy part; timm models checkpoint their own stages.
        self.gradient_checkpointing = enable
        backbone = self.encoder.backbone.model
        if hasattr(backbone, "set_grad_checkpointing"):
            backbone.set_grad_checkpointing(enable)

    # ----- decoder stages --------------------------------------------------------------------------------------
    def _distill(
        self, shared: list[torch.Tensor], task_features: dict[str, list[torch.Tensor]]
    ) -> tuple[dict[str, list[torch.Tensor]], dict[str, dict[int, torch.Tensor]]]:
        """SFD on the low scales of every task (Eq. 6–10). Returns refined maps and pre-softmax affinities."""
        config = self.config
        need_affinity = config.use_lthd
        refined = {task: list(maps) for task, maps in task_features.items()}
        affinities: dict[str, dict[int, torch.Tensor]] = {task: {} for task in task_features}
        if not config.use_sfd:
            return refined, affinities
        names = list(task_features)
        for i in config.sfd_scales:
            batch, dim, height, width = shared[i].shape
            tokens = {task: _tokens(task_features[task][i]) for task in names}
            query_source = _tokens(shared[i]) if config.sfd_query_source == "shared" else None
            shared_kv = self.cross_memory[str(i)]([tokens[t] for t in names]) if str(i) in self.cross_memory else None
            per_target_sources = (
                [tokens[t] for t in names] if config.distill_mode == "cross" and shared_kv is None else None
            )
            for task in names:
                out, affinity = self.decoders[task].sfd[str(i)](
                    tokens[task],
                    query_tokens=query_source,
                    sources=per_target_sources,
                    key_value=shared_kv,
                    return_affinity=need_affinity,
                )
                refined[task][i] = out.transpose(1, 2).reshape(batch, dim, height, width)
                if affinity is not None:
                    affinities[task][i] = affinity
        return refined, affinities

    def _diffuse(self, task: str, maps: list[torch.Tensor], affinities: dict[int, torch.Tensor]) -> list[torch.Tensor]:
        """LTHD (Eq. 11–13): ``A⁰ = f_up(A³) + A²`` on the scale-2 grid, diffused to scales 0 and 1."""
        config = self.config
        if not config.use_lthd:
            return maps
        grid = (maps[2].shape[-2], maps[2].shape[-1])
        combined = None
        for i in sorted(affinities):  # scale 2 (as is) and/or scale 3 (upsampled over both axes)
            src = (maps[i].shape[-2], maps[i].shape[-1])
            term = upsample_affinity(affinities[i], src, grid, config.affinity_upsample)
            combined = term if combined is None else combined + term
        # One softmax, shared by both high scales ("approximate attention map" of scale 0).
        attention = torch.softmax(combined.float(), dim=-1)
        maps = list(maps)
        for k, module in self.decoders[task].lthd.items():
            maps[int(k)] = module(maps[int(k)], attention, grid)
        return maps

    # ----- forward ---------------------------------------------------------------------------------------------
    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: Mapping[str, torch.Tensor | None] | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> MultiTaskOutput:
        r"""
        Args:
            pixel_values: ``(B, 3, H, W)`` normalised images, any H and W (padded here to a multiple of 32, outputs
                cropped back).
            labels: ``{task: labels}``; a task may be missing or ``None``. Shapes: semseg / human_parts / sal
                ``(B, H, W)`` long, 255 = ignore; depth ``(B, H, W)`` or ``(B, 1, H, W)`` metres (0 or 255 =
                invalid); normals ``(B, 3, H, W)`` (all-zero or 255 = invalid); edge ``(B, H, W)`` or
                ``(B, 1, H, W)`` in {0, 1}, 255 = ignore.
            output_hidden_states: also return the task-agnostic ``X̂⁰..X̂³`` as ``hidden_states``.

        Returns:
            :class:`~mthub.MultiTaskOutput` with ``logits = {task: (B, C_t, H, W)}`` (raw: class scores, depth,
            unnormalised normals, edge logit), ``loss`` (weighted by each TaskSpec's ``loss_weight``) and ``losses``.
        """
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        height, width = pixel_values.shape[-2:]
        padded = _pad_to_multiple(pixel_values, self.encoder.backbone.size_divisor)
        shared = self.encoder(padded)
        task_features = {
            task: [project(x) for project, x in zip(decoder.project, shared)] for task, decoder in self.decoders.items()
        }
        refined, affinities = self._distill(shared, task_features)
        logits = {}
        for task, decoder in self.decoders.items():
            maps = self._diffuse(task, refined[task], affinities[task])
            out = decoder.head(decoder.fuse(maps))
            out = F.interpolate(out, size=padded.shape[-2:], mode="bilinear", align_corners=False)
            logits[task] = out[..., :height, :width].contiguous()  # crop the padding
        loss, losses = self.compute_losses(logits, labels)
        return MultiTaskOutput(
            loss=loss,
            losses=losses,
            logits=logits,
            last_hidden_state=shared[-1],
            hidden_states=tuple(shared) if output_hidden_states else None,
        )

    # ----- losses ----------------------------------------------------------------------------------------------
    def task_loss(self, spec: TaskSpec, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The paper's per-task losses (§3.4, "follow [1]" = ATRC; spec §6), weighted by ``spec.loss_weight``
        in :meth:`compute_losses`.

        * semseg / human_parts: cross-entropy, ignore 255; sal (``extra.balanced``): 2-class CE with the positive
          class weighted by the batch's fraction of negatives and the negative class by the rest.
        * depth: L1 over valid pixels (label ≠ 255 and ≠ ``extra.invalid_value`` = 0).
        * normals (``extra.normalize``): L1 between the L2-normalised prediction and the label over valid pixels
          (label ≠ 255 and not all-zero).
        * edge: class-balanced BCE with ATRC's fixed positive weight (``extra.pos_weight``), ignore 255.
        """
        extra = spec.extra
        if spec.loss == "cross_entropy":
            labels = labels.long()
            if labels.dim() == logits.dim():  # (B, 1, H, W) label maps
                labels = labels[:, 0]
            weight = None
            if extra.get("balanced"):
                valid = labels != spec.ignore_index
                negatives = ((labels == 0) & valid).sum().float() / valid.sum().clamp(min=1).float()
                weight = torch.stack([1.0 - negatives, negatives]).to(logits.dtype)
            return masked_cross_entropy(logits, labels, ignore_index=spec.ignore_index, weight=weight)
        if labels.dim() == logits.dim() - 1:  # (B, H, W) → (B, 1, H, W)
            labels = labels.unsqueeze(1)
        if labels.shape[1] != logits.shape[1] and labels.shape[-1] == logits.shape[1]:
            raise ValueError(
                f"Task {spec.name!r}: labels {tuple(labels.shape)} look channels-last; expected (B, {logits.shape[1]}, H, W)."
            )
        ignore = extra.get("ignore_value", spec.ignore_index)
        if spec.loss == "balanced_bce":
            return balanced_bce_with_logits(
                logits, labels.to(logits.dtype), ignore_value=ignore, pos_weight=extra.get("pos_weight")
            )
        if spec.loss == "l1":
            labels = labels.to(logits.dtype)
            # A pixel is missing when every channel holds the ignore value (AddIgnoreRegions); the same rules as
            # mthub.losses.default_loss_elements, which the Trainer uses to normalise split batches.
            valid = (labels != ignore).any(dim=1, keepdim=True) & torch.isfinite(labels).all(dim=1, keepdim=True)
            if "invalid_value" in extra:
                valid &= (labels != extra["invalid_value"]).all(dim=1, keepdim=True)
            predictions = logits
            if extra.get("normalize"):
                valid &= labels.abs().sum(dim=1, keepdim=True) > 0
                predictions = F.normalize(logits.float(), dim=1)
            return masked_l1(predictions, torch.where(valid, labels, torch.zeros_like(labels)), valid_mask=valid)
        return super().task_loss(spec, logits, labels)

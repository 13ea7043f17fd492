"""``mthub_ego4d_ts``: the Ego4D task-specific baselines of EgoT2 stage I as one registered family.

:class:`Ego4DTSModel` wraps the network of :mod:`mthub.backbones.ego4d` that ``config.ego4d_task`` names under the
attribute ``net`` and adds labels → losses (spec §6) and the EgoT2 token interface.

Inputs (``B`` batch; the processors of :mod:`.processing_ego4d_ts` produce them):

=====  ===============================================================  ============================================
Task   Inputs                                                           ``logits``
=====  ===============================================================  ============================================
PNR    ``pixel_values (B, 16, 3, 225, 225)`` raw 0–255                  ``pnr (B, 16)`` keyframe logit per frame
OSCC   same                                                             ``oscc (B, 2)``
AR     ``pixel_values (B, 32, 3, 224, 224)`` normalised (fast frames;  ``action_verb (B, 115)``,
       the 8 slow frames are ``linspace(0, 31, 8).long()``)             ``action_noun (B, 478)``
LTA    ``pixel_values (B, N_in, 32, 3, 224, 224)``                      ``lta_verb (B, Z, 115)``, ``lta_noun (B, Z, 478)``
LAM    ``pixel_values (B, 7, 3, 224, 224)`` ImageNet-normalised faces   ``lam (B, 2)`` (middle frame)
TTM    same with ``T`` frames + ``input_values (B, N)`` 16 kHz audio    ``ttm (B, 2)``
ASD    ``pixel_values (B, T, 112, 112)`` gray 0–255 faces +             ``asd (B, T, 2)``
       ``input_features (B, 4T, 13)`` MFCC
=====  ===============================================================  ============================================

Labels (``labels={task: tensor}``): PNR ``(B,)`` keyframe index (``-100`` for clips without a state change) or
a ``(B, 16)`` one-hot; OSCC/LAM/TTM ``(B,)``; AR ``(B,)`` per task; LTA ``(B, Z)``; ASD ``(B, T)`` (``-100``
pads). Losses [C]: PNR sigmoid + BCE over the 16 frames of state-change clips; OSCC / AR / LAM cross-entropy;
TTM cross-entropy with class weights ``[0.266, 0.734]``; LTA ``Σ_z CE(verb_z)`` and ``Σ_z CE(noun_z)``; ASD
frame cross-entropy with weights ``[1, 4]`` plus ``0.4·(L_audio + L_visual)`` from TalkNet's auxiliary heads.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ...backbones.ego4d import (
    GlobalLayerNorm,
    I3DClipNet,
    LookingAtMeNet,
    SlowFastForecastingNet,
    SlowFastRecognitionNet,
    TalkingToMeNet,
    TalkNet,
)
from ...losses import masked_cross_entropy
from ...modeling_utils import MTHubPreTrainedModel, MultiTaskOutput
from .configuration_ego4d_ts import Ego4DTSConfig

__all__ = ["Ego4DTSModel", "Ego4DTSOutput", "Ego4DTSPreTrainedModel", "build_ego4d_ts_net", "slow_pathway_indices"]


@dataclass
class Ego4DTSOutput(MultiTaskOutput):
    """:class:`~mthub.MultiTaskOutput` plus ``auxiliary_logits``: TalkNet's audio-only and visual-only frame logits
    ``{"asd_audio": (B, T, 2), "asd_visual": (B, T, 2)}`` (ASD only; they feed the training loss)."""

    auxiliary_logits: dict[str, torch.Tensor] | None = None


def slow_pathway_indices(num_frames: int, alpha: int) -> torch.Tensor:
    """Frames of the slow pathway among ``num_frames`` fast frames: ``linspace(0, T−1, T/α)`` truncated, as
    PyTorchVideo's ``UniformTemporalSubsample`` (32, α 4 → ``[0, 4, 8, 13, 17, 22, 26, 31]``)."""
    # Explicit CPU device: this also runs inside ``torch.device("meta")`` contexts (meta-device construction).
    return torch.linspace(0, num_frames - 1, num_frames // alpha, device="cpu").long()


def build_ego4d_ts_net(config: Ego4DTSConfig) -> nn.Module:
    """The :mod:`mthub.backbones.ego4d` network of ``config.ego4d_task``, sized by the config."""
    task = config.ego4d_task
    slowfast = {
        "depth_blocks": config.resnet_depth,
        "width": config.resnet_width,
        "alpha": config.slowfast_alpha,
        "beta_inv": config.slowfast_beta_inv,
        "fusion_channel_ratio": config.slowfast_fusion_ratio,
        "fusion_kernel": config.slowfast_fusion_kernel,
    }
    if task in ("pnr", "oscc"):
        return I3DClipNet(
            num_outputs=1 if task == "pnr" else 2,
            num_frames=config.num_frames,
            image_size=config.image_size,
            temporal_pool=1 if task == "pnr" else config.num_frames,
            depth_blocks=config.resnet_depth,
            width=config.resnet_width,
            temporal_kernels=config.temporal_kernels,
            dropout=config.head_dropout,
        )
    if task == "ar":
        return SlowFastRecognitionNet(
            (config.num_verbs, config.num_nouns), config.num_frames, config.image_size, config.head_dropout, **slowfast
        )
    if task == "lta":
        return SlowFastForecastingNet(
            (config.num_verbs, config.num_nouns),
            num_future=config.num_future,
            feature_dim=config.lta_feature_dim,
            num_frames=config.num_frames,
            crop_size=config.image_size,
            aggregator_layers=config.aggregator_layers,
            aggregator_heads=config.aggregator_heads,
            aggregator_ffn_dim=config.aggregator_ffn_dim,
            dropout=config.head_dropout,
            freeze_backbone=config.freeze_backbone,
            **slowfast,
        )
    social = {
        "feature_dim": config.frame_feature_dim,
        "hidden_dim": config.frame_hidden_dim,
        "layers": config.frame_resnet_layers,
        "lstm_layers": config.lstm_layers,
        "head_dim": config.head_dim,
    }
    if task == "lam":
        return LookingAtMeNet(**social)
    if task == "ttm":
        return TalkingToMeNet(
            **social,
            audio_filters=config.audio_filters,
            audio_layers=config.audio_layers,
            n_mels=config.n_mels,
            audio_dim=config.audio_dim,
            audio_attention_dim=config.audio_attention_dim,
        )
    return TalkNet(
        config.visual_channels,
        config.tcn_blocks,
        config.visual_hidden,
        config.talknet_audio_filters,
        config.talknet_audio_layers,
        config.talknet_heads,
    )


class Ego4DTSPreTrainedModel(MTHubPreTrainedModel):
    config_class = Ego4DTSConfig
    base_model_prefix = "ego4d_ts"
    main_input_name = "pixel_values"
    input_modalities = ("video", "audio")
    supports_gradient_checkpointing = False
    _no_split_modules = ["ResBlock3d", "BasicBlock", "SEBasicBlock", "ResNetLayer", "TransformerEncoderLayer"]

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, nn.LSTM):
            module.reset_parameters()
        elif isinstance(module, nn.MultiheadAttention):
            module._reset_parameters()
        elif isinstance(module, nn.PReLU):
            nn.init.constant_(module.weight, 0.25)
        elif isinstance(module, GlobalLayerNorm):
            module.reset_parameters()


class Ego4DTSModel(Ego4DTSPreTrainedModel):
    """One Ego4D TS baseline (network ``net``) with its task head(s) and losses; see the module docstring for the
    inputs, logits and losses of each ``config.ego4d_task``."""

    def __init__(self, config: Ego4DTSConfig) -> None:
        super().__init__(config)
        self.net = build_ego4d_ts_net(config)
        if config.ego4d_task in ("ar", "lta"):
            # Not a persistent buffer: a constant of the config, rebuilt after any (meta-device) load.
            self._slow_index = slow_pathway_indices(config.num_frames, config.slowfast_alpha).tolist()
        self.post_init()  # (the LTA SlowFast body was frozen by the network itself: config.freeze_backbone)

    # ----- inputs ---------------------------------------------------------------------------------------------
    def _check(self, tensor: torch.Tensor | None, name: str, ndim: int, shape: str) -> torch.Tensor:
        if tensor is None:
            raise ValueError(f"Ego4D {self.config.ego4d_task.upper()} model needs `{name}` of shape {shape}.")
        if tensor.ndim != ndim:
            raise ValueError(
                f"Ego4D {self.config.ego4d_task.upper()} model: `{name}` must have shape {shape}, got {tuple(tensor.shape)}."
            )
        return tensor

    def _faces(self, pixel_values: torch.Tensor | None) -> torch.Tensor:
        """ASD faces ``(B, T, H, W)``; a ``(B, T, 1, H, W)`` single-channel video is squeezed."""
        if pixel_values is not None and pixel_values.ndim == 5 and pixel_values.shape[2] == 1:
            pixel_values = pixel_values[:, :, 0]
        return self._check(pixel_values, "pixel_values", 4, "(B, T, H, W) or (B, T, 1, H, W) grayscale faces")

    def _pathways(self, frames: torch.Tensor) -> list[torch.Tensor]:
        """``(..., T, 3, H, W)`` fast frames → ``[slow (..., 3, T/α, H, W), fast (..., 3, T, H, W)]``."""
        fast = frames.transpose(-4, -3)
        slow = fast[..., self._slow_index, :, :]
        return [slow, fast]

    def _run(self, pixel_values, input_values, input_features):
        """Network outputs: ``(logits dict, auxiliary logits dict | None)``."""
        task = self.config.ego4d_task
        if task in ("pnr", "oscc"):
            x = self._check(pixel_values, "pixel_values", 5, "(B, T, 3, H, W)").transpose(1, 2)
            out = self.net(x)  # (B, T', K)
            return ({"pnr": out[..., 0]} if task == "pnr" else {"oscc": out[:, 0]}), None
        if task == "ar":
            pathways = self._pathways(self._check(pixel_values, "pixel_values", 5, "(B, T, 3, H, W)"))
            verb, noun = self.net(pathways)
            return {"action_verb": verb, "action_noun": noun}, None
        if task == "lta":
            pathways = self._pathways(self._check(pixel_values, "pixel_values", 6, "(B, N_in, T, 3, H, W)"))
            verb, noun = self.net(pathways)
            return {"lta_verb": verb, "lta_noun": noun}, None
        if task == "lam":
            return {"lam": self.net(self._check(pixel_values, "pixel_values", 5, "(B, T, 3, H, W)"))}, None
        if task == "ttm":
            frames = self._check(pixel_values, "pixel_values", 5, "(B, T, 3, H, W)")
            wav = self._check(input_values, "input_values", 2, "(B, N) 16 kHz waveform")
            return {"ttm": self.net(frames, wav)}, None
        faces = self._faces(pixel_values)
        mfcc = self._check(input_features, "input_features", 3, "(B, 4T, 13) MFCC")
        out = self.net(faces, mfcc)
        return {"asd": out["av"]}, {"asd_audio": out["audio"], "asd_visual": out["visual"]}

    def forward(
        self,
        pixel_values: torch.Tensor | None = None,
        input_values: torch.Tensor | None = None,
        input_features: torch.Tensor | None = None,
        labels: dict[str, torch.Tensor | None] | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> Ego4DTSOutput:
        r"""
        Args:
            pixel_values: frames (shapes per task in the module docstring).
            input_values: ``(B, N)`` 16 kHz mono waveform (TTM).
            input_features: ``(B, 4T, 13)`` MFCC (ASD).
            labels: ``{task name: labels}``; a missing task or ``None`` contributes no loss.
        """
        logits, auxiliary = self._run(pixel_values, input_values, input_features)
        loss, losses = self.compute_losses(logits, labels)
        if auxiliary is not None and labels and labels.get("asd") is not None:
            spec = self.config.task("asd")
            target = labels["asd"]
            aux = sum(masked_cross_entropy(value.flatten(0, 1), target.flatten(), spec.ignore_index) for value in auxiliary.values())
            aux = spec.extra.get("aux_loss_weight", 0.4) * aux
            losses["asd"] = losses["asd"] + aux
            loss = loss + spec.loss_weight * aux
        return Ego4DTSOutput(loss=loss, losses=losses, logits=logits, auxiliary_logits=auxiliary)

    def task_loss(self, spec, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        weight = spec.extra.get("class_weights")
        weight = None if weight is None else torch.tensor(weight, device=logits.device, dtype=torch.float32)
        if spec.name == "pnr":
            return keyframe_bce_loss(logits, labels, spec.ignore_index)
        if spec.kind == "anticipation":  # Σ_z CE(logits_z, labels_z), as the official LTA loss
            if labels.shape != logits.shape[:2]:
                raise ValueError(f"{spec.name}: labels must have shape (B, Z)={tuple(logits.shape[:2])}, got {tuple(labels.shape)}.")
            return sum(
                masked_cross_entropy(logits[:, z], labels[:, z], spec.ignore_index) for z in range(logits.shape[1])
            )
        if spec.extra.get("per_frame"):  # ASD: (B, T, 2) vs (B, T)
            return masked_cross_entropy(logits.flatten(0, 1), labels.flatten(), spec.ignore_index, weight=weight)
        return masked_cross_entropy(logits, labels, spec.ignore_index, weight=weight)

    # ----- EgoT2 interface ---------------------------------------------------------------------------------------
    @torch.no_grad()
    def task_tokens(
        self,
        pixel_values: torch.Tensor | None = None,
        input_values: torch.Tensor | None = None,
        input_features: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """The temporal features EgoT2 translates (spec §2.1), without gradients: PNR/OSCC ``(B, 16, 8192)``;
        AR ``(slow (B, 8, 2048), fast (B, 8, 256))``; LTA ``(B, N_in, 2048)``; LAM/TTM ``(B, T, 256)`` (video
        branch); ASD ``(B, T, 256)``."""
        task = self.config.ego4d_task
        if task in ("pnr", "oscc"):
            return self.net.tokens(self._check(pixel_values, "pixel_values", 5, "(B, T, 3, H, W)").transpose(1, 2))
        if task in ("ar", "lta"):
            ndim = 5 if task == "ar" else 6
            return self.net.tokens(self._pathways(self._check(pixel_values, "pixel_values", ndim, "(..., T, 3, H, W)")))
        if task in ("lam", "ttm"):
            return self.net.tokens(self._check(pixel_values, "pixel_values", 5, "(B, T, 3, H, W)"))
        mfcc = self._check(input_features, "input_features", 3, "(B, 4T, 13) MFCC")
        return self.net.tokens(self._faces(pixel_values), mfcc)


def keyframe_bce_loss(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """PNR loss [C]: sigmoid + binary cross-entropy against the one-hot keyframe target, averaged over the
    frames of the clips that have a state change (``BCELoss(sigmoid(x), y)``, computed from logits for
    stability).

    Args:
        logits: ``(B, T)``.
        labels: ``(B,)`` keyframe index (``ignore_index`` for clips without a PNR) or ``(B, T)`` one-hot.
    """
    if labels.ndim == 1:
        keep = labels != ignore_index
        target = F.one_hot(labels.clamp(min=0).long(), logits.shape[1]).to(logits.dtype)
    else:
        keep = (labels != ignore_index).all(dim=1)
        target = labels.to(logits.dtype)
    if not keep.any():
        return logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(logits[keep].float(), target[keep].float())

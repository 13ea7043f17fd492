"""``mthub_tiny_mt``: a tiny video transformer with a clip-classification head and a per-frame segmentation head.

Shapes (``B`` batch, ``T`` frames, ``p`` patch, ``t`` tubelet, ``C`` width, ``h = H/p``, ``w = W/p``, ``T' = T/t``):

* ``pixel_values (B, T, 3, H, W)`` → tubelet tokens ``(B, T'·h·w, C)`` → transformer → ``last_hidden_state``.
* ``action`` logits ``(B, num_action_labels)`` from the mean of the valid tokens.
* ``segmentation`` logits ``(B, T, num_segmentation_labels, H, W)``: each tubelet's token map is shared by its ``t``
  frames, refined by a 1×1 conv + BatchNorm, classified, and bilinearly upsampled.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers.modeling_outputs import ImageClassifierOutput

from ...layers import TransformerEncoderBlock, TubeletEmbedding
from ...modeling_utils import MTHubPreTrainedModel, MultiTaskOutput
from .configuration_tiny_mt import TinyMTConfig


class TinyMTPreTrainedModel(MTHubPreTrainedModel):
    config_class = TinyMTConfig
    base_model_prefix = "tiny_mt"
    main_input_name = "pixel_values"
    input_modalities = ("video",)
    _no_split_modules = ["TransformerEncoderBlock"]

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, TinyMTModel):
            nn.init.trunc_normal_(module.position_embeddings, std=self.config.initializer_range)


class TinyMTModel(TinyMTPreTrainedModel):
    """The complete multi-task model (encoder + both task heads); returns :class:`~mthub.MultiTaskOutput`."""

    def __init__(self, config: TinyMTConfig) -> None:
        super().__init__(config)
        grid = (config.num_frames // config.tubelet_size, config.image_size // config.patch_size, config.image_size // config.patch_size)
        self.embeddings = TubeletEmbedding(config.num_channels, config.hidden_size, config.patch_size, config.tubelet_size)
        self.position_embeddings = nn.Parameter(torch.zeros(1, grid[0] * grid[1] * grid[2], config.hidden_size))
        rates = [config.drop_path_rate * i / max(config.num_hidden_layers - 1, 1) for i in range(config.num_hidden_layers)]
        self.blocks = nn.ModuleList(
            TransformerEncoderBlock(config.hidden_size, config.num_attention_heads, mlp_ratio=config.mlp_ratio, drop_path=rate)
            for rate in rates
        )
        self.norm = nn.LayerNorm(config.hidden_size, eps=1e-6)
        self.action_head = nn.Linear(config.hidden_size, config.task("action").num_outputs)
        self.segmentation_neck = nn.Sequential(
            nn.Conv2d(config.hidden_size, config.hidden_size, kernel_size=1, bias=False),
            nn.BatchNorm2d(config.hidden_size),
            nn.ReLU(inplace=True),
        )
        self.segmentation_head = nn.Conv2d(config.hidden_size, config.task("segmentation").num_outputs, kernel_size=1)
        self.gradient_checkpointing = False
        self.post_init()

    def _token_mask(self, frame_mask: torch.Tensor | None, grid: tuple[int, int, int]) -> torch.Tensor | None:
        """``frame_mask (B, T)`` (True = real frame) → token keep-mask ``(B, T'·h·w)``: a tubelet is kept when any
        of its frames is real."""
        if frame_mask is None:
            return None
        batch = frame_mask.shape[0]
        tubelets = frame_mask.view(batch, grid[0], -1).any(-1)
        return tubelets[:, :, None].expand(batch, grid[0], grid[1] * grid[2]).reshape(batch, -1)

    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: dict[str, torch.Tensor | None] | None = None,
        frame_mask: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> MultiTaskOutput:
        r"""
        Args:
            pixel_values: ``(B, T, 3, H, W)`` normalised frames.
            labels: ``{"action": (B,) long, "segmentation": (B, T, H, W) long}``; a task may be missing or ``None``,
                and ``-100`` / ``255`` mark missing samples / pixels.
            frame_mask: ``(B, T)`` bool, ``False`` for padded frames (from :class:`~mthub.training.VideoCollator`).
        """
        output_hidden_states = output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        output_attentions = output_attentions if output_attentions is not None else self.config.output_attentions
        batch, frames, _, height, width = pixel_values.shape
        tokens, grid = self.embeddings(pixel_values)
        if tokens.shape[1] != self.position_embeddings.shape[1]:
            raise ValueError(
                f"pixel_values {tuple(pixel_values.shape)} give {tokens.shape[1]} tokens but the model was built for "
                f"{self.config.num_frames} frames of {self.config.image_size}² ({self.position_embeddings.shape[1]} tokens)."
            )
        hidden = tokens + self.position_embeddings.to(tokens.dtype)
        token_mask = self._token_mask(frame_mask, grid)
        attention_mask = None if token_mask is None else token_mask[:, None, :].expand(-1, hidden.shape[1], -1)
        all_hidden, all_attn = (), ()
        implementation = self.config._attn_implementation
        for block in self.blocks:
            if output_hidden_states:
                all_hidden += (hidden,)
            hidden, weights = block(hidden, attention_mask, implementation)
            if output_attentions:
                all_attn += (weights,)
        hidden = self.norm(hidden)
        if output_hidden_states:
            all_hidden += (hidden,)

        if token_mask is None:
            pooled = hidden.mean(dim=1)
        else:
            keep = token_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * keep).sum(1) / keep.sum(1).clamp(min=1)
        logits = {"action": self.action_head(pooled)}

        maps = hidden.view(batch, grid[0], grid[1], grid[2], -1).permute(0, 1, 4, 2, 3).flatten(0, 1)  # (B·T', C, h, w)
        maps = self.segmentation_head(self.segmentation_neck(maps))
        maps = F.interpolate(maps, size=(height, width), mode="bilinear", align_corners=False)
        maps = maps.view(batch, grid[0], 1, -1, height, width).expand(-1, -1, self.config.tubelet_size, -1, -1, -1)
        logits["segmentation"] = maps.reshape(batch, frames, -1, height, width)

        loss, losses = self.compute_losses(logits, labels)
        return MultiTaskOutput(
            loss=loss,
            losses=losses,
            logits=logits,
            last_hidden_state=hidden,
            hidden_states=all_hidden or None,
            attentions=all_attn or None,
        )

    def task_loss(self, spec, logits, labels):
        if spec.name == "segmentation":  # (B, T, K, H, W) vs (B, T, H, W): frames join the batch
            return super().task_loss(spec, logits.flatten(0, 1), labels.flatten(0, 1))
        return super().task_loss(spec, logits, labels)


class TinyMTForVideoClassification(TinyMTPreTrainedModel):
    """Single-task view for ``AutoModelForVideoClassification`` / the ``video-classification`` pipeline: the
    ``action`` head of :class:`TinyMTModel` (same weights, under the ``tiny_mt.`` prefix)."""

    def __init__(self, config: TinyMTConfig) -> None:
        super().__init__(config)
        self.tiny_mt = TinyMTModel(config)
        self.post_init()

    def forward(self, pixel_values: torch.Tensor, labels: torch.Tensor | None = None, **kwargs) -> ImageClassifierOutput:
        """``pixel_values (B, T, 3, H, W)``, ``labels (B,)`` → ``logits (B, num_action_labels)``."""
        outputs = self.tiny_mt(pixel_values, labels=None if labels is None else {"action": labels}, **kwargs)
        return ImageClassifierOutput(loss=outputs.loss, logits=outputs.logits["action"], hidden_states=outputs.hidden_states)


__all__ = ["TinyMTForVideoClassification", "TinyMTModel", "TinyMTPreTrainedModel"]

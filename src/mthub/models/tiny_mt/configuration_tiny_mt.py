"""Configuration of ``mthub_tiny_mt``, mthub's test model family."""

from __future__ import annotations

from typing import Any

from ...configuration_utils import MTHubConfig


class TinyMTConfig(MTHubConfig):
    r"""Configuration of :class:`TinyMTModel`: a small video transformer with one classification head and one dense
    (per-frame segmentation) head. It exists so that the Hub, training and serialisation tests cover a complete
    family with every moving part (tasks, processor, pipeline, buffers) in milliseconds.

    Args:
        num_frames (`int`, *optional*, defaults to 4): Frames per clip ``T``.
        image_size (`int`, *optional*, defaults to 32): Frame height and width.
        patch_size (`int`, *optional*, defaults to 8): Spatial patch size ``p``.
        tubelet_size (`int`, *optional*, defaults to 2): Temporal patch size ``t``.
        num_channels (`int`, *optional*, defaults to 3): Input channels.
        hidden_size (`int`, *optional*, defaults to 32): Token width.
        num_hidden_layers (`int`, *optional*, defaults to 2): Transformer blocks.
        num_attention_heads (`int`, *optional*, defaults to 4): Attention heads.
        mlp_ratio (`float`, *optional*, defaults to 2.0): MLP width / token width.
        drop_path_rate (`float`, *optional*, defaults to 0.0): Stochastic-depth rate of the last block (linear ramp).
        initializer_range (`float`, *optional*, defaults to 0.02): Std of the truncated-normal weight init.
        action_labels (`list[str]`, *optional*): Label names of the clip classification task ``action``.
        segmentation_labels (`list[str]`, *optional*): Label names of the per-frame segmentation task ``segmentation``.
        tasks (`list`, *optional*): Derived from the two label lists when omitted.

    Example:

    ```python
    >>> import mthub
    >>> from transformers import AutoModel
    >>> config = mthub.preset_config("tiny-mt")
    >>> model = AutoModel.from_config(config)
    ```
    """

    model_type = "mthub_tiny_mt"

    def __init__(
        self,
        num_frames: int = 4,
        image_size: int = 32,
        patch_size: int = 8,
        tubelet_size: int = 2,
        num_channels: int = 3,
        hidden_size: int = 32,
        num_hidden_layers: int = 2,
        num_attention_heads: int = 4,
        mlp_ratio: float = 2.0,
        drop_path_rate: float = 0.0,
        initializer_range: float = 0.02,
        action_labels: list[str] | None = None,
        segmentation_labels: list[str] | None = None,
        tasks: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.num_frames = num_frames
        self.image_size = image_size
        self.patch_size = patch_size
        self.tubelet_size = tubelet_size
        self.num_channels = num_channels
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.mlp_ratio = mlp_ratio
        self.drop_path_rate = drop_path_rate
        self.initializer_range = initializer_range
        self.action_labels = list(action_labels or ["push", "pull", "lift", "rotate", "still"])
        self.segmentation_labels = list(segmentation_labels or ["background", "object", "hand"])
        if tasks is None:
            tasks = [
                {"name": "action", "kind": "classification", "labels": self.action_labels, "loss": "cross_entropy", "metric": "accuracy"},
                {
                    "name": "segmentation",
                    "kind": "dense_classification",
                    "labels": self.segmentation_labels,
                    "loss": "cross_entropy",
                    "metric": "miou",
                    "ignore_index": 255,
                    "extra": {"per_frame": True},
                },
            ]
        super().__init__(tasks=tasks, **kwargs)


__all__ = ["TinyMTConfig"]

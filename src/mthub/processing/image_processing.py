"""Dense-prediction image processor: resize / normalise images and resize label maps with nearest neighbour.

Built on transformers' torchvision image-processing backend (the one ``SegformerImageProcessor`` uses). Label maps
of several tasks travel side by side as ``label_maps={task: maps}``; each is resized with nearest-neighbour
interpolation (``NEAREST_EXACT``), never rescaled or normalised, so class ids, depth values in metres and normal
vectors keep their values.

Output: ``BatchFeature({"pixel_values": (B, 3, H, W), "labels": {task: (B, H, W) or (B, C, H, W)}})``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torchvision.transforms.v2 import functional as tvF
from transformers import BatchFeature
from transformers.image_processing_backends import TorchvisionBackend
from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, PILImageResampling, SizeDict


def _as_chw_tensor(label_map) -> torch.Tensor:
    """``(H, W)`` or ``(H, W, C)`` array/tensor → ``(C, H, W)`` tensor (float for resizing)."""
    tensor = torch.as_tensor(np.asarray(label_map))
    if tensor.dim() == 2:
        tensor = tensor[None]
    elif tensor.dim() == 3:
        tensor = tensor.permute(2, 0, 1)
    else:
        raise ValueError(f"A label map must be (H, W) or (H, W, C); got shape {tuple(tensor.shape)}.")
    return tensor


class MTHubDenseImageProcessor(TorchvisionBackend):
    """Image processor of mthub dense multi-task models (see module docstring).

    Per-model subclasses are declarative (``size``, ``image_mean``, ``image_std`` …).
    """

    resample = PILImageResampling.BILINEAR
    image_mean = IMAGENET_DEFAULT_MEAN
    image_std = IMAGENET_DEFAULT_STD
    size = {"height": 448, "width": 576}
    default_to_square = True
    do_resize = True
    do_rescale = True
    do_normalize = True
    rescale_factor = 1 / 255
    model_input_names = ["pixel_values"]

    def preprocess(self, images, label_maps: Mapping[str, Sequence] | None = None, **kwargs) -> BatchFeature:
        """Process ``images`` and, optionally, ``label_maps`` (``{task: list of (H, W) or (H, W, C) maps}``)."""
        return super().preprocess(images, label_maps, **kwargs)

    def _preprocess_image_like_inputs(self, images, label_maps, do_convert_rgb, input_data_format, return_tensors, device=None, **kwargs):
        images = self._prepare_image_like_inputs(
            images=images, do_convert_rgb=do_convert_rgb, input_data_format=input_data_format, device=device
        )
        data = {"pixel_values": self._resize_and_normalize(images, **kwargs)}
        if return_tensors == "pt":
            data["pixel_values"] = torch.stack(data["pixel_values"])
        if label_maps:
            data["labels"] = {task: self.resize_label_maps(maps, kwargs["size"]) for task, maps in label_maps.items()}
        return BatchFeature(data=data)

    def resize_label_maps(self, maps: Sequence, size: SizeDict | Mapping[str, int]) -> torch.Tensor:
        """Nearest-neighbour resize of a batch of label maps to ``size``; keeps dtype and values.

        Returns ``(B, H, W)`` for single-channel maps, ``(B, C, H, W)`` otherwise.
        """
        height, width = size["height"], size["width"]
        resized = []
        for label_map in maps:
            tensor = _as_chw_tensor(label_map)
            dtype = tensor.dtype
            out = tvF.resize(tensor.float(), [height, width], interpolation=tvF.InterpolationMode.NEAREST_EXACT, antialias=False)
            resized.append(out.to(dtype))
        batch = torch.stack(resized)
        return batch[:, 0] if batch.shape[1] == 1 else batch

    def _resize_and_normalize(self, images, do_resize, size, resample, do_rescale, rescale_factor, do_normalize, image_mean, image_std, **kwargs):
        out = []
        for image in images:
            if do_resize:
                image = self.resize(image, size=size, resample=resample)
            out.append(self.rescale_and_normalize(image, do_rescale, rescale_factor, do_normalize, image_mean, image_std))
        return out


__all__ = ["MTHubDenseImageProcessor"]

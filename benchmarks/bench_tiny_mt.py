"""The test model: SDPA attention (candidate) against the eager reference kernel, same weights, same inputs.

Run: ``PYTHONPATH=src python benchmarks/harness.py tiny-mt-sdpa-vs-eager [--device cuda]``.
"""

from __future__ import annotations

import torch


def tiny_mt_sdpa_vs_eager(device: torch.device, small: bool):
    import mthub
    from transformers import AutoModel

    config = mthub.preset_config("tiny-mt")
    if not small:  # a size where attention matters: 16 frames of 128², 256-wide tokens
        config = mthub.preset_config("tiny-mt", num_frames=16, image_size=128, hidden_size=256, num_hidden_layers=4)
    torch.manual_seed(0)
    sdpa = AutoModel.from_config(config, attn_implementation="sdpa").to(device).eval()
    eager = AutoModel.from_config(config, attn_implementation="eager").to(device).eval()
    eager.load_state_dict(sdpa.state_dict())
    pixels = torch.randn(2, config.num_frames, 3, config.image_size, config.image_size, device=device)

    @torch.inference_mode()
    def candidate():
        return sdpa(pixels).logits["action"]

    @torch.inference_mode()
    def reference():
        return eager(pixels).logits["action"]

    return candidate, reference


BENCHMARKS = {"tiny-mt-sdpa-vs-eager": tiny_mt_sdpa_vs_eager}

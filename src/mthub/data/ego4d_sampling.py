"""Sampling rules of the official Ego4D loaders that both the dataset builders (:mod:`mthub.data.builders`) and
the model-side loaders (:mod:`mthub.models.ego4d_ts`) apply. Pure NumPy, so importing it pulls in neither
``datasets`` nor PyAV."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["pnr_frames_and_keyframe"]


def pnr_frames_and_keyframe(
    start_frame: int, end_frame: int, num_frames: int = 16, pnr_frame: int | None = None
) -> tuple[list[int], int | None]:
    """PNR/OSCC's frame sampling on *absolute* (parent-video) frame numbers: keep ``f ∈ [start, end)`` with
    ``f % step == 0`` for ``step = ceil(n / num_frames)`` (``n = end − start``), or ``floor(n / num_frames)`` when
    the ceil step yields fewer than ``num_frames`` frames, and take the first ``num_frames``.

    Returns:
        ``(frame_numbers, keyframe)``: the ``num_frames`` absolute frame numbers and the index of the sampled frame
        nearest to ``pnr_frame`` (first on ties), or ``None`` when ``pnr_frame`` is ``None``.

    Raises:
        ValueError: the window holds fewer than ``num_frames`` frames.
    """
    length = end_frame - start_frame
    if length < num_frames:
        raise ValueError(f"cannot sample {num_frames} frames from [{start_frame}, {end_frame}): only {length} frames.")
    frames = np.arange(start_frame, end_frame)
    chosen = frames[frames % math.ceil(length / num_frames) == 0]
    if len(chosen) < num_frames:
        chosen = frames[frames % math.floor(length / num_frames) == 0]
    chosen = chosen[:num_frames]
    keyframe = None if pnr_frame is None else int(np.argmin(np.abs(chosen - pnr_frame)))
    return chosen.tolist(), keyframe

"""From one example of the Ego4D builders (:mod:`mthub.data.builders.ego4d_fho`, ``ego4d_social``, ``ego4d_av``)
to the model's inputs and labels: decode exactly the frames / audio the official loaders read, crop faces, and run
the task's processor. Use it as a ``datasets`` transform (``ds.with_transform``) or in a collator.

* PNR / OSCC: the 16 stored ``frame_numbers`` from the JPEG folder (``<frame>.jpeg``) or the parent video.
* AR: ``clip_frames`` (32) frames spread uniformly over the stored centred window at the video's native rate
  (PyTorchVideo's clip decoding + ``UniformTemporalSubsample``), the window clamped to the video.
* LTA: the same for each observed clip.
* LAM: the 7 window frames, cropped to the stored boxes and resized to 224² (missing image → black frame).
* TTM: every segment frame cropped to its box (no face or no image → black frame, as released) and the segment's
  audio ``[start/30, end/30)`` at 16 kHz.
* ASD: the track's frames from the clip video, TalkNet crops, and the audio of the track at 16 kHz → MFCC.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import BatchFeature

from .processing_ego4d_ts import Ego4DTSProcessor
from .sampling_ego4d_ts import crop_resize, talknet_face_crops

__all__ = ["load_example"]


def _read_jpegs(paths: list[Path], size: tuple[int, int] | None = None) -> np.ndarray:
    from PIL import Image

    frames = []
    for path in paths:
        if path.is_file():
            with Image.open(path) as image:
                frames.append(np.asarray(image.convert("RGB")))
        else:
            if size is None:
                raise FileNotFoundError(f"{path}: frame missing")
            frames.append(np.zeros((*size, 3), dtype=np.uint8))
    return np.stack(frames)


def _window_frames(path: str, start_s: float, end_s: float, count: int) -> np.ndarray:
    from ...data.video import VideoReader, uniform_indices

    with VideoReader(path) as reader:
        info = reader.info
        start = min(max(start_s, 0.0), info.duration_s - 1.0 / info.fps)
        end = min(max(end_s, start + 1.0 / info.fps), info.duration_s)
        return reader.get_frames(uniform_indices(info, count, start, end))


def _faces(image_dir: Path, numbers: list[int], boxes: list[list[float]], size: int) -> np.ndarray:
    out = np.zeros((len(numbers), size, size, 3), dtype=np.uint8)
    cache: dict[int, np.ndarray] = {}
    for i, (number, box) in enumerate(zip(numbers, boxes)):
        path = image_dir / f"img_{number:05d}.jpg"
        if box[0] < 0 or not path.is_file():
            continue
        if number not in cache:
            cache[number] = _read_jpegs([path])[0]
        out[i] = crop_resize(cache[number], box, size)
    return out


def load_example(example: Mapping[str, Any], ego4d_task: str, processor: Ego4DTSProcessor | None = None) -> BatchFeature:
    """Model inputs (batch of one) and ``labels`` of one builder example.

    Args:
        example: a row of the task's builder.
        ego4d_task: ``pnr``, ``oscc``, ``ar``, ``lta``, ``lam``, ``ttm`` or ``asd``.
        processor: the task's :class:`Ego4DTSProcessor` (default: ``Ego4DTSProcessor(ego4d_task)``).

    Returns:
        ``BatchFeature`` with the model's input names and ``labels = {task: tensor}``.
    """
    from ...data.audio import read_audio
    from ...data.video import read_frames

    processor = processor or Ego4DTSProcessor(ego4d_task)
    if ego4d_task in ("pnr", "oscc"):
        source = Path(example["source"])
        numbers = list(example["frame_numbers"])
        frames = _read_jpegs([source / f"{n}.jpeg" for n in numbers]) if source.is_dir() else read_frames(source, numbers)
        out = processor(videos=frames)
        out["labels"] = {ego4d_task: torch.tensor([example[ego4d_task]])}
        return out
    if ego4d_task == "ar":
        count = processor.video_processor.num_frames
        frames = _window_frames(example["video_path"], example["window_start_sec"], example["window_end_sec"], count)
        out = processor(videos=frames)
        out["labels"] = {"action_verb": torch.tensor([example["verb_label"]]), "action_noun": torch.tensor([example["noun_label"]])}
        return out
    if ego4d_task == "lta":
        count = processor.video_processor.num_frames
        clips = [
            _window_frames(example["video_path"], start, end, count)
            for start, end in zip(example["input_window_start_sec"], example["input_window_end_sec"])
        ]
        out = processor(videos=[clips])
        out["labels"] = {"lta_verb": torch.tensor([example["future_verb_labels"]]), "lta_noun": torch.tensor([example["future_noun_labels"]])}
        return out
    if ego4d_task in ("lam", "ttm"):
        faces = _faces(Path(example["image_dir"]), list(example["frame_numbers"]), list(example["boxes"]), 224)
        if ego4d_task == "lam":
            out = processor(videos=faces)
        else:
            audio = read_audio(example["audio_path"], sample_rate=16000, start_s=example["start_frame"] / 30.0, end_s=example["end_frame"] / 30.0)
            out = processor(videos=faces, audio=[audio])
        out["labels"] = {ego4d_task: torch.tensor([example[ego4d_task]])}
        return out
    if ego4d_task == "asd":
        numbers = list(example["frame_numbers"])
        frames = read_frames(example["video_path"], numbers)
        faces = talknet_face_crops(frames, np.asarray(example["boxes"], dtype=np.float64))
        fps = float(example["fps"])
        audio = read_audio(example["audio_path"], sample_rate=16000, start_s=numbers[0] / fps, end_s=(numbers[-1] + 1) / fps)
        out = processor(faces=faces, audio=[audio], fps=fps)
        out["labels"] = {"asd": torch.tensor([example["asd"]])[:, : out["pixel_values"].shape[1]]}
        return out
    raise ValueError(f"unknown Ego4D task {ego4d_task!r}")

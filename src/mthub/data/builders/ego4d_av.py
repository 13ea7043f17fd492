"""Ego4D audio-visual diarization annotations → active speaker detection (ASD) face tracks (spec §5).

Reads ``av_{train,val,test_unannotated}.json`` (``{"videos": [{"clips": [...]}]}``; schema of the Ego4D docs) and
the 30 fps AV clips::

    <root>/[annotations/]av_<split>.json
    <root>/clips/<clip_uid>.mp4          video (+ audio, used unless a wav exists)
    <root>/wave/<clip_uid>.wav           optional 16 kHz audio

One example per face track chunk: every ``persons[].tracking_paths[].track`` (clip-relative ``frame`` numbers) is
cleaned as TalkNet's Ego4D loader does (boxes with non-positive size and frame 0 dropped, corners clamped, gaps
interpolated) and cut into chunks of at most ``max_frames`` (300) consecutive frames, as the Ego4D TalkNet
preprocessing. Frame ``f`` of a track is *speaking* (label 1) when it lies in one of the person's
``voice_segments`` ``[start_frame, end_frame]``; the test split (``av_test_unannotated.json``) has no labels
(``-100``). Missing or undecodable videos / audio are reported by the builder base, not raised.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import datasets

from mthub.data.builders import _ego4d_common as common
from mthub.data.builders.base import MTHubBuilderConfig
from mthub.data.builders.ego4d_social import clean_track
from mthub.data.errors import CorruptSampleError, DatasetLayoutError

__all__ = ["Ego4DAVActiveSpeaker", "Ego4DAVConfig"]

IGNORE = -100


@dataclass
class Ego4DAVConfig(MTHubBuilderConfig):
    """Config of :class:`Ego4DAVActiveSpeaker`.

    Attributes:
        max_frames: longest track chunk (300 frames = 10 s).
        fps: frame rate of the AV clips (30).
    """

    max_frames: int = 300
    fps: float = 30.0


class Ego4DAVActiveSpeaker(common.Ego4DBuilder):
    """ASD face-track chunks with per-frame speaking labels from the Ego4D AV annotations."""

    BUILDER_CONFIG_CLASS = Ego4DAVConfig
    TASKS = ("asd",)
    DATASET_NAME = "ego4d_av"

    def _info(self) -> datasets.DatasetInfo:
        seq = lambda kind: datasets.Sequence(datasets.Value(kind))
        return datasets.DatasetInfo(
            description="Ego4D AV diarization: active speaker detection face tracks (TalkNet baseline inputs).",
            features=datasets.Features(
                {
                    "clip_uid": datasets.Value("string"),
                    "person_id": datasets.Value("string"),
                    "track_id": datasets.Value("string"),
                    "chunk_index": datasets.Value("int64"),
                    "video_path": datasets.Value("string"),
                    "audio_path": datasets.Value("string"),
                    "fps": datasets.Value("float64"),
                    "frame_numbers": seq("int64"),
                    "boxes": datasets.Sequence(datasets.Sequence(datasets.Value("float32"), length=4)),
                    "asd": seq("int64"),
                }
            ),
            homepage="https://ego4d-data.org/docs/benchmarks/av-diarization/",
        )

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        root, expected, present = common.split_annotations(self.config.data_dir, "Ego4D AV", "av", ["clips/<clip_uid>.mp4"])
        missing = ([] if present else expected[:3]) + ([] if (root / "clips").is_dir() else ["clips/"])
        if missing:
            raise DatasetLayoutError(root, expected=expected, missing=missing, hint="Ego4D AV annotations and clips")
        return common.split_generators(root, present)

    def _generate_examples(self, split: str, root: str, annotation: str) -> Iterator[tuple[str, dict[str, Any]]]:
        root_path = Path(root)
        loaders = []
        for video in common.load_json(Path(annotation)).get("videos", []):
            for clip in video.get("clips", []):
                for person in clip.get("persons", []) or []:
                    if person.get("camera_wearer"):
                        continue
                    speaking = [(int(s["start_frame"]), int(s["end_frame"])) for s in person.get("voice_segments", []) or []]
                    labelled = split != "test"
                    for path in person.get("tracking_paths", []) or []:
                        frames = clean_track(path.get("track", []), frame_key="frame", require_person=False)
                        for chunk_index, start in enumerate(range(0, len(frames), self.config.max_frames)):
                            chunk = frames[start : start + self.config.max_frames]
                            key = f"{clip['clip_uid']}_{person['person_id']}_{path['track_id']}_{chunk_index}"
                            loaders.append(
                                (key, partial(self._load, root_path, clip["clip_uid"], str(person["person_id"]), str(path["track_id"]),
                                              chunk_index, chunk, speaking if labelled else None))
                            )
        yield from self._probe_examples(split, loaders)

    def _load(
        self, root: Path, clip_uid: str, person: str, track_id: str, chunk_index: int, frames: list[dict], speaking: list | None
    ) -> dict[str, Any]:
        video = root / "clips" / f"{clip_uid}.mp4"
        numbers = [int(f["frame"]) for f in frames]
        if not numbers:
            raise CorruptSampleError(video, f"track {track_id} of person {person} has no valid box")
        info = common.probe_video_frames(video, numbers)
        wav = root / "wave" / f"{clip_uid}.wav"
        audio = wav if wav.is_file() else video
        common.probe_audio(audio, numbers[0] / info.fps, (numbers[-1] + 1) / info.fps)
        labels = (
            [int(any(lo <= n <= hi for lo, hi in speaking)) for n in numbers] if speaking is not None else [IGNORE] * len(numbers)
        )
        return {
            "clip_uid": clip_uid,
            "person_id": person,
            "track_id": track_id,
            "chunk_index": chunk_index,
            "video_path": str(video),
            "audio_path": str(audio),
            "fps": info.fps,
            "frame_numbers": numbers,
            "boxes": [[float(f["x"]), float(f["y"]), float(f["x"] + f["width"]), float(f["y"] + f["height"])] for f in frames],
            "asd": labels,
        }

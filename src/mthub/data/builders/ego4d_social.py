"""Ego4D social benchmark builders (Looking-at-me, Talking-to-me) over the preprocessed layout of
EGO4D/social-interactions, the layout EgoT2 reads (spec §5)::

    <root>/split/{train,val,test}.list            clip uids, one per line
    <root>/video_imgs/<uid>/img_%05d.jpg          30 fps frames
    <root>/wave/<uid>.wav                         16 kHz audio
    <root>/json_original/<uid>/<track>.json       [{frameNumber, x, y, width, height, "Person ID"}]
    <root>/result_LAM/<uid>.json                  [{label, start_frame, end_frame}]           looking at me
    <root>/result_TTM/<uid>.json                  [{label, start_frame, end_frame[, tags]}]   positive iff "tags"

Official loader semantics kept:

* tracks are cleaned and gap-interpolated (boxes with non-positive size, frame 0 or no person id dropped; corners
  clamped at 0);
* LAM (``tasks=("lam",)``): one example per track frame at stride 13 (``idx % 13 == 0`` along each track), label 1
  iff ``frame:person`` lies in a looking segment; the 7-frame window around it, with missing slots filled by
  edge padding (``pad_video``);
* TTM (``tasks=("ttm",)``): one example per talking segment of 2..∞ frames (training drops segments shorter than 15
  frames), segments over 150 frames are cut into ``⌊n/150⌋`` chunks of ``[s + 150i, s + 150(i + 1)]`` (inclusive,
  the remainder is dropped, chunks shorter than 15 skipped); ``segment_index`` groups the chunks of one segment
  for the metric; the audio window is ``[start/30, end/30)`` s. The official train stride argument is unused by
  its TTM loader, so there is none here.

Missing / undecodable frames and audio are reported through the builder base (``CorruptSampleError``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from mthub.data.builders import _ego4d_common as common
from mthub.data.builders.base import MTHubBuilderConfig
from mthub.data.errors import CorruptSampleError, DatasetLayoutError

__all__ = ["Ego4DSocial", "Ego4DSocialConfig", "clean_track", "lam_window"]

IGNORE = -100
_SPLITS = ("train", "val", "test")


def clean_track(track: Sequence[dict[str, Any]], frame_key: str = "frameNumber", require_person: bool = True) -> list[dict[str, Any]]:
    """The social loaders' ``check``: drop invalid boxes, clamp corners at 0 (``x2 = max(x, 0) + width``), and
    linearly interpolate every frame between the first and the last box when some are missing."""
    valid = [
        b for b in track
        if b["width"] > 0 and b["height"] > 0 and b[frame_key] != 0 and (not require_person or len(str(b.get("Person ID", ""))) > 0)
    ]
    if not valid:
        return []
    numbers = np.array([b[frame_key] for b in valid], dtype=np.float64)
    edges = np.array([[max(b["x"], 0), max(b["y"], 0), max(b["x"], 0) + b["width"], max(b["y"], 0) + b["height"]] for b in valid], dtype=np.float64)
    if numbers[-1] - numbers[0] + 1 > len(numbers):
        grid = np.arange(numbers[0], numbers[-1] + 1)
        edges = np.stack([np.interp(grid, numbers, edges[:, i]) for i in range(4)], axis=1)
        numbers = grid
    out = []
    for number, (x1, y1, x2, y2) in zip(numbers, edges):
        record = dict(track[0])
        record.update({frame_key: int(number), "x": x1, "y": y1, "width": x2 - x1, "height": y2 - y1})
        out.append(record)
    return out


def lam_window(frame: int, available: set[int], num_frames: int = 7) -> list[int]:
    """LAM's 7 frames around ``frame``: unavailable slots are removed and the rest edge-padded (``pad_video``)."""
    half = num_frames // 2
    slots = list(range(frame - half, frame + half + 1))
    present = [f for f in slots if f in available or f == frame]
    before = sum(f not in available for f in slots[:half])
    after = sum(f not in available for f in slots[half + 1 :])
    return [present[0]] * before + present + [present[-1]] * after


@dataclass
class Ego4DSocialConfig(MTHubBuilderConfig):
    """Config of :class:`Ego4DSocial`.

    Attributes:
        tasks: ``("lam",)`` or ``("ttm",)`` (one per dataset: the examples differ).
        lam_stride: LAM keyframe stride along each track (13 in train and val).
        ttm_min_frames, ttm_max_frames: TTM segment length bounds (15, 150).
    """

    lam_stride: int = 13
    ttm_min_frames: int = 15
    ttm_max_frames: int = 150


class Ego4DSocial(common.Ego4DBuilder):
    """Looking-at-me or Talking-to-me examples from the preprocessed social layout (module docstring)."""

    BUILDER_CONFIG_CLASS = Ego4DSocialConfig
    TASKS = ("lam", "ttm")
    DATASET_NAME = "ego4d_social"

    def _check_config(self) -> None:
        if len(self.tasks) != 1:
            raise ValueError(f"Ego4DSocial: select one task, tasks=('lam',) or ('ttm',); got {self.tasks}.")

    @property
    def task(self) -> str:
        return self.tasks[0]

    def _info(self) -> datasets.DatasetInfo:
        seq = lambda kind: datasets.Sequence(datasets.Value(kind))
        fields = {
            "uid": datasets.Value("string"),
            "person_id": datasets.Value("string"),
            "frame_numbers": seq("int64"),
            "boxes": datasets.Sequence(datasets.Sequence(datasets.Value("float32"), length=4)),
            "image_dir": datasets.Value("string"),
        }
        if self.task == "lam":
            fields.update({"track_id": datasets.Value("string"), "frame": datasets.Value("int64"), "lam": datasets.Value("int64")})
        else:
            fields.update(
                {
                    "start_frame": datasets.Value("int64"),
                    "end_frame": datasets.Value("int64"),
                    "segment_index": datasets.Value("int64"),
                    "audio_path": datasets.Value("string"),
                    "ttm": datasets.Value("int64"),
                }
            )
        return datasets.DatasetInfo(
            description=f"Ego4D social benchmark: {'looking at me' if self.task == 'lam' else 'talking to me'}.",
            features=datasets.Features(fields),
            homepage="https://ego4d-data.org/docs/benchmarks/social/",
        )

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        gt_dir = "result_LAM" if self.task == "lam" else "result_TTM"
        expected = ["split/{train,val}.list", "video_imgs/", "json_original/", f"{gt_dir}/"] + (["wave/"] if self.task == "ttm" else [])
        root = common.require_root(self.config.data_dir, "Ego4D social", expected)
        lists = {s: root / "split" / f"{s}.list" for s in _SPLITS if (root / "split" / f"{s}.list").is_file()}
        dirs = ["video_imgs", "json_original", gt_dir] + (["wave"] if self.task == "ttm" else [])
        missing = [f"{d}/" for d in dirs if not (root / d).is_dir()] + ([] if lists else ["split/{train,val}.list"])
        if missing:
            raise DatasetLayoutError(root, expected=expected, missing=missing, hint="preprocessed EGO4D/social-interactions layout")
        return [
            datasets.SplitGenerator(name=s, gen_kwargs={"split": s, "root": str(root), "uids": _read_list(p)})
            for s, p in lists.items()
        ]

    def _generate_examples(self, split: str, root: str, uids: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        root_path = Path(root)
        loaders = []
        for uid in uids:
            if self.task == "lam":
                loaders.extend(self._lam_items(root_path, split, uid))
            else:
                loaders.extend(self._ttm_items(root_path, split, uid))
        yield from self._probe_examples(split, loaders)

    # ----- tracks ---------------------------------------------------------------------------------------------
    @staticmethod
    def _tracks(root: Path, uid: str) -> list[tuple[str, list[dict[str, Any]]]]:
        folder = root / "json_original" / uid
        tracks = []
        for path in sorted(folder.glob("*.json")):
            frames = common.load_json(path)
            frames = sorted(frames, key=lambda f: f["frameNumber"])
            tracks.append((path.stem, clean_track(frames)))
        return tracks

    @staticmethod
    def _gt(root: Path, gt_dir: str, uid: str, split: str) -> list[dict[str, Any]] | None:
        path = root / gt_dir / f"{uid}.json"
        if not path.is_file():
            if split == "test":
                return None
            raise CorruptSampleError(path, "ground-truth file of the clip is missing")
        return common.load_json(path)

    # ----- LAM ------------------------------------------------------------------------------------------------
    def _lam_items(self, root: Path, split: str, uid: str):
        try:
            gts = self._gt(root, "result_LAM", uid, split)
            tracks = self._tracks(root, uid)
        except CorruptSampleError as err:
            return [(uid, partial(_raise, err))]
        positive = set()
        for gt in gts or []:
            positive.update(f"{i}:{gt['label']}" for i in range(gt["start_frame"], gt["end_frame"] + 1))
        items = []
        for track_id, frames in tracks:
            boxes = {f["frameNumber"]: (f["x"], f["y"], f["x"] + f["width"], f["y"] + f["height"]) for f in frames}
            for index, frame in enumerate(frames):
                if index % self.config.lam_stride:
                    continue
                person = str(frame["Person ID"])
                label = (1 if f"{frame['frameNumber']}:{person}" in positive else 0) if gts is not None else IGNORE
                items.append(
                    (f"{uid}_{track_id}_{frame['frameNumber']}", partial(self._load_lam, root, uid, track_id, person, frame["frameNumber"], boxes, label))
                )
        return items

    def _load_lam(self, root: Path, uid: str, track_id: str, person: str, frame: int, boxes: dict, label: int) -> dict[str, Any]:
        image_dir = root / "video_imgs" / uid
        available = {f for f in boxes if (image_dir / f"img_{f:05d}.jpg").is_file()}
        common.probe_image(image_dir / f"img_{frame:05d}.jpg")  # the middle frame must exist and decode
        window = lam_window(frame, available)
        return {
            "uid": uid,
            "person_id": person,
            "frame_numbers": window,
            "boxes": [list(map(float, boxes[f])) for f in window],
            "image_dir": str(image_dir),
            "track_id": track_id,
            "frame": frame,
            "lam": label,
        }

    # ----- TTM ------------------------------------------------------------------------------------------------
    def _ttm_items(self, root: Path, split: str, uid: str):
        try:
            gts = self._gt(root, "result_TTM", uid, split)
            tracks = self._tracks(root, uid)
        except CorruptSampleError as err:
            return [(uid, partial(_raise, err))]
        if gts is None:
            return []
        faces: dict[str, tuple[float, float, float, float]] = {}
        for _, frames in tracks:
            for f in frames:
                faces[f"{f['frameNumber']}:{f['Person ID']}"] = (f["x"], f["y"], f["x"] + f["width"], f["y"] + f["height"])
        low, high = self.config.ttm_min_frames, self.config.ttm_max_frames
        items = []
        for index, gt in enumerate(gts):
            person, label = gt["label"], (1 if "tags" in gt else 0)
            start, end = int(gt["start_frame"]), int(gt["end_frame"])
            length = end - start + 1
            if (split == "train" and length < low) or length <= 1 or person == 0:
                continue
            if length > high:
                chunks = []
                for i in range(length // high):
                    sub_start = start + i * high
                    sub_end = min(end, sub_start + high)
                    if sub_end - sub_start + 1 >= low:
                        chunks.append((sub_start, sub_end))
            else:
                chunks = [(start, end)]
            for sub_start, sub_end in chunks:
                items.append(
                    (f"{uid}_{index}_{sub_start}", partial(self._load_ttm, root, split, uid, str(person), sub_start, sub_end, index, label, faces))
                )
        return items

    def _load_ttm(self, root: Path, split: str, uid: str, person: str, start: int, end: int, index: int, label: int, faces: dict) -> dict[str, Any]:
        image_dir = root / "video_imgs" / uid
        numbers = list(range(start, end + 1))
        boxes = [list(map(float, faces.get(f"{f}:{person}", (-1.0, -1.0, -1.0, -1.0)))) for f in numbers]
        with_face = [f for f, box in zip(numbers, boxes) if box[0] >= 0 and (image_dir / f"img_{f:05d}.jpg").is_file()]
        if with_face:  # frames without a face or image become zero frames in the official loader; probe the ends
            common.probe_image(image_dir / f"img_{with_face[0]:05d}.jpg")
            common.probe_image(image_dir / f"img_{with_face[-1]:05d}.jpg")
        audio = root / "wave" / f"{uid}.wav"
        if not audio.is_file():
            raise CorruptSampleError(audio, "audio file of the clip is missing")
        common.probe_audio(audio, start / 30.0, end / 30.0)
        return {
            "uid": uid,
            "person_id": person,
            "frame_numbers": numbers,
            "boxes": boxes,
            "image_dir": str(image_dir),
            "start_frame": start,
            "end_frame": end,
            "segment_index": index,
            "audio_path": str(audio),
            "ttm": label if split != "test" else IGNORE,
        }


def _raise(err: Exception) -> dict[str, Any]:
    raise err


def _read_list(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]

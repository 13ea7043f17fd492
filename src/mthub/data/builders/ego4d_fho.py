"""Ego4D forecasting + hands-and-objects (FHO) builders: PNR / OSCC clips, and AR / LTA action clips (spec §5).

``Ego4DOSCCPNR`` reads ``fho_oscc-pnr_{train,val,test_unannotated}.json`` (one file for both tasks)::

    <root>/[annotations/]fho_oscc-pnr_<split>.json   {"clips": [{unique_id, video_uid, clip_uid,
                                                      parent_{start,end}_{sec,frame}, parent_pnr_frame,
                                                      clip_{start,end}_{sec,frame}, clip_pnr_frame, state_change}]}
    frames layout:  <root>/pos_clips/<unique_id>/<frame>.jpeg   (state-change clips; absolute 30 fps numbers)
                    <root>/neg_clips/<unique_id>/<frame>.jpeg   (clips without state change)
                    <root>/test_clips/<unique_id>/<frame>.jpeg  (test)
    videos layout:  <root>/full_scale/<video_uid>.mp4           (canonical parent videos)

Official semantics kept: clip bounds are the *parent* frame numbers; the 16 frames are chosen with the modulo
rule on absolute numbers (:func:`mthub.data.ego4d_sampling.pnr_frames_and_keyframe`, shared with
:func:`mthub.models.ego4d_ts.pnr_frame_numbers`); negatives have a null PNR (stored as ``-1``, label
``-100``); ``fps = (end_frame − start_frame + 1) / (end_sec − start_sec)``; test clips carry only ids and
``parent_*`` fields (labels ``-1``/``-100``). Selecting only the ``pnr`` task keeps the state-change clips (PNR
trains and evaluates on positives), ``oscc`` keeps all clips. The training-time random 5–8 s window of the
official loader is an augmentation, left to the transform (the stored window is the full clip).

``Ego4DFHOLTA`` reads ``fho_lta_{split}.json`` + ``fho_lta_taxonomy.json`` and the ``<root>/clips/<clip_uid>.mp4``
videos. ``mode="recognition"`` (AR): one example per action clip with the 2.133 s window centred in it (the
official ``CenterClipVideoSampler``, used in every split). ``mode="forecasting"`` (LTA): actions are grouped by
``clip_uid``, sorted by ``action_idx``, and window ``i`` in ``range(len(actions) − Z − N_in)`` observes actions
``i … i+N_in−1`` and forecasts the next ``Z`` (so 25 actions give 3 windows and 22 give none: the official
formula, which drops the last possible window).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import datasets

from mthub.data.builders import _ego4d_common as common
from mthub.data.builders.base import MTHubBuilderConfig
from mthub.data.ego4d_sampling import pnr_frames_and_keyframe
from mthub.data.errors import CorruptSampleError, DatasetLayoutError

__all__ = [
    "Ego4DFHOLTA",
    "Ego4DFHOLTAConfig",
    "Ego4DOSCCPNR",
    "Ego4DOSCCPNRConfig",
    "load_lta_taxonomy",
    "lta_windows",
    "pnr_sample_frames",
]

IGNORE = -100


def pnr_sample_frames(start_frame: int, end_frame: int, num_frames: int = 16, pnr_frame: int | None = None) -> tuple[list[int], int]:
    """Official PNR/OSCC sampling on absolute frame numbers: keep ``f ∈ [start, end)`` with ``f % step == 0``,
    ``step = ceil(n/16)`` (``floor`` when that gives fewer than 16), first 16; label = index of the sampled frame
    nearest to the PNR (``-100`` without PNR)."""
    frames, keyframe = pnr_frames_and_keyframe(start_frame, end_frame, num_frames, pnr_frame)
    return frames, IGNORE if keyframe is None else keyframe


def lta_windows(num_actions: int, num_input: int = 2, num_future: int = 20) -> list[tuple[range, range]]:
    """``(observed, future)`` action-index ranges of the official forecasting windows: ``i`` in
    ``range(num_actions − num_future − num_input)`` (25 actions, 2 + 20 → 3 windows; 22 → none)."""
    return [
        (range(i, i + num_input), range(i + num_input, i + num_input + num_future))
        for i in range(num_actions - num_future - num_input)
    ]


def load_lta_taxonomy(path: Path) -> tuple[list[str], list[str]]:
    """``(verbs, nouns)`` of ``fho_lta_taxonomy.json`` (``{"verbs": [...], "nouns": [...]}``, index = label)."""
    data = common.load_json(path)
    if not isinstance(data, dict) or "verbs" not in data or "nouns" not in data:
        raise DatasetLayoutError(path, expected=[str(path)], missing=[], hint='expected {"verbs": [...], "nouns": [...]}')
    return list(data["verbs"]), list(data["nouns"])


# ---------------------------------------------------------------------------------------------------------------
# PNR / OSCC
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Ego4DOSCCPNRConfig(MTHubBuilderConfig):
    """Config of :class:`Ego4DOSCCPNR`.

    Attributes:
        tasks: ``("oscc", "pnr")`` subset; ``("pnr",)`` keeps state-change clips only.
        layout: ``"frames"`` (pre-extracted JPEGs), ``"videos"`` (parent mp4s) or ``"auto"``.
        num_frames: frames sampled per clip (16 = 8 s × 2 fps).
    """

    layout: str = "auto"
    num_frames: int = 16


class Ego4DOSCCPNR(common.Ego4DBuilder):
    """PNR keyframe localisation + OSCC state-change classification clips (see the module docstring)."""

    BUILDER_CONFIG_CLASS = Ego4DOSCCPNRConfig
    TASKS = ("oscc", "pnr")
    DATASET_NAME = "ego4d_fho_oscc_pnr"

    def _check_config(self) -> None:
        common.check_choice("Ego4DOSCCPNR", "layout", self.config.layout, ("auto", "frames", "videos"))

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description="Ego4D FHO PNR temporal localisation and object state change classification (8 s clips).",
            features=datasets.Features(
                {
                    "unique_id": datasets.Value("string"),
                    "video_uid": datasets.Value("string"),
                    "clip_uid": datasets.Value("string"),
                    "source": datasets.Value("string"),  # frame folder or parent video
                    "frame_numbers": datasets.Sequence(datasets.Value("int64")),
                    "start_frame": datasets.Value("int64"),
                    "end_frame": datasets.Value("int64"),
                    "start_sec": datasets.Value("float64"),
                    "end_sec": datasets.Value("float64"),
                    "fps": datasets.Value("float64"),
                    "pnr_frame": datasets.Value("int64"),
                    "pnr": datasets.Value("int64"),
                    "oscc": datasets.Value("int64"),
                }
            ),
            homepage="https://ego4d-data.org/docs/benchmarks/hands-and-objects/",
        )

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        root, expected, present = common.split_annotations(
            self.config.data_dir, "Ego4D OSCC/PNR", "fho_oscc-pnr", ["pos_clips/ | full_scale/"]
        )
        layout = self.config.layout
        if layout == "auto":
            layout = "frames" if any((root / d).is_dir() for d in ("pos_clips", "neg_clips", "test_clips")) else "videos"
        if not present or (layout == "videos" and not (root / "full_scale").is_dir()):
            missing = [e for e in expected if not present or "full_scale" in e]
            raise DatasetLayoutError(root, expected=expected, missing=missing, hint="Ego4D OSCC/PNR annotations and clips.")
        return common.split_generators(root, present, layout=layout)

    def _generate_examples(self, split: str, root: str, annotation: str, layout: str) -> Iterator[tuple[str, dict[str, Any]]]:
        clips = common.load_json(Path(annotation)).get("clips", [])
        pnr_only = self.tasks == ("pnr",)
        loaders = []
        for clip in clips:
            positive = clip.get("state_change")
            if pnr_only and split != "test" and not positive:
                continue
            loaders.append((clip["unique_id"], partial(self._load, Path(root), layout, split, clip)))
        yield from self._probe_examples(split, loaders)

    def _load(self, root: Path, layout: str, split: str, clip: dict[str, Any]) -> dict[str, Any]:
        start, end = int(clip["parent_start_frame"]), int(clip["parent_end_frame"])
        start_sec, end_sec = float(clip["parent_start_sec"]), float(clip["parent_end_sec"])
        labelled = split != "test" and clip.get("state_change") is not None
        pnr_frame = clip.get("parent_pnr_frame", clip.get("pnr_frame")) if labelled else None
        try:
            frames, label = pnr_sample_frames(start, end, self.config.num_frames, pnr_frame)
        except ValueError as err:
            raise CorruptSampleError(Path(root) / "annotations", f"clip {clip['unique_id']}: {err}") from None
        if layout == "frames":
            folder = "test_clips" if split == "test" else ("pos_clips" if pnr_frame is not None else "neg_clips")
            source = root / folder / clip["unique_id"]
            missing = [f for f in frames if not (source / f"{f}.jpeg").is_file()]
            if missing:
                raise CorruptSampleError(source / f"{missing[0]}.jpeg", f"frame {missing[0]} of the clip is missing ({len(missing)} of {len(frames)} sampled frames)")
            common.probe_image(source / f"{frames[0]}.jpeg")
            common.probe_image(source / f"{frames[-1]}.jpeg")
        else:
            source = root / "full_scale" / f"{clip['video_uid']}.mp4"
            common.probe_video_frames(source, frames)
        return {
            "unique_id": clip["unique_id"],
            "video_uid": clip.get("video_uid") or "",
            "clip_uid": clip.get("clip_uid") or clip["unique_id"],
            "source": str(source),
            "frame_numbers": frames,
            "start_frame": start,
            "end_frame": end,
            "start_sec": start_sec,
            "end_sec": end_sec,
            "fps": (end - start + 1) / (end_sec - start_sec),
            "pnr_frame": -1 if pnr_frame is None else int(pnr_frame),
            "pnr": label if labelled else IGNORE,
            "oscc": int(bool(clip["state_change"])) if labelled else IGNORE,
        }


# ---------------------------------------------------------------------------------------------------------------
# AR / LTA
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Ego4DFHOLTAConfig(MTHubBuilderConfig):
    """Config of :class:`Ego4DFHOLTA`.

    Attributes:
        mode: ``"recognition"`` (AR: one example per action) or ``"forecasting"`` (LTA windows).
        num_input_clips: observed actions ``N_in`` (2).
        num_future: forecast actions ``Z`` (20; EgoT2-g uses 1).
        clip_frames, sampling_rate, target_fps: the SlowFast clip (32 frames × 2 at 30 fps = 2.133 s).
    """

    mode: str = "forecasting"
    num_input_clips: int = 2
    num_future: int = 20
    clip_frames: int = 32
    sampling_rate: int = 2
    target_fps: float = 30.0


class Ego4DFHOLTA(common.Ego4DBuilder):
    """Ego4D action recognition (``mode="recognition"``) and long-term anticipation (``mode="forecasting"``)."""

    BUILDER_CONFIG_CLASS = Ego4DFHOLTAConfig
    TASKS = ("verb", "noun")
    DATASET_NAME = "ego4d_fho_lta"

    def _check_config(self) -> None:
        common.check_choice("Ego4DFHOLTA", "mode", self.config.mode, ("recognition", "forecasting"))

    def _window(self, start_s: float, end_s: float) -> tuple[float, float]:
        duration = self.config.clip_frames * self.config.sampling_rate / self.config.target_fps
        centre = start_s + (end_s - start_s) / 2
        return centre - duration / 2, centre + duration / 2

    def _info(self) -> datasets.DatasetInfo:
        common_fields = {"clip_uid": datasets.Value("string"), "video_path": datasets.Value("string")}
        if self.config.mode == "recognition":
            fields = {
                **common_fields,
                "action_idx": datasets.Value("int64"),
                "action_start_sec": datasets.Value("float64"),
                "action_end_sec": datasets.Value("float64"),
                "window_start_sec": datasets.Value("float64"),
                "window_end_sec": datasets.Value("float64"),
                "verb_label": datasets.Value("int64"),
                "noun_label": datasets.Value("int64"),
                "verb": datasets.Value("string"),
                "noun": datasets.Value("string"),
            }
        else:
            seq = lambda kind: datasets.Sequence(datasets.Value(kind))
            fields = {
                **common_fields,
                "first_action_idx": datasets.Value("int64"),
                "input_window_start_sec": seq("float64"),
                "input_window_end_sec": seq("float64"),
                "input_verb_labels": seq("int64"),
                "input_noun_labels": seq("int64"),
                "future_verb_labels": seq("int64"),
                "future_noun_labels": seq("int64"),
            }
        return datasets.DatasetInfo(
            description=f"Ego4D FHO {'action recognition' if self.config.mode == 'recognition' else 'long-term anticipation'} (v1).",
            features=datasets.Features(fields),
            homepage="https://ego4d-data.org/docs/benchmarks/forecasting/",
        )

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        root, expected, present = common.split_annotations(
            self.config.data_dir, "Ego4D FHO LTA/AR", "fho_lta", ["[annotations/]fho_lta_taxonomy.json", "clips/<clip_uid>.mp4"]
        )
        taxonomy = common.find_annotation(root, "fho_lta_taxonomy.json")
        missing = ([] if present else expected[:3]) + ([] if taxonomy else [expected[3]]) + ([] if (root / "clips").is_dir() else ["clips/"])
        if missing:
            raise DatasetLayoutError(root, expected=expected, missing=missing, hint="Ego4D FHO annotations, taxonomy and clips.")
        verbs, nouns = load_lta_taxonomy(taxonomy)
        return common.split_generators(root, present, verbs=verbs, nouns=nouns)

    def _generate_examples(self, split: str, root: str, annotation: str, verbs: list[str], nouns: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        entries = common.load_json(Path(annotation)).get("clips", [])
        root_path = Path(root)
        if self.config.mode == "recognition":
            loaders = [
                (f"{e['clip_uid']}_{e['action_idx']}", partial(self._load_action, root_path, e, verbs, nouns)) for e in entries
            ]
        else:
            by_clip: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for entry in entries:
                by_clip[entry["clip_uid"]].append(entry)
            loaders = []
            for clip_uid, actions in by_clip.items():
                actions = sorted(actions, key=lambda a: a["action_idx"])
                for observed, future in lta_windows(len(actions), self.config.num_input_clips, self.config.num_future):
                    window = ([actions[i] for i in observed], [actions[i] for i in future])
                    key = f"{clip_uid}_{actions[observed[0]]['action_idx']}"
                    loaders.append((key, partial(self._load_window, root_path, clip_uid, *window)))
        yield from self._probe_examples(split, loaders)

    @staticmethod
    def _label(entry: dict[str, Any], key: str) -> int:
        value = entry.get(key)
        return IGNORE if value is None or value < 0 else int(value)

    def _load_action(self, root: Path, entry: dict[str, Any], verbs: list[str], nouns: list[str]) -> dict[str, Any]:
        path = root / "clips" / f"{entry['clip_uid']}.mp4"
        start, end = float(entry["action_clip_start_sec"]), float(entry["action_clip_end_sec"])
        window = self._window(start, end)
        common.probe_video_times(path, [window])
        verb, noun = self._label(entry, "verb_label"), self._label(entry, "noun_label")
        return {
            "clip_uid": entry["clip_uid"],
            "video_path": str(path),
            "action_idx": int(entry["action_idx"]),
            "action_start_sec": start,
            "action_end_sec": end,
            "window_start_sec": window[0],
            "window_end_sec": window[1],
            "verb_label": verb,
            "noun_label": noun,
            "verb": verbs[verb] if verb >= 0 else "",
            "noun": nouns[noun] if noun >= 0 else "",
        }

    def _load_window(self, root: Path, clip_uid: str, observed: list[dict], future: list[dict]) -> dict[str, Any]:
        path = root / "clips" / f"{clip_uid}.mp4"
        windows = [self._window(float(a["action_clip_start_sec"]), float(a["action_clip_end_sec"])) for a in observed]
        common.probe_video_times(path, windows)
        return {
            "clip_uid": clip_uid,
            "video_path": str(path),
            "first_action_idx": int(observed[0]["action_idx"]),
            "input_window_start_sec": [w[0] for w in windows],
            "input_window_end_sec": [w[1] for w in windows],
            "input_verb_labels": [self._label(a, "verb_label") for a in observed],
            "input_noun_labels": [self._label(a, "noun_label") for a in observed],
            "future_verb_labels": [self._label(a, "verb_label") for a in future],
            "future_noun_labels": [self._label(a, "noun_label") for a in future],
        }

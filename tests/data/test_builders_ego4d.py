"""Ego4D builders on tiny fixtures in the official on-disk formats: labels and official clip semantics, test splits
without labels, null PNR of negatives, LTA window counts, and missing / truncated media reported, not raised."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import wavfile

from mthub.data.builders.base import read_report
from mthub.data.builders.ego4d_av import Ego4DAVActiveSpeaker
from mthub.data.builders.ego4d_fho import (
    Ego4DFHOLTA,
    Ego4DOSCCPNR,
    lta_windows,
    pnr_sample_frames,
)
from mthub.data.builders.ego4d_social import Ego4DSocial, clean_track, lam_window
from mthub.data.errors import CorruptSampleError
from mthub.testing.video_fixtures import truncate_file, write_index_video

SIZE = (64, 128)  # smallest frame the index-coded fixtures allow


def _dump(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


class _Splits:
    """Split access by name (``datasets`` cannot build a ``DatasetDict`` when a split is empty: all bad)."""

    def __init__(self, builder):
        self.builder = builder

    def __getitem__(self, split: str):
        return self.builder.as_dataset(split=split)


def _prepare(builder_cls, root: Path, cache: Path, **kwargs):
    builder = builder_cls(data_dir=str(root), cache_dir=str(cache), **kwargs)
    builder.download_and_prepare()
    return builder, _Splits(builder)


# --------------------------------------------------------------------------------------------------------------
# PNR / OSCC
# --------------------------------------------------------------------------------------------------------------
def _oscc_clip(uid, video, start, end, pnr=None, state=True, fps=30):
    clip = {
        "unique_id": uid, "video_uid": video, "clip_id": 1, "clip_uid": f"c-{uid}",
        "parent_start_sec": start / fps, "parent_end_sec": end / fps, "parent_start_frame": start, "parent_end_frame": end,
        "clip_start_sec": 0.0, "clip_end_sec": (end - start) / fps, "clip_start_frame": 0, "clip_end_frame": end - start,
        "state_change": state, "parent_pnr_frame": pnr, "clip_pnr_frame": None if pnr is None else pnr - start,
    }
    return clip


@pytest.fixture(scope="module")
def oscc_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("oscc")
    videos = root / "full_scale"
    videos.mkdir()
    write_index_video(videos / "vid-a.mp4", num_frames=300, fps=30, size=SIZE)
    write_index_video(videos / "vid-b.mp4", num_frames=300, fps=30, size=SIZE)
    truncate_file(videos / "vid-b.mp4", 0.3, videos / "vid-cut.mp4")
    ann = root / "annotations"
    _dump(ann / "fho_oscc-pnr_train.json", {"clips": [
        _oscc_clip("p1", "vid-a", 0, 240, pnr=120),
        _oscc_clip("p2", "vid-b", 10, 250, pnr=30),
        _oscc_clip("n1", "vid-a", 30, 270, pnr=None, state=False),
        _oscc_clip("gone", "vid-missing", 0, 240, pnr=100),
    ]})
    _dump(ann / "fho_oscc-pnr_val.json", {"clips": [_oscc_clip("v1", "vid-b", 0, 240, pnr=200), _oscc_clip("v2", "vid-cut", 0, 240, pnr=60)]})
    test_clip = {k: v for k, v in _oscc_clip("t1", "vid-a", 0, 240).items() if k.startswith("parent_") or k in ("unique_id", "video_uid")}
    test_clip.pop("parent_pnr_frame")
    _dump(ann / "fho_oscc-pnr_test_unannotated.json", {"clips": [test_clip]})
    return root


def test_pnr_sampling_uses_absolute_frame_numbers():
    frames, label = pnr_sample_frames(0, 240, 16, 120)
    assert frames == list(range(0, 240, 15)) and label == 8
    # same length, shifted window: the modulo rule picks the next multiple of 15, not the window start
    frames, label = pnr_sample_frames(10, 250, 16, 30)
    assert frames[0] == 15 and frames[-1] == 240 and label == 1
    with pytest.raises(ValueError):
        pnr_sample_frames(0, 10, 16)


def test_oscc_pnr_builder_reads_official_json_and_reports_bad_videos(oscc_root, tmp_path):
    builder, ds = _prepare(Ego4DOSCCPNR, oscc_root, tmp_path)
    train = {row["unique_id"]: row for row in ds["train"]}
    assert set(train) == {"p1", "p2", "n1"}
    p1 = train["p1"]
    assert p1["frame_numbers"] == list(range(0, 240, 15)) and p1["pnr"] == 8 and p1["oscc"] == 1
    assert p1["fps"] == pytest.approx(241 / 8.0)
    assert train["n1"]["pnr"] == -100 and train["n1"]["pnr_frame"] == -1 and train["n1"]["oscc"] == 0
    assert [row["unique_id"] for row in ds["val"]] == ["v1"]
    (test,) = list(ds["test"])
    assert test["pnr"] == -100 and test["oscc"] == -100 and len(test["frame_numbers"]) == 16
    report = read_report(builder)
    assert report.counts == {"train": 1, "val": 1, "test": 0}
    reasons = {r.id: r.reason for r in report.records}
    assert "gone" in reasons and "v2" in reasons
    assert any("vid-cut" in r.path for r in report.records)


def test_pnr_only_keeps_state_change_clips_and_strict_raises(oscc_root, tmp_path):
    _, ds = _prepare(Ego4DOSCCPNR, oscc_root, tmp_path / "a", tasks=("pnr",))
    assert {row["unique_id"] for row in ds["train"]} == {"p1", "p2"}
    with pytest.raises(CorruptSampleError):
        _prepare(Ego4DOSCCPNR, oscc_root, tmp_path / "b", strict=True)


def test_oscc_pnr_frames_layout_reports_a_missing_frame(tmp_path):
    root = tmp_path / "frames"
    _dump(root / "fho_oscc-pnr_train.json", {"clips": [_oscc_clip("p1", "v", 0, 240, pnr=120), _oscc_clip("p2", "v", 0, 240, pnr=50)]})
    for uid in ("p1", "p2"):
        folder = root / "pos_clips" / uid
        folder.mkdir(parents=True)
        for f in range(0, 240, 15):
            if uid == "p2" and f == 105:
                continue  # one sampled frame missing
            Image.fromarray(np.full((32, 32, 3), f % 255, np.uint8)).save(folder / f"{f}.jpeg")
    builder, ds = _prepare(Ego4DOSCCPNR, root, tmp_path / "cache")
    assert [row["unique_id"] for row in ds["train"]] == ["p1"]
    assert ds["train"][0]["source"].endswith("pos_clips/p1")
    (bad,) = read_report(builder).records
    assert bad.path.endswith("p2/105.jpeg")


# --------------------------------------------------------------------------------------------------------------
# AR / LTA
# --------------------------------------------------------------------------------------------------------------
def _actions(clip_uid, count, labelled=True):
    out = []
    for i in range(count):
        entry = {"clip_uid": clip_uid, "video_uid": "v", "clip_id": 0, "action_idx": i,
                 "action_clip_start_sec": 1.0 * i, "action_clip_end_sec": 1.0 * i + 1.0,
                 "action_clip_start_frame": 30 * i, "action_clip_end_frame": 30 * i + 30}
        if labelled:
            entry.update({"verb": "v", "noun": "n", "verb_label": i % 2, "noun_label": i % 3})
        out.append(entry)
    return out


@pytest.fixture(scope="module")
def lta_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("lta")
    clips = root / "clips"
    clips.mkdir()
    write_index_video(clips / "c25.mp4", num_frames=270, fps=10, size=SIZE)
    write_index_video(clips / "c22.mp4", num_frames=240, fps=10, size=SIZE)
    _dump(root / "fho_lta_taxonomy.json", {"verbs": ["take", "put"], "nouns": ["cup", "knife", "bowl"]})
    train = _actions("c25", 25) + _actions("c22", 22)
    import random

    random.Random(0).shuffle(train)  # the builder must sort by action_idx itself
    _dump(root / "fho_lta_train.json", {"clips": train})
    _dump(root / "fho_lta_val.json", {"clips": _actions("missing", 23)})
    _dump(root / "fho_lta_test_unannotated.json", {"clips": _actions("c25", 23, labelled=False)})
    return root


def test_lta_window_formula():
    assert len(lta_windows(25, 2, 20)) == 3 and len(lta_windows(22, 2, 20)) == 0 and len(lta_windows(23, 2, 20)) == 1
    observed, future = lta_windows(25, 2, 20)[2]
    assert list(observed) == [2, 3] and list(future) == list(range(4, 24))


def test_lta_forecasting_windows_and_reports(lta_root, tmp_path):
    builder, ds = _prepare(Ego4DFHOLTA, lta_root, tmp_path)
    train = sorted(ds["train"], key=lambda r: r["first_action_idx"])
    assert [r["clip_uid"] for r in train] == ["c25"] * 3  # 25 actions → 3 windows, 22 → none
    first = train[0]
    assert first["input_verb_labels"] == [0, 1] and first["future_verb_labels"] == [i % 2 for i in range(2, 22)]
    assert first["future_noun_labels"] == [i % 3 for i in range(2, 22)]
    duration = 32 * 2 / 30
    assert first["input_window_start_sec"][0] == pytest.approx(0.5 - duration / 2)
    (test,) = list(ds["test"])
    assert test["future_verb_labels"] == [-100] * 20
    report = read_report(builder)
    assert report.counts["val"] == 1 and "missing.mp4" in report.records[0].path


def test_ar_recognition_examples_with_taxonomy_names(lta_root, tmp_path):
    _, ds = _prepare(Ego4DFHOLTA, lta_root, tmp_path, mode="recognition")
    assert ds["train"].num_rows == 47
    row = next(r for r in ds["train"] if r["clip_uid"] == "c25" and r["action_idx"] == 4)
    assert (row["verb_label"], row["noun_label"], row["verb"], row["noun"]) == (0, 1, "take", "knife")
    assert row["window_end_sec"] - row["window_start_sec"] == pytest.approx(64 / 30)
    assert (row["window_start_sec"] + row["window_end_sec"]) / 2 == pytest.approx(4.5)
    assert all(r["verb_label"] == -100 and r["verb"] == "" for r in ds["test"])


# --------------------------------------------------------------------------------------------------------------
# Social (LAM / TTM) and AV (ASD)
# --------------------------------------------------------------------------------------------------------------
def _track(person, frames, x0=2):
    return [{"frameNumber": f, "x": x0, "y": 3, "width": 10, "height": 12, "Person ID": person} for f in frames]


@pytest.fixture(scope="module")
def social_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("social")
    uid = "clip-1"
    images = root / "video_imgs" / uid
    images.mkdir(parents=True)
    for f in range(1, 121):
        Image.fromarray(np.full((24, 32, 3), f, np.uint8)).save(images / f"img_{f:05d}.jpg")
    track_a = [b for b in _track("1", range(1, 101)) if b["frameNumber"] not in (20, 21)]  # a gap, interpolated
    _dump(root / "json_original" / uid / "0.json", track_a)
    _dump(root / "json_original" / uid / "1.json", _track("2", range(50, 121), x0=-4))
    _dump(root / "result_LAM" / f"{uid}.json", [{"label": "1", "start_frame": 10, "end_frame": 30}])
    _dump(root / "result_TTM" / f"{uid}.json", [
        {"label": "1", "start_frame": 5, "end_frame": 64, "tags": ["talking to me"]},  # positive, 60 frames
        {"label": "2", "start_frame": 60, "end_frame": 69},  # 10 frames: dropped in training
        {"label": "2", "start_frame": 1, "end_frame": 400},  # 400 frames: 2 chunks of 151, remainder dropped
    ])
    (root / "wave").mkdir()
    wavfile.write(root / "wave" / f"{uid}.wav", 16000, (0.1 * np.sin(np.arange(16000 * 15) / 10)).astype(np.float32))
    (root / "split").mkdir()
    (root / "split" / "train.list").write_text(f"{uid}\n")
    (root / "split" / "val.list").write_text("clip-gone\n")
    return root


def test_track_cleaning_and_lam_window():
    track = _track("1", [1, 2, 5]) + [{"frameNumber": 0, "x": 0, "y": 0, "width": 5, "height": 5, "Person ID": "1"}]
    track[0]["x"] = -3
    cleaned = clean_track(track)
    assert [b["frameNumber"] for b in cleaned] == [1, 2, 3, 4, 5]
    # x clamped and x2 = max(x, 0) + width: the box shifts right instead of being cropped (as released)
    assert cleaned[0]["x"] == 0 and cleaned[0]["width"] == 10
    assert lam_window(10, set(range(5, 20))) == list(range(7, 14))
    assert lam_window(10, {9, 10, 11, 13}) == [9, 9, 9, 10, 11, 13, 13]


def test_lam_examples_follow_the_official_stride_and_labels(social_root, tmp_path):
    builder, ds = _prepare(Ego4DSocial, social_root, tmp_path, tasks=("lam",))
    rows = list(ds["train"])
    per_track = {t: [r for r in rows if r["track_id"] == t] for t in ("0", "1")}
    assert len(per_track["0"]) == 8 and len(per_track["1"]) == 6  # ceil(100/13), ceil(71/13)
    labels = {r["frame"]: r["lam"] for r in per_track["0"]}
    assert labels[14] == 1 and labels[27] == 1 and labels[1] == 0 and labels[40] == 0
    first = per_track["0"][0]
    assert first["frame_numbers"] == [1, 1, 1, 1, 2, 3, 4]  # frames before 1 do not exist: edge padding
    assert per_track["1"][0]["boxes"][0][0] == 0.0  # negative x clamped
    assert read_report(builder).counts["val"] == 1  # the val clip's ground truth is missing


def test_ttm_segments_chunks_and_audio(social_root, tmp_path):
    _, ds = _prepare(Ego4DSocial, social_root, tmp_path, tasks=("ttm",))
    rows = sorted(ds["train"], key=lambda r: (r["segment_index"], r["start_frame"]))
    assert [(r["start_frame"], r["end_frame"], r["ttm"], r["segment_index"]) for r in rows] == [
        (5, 64, 1, 0), (1, 151, 0, 2), (151, 301, 0, 2)
    ]
    assert rows[0]["boxes"][0] == [2.0, 3.0, 12.0, 15.0] and rows[1]["boxes"][0][0] == -1.0  # person 2 not yet visible


def _av_json(clip_uid, labelled=True):
    def person(pid, frames, segments):
        track = [{"x": 4, "y": 4, "width": 20, "height": 20, "frame": f, "video_frame": 1000 + f, "clip_frame": None} for f in frames]
        entry = {"person_id": pid, "camera_wearer": False, "tracking_paths": [{"track_id": f"t{pid}", "track": track}]}
        entry["voice_segments"] = segments if labelled else []
        return entry

    clip = {
        "clip_uid": clip_uid, "video_uid": "v", "clip_start_frame": 0, "clip_end_frame": 200,
        "camera_wearer": {"person_id": "1", "camera_wearer": True, "voice_segments": []},
        "persons": [
            person("2", range(1, 201), [{"start_frame": 50, "end_frame": 80, "person": "2"}]),
            person("3", range(1, 121), []),
        ],
        "social_segments_talking": [{"start_frame": 50, "end_frame": 80, "person": "2", "target": "1", "is_at_me": True}],
        "social_segments_looking": [{"start_frame": 10, "end_frame": 40, "person": "3", "target": "1", "is_at_me": True}],
    }
    return {"videos": [{"video_uid": "v", "split": "train", "clips": [clip]}]}


def test_av_asd_tracks_labels_and_reports(tmp_path):
    root = tmp_path / "av"
    (root / "clips").mkdir(parents=True)
    write_index_video(root / "clips" / "c1.mp4", num_frames=210, fps=30, size=SIZE, with_audio=True, audio_rate=16000)
    _dump(root / "av_train.json", _av_json("c1"))
    _dump(root / "av_val.json", _av_json("c-missing"))
    _dump(root / "av_test_unannotated.json", _av_json("c1", labelled=False))
    builder, ds = _prepare(Ego4DAVActiveSpeaker, root, tmp_path / "cache", max_frames=150)
    rows = {(r["person_id"], r["chunk_index"]): r for r in ds["train"]}
    assert set(rows) == {("2", 0), ("2", 1), ("3", 0)}
    first = rows[("2", 0)]
    assert first["frame_numbers"][0] == 1 and len(first["frame_numbers"]) == 150
    assert first["asd"][48:50] == [0, 1] and first["asd"][79:81] == [1, 0]  # frames 50..80 speaking
    assert sum(rows[("3", 0)]["asd"]) == 0 and first["boxes"][0] == [4.0, 4.0, 24.0, 24.0]
    assert all(set(r["asd"]) == {-100} for r in ds["test"])
    assert read_report(builder).counts["val"] == 3  # the 3 track chunks of the missing clip are reported

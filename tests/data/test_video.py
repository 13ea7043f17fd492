"""mthub.data.video on generated files whose frames carry their own index (mthub.testing.video_fixtures).

Expected indices below are computed by hand from the documented conventions: frame i has timestamp
i / fps; a time maps to the nearest frame (ties to the later one); a segment [a, b) holds the frames
with timestamps in it; uniform sampling is floor(linspace(first, last, n)).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from mthub.data.errors import (
    AudioError,
    CorruptSampleError,
    CorruptVideoError,
    DatasetLayoutError,
    FrameOutOfRangeError,
    MTHubDataError,
    NotAVideoError,
    TruncatedVideoError,
    VideoError,
    VideoNotFoundError,
)
from mthub.data.video import (
    VideoReader,
    probe_video,
    read_audio,
    read_frames,
    read_frames_at_fps,
    read_frames_at_times,
    sample_uniform,
)
from mthub.testing.video_fixtures import (
    decode_frame_index,
    index_block_means,
    render_index_frame,
    truncate_file,
    write_index_video,
    write_not_a_video,
)

GOP = 12
SIZE = (64, 128)
H264_TOLERANCE = 8  # grey levels (issue 3 acceptance)

# name -> (writer kwargs, fps, num_frames)
VIDEOS = {
    # h264 mp4 with a 440 Hz mono AAC tone at 44.1 kHz
    "h264": dict(codec="h264", num_frames=100, fps=25, with_audio=True, audio_rate=44100, audio_freq_hz=440.0),
    # ffv1 mkv (lossless) with a 1 kHz stereo AAC tone at 48 kHz; 30 fps in a 1/1000 time base
    "ffv1": dict(
        codec="ffv1", num_frames=90, fps=30, with_audio=True, audio_rate=48000, audio_freq_hz=1000.0, audio_channels=2
    ),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    out = {
        "h264": write_index_video(root / "clip.mp4", size=SIZE, gop=GOP, **VIDEOS["h264"]),
        "ffv1": write_index_video(root / "clip.mkv", size=SIZE, gop=GOP, **VIDEOS["ffv1"]),
        "silent": write_index_video(root / "silent.mp4", num_frames=10, fps=10, size=SIZE),
        "text": write_not_a_video(root / "notes.mp4"),
    }
    out["h264_cut"] = truncate_file(out["h264"], 0.6, root / "clip_cut.mp4")
    out["ffv1_cut"] = truncate_file(out["ffv1"], 0.6, root / "clip_cut.mkv")
    # mp4 with its index (moov) at the end, as FFmpeg writes it without faststart: a cut copy loses it
    plain = write_index_video(root / "plain.mp4", num_frames=30, fps=25, size=SIZE, faststart=False)
    out["plain_cut"] = truncate_file(plain, 0.6, root / "plain_cut.mp4")
    return out


def indices_of(frames: np.ndarray, kind: str) -> list[int]:
    """Decode the drawn indices; h264 within ±8 grey levels, ffv1 bit-exact against what was written."""
    if kind == "ffv1":
        idx = [decode_frame_index(f) for f in frames]
        for i, f in zip(idx, frames, strict=True):
            np.testing.assert_array_equal(f, render_index_frame(i, SIZE))
        return idx
    return [decode_frame_index(f, max_deviation=H264_TOLERANCE) for f in frames]


# ---------------------------------------------------------------------------------------------- fixtures
def test_index_code_round_trip_and_rejects_garbage():
    for i in (0, 1, 5, 1000, 4095):
        frame = render_index_frame(i, SIZE)
        assert decode_frame_index(frame, max_deviation=0) == i
        np.testing.assert_array_equal(np.unique(index_block_means(frame)), [0.0, 255.0])
    with pytest.raises(ValueError, match="no valid index code"):
        decode_frame_index(np.full((*SIZE, 3), 200, np.uint8))
    with pytest.raises(ValueError, match="cells"):
        render_index_frame(0, (32, 32))


# ---------------------------------------------------------------------------------------------- metadata
@pytest.mark.parametrize("kind", ["h264", "ffv1"])
def test_probe(files, kind):
    spec = VIDEOS[kind]
    info = probe_video(files[kind])
    assert info.path == str(files[kind])
    assert (info.num_frames, info.fps, info.width, info.height) == (spec["num_frames"], spec["fps"], SIZE[1], SIZE[0])
    assert info.duration_s == pytest.approx(spec["num_frames"] / spec["fps"], abs=1e-3)
    assert info.codec == spec["codec"]
    assert info.has_audio and info.audio_sample_rate == spec["audio_rate"]
    # mp4 stores the frame count; Matroska does not (duration estimate confirmed by a tail scan)
    assert info.frame_count_source == {"h264": "header", "ffv1": "tail-scan"}[kind]
    assert probe_video(files[kind], exact=True).num_frames == spec["num_frames"]
    silent = probe_video(files["silent"])
    assert not silent.has_audio and silent.audio_sample_rate is None


# ---------------------------------------------------------------------------------------------- frames
@pytest.mark.parametrize("kind", ["h264", "ffv1"])
def test_read_frames_by_index_in_requested_order(files, kind):
    n = VIDEOS[kind]["num_frames"]
    request = [0, 7, n - 1, 3, 7, n // 2, 0]  # unordered, with repeats
    frames = read_frames(files[kind], request)
    assert frames.shape == (len(request), *SIZE, 3) and frames.dtype == np.uint8
    assert indices_of(frames, kind) == request
    assert read_frames(files[kind], []).shape == (0, *SIZE, 3)


@pytest.mark.parametrize("kind", ["h264", "ffv1"])
def test_read_every_frame(files, kind):
    n = VIDEOS[kind]["num_frames"]
    assert indices_of(read_frames(files[kind], np.arange(n)), kind) == list(range(n))


@pytest.mark.parametrize(
    ("kind", "times", "expected"),
    [
        # 25 fps: t*25 = 0, 0.475, 0.525, 25, 62.5 (tie -> later), 99.75 (-> 100, clamped to the last frame)
        ("h264", [0.0, 0.019, 0.021, 1.0, 2.5, 3.99], [0, 0, 1, 25, 63, 99]),
        # 30 fps: t*30 = 0.48, 0.51, 45, 66.3, 89.7 (-> 90, clamped)
        ("ffv1", [0.0, 0.016, 0.017, 1.5, 2.21, 2.99], [0, 0, 1, 45, 66, 89]),
    ],
)
def test_read_frames_at_times(files, kind, times, expected):
    assert indices_of(read_frames_at_times(files[kind], times), kind) == expected


@pytest.mark.parametrize(
    ("kind", "target_fps", "start_s", "end_s", "expected"),
    [
        # 25 -> 10 fps over [0, 1): t = k/10, t*25 = 0, 2.5, 5, 7.5, ... (ties to the later frame)
        ("h264", 10, 0.0, 1.0, [0, 3, 5, 8, 10, 13, 15, 18, 20, 23]),
        # 25 -> 5 fps over the whole 4 s video: every 5th frame
        ("h264", 5, 0.0, None, list(range(0, 100, 5))),
        # 30 -> 12 fps over [1, 2): t*30 = 30 + 2.5k
        ("ffv1", 12, 1.0, 2.0, [30, 33, 35, 38, 40, 43, 45, 48, 50, 53, 55, 58]),
        # upsampling 30 -> 60 fps over [2.9, 3.0): t*30 = 87, 87.5, 88, 88.5, 89, 89.5 (-> 90, clamped)
        ("ffv1", 60, 2.9, None, [87, 88, 88, 89, 89, 89]),
    ],
)
def test_read_frames_at_fps(files, kind, target_fps, start_s, end_s, expected):
    frames = read_frames_at_fps(files[kind], target_fps, start_s=start_s, end_s=end_s)
    assert indices_of(frames, kind) == expected


@pytest.mark.parametrize(
    ("kind", "num", "start_s", "end_s", "expected"),
    [
        # whole video: floor(linspace(0, 99, 8)) = 0, 14.14, 28.29, 42.43, 56.57, 70.71, 84.86, 99
        ("h264", 8, None, None, [0, 14, 28, 42, 56, 70, 84, 99]),
        # [1, 2) s at 25 fps holds frames 25..49: linspace(25, 49, 5)
        ("h264", 5, 1.0, 2.0, [25, 31, 37, 43, 49]),
        # [0.5, 1.5) s at 30 fps holds frames 15..44: 15, 24.67, 34.33, 44
        ("ffv1", 4, 0.5, 1.5, [15, 24, 34, 44]),
        # more samples than frames in [0, 0.1) (frames 0..2): repeats
        ("ffv1", 5, 0.0, 0.1, [0, 0, 1, 1, 2]),
    ],
)
def test_sample_uniform(files, kind, num, start_s, end_s, expected):
    frames = sample_uniform(files[kind], num, start_s=start_s, end_s=end_s)
    assert indices_of(frames, kind) == expected


@pytest.mark.parametrize("kind", ["h264", "ffv1"])
def test_seeking_decodes_about_one_gop_not_the_prefix(files, kind):
    n = VIDEOS[kind]["num_frames"]
    with VideoReader(files[kind]) as reader:
        late = n - 5
        assert indices_of(reader.get_frames([late]), kind) == [late]
        # decoding starts at the keyframe at or before `late` (keyframes every GOP frames)
        assert reader.seeks == 1 and reader.frames_decoded <= GOP
        reader.frames_decoded = reader.seeks = 0
        # sparse, far-apart requests seek again instead of decoding the frames in between
        assert indices_of(reader.get_frames([n - 3, 2, n // 2]), kind) == [n - 3, 2, n // 2]
        assert reader.seeks == 3 and reader.frames_decoded <= 3 * GOP
        # nearby requests continue decoding forward (no seek)
        reader.frames_decoded = reader.seeks = 0
        assert indices_of(reader.get_frames([20, 22, 25]), kind) == [20, 22, 25]
        assert reader.seeks == 1 and reader.frames_decoded <= GOP + 5


# ---------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("kind", ["h264", "ffv1"])
def test_truncated_copy_names_file_and_frame(files, kind):
    cut = files[f"{kind}_cut"]
    # frames well before the cut still decode, exactly
    assert indices_of(read_frames(cut, [5, 20]), kind) == [5, 20]
    for request in ([80], [5, 80]):
        with pytest.raises(TruncatedVideoError) as info:
            read_frames(cut, request)
        err = info.value
        assert isinstance(err, FrameOutOfRangeError) and isinstance(err, CorruptVideoError)
        assert str(cut) in str(err) and "frame 80" in str(err) and "truncated" in str(err)
        assert err.path == str(cut)
    with pytest.raises(TruncatedVideoError, match="frame 80"):
        read_frames_at_times(cut, [80 / VIDEOS[kind]["fps"]])


def test_garbage_inside_the_stream_is_corrupt(files, tmp_path):
    data = bytearray(files["ffv1"].read_bytes())
    middle = len(data) // 2
    data[middle : middle + 2000] = np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    broken = tmp_path / "broken.mkv"
    broken.write_bytes(bytes(data))
    assert indices_of(read_frames(broken, [0, 5]), "ffv1") == [0, 5]  # before the damage: fine
    with pytest.raises(CorruptVideoError, match=r"decoding failed while reading frame \d+") as info:
        read_frames(broken, np.arange(VIDEOS["ffv1"]["num_frames"]))
    assert str(broken) in str(info.value)


def test_truncated_mp4_without_faststart_is_corrupt(files):
    cut = files["plain_cut"]
    with pytest.raises(CorruptVideoError, match="corrupt or truncated") as info:
        read_frames(cut, [0])
    assert str(cut) in str(info.value) and not isinstance(info.value, NotAVideoError)


def test_text_file_named_mp4(files):
    text = files["text"]
    for call in (lambda: read_frames(text, [0]), lambda: probe_video(text), lambda: read_audio(text)):
        with pytest.raises(NotAVideoError) as info:
            call()
        assert str(text) in str(info.value) and info.value.path == str(text)
        assert isinstance(info.value, ValueError)


def test_missing_empty_and_directory(files, tmp_path):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(VideoNotFoundError) as info:
        read_frames(missing, [0])
    assert isinstance(info.value, FileNotFoundError) and str(missing) in str(info.value)
    assert info.value.filename == str(missing)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(NotAVideoError, match="empty"):
        probe_video(empty)
    with pytest.raises(NotAVideoError, match="directory"):
        probe_video(tmp_path)


def test_requests_outside_the_video(files):
    path = files["h264"]  # 100 frames, 4 s
    cases = [
        (lambda: read_frames(path, [100]), "frame 100"),
        (lambda: read_frames(path, [3, -1]), "frame -1"),
        (lambda: read_frames_at_times(path, [4.0]), "t=4.0000s"),
        (lambda: read_frames_at_times(path, [-0.5]), "t=-0.5000s"),
        (lambda: read_frames_at_fps(path, 5, start_s=1.0, end_s=5.0), r"\[1.0000, 5.0000\)"),
        (lambda: sample_uniform(path, 4, start_s=3.0, end_s=2.0), r"\[3.0000, 2.0000\)"),
        (lambda: sample_uniform(path, 4, start_s=1.01, end_s=1.02), "contains no frame"),
    ]
    for call, requested in cases:
        with pytest.raises(FrameOutOfRangeError, match=requested) as info:
            call()
        assert str(path) in str(info.value) and "frames 0..99" in str(info.value)
    with pytest.raises(TypeError, match="integers"):
        read_frames(path, [1.5])


# ---------------------------------------------------------------------------------------------- audio
def _fit_tone(x: np.ndarray, sample_rate: int, freq: float, start_s: float) -> tuple[float, float]:
    """Least-squares fit x(t) ~ a sin(w t) + b cos(w t), t = start_s + n / sr: (amplitude, time shift in s)."""
    t = start_s + np.arange(x.size) / sample_rate
    w = 2 * np.pi * freq
    basis = np.stack([np.sin(w * t), np.cos(w * t)], axis=1)
    (a, b), *_ = np.linalg.lstsq(basis, x.astype(np.float64), rcond=None)
    return float(np.hypot(a, b)), float(np.arctan2(b, a) / w)  # x ~ A sin(w (t + shift))


@pytest.mark.parametrize(
    ("kind", "sample_rate", "start_s", "end_s"),
    [("h264", 16000, 0.0, None), ("h264", 16000, 1.3, 2.0), ("h264", 8000, 0.5, 3.5), ("ffv1", 16000, 1.0, 2.5)],
)
def test_read_audio_mono_rate_length_frequency_and_alignment(files, kind, sample_rate, start_s, end_s):
    spec = VIDEOS[kind]
    audio = read_audio(files[kind], sample_rate=sample_rate, start_s=start_s, end_s=end_s)
    end = spec["num_frames"] / spec["fps"] if end_s is None else end_s
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert audio.shape == (round((end - start_s) * sample_rate),)
    # the tone's frequency is the FFT peak (bin width sample_rate / N = 1/(end-start) Hz)
    peak_hz = np.argmax(np.abs(np.fft.rfft(audio))) * sample_rate / audio.size
    assert peak_hz == pytest.approx(spec["audio_freq_hz"], abs=sample_rate / audio.size)
    # amplitude 0.5 survives AAC + resampling; stereo is mixed by the mean, so identical channels stay 0.5;
    # the samples are aligned to the requested start within one output sample
    core = slice(int(0.1 * sample_rate), audio.size - int(0.1 * sample_rate))  # skip AAC onset/offset artefacts
    amplitude, shift = _fit_tone(audio[core], sample_rate, spec["audio_freq_hz"], start_s + core.start / sample_rate)
    assert amplitude == pytest.approx(0.5, abs=0.02)
    assert abs(shift) < 1.0 / sample_rate


def test_read_audio_to_the_end_of_a_matroska_stream(files):
    # Matroska records no exact audio duration: end_s=None reads to where the stream ends (AAC pads the last
    # 1024-sample frame), which is at least the 3 s written and less than one AAC frame more.
    audio = read_audio(files["ffv1"], sample_rate=16000)
    assert 48000 <= audio.size <= 48000 + 1024 * 16000 // 48000 + 2


def test_read_audio_errors(files):
    with pytest.raises(AudioError, match="has no audio stream") as info:
        read_audio(files["silent"])
    assert str(files["silent"]) in str(info.value)
    with pytest.raises(AudioError, match="outside the audio") as info:
        read_audio(files["h264"], start_s=3.0, end_s=4.5)
    assert str(files["h264"]) in str(info.value)
    # the cut copy still declares 4 s of audio, but the stream ends early: an error, not short audio
    with pytest.raises(AudioError, match="ended at") as info:
        read_audio(files["h264_cut"], start_s=0.0, end_s=3.9)
    assert str(files["h264_cut"]) in str(info.value)


# ---------------------------------------------------------------------------------------------- error types
def test_error_hierarchy_and_pickling(tmp_path):
    err = TruncatedVideoError("/data/a.mp4", "frame 9 is missing", requested="frame 9", available="frames 0..4")
    assert isinstance(err, (CorruptVideoError, FrameOutOfRangeError, VideoError, MTHubDataError, ValueError))
    assert str(err) == "/data/a.mp4: frame 9 is missing"
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is TruncatedVideoError and str(back) == str(err)
    assert (back.path, back.requested, back.available) == ("/data/a.mp4", "frame 9", "frames 0..4")
    # DataLoader workers re-raise with a single message argument
    assert str(CorruptSampleError("/data/b.mp4: cannot decode")) == "/data/b.mp4: cannot decode"

    sample = CorruptSampleError("/data/b.mp4", "decoding frame 3 failed")
    assert (sample.path, sample.reason) == ("/data/b.mp4", "decoding frame 3 failed")
    assert pickle.loads(pickle.dumps(sample)).reason == sample.reason

    (tmp_path / "images").mkdir()
    layout = DatasetLayoutError(tmp_path, expected=["images", "depth"], missing=["depth"])
    assert isinstance(layout, FileNotFoundError) and isinstance(layout, MTHubDataError)
    assert str(tmp_path) in str(layout) and "MISSING depth" in str(layout) and "found   images" in str(layout)
    assert pickle.loads(pickle.dumps(layout)).missing == ["depth"]

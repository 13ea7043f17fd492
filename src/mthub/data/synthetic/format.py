"""The mthub synthetic-scene on-disk format: one directory per clip, a dataset ``meta.json`` and split lists.

The layout, every file's content and the axis conventions are documented in ``docs/synthetic_format.md``; this
module is its reference writer and reader. In short::

    <root>/
      meta.json                      dataset-level: class names, palette, action names, keypoint layout, ...
      splits/<split>.txt             clip ids, one per line
      clips/<clip_id>/
        rgb.mp4                      H.264 (PyAV), or frames/000000.png ... with rgb_format="png"
        depth.npy                    (T, H, W) float32 z-depth in metres, 0 = invalid
        normals.npy                  (T, H, W, 3) float16 (or float32) unit normals, NYU camera axes, 0 = invalid
        segmentation/000000.png ...  palette PNGs of class ids (0 = background, 255 = ignore)
        instances.npy                (T, H, W) uint8 object ids (0 = none, k = annotations.objects[k-1])
        annotations.json             per frame: boxes, 3D keypoints + visibility, camera; per clip: action, seed

The format is generic: every per-pixel modality is optional (``annotations.json["files"]`` names the ones that
exist, ``null`` for the others), so converters of other synthetic sources (PViT's PHAV, SURREACT, HyperSim,
EHOI, ...) write what they have with :func:`write_clip` and a :class:`DatasetMeta` of their own label spaces.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mthub.data.errors import CorruptSampleError, DatasetLayoutError

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "IGNORE_INDEX",
    "Clip",
    "DatasetMeta",
    "annotation_arrays",
    "clip_path",
    "list_splits",
    "normals_nyu_to_opencv",
    "project_points",
    "read_annotations",
    "read_clip",
    "read_label_maps",
    "read_meta",
    "read_rgb",
    "read_split",
    "write_clip",
    "write_meta",
    "write_split",
]

FORMAT_NAME = "mthub-synthetic-scenes"
FORMAT_VERSION = 1
#: Segmentation value of pixels without a label (converted sources); depth/normals use 0 for "invalid".
IGNORE_INDEX = 255

_FRAME_NAME = "{:06d}.png"
_MODALITIES = ("rgb", "depth", "normals", "segmentation", "instances")


# ------------------------------------------------------------------------------------------------ in memory
@dataclass
class Clip:
    """One clip with all its labels, as arrays (``T`` frames, ``H x W`` pixels, ``O`` objects, ``K`` joints).

    Attributes:
        rgb: ``(T, H, W, 3)`` uint8.
        depth: ``(T, H, W)`` float32 z-depth (metres along the optical axis, not ray length); 0 = invalid / sky.
        normals: ``(T, H, W, 3)`` unit surface normals in the camera frame with NYU-Depth-v2 axes (``x`` right,
            ``y`` down, ``z`` towards the camera); ``(0, 0, 0)`` = invalid. float16 as generated and stored.
        segmentation: ``(T, H, W)`` uint8 class ids (``meta.class_names``; 0 = background, 255 = ignore).
        instances: ``(T, H, W)`` uint8, 0 = no object, ``k`` = object ``k - 1``.
        object_classes: ``(O,)`` int64 class id of each object.
        boxes: ``(T, O, 4)`` float32 ``(cx, cy, w, h)`` normalised by image width/height.
        box_valid: ``(T, O)`` bool, the object is visible in the frame (its box is meaningful).
        keypoints: ``(T, O, K, 3)`` float32 3D joints in the OpenCV camera frame (metres, ``x`` right, ``y``
            down, ``z`` forward); zeros for objects without a skeleton.
        keypoints_visible: ``(T, O, K)`` bool.
        intrinsics: ``(T, 3, 3)`` float32 pixel ``K`` (pixel ``(i, j)`` centre at ``u = j + 0.5, v = i + 0.5``).
        world_to_camera: ``(T, 4, 4)`` float32 world -> OpenCV camera.
        action: clip action class id (``meta.action_names``); ``action_name`` its name.
        clip_id, fps, seed: identity, frame rate, generator seed (``None`` for converted data).
        object_centers: optional ``(T, O, 3)`` float32 object centres in the camera frame.
        info: free-form JSON-serialisable extras (generator parameters, source ids).
    """

    rgb: np.ndarray
    depth: np.ndarray | None
    normals: np.ndarray | None
    segmentation: np.ndarray | None
    instances: np.ndarray | None
    object_classes: np.ndarray
    boxes: np.ndarray
    box_valid: np.ndarray
    keypoints: np.ndarray
    keypoints_visible: np.ndarray
    intrinsics: np.ndarray
    world_to_camera: np.ndarray
    action: int
    action_name: str
    clip_id: str = ""
    fps: float = 8.0
    seed: int | None = None
    object_centers: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[2])

    @property
    def num_objects(self) -> int:
        return int(self.object_classes.shape[0])

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field whose shape or dtype disagrees with the others."""
        t, h, w = self.num_frames, self.height, self.width
        o, k = self.num_objects, int(self.keypoints.shape[2]) if self.keypoints.ndim == 4 else -1
        expect: dict[str, tuple[Any, tuple[int, ...]]] = {
            "rgb": (np.uint8, (t, h, w, 3)),
            "depth": (np.float32, (t, h, w)),
            "normals": (None, (t, h, w, 3)),
            "segmentation": (np.uint8, (t, h, w)),
            "instances": (np.uint8, (t, h, w)),
            "boxes": (None, (t, o, 4)),
            "box_valid": (np.bool_, (t, o)),
            "keypoints": (None, (t, o, k, 3)),
            "keypoints_visible": (np.bool_, (t, o, k)),
            "intrinsics": (None, (t, 3, 3)),
            "world_to_camera": (None, (t, 4, 4)),
            "object_centers": (None, (t, o, 3)),
        }
        for name, (dtype, shape) in expect.items():
            arr = getattr(self, name)
            if arr is None:
                continue
            if tuple(arr.shape) != shape:
                raise ValueError(f"Clip {self.clip_id!r}: {name} has shape {tuple(arr.shape)}, expected {shape}")
            if dtype is not None and arr.dtype != dtype:
                raise ValueError(f"Clip {self.clip_id!r}: {name} has dtype {arr.dtype}, expected {np.dtype(dtype)}")


@dataclass
class DatasetMeta:
    """Dataset-level metadata (``meta.json``).

    Attributes:
        class_names: segmentation class names by id (id 0 is the background/unlabelled class).
        palette: ``[[r, g, b], ...]`` colour of each class id in the segmentation PNGs.
        action_names: clip action classes by id.
        keypoint_names: the ``K`` joint names (25 Kinect-v2 joints for the generator).
        skeleton: ``[[parent, child], ...]`` joint-index pairs (for drawing).
        max_objects: ``O`` the builders pad per-clip object lists to.
        fps: frame rate (``None`` if clips differ).
        height, width: frame size (``None`` if clips differ).
        modalities: which of rgb/depth/normals/segmentation/instances the clips carry.
        ignore_index: segmentation value of unlabelled pixels.
        source: where the data comes from (generator name, version and parameters, or a converter's source).
        format, format_version: :data:`FORMAT_NAME`, :data:`FORMAT_VERSION`.
    """

    class_names: list[str]
    palette: list[list[int]]
    action_names: list[str]
    keypoint_names: list[str]
    skeleton: list[list[int]]
    max_objects: int
    fps: float | None = None
    height: int | None = None
    width: int | None = None
    modalities: list[str] = field(default_factory=lambda: list(_MODALITIES))
    ignore_index: int = IGNORE_INDEX
    source: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], path: str | os.PathLike[str] = "meta.json") -> DatasetMeta:
        if d.get("format") != FORMAT_NAME:
            raise ValueError(f"{path}: not an {FORMAT_NAME} meta file (format={d.get('format')!r})")
        if int(d.get("format_version", -1)) > FORMAT_VERSION:
            raise ValueError(f"{path}: format_version {d['format_version']} is newer than this reader ({FORMAT_VERSION})")
        known = set(cls.__dataclass_fields__)
        missing = [k for k in ("class_names", "palette", "action_names", "keypoint_names", "skeleton", "max_objects") if k not in d]
        if missing:
            raise ValueError(f"{path}: missing field(s) {missing}")
        return cls(**{k: v for k, v in d.items() if k in known})


# ------------------------------------------------------------------------------------------- dataset level
def write_meta(root: str | os.PathLike[str], meta: DatasetMeta) -> Path:
    """Write ``<root>/meta.json``."""
    path = Path(root) / "meta.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(meta.to_dict(), indent=1) + "\n", encoding="utf-8")
    return path


def read_meta(root: str | os.PathLike[str]) -> DatasetMeta:
    """Read ``<root>/meta.json``; a missing file raises :class:`DatasetLayoutError` listing the layout."""
    path = Path(root) / "meta.json"
    if not path.is_file():
        raise DatasetLayoutError(root, expected=["meta.json", "splits/", "clips/"], missing=["meta.json"],
                                 hint="generate one with mthub.data.synthetic.generate_dataset(out_dir, ...)")  # fmt: skip
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: invalid JSON ({err})") from None
    return DatasetMeta.from_dict(d, path)


def write_split(root: str | os.PathLike[str], split: str, clip_ids: Iterable[str]) -> Path:
    """Write ``<root>/splits/<split>.txt`` (one clip id per line)."""
    path = Path(root) / "splits" / f"{split}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{c}\n" for c in clip_ids), encoding="utf-8")
    return path


def list_splits(root: str | os.PathLike[str]) -> list[str]:
    """Names of the splits of a dataset (sorted)."""
    d = Path(root) / "splits"
    return sorted(p.stem for p in d.glob("*.txt")) if d.is_dir() else []


def read_split(root: str | os.PathLike[str], split: str) -> list[str]:
    """Clip ids of ``split``; an unknown split raises :class:`DatasetLayoutError` naming the available ones."""
    path = Path(root) / "splits" / f"{split}.txt"
    if not path.is_file():
        raise DatasetLayoutError(root, expected=[f"splits/{split}.txt"],
                                 hint=f"available splits: {', '.join(list_splits(root)) or '(none)'}")  # fmt: skip
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def clip_path(root: str | os.PathLike[str], clip_id: str) -> Path:
    """Directory of clip ``clip_id`` inside a dataset."""
    return Path(root) / "clips" / clip_id


# ----------------------------------------------------------------------------------------------- clip level
def _palette_bytes(palette: Sequence[Sequence[int]] | None) -> list[int]:
    flat = [0] * (256 * 3)
    flat[IGNORE_INDEX * 3 : IGNORE_INDEX * 3 + 3] = [255, 255, 255]
    for i, rgb in enumerate(palette or []):
        flat[3 * i : 3 * i + 3] = [int(c) for c in rgb]
    return flat


def _write_mp4(path: Path, rgb: np.ndarray, fps: float, crf: int) -> None:
    import av

    # yuv444p keeps full chroma resolution (small textured objects keep their colours) and allows odd sizes;
    # one x264 thread: the generator parallelises over clips.
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = rgb.shape[2], rgb.shape[1]
        stream.pix_fmt = "yuv444p"
        stream.options = {"crf": str(crf), "preset": "veryfast", "threads": "1"}
        for frame in rgb:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")))
        container.mux(stream.encode())


def _per_frame_png(arr: np.ndarray, directory: Path, palette: list[int] | None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(arr):
        im = Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8), mode="L")
        if palette is not None:
            im.putpalette(palette)  # "L" -> "P": the stored values are the class ids, the palette only colours them
        im.save(directory / _FRAME_NAME.format(i), compress_level=1)


def _floats(a: np.ndarray) -> list[Any]:
    # float32 -> Python float is exact and json writes the shortest repr that reads back to the same double,
    # so a float32 array survives the JSON round trip bit for bit.
    return np.asarray(a, np.float32).astype(np.float64).tolist()


def write_clip(
    clip: Clip,
    out_dir: str | os.PathLike[str],
    *,
    rgb_format: str = "mp4",
    crf: int = 0,
    normals_dtype: str = "float16",
    palette: Sequence[Sequence[int]] | None = None,
    class_names: Sequence[str] | None = None,
) -> Path:
    """Write ``clip`` to directory ``out_dir`` (created; existing files are overwritten).

    Args:
        rgb_format: ``"mp4"`` (H.264 4:4:4 via PyAV) or ``"png"`` (lossless ``frames/``).
        crf: x264 constant rate factor. The default 0 is lossless in YUV: decoded frames differ from the input
            by the RGB<->YUV rounding only (at most 2 levels); about 2x the size of ``crf=17`` (mean error ~2,
            max ~50 levels at 128x128), still small next to the depth and normal arrays. Only ``crf=0`` output is
            byte-reproducible: the lossy x264 encodes measured here differ from run to run (by a few levels).
        normals_dtype: ``"float16"`` (half the size; 1e-3 precision, < 0.1 degree) or ``"float32"``.
        palette: class colours for the segmentation PNGs (``meta.palette``).
        class_names: names written next to the object class ids in ``annotations.json``.

    Returns:
        ``out_dir`` as a ``Path``.
    """
    clip.validate()
    if rgb_format not in ("mp4", "png"):
        raise ValueError(f"rgb_format must be 'mp4' or 'png', got {rgb_format!r}")
    if normals_dtype not in ("float16", "float32"):
        raise ValueError(f"normals_dtype must be 'float16' or 'float32', got {normals_dtype!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str | None] = dict.fromkeys(_MODALITIES)
    if rgb_format == "mp4":
        _write_mp4(out / "rgb.mp4", clip.rgb, clip.fps, crf)
        files["rgb"] = "rgb.mp4"
    else:
        (out / "frames").mkdir(exist_ok=True)
        for i, frame in enumerate(clip.rgb):
            Image.fromarray(frame, mode="RGB").save(out / "frames" / _FRAME_NAME.format(i), compress_level=1)
        files["rgb"] = "frames/" + _FRAME_NAME.replace("{:06d}", "{index:06d}")
    if clip.depth is not None:
        np.save(out / "depth.npy", np.ascontiguousarray(clip.depth, np.float32))
        files["depth"] = "depth.npy"
    if clip.normals is not None:
        np.save(out / "normals.npy", np.ascontiguousarray(clip.normals, normals_dtype))
        files["normals"] = "normals.npy"
    if clip.segmentation is not None:
        _per_frame_png(clip.segmentation, out / "segmentation", _palette_bytes(palette))
        files["segmentation"] = "segmentation/{index:06d}.png"
    if clip.instances is not None:  # one array, not T more PNG files: file creation dominates small writes
        np.save(out / "instances.npy", np.ascontiguousarray(clip.instances, np.uint8))
        files["instances"] = "instances.npy"

    names = list(class_names) if class_names is not None else None
    objects = [
        {"instance_id": k + 1, "class_id": int(c), **({"class_name": names[int(c)]} if names else {})}
        for k, c in enumerate(clip.object_classes)
    ]
    frames = []
    for t in range(clip.num_frames):
        fr: dict[str, Any] = {
            "index": t,
            "boxes": [[*_floats(clip.boxes[t, k]), int(bool(clip.box_valid[t, k]))] for k in range(clip.num_objects)],
            "keypoints": [_floats(clip.keypoints[t, k]) for k in range(clip.num_objects)],
            "keypoints_visible": [clip.keypoints_visible[t, k].astype(int).tolist() for k in range(clip.num_objects)],
            "camera": {"intrinsics": _floats(clip.intrinsics[t]), "world_to_camera": _floats(clip.world_to_camera[t])},
        }
        if clip.object_centers is not None:
            fr["object_centers"] = _floats(clip.object_centers[t])
        frames.append(fr)
    ann = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "clip_id": clip.clip_id,
        "num_frames": clip.num_frames,
        "height": clip.height,
        "width": clip.width,
        "fps": float(clip.fps),
        "seed": clip.seed,
        "action": {"id": int(clip.action), "name": clip.action_name},
        "num_keypoints": int(clip.keypoints.shape[2]),
        "objects": objects,
        "files": files,
        "info": clip.info,
        "frames": frames,
    }
    (out / "annotations.json").write_text(json.dumps(ann, separators=(",", ":")) + "\n", encoding="utf-8")
    return out


def read_annotations(clip_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Parsed ``annotations.json`` of a clip; a missing or invalid file raises :class:`CorruptSampleError`."""
    path = Path(clip_dir) / "annotations.json"
    try:
        ann = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorruptSampleError(path, "file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptSampleError(path, f"cannot read annotations ({type(err).__name__}: {err})") from None
    if ann.get("format") != FORMAT_NAME:
        raise CorruptSampleError(path, f"not an {FORMAT_NAME} annotation file (format={ann.get('format')!r})")
    for key in ("num_frames", "height", "width", "action", "objects", "files", "frames"):
        if key not in ann:
            raise CorruptSampleError(path, f"missing field {key!r}")
    if len(ann["frames"]) != ann["num_frames"]:
        raise CorruptSampleError(path, f"{len(ann['frames'])} frame entries but num_frames = {ann['num_frames']}")
    return ann


def _frame_files(clip_dir: Path, pattern: str, n: int) -> list[Path]:
    return [clip_dir / pattern.format(index=i) for i in range(n)]


def _read_pngs(paths: list[Path], shape: tuple[int, int]) -> np.ndarray:
    out = np.empty((len(paths), *shape), np.uint8)
    for i, p in enumerate(paths):
        try:
            with Image.open(p) as im:
                im.load()
                arr = np.asarray(im)  # "P"/"L": the stored indices, i.e. class / instance ids
        except FileNotFoundError:
            raise CorruptSampleError(p, "file not found") from None
        except Exception as err:  # noqa: BLE001  (PIL raises OSError, SyntaxError, ValueError, ...)
            raise CorruptSampleError(p, f"cannot decode image ({type(err).__name__}: {err})") from None
        if arr.shape != shape:
            raise CorruptSampleError(p, f"label image has shape {arr.shape}, expected {shape} (H, W)")
        out[i] = arr
    return out


def read_label_maps(clip_dir: Path, rel: str, t: int, h: int, w: int) -> np.ndarray:
    """``(T, H, W)`` uint8 label maps stored either per frame (``rel`` a ``{index:06d}`` PNG pattern) or as one
    ``.npy`` array; raises :class:`CorruptSampleError` naming the bad file."""
    if "{index" in rel:
        return _read_pngs(_frame_files(clip_dir, rel, t), (h, w))
    arr = _read_npy(clip_dir / rel, (t, h, w))
    if arr.dtype != np.uint8:
        raise CorruptSampleError(clip_dir / rel, f"label array has dtype {arr.dtype}, expected uint8")
    return np.asarray(arr)


def _read_npy(path: Path, shape: tuple[int, ...], mmap: bool = False) -> np.ndarray:
    try:
        arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise CorruptSampleError(path, "file not found") from None
    except (ValueError, OSError, EOFError) as err:
        raise CorruptSampleError(path, f"cannot load .npy ({type(err).__name__}: {err})") from None
    if tuple(arr.shape) != shape:
        raise CorruptSampleError(path, f"array has shape {tuple(arr.shape)}, expected {shape}")
    return arr


def read_rgb(clip_dir: str | os.PathLike[str], ann: dict[str, Any], indices: Sequence[int] | None = None) -> np.ndarray:
    """Frames ``indices`` (default all) of a clip as ``(N, H, W, 3)`` uint8; mp4 is decoded by
    :func:`mthub.data.video.read_frames` (PyAV)."""
    clip_dir = Path(clip_dir)
    idx = list(range(ann["num_frames"])) if indices is None else [int(i) for i in indices]
    rgb_file = ann["files"].get("rgb")
    if rgb_file is None:
        raise CorruptSampleError(clip_dir / "annotations.json", "the clip has no rgb file")
    if "{index" in rgb_file:
        frames = []
        for i in idx:
            p = clip_dir / rgb_file.format(index=i)
            try:
                with Image.open(p) as im:
                    frames.append(np.asarray(im.convert("RGB")))
            except FileNotFoundError:
                raise CorruptSampleError(p, "file not found") from None
            except Exception as err:  # noqa: BLE001  (PIL raises OSError, SyntaxError, ValueError, ...)
                raise CorruptSampleError(p, f"cannot decode image ({type(err).__name__}: {err})") from None
        return np.stack(frames) if frames else np.zeros((0, ann["height"], ann["width"], 3), np.uint8)
    from mthub.data.video import read_frames

    return read_frames(clip_dir / rgb_file, idx)


def read_clip(clip_dir: str | os.PathLike[str], *, mmap: bool = False) -> Clip:
    """Read a clip directory written by :func:`write_clip` (or a converter) back into a :class:`Clip`.

    Args:
        mmap: memory-map ``depth.npy`` / ``normals.npy`` instead of loading them.

    Raises:
        CorruptSampleError: a file is missing, undecodable or has the wrong shape (the error names the file).
        mthub.data.errors.VideoError: the RGB video cannot be decoded as needed.
    """
    clip_dir = Path(clip_dir)
    ann = read_annotations(clip_dir)
    t, h, w = int(ann["num_frames"]), int(ann["height"]), int(ann["width"])
    files = ann["files"]
    rgb = read_rgb(clip_dir, ann)
    if rgb.shape != (t, h, w, 3):
        raise CorruptSampleError(clip_dir / files["rgb"], f"decoded frames have shape {rgb.shape}, expected {(t, h, w, 3)}")
    depth = _read_npy(clip_dir / files["depth"], (t, h, w), mmap) if files.get("depth") else None
    normals = _read_npy(clip_dir / files["normals"], (t, h, w, 3), mmap) if files.get("normals") else None
    seg = read_label_maps(clip_dir, files["segmentation"], t, h, w) if files.get("segmentation") else None
    inst = read_label_maps(clip_dir, files["instances"], t, h, w) if files.get("instances") else None
    arrays = annotation_arrays(ann)
    return Clip(
        rgb=rgb,
        depth=depth,
        normals=normals,
        segmentation=seg,
        instances=inst,
        action=int(ann["action"]["id"]),
        action_name=str(ann["action"]["name"]),
        clip_id=str(ann.get("clip_id", clip_dir.name)),
        fps=float(ann.get("fps", 0.0)),
        seed=ann.get("seed"),
        info=dict(ann.get("info") or {}),
        **arrays,
    )


def annotation_arrays(ann: dict[str, Any]) -> dict[str, Any]:
    """The numeric per-frame annotations of a parsed ``annotations.json`` as arrays (see :class:`Clip`):
    ``object_classes``, ``boxes``, ``box_valid``, ``keypoints``, ``keypoints_visible``, ``intrinsics``,
    ``world_to_camera``, ``object_centers`` (``None`` if absent)."""
    t, o, k = int(ann["num_frames"]), len(ann["objects"]), int(ann.get("num_keypoints", 25))
    frames = ann["frames"]
    boxes = np.asarray([f["boxes"] for f in frames], np.float32).reshape(t, o, 5)
    centers = None
    if frames and "object_centers" in frames[0]:
        centers = np.asarray([f["object_centers"] for f in frames], np.float32).reshape(t, o, 3)
    return {
        "object_classes": np.asarray([ob["class_id"] for ob in ann["objects"]], np.int64),
        "boxes": np.ascontiguousarray(boxes[..., :4]),
        "box_valid": boxes[..., 4] > 0.5,
        "keypoints": np.asarray([f["keypoints"] for f in frames], np.float32).reshape(t, o, k, 3),
        "keypoints_visible": np.asarray([f["keypoints_visible"] for f in frames], bool).reshape(t, o, k),
        "intrinsics": np.asarray([f["camera"]["intrinsics"] for f in frames], np.float32).reshape(t, 3, 3),
        "world_to_camera": np.asarray([f["camera"]["world_to_camera"] for f in frames], np.float32).reshape(t, 4, 4),
        "object_centers": centers,
    }


# -------------------------------------------------------------------------------------------------- helpers
def project_points(points_cam: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """Pixel coordinates ``(..., 2)`` (continuous ``u, v``) of camera-frame points ``(..., 3)`` under ``K``
    ``(3, 3)`` (or broadcastable ``(..., 3, 3)``)."""
    p = np.asarray(points_cam, np.float64)
    k = np.asarray(intrinsics, np.float64)
    z = np.where(np.abs(p[..., 2]) < 1e-9, 1e-9, p[..., 2])
    u = k[..., 0, 0] * p[..., 0] / z + k[..., 0, 2]
    v = k[..., 1, 1] * p[..., 1] / z + k[..., 1, 2]
    return np.stack([u, v], axis=-1)


def normals_nyu_to_opencv(normals: np.ndarray) -> np.ndarray:
    """Stored normals (NYU axes: x right, y down, z towards the camera) -> OpenCV camera frame (z forward)."""
    out = np.array(normals, dtype=np.float32, copy=True)
    out[..., 2] *= -1
    return out

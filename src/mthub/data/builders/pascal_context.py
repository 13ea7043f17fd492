"""PASCAL-Context multi-task (PASCAL-MT: semseg 21, human parts 7, saliency, normals, edges) from the official
``PASCAL_MT.tgz`` / ``PASCALContext.tar.gz`` layout (``shared/specs/tif.md`` §5.2 C, ``efficient_mtl.md`` §5)::

    JPEGImages/<id>.jpg
    ImageSets/Context/{train,val}.txt            4998 / 5105 ids
    semseg/VOC12/<id>.png                        uint8 0..20, 255 = ignore (preferred when present)
    semseg/pascal-context/<id>.png               fallback for ids not in VOC12
    pascal-context/trainval/<id>.mat             "LabelMap": 459-class PASCAL-Context ids (uint16)
    human_parts/<id>.mat                         "anno" struct (PASCAL-Part), see below
    normals_distill/<id>.png                     RGB, n = 2·v/255 − 1
    sal_distill/<id>.png                         gray, s = (v/255 > 0.5)
    ImageSets/Parts/{split}.txt                  optional JSON cache of object classes (not needed here)

Derived labels, as the official loader computes them:

* **edge** = ``thin(|Laplacian(LabelMap)| > 0)`` (OpenCV 4-neighbour Laplacian, scikit-image thinning;
  re-implemented in :mod:`mthub.data.transforms.morphology`, parity-checked against both libraries).
* **normals** are zeroed outside the NYU-compatible context classes
  (:data:`~mthub.data.builders._pascal_meta.NORMALS_VALID_CONTEXT_CLASSES`).
* **human_parts** from ``anno = loadmat(f)["anno"][0, 0]``: ``anno["objects"]`` is a (1, N) struct array with
  fields ``(class, class_ind, mask, parts)``; ``parts`` a (1, M) struct array ``(part_name, mask)`` or empty.
  Every object with ``class_ind == 15`` (person) that has parts paints its part masks with
  :data:`~mthub.data.builders._pascal_meta.HUMAN_PART_TO_LABEL` over a zero background. Fields are read by
  name (the official code indexes positionally; names are equivalent for the official files and robust to
  field order). Images with no person (the official cache's rule: a person object with non-empty mask) or
  whose persons have no parts get ``human_parts = None``: the label is *missing*, not background. The
  MTL-PyTorch loader returns 512×512 zeros and ATRC an all-ignore map of the image's size there; mthub keeps
  ``None`` in the dataset so the Trainer can mask the task, and
  :class:`mthub.data.transforms.dense.FillMissingLabels` produces ATRC's all-255 map of the image's own
  size when a fixed-shape batch is needed (shapes stay consistent with the image).
* When ``human_parts`` is the only selected task, images without parts are left out (the official single-task
  behaviour, which allows batching); they are not bad samples and are not reported.

``data_dir`` may be the dataset root or the folder containing ``PASCAL_MT/`` or ``PASCALContext/``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from mthub.data.builders import _io
from mthub.data.builders._pascal_meta import (
    HUMAN_PART_TO_LABEL,
    NORMALS_VALID_CONTEXT_CLASSES,
    PERSON_CLASS_INDEX,
)
from mthub.data.builders.base import MTHubBuilder, MTHubBuilderConfig
from mthub.data.builders.dense_schema import dense_features, encode_flat, encode_label_image
from mthub.data.errors import CorruptSampleError, DatasetLayoutError
from mthub.data.transforms.morphology import label_map_edges

__all__ = ["PASCALContextConfig", "PASCALContext", "PASCAL_NUM_SEMSEG_CLASSES", "PASCAL_ROOT_NAMES"]

logger = logging.getLogger(__name__)

PASCAL_NUM_SEMSEG_CLASSES = 21
PASCAL_ROOT_NAMES = ("PASCAL_MT", "PASCALContext")
_SPLITS = ("train", "val")
_SKIP = object()  # marker: sample deliberately left out (human_parts-only config, no person)


@dataclass
class PASCALContextConfig(MTHubBuilderConfig):
    """Config of :class:`PASCALContext`.

    Attributes:
        tasks: subset of ``("semseg", "human_parts", "normals", "sal", "edge")`` (aliases: ``saliency``,
            ``parts``); default all five.
        normals_valid_classes: context class ids whose normals are kept; ``None`` uses the official table.
    """

    normals_valid_classes: tuple[int, ...] | None = None


def _first_scalar(value: Any) -> Any:
    arr = np.asarray(value).reshape(-1)
    if arr.size == 0:
        raise ValueError("empty field")
    return arr[0]


class PASCALContext(MTHubBuilder):
    """PASCAL-Context multi-task builder (splits ``train`` and ``val``)."""

    BUILDER_CONFIG_CLASS = PASCALContextConfig
    BUILDER_CONFIGS = [
        PASCALContextConfig(
            name="default", version=datasets.Version("1.0.0"), description="PASCAL-Context multi-task"
        )
    ]
    DEFAULT_CONFIG_NAME = "default"
    TASKS = ("semseg", "human_parts", "normals", "sal", "edge")
    TASK_ALIASES = {"saliency": "sal", "parts": "human_parts"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("dataset_name", "pascal_context")
        if kwargs.get("normals_valid_classes") is not None:
            kwargs["normals_valid_classes"] = tuple(int(c) for c in kwargs["normals_valid_classes"])
        super().__init__(*args, **kwargs)

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=(
                "PASCAL-Context multi-task (Mottaghi et al. 2014, Chen et al. 2014 parts; ASTMT distilled "
                "saliency/normals): 4998 train / 5105 val images."
            ),
            features=dense_features(self.tasks),
            homepage="https://cs.stanford.edu/~roozbeh/pascal-context/",
        )

    @property
    def valid_normal_classes(self) -> np.ndarray:
        ids = self.config.normals_valid_classes
        if ids is None:
            ids = tuple(i for i, _ in NORMALS_VALID_CONTEXT_CLASSES)
        return np.asarray(ids, dtype=np.int64)

    # --------------------------------------------------------------------------------------------- layout
    def _resolve_root(self) -> Path:
        data_dir = self.config.data_dir
        expected = ["JPEGImages/", "ImageSets/Context/"]
        if data_dir is None:
            raise DatasetLayoutError(
                "<data_dir not given>",
                expected=[f"{r}/{p}" for r in PASCAL_ROOT_NAMES for p in expected],
                hint="PASCAL-Context cannot be downloaded by mthub: pass data_dir= pointing at an extracted "
                "PASCAL_MT.tgz.",
            )
        base = Path(data_dir).expanduser()
        for root in [base] + [base / name for name in PASCAL_ROOT_NAMES]:
            if all((root / p).is_dir() for p in expected):
                return root
        raise DatasetLayoutError(
            base,
            expected=expected + [f"{r}/{p}" for r in PASCAL_ROOT_NAMES for p in expected],
            hint="data_dir must be the PASCAL-Context root (with JPEGImages/ and ImageSets/Context/) or its parent.",
        )

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        root = self._resolve_root()
        tasks = self.tasks
        required = ["JPEGImages/"]
        if "human_parts" in tasks:
            required.append("human_parts/")
        if "edge" in tasks or "normals" in tasks:
            required.append("pascal-context/trainval/")
        if "normals" in tasks:
            required.append("normals_distill/")
        if "sal" in tasks:
            required.append("sal_distill/")
        missing = [p for p in required if not (root / p).is_dir()]
        expected = list(required)
        if "semseg" in tasks:
            seg_dirs = ["semseg/VOC12/", "semseg/pascal-context/"]
            expected += seg_dirs
            if not any((root / p).is_dir() for p in seg_dirs):
                missing += seg_dirs
        split_files = {s: root / "ImageSets" / "Context" / f"{s}.txt" for s in _SPLITS}
        expected += [f"ImageSets/Context/{s}.txt" for s in _SPLITS]
        present = [s for s, f in split_files.items() if f.is_file()]
        if not present:
            missing += [f"ImageSets/Context/{s}.txt" for s in _SPLITS]
        if missing:
            raise DatasetLayoutError(root, expected=expected, missing=missing, hint=f"tasks {list(tasks)}.")
        return [
            datasets.SplitGenerator(
                name=s,
                gen_kwargs={
                    "split": s,
                    "root": str(root),
                    "ids": [ln.strip() for ln in split_files[s].read_text(encoding="utf-8").splitlines() if ln.strip()],
                },
            )
            for s in present
        ]

    # -------------------------------------------------------------------------------------------- samples
    def _generate_examples(self, split: str, root: str, ids: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        loaders = [(sid, partial(self._load_sample, Path(root), sid)) for sid in ids]
        n_skipped = 0
        for key, ex in self._probe_examples(split, loaders):
            if ex is _SKIP:
                n_skipped += 1
                continue
            yield key, ex
        if n_skipped:
            logger.info(
                "PASCALContext[%s]: left out %d image(s) without human parts (human_parts-only).", split, n_skipped
            )

    def _semseg_path(self, root: Path, sid: str) -> Path:
        voc = root / "semseg" / "VOC12" / f"{sid}.png"
        if voc.is_file():
            return voc
        ctx = root / "semseg" / "pascal-context" / f"{sid}.png"
        if ctx.is_file():
            return ctx
        raise CorruptSampleError(voc, f"semseg label missing: neither {voc} nor {ctx} exists")

    def _label_map(self, root: Path, sid: str, hw: tuple[int, int]) -> np.ndarray:
        p = root / "pascal-context" / "trainval" / f"{sid}.mat"
        lm = np.asarray(_io.read_mat(p, "LabelMap"))
        if lm.ndim != 2 or lm.dtype.kind not in "iu":
            raise CorruptSampleError(p, f"LabelMap must be an (H, W) integer array, got {lm.dtype} {lm.shape}")
        _io.check_hw(lm, hw, p, "LabelMap")
        return lm

    def _human_parts(self, path: Path, hw: tuple[int, int]) -> np.ndarray | None:
        """``(H, W)`` uint8 part labels (0 = background), or ``None`` when the image has no annotated person."""
        anno = _io.read_mat(path, "anno")
        try:
            objects = np.asarray(anno[0, 0]["objects"])
        except (IndexError, ValueError, KeyError, TypeError) as err:
            raise CorruptSampleError(path, f"'anno' is not a struct with an 'objects' field ({err})") from None
        target: np.ndarray | None = None
        has_person = False
        for obj in objects.reshape(-1) if objects.size else ():
            try:
                class_ind = int(_first_scalar(obj["class_ind"]))
                inst_mask = np.asarray(obj["mask"])
                parts = np.asarray(obj["parts"])
            except (ValueError, KeyError, IndexError, TypeError) as err:
                raise CorruptSampleError(path, f"malformed object in 'anno.objects' ({err})") from None
            if class_ind != PERSON_CLASS_INDEX:
                continue
            # The official object cache keeps an object only if its mask is non-empty.
            has_person |= bool(inst_mask.size and inst_mask.any())
            if parts.size == 0:
                continue
            if target is None:
                target = np.zeros(hw, dtype=np.uint8)
            for part in parts.reshape(-1):
                try:
                    name = str(_first_scalar(part["part_name"]))
                    mask = np.asarray(part["mask"]).astype(bool)
                except (ValueError, KeyError, IndexError, TypeError) as err:
                    raise CorruptSampleError(path, f"malformed part in a person object ({err})") from None
                if name not in HUMAN_PART_TO_LABEL:
                    raise CorruptSampleError(path, f"unknown person part name {name!r}")
                _io.check_hw(mask, hw, path, f"mask of part {name!r}")
                target[mask] = HUMAN_PART_TO_LABEL[name]
        return target if has_person else None

    def _load_sample(self, root: Path, sid: str) -> Any:
        """Decode every file of sample ``sid``; raise ``CorruptSampleError`` naming the first bad one."""
        tasks = self.tasks
        ex, hw = _io.image_example(root / "JPEGImages" / f"{sid}.jpg", sid)
        if "human_parts" in tasks:
            parts = self._human_parts(root / "human_parts" / f"{sid}.mat", hw)
            if parts is None and tasks == ("human_parts",):
                return _SKIP
            ex["human_parts"] = encode_label_image(parts)
        if "semseg" in tasks:
            p = self._semseg_path(root, sid)
            seg = _io.read_png_array(p, channels=1)
            _io.check_hw(seg, hw, p, "semseg")
            bad = (seg >= PASCAL_NUM_SEMSEG_CLASSES) & (seg != 255)
            if bad.any():
                found = sorted(set(seg[bad].tolist()))[:5]
                raise CorruptSampleError(p, f"semseg values must be 0..20 or 255, found {found}")
            ex["semseg"] = encode_label_image(seg)
        label_map = self._label_map(root, sid, hw) if ("edge" in tasks or "normals" in tasks) else None
        if "normals" in tasks:
            p = root / "normals_distill" / f"{sid}.png"
            raw = _io.read_png_array(p, mode="RGB", channels=3)
            _io.check_hw(raw, hw, p, "normals")
            normals = 2.0 * raw.astype(np.float32) / 255.0 - 1.0
            valid = np.isin(label_map, self.valid_normal_classes)
            ex["normals"] = encode_flat(np.where(valid[..., None], normals, np.float32(0.0)), 3)
        if "sal" in tasks:
            p = root / "sal_distill" / f"{sid}.png"
            sal = _io.read_png_array(p, mode="L", channels=1)
            _io.check_hw(sal, hw, p, "saliency")
            ex["sal"] = encode_label_image((sal.astype(np.float32) / 255.0 > 0.5).astype(np.uint8))
        if "edge" in tasks:
            ex["edge"] = encode_label_image(label_map_edges(label_map))
        return ex

"""NYUD-v2 multi-task (semseg 40 classes, depth, surface normals, edges) from its official on-disk layouts.

Two layouts circulate (``shared/specs/tif.md`` §5.2 A/B, ``shared/specs/efficient_mtl.md`` §5; both agree on the
file formats and differ only in which they call "older"); both are read, detected automatically:

``layout="nyud_mt"`` — ``NYUD_MT.tgz`` (ASTMT → MTL-PyTorch, current ATRC, InvPT), root ``NYUD_MT/``::

    images/<id>.jpg          RGB, 480×640
    segmentation/<id>.png    uint8, 0 = void, 1..40 = classes
    depth/<id>.npy           float32 (H, W) [or (H, W, 1)], metres, 0 = invalid
    normals/<id>.npy         float32 (H, W, 3) in [-1, 1]
    edge/<id>.npy            float32 (H, W) in {0, 1}
    gt_sets/{train,val}.txt  one id per line (795 / 654)

``layout="atrc"`` — ``NYUDv2.tar.gz`` (first ATRC release, DeMT, MQTransformer), root ``NYUDv2/``, 425×560::

    images/<id>.png, segmentation/<id>.png, depth/<id>.npy,
    normals/<id>.png         RGB uint8, n = 2·v/255 − 1
    edge/<id>.png            uint8, e = v/255
    gt_sets/{train,val}.txt  (an optional centroids.npy is ignored: only ATRC's auxiliary loss uses it)

Value mappings applied (both layouts, as the official loaders): semseg ``v − 1`` with void 0 → 255; edges
binarised at 0.5 (the official files hold {0, 1} / {0, 255}; storing uint8 keeps the dataset small); depth and
normals kept as float32. See :mod:`mthub.data.builders.dense_schema` for the stored columns.

``data_dir`` may be the dataset root itself or the folder that contains ``NYUD_MT/`` or ``NYUDv2/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from mthub.data.builders import _io
from mthub.data.builders.base import MTHubBuilder, MTHubBuilderConfig
from mthub.data.builders.dense_schema import dense_features, encode_flat, encode_label_image
from mthub.data.errors import CorruptSampleError, DatasetLayoutError

__all__ = ["NYUD_LAYOUTS", "NYUDv2Config", "NYUDv2", "NYUD_NUM_SEMSEG_CLASSES"]

NYUD_NUM_SEMSEG_CLASSES = 40
_SPLITS = ("train", "val")
_TASK_DIRS = {"semseg": "segmentation", "depth": "depth", "normals": "normals", "edge": "edge"}


@dataclass(frozen=True)
class _Layout:
    root_name: str
    image_ext: str
    normals_ext: str
    edge_ext: str


NYUD_LAYOUTS = {
    "nyud_mt": _Layout(root_name="NYUD_MT", image_ext=".jpg", normals_ext=".npy", edge_ext=".npy"),
    "atrc": _Layout(root_name="NYUDv2", image_ext=".png", normals_ext=".png", edge_ext=".png"),
}


def _read_ids(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


@dataclass
class NYUDv2Config(MTHubBuilderConfig):
    """Config of :class:`NYUDv2`.

    Attributes:
        tasks: subset of ``("semseg", "depth", "normals", "edge")`` (default: all four).
        layout: ``"nyud_mt"``, ``"atrc"`` or ``"auto"`` (detect from the image extension of the first id).
    """

    layout: str = "auto"


class NYUDv2(MTHubBuilder):
    """NYUD-v2 multi-task builder (splits ``train`` and ``val``; the official test set is called val).

    Example::

        >>> b = NYUDv2(data_dir="/data/NYUD_MT", cache_dir="/tmp/hf", tasks=("semseg", "depth"))
        >>> b.download_and_prepare()
        >>> ds = b.as_dataset(split="train")
    """

    BUILDER_CONFIG_CLASS = NYUDv2Config
    BUILDER_CONFIGS = [
        NYUDv2Config(name="default", version=datasets.Version("1.0.0"), description="NYUD-v2 multi-task")
    ]
    DEFAULT_CONFIG_NAME = "default"
    TASKS = ("semseg", "depth", "normals", "edge")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("dataset_name", "nyud_v2")
        super().__init__(*args, **kwargs)
        if self.config.layout not in (*NYUD_LAYOUTS, "auto"):
            raise ValueError(f"NYUDv2: layout must be one of {[*NYUD_LAYOUTS, 'auto']}, got {self.config.layout!r}")

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=(
                "NYUD-v2 multi-task (Silberman et al. 2012; ASTMT/MTL-PyTorch/ATRC splits): 795 train / 654 val "
                "images with 40-class semantic segmentation, depth, surface normals and edges."
            ),
            features=dense_features(self.tasks),
            homepage="https://cs.nyu.edu/~fergus/datasets/nyu_depth_v2.html",
        )

    # --------------------------------------------------------------------------------------------- layout
    def _resolve_root(self) -> tuple[Path, str]:
        data_dir = self.config.data_dir
        if data_dir is None:
            raise DatasetLayoutError(
                "<data_dir not given>",
                expected=["NYUD_MT/gt_sets", "NYUDv2/gt_sets"],
                hint="NYUD-v2 cannot be downloaded by mthub: pass data_dir= pointing at an extracted "
                "NYUD_MT.tgz or NYUDv2.tar.gz.",
            )
        base = Path(data_dir).expanduser()
        wanted = [self.config.layout] if self.config.layout != "auto" else list(NYUD_LAYOUTS)
        candidates = [base] + [base / NYUD_LAYOUTS[name].root_name for name in wanted]
        for root in candidates:
            if (root / "gt_sets").is_dir() and (root / "images").is_dir():
                return root, self._detect_layout(root)
        expected = ["images/", "gt_sets/train.txt", "gt_sets/val.txt"]
        expected += [f"{NYUD_LAYOUTS[n].root_name}/{p}" for n in wanted for p in ("images/", "gt_sets/")]
        raise DatasetLayoutError(
            base,
            expected=expected,
            hint="data_dir must be the NYUD-v2 root (with images/ and gt_sets/) or its parent folder.",
        )

    def _detect_layout(self, root: Path) -> str:
        if self.config.layout != "auto":
            return self.config.layout
        for split in _SPLITS:
            f = root / "gt_sets" / f"{split}.txt"
            if f.is_file():
                for sid in _read_ids(f)[:1]:
                    for name, lay in NYUD_LAYOUTS.items():
                        if (root / "images" / f"{sid}{lay.image_ext}").is_file():
                            return name
        for name, lay in NYUD_LAYOUTS.items():  # fall back on the root folder's official name
            if root.name == lay.root_name:
                return name
        raise DatasetLayoutError(
            root,
            expected=[f"images/<id>{lay.image_ext}  ({name} layout)" for name, lay in NYUD_LAYOUTS.items()],
            hint="cannot tell the NYUD layout: the first id of the split lists has neither image file; "
            "pass layout='nyud_mt' or layout='atrc'.",
        )

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        root, layout = self._resolve_root()
        required = ["images/", *[f"{_TASK_DIRS[t]}/" for t in self.tasks]]
        missing = [p for p in required if not (root / p).is_dir()]
        split_files = {s: root / "gt_sets" / f"{s}.txt" for s in _SPLITS}
        present = [s for s, f in split_files.items() if f.is_file()]
        if not present:
            missing.append("gt_sets/train.txt")
            missing.append("gt_sets/val.txt")
        if missing:
            raise DatasetLayoutError(
                root,
                expected=required + ["gt_sets/train.txt", "gt_sets/val.txt"],
                missing=missing,
                hint=f"NYUD-v2 ({layout} layout) with tasks {list(self.tasks)}.",
            )
        return [
            datasets.SplitGenerator(
                name=s,
                gen_kwargs={"split": s, "root": str(root), "layout": layout, "ids": _read_ids(split_files[s])},
            )
            for s in present
        ]

    # -------------------------------------------------------------------------------------------- samples
    def _generate_examples(
        self, split: str, root: str, layout: str, ids: list[str]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        loaders: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            (sid, partial(self._load_sample, Path(root), NYUD_LAYOUTS[layout], sid)) for sid in ids
        ]
        yield from self._probe_examples(split, loaders)

    def _load_sample(self, root: Path, lay: _Layout, sid: str) -> dict[str, Any]:
        """Decode every file of sample ``sid``; raise ``CorruptSampleError`` naming the first bad one."""
        ex, hw = _io.image_example(root / "images" / f"{sid}{lay.image_ext}", sid)
        tasks = self.tasks
        if "semseg" in tasks:
            p = root / "segmentation" / f"{sid}.png"
            raw = _io.read_png_array(p, channels=1)
            _io.check_hw(raw, hw, p, "segmentation")
            if raw.max(initial=0) > NYUD_NUM_SEMSEG_CLASSES:
                raise CorruptSampleError(
                    p, f"segmentation values must be 0..{NYUD_NUM_SEMSEG_CLASSES}, found max {int(raw.max())}"
                )
            # Official mapping: classes 1..40 -> 0..39, void 0 -> 255 (ignored).
            seg = np.where(raw == 0, 255, raw.astype(np.int32) - 1).astype(np.uint8)
            ex["semseg"] = encode_label_image(seg)
        if "depth" in tasks:
            p = root / "depth" / f"{sid}.npy"
            depth = _io.read_npy(p)
            if depth.ndim == 3 and depth.shape[2] == 1:
                depth = depth[..., 0]
            if depth.ndim != 2:
                raise CorruptSampleError(p, f"depth must be (H, W) or (H, W, 1), got shape {depth.shape}")
            _io.check_hw(depth, hw, p, "depth")
            ex["depth"] = encode_flat(depth, 1)
        if "normals" in tasks:
            p = root / "normals" / f"{sid}{lay.normals_ext}"
            if lay.normals_ext == ".npy":
                normals = _io.read_npy(p)
            else:
                normals = 2.0 * _io.read_png_array(p, mode="RGB", channels=3).astype(np.float32) / 255.0 - 1.0
            if normals.ndim != 3 or normals.shape[2] != 3:
                raise CorruptSampleError(p, f"normals must be (H, W, 3), got shape {normals.shape}")
            _io.check_hw(normals, hw, p, "normals")
            ex["normals"] = encode_flat(normals, 3)
        if "edge" in tasks:
            p = root / "edge" / f"{sid}{lay.edge_ext}"
            if lay.edge_ext == ".npy":
                edge = _io.read_npy(p)
            else:
                edge = _io.read_png_array(p, channels=1).astype(np.float32) / 255.0
            if edge.ndim == 3 and edge.shape[2] == 1:
                edge = edge[..., 0]
            if edge.ndim != 2:
                raise CorruptSampleError(p, f"edge map must be (H, W), got shape {edge.shape}")
            _io.check_hw(edge, hw, p, "edge map")
            ex["edge"] = encode_label_image((edge > 0.5).astype(np.uint8))
        return ex

"""File readers used while probing samples: each fully decodes one file and turns every failure into
:class:`~mthub.data.errors.CorruptSampleError` naming the file and the reason.

"Fully decodes" matters: ``PIL.Image.open`` only parses the header, so a truncated PNG/JPEG would pass a
lazy check and fail later inside a DataLoader worker. These readers call ``.load()`` / read the whole array.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mthub.data.errors import CorruptSampleError

__all__ = ["read_bytes", "decode_rgb", "read_rgb", "read_png_array", "read_npy", "read_mat", "check_hw"]


def _reason(err: BaseException) -> str:
    msg = str(err).strip()
    return f"{type(err).__name__}: {msg}" if msg else type(err).__name__


def read_bytes(path: Path) -> bytes:
    """Read a file's bytes; a missing or unreadable file raises ``CorruptSampleError``."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise CorruptSampleError(path, "file not found") from None
    except OSError as err:
        raise CorruptSampleError(path, f"cannot read file ({_reason(err)})") from None


def decode_rgb(data: bytes, path: Path) -> np.ndarray:
    """Decode encoded image bytes to an ``(H, W, 3)`` uint8 RGB array (PIL ``convert("RGB")``, like the official
    loaders)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return np.asarray(im.convert("RGB"))
    except Exception as err:  # PIL raises OSError, SyntaxError, ValueError, DecompressionBombError, ...
        raise CorruptSampleError(path, f"cannot decode image ({_reason(err)})") from None


def read_rgb(path: Path) -> tuple[bytes, np.ndarray]:
    """Return the file's bytes (kept as they are in the dataset) and its decoded ``(H, W, 3)`` uint8 pixels."""
    data = read_bytes(path)
    return data, decode_rgb(data, path)


def read_png_array(path: Path, mode: str | None = None, channels: int | None = None) -> np.ndarray:
    """Decode a PNG (or any PIL image) to a numpy array of its stored values.

    Args:
        mode: PIL mode to convert to first (``"L"``, ``"RGB"``); ``None`` keeps the stored values (palette "P"
            images give their palette indices, which is what label PNGs store).
        channels: expected number of channels: 1 → ``(H, W)``, 3 → ``(H, W, 3)``; anything else raises.
    """
    data = read_bytes(path)
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            if mode is not None and im.mode != mode:
                im = im.convert(mode)
            arr = np.asarray(im)
    except Exception as err:
        raise CorruptSampleError(path, f"cannot decode image ({_reason(err)})") from None
    if channels == 1 and arr.ndim != 2:
        raise CorruptSampleError(path, f"expected a single-channel label image, got array of shape {arr.shape}")
    if channels == 3 and (arr.ndim != 3 or arr.shape[2] != 3):
        raise CorruptSampleError(path, f"expected a 3-channel image, got array of shape {arr.shape}")
    return arr


def read_npy(path: Path, dtype: Any = np.float32) -> np.ndarray:
    """Load a ``.npy`` array (no pickles) and cast it to ``dtype``; non-finite values are rejected."""
    if not os.path.isfile(path):
        raise CorruptSampleError(path, "file not found")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise CorruptSampleError(path, f"cannot load .npy ({_reason(err)})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "fiub":
        raise CorruptSampleError(path, f"expected a numeric array, got dtype {getattr(arr, 'dtype', type(arr))}")
    arr = arr.astype(dtype, copy=False)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise CorruptSampleError(path, f"{int((~np.isfinite(arr)).sum())} non-finite value(s)")
    return arr


def read_mat(path: Path, key: str) -> Any:
    """Load variable ``key`` from a MATLAB ``.mat`` file (``scipy.io.loadmat``, default options as the
    official loaders use them)."""
    from scipy import io as sio

    if not os.path.isfile(path):
        raise CorruptSampleError(path, "file not found")
    try:
        mat = sio.loadmat(path)
    except Exception as err:  # MatReadError, ValueError, OSError, zlib errors, ...
        raise CorruptSampleError(path, f"cannot load .mat ({_reason(err)})") from None
    if key not in mat:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise CorruptSampleError(path, f"no variable {key!r} in .mat file (found: {found})")
    return mat[key]


def check_hw(arr: np.ndarray, hw: tuple[int, int], path: Path, what: str) -> None:
    """Raise if ``arr``'s first two dimensions differ from the image's ``(H, W)``."""
    if tuple(arr.shape[:2]) != tuple(hw):
        raise CorruptSampleError(path, f"{what} has size {tuple(arr.shape[:2])} but the image is {tuple(hw)} (H, W)")


def image_example(img_path: Path, sample_id: str) -> tuple[dict, tuple[int, int]]:
    """Decode the RGB image of a dense sample and start its example dict (id, image bytes+path, height, width)."""
    data, rgb = read_rgb(img_path)
    height, width = rgb.shape[:2]
    example = {"id": sample_id, "image": {"bytes": data, "path": str(img_path)}, "height": height, "width": width}
    return example, (height, width)

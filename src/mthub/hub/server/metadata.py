"""Repo metadata the Hub derives from file contents.

* README front matter -> ``cardData`` / ``tags`` / ``library_name`` / ``pipeline_tag`` in repo info,
  and the ``/api/validate-yaml`` check the client runs before committing a README.md.
* ``.gitattributes`` ``filter=lfs`` patterns (plus size and binary-content rules) -> the
  ``preupload`` answer "lfs" or "regular".
* ``config.json`` -> ``config`` (``model_type``, ``architectures``); safetensors headers ->
  ``safetensors`` parameter counts per dtype.
"""

from __future__ import annotations

import fnmatch
import json
import struct
from typing import BinaryIO, Callable, Iterable

import yaml

#: Files above this size always go through LFS (the Hub's rule for non-LFS git blobs).
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024

# The .gitattributes written into every new repo: binary formats that belong in LFS.
_LFS_EXTENSIONS = (
    "7z arrow bin bz2 ckpt ftz gz h5 joblib lfs mlmodel model msgpack npy npz onnx ot parquet pb pickle pkl "
    "pt pth rar safetensors tar tflite tgz wasm xz zip zst mp4 avi mkv mov webm wav flac mp3 ogg "
    "png jpg jpeg gif webp tiff"
).split()
DEFAULT_GITATTRIBUTES = (
    "".join(f"*.{ext} filter=lfs diff=lfs merge=lfs -text\n" for ext in _LFS_EXTENSIONS)
    + "*tfevents* filter=lfs diff=lfs merge=lfs -text\n"
    + "saved_model/**/* filter=lfs diff=lfs merge=lfs -text\n"
)


def split_front_matter(text: str) -> tuple[str | None, str]:
    """``(yaml_text, rest)`` of a model/dataset card; ``yaml_text`` is None without front matter."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None, text
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "".join(lines[1:i]), "".join(lines[i + 1 :])
    return None, text


def validate_card_yaml(content: str) -> list[str]:
    """Errors in a README's YAML front matter (empty list when valid or absent)."""
    yaml_text, _ = split_front_matter(content)
    if yaml_text is None:
        return []
    try:
        data = yaml.safe_load(yaml_text)
    except yaml.YAMLError as err:
        return [f"YAML front matter of README.md does not parse: {err}"]
    if data is not None and not isinstance(data, dict):
        return [f"YAML front matter of README.md must be a mapping, got {type(data).__name__}"]
    errors = []
    for key in ("tags", "datasets", "metrics", "language"):
        value = (data or {}).get(key)
        if value is not None and not isinstance(value, (str, list)):
            errors.append(f"'{key}' must be a string or a list, got {type(value).__name__}")
    return errors


def card_data(content: bytes) -> dict | None:
    """The README's front matter as a dict (``None`` when absent or invalid)."""
    try:
        yaml_text, _ = split_front_matter(content.decode("utf-8"))
        data = yaml.safe_load(yaml_text) if yaml_text is not None else None
    except (UnicodeDecodeError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def json_safe(value):
    """YAML may produce dates etc.; make card data JSON-serialisable."""
    return json.loads(json.dumps(value, default=str))


def lfs_patterns(gitattributes: str) -> list[str]:
    patterns = []
    for line in gitattributes.splitlines():
        parts = line.split()
        if parts and not parts[0].startswith("#") and "filter=lfs" in parts[1:]:
            patterns.append(parts[0])
    return patterns


def _gitattr_match(path: str, pattern: str) -> bool:
    # A pattern without '/' matches the basename at any depth; with '/' it matches from the root.
    if "/" not in pattern:
        return fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern)
    return fnmatch.fnmatchcase(path, pattern.lstrip("/"))


def upload_mode(path: str, size: int, sample: bytes, patterns: Iterable[str]) -> str:
    """``"lfs"`` for large files, ``.gitattributes`` LFS patterns and binary content; else ``"regular"``."""
    if size == 0:
        return "regular"
    if size > LFS_SIZE_THRESHOLD or b"\x00" in sample:
        return "lfs"
    return "lfs" if any(_gitattr_match(path, p) for p in patterns) else "regular"


def gitignore_matcher(content: str | None) -> Callable[[str], bool]:
    """A simple ``.gitignore`` matcher (globs, ``/``-anchored patterns, ``dir/``, ``!`` negation)."""
    rules = []
    for raw in (content or "").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        line = line[1:] if negate else line
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = "/" in line
        rules.append((line.lstrip("/"), negate, dir_only, anchored))

    def ignored(path: str) -> bool:
        parts = path.split("/")
        result = False
        for pattern, negate, dir_only, anchored in rules:
            candidates = []
            for depth in range(1, len(parts) + 1):
                is_dir = depth < len(parts)
                if dir_only and not is_dir:
                    continue
                prefix = "/".join(parts[:depth])
                candidates.append(prefix if anchored else parts[depth - 1])
            if any(fnmatch.fnmatchcase(c, pattern) for c in candidates):
                result = not negate
        return result

    return ignored


def config_summary(content: bytes) -> dict | None:
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    summary = {k: data[k] for k in ("model_type", "architectures") if k in data}
    return summary or None


def safetensors_parameters(f: BinaryIO) -> dict[str, int]:
    """Parameter counts per dtype from a safetensors header (8-byte little-endian length + JSON)."""
    head = f.read(8)
    if len(head) != 8:
        return {}
    (length,) = struct.unpack("<Q", head)
    if length > 100 * 1024 * 1024:
        return {}
    try:
        header = json.loads(f.read(length))
    except ValueError:
        return {}
    counts: dict[str, int] = {}
    for name, info in header.items():
        if name == "__metadata__" or not isinstance(info, dict):
            continue
        numel = 1
        for dim in info.get("shape", []):
            numel *= int(dim)
        dtype = str(info.get("dtype"))
        counts[dtype] = counts.get(dtype, 0) + numel
    return counts

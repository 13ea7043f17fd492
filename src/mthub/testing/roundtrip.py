"""Steps of Hub round-trip tests that run inside fresh client processes (:func:`mthub.testing.hub.run_client`).

Every model family must survive ``push_to_hub`` → ``AutoModel.from_pretrained("org/name")`` in another process
(issue 4). The two halves live here, generic over :func:`mthub.list_model_families` (no per-family knowledge: the
tiny config, inputs and processor come from the family's registry entry), so that a family added later is covered
without touching the tests:

* :func:`push_family_versions` (pushing process): processor, then version 1 of the model, then version 2 with
  changed weights; writes the example inputs and both versions' outputs as safetensors files into ``work_dir``.
* :func:`pull_family_versions` (loading process): ``AutoModel`` at ``main`` and at the older commit, the processor
  through the family's Auto class, ``snapshot_download``; writes its outputs next to the pushed ones.
* :func:`run_each` runs one of them for several families in one process (importing torch + transformers + mthub
  costs seconds per process), reporting each family's failure separately.

The test process compares the files (with ``safetensors.numpy``: it need not import torch). Tensors cross process
boundaries as safetensors files, not JSON, so outputs are compared bit for bit in float32.

Both functions import torch / transformers / mthub lazily: this module is imported by client processes that have
their ``HF_*`` environment set before any Hub library is imported.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Files written into ``work_dir`` (names are part of the contract between the two processes and the test).
INPUTS_FILE = "inputs.safetensors"
PROCESSOR_INPUTS_FILE = "processor_inputs.safetensors"


def output_tensors(value: Any, prefix: str = "out") -> dict[str, Any]:
    """Every tensor in a model output, flattened to ``{"out.logits.action": tensor, ...}``.

    Walks ``ModelOutput`` / mappings / tuples / lists; other values (``None``, numbers) are skipped. Tensors are
    cloned (outputs may alias each other, e.g. ``last_hidden_state`` and ``hidden_states[-1]``, which safetensors
    refuses to save) and floating ones converted to float32 (numpy, used by the test process, has no bfloat16).
    """
    import torch

    if isinstance(value, torch.Tensor):
        tensor = value.detach().to("cpu").clone().contiguous()
        return {prefix: tensor.float() if tensor.is_floating_point() else tensor}
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, (tuple, list)):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return {}
    flat: dict[str, Any] = {}
    for key, item in items:
        flat.update(output_tensors(item, f"{prefix}.{key}"))
    return flat


def save_tensors(path: str | Path, tensors: Mapping[str, Any]) -> None:
    """Save a ``{name: tensor}`` mapping as safetensors; non-tensor values are an error naming the key."""
    import torch
    from safetensors.torch import save_file

    bad = [k for k, v in tensors.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise TypeError(f"cannot save non-tensor values {bad} to {path}; example inputs must be tensors.")
    save_file({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}, str(path))


def load_tensors(path: str | Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(path))


def folder_digests(folder: str | Path) -> dict[str, str]:
    """``{relative posix path: sha256}`` of every file under ``folder`` (symlinks followed: Hub cache snapshots)."""
    folder = Path(folder)
    digests = {}
    for directory, _, files in os.walk(folder):
        for name in files:
            path = Path(directory) / name
            digests[path.relative_to(folder).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def default_processor(family, config=None):
    """The family's processor with default settings, or ``None`` when the family has none.

    Required constructor arguments are taken from the config's attribute of the same name (e.g. a processor
    built per task from ``config.<task field>``); anything else must have a default.
    """
    cls = family.processor_class
    if cls is None:
        return None
    kwargs = {}
    missing = []
    for name, param in inspect.signature(cls.__init__).parameters.items():
        variadic = param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
        if name == "self" or variadic or param.default is not param.empty:
            continue
        if config is not None and hasattr(config, name):
            kwargs[name] = getattr(config, name)
        else:
            missing.append(name)
    if missing:
        raise TypeError(
            f"{cls.__name__} (processor of family {family.model_type!r}) needs arguments {missing} that neither have "
            f"defaults nor are attributes of {type(config).__name__}; give them defaults."
        )
    return cls(**kwargs)


def processor_sample(processor, auto_class: str | None, seed: int = 0) -> dict[str, Any] | None:
    """Keyword arguments of one raw sample for a processor of Auto class ``auto_class`` (``None``: no generic raw
    input is known for that class, e.g. composite ``AutoProcessor`` ones).

    Video: one ``(T, 40, 48, 3)`` uint8 clip, ``T = 2 * processor.num_frames`` (or 16) so frame sampling has room;
    image: one ``(40, 48, 3)`` uint8 image. Deterministic in ``seed``.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    if auto_class == "AutoVideoProcessor":
        frames = 2 * (getattr(processor, "num_frames", None) or 8)
        return {"videos": [rng.integers(0, 256, (frames, 40, 48, 3), dtype=np.uint8)]}
    if auto_class == "AutoImageProcessor":
        return {"images": [rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)]}
    return None


def _processed(processor, sample: Mapping[str, Any]) -> dict[str, Any]:
    return output_tensors(dict(processor(**sample, return_tensors="pt")), "processed")


def _saved(obj, directory: Path) -> Path:
    obj.save_pretrained(directory)
    return directory


def perturb_parameters(model, scale: float = 0.05, seed: int = 1) -> None:
    """Add seeded Gaussian noise (std ``scale``) to every parameter in place: a second, different version."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(scale * torch.randn(param.shape, generator=generator, dtype=param.dtype))


def run_each(step, jobs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``{key: step(**kwargs)}`` for every job; a job that raises gives ``{"error": traceback}`` instead, so one
    client process can serve many families and each test still fails only for its own family."""
    import traceback

    results: dict[str, Any] = {}
    for key, kwargs in jobs.items():
        try:
            results[key] = step(**kwargs)
        except Exception:  # noqa: BLE001  (reported per job; the test of that job fails with the traceback)
            results[key] = {"error": traceback.format_exc()}
    return results


def push_family_versions(
    model_type: str, repo_id: str, work_dir: str | Path, *, batch_size: int = 2, seed: int = 0
) -> dict:
    """Pushing process: the family's processor, then two versions of a tiny model, to ``repo_id``.

    Order: the processor first (transformers' ``push_to_hub`` writes its generic card when the repo has none; the
    model pushes then replace it with mthub's), then version 1, then version 2 (perturbed weights). Writes
    ``inputs.safetensors`` (the family's ``example_inputs``), ``v1.safetensors`` / ``v2.safetensors`` (outputs),
    ``processor_outputs.safetensors`` and local ``save_pretrained`` copies ``v1/`` ``v2/`` into ``work_dir``.

    Returns ``{"commits": {"processor", "v1", "v2"}, "files": {"v1"|"v2": {name: sha256}}, "card": str,
    "processor": dict, "processor_files": [name], "model_class": str, "processor_class": str | None}``
    (processor entries ``None`` when the family has no processor).
    """
    import torch

    import mthub
    from mthub.hub.cards import model_card_for

    work_dir = Path(work_dir)
    family = mthub.get_family(model_type)
    torch.manual_seed(seed)
    config = family.tiny_config()
    model = family.model_class(config).eval()
    processor = default_processor(family, config)
    inputs = family.example_inputs(config, batch_size)
    save_tensors(work_dir / INPUTS_FILE, inputs)

    commits: dict[str, str] = {}
    processor_info = processor_files = None
    if processor is not None:
        commits["processor"] = processor.push_to_hub(repo_id, commit_message="Upload processor").oid
        processor_info = processor.to_dict()
        processor_files = sorted(folder_digests(_saved(processor, work_dir / "processor")))
        sample = processor_sample(processor, family.processor_auto_class)
        if sample is not None:
            save_tensors(work_dir / PROCESSOR_INPUTS_FILE, {k: torch.as_tensor(v[0]) for k, v in sample.items()})
            save_tensors(work_dir / "processor_outputs.safetensors", _processed(processor, sample))

    files: dict[str, dict[str, str]] = {}
    for version in ("v1", "v2"):
        if version == "v2":
            perturb_parameters(model)
        with torch.no_grad():
            outputs = output_tensors(model(**inputs))
        if not any(t.is_floating_point() for t in outputs.values()):
            raise AssertionError(f"{type(model).__name__} returned no floating-point tensors to compare")
        save_tensors(work_dir / f"{version}.safetensors", outputs)
        commits[version] = model.push_to_hub(repo_id, commit_message=f"Upload model {version}").oid
        # What the push should have uploaded, saved the same way: compared byte for byte with the download.
        local = work_dir / version
        model.save_pretrained(local)
        if processor is not None:
            processor.save_pretrained(local)
        files[version] = folder_digests(local)
    return {
        "commits": commits,
        "files": files,
        "card": str(model_card_for(model, repo_id)),
        "processor": processor_info,
        "processor_files": processor_files,
        "model_class": type(model).__name__,
        "processor_class": type(processor).__name__ if processor is not None else None,
    }


def pull_family_versions(repo_id: str, older_revision: str, work_dir: str | Path, *, auto_class: str | None) -> dict:
    """Loading process: ``AutoModel.from_pretrained(repo_id)`` at ``main`` and at ``older_revision``, run on the
    pushed ``inputs.safetensors`` (outputs → ``main.safetensors`` / ``older.safetensors``); the processor through
    ``transformers.<auto_class>`` (its outputs on the pushed raw sample → ``processor_loaded.safetensors``);
    ``snapshot_download`` at both revisions; ``model_info``.

    Returns ``{"model_class", "processor_class", "processor", "snapshots": {"main"|"older": {name: sha256}},
    "readme": str, "info": {"sha", "tags", "siblings"}}``.
    """
    import torch
    import transformers
    from huggingface_hub import HfApi, snapshot_download

    import mthub  # noqa: F401  (registers mthub's classes with the Auto classes: required before from_pretrained)

    work_dir = Path(work_dir)
    inputs = load_tensors(work_dir / INPUTS_FILE)
    revisions = {"main": None, "older": older_revision}
    result: dict[str, Any] = {"model_class": None}
    for name, revision in revisions.items():
        model = transformers.AutoModel.from_pretrained(repo_id, revision=revision)
        if model.training:
            raise AssertionError("from_pretrained returned a model in training mode")
        result["model_class"] = type(model).__name__
        with torch.no_grad():
            save_tensors(work_dir / f"{name}.safetensors", output_tensors(model(**inputs)))

    result["processor_class"] = result["processor"] = None
    if auto_class is not None:
        processor = getattr(transformers, auto_class).from_pretrained(repo_id)
        result["processor_class"] = type(processor).__name__
        result["processor"] = processor.to_dict()
        if (work_dir / PROCESSOR_INPUTS_FILE).exists():
            sample = {k: [v.numpy()] for k, v in load_tensors(work_dir / PROCESSOR_INPUTS_FILE).items()}
            save_tensors(work_dir / "processor_loaded.safetensors", _processed(processor, sample))

    snapshot_dirs = {name: snapshot_download(repo_id, revision=rev) for name, rev in revisions.items()}
    info = HfApi().model_info(repo_id)
    result.update(
        snapshots={name: folder_digests(folder) for name, folder in snapshot_dirs.items()},
        readme=(Path(snapshot_dirs["main"]) / "README.md").read_text(),
        info={"sha": info.sha, "tags": list(info.tags or []), "siblings": sorted(s.rfilename for s in info.siblings)},
    )
    return result


__all__ = [
    "INPUTS_FILE",
    "default_processor",
    "folder_digests",
    "load_tensors",
    "output_tensors",
    "perturb_parameters",
    "processor_sample",
    "pull_family_versions",
    "push_family_versions",
    "run_each",
    "save_tensors",
]

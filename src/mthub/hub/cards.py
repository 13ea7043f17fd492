"""Model cards generated from preset metadata (``mthub cards``) and for models pushed with ``push_to_hub``.

A card has Hub YAML front matter (library_name, tags, pipeline_tag, datasets, metrics, license, model-index with the
paper's reported results — labelled as reported by the paper, never as measured by mthub), then architecture, tasks,
input geometry, parameters and GMACs (computed on the meta device; convention stated), paper-vs-code choices, how to
load (``import mthub`` first) and fine-tune, and the citation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

from ..registry import Preset, get_family, get_preset, list_presets, preset_config

#: mthub pipeline task → the closest official Hub ``pipeline_tag`` (the Hub accepts only its own tags).
HUB_PIPELINE_TAGS = {
    "multi-task-video": "video-classification",
    "multi-task-dense-prediction": "image-segmentation",
    "egocentric-video-tasks": "video-classification",
}
from ..analysis import CONVENTION as MACS_CONVENTION  # noqa: E402


def _model_index(preset: Preset) -> list[dict[str, Any]] | None:
    if not preset.reported:
        return None
    metrics = [
        {"type": name, "name": f"{name} (reported by the paper)", "value": value, "verified": False}
        for name, value in preset.reported.items()
    ]
    dataset = preset.datasets[0] if preset.datasets else "unknown"
    return [{"name": preset.hub_id, "results": [{"task": {"type": "other", "name": "multi-task"}, "dataset": {"type": dataset, "name": dataset}, "metrics": metrics}]}]


def _card_data(preset: Preset, family, tasks) -> ModelCardData:
    pipeline_tag = HUB_PIPELINE_TAGS.get(family.pipeline_tasks[0]) if family.pipeline_tasks else None
    metrics = sorted({task.metric for task in tasks if task.metric})
    data = ModelCardData(
        library_name="transformers",
        license=preset.license,
        tags=["mthub", family.model_type, "multi-task", *(["paper:" + preset.paper] if preset.paper else [])],
        pipeline_tag=pipeline_tag,
        datasets=list(preset.datasets) or None,
        metrics=metrics or None,
    )
    index = _model_index(preset)
    if index:
        data.model_index = index  # written under the Hub's "model-index" key
    return data


def preset_card(name: str, summary: dict[str, Any] | None = None) -> ModelCard:
    """The card of preset ``name``; ``summary`` is :func:`mthub.info.preset_summary` output (computed when omitted)."""
    from ..info import preset_summary

    preset = get_preset(name)
    family = get_family(preset.family)
    summary = summary or preset_summary(name)

    return _render(preset, family, preset_config(name).task_specs, summary)


def _render(preset: Preset, family, tasks, summary: dict[str, Any], repo_id: str | None = None) -> ModelCard:
    repo_id = repo_id or preset.hub_id
    data = _card_data(preset, family, tasks)
    task_rows = "\n".join(
        f"| `{t.name}` | {t.kind} | {t.num_outputs} | {t.loss or '—'} (weight {t.loss_weight:g}) | {t.metric or '—'} |" for t in tasks
    )
    geometry = ", ".join(f"{k}={v}" for k, v in preset.input_size.items()) or "see config"
    gmacs = summary.get("gmacs")
    cost = f"{gmacs:.4g} GMACs per sample at {geometry}" if gmacs is not None else "not computed"
    notes = "\n".join(f"- {note}" for note in preset.notes) or "- None: this preset follows the paper as written."
    reported = "\n".join(f"| {k} | {v} |" for k, v in preset.reported.items())
    reported_section = (
        f"\n## Results reported by the paper\n\nThese numbers are copied from the paper; mthub has not reproduced them.\n\n| metric | value |\n|---|---|\n{reported}\n"
        if reported
        else ""
    )
    paper = family.paper or {}
    citation = f"\n## Citation\n\n```bibtex\n{paper['bibtex'].strip()}\n```\n" if paper.get("bibtex") else ""
    title = f"[{paper.get('title')}]({paper['url']})" if paper.get("url") else paper.get("title")
    paper_line = f"Paper: {title} ({paper.get('venue', '')}).\n\n" if paper.get("title") else ""
    licence_note = (
        "\nConverted weights inherit the licence of the official checkpoints (CC BY-NC-SA 4.0: non-commercial).\n"
        if preset.license == "cc-by-nc-sa-4.0"
        else ""
    )
    body = f"""
# {repo_id}

{preset.description}

{paper_line}mthub family `{family.model_type}` — {family.description}
{licence_note}
## Tasks

| task | kind | outputs | loss | metric |
|---|---|---|---|---|
{task_rows}

## Input and cost

- Input geometry: {geometry}
- Parameters: {summary['params_total']:,} total, {summary['params_trainable']:,} trainable
- Compute: {cost} ({MACS_CONVENTION}); counted by `mthub.analysis` on the meta device.

## Paper-vs-code choices

{notes}
{reported_section}
## How to use

```python
import mthub  # registers mthub models with transformers: required before from_pretrained
from transformers import AutoModel

model = AutoModel.from_pretrained("{repo_id}")
# base configuration: mthub.preset_config("{preset.name}")
```

Fine-tune with `mthub.training.MultiTaskTrainer` (a `transformers.Trainer` for dict labels and outputs); see
`examples/` in the mthub repository, which also run under `accelerate launch`.
{citation}"""
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")


def write_model_cards(out_dir: str | Path = "model_cards", presets: list[str] | None = None) -> list[Path]:
    """Write ``<out_dir>/<preset>.md`` for every preset (or the ones named); returns the written paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in presets or list_presets():
        path = out_dir / f"{name}.md"
        path.write_text(str(preset_card(name)))
        written.append(path)
    return written


def model_card_for(model, repo_id: str | None = None) -> ModelCard:
    """Card of a model being pushed: built from its preset's metadata when it was made from one
    (``config.mthub_preset``), otherwise from its family's; parameters are counted on the model itself."""
    from ..analysis import count_parameters
    from ..info import preset_summary

    params = count_parameters(model)
    summary: dict[str, Any] = {"params_total": params.total, "params_trainable": params.trainable}
    name = getattr(model.config, "mthub_preset", None)
    if name is not None:
        summary["gmacs"] = preset_summary(name).get("gmacs")
        card = preset_card(name, summary)
        return card if repo_id is None else _render(get_preset(name), get_family(get_preset(name).family), model.config.task_specs, summary, repo_id)
    family = get_family(model.config.model_type)
    adhoc = Preset(name=(repo_id or model.name_or_path or family.model_type).split("/")[-1], family=family.model_type, config={}, description=family.description)
    return _render(adhoc, family, model.config.task_specs, summary, repo_id)


__all__ = ["HUB_PIPELINE_TAGS", "model_card_for", "preset_card", "write_model_cards"]

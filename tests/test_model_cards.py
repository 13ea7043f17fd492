"""Model cards: the committed cards equal freshly generated ones; the front matter is valid Hub metadata."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import ModelCard

import mthub
from mthub.hub.cards import write_model_cards

ROOT = Path(__file__).resolve().parents[1]


def test_committed_cards_are_up_to_date(tmp_path):
    written = write_model_cards(tmp_path)
    assert {p.name for p in written} == {f"{name}.md" for name in mthub.list_presets()}
    stale = [p.name for p in written if not (ROOT / "model_cards" / p.name).exists() or (ROOT / "model_cards" / p.name).read_text() != p.read_text()]
    assert not stale, f"model_cards/ is stale for {stale}: run `mthub cards`"


@pytest.mark.parametrize("name", mthub.list_presets())
def test_card_front_matter(name):
    card = ModelCard((ROOT / "model_cards" / f"{name}.md").read_text())
    preset = mthub.get_preset(name)
    assert card.data.library_name == "transformers"
    assert "mthub" in card.data.tags and preset.family in card.data.tags
    assert card.data.license == preset.license
    assert "import mthub" in card.text
    assert "1 MAC = 1 multiply-add" in card.text
    for metric, value in preset.reported.items():
        assert f"| {metric} | {value} |" in card.text

"""``push_to_hub`` for mthub models: weights, config and a generated model card in one commit."""

from __future__ import annotations

import tempfile
from pathlib import Path

from huggingface_hub import HfApi


def push_model(
    model,
    repo_id: str,
    *,
    commit_message: str | None = None,
    commit_description: str | None = None,
    private: bool | None = None,
    token: bool | str | None = None,
    revision: str | None = None,
    create_pr: bool = False,
    max_shard_size: int | str | None = "50GB",
    tags: list[str] | None = None,
):
    """Save ``model`` and its card (:func:`mthub.hub.cards.model_card_for`) and upload both in one commit.

    transformers' own ``push_to_hub`` writes a generic "🤗 transformers model" card over any README; mthub replaces it
    with a card generated from the preset metadata. Returns the ``CommitInfo``.
    """
    from .cards import model_card_for

    api = HfApi(token=token if isinstance(token, str) else None)
    repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
    with tempfile.TemporaryDirectory() as work_dir:
        model.save_pretrained(work_dir, max_shard_size=max_shard_size)
        card = model_card_for(model, repo_id)
        for tag in tags or []:
            if tag not in (card.data.tags or []):
                card.data.tags = [*(card.data.tags or []), tag]
        card.save(Path(work_dir) / "README.md")
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=work_dir,
            commit_message=commit_message or "Upload model",
            commit_description=commit_description,
            revision=revision,
            create_pr=create_pr,
        )

"""``PreTrainedModel.push_to_hub`` + ``AutoModel.from_pretrained("org/name")`` (also at an older commit)
through the hub, with a tiny plain-transformers model. Per-family mthub round trips build on the same fixtures."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.slow  # two fresh processes importing torch + transformers
def test_transformers_push_and_from_pretrained(hub_client, hub_server, hub_repo_id):
    pushed = hub_client(
        f"""
        import torch
        from transformers import BertConfig, BertModel
        torch.manual_seed(0)
        config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                            intermediate_size=32, max_position_embeddings=32)
        model = BertModel(config).eval()
        ids = torch.arange(12).reshape(1, 12)
        with torch.no_grad():
            v1 = model.push_to_hub({hub_repo_id!r}, commit_message="v1").oid
            out1 = model(ids).last_hidden_state
            model.embeddings.word_embeddings.weight.add_(0.5)
            v2 = model.push_to_hub({hub_repo_id!r}, commit_message="v2").oid
            out2 = model(ids).last_hidden_state
        emit({{"v1": v1, "v2": v2, "out1": out1.tolist(), "out2": out2.tolist()}})
    """,
        timeout=300,
    ).result
    loaded = hub_client(
        f"""
        import torch
        from transformers import AutoModel
        ids = torch.arange(12).reshape(1, 12)
        out = {{}}
        with torch.no_grad():
            for name, rev in [("main", None), ("v1", {pushed["v1"]!r})]:
                model = AutoModel.from_pretrained({hub_repo_id!r}, revision=rev).eval()
                out[name] = model(ids).last_hidden_state.tolist()
        emit(out)
    """,
        timeout=300,
    ).result
    assert pushed["v1"] != pushed["v2"]
    np.testing.assert_allclose(loaded["main"], pushed["out2"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(loaded["v1"], pushed["out1"], rtol=0, atol=1e-6)
    assert not np.allclose(pushed["out1"], pushed["out2"])
    hub_server.assert_requested("GET", f"/{hub_repo_id}/resolve/{pushed['v1']}/model.safetensors", status=200)

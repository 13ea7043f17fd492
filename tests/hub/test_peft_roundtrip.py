"""A peft LoRA adapter on the test model through the hub (issue 4 acceptance), in fresh processes.

Process 1 pushes the base model, wraps it with LoRA on the attention ``q_proj`` / ``v_proj`` of
:class:`mthub.layers.attention.MultiHeadAttention`, trains one optimizer step on the family's example labels and
pushes the adapter. Process 2 finds the base through the adapter config, loads it with ``AutoModel`` and the adapter
with ``PeftModel.from_pretrained``; its outputs must equal the trained adapter's.
"""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import load_file

FAMILY = "mthub_tiny_mt"
TARGET_MODULES = ["q_proj", "v_proj"]


def _read(path):
    assert path.exists(), f"{path} was not written by the client process"
    return load_file(str(path))


def _assert_same(got, expected, what):
    assert sorted(got) == sorted(expected), f"{what}: output names differ"
    for name, value in expected.items():
        np.testing.assert_array_equal(got[name], value, err_msg=f"{what}: {name}")


@pytest.mark.slow  # two fresh processes importing torch + transformers + peft + mthub
def test_lora_adapter_push_and_peft_from_pretrained(hub_client, hub_server, tmp_path):
    base_repo = f"{hub_server.user}/lora-base-{FAMILY.replace('_', '-')}"
    adapter_repo = f"{hub_server.user}/lora-adapter-{FAMILY.replace('_', '-')}"
    mark = hub_server.access_log_mark()
    pushed = hub_client(f"""
        import torch
        import mthub
        from peft import LoraConfig, get_peft_model
        from mthub.testing.roundtrip import output_tensors, save_tensors

        family = mthub.get_family({FAMILY!r})
        torch.manual_seed(0)
        config = family.tiny_config()
        base = family.model_class(config).eval()
        base.name_or_path = {base_repo!r}  # peft records it as the adapter config's base_model_name_or_path
        base_commit = base.push_to_hub({base_repo!r}).oid
        inputs, labels = family.example_inputs(config, 2), family.example_labels(config, 2)
        save_tensors({str(tmp_path / "inputs.safetensors")!r}, inputs)
        with torch.no_grad():
            save_tensors({str(tmp_path / "base.safetensors")!r}, output_tensors(base(**inputs)))

        model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules={TARGET_MODULES!r}))
        trainable = sorted(n for n, p in model.named_parameters() if p.requires_grad)
        # One step with the model in eval mode: no dropout, and BatchNorm running statistics stay those of the
        # pushed base (they are base weights, not saved in the adapter; train mode would update them).
        model.eval()
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
        loss = model(**inputs, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        with torch.no_grad():
            save_tensors({str(tmp_path / "trained.safetensors")!r}, output_tensors(model(**inputs)))
        adapter_commit = model.push_to_hub({adapter_repo!r}).oid
        emit({{"trainable": trainable, "loss": loss.item(), "base_commit": base_commit,
              "adapter_commit": adapter_commit}})
    """).result
    pulled = hub_client(f"""
        import torch
        import mthub  # registers mthub's classes with the Auto classes
        from huggingface_hub import HfApi
        from peft import PeftConfig, PeftModel
        from transformers import AutoModel
        from mthub.testing.roundtrip import load_tensors, output_tensors, save_tensors

        peft_config = PeftConfig.from_pretrained({adapter_repo!r})
        base = AutoModel.from_pretrained(peft_config.base_model_name_or_path)
        model = PeftModel.from_pretrained(base, {adapter_repo!r})
        inputs = load_tensors({str(tmp_path / "inputs.safetensors")!r})
        with torch.no_grad():
            save_tensors({str(tmp_path / "loaded.safetensors")!r}, output_tensors(model(**inputs)))
            with model.disable_adapter():
                save_tensors({str(tmp_path / "loaded_base.safetensors")!r}, output_tensors(model(**inputs)))
        emit({{
            "base_model_name_or_path": peft_config.base_model_name_or_path,
            "target_modules": sorted(peft_config.target_modules),
            "base_class": type(base).__name__,
            "training": model.training,
            "files": sorted(HfApi().list_repo_files({adapter_repo!r})),
        }})
    """).result

    # Only the LoRA matrices of q_proj / v_proj were trained, and the step changed the outputs.
    assert pushed["trainable"] and all(".lora_" in name for name in pushed["trainable"])
    assert {name.split(".lora_")[0].rsplit(".", 1)[-1] for name in pushed["trainable"]} == set(TARGET_MODULES)
    trained, base = _read(tmp_path / "trained.safetensors"), _read(tmp_path / "base.safetensors")
    assert max(float(np.abs(trained[k] - base[k]).max(initial=0.0)) for k in base) > 1e-5
    assert np.isfinite(pushed["loss"])

    # The loaded base + adapter reproduce the trained model exactly; without the adapter, the base.
    _assert_same(_read(tmp_path / "loaded.safetensors"), trained, "base + adapter loaded from the hub")
    _assert_same(_read(tmp_path / "loaded_base.safetensors"), base, "base loaded from the hub")
    assert pulled["base_model_name_or_path"] == base_repo and pulled["base_class"] == "TinyMTModel"
    assert pulled["target_modules"] == TARGET_MODULES and pulled["training"] is False
    # The adapter repo holds only the adapter (not a copy of the base weights).
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md"} <= set(pulled["files"])
    assert not any(name.startswith("model") and name.endswith(".safetensors") for name in pulled["files"])

    hub_server.assert_requested("POST", f"/api/models/{adapter_repo}/commit/main", 200, since=mark)
    hub_server.assert_requested("POST", f"/api/models/{base_repo}/commit/main", 200, since=mark)
    # peft downloads the adapter at main; transformers resolves main to the commit sha before downloading the base.
    hub_server.assert_requested("GET", f"/{adapter_repo}/resolve/main/adapter_model.safetensors", 200, since=mark)
    base_weights = f"/{base_repo}/resolve/{pushed['base_commit']}/model.safetensors"
    hub_server.assert_requested("GET", base_weights, 200, since=mark)
    hub_server.assert_requested("PUT", f"/api/mthub/lfs/models/{adapter_repo}/", 200, since=mark)

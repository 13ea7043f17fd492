"""Contract tests run for every registered model family (tiny configs): serialisation, dtype, attention kernels."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModel

import mthub
from tests.helpers import run_python

FAMILIES = mthub.list_model_families()


def _build(family_name: str, **overrides):
    family = mthub.get_family(family_name)
    config = family.tiny_config()
    for key, value in overrides.items():
        setattr(config, key, value)
    torch.manual_seed(0)
    model = AutoModel.from_config(config)
    return family, config, model


def _flat_logits(outputs) -> dict[str, torch.Tensor]:
    return {task: value for task, value in outputs.logits.items()}


@pytest.mark.parametrize("family_name", FAMILIES)
def test_save_then_load_in_fresh_process_gives_equal_outputs(family_name, tmp_path):
    family, config, model = _build(family_name)
    if family.example_labels is not None:  # one training step changes BatchNorm running statistics (buffers)
        model.train()
        model(**family.example_inputs(config, 2), labels=family.example_labels(config, 2)).loss.backward()
    model.eval()
    inputs = family.example_inputs(config, 2)
    # One thread, as in the fresh process: kernels may split reductions differently with more threads.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            expected = _flat_logits(model(**inputs))
    finally:
        torch.set_num_threads(threads)
    model.save_pretrained(tmp_path / "ckpt")
    save_file({k: v.contiguous() for k, v in inputs.items()}, str(tmp_path / "inputs.safetensors"))
    save_file(expected, str(tmp_path / "expected.safetensors"))
    code = f"""
import torch, mthub
from safetensors.torch import load_file, save_file
from transformers import AutoModel
model = AutoModel.from_pretrained({str(tmp_path / 'ckpt')!r}).eval()
inputs = load_file({str(tmp_path / 'inputs.safetensors')!r})
with torch.no_grad():
    out = model(**inputs).logits
save_file({{k: v.contiguous() for k, v in out.items()}}, {str(tmp_path / 'actual.safetensors')!r})
save_file({{k: v.contiguous() for k, v in model.state_dict().items() if k in dict(model.named_buffers())}}, {str(tmp_path / 'buffers.safetensors')!r})
"""
    run_python(code)
    actual = load_file(str(tmp_path / "actual.safetensors"))
    assert actual.keys() == expected.keys()
    for task in expected:
        torch.testing.assert_close(actual[task], expected[task], rtol=0, atol=0)
    buffers = load_file(str(tmp_path / "buffers.safetensors"))
    for name, buffer in model.named_buffers():
        if name in buffers:
            torch.testing.assert_close(buffers[name], buffer, rtol=0, atol=0)
    assert any("running_mean" in name for name in buffers) or not any("running_mean" in n for n, _ in model.named_buffers())


@pytest.mark.parametrize("family_name", FAMILIES)
def test_load_in_bfloat16(family_name, tmp_path):
    family, config, model = _build(family_name)
    model.save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path, dtype=torch.bfloat16).eval()
    assert all(p.dtype == torch.bfloat16 for p in loaded.parameters())
    inputs = {k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in family.example_inputs(config, 1).items()}
    with torch.no_grad():
        outputs = loaded(**inputs)
    for task, logits in outputs.logits.items():
        assert torch.isfinite(logits.float()).all(), task


@pytest.mark.parametrize("family_name", FAMILIES)
def test_eager_and_sdpa_attention_agree(family_name, tmp_path):
    family, config, model = _build(family_name)
    model.save_pretrained(tmp_path)
    inputs = family.example_inputs(config, 2)
    results = {}
    for implementation in ("eager", "sdpa"):
        loaded = AutoModel.from_pretrained(tmp_path, attn_implementation=implementation).eval()
        assert loaded.config._attn_implementation == implementation
        with torch.no_grad():
            results[implementation] = _flat_logits(loaded(**inputs))
    for task in results["eager"]:
        torch.testing.assert_close(results["eager"][task], results["sdpa"][task], rtol=0, atol=1e-5)


@pytest.mark.parametrize("family_name", FAMILIES)
def test_loss_is_finite_and_backpropagates_to_every_head(family_name):
    family, config, model = _build(family_name)
    if family.example_labels is None:
        pytest.skip("family has no example labels")
    outputs = model(**family.example_inputs(config, 2), labels=family.example_labels(config, 2))
    assert torch.isfinite(outputs.loss)
    assert set(outputs.losses) == set(config.task_names)
    outputs.loss.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"parameters without gradient: {missing[:5]}"

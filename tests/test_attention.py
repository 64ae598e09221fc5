"""Grouped-query attention on a CPU: the same numbers as transformers' sdpa, without the copy."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from clinr1.attention import GROUPED_SDPA, grouped_sdpa_forward, use_grouped_sdpa
from clinr1.config import ModelConfig
from clinr1.engine import load_model


def _padded_mask(batch: int, q_len: int, kv_len: int, pad: list[int]) -> torch.Tensor:
    """Left padding plus the causal pattern, as sdpa_mask builds it (True = attend)."""
    q_pos = torch.arange(kv_len - q_len, kv_len)[:, None]
    causal = torch.arange(kv_len)[None, :] <= q_pos
    keep = torch.stack([torch.arange(kv_len) >= p for p in pad])
    return (causal[None] & keep[:, None, :])[:, None]


@pytest.mark.parametrize("q_len", [1, 7])  # one decoding step; a padded prefill
@pytest.mark.parametrize("additive", [False, True])  # a bool mask; a float one of 0 / -inf
def test_matches_sdpa_values_and_gradients(q_len: int, additive: bool) -> None:
    torch.manual_seed(0)
    batch, heads, kv_heads, kv_len, dim = 3, 6, 2, 7, 8
    module = SimpleNamespace(num_key_value_groups=heads // kv_heads, is_causal=True)
    mask = _padded_mask(batch, q_len, kv_len, pad=[0, 2, 4])
    if additive:
        mask = torch.zeros(mask.shape).masked_fill(~mask, float("-inf"))
    tensors = [
        torch.randn(batch, heads, q_len, dim),
        torch.randn(batch, kv_heads, kv_len, dim),
        torch.randn(batch, kv_heads, kv_len, dim),
    ]
    outs, grads = [], []
    for forward in (sdpa_attention_forward, grouped_sdpa_forward):
        q, k, v = (t.clone().requires_grad_(True) for t in tensors)
        out, weights = forward(module, q, k, v, mask, scaling=0.3)  # not SDPA's default
        out.square().sum().backward()
        outs.append(out)
        grads.append([q.grad, k.grad, v.grad])
        assert weights is None and out.shape == (batch, q_len, heads, dim)
    torch.testing.assert_close(outs[0], outs[1])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b)


def test_unmasked_and_ungrouped_calls_keep_transformers_path(monkeypatch) -> None:
    calls = []
    import clinr1.attention

    def spy(*args, **kwargs):
        calls.append(args[4])
        return "transformers", None

    monkeypatch.setattr(clinr1.attention, "sdpa_attention_forward", spy)
    q, kv = torch.randn(1, 4, 3, 8), torch.randn(1, 2, 3, 8)
    grouped, plain = SimpleNamespace(num_key_value_groups=2), SimpleNamespace()
    assert grouped_sdpa_forward(grouped, q, kv, kv, None)[0] == "transformers"
    assert grouped_sdpa_forward(plain, q, q, q, torch.ones(1, 1, 3, 3, dtype=bool))[0] == (
        "transformers"
    )
    assert len(calls) == 2
    masked = grouped_sdpa_forward(grouped, q, kv, kv, torch.ones(1, 1, 3, 3, dtype=bool))[0]
    assert masked.shape == (1, 3, 4, 8) and len(calls) == 2  # this one took the grouped path


def _tiny() -> ModelConfig:
    return ModelConfig(
        name_or_path="tiny-random-qwen2", engine="hf", load_in_4bit=False, dtype="float32"
    )


def test_cpu_loads_switch_and_generate_the_same_tokens(tmp_path, monkeypatch) -> None:
    sdpa, grouped_calls = torch.nn.functional.scaled_dot_product_attention, []

    def counting(*args, **kwargs):
        grouped_calls.append(kwargs.get("enable_gqa", False))
        return sdpa(*args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", counting)
    loaded = load_model(_tiny(), trainable=False, verbose=False)
    model, tokenizer = loaded.model, loaded.tokenizer
    assert model.config._attn_implementation == GROUPED_SDPA  # tiny-random-qwen2: 4 q, 2 kv heads
    tokenizer.padding_side = "left"
    batch = tokenizer(
        ["A 45-year-old man with chest pain", "Fever"], return_tensors="pt", padding=True
    )
    assert batch["attention_mask"].min() == 0  # padded, so the masked path is exercised
    settings = dict(max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    grouped = model.generate(**batch, **settings)
    assert grouped_calls and all(grouped_calls)  # every layer, every step took enable_gqa
    model.set_attn_implementation("sdpa")
    torch.testing.assert_close(model.generate(**batch, **settings), grouped)
    # The switch lives in memory only: a saved model reloads with transformers' sdpa.
    model.set_attn_implementation(GROUPED_SDPA)
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert GROUPED_SDPA not in json.dumps(saved)


def test_a_lora_model_switches_through_peft() -> None:
    loaded = load_model(_tiny(), trainable=True, verbose=False)  # a PeftModel with LoRA
    assert type(loaded.model).__name__.startswith("Peft")
    assert loaded.model.base_model.model.config._attn_implementation == GROUPED_SDPA


def test_models_that_gain_nothing_are_left_alone() -> None:
    loaded = load_model(_tiny(), trainable=False, verbose=False)
    model = loaded.model
    model.set_attn_implementation("eager")  # another attention: not switched
    assert not use_grouped_sdpa(model) and model.config._attn_implementation == "eager"
    model.set_attn_implementation("sdpa")
    model.config.num_key_value_heads = model.config.num_attention_heads  # no grouped heads
    assert not use_grouped_sdpa(model) and model.config._attn_implementation == "sdpa"

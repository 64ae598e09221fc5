"""The offline tiny model: a real Qwen2 + ChatML BPE tokenizer, built once and cached."""

from __future__ import annotations

from pathlib import Path

from clinr1.config import TINY_MODEL
from clinr1.engine import resolve_model
from clinr1.prompts import render_messages
from clinr1.tiny import tiny_model_path


def test_tiny_model_builds_once_and_loads() -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = tiny_model_path()
    assert tiny_model_path() == path  # cached, not rebuilt
    assert resolve_model(TINY_MODEL) == str(path)
    assert resolve_model("Qwen/Qwen2.5-3B-Instruct") == "Qwen/Qwen2.5-3B-Instruct"
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    n_params = sum(p.numel() for p in model.parameters())
    assert 50_000 < n_params < 200_000
    assert model.config.model_type == "qwen2" and model.config.num_hidden_layers == 2
    assert tok.eos_token == "<|im_end|>"
    assert model.generation_config.eos_token_id == tok.eos_token_id


def test_chat_template_is_chatml_and_any_text_round_trips() -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_path())
    messages = render_messages(
        {"question": "A 30-year-old has fever.", "options": {"A": "x", "B": "y"}}
    )
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text.startswith("<|im_start|>system\n")
    assert text.endswith("<|im_start|>assistant\n")
    sample = 'Ünïcödé 心 <dx> "quoted" \\boxed{C} 🙂'  # byte-level BPE: nothing is unknown
    assert tok.decode(tok.encode(sample)) == sample


def test_build_is_atomic_and_leaves_no_temp_dirs() -> None:
    path = tiny_model_path()
    leftovers = [p for p in Path(path).parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []

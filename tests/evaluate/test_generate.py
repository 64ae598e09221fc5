"""The generation backend of evaluation (clinr1.evaluate.generate)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinr1.config import TINY_MODEL, ModelConfig
from clinr1.evaluate.generate import HFGenerator, Sampling, build_generator

MESSAGES = [
    [{"role": "user", "content": "A 54-year-old man has crushing chest pain. Which test first?"}],
    [{"role": "user", "content": "Fever and a stiff neck in a student. Next step?"}],
    [{"role": "user", "content": "Which drug reverses heparin?"}],
]


@pytest.fixture(scope="module")
def adapter(tmp_path_factory: pytest.TempPathFactory, _model_cache: Path) -> Path:
    """A LoRA folder on the tiny model whose lora_B are not zero, so that it changes answers."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from clinr1.engine import resolve_model

    model = AutoModelForCausalLM.from_pretrained(resolve_model(TINY_MODEL), dtype=torch.float32)
    config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj", "down_proj"])
    peft = get_peft_model(model, config)
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in peft.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.2)
    folder = tmp_path_factory.mktemp("generate") / "adapter"
    peft.save_pretrained(folder)
    return folder


def _texts(generator: HFGenerator) -> list[str]:
    return [c[0].text for c in generator.generate(MESSAGES, 1)]


def test_an_adapter_is_merged_for_generation_and_says_the_same(adapter: Path) -> None:
    from clinr1.engine import load_model

    cfg = ModelConfig(name_or_path=TINY_MODEL, engine="hf", load_in_4bit=False, dtype="float32")
    sampling = Sampling(max_new_tokens=16)
    merged = build_generator(cfg, sampling, backend="hf", adapter=str(adapter), batch_size=2)
    assert not any("lora" in name for name, _ in merged.model.named_parameters())

    loaded = load_model(cfg, trainable=False, adapter=str(adapter), verbose=False)
    assert any("lora" in name for name, _ in loaded.model.named_parameters())
    unmerged = HFGenerator(loaded.model, loaded.tokenizer, sampling, batch_size=2)
    base = build_generator(cfg, sampling, backend="hf", batch_size=2)
    # the same greedy answers as the adapter applied on the side, and not the base model's
    assert _texts(merged) == _texts(unmerged) != _texts(base)

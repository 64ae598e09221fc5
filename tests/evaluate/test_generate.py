"""The generation backend of evaluation (clinr1.evaluate.generate)."""

from __future__ import annotations

from pathlib import Path

from clinr1.config import TINY_MODEL, ModelConfig
from clinr1.evaluate.generate import HFGenerator, Sampling, build_generator, load_streamer

MESSAGES = [
    [{"role": "user", "content": "A 54-year-old man has crushing chest pain. Which test first?"}],
    [{"role": "user", "content": "Fever and a stiff neck in a student. Next step?"}],
    [{"role": "user", "content": "Which drug reverses heparin?"}],
]


def _texts(generator: HFGenerator) -> list[str]:
    return [c[0].text for c in generator.generate(MESSAGES, 1)]


def test_an_adapter_is_merged_for_generation_and_says_the_same(tiny_adapter: Path) -> None:
    from clinr1.engine import load_model

    cfg = ModelConfig(name_or_path=TINY_MODEL, engine="hf", load_in_4bit=False, dtype="float32")
    sampling = Sampling(max_new_tokens=16)
    merged = build_generator(cfg, sampling, backend="hf", adapter=str(tiny_adapter), batch_size=2)
    assert not any("lora" in name for name, _ in merged.model.named_parameters())

    loaded = load_model(cfg, trainable=False, adapter=str(tiny_adapter), verbose=False)
    assert any("lora" in name for name, _ in loaded.model.named_parameters())
    unmerged = HFGenerator(loaded.model, loaded.tokenizer, sampling, batch_size=2)
    base = build_generator(cfg, sampling, backend="hf", batch_size=2)
    # the same greedy answers as the adapter applied on the side, and not the base model's
    assert _texts(merged) == _texts(unmerged) != _texts(base)
    # the chat loads the same way
    streamer = load_streamer(cfg, adapter=str(tiny_adapter), max_new_tokens=16)
    assert not any("lora" in name for name, _ in streamer.model.named_parameters())

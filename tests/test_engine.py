"""Engines: engine choice, GPU-only settings refused on a CPU, the hf engine with LoRA.

The Unsloth engine is exercised in a subprocess by tests/test_train.py: importing unsloth
patches transformers for the whole process, which must not leak into the other tests.
"""

from __future__ import annotations

import pytest

from clinr1.config import ModelConfig
from clinr1.engine import EngineError, choose_engine, load_model


def tiny(**kw) -> ModelConfig:
    return ModelConfig(name_or_path="tiny-random-qwen2", engine="hf", load_in_4bit=False, **kw)


def test_auto_picks_hf_without_a_gpu() -> None:
    assert choose_engine("auto") == "hf"
    assert choose_engine("unsloth") == "unsloth"  # installed here (CPU backend)


def test_4bit_and_vllm_need_a_gpu() -> None:
    with pytest.raises(EngineError, match=r"model\.load_in_4bit=true needs a CUDA GPU"):
        load_model(ModelConfig(name_or_path="tiny-random-qwen2", engine="hf"))
    with pytest.raises(EngineError, match="fast_inference"):
        load_model(tiny(fast_inference=True))


def test_hf_engine_adds_trainable_lora_only() -> None:
    loaded = load_model(tiny(), verbose=False)
    assert loaded.engine == "hf"
    trainable = [n for n, p in loaded.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)


def test_full_finetune_when_lora_is_none() -> None:
    loaded = load_model(tiny(lora=None), verbose=False)
    assert all(p.requires_grad for p in loaded.model.parameters())


def test_unknown_model_and_bad_adapter_are_one_line_errors(tmp_path) -> None:
    with pytest.raises(EngineError, match="could not load model 'no-such-org/no-such-model'"):
        load_model(tiny().model_copy(update={"name_or_path": "no-such-org/no-such-model"}))
    with pytest.raises(EngineError, match="no such model folder or file"):
        load_model(tiny().model_copy(update={"name_or_path": str(tmp_path / "missing")}))
    with pytest.raises(EngineError, match="not a LoRA folder"):
        load_model(tiny(), adapter=str(tmp_path))


def test_a_missing_local_model_folder_is_one_line_not_a_hub_download(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without this check transformers tries "outputs/sft" on the hub: ~50 s offline.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()
    for name in ("outputs/sft", "./sft", str(tmp_path / "models" / "m")):
        with pytest.raises(EngineError, match=r"no such model folder or file: .*a hub id is"):
            load_model(ModelConfig(name_or_path=name, engine="hf", load_in_4bit=False))

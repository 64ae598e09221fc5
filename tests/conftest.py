"""Shared test setup: CPU-friendly threads, a private model cache, offline hub, repo paths."""

from __future__ import annotations

import os
from pathlib import Path

# Before torch is imported anywhere: tiny-model generation stalls for seconds with many threads.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The hub is unreachable on CI; fail fast instead of retrying.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the tiny model into a cache private to this test session."""
    cache = tmp_path_factory.mktemp("clinr1-cache")
    os.environ["CLINR1_CACHE"] = str(cache)
    return cache


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (a user's clone has none)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def structured_model(tmp_path_factory: pytest.TempPathFactory, _model_cache: Path) -> Path:
    """The tiny model after a short cold-start SFT on the demo traces (full fine-tune).

    A random model's completions all score 0, so GRPO has no advantage to learn from; this one
    writes enough of the structure that the CRPO rewards vary within a group.
    """
    from clinr1 import sft
    from clinr1.config import load_recipe
    from clinr1.data import demo_items
    from clinr1.demo import demo_recipe_path
    from clinr1.traces import write_traces

    root = tmp_path_factory.mktemp("structured")
    traces = write_traces(demo_items(), root / "traces.jsonl", compact=True)
    recipe = load_recipe(
        demo_recipe_path(),
        [
            f"train.output_dir={root / 'sft'}",
            f"data.train={{name: jsonl, path: {traces}}}",
            "sft.max_steps=150",
            "sft.save_steps=1000",
        ],
    )
    sft.run(recipe)
    return root / "sft"


@pytest.fixture(scope="session")
def tiny_adapter(tmp_path_factory: pytest.TempPathFactory, _model_cache: Path) -> Path:
    """A real LoRA folder on the tiny model (with its tokenizer) whose lora_B are not zero, so
    that merging it or applying it changes what the model says."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from clinr1.engine import resolve_model

    base = resolve_model("tiny-random-qwen2")
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    config = LoraConfig(
        r=8, lora_alpha=16, target_modules=["q_proj", "v_proj", "up_proj", "down_proj"]
    )
    peft = get_peft_model(model, config)
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in peft.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.2)
    folder = tmp_path_factory.mktemp("lora") / "adapter"
    peft.save_pretrained(folder)
    AutoTokenizer.from_pretrained(base).save_pretrained(folder)
    return folder

"""``clinr1 bench --random-init``: a model's architecture with random weights, built offline.

The folder is built once into the cache (:func:`clinr1.cache.build_once`) and is an ordinary
Hugging Face model, so each engine loads it through its real path, 4-bit quantisation included.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from clinr1.bench.definitions import BenchError

# Architectures that --random-init builds without the hub (from the models' config.json).
_QWEN25 = dict(
    model_type="qwen2",
    hidden_act="silu",
    rms_norm_eps=1e-6,
    rope_theta=1_000_000.0,
    max_position_embeddings=32768,
    use_sliding_window=False,
)
ARCHITECTURES: dict[str, dict[str, Any]] = {
    "Qwen2.5-0.5B-Instruct": dict(
        _QWEN25, hidden_size=896, num_hidden_layers=24, num_attention_heads=14,
        num_key_value_heads=2, intermediate_size=4864, vocab_size=151936, tie_word_embeddings=True,
    ),
    "Qwen2.5-1.5B-Instruct": dict(
        _QWEN25, hidden_size=1536, num_hidden_layers=28, num_attention_heads=12,
        num_key_value_heads=2, intermediate_size=8960, vocab_size=151936, tie_word_embeddings=True,
    ),
    "Qwen2.5-3B-Instruct": dict(
        _QWEN25, hidden_size=2048, num_hidden_layers=36, num_attention_heads=16,
        num_key_value_heads=2, intermediate_size=11008, vocab_size=151936,
        tie_word_embeddings=True,
    ),
    "Qwen2.5-7B-Instruct": dict(
        _QWEN25, hidden_size=3584, num_hidden_layers=28, num_attention_heads=28,
        num_key_value_heads=4, intermediate_size=18944, vocab_size=152064,
        tie_word_embeddings=False,
    ),
}  # fmt: skip
_RANDOM_BUILD_VERSION = 1


def architecture(name_or_path: str) -> tuple[dict[str, Any], Path | None]:
    """The config (as a dict with ``model_type``) of ``name_or_path``, and its tokenizer folder.

    A local folder (or ``tiny-random-qwen2``) gives its own config and tokenizer; a known hub
    name (``Qwen/Qwen2.5-3B-Instruct``, any owner) gives the built-in table above and no
    tokenizer; any other name is fetched with ``AutoConfig`` (needs the hub or its cache).
    """
    from clinr1.engine import resolve_model

    path = Path(resolve_model(name_or_path))
    if (path / "config.json").is_file():
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        has_tokenizer = (path / "tokenizer_config.json").is_file()
        return config, path if has_tokenizer else None
    base = name_or_path.rstrip("/").split("/")[-1]
    for known, arch in ARCHITECTURES.items():
        if base.lower() == known.lower():
            return dict(arch), None
    try:
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(name_or_path).to_dict(), None
    except Exception as e:
        raise BenchError(
            f"--random-init: no built-in architecture for {name_or_path!r} and its config could "
            f"not be fetched ({type(e).__name__}); known: {', '.join(ARCHITECTURES)}, or pass a "
            "local model folder"
        ) from None


def random_model_path(name_or_path: str, dtype: str = "auto", seed: int = 0) -> Path:
    """Build (once, cached) ``name_or_path``'s architecture with random weights; return the folder.

    The folder is an ordinary Hugging Face model (safetensors + tokenizer), so each engine loads
    it through its real path, 4-bit quantisation included. Without a tokenizer of its own (a hub
    name offline) it gets the tiny model's byte-level BPE (768 ids, ChatML template,
    ``<|im_end|>`` as EOS); the model keeps its full vocabulary, the ids above 768 stay unused
    in prompts and decode to nothing.
    """
    from clinr1.cache import build_once, cache_dir
    from clinr1.tiny import tiny_model_path

    config, tokenizer_dir = architecture(name_or_path)
    tokenizer_dir = tokenizer_dir or tiny_model_path()
    key = json.dumps([_RANDOM_BUILD_VERSION, config, str(tokenizer_dir), dtype, seed], default=str)
    slug = name_or_path.rstrip("/").split("/")[-1]
    target = cache_dir() / "random-init" / f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"

    def build(folder: Path) -> None:
        _build_random(config, tokenizer_dir, folder, dtype=dtype, seed=seed)
        marker = {"from": name_or_path, "seed": seed}
        (folder / "clinr1_random.json").write_text(json.dumps(marker))

    return build_once(target, "clinr1_random.json", build)


def _build_random(config: dict[str, Any], tokenizer_dir: Path, out: Path, *, dtype: str, seed: int):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    config = dict(config)
    model_type = config.pop("model_type")
    for key in ("architectures", "transformers_version", "torch_dtype", "dtype", "_name_or_path"):
        config.pop(key, None)
    cfg = AutoConfig.for_model(model_type, **config)
    cfg.eos_token_id = tokenizer.eos_token_id
    cfg.pad_token_id = tokenizer.pad_token_id
    cfg.bos_token_id = None
    torch_dtype = torch.bfloat16 if dtype == "auto" else getattr(torch, dtype)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch_dtype)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    del model

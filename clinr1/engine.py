"""Engines: load a model + tokenizer (+ LoRA) through Unsloth or plain transformers/PEFT.

* ``unsloth`` -- ``FastLanguageModel`` (fused kernels, 4-bit, optional vLLM generation). Unsloth
  patches transformers and TRL when imported, so it is imported here before either.
* ``hf`` -- transformers + bitsandbytes 4-bit (CUDA only) + PEFT LoRA.
* ``auto`` -- ``unsloth`` when a GPU is present and Unsloth imports, else ``hf``.

Both run on a CPU with the tiny model (Unsloth through its CPU backend), which is how they are
tested without a GPU. What a CPU refuses is decided in :mod:`clinr1.device`.

``model.name_or_path`` is first resolved to a local folder (:func:`resolve_model`): the named
models and GGUF files are built once into the cache; a hub id passes through.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clinr1.config import TINY_MODEL, ModelConfig
from clinr1.device import EngineError, cuda_available, device_settings


@dataclass
class Loaded:
    model: Any
    tokenizer: Any
    engine: str


def resolve_model(name_or_path: str, gguf_file: str | None = None) -> str:
    """The local folder of a named model or a GGUF file; other names pass through.

    ``tiny-random-qwen2`` is built by :mod:`clinr1.tiny`; ``smollm2-135m-instruct``, a ``.gguf``
    path, or a folder with ``gguf_file`` are converted once by :mod:`clinr1.gguf` (a
    ``GGUFError`` when they cannot be).
    """
    if name_or_path == TINY_MODEL and not gguf_file:
        from clinr1.tiny import tiny_model_path

        return str(tiny_model_path())
    from clinr1.gguf import resolve_gguf

    return resolve_gguf(name_or_path, gguf_file) or name_or_path


def choose_engine(requested: str) -> str:
    """Resolve ``auto`` to ``unsloth`` (GPU + Unsloth installed) or ``hf``."""
    if requested != "auto":
        if requested == "unsloth" and importlib.util.find_spec("unsloth") is None:
            raise EngineError(
                "model.engine=unsloth but unsloth is not installed: "
                "pip install 'clinr1[gpu]' or set model.engine=hf"
            )
        return requested
    if importlib.util.find_spec("unsloth") is not None and cuda_available():
        return "unsloth"
    return "hf"


def _torch_dtype(name: str, cuda: bool):
    import torch

    if name == "auto":
        if not cuda:
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return getattr(torch, name)


def _not_found(name: str, err: Exception) -> EngineError:
    return EngineError(
        f"could not load model {name!r} ({type(err).__name__}): check the name, or that the hub "
        "is reachable (HF_HUB_OFFLINE), or pass a local folder as model.name_or_path"
    )


def load_model(
    cfg: ModelConfig,
    *,
    trainable: bool = True,
    adapter: str | None = None,
    seed: int = 42,
    verbose: bool = True,
) -> Loaded:
    """Load ``cfg``'s model and tokenizer with its engine; add LoRA when ``trainable``.

    ``adapter`` (or ``cfg.adapter``) is a LoRA folder to start from: trained further when
    ``trainable``, frozen for inference otherwise.
    """
    engine = choose_engine(cfg.engine)
    device_settings(cfg)  # GPU-only settings are refused here, before anything loads
    if verbose:
        print(f"engine: {engine} (model.engine={cfg.engine})", flush=True)
    adapter = adapter or cfg.adapter
    if adapter and not (Path(adapter) / "adapter_config.json").is_file():
        raise EngineError(f"adapter {adapter!r} is not a LoRA folder (no adapter_config.json)")
    from clinr1.data.loading import missing_local_folder

    if missing_local_folder(cfg.name_or_path):  # else it is tried on the hub, ~50 s offline
        raise EngineError(
            f"no such model folder or file: {cfg.name_or_path} (model.name_or_path); a hub id is "
            "OWNER/NAME"
        )
    loader = _load_unsloth if engine == "unsloth" else _load_hf
    model, tokenizer = loader(cfg, trainable=trainable, adapter=adapter, seed=seed)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return Loaded(model=model, tokenizer=tokenizer, engine=engine)


def _load_unsloth(cfg: ModelConfig, *, trainable: bool, adapter: str | None, seed: int):
    import unsloth  # noqa: F401 - must patch transformers/TRL before they are used
    from unsloth import FastLanguageModel

    cuda = cuda_available()
    name = resolve_model(cfg.name_or_path, cfg.gguf_file)
    fast_inference = cfg.fast_inference and importlib.util.find_spec("vllm") is not None
    kwargs: dict[str, Any] = dict(
        model_name=name,
        max_seq_length=cfg.max_seq_length,
        load_in_4bit=cfg.load_in_4bit,
        # Unsloth's CPU backend loads bf16 unless told otherwise; fp32 keeps tiny runs exact.
        dtype=None if (cuda and cfg.dtype == "auto") else _torch_dtype(cfg.dtype, cuda),
        trust_remote_code=cfg.trust_remote_code,
    )
    if fast_inference:
        kwargs.update(
            fast_inference=True,
            gpu_memory_utilization=cfg.gpu_memory_utilization,
            max_lora_rank=cfg.lora.r if cfg.lora else 16,
        )
    try:
        model, tokenizer = FastLanguageModel.from_pretrained(**kwargs)
    except OSError as e:
        raise _not_found(name, e) from None
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter, is_trainable=trainable)
    elif trainable and cfg.lora is not None:
        model = FastLanguageModel.get_peft_model(
            model,
            r=cfg.lora.r,
            lora_alpha=cfg.lora.alpha,
            lora_dropout=cfg.lora.dropout,
            target_modules=cfg.lora.target_modules,
            # Unsloth's offloaded checkpointing is what lets a 3B GRPO fit 15 GB; GPU only.
            use_gradient_checkpointing="unsloth" if cuda else False,
            random_state=seed,
        )
    if not trainable:
        FastLanguageModel.for_inference(model)
    return model, tokenizer


def _load_hf(cfg: ModelConfig, *, trainable: bool, adapter: str | None, seed: int):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cuda = cuda_available()
    name = resolve_model(cfg.name_or_path, cfg.gguf_file)
    dtype = _torch_dtype(cfg.dtype, cuda)
    kwargs: dict[str, Any] = dict(dtype=dtype, trust_remote_code=cfg.trust_remote_code)
    if cfg.load_in_4bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
        )
        kwargs["device_map"] = {"": 0}
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=cfg.trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(name, **kwargs)
    except OSError as e:
        raise _not_found(name, e) from None
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter, is_trainable=trainable)
    elif trainable and cfg.lora is not None:
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

        if cfg.load_in_4bit:
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
        model = get_peft_model(
            model,
            LoraConfig(
                r=cfg.lora.r,
                lora_alpha=cfg.lora.alpha,
                lora_dropout=cfg.lora.dropout,
                target_modules=cfg.lora.target_modules,
                task_type="CAUSAL_LM",
            ),
        )
    if not trainable:
        model.eval()
    if not cuda:  # batched CPU generation without copying the KV cache per query head
        from clinr1.attention import use_grouped_sdpa

        use_grouped_sdpa(model)
    return model, tokenizer

"""The device policy, in one place: what runs on this machine, and what changes without a GPU.

* :func:`cuda_available` -- the one test for a CUDA GPU (``False`` where torch is missing);
* :func:`device_settings` -- on a machine without CUDA, refuse the settings that need a GPU
  (4-bit weights, vLLM, bf16/fp16 ...) with what to change, and give TRL's trainer config the
  values that run on a CPU (:data:`CPU_TRAINER`); on a GPU machine nothing changes;
* :class:`EngineError` -- the one-line error of a model setting that cannot be honoured: a
  GPU-only setting here, an engine that is not installed, a model that cannot be found or
  converted (:class:`clinr1.gguf.GGUFError` is one).

Where a setting is left to the machine (``--load-in-4bit`` not given), the default is
:func:`cuda_available`: 4-bit where a CUDA GPU can run it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# TRL's configs default to bf16=True, which a CPU refuses; a trainer on a CPU gets these.
CPU_TRAINER: dict[str, Any] = {"use_cpu": True, "bf16": False, "fp16": False}
# Trainer settings (grpo:/sft: keys) that need a CUDA GPU.
GPU_ONLY_TRAINER = ("bf16", "fp16", "use_vllm", "gradient_checkpointing")


class EngineError(Exception):
    """A model could not be loaded as configured; the message is one line saying what to change."""


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU (``False`` where torch is not installed)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def device_settings(
    model: Any, trainer: Mapping[str, Any] | None = None, kind: str = "grpo"
) -> dict[str, Any]:
    """The trainer keyword arguments this machine needs (``{}`` on a CUDA GPU).

    ``model`` is a :class:`~clinr1.config.ModelConfig`; ``trainer`` the recipe's ``kind``
    section (``grpo`` or ``sft``), when a trainer is to be built. Without CUDA, a GPU-only setting
    of either is an :class:`EngineError` saying what to set instead.
    """
    if cuda_available():
        return {}
    if model.load_in_4bit:
        raise EngineError(
            "model.load_in_4bit=true needs a CUDA GPU (bitsandbytes 4-bit); on this machine set "
            "--set model.load_in_4bit=false or use recipes/smoke.yaml"
        )
    if model.fast_inference:
        raise EngineError(
            "model.fast_inference=true (vLLM) needs a CUDA GPU; "
            "set --set model.fast_inference=false"
        )
    for key in GPU_ONLY_TRAINER:
        if trainer is not None and trainer.get(key):
            raise EngineError(
                f"{kind}.{key}=true needs a CUDA GPU; on this machine set "
                f"--set {kind}.{key}=false or use recipes/smoke.yaml"
            )
    return dict(CPU_TRAINER)

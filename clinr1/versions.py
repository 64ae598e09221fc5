"""The versions that matter for a bug report, read without importing torch.

``clinr1 version`` prints them; every ``run.json`` (training) and ``clinr1 bench`` report records
them with :func:`environment`.
"""

from __future__ import annotations

import os
import platform
import shutil
from importlib import metadata

PACKAGES = (
    "clinr1",
    "torch",
    "transformers",
    "trl",
    "peft",
    "datasets",
    "bitsandbytes",
    "accelerate",
    "unsloth",
    "unsloth_zoo",
    "vllm",
)


def package_versions() -> dict[str, str | None]:
    """Installed version of each package that clinr1 uses (``None`` when absent)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def environment() -> dict[str, object]:
    """``{"versions": package_versions(), "python": "3.11.7"}``: what a run record carries."""
    return {"versions": package_versions(), "python": platform.python_version()}


def cuda_summary(torch_version: str | None) -> str:
    """CUDA yes/no from torch's build tag and the NVIDIA driver, without importing torch."""
    driver = os.path.exists("/proc/driver/nvidia/version") or shutil.which("nvidia-smi") is not None
    if torch_version is None:
        return "no (torch not installed)"
    if "+cpu" in torch_version:
        return "no (torch CPU build)"
    return "yes" if driver else "no (no NVIDIA driver found)"

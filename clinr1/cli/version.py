"""``clinr1 version``: the versions that matter for a bug report, without importing torch."""

from __future__ import annotations

import os
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


def cuda_summary(torch_version: str | None) -> str:
    """CUDA yes/no from torch's build tag and the NVIDIA driver, without importing torch."""
    driver = os.path.exists("/proc/driver/nvidia/version") or shutil.which("nvidia-smi") is not None
    if torch_version is None:
        return "no (torch not installed)"
    if "+cpu" in torch_version:
        return "no (torch CPU build)"
    return "yes" if driver else "no (no NVIDIA driver found)"


def version() -> None:
    """Print clinr1's version and those of the training stack, and whether CUDA is usable."""
    import typer

    versions = package_versions()
    for name, ver in versions.items():
        typer.echo(f"{name:<13} {ver or 'not installed'}")
    typer.echo(f"{'cuda':<13} {cuda_summary(versions['torch'])}")

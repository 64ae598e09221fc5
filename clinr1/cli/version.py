"""``clinr1 version``: the versions that matter for a bug report, without importing torch."""

from __future__ import annotations

import typer

from clinr1.versions import cuda_summary, package_versions


def version() -> None:
    """Print clinr1's version and those of the training stack, and whether CUDA is usable."""
    versions = package_versions()
    for name, ver in versions.items():
        typer.echo(f"{name:<13} {ver or 'not installed'}")
    typer.echo(f"{'cuda':<13} {cuda_summary(versions['torch'])}")

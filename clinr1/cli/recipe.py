"""``clinr1 validate``: resolve a recipe (YAML + ``--set`` overrides); print it or every error."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clinr1.cli.options import SetOption, resolve_recipe


def validate(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML file.")],
    set_: SetOption = None,
) -> None:
    """Validate a recipe and print it fully resolved (defaults filled in, overrides applied).

    Every problem is reported at once with its dotted key, and the exit code is 2.
    """
    resolved = resolve_recipe(recipe, set_)
    typer.echo(f"# {recipe} (resolved)")
    typer.echo(resolved.to_yaml().rstrip())
    typer.secho("recipe is valid", err=True, fg=typer.colors.GREEN)

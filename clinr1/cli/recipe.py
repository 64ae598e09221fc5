"""``clinr1 validate``: resolve a recipe (YAML + ``--set`` overrides); print it or every error."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from clinr1.config import Recipe, RecipeError

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        help="Override a recipe key, e.g. --set grpo.learning_rate=1e-5 (repeatable).",
        metavar="KEY=VALUE",
    ),
]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error (or several, one per problem) to stderr; return the Exit to raise."""
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def error(message: str, code: int = 2) -> typer.Exit:
    """``fail`` for one problem: ``error: MESSAGE`` on stderr."""
    return fail(f"error: {message}", code)


def recipe_failure(e: RecipeError) -> typer.Exit:
    """Every recipe problem, one ``error:`` line each, and exit 2."""
    return fail("\n".join(f"error: {line}" for line in e.errors))


def resolve_recipe(path: Path, overrides: list[str] | None, *, check_trl: bool = True) -> Recipe:
    """Load a recipe for a command; on errors print them all and exit 2."""
    from clinr1.config import RecipeError, load_recipe

    try:
        return load_recipe(path, overrides or [], check_trl=check_trl)
    except RecipeError as e:
        raise recipe_failure(e) from None


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

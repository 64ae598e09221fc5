"""What every ``clinr1`` command shares: ``--help`` that reads at 80 columns, errors in one line
(:func:`error`), and a word on Ctrl-C.

Typer's rich help puts every option in a five-column table that, at 80 columns, cuts names and
defaults with "…" and wraps descriptions at a few words; the app therefore uses the plain layout
(``rich_markup_mode=None``). Commands are registered with :class:`Command`, which gives every
option without its own metavar a short one: by name where the name says what it is (``--out
PATH``, ``--model MODEL``, ``--judge-url URL``), else by type (``N`` for integers, ``X`` for
numbers, ``PATH``, ``TEXT``) instead of Typer's ``<int range>`` and ``<list[str]>``.

A command that is stopped with Ctrl-C ends with one line saying what was kept and how to go on,
and exit code 130. The long commands say it themselves (``train``: which checkpoint; ``eval``:
how many completions; ``distill``: its summary); for the others :class:`Command` says it from
:data:`INTERRUPTED`, instead of exiting without a word.
"""

from __future__ import annotations

import typer
import typer.core


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error (or several, one per problem) to stderr; return the Exit to raise."""
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def error(message: str, code: int = 2) -> typer.Exit:
    """``fail`` for one problem: ``error: MESSAGE`` on stderr."""
    return fail(f"error: {message}", code)


# Option name -> metavar, where the name says more than the type.
METAVARS: dict[str, str] = {
    "model": "MODEL",
    "base": "MODEL",
    "teacher_model": "MODEL",
    "judge_model": "MODEL",
    "adapter": "DIR",
    "recipe": "FILE",
    "path": "FILE",
    "json_out": "FILE",
    "hub": "ID",
    "subset": "NAME",
    "split": "SPLIT",
    "data": "NAME",
    "template": "NAME",
    "engine": "NAME",
    "backend": "NAME",
    "teacher_url": "URL",
    "judge_url": "URL",
    "api_key_env": "VAR",
    "judge_api_key_env": "VAR",
    "label": "NAME",
    "metrics": "LIST",
    "engines": "LIST",
    "column": "FIELD=COL",
    "answer_format": "FORMAT",
    "keep": "MODE",
    "to": "KIND",
    "quant": "TYPE",
    "dtype": "DTYPE",
    "host": "ADDR",
    "port": "PORT",
    "seed": "N",
}


# What a Ctrl-C leaves behind, for the commands that do not say it themselves.
INTERRUPTED: dict[str, str] = {
    "bench": "nothing is kept (the report is written once every engine has run); run the same "
    "command again",
    "export": "the output folder may hold a partial export; run the same command again with "
    "--overwrite",
    "export-verl": "the parquet file may be partial; run the same command again",
    "chat": "the conversation is not kept unless it was saved with /save",
}
_NOTHING = "nothing was written; run the same command again"


def short_metavar(param: typer.core.TyperOption) -> str:
    """The metavar an option gets when it has none of its own."""
    if param.name in METAVARS:
        return METAVARS[param.name]
    desc = param.type_descriptor
    if desc.is_path:
        return "PATH"
    annotation = desc.annotation
    if desc.is_ranged:
        return "N" if desc.ranged_type_name == "int" else "X"
    if annotation is int:
        return "N"
    if annotation is float:
        return "X"
    return "TEXT"


class Command(typer.core.TyperCommand):
    """A Typer command whose options all have short metavars (see :func:`short_metavar`) and
    whose Ctrl-C ends in one line (see :data:`INTERRUPTED`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if (
                isinstance(param, typer.core.TyperOption)
                and not param.is_flag
                and param.metavar is None
            ):
                param.metavar = short_metavar(param)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            note = INTERRUPTED.get(self.name or "", _NOTHING)
            raise fail(f"interrupted: {note}", 130) from None
